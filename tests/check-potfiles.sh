#!/bin/sh
# Fails when a file under src/ or data/ has translatable strings but is missing from
# po/POTFILES.in (libadwaita's check-potfiles.sh, extended to desktop/metainfo/schema files),
# when POTFILES.in names a file that does not exist, or when a section is not sorted.
#   check-potfiles.sh SOURCE_ROOT
set -eu
top=${1:-$(dirname "$0")/..}
cd "$top"
potfiles=po/POTFILES.in
status=0

listed=$(mktemp)
trap 'rm -f "$listed" "$listed.found"' EXIT
grep -v -e '^#' -e '^[[:space:]]*$' "$potfiles" | sed 's/[[:space:]]*$//' > "$listed"

: > "$listed.found"
# C sources: _(), N_(), C_(), NC_(), g_dgettext-style calls are not used.
for f in $(find src data -name '*.c' | sort); do
  if grep -Eq '(^|[^A-Za-z0-9_])(_|N_|C_|NC_)[[:space:]]*\(' "$f"; then
    echo "$f" >> "$listed.found"
  fi
done
# GtkBuilder UI files.
for f in $(find src data -name '*.ui' | sort); do
  if grep -q 'translatable="yes"' "$f"; then
    echo "$f" >> "$listed.found"
  fi
done
# Desktop files and AppStream metainfo always carry translatable fields (Name, Comment,
# Keywords; name, summary, description); schemas do when they declare a gettext-domain.
find data src \( -name '*.desktop.in' -o -name '*.desktop.in.in' \
                 -o -name '*.metainfo.xml.in' -o -name '*.metainfo.xml.in.in' \
                 -o -name '*.appdata.xml.in' \) | sort >> "$listed.found"
for f in $(find data src -name '*.gschema.xml' -o -name '*.gschema.xml.in' | sort); do
  if grep -q 'gettext-domain=' "$f"; then
    echo "$f" >> "$listed.found"
  fi
done

for f in $(sort -u "$listed.found"); do
  if ! grep -qx "$f" "$listed"; then
    echo "$f has translatable strings but is not listed in $potfiles" >&2
    status=1
  fi
done

while read -r f; do
  if [ ! -f "$f" ]; then
    echo "$potfiles lists $f, which does not exist" >&2
    status=1
  fi
done < "$listed"

# Sorted: data/ files first, then src/ files, each block in C-locale order.
for prefix in data/ src/; do
  block=$(grep "^$prefix" "$listed" || true)
  sorted=$(printf '%s\n' "$block" | LC_ALL=C sort)
  if [ "$block" != "$sorted" ]; then
    echo "$potfiles: the $prefix entries are not sorted" >&2
    status=1
  fi
done
first_src=$(grep -n '^src/' "$listed" | head -1 | cut -d: -f1)
last_data=$(grep -n '^data/' "$listed" | tail -1 | cut -d: -f1)
if [ -n "$first_src" ] && [ -n "$last_data" ] && [ "$last_data" -gt "$first_src" ]; then
  echo "$potfiles: data/ entries must come before src/ entries" >&2
  status=1
fi

[ $status -eq 0 ] && echo "POTFILES.in lists all $(sort -u "$listed.found" | wc -l) files with translatable strings"
exit $status
