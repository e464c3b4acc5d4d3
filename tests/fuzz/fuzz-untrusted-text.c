/* SPDX-License-Identifier: GPL-3.0-or-later */
/* libFuzzer target: any bytes as text a customer typed. Cleaning gives valid UTF-8 within the cap,
 * with nothing unprintable but the allowed joiners, and cleaning it again changes nothing; joined
 * fields keep their isolates balanced; the terminal form and the alert log line carry nothing a
 * terminal acts on, and the log line is one line of strict JSON holding the text. */

/* Compiled into the target so that libFuzzer gets coverage feedback from the cleaner itself. */
#include "wb-untrusted-text.c"

#include <stdint.h>
#include <stdlib.h>

#include "wb-alert-record.h"
#include "wb-json.h"

int LLVMFuzzerTestOneInput (const uint8_t *data,
                            size_t         size);

static void
check_clean (const char *text,
             gsize       max)
{
  g_autofree char *again = NULL;

  if (text == NULL)
    return;
  if (!g_utf8_validate (text, -1, NULL) || strlen (text) > max || text[0] == '\0'
      || text[0] == ' ' || text[strlen (text) - 1] == ' ')
    abort ();
  for (const char *p = text; *p; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (wb_untrusted_text_is_unprintable (c) && !is_allowed_format (c))
        abort ();
      if (c == '\n' || c == '\t' || (c == ' ' && p[1] == ' '))
        abort ();
    }
  again = wb_untrusted_text_clean (text, -1, max);
  if (g_strcmp0 (again, text) != 0)
    abort ();
}

static void
check_printable (const char *text)
{
  if (!g_utf8_validate (text, -1, NULL))
    abort ();
  for (const char *p = text; *p; p = g_utf8_next_char (p))
    if (wb_untrusted_text_is_unprintable (g_utf8_get_char (p)))
      abort ();
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autofree char *raw = NULL;
  g_autofree char *name = NULL;
  g_autofree char *concern = NULL;
  g_autofree char *small = NULL;
  g_autofree char *joined = NULL;
  g_autofree char *terminal = NULL;
  g_autofree char *line = NULL;
  g_autoptr(WbAlertRecord) record = NULL;
  g_autoptr(JsonNode) node = NULL;
  gsize max = size > 0 ? 4 + data[0] % 64 : 4;
  gsize half = size / 2;
  int depth = 0;

  small = wb_untrusted_text_clean ((const char *) data, (gssize) size, max);
  check_clean (small, max);
  name = wb_untrusted_text_clean ((const char *) data, (gssize) size,
                                  wb_untrusted_text_max_bytes (WB_UNTRUSTED_FIELD_NAME));
  check_clean (name, WB_UNTRUSTED_NAME_MAX_BYTES);
  concern = wb_untrusted_text_clean ((const char *) data + half, (gssize) (size - half),
                                     wb_untrusted_text_max_bytes (WB_UNTRUSTED_FIELD_CONCERN));
  check_clean (concern, WB_UNTRUSTED_CONCERN_MAX_BYTES);

  /* Raw (uncleaned, NUL-free) text through the joiner, the terminal form and the log line. */
  raw = g_strndup ((const char *) data, size);
  joined = wb_untrusted_text_join_isolated ((const char *[]) { raw, name, concern }, 3, " · ");
  if (joined != NULL)
    {
      if (!g_utf8_validate (joined, -1, NULL))
        abort ();
      for (const char *p = joined; *p; p = g_utf8_next_char (p))
        {
          gunichar c = g_utf8_get_char (p);

          depth += c == 0x2068 ? 1 : c == 0x2069 ? -1 : 0;
          if (depth < 0 || depth > 1 || (c >= 0x202a && c <= 0x202e) || c == 0x2066 || c == 0x2067)
            abort ();
        }
      if (depth != 0)
        abort ();
    }

  terminal = wb_untrusted_text_for_terminal (raw);
  check_printable (terminal);

  record = wb_alert_record_new (WB_ALERT_KIND_ALERT, "a1");
  record->source = "broadcast";
  record->customer = g_strdup (raw);
  record->concern = g_strdup (concern);
  line = wb_alert_record_to_json_line (record);
  check_printable (line);
  node = wb_json_parse (line, strlen (line), 4, NULL);
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    abort ();
  if (raw[0] != '\0' && g_utf8_validate (raw, -1, NULL)
      && g_strcmp0 (wb_json_get_string (json_node_get_object (node), "customer"), raw) != 0)
    abort ();
  return 0;
}
