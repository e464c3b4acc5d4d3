#!/bin/sh
# `meson install` into a throw-away DESTDIR puts every piece where a desktop expects it, the
# installed data still validates, and the installed binary runs.
#   check-install.sh SOURCE_ROOT BUILD_ROOT PREFIX
set -eu
src=$1 build=$2 prefix=$3
app_id=io.github.wrenchbell.Wrenchbell
dest=$(mktemp -d /tmp/wb-install.XXXXXX)
trap 'rm -rf "$dest"' EXIT
root=$dest$prefix
fails=0
n=0

ok()   { n=$((n + 1)); echo "ok $n - $1"; }
fail() { n=$((n + 1)); echo "not ok $n - $1"; fails=$((fails + 1)); }
need() { if [ -e "$root/$1" ]; then ok "installed $1"; else fail "installed $1"; fi; }

if meson install -C "$build" --no-rebuild --quiet --destdir "$dest" > "$dest.log" 2>&1; then
  ok "meson install --destdir"
else
  fail "meson install --destdir"; sed 's/^/# /' "$dest.log"
fi
rm -f "$dest.log"

need "share/applications/$app_id.desktop"
need "share/metainfo/$app_id.metainfo.xml"
need "share/glib-2.0/schemas/$app_id.gschema.xml"
need "share/dbus-1/services/$app_id.service"
need "share/icons/hicolor/scalable/apps/$app_id.svg"
need "share/icons/hicolor/symbolic/apps/$app_id-symbolic.svg"
need "share/icons/hicolor/symbolic/apps/$app_id-attention-symbolic.svg"
need "share/locale/de/LC_MESSAGES/wrenchbell.mo"
need "share/licenses/$app_id/COPYING"

if desktop-file-validate "$root/share/applications/$app_id.desktop" > /dev/null 2>&1; then
  ok "installed desktop file validates"
else
  fail "installed desktop file validates"
fi
if grep -q '^Comment\[de\]=' "$root/share/applications/$app_id.desktop"; then
  ok "desktop file carries the German translation"
else
  fail "desktop file carries the German translation"
fi
if appstreamcli validate --no-net "$root/share/metainfo/$app_id.metainfo.xml" > /dev/null 2>&1; then
  ok "installed metainfo validates"
else
  fail "installed metainfo validates"
fi
if grep -qx "Exec=$prefix/bin/wrenchbell --gapplication-service" "$root/share/dbus-1/services/$app_id.service" &&
   grep -qx "Name=$app_id" "$root/share/dbus-1/services/$app_id.service"; then
  ok "D-Bus service activates $prefix/bin/wrenchbell"
else
  fail "D-Bus service activates $prefix/bin/wrenchbell"
fi
if glib-compile-schemas --strict "$root/share/glib-2.0/schemas" 2>&1; then
  ok "installed schema compiles"
else
  fail "installed schema compiles"
fi

# The binary exists once src/main.c does (the application is added by the UI work).
if [ -f "$src/src/main.c" ] || [ -e "$root/bin/wrenchbell" ]; then
  need "bin/wrenchbell"
  if [ -x "$root/bin/wrenchbell" ]; then
    out=$(GSETTINGS_SCHEMA_DIR="$root/share/glib-2.0/schemas" XDG_DATA_DIRS="$root/share:/usr/share" \
          "$root/bin/wrenchbell" --help 2>&1) && rc=0 || rc=$?
    if [ "$rc" -eq 0 ] && printf '%s' "$out" | grep -q -- '--background'; then
      ok "installed wrenchbell --help runs and lists --background"
    else
      fail "installed wrenchbell --help runs and lists --background (rc $rc)"
      printf '%s\n' "$out" | sed 's/^/# /'
    fi
  fi
else
  echo "# src/main.c not in the tree yet: the binary is not checked"
fi

echo "1..$n"
[ "$fails" -eq 0 ]
