/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-untrusted-text.c: cleaning, isolating and terminal-escaping text a customer typed. */
#define G_LOG_DOMAIN "wb-untrusted-text"

#include "config.h"

#include <string.h>

#include "wb-untrusted-text.h"

#define ELLIPSIS "\xe2\x80\xa6"   /* U+2026 */
#define REPLACEMENT 0xfffd

gsize
wb_untrusted_text_max_bytes (WbUntrustedField field)
{
  switch (field)
    {
    case WB_UNTRUSTED_FIELD_NAME:
      return WB_UNTRUSTED_NAME_MAX_BYTES;
    case WB_UNTRUSTED_FIELD_VEHICLE:
      return WB_UNTRUSTED_VEHICLE_MAX_BYTES;
    case WB_UNTRUSTED_FIELD_CONCERN:
    default:
      return WB_UNTRUSTED_CONCERN_MAX_BYTES;
    }
}

/* Line breaks, tabs and the like: one space between words, never a new line. */
static gboolean
is_break_or_space (gunichar c)
{
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
         || c == 0x85 || c == 0x2028 || c == 0x2029;
}

static gboolean
is_noncharacter (gunichar c)
{
  return (c >= 0xfdd0 && c <= 0xfdef) || (c & 0xfffe) == 0xfffe;
}

/* The format characters a script needs and that cannot reorder anything: the zero-width
 * (non-)joiners of Indic and Arabic shaping and of emoji sequences, and the prepended
 * concatenation marks (Arabic number signs, the Syriac abbreviation mark, Kaithi number signs). */
static gboolean
is_allowed_format (gunichar c)
{
  return c == 0x200c || c == 0x200d
         || (c >= 0x0600 && c <= 0x0605) || c == 0x06dd || c == 0x070f
         || c == 0x0890 || c == 0x0891 || c == 0x08e2 || c == 0x110bd || c == 0x110cd;
}

static gboolean
is_dropped (gunichar c)
{
  switch (g_unichar_type (c))
    {
    case G_UNICODE_CONTROL:
    case G_UNICODE_SURROGATE:
      return TRUE;
    case G_UNICODE_FORMAT:
      return !is_allowed_format (c);
    default:
      return is_noncharacter (c);
    }
}

/* Characters that belong to the one before them: a cut must not fall just before one. */
static gboolean
continues_cluster (gunichar c)
{
  return g_unichar_ismark (c) || c == 0x200d || (c >= 0xfe00 && c <= 0xfe0f)
         || (c >= 0x1f3fb && c <= 0x1f3ff) || (c >= 0xe0020 && c <= 0xe007f);
}

/* The next character of @p..@end; a run of invalid bytes reads as one U+FFFD, a NUL as U+0000. */
static gunichar
next_char (const char **p,
           const char  *end)
{
  gunichar c;

  if (**p == '\0')
    {
      (*p)++;
      return 0;
    }
  c = g_utf8_get_char_validated (*p, end - *p);

  if (c >= (gunichar) -2)
    {
      do
        (*p)++;
      while (*p < end && **p != '\0'
             && (c = g_utf8_get_char_validated (*p, end - *p)) >= (gunichar) -2);
      return REPLACEMENT;
    }
  *p = g_utf8_next_char (*p);
  return c;
}

char *
wb_untrusted_text_clean (const char *text,
                         gssize      len,
                         gsize       max_bytes)
{
  g_autoptr(GString) out = NULL;
  const char *p, *end;
  gboolean space = FALSE;
  gboolean cut = FALSE;
  gsize keep;

  g_return_val_if_fail (max_bytes >= 4, NULL);

  if (text == NULL)
    return NULL;
  end = text + (len < 0 ? strlen (text) : (gsize) len);
  out = g_string_sized_new (MIN ((gsize) (end - text), max_bytes) + 8);

  for (p = text; p < end;)
    {
      gunichar c = next_char (&p, end);

      if (is_break_or_space (c))
        {
          space = out->len > 0;
          continue;
        }
      if (is_dropped (c))
        continue;
      if (space)
        g_string_append_c (out, ' ');
      space = FALSE;
      g_string_append_unichar (out, c);
      if (out->len > max_bytes)
        {
          /* Only the character that overflowed is needed to know where to cut. */
          cut = TRUE;
          break;
        }
    }

  if (!cut)
    return out->len > 0 ? g_string_free (g_steal_pointer (&out), FALSE) : NULL;

  /* The longest prefix that leaves room for the ellipsis, not splitting a cluster. */
  keep = max_bytes - strlen (ELLIPSIS);
  while (keep > 0 && (out->str[keep] & 0xc0) == 0x80)
    keep--;
  while (keep > 0)
    {
      const char *before = g_utf8_find_prev_char (out->str, out->str + keep);

      if (!continues_cluster (g_utf8_get_char (out->str + keep))
          && g_utf8_get_char (before) != 0x200d)
        break;
      keep = before - out->str;
    }
  while (keep > 0 && out->str[keep - 1] == ' ')
    keep--;
  g_string_truncate (out, keep);
  g_string_append (out, ELLIPSIS);
  return g_string_free (g_steal_pointer (&out), FALSE);
}

char *
wb_untrusted_text_clean_field (const char       *text,
                               WbUntrustedField  field)
{
  return wb_untrusted_text_clean (text, -1, wb_untrusted_text_max_bytes (field));
}

/* Embedding, override and isolate controls: the ones that open or close a directional run. */
static gboolean
is_bidi_run_control (gunichar c)
{
  return (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069);
}

char *
wb_untrusted_text_join_isolated (const char * const *fields,
                                 guint               n_fields,
                                 const char         *separator)
{
  GString *out = NULL;

  for (guint i = 0; i < n_fields; i++)
    {
      if (fields[i] == NULL || fields[i][0] == '\0')
        continue;
      if (out == NULL)
        out = g_string_new (NULL);
      else
        g_string_append (out, separator);
      g_string_append (out, WB_UNTRUSTED_TEXT_FSI);
      for (const char *p = fields[i], *end = p + strlen (p); p < end;)
        {
          gunichar c = next_char (&p, end);

          if (!is_bidi_run_control (c))
            g_string_append_unichar (out, c);
        }
      g_string_append (out, WB_UNTRUSTED_TEXT_PDI);
    }
  return out != NULL ? g_string_free (out, FALSE) : NULL;
}

gboolean
wb_untrusted_text_is_unprintable (gunichar c)
{
  switch (g_unichar_type (c))
    {
    case G_UNICODE_CONTROL:
    case G_UNICODE_FORMAT:
    case G_UNICODE_LINE_SEPARATOR:
    case G_UNICODE_PARAGRAPH_SEPARATOR:
    case G_UNICODE_SURROGATE:
      return TRUE;
    default:
      return is_noncharacter (c);
    }
}

char *
wb_untrusted_text_for_terminal (const char *text)
{
  GString *out;
  const char *p, *end;

  if (text == NULL)
    return g_strdup ("");
  end = text + strlen (text);
  out = g_string_sized_new (end - text);
  for (p = text; p < end;)
    {
      gunichar c = g_utf8_get_char_validated (p, end - p);
      char buf[16];   /* escapes are formatted in place: this runs per character */

      if (c >= (gunichar) -2)
        {
          g_snprintf (buf, sizeof buf, "\\x%02x", (guchar) *p);
          g_string_append (out, buf);
          p++;
          continue;
        }
      p = g_utf8_next_char (p);
      if (!wb_untrusted_text_is_unprintable (c))
        {
          g_string_append_unichar (out, c);
          continue;
        }
      if (c < 0x20 || c == 0x7f)
        g_snprintf (buf, sizeof buf, "\\x%02x", c);
      else
        g_snprintf (buf, sizeof buf, c > 0xffff ? "\\U%08x" : "\\u%04x", c);
      g_string_append (out, buf);
    }
  return g_string_free (out, FALSE);
}
