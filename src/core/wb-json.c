/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-json.c: strict RFC 8259 check with a nesting bound before json-glib parses, and the safe
 * member getters. */
#define G_LOG_DOMAIN "wb-json"

#include "config.h"

#include <math.h>
#include <string.h>

#include "wb-error.h"
#include "wb-event.h"
#include "wb-json.h"
#include "wb-secret.h"
#include "wb-untrusted-text.h"

/* Why a check of our own before json-glib 1.6 (Debian 12) sees the bytes: its parser recurses
 * once per nesting level with no limit, so a deep document overflows the stack; and its scanner
 * (a GScanner configured for JavaScript-ish input) accepts much that is not JSON:
 * 'single-quoted' strings (inside which a '"' is plain text, so a double-quote-only depth count
 * is fooled), // and / * * / comments, 0x1f / $1f / 0b101 / 017 numbers, .5 and 1., "- 1",
 * `var x = …;`, a byte order mark, anything after a first object or array ({}{} or [1] [2]),
 * raw control characters in strings, unknown escapes (\x → "x", \101 octal → "A"), a high
 * surrogate escape followed by anything (it becomes invalid UTF-8), \u0000 (which cuts the string
 * short), integers beyond 64 bits (wrapped) and 1e999 (infinity). None of that reaches json-glib:
 * the grammar below is RFC 8259's, checked in one pass with an explicit stack. */

typedef enum
{
  WANT_VALUE,     /* a value (or, right after '[', the ']' of an empty array) */
  WANT_KEY,       /* a member name (or, right after '{', the '}' of an empty object) */
  WANT_COLON,
  WANT_NEXT,      /* ',' or the end of the enclosing container */
  WANT_END,       /* only whitespace until the end of the data */
} Want;

typedef struct
{
  const guchar *data;
  gsize         len;
  gsize         pos;
  GError      **error;
} Scan;

static gboolean G_GNUC_PRINTF (3, 4)
fail (Scan       *s,
      gsize       at,
      const char *format,
      ...)
{
  g_autofree char *what = NULL;
  va_list args;

  va_start (args, format);
  what = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (s->error, WB_ERROR, WB_ERROR_INVALID_DATA,
               "invalid JSON at byte %" G_GSIZE_FORMAT ": %s", at, what);
  return FALSE;
}

static gboolean
is_ws (guchar c)
{
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* What a byte that cannot start (or continue) the expected token most likely is. */
static gboolean
fail_unexpected (Scan       *s,
                 const char *expected)
{
  guchar c = s->data[s->pos];

  if (c == '\'')
    return fail (s, s->pos, "a single-quoted string (JSON strings take double quotes)");
  if (c == '/')
    return fail (s, s->pos, "a comment (JSON has none)");
  if (c == '\0')
    return fail (s, s->pos, "a NUL byte");
  if (c == 0xef && s->pos == 0 && s->len >= 3 && s->data[1] == 0xbb && s->data[2] == 0xbf)
    return fail (s, s->pos, "a byte order mark");
  if (g_ascii_isalpha (c) || c == '_' || c == '$')
    return fail (s, s->pos, "a bare word (the only words are true, false and null); expected %s",
                 expected);
  if (c >= 0x20 && c < 0x7f)
    return fail (s, s->pos, "unexpected '%c', expected %s", c, expected);
  return fail (s, s->pos, "unexpected byte 0x%02x, expected %s", c, expected);
}

static gint
hex_value (guchar c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/* The four hex digits of a \u escape whose backslash is at @at; -1 if they are not there. */
static gint
read_u_escape (Scan  *s,
               gsize  at)
{
  gint v = 0;

  if (at + 6 > s->len || s->data[at] != '\\' || s->data[at + 1] != 'u')
    return -1;
  for (guint k = 2; k < 6; k++)
    {
      gint h = hex_value (s->data[at + k]);

      if (h < 0)
        return -1;
      v = v * 16 + h;
    }
  return v;
}

/* A string starting at the '"' at s->pos; leaves s->pos after the closing quote. */
static gboolean
scan_string (Scan *s)
{
  gsize start = s->pos;

  s->pos++;
  for (;;)
    {
      guchar c;

      if (s->pos >= s->len)
        return fail (s, start, "a string that is never closed");
      c = s->data[s->pos];
      if (c == '"')
        {
          s->pos++;
          return TRUE;
        }
      if (c == '\\')
        {
          gsize at = s->pos;
          gint u;

          if (at + 1 >= s->len)
            return fail (s, start, "a string that is never closed");
          switch (s->data[at + 1])
            {
            case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
              s->pos += 2;
              continue;
            case 'u':
              break;
            default:
              if (s->data[at + 1] >= 0x20 && s->data[at + 1] < 0x7f)
                return fail (s, at, "the escape \\%c (JSON knows \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)",
                             s->data[at + 1]);
              return fail (s, at, "an invalid escape");
            }
          u = read_u_escape (s, at);
          if (u < 0)
            return fail (s, at, "a \\u escape without four hex digits");
          if (u == 0)
            return fail (s, at, "the escape \\u0000 (a NUL character cannot be carried)");
          if (u >= 0xdc00 && u <= 0xdfff)
            return fail (s, at, "a lone UTF-16 low surrogate \\u%04x", (guint) u);
          if (u >= 0xd800 && u <= 0xdbff)
            {
              gint low = read_u_escape (s, at + 6);

              if (low < 0xdc00 || low > 0xdfff)
                return fail (s, at, "a UTF-16 high surrogate \\u%04x not followed by a low one",
                             (guint) u);
              s->pos += 6;
            }
          s->pos += 6;
          continue;
        }
      if (c < 0x20)
        {
          if (c == '\0')
            return fail (s, s->pos, "a NUL byte");
          return fail (s, s->pos, "a raw control character 0x%02x in a string (it must be escaped)", c);
        }
      if (c < 0x80)
        {
          s->pos++;
          continue;
        }
      {
        gunichar ch = g_utf8_get_char_validated ((const char *) s->data + s->pos,
                                                 (gssize) (s->len - s->pos));

        if (ch == (gunichar) -1 || ch == (gunichar) -2)
          return fail (s, s->pos, "invalid UTF-8");
        s->pos += g_unichar_to_utf8 (ch, NULL);
      }
    }
}

static gboolean
scan_digits (Scan *s)
{
  gsize start = s->pos;

  while (s->pos < s->len && g_ascii_isdigit (s->data[s->pos]))
    s->pos++;
  return s->pos > start;
}

/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? starting at s->pos. */
static gboolean
scan_number (Scan *s)
{
  gsize start = s->pos;
  gsize int_start;
  gboolean integer = TRUE;
  gsize n;

  if (s->data[s->pos] == '-')
    s->pos++;
  int_start = s->pos;
  if (s->pos >= s->len || !g_ascii_isdigit (s->data[s->pos]))
    return fail (s, start, "a '-' not followed by a digit");
  if (s->data[s->pos] == '0' && s->pos + 1 < s->len)
    {
      guchar next = s->data[s->pos + 1];

      if (next == 'x' || next == 'X')
        return fail (s, start, "a hexadecimal number");
      if (next == 'b' || next == 'B')
        return fail (s, start, "a binary number");
      if (g_ascii_isdigit (next))
        return fail (s, start, "a number with a leading zero");
    }
  scan_digits (s);
  n = s->pos - int_start;
  if (s->pos < s->len && s->data[s->pos] == '.')
    {
      integer = FALSE;
      s->pos++;
      if (!scan_digits (s))
        return fail (s, start, "a number without digits after its decimal point");
    }
  if (s->pos < s->len && (s->data[s->pos] == 'e' || s->data[s->pos] == 'E'))
    {
      integer = FALSE;
      s->pos++;
      if (s->pos < s->len && (s->data[s->pos] == '+' || s->data[s->pos] == '-'))
        s->pos++;
      if (!scan_digits (s))
        return fail (s, start, "a number without digits in its exponent");
    }
  if (s->pos - start > WB_JSON_MAX_NUMBER_CHARS)
    return fail (s, start, "a number longer than %d characters", WB_JSON_MAX_NUMBER_CHARS);

  if (integer)
    {
      /* json-glib reads integers as 64-bit: beyond that they wrap. */
      static const char max[] = "9223372036854775807";

      if (n > sizeof max - 1
          || (n == sizeof max - 1 && memcmp (s->data + int_start, max, n) > 0))
        return fail (s, start, "an integer beyond 64 bits");
    }
  else
    {
      char buf[WB_JSON_MAX_NUMBER_CHARS + 1];

      memcpy (buf, s->data + start, s->pos - start);
      buf[s->pos - start] = '\0';
      if (!isfinite (g_ascii_strtod (buf, NULL)))
        return fail (s, start, "a number too large for a double");
    }
  return TRUE;
}

/* true / false / null, and nothing glued to them. */
static gboolean
scan_literal (Scan *s)
{
  static const char * const words[] = { "true", "false", "null" };

  for (guint w = 0; w < G_N_ELEMENTS (words); w++)
    {
      gsize n = strlen (words[w]);

      if (s->len - s->pos >= n && memcmp (s->data + s->pos, words[w], n) == 0
          && (s->len - s->pos == n
              || !(g_ascii_isalnum (s->data[s->pos + n]) || s->data[s->pos + n] == '_')))
        {
          s->pos += n;
          return TRUE;
        }
    }
  return fail_unexpected (s, "a value");
}

gboolean
wb_json_check (const char  *data,
               gsize        len,
               guint        max_depth,
               GError     **error)
{
  Scan s = { (const guchar *) data, len, 0, error };
  guint8 stack[WB_JSON_DEPTH_LIMIT];   /* '{' or '[' per open container */
  guint depth = 0;
  Want want = WANT_VALUE;
  gboolean may_close = FALSE;          /* just after '[' or '{' */

  g_return_val_if_fail (data != NULL || len == 0, FALSE);
  g_return_val_if_fail (max_depth <= WB_JSON_DEPTH_LIMIT, FALSE);

  for (;;)
    {
      guchar c;

      while (s.pos < len && is_ws (s.data[s.pos]))
        s.pos++;
      if (s.pos >= len)
        break;
      c = s.data[s.pos];

      switch (want)
        {
        case WANT_VALUE:
          if (c == ']' && depth > 0 && stack[depth - 1] == '[')
            {
              if (!may_close)
                return fail (&s, s.pos, "a comma before ']'");
              goto close;
            }
          may_close = FALSE;
          if (c == '{' || c == '[')
            {
              if (depth >= max_depth)
                return fail (&s, s.pos, "nesting deeper than %u levels", max_depth);
              stack[depth++] = c;
              s.pos++;
              want = c == '{' ? WANT_KEY : WANT_VALUE;
              may_close = TRUE;
              continue;
            }
          if (c == '"')
            {
              if (!scan_string (&s))
                return FALSE;
            }
          else if (c == '-' || g_ascii_isdigit (c))
            {
              if (!scan_number (&s))
                return FALSE;
            }
          else if (c == 't' || c == 'f' || c == 'n')
            {
              if (!scan_literal (&s))
                return FALSE;
            }
          else if (c == '.' || c == '+')
            return fail (&s, s.pos, "a number starting with '%c'", c);
          else
            return fail_unexpected (&s, "a value");
          want = depth == 0 ? WANT_END : WANT_NEXT;
          continue;

        case WANT_KEY:
          if (c == '}')
            {
              if (!may_close)
                return fail (&s, s.pos, "a comma before '}'");
              goto close;
            }
          may_close = FALSE;
          if (c != '"')
            return fail_unexpected (&s, "a member name in double quotes");
          if (!scan_string (&s))
            return FALSE;
          want = WANT_COLON;
          continue;

        case WANT_COLON:
          if (c != ':')
            return fail_unexpected (&s, "':' after a member name");
          s.pos++;
          want = WANT_VALUE;
          continue;

        case WANT_NEXT:
          if (c == ',')
            {
              s.pos++;
              want = stack[depth - 1] == '{' ? WANT_KEY : WANT_VALUE;
              continue;
            }
          if (c == '}' || c == ']')
            {
              if ((c == '}') != (stack[depth - 1] == '{'))
                return fail (&s, s.pos, "'%c' closing %s", c,
                             stack[depth - 1] == '{' ? "an object" : "an array");
              goto close;
            }
          return fail_unexpected (&s, stack[depth - 1] == '{' ? "',' or '}'" : "',' or ']'");

        case WANT_END:
        default:
          if (c == '/' || c == '\'' || c == '\0')
            return fail_unexpected (&s, "the end of the data");
          return fail (&s, s.pos, "more data after the JSON value");
        }

    close:
      depth--;
      s.pos++;
      may_close = FALSE;
      want = depth == 0 ? WANT_END : WANT_NEXT;
    }

  if (want == WANT_END)
    return TRUE;
  if (depth == 0 && want == WANT_VALUE)
    {
      g_set_error_literal (error, WB_ERROR, WB_ERROR_INVALID_DATA, "invalid JSON: no value at all");
      return FALSE;
    }
  return fail (&s, len, "the data ends inside %s", depth > 0 && stack[depth - 1] == '{'
               ? "an object" : "an array");
}

JsonNode *
wb_json_parse (const char  *data,
               gsize        len,
               guint        max_depth,
               GError     **error)
{
  g_autoptr(JsonParser) parser = NULL;
  g_autoptr(GError) local_error = NULL;
  JsonNode *root;

  if (!wb_json_check (data, len, max_depth, error))
    return NULL;

  parser = json_parser_new_immutable ();
  if (!json_parser_load_from_data (parser, data, (gssize) len, &local_error))
    {
      /* Not expected after the check: json-glib accepts a superset of RFC 8259. */
      g_set_error (error, WB_ERROR, WB_ERROR_INVALID_DATA, "invalid JSON: %s", local_error->message);
      return NULL;
    }
  root = json_parser_get_root (parser);
  if (root == NULL)
    {
      g_set_error_literal (error, WB_ERROR, WB_ERROR_INVALID_DATA, "invalid JSON: no value at all");
      return NULL;
    }
  return json_node_ref (root);
}

/* ---- member getters ---- */

static JsonNode *
get_value (JsonObject *object,
           const char *name,
           GType       type)
{
  JsonNode *node = object != NULL ? json_object_get_member (object, name) : NULL;

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != type)
    return NULL;
  return node;
}

const char *
wb_json_get_string (JsonObject *object,
                    const char *name)
{
  JsonNode *node = get_value (object, name, G_TYPE_STRING);

  return node != NULL ? json_node_get_string (node) : NULL;
}

JsonObject *
wb_json_get_object (JsonObject *object,
                    const char *name)
{
  JsonNode *node = object != NULL ? json_object_get_member (object, name) : NULL;

  return node != NULL && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
}

JsonArray *
wb_json_get_array (JsonObject *object,
                   const char *name)
{
  JsonNode *node = object != NULL ? json_object_get_member (object, name) : NULL;

  return node != NULL && JSON_NODE_HOLDS_ARRAY (node) ? json_node_get_array (node) : NULL;
}

gboolean
wb_json_get_int (JsonObject *object,
                 const char *name,
                 gint64     *out)
{
  JsonNode *node = get_value (object, name, G_TYPE_INT64);

  if (node == NULL)
    return FALSE;
  *out = json_node_get_int (node);
  return TRUE;
}

gboolean
wb_json_get_number (JsonObject *object,
                    const char *name,
                    gint64     *out)
{
  JsonNode *node;

  if (wb_json_get_int (object, name, out))
    return TRUE;
  node = get_value (object, name, G_TYPE_DOUBLE);
  if (node == NULL)
    return FALSE;
  *out = (gint64) CLAMP (json_node_get_double (node), -1e15, 1e15);
  return TRUE;
}

gboolean
wb_json_get_bool (JsonObject *object,
                  const char *name,
                  gboolean   *out)
{
  JsonNode *node = get_value (object, name, G_TYPE_BOOLEAN);

  if (node == NULL)
    return FALSE;
  *out = json_node_get_boolean (node);
  return TRUE;
}

gboolean
wb_json_get_timestamp (JsonObject *object,
                       const char *name,
                       gint64     *out_us)
{
  return wb_event_parse_timestamp (wb_json_get_string (object, name), out_us);
}

char *
wb_json_dup_text (JsonObject *object,
                  const char *name)
{
  const char *s = wb_json_get_string (object, name);
  gint64 v;

  if (s != NULL)
    return s[0] != '\0' ? g_strdup (s) : NULL;
  if (wb_json_get_int (object, name, &v))
    return g_strdup_printf ("%" G_GINT64_FORMAT, v);
  return NULL;
}

/* A string json-glib wrote, from the opening quote at *@p to the closing one: control characters
 * it left raw (DEL, C1), format characters (bidi controls), line separators and noncharacters
 * become \u escapes — the same text once parsed, but nothing a terminal reading the file acts
 * on — and invalid UTF-8 (a JsonNode can hold it) becomes U+FFFD. */
static void
copy_string (GString     *out,
             const char **p)
{
  const char *s = *p;

  g_string_append_c (out, *s++);
  while (*s != '\0' && *s != '"')
    {
      gunichar c;

      if (*s == '\\' && s[1] != '\0')
        {
          g_string_append_len (out, s, 2);
          s += 2;
          continue;
        }
      c = g_utf8_get_char_validated (s, -1);
      if (c >= (gunichar) -2)
        {
          g_string_append (out, "\\ufffd");
          s++;
          continue;
        }
      if (!wb_untrusted_text_is_unprintable (c))
        g_string_append_len (out, s, g_utf8_next_char (s) - s);
      else
        {
          char buf[16];   /* formatted in place: this runs per character */

          if (c > 0xffff)
            g_snprintf (buf, sizeof buf, "\\u%04x\\u%04x", 0xd800 + ((c - 0x10000) >> 10),
                        0xdc00 + ((c - 0x10000) & 0x3ff));
          else
            g_snprintf (buf, sizeof buf, "\\u%04x", c);
          g_string_append (out, buf);
        }
      s = g_utf8_next_char (s);
    }
  if (*s == '"')
    g_string_append_c (out, *s++);
  *p = s;
}

/* A number json-glib wrote. Before 1.8 it appends ".0" to every double printed without a '.',
 * exponent form included (json-glib#67, fixed in 1.8.0): "1e+36.0", "1e-08.0". That ".0" is
 * dropped; a no-op for newer json-glib. */
static void
copy_number (GString     *out,
             const char **p)
{
  const char *s = *p;
  gboolean exponent = FALSE;

  while (*s == '-' || *s == '+' || *s == '.' || *s == 'e' || *s == 'E' || g_ascii_isdigit (*s))
    {
      if (exponent && s[0] == '.' && s[1] == '0' && !g_ascii_isdigit (s[2]))
        {
          s += 2;
          break;
        }
      exponent = exponent || *s == 'e' || *s == 'E';
      g_string_append_c (out, *s++);
    }
  *p = s;
}

char *
wb_json_to_string (JsonNode *node)
{
  g_autoptr(WbSecret) text = NULL;   /* may be a sign-in body: wiped */
  GString *out;
  const char *p;

  g_return_val_if_fail (node != NULL, NULL);

  text = json_to_string (node, FALSE);
  out = g_string_sized_new (strlen (text) + 16);
  for (p = text; *p != '\0';)
    {
      if (*p == '"')
        copy_string (out, &p);
      else if (*p == '-' || g_ascii_isdigit (*p))
        copy_number (out, &p);
      else
        g_string_append_c (out, *p++);
    }
  return g_string_free (out, FALSE);
}

void
wb_json_append_string (GString    *s,
                       const char *text)
{
  g_string_append_c (s, '"');
  for (const char *p = text; *p; p++)
    {
      guchar c = *p;

      if (c == '"' || c == '\\')
        g_string_append_printf (s, "\\%c", c);
      else if (c < 0x20)
        g_string_append_printf (s, "\\u%04x", c);
      else
        g_string_append_c (s, c);
    }
  g_string_append_c (s, '"');
}
