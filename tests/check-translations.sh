#!/bin/sh
# Every language in po/LINGUAS is 100 % translated against the strings in the tree today:
# a fresh template is extracted from POTFILES.in, merged into each .po, and msgfmt must report
# no untranslated and no fuzzy messages.
#   check-translations.sh SOURCE_ROOT
set -eu
top=$(cd "${1:-$(dirname "$0")/..}" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
status=0

# The same keywords as meson's i18n 'glib' preset.
(cd "$top" && xgettext --from-code=UTF-8 --add-comments --package-name=wrenchbell \
   --files-from=po/POTFILES.in --directory="$top" --output="$tmp/wrenchbell.pot" \
   --keyword=_ --keyword=N_ --keyword=C_:1c,2 --keyword=NC_:1c,2 --keyword=g_dcgettext:2 \
   --keyword=g_dngettext:2,3 --keyword=g_dpgettext2:2c,3 \
   --flag=N_:1:pass-c-format --flag=C_:2:pass-c-format --flag=NC_:2:pass-c-format \
   --flag=g_dngettext:2:pass-c-format --flag=g_strdup_printf:1:c-format \
   --flag=g_string_printf:2:c-format --flag=g_string_append_printf:2:c-format \
   --flag=g_error_new:3:c-format --flag=g_set_error:4:c-format \
   --flag=g_markup_printf_escaped:1:c-format --flag=g_log:3:c-format \
   --flag=g_print:1:c-format --flag=g_printerr:1:c-format --flag=g_printf:1:c-format \
   --flag=g_fprintf:2:c-format --flag=g_sprintf:2:c-format --flag=g_snprintf:3:c-format)
total=$(msgfmt --statistics -o /dev/null "$tmp/wrenchbell.pot" 2>&1 | sed -n 's/.*, \([0-9]*\) untranslated.*/\1/p')

for lang in $(grep -v '^#' "$top/po/LINGUAS"); do
  po="$top/po/$lang.po"
  if [ ! -f "$po" ]; then
    echo "po/LINGUAS names $lang but po/$lang.po is missing" >&2
    status=1
    continue
  fi
  msgfmt --check -o /dev/null "$po" || status=1
  msgmerge --quiet --no-fuzzy-matching "$po" "$tmp/wrenchbell.pot" -o "$tmp/$lang.po"
  stats=$(LC_ALL=C msgfmt --statistics -o /dev/null "$tmp/$lang.po" 2>&1)
  echo "$lang: $stats (template: $total messages)"
  case "$stats" in
    *untranslated*|*fuzzy*)
      echo "po/$lang.po is incomplete against the current strings:" >&2
      msgattrib --untranslated "$tmp/$lang.po" | grep '^msgid' >&2 || true
      msgattrib --only-fuzzy "$tmp/$lang.po" | grep '^msgid' >&2 || true
      status=1 ;;
  esac
done
exit $status
