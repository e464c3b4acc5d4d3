/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-json.h: the one place bytes become a JsonNode (strict RFC 8259, bounded nesting) and the
 * safe getters every parser of the core reads members with. Plain functions, pure, fuzzed. */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* No caller may allow deeper nesting than this: json-glib 1.6 recurses once per level when it
 * parses, copies, compares, generates and frees a tree. */
#define WB_JSON_DEPTH_LIMIT 256

/* A number literal longer than this is refused (RFC 8259 §9 lets a parser limit precision). */
#define WB_JSON_MAX_NUMBER_CHARS 1024

/* Checks that @data holds exactly one RFC 8259 JSON text — no comments, single quotes, bare
 * words, hex/octal/leading-dot numbers, trailing data, raw control characters, unknown escapes,
 * unpaired UTF-16 surrogate escapes, invalid UTF-8 or NUL bytes — nested at most @max_depth
 * levels (1 ≤ @max_depth ≤ %WB_JSON_DEPTH_LIMIT). Also refused, because json-glib cannot carry
 * them: the escape \u0000, integers beyond 64 bits and numbers that overflow a double.
 * One linear pass, no recursion, no allocation. On failure: WB_ERROR_INVALID_DATA, with a
 * message naming what was wrong and its byte offset (counted from 0). */
gboolean    wb_json_check         (const char  *data,
                                   gsize        len,
                                   guint        max_depth,
                                   GError     **error);

/* wb_json_check(), then json-glib. Returns: (transfer full): the root (an object, array or
 * scalar: the caller checks the shape). The tree is immutable: copy what you change. */
JsonNode   *wb_json_parse         (const char  *data,
                                   gsize        len,
                                   guint        max_depth,
                                   GError     **error);

/* Member getters: never a critical, whatever the shape; @object may be %NULL. A member that is
 * absent, null or of another type reads as absent (%NULL / %FALSE, *out untouched). */
const char *wb_json_get_string    (JsonObject  *object,
                                   const char  *name);
JsonObject *wb_json_get_object    (JsonObject  *object,
                                   const char  *name);
JsonArray  *wb_json_get_array     (JsonObject  *object,
                                   const char  *name);
/* An integer member (a JSON number without fraction or exponent). */
gboolean    wb_json_get_int       (JsonObject  *object,
                                   const char  *name,
                                   gint64      *out);
/* An integer, or a fractional number truncated toward zero and clamped to ±1e15. */
gboolean    wb_json_get_number    (JsonObject  *object,
                                   const char  *name,
                                   gint64      *out);
gboolean    wb_json_get_bool      (JsonObject  *object,
                                   const char  *name,
                                   gboolean    *out);
/* A string member holding a timestamp wb_event_parse_timestamp() reads, as µs since the epoch. */
gboolean    wb_json_get_timestamp (JsonObject  *object,
                                   const char  *name,
                                   gint64      *out_us);
/* Returns: (transfer full) (nullable): a non-empty string member, or an integer one as decimal
 * text (PostgREST sends ids and some columns either way). */
char       *wb_json_dup_text      (JsonObject  *object,
                                   const char  *name);

/* Returns: (transfer full): @node as compact JSON text that wb_json_parse() reads back (json-glib
 * before 1.8 writes 1e+36 as "1e+36.0", which no JSON parser reads: that is mended here), valid
 * UTF-8 (bad bytes in a node's strings become U+FFFD) and with every unprintable character in a
 * string escaped (wb_untrusted_text_is_unprintable()), so one line stays one line and nothing in it
 * acts on a terminal. */
char       *wb_json_to_string     (JsonNode    *node);

/* Appends @text (UTF-8) to @s as a JSON string literal, quotes included. */
void        wb_json_append_string (GString     *s,
                                   const char  *text);

G_END_DECLS
