/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-untrusted-text.h: text a customer typed — cleaned where it enters the core, isolated where
 * fields are joined for display, escaped where it is printed to a terminal. Pure functions. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The fields a customer types, each with its own cap (bytes of UTF-8, the ellipsis included). */
typedef enum
{
  WB_UNTRUSTED_FIELD_NAME,
  WB_UNTRUSTED_FIELD_VEHICLE,
  WB_UNTRUSTED_FIELD_CONCERN,
} WbUntrustedField;

#define WB_UNTRUSTED_NAME_MAX_BYTES    256
#define WB_UNTRUSTED_VEHICLE_MAX_BYTES 256
#define WB_UNTRUSTED_CONCERN_MAX_BYTES 1000

/* U+2068 FIRST STRONG ISOLATE and U+2069 POP DIRECTIONAL ISOLATE, in UTF-8. */
#define WB_UNTRUSTED_TEXT_FSI "\xe2\x81\xa8"
#define WB_UNTRUSTED_TEXT_PDI "\xe2\x81\xa9"

gsize  wb_untrusted_text_max_bytes     (WbUntrustedField    field);

/* Returns: (transfer full) (nullable): @text (@len bytes, or NUL-terminated if -1) made safe to
 * keep: invalid UTF-8 replaced by U+FFFD (a run of bad bytes by one), control characters (Cc) and
 * format characters (Cf) removed except ZWNJ, ZWJ and the prepended concatenation marks of
 * Arabic, Syriac and Kaithi (every bidirectional embedding, override, isolate and mark goes:
 * display isolates fields itself), noncharacters removed, line breaks and tabs turned into
 * spaces, runs of spaces collapsed, ends trimmed; then cut to at most @max_bytes (≥ 4) on a
 * character boundary, never inside a combining sequence, ending in "…" when cut. %NULL when
 * nothing is left. Linear, and reads no further than the cut needs. */
char  *wb_untrusted_text_clean         (const char         *text,
                                        gssize              len,
                                        gsize               max_bytes);
/* wb_untrusted_text_clean() with the field's cap. */
char  *wb_untrusted_text_clean_field   (const char         *text,
                                        WbUntrustedField    field);

/* Returns: (transfer full) (nullable): the non-empty @fields (%NULL ones skipped) joined by
 * @separator, each wrapped in FSI … PDI so that no field's direction can reorder another (a name
 * ending in Hebrew cannot pull the concern into its run); bidi embedding, override and isolate
 * controls inside a field are dropped, so every isolate is closed. %NULL if none. Not escaped:
 * escape afterwards where the result is markup. */
char  *wb_untrusted_text_join_isolated (const char * const *fields,
                                        guint               n_fields,
                                        const char         *separator);

/* TRUE for what no terminal, log or display should receive raw: C0 and C1 controls, DEL,
 * format characters (bidi controls among them), line and paragraph separators, noncharacters. */
gboolean wb_untrusted_text_is_unprintable (gunichar          c);

/* Returns: (transfer full): @text safe to write to a terminal: every byte of invalid UTF-8 as
 * \xNN, C0 controls and DEL as \xNN, and every other non-printing character (C1 controls, format
 * characters such as bidi controls, line and paragraph separators, noncharacters) as \uXXXX, so
 * no escape sequence (CSI, OSC 52, …) and no reordering reaches the terminal. Printable text is
 * kept as is. */
char  *wb_untrusted_text_for_terminal  (const char         *text);

G_END_DECLS
