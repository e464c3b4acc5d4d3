/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-untrusted-text.c: text a customer typed — cleaned where it enters (broadcast hints, detail
 * rows), isolated where fields are joined, escaped for a terminal, and one valid JSON line in the
 * alert log whatever it holds. */
#include "config.h"

#include <string.h>

#include <glib/gstdio.h>

#include "wb-alert-log.h"
#include "wb-alert-record.h"
#include "wb-detail-fetcher.h"
#include "wb-event-normaliser.h"
#include "wb-json.h"
#include "wb-untrusted-text.h"

#define A1 "0b9e8a5c-1f2d-4c3b-9a8e-7d6c5b4a3f21"
#define ELLIPSIS "\xe2\x80\xa6"
#define FSI WB_UNTRUSTED_TEXT_FSI
#define PDI WB_UNTRUSTED_TEXT_PDI

/* The name of issue 11: clear the screen and write the clipboard, on a real terminal. */
#define EVE "Eve \x1b]52;c;ZXZpbA==\x07\x1b[2J"
#define EVE_CLEAN "Eve ]52;c;ZXZpbA==[2J"
#define RLO "\xe2\x80\xae"
#define JSON_GLIB_LONE_SURROGATE "\xed\xa0\x80"   /* what json-glib 1.6 makes of "\ud800" */

/* Nothing a terminal or a bidi algorithm acts on, valid UTF-8, within @max bytes. */
static void
assert_clean (const char *text,
              gsize       max)
{
  g_assert_nonnull (text);
  g_assert_true (g_utf8_validate (text, -1, NULL));
  g_assert_cmpuint (strlen (text), <=, max);
  for (const char *p = text; *p; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      g_assert_false (wb_untrusted_text_is_unprintable (c) && c != 0x200c && c != 0x200d
                      && !(c >= 0x600 && c <= 0x605));
    }
}

static char *
clean (const char *text)
{
  return wb_untrusted_text_clean (text, -1, 1000);
}

static void
test_clean_table (void)
{
  static const struct {
    const char *name;
    const char *in;
    const char *out;   /* NULL: nothing left */
  } table[] = {
    { "plain", "Ann Smith", "Ann Smith" },
    { "escape sequences", EVE, EVE_CLEAN },
    { "C1 CSI and OSC", "a\xc2\x9b" "31mb\xc2\x9d" "52;c;x\xc2\x9c", "a31mb52;c;x" },
    { "DEL", "a\x7f" "b", "ab" },
    { "line breaks and tabs", "brake\r\nnoise\tat\vspeed\x0c!", "brake noise at speed !" },
    { "unicode line separators", "a\xe2\x80\xa8" "b\xe2\x80\xa9" "c\xc2\x85" "d", "a b c d" },
    { "spaces collapsed and trimmed", "  \n a  \t  b \n ", "a b" },
    { "RLO", "Eve" RLO "txet", "Evetxet" },
    { "every embedding, override, isolate and mark",
      "a\xe2\x80\xaa" "b\xe2\x80\xab" "c\xe2\x80\xac" "d\xe2\x80\xad" "e\xe2\x80\xae" "f\xe2\x81\xa6"
      "g\xe2\x81\xa7" "h\xe2\x81\xa8" "i\xe2\x81\xa9" "j\xe2\x80\x8e" "k\xe2\x80\x8f" "l\xd8\x9c" "m",
      "abcdefghijklm" },
    { "invisible format characters", "a\xef\xbb\xbf" "b\xe2\x80\x8b" "c\xc2\xad" "d\xe2\x81\xa0" "e", "abcde" },
    { "tag characters", "x\xf3\xa0\x80\x81\xf3\xa0\x81\xa1y", "xy" },
    { "noncharacters", "a\xef\xbf\xbe" "b\xef\xb7\x90" "c\xf4\x8f\xbf\xbf" "d", "abcd" },
    { "invalid UTF-8, one U+FFFD per run", "ok\xff\xfe" "done\xc0\xaf!", "ok\xef\xbf\xbd" "done\xef\xbf\xbd!" },
    { "json-glib's lone surrogate", "x" JSON_GLIB_LONE_SURROGATE "y", "x\xef\xbf\xbdy" },
    { "truncated sequence at the end", "abc\xe2\x82", "abc\xef\xbf\xbd" },
    /* What a script needs stays. */
    { "ZWNJ in Persian", "\xd9\x85\xdb\x8c\xe2\x80\x8c\xd8\xae\xd9\x88\xd8\xa7\xd9\x87\xd9\x85",
      "\xd9\x85\xdb\x8c\xe2\x80\x8c\xd8\xae\xd9\x88\xd8\xa7\xd9\x87\xd9\x85" },
    { "ZWJ emoji family", "\xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x91\xa7", "\xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x91\xa7" },
    { "Arabic number sign", "\xd8\x80\xd9\xa1\xd9\xa2", "\xd8\x80\xd9\xa1\xd9\xa2" },
    { "Hebrew and combining marks", "\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d e\xcc\x81", "\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d e\xcc\x81" },
    { "non-breaking space kept", "a\xc2\xa0" "b", "a\xc2\xa0" "b" },
    { "empty", "", NULL },
    { "only controls", "\x1b\x07\xe2\x80\xae\n\t ", NULL },
  };

  for (guint i = 0; i < G_N_ELEMENTS (table); i++)
    {
      g_autofree char *out = clean (table[i].in);

      g_test_message ("%s", table[i].name);
      g_assert_cmpstr (out, ==, table[i].out);
      if (out != NULL)
        assert_clean (out, 1000);
    }
  g_assert_null (wb_untrusted_text_clean (NULL, -1, 100));
}

static void
test_clean_caps (void)
{
  g_autoptr(GString) huge = g_string_new (NULL);
  g_autoptr(GString) hostile = g_string_new (NULL);
  g_autofree char *cut = NULL;
  g_autofree char *name = NULL;
  g_autofree char *vehicle = NULL;
  g_autofree char *concern = NULL;
  g_autofree char *explicit_len = NULL;
  gint64 start;

  g_assert_cmpuint (wb_untrusted_text_max_bytes (WB_UNTRUSTED_FIELD_NAME), ==, WB_UNTRUSTED_NAME_MAX_BYTES);
  g_assert_cmpuint (wb_untrusted_text_max_bytes (WB_UNTRUSTED_FIELD_VEHICLE), ==, WB_UNTRUSTED_VEHICLE_MAX_BYTES);
  g_assert_cmpuint (wb_untrusted_text_max_bytes (WB_UNTRUSTED_FIELD_CONCERN), ==, WB_UNTRUSTED_CONCERN_MAX_BYTES);

  cut = wb_untrusted_text_clean ("abcdefgh", -1, 8);
  g_assert_cmpstr (cut, ==, "abcdefgh");
  g_clear_pointer (&cut, g_free);
  cut = wb_untrusted_text_clean ("abcdefghi", -1, 8);
  g_assert_cmpstr (cut, ==, "abcde" ELLIPSIS);
  g_clear_pointer (&cut, g_free);
  /* Never inside a character, never between a letter and its accent, never after a ZWJ, never
   * ending in a space. */
  cut = wb_untrusted_text_clean ("ab\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac", -1, 9);
  g_assert_cmpstr (cut, ==, "ab\xe2\x82\xac" ELLIPSIS);
  g_clear_pointer (&cut, g_free);
  cut = wb_untrusted_text_clean ("abce\xcc\x81xyz", -1, 8);
  g_assert_cmpstr (cut, ==, "abc" ELLIPSIS);
  g_clear_pointer (&cut, g_free);
  cut = wb_untrusted_text_clean ("a\xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x91\xa7xyz", -1, 12);
  g_assert_cmpstr (cut, ==, "a" ELLIPSIS);
  g_clear_pointer (&cut, g_free);
  cut = wb_untrusted_text_clean ("abcd  \n  efgh", -1, 8);
  g_assert_cmpstr (cut, ==, "abcd" ELLIPSIS);
  g_clear_pointer (&cut, g_free);
  /* Stripped characters cost nothing. */
  cut = wb_untrusted_text_clean ("a\x1b\x1b\x1b\x1b\x1b\x1b\x1b\x1b" "bcdefgh", -1, 8);
  g_assert_cmpstr (cut, ==, "abcdefgh");

  /* 1 MB names: each field to its cap, quickly (the cleaner stops at the cut). */
  for (guint i = 0; i < 1024 * 1024 / 8; i++)
    g_string_append (huge, "\xe6\x97\xa5" "a" RLO "\x1b");   /* 8 bytes: 日 a RLO ESC */
  start = g_get_monotonic_time ();
  name = wb_untrusted_text_clean_field (huge->str, WB_UNTRUSTED_FIELD_NAME);
  vehicle = wb_untrusted_text_clean_field (huge->str, WB_UNTRUSTED_FIELD_VEHICLE);
  concern = wb_untrusted_text_clean_field (huge->str, WB_UNTRUSTED_FIELD_CONCERN);
  g_test_message ("three 1 MB fields cleaned in %" G_GINT64_FORMAT " µs", g_get_monotonic_time () - start);
  assert_clean (name, WB_UNTRUSTED_NAME_MAX_BYTES);
  assert_clean (vehicle, WB_UNTRUSTED_VEHICLE_MAX_BYTES);
  assert_clean (concern, WB_UNTRUSTED_CONCERN_MAX_BYTES);
  g_assert_true (g_str_has_suffix (name, ELLIPSIS));
  g_assert_cmpuint (strlen (concern), >, WB_UNTRUSTED_CONCERN_MAX_BYTES - 8);

  /* 1 MB of nothing but controls: nothing is left. */
  for (guint i = 0; i < 1024 * 1024 / 4; i++)
    g_string_append (hostile, "\x1b\x07\x7f\n");
  g_assert_null (wb_untrusted_text_clean_field (hostile->str, WB_UNTRUSTED_FIELD_NAME));

  /* An explicit length stops at it, NULs included. */
  explicit_len = wb_untrusted_text_clean ("ab\0cd", 5, 100);
  g_assert_cmpstr (explicit_len, ==, "abcd");
}

/* Each customer field in FSI … PDI: a right-to-left name cannot pull the concern into its run. */
static void
test_join_isolated (void)
{
  const char *fields[] = { "\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d", NULL, "", "2019 Honda Civic", "brake noise" };
  const char *hostile[] = { "Eve" RLO "x", "a" PDI PDI "b" FSI "c\xe2\x80\xad" "d" };
  const char *none[] = { NULL, "" };
  g_autofree char *joined = wb_untrusted_text_join_isolated (fields, G_N_ELEMENTS (fields), " · ");
  g_autofree char *balanced = wb_untrusted_text_join_isolated (hostile, G_N_ELEMENTS (hostile), " | ");
  int depth = 0;

  g_assert_cmpstr (joined, ==, FSI "\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d" PDI " · " FSI "2019 Honda Civic" PDI
                   " · " FSI "brake noise" PDI);
  g_assert_cmpstr (balanced, ==, FSI "Evex" PDI " | " FSI "abcd" PDI);
  for (const char *p = balanced; *p; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (c == 0x2068)
        depth++;
      else if (c == 0x2069)
        depth--;
      g_assert_cmpint (depth, >=, 0);
      g_assert_cmpint (depth, <=, 1);
      g_assert_false (c >= 0x202a && c <= 0x202e);
    }
  g_assert_cmpint (depth, ==, 0);
  g_assert_null (wb_untrusted_text_join_isolated (none, G_N_ELEMENTS (none), " · "));
}

static void
test_for_terminal (void)
{
  static const struct {
    const char *in;
    const char *out;
  } table[] = {
    { EVE, "Eve \\x1b]52;c;ZXZpbA==\\x07\\x1b[2J" },
    { "a\xc2\x9b" "31m", "a\\u009b31m" },
    { "Eve" RLO "txet", "Eve\\u202etxet" },
    { "line\nbreak\r", "line\\x0abreak\\x0d" },
    { "bad\xff" JSON_GLIB_LONE_SURROGATE, "bad\\xff\\xed\\xa0\\x80" },
    { "tag\xf3\xa0\x80\x81", "tag\\U000e0001" },
    { "caf\xc3\xa9 \xe6\x97\xa5 \xf0\x9f\x98\x80 \\ back", "caf\xc3\xa9 \xe6\x97\xa5 \xf0\x9f\x98\x80 \\ back" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (table); i++)
    {
      g_autofree char *out = wb_untrusted_text_for_terminal (table[i].in);

      g_assert_cmpstr (out, ==, table[i].out);
      g_assert_true (g_utf8_validate (out, -1, NULL));
      for (const char *p = out; *p; p = g_utf8_next_char (p))
        g_assert_false (wb_untrusted_text_is_unprintable (g_utf8_get_char (p)));
    }
}

/* The broadcast door: hints cleaned and capped per field. */
static void
test_broadcast_hints (void)
{
  g_autoptr(GString) big = g_string_new (NULL);
  g_autofree char *json = NULL;
  g_autoptr(JsonNode) node = NULL;
  g_autoptr(WbEvent) ev = NULL;

  for (guint i = 0; i < 4000; i++)
    g_string_append (big, "x\\u202e");
  json = g_strdup_printf ("{\"assignmentId\":\"" A1 "\",\"customerName\":\"Eve \\u001b]52;c;ZXZpbA==\\u0007"
                          "\\u001b[2J\",\"vehicleSummary\":\"%s\",\"concern\":\"brake\\nnoise \\u202e"
                          "reversed\"}", big->str);
  node = wb_json_parse (json, strlen (json), 8, NULL);
  g_assert_nonnull (node);
  ev = wb_event_from_broadcast ("new_assignment", node, 0, 0, NULL);
  g_assert_cmpstr (ev->customer, ==, EVE_CLEAN);
  g_assert_cmpstr (ev->concern, ==, "brake noise reversed");
  assert_clean (ev->vehicle, WB_UNTRUSTED_VEHICLE_MAX_BYTES);
  g_assert_true (g_str_has_suffix (ev->vehicle, ELLIPSIS));
}

/* The details door (PostgREST rows): it had no cap and no UTF-8 check. */
static void
test_detail_rows (void)
{
  g_autoptr(GString) big = g_string_new (NULL);
  g_autofree char *json = NULL;
  g_autoptr(JsonNode) node = NULL;
  g_autoptr(WbDetails) d = NULL;
  g_autoptr(GError) error = NULL;

  for (guint i = 0; i < 100000; i++)
    g_string_append (big, "brake ");
  json = g_strdup_printf ("[{\"id\":\"s1\",\"type\":\"standard\",\"intake_id\":\"i1\",\"intake\":{"
                          "\"name\":\"Eve \\u001b]52;c;ZXZpbA==\\u0007\\u001b[2J\",\"concern\":\"%s\","
                          "\"vehicle_year\":2019,\"vehicle_make\":\"Hon\\u202eda\","
                          "\"vehicle_model\":\"Civic\\u2066\\u0085\"}}]", big->str);
  node = wb_json_parse (json, strlen (json), 8, &error);
  g_assert_no_error (error);
  d = wb_details_parse (node, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (d->customer, ==, EVE_CLEAN);
  g_assert_cmpstr (d->vehicle_make, ==, "Honda");
  g_assert_cmpstr (d->vehicle_model, ==, "Civic");
  g_assert_cmpstr (d->vehicle, ==, "2019 Honda Civic");
  assert_clean (d->concern, WB_UNTRUSTED_CONCERN_MAX_BYTES);
  g_assert_true (g_str_has_prefix (d->concern, "brake brake "));
  g_assert_true (g_str_has_suffix (d->concern, ELLIPSIS));
}

static WbAlertRecord *
hostile_record (void)
{
  WbAlertRecord *r = wb_alert_record_new (WB_ALERT_KIND_ALERT, A1);
  GString *huge = g_string_new ("Eve ");

  /* Raw, as if every door had been missed: the log must still hold. */
  for (guint i = 0; i < 1024 * 1024 / 16; i++)
    g_string_append (huge, "\x1b]52;c;\x07" RLO JSON_GLIB_LONE_SURROGATE "\n");
  r->source = "broadcast";
  r->episode = 1;
  r->customer = g_string_free (huge, FALSE);
  r->vehicle = g_strdup (EVE);
  r->concern = g_strdup ("brake" RLO "esion\xc2\x9b" "2J\r\n");
  return r;
}

/* The alert log stays one valid JSON line per record, for hostile text too, and nothing in it
 * acts on a terminal that shows the file. */
static void
test_alert_log_lines (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("wb-untrusted-XXXXXX", &error);
  g_autofree char *path = g_build_filename (dir, "alerts.jsonl", NULL);
  g_autoptr(WbAlertRecord) hostile = hostile_record ();
  g_autoptr(WbAlertRecord) plain = wb_alert_record_new (WB_ALERT_KIND_ALERT, A1);
  g_autoptr(WbAlertLog) log = NULL;
  g_autofree char *contents = NULL;
  g_auto(GStrv) lines = NULL;
  gsize len;

  g_assert_no_error (error);
  plain->source = "catchup";
  plain->customer = g_strdup ("Ann");
  log = wb_alert_log_new (path, &error);
  g_assert_no_error (error);
  g_assert_true (wb_alert_log_append (log, hostile, &error));
  g_assert_true (wb_alert_log_append (log, plain, &error));
  g_assert_no_error (error);

  g_assert_true (g_file_get_contents (path, &contents, &len, &error));
  g_assert_true (g_utf8_validate (contents, len, NULL));
  for (const char *p = contents; *p; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      g_assert_true (c == '\n' || !wb_untrusted_text_is_unprintable (c));
    }
  lines = g_strsplit (contents, "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, 3);
  g_assert_cmpstr (lines[2], ==, "");
  for (guint i = 0; i < 2; i++)
    {
      g_autoptr(JsonNode) node = wb_json_parse (lines[i], strlen (lines[i]), 4, &error);
      JsonObject *o;

      g_assert_no_error (error);
      o = json_node_get_object (node);
      g_assert_cmpstr (wb_json_get_string (o, "assignment_id"), ==, A1);
      if (i == 0)
        {
          g_assert_true (g_str_has_prefix (wb_json_get_string (o, "customer"),
                                           "Eve \x1b]52;c;\x07" RLO "\xef\xbf\xbd"));
          g_assert_cmpstr (wb_json_get_string (o, "vehicle"), ==, EVE);
          g_assert_cmpstr (wb_json_get_string (o, "concern"), ==, "brake" RLO "esion\xc2\x9b" "2J\r\n");
        }
      else
        g_assert_cmpstr (wb_json_get_string (o, "customer"), ==, "Ann");
    }

  g_clear_object (&log);
  g_assert_cmpint (g_unlink (path), ==, 0);
  g_assert_cmpint (g_rmdir (dir), ==, 0);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/wb/untrusted-text/clean", test_clean_table);
  g_test_add_func ("/wb/untrusted-text/caps", test_clean_caps);
  g_test_add_func ("/wb/untrusted-text/join-isolated", test_join_isolated);
  g_test_add_func ("/wb/untrusted-text/for-terminal", test_for_terminal);
  g_test_add_func ("/wb/untrusted-text/broadcast-hints", test_broadcast_hints);
  g_test_add_func ("/wb/untrusted-text/detail-rows", test_detail_rows);
  g_test_add_func ("/wb/untrusted-text/alert-log-lines", test_alert_log_lines);

  return g_test_run ();
}
