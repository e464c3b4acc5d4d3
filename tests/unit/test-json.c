/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-json.c: wb-json — strict RFC 8259 with a depth bound, json-glib's leniencies refused one by
 * one, deep nesting refused by every parser of the app, the member getters. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <glib/gstdio.h>

#include "wb-auth-tokens.h"
#include "wb-dedupe-set.h"
#include "wb-error.h"
#include "wb-json.h"
#include "wb-phoenix-message.h"
#include "wb-rest-client.h"
#include "wb-untrusted-text.h"

#define DEEP 200000
#define NOW G_GINT64_CONSTANT (1795168800000000)
#define A1 "0b9e8a5c-1f2d-4c3b-9a8e-7d6c5b4a3f21"

static JsonNode *
parse_ok (const char *text)
{
  g_autoptr(GError) error = NULL;
  JsonNode *node = wb_json_parse (text, strlen (text), 64, &error);

  g_assert_no_error (error);
  g_assert_nonnull (node);
  return node;
}

/* RFC 8259 texts, and what json-glib makes of them (compact form). */
static const struct {
  const char *text;
  const char *expect;
} good[] = {
  { "{}", "{}" },
  { "[]", "[]" },
  { " \t\r\n{ \"a\" : [ 1 , -2 , 0 , -0 , 3.25 , 1e3 , 2E-2 , 5e+1 ] }\n", NULL },
  { "\"text\"", "\"text\"" },
  { "42", "42" },
  { "-9223372036854775807", "-9223372036854775807" },
  { "9223372036854775807", "9223372036854775807" },
  { "true", "true" },
  { "false", "false" },
  { "null", "null" },
  { "[null,\"1\",\"phoenix\",\"heartbeat\",{}]", "[null,\"1\",\"phoenix\",\"heartbeat\",{}]" },
  { "{\"s\":\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u00e9 \\u2603\"}", NULL },
  { "{\"pair\":\"\\ud83d\\ude00\",\"raw\":\"\xf0\x9f\x98\x80\",\"c1\":\"\xc2\x9b\"}", NULL },
  { "{\"a\":{\"b\":{\"c\":[[[{}]]]}}}", "{\"a\":{\"b\":{\"c\":[[[{}]]]}}}" },
  { "{\"dup\":1,\"dup\":2}", NULL },
  { "[\"'\", \"/* not a comment */\", \"// nor this\"]", NULL },
  { "1e-400", NULL },
};

static void
test_accepts_rfc8259 (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (good); i++)
    {
      g_autoptr(JsonNode) node = NULL;

      g_test_message ("accept %s", good[i].text);
      node = parse_ok (good[i].text);
      g_assert_true (json_node_is_immutable (node));
      if (good[i].expect != NULL)
        {
          g_autofree char *text = json_to_string (node, FALSE);

          g_assert_cmpstr (text, ==, good[i].expect);
        }
    }
}

/* Each leniency of json-glib 1.6's scanner and parser, refused with what it is and where. */
static const struct {
  const char *name;
  const char *text;
  gssize      len;        /* -1: strlen */
  const char *message;    /* part of the error message */
  gsize       at;         /* the byte offset the message names */
} bad[] = {
  { "single-quoted string", "{'a':1}", -1, "single-quoted", 1 },
  { "single-quoted value", "{\"a\":'b'}", -1, "single-quoted", 5 },
  { "line comment", "{\"a\":1} // c", -1, "comment", 8 },
  { "block comment", "/* c */ {\"a\":1}", -1, "comment", 0 },
  { "comment inside", "{\"a\":/*x*/1}", -1, "comment", 5 },
  { "hex", "{\"a\":0x10}", -1, "hexadecimal", 5 },
  { "dollar hex", "{\"a\":$10}", -1, "bare word", 5 },
  { "octal", "{\"a\":010}", -1, "leading zero", 5 },
  { "binary", "{\"a\":0b101}", -1, "binary", 5 },
  { "leading dot", "{\"a\":.5}", -1, "starting with '.'", 5 },
  { "plus sign", "[+1]", -1, "starting with '+'", 1 },
  { "trailing dot", "{\"a\":1.}", -1, "decimal point", 5 },
  { "empty exponent", "[1e]", -1, "exponent", 1 },
  { "minus space", "{\"a\":- 1}", -1, "'-' not followed", 5 },
  { "unknown escape", "{\"a\":\"\\x41\"}", -1, "escape \\x", 6 },
  { "octal escape", "{\"a\":\"\\101\"}", -1, "escape \\1", 6 },
  { "quote escape", "[\"\\'\"]", -1, "escape \\'", 2 },
  { "short unicode escape", "{\"a\":\"\\u12\"}", -1, "four hex digits", 6 },
  { "escaped NUL", "{\"a\":\"\\u0000b\"}", -1, "\\u0000", 6 },
  { "lone high surrogate", "{\"a\":\"\\ud800\"}", -1, "high surrogate", 6 },
  { "high surrogate then text", "{\"a\":\"\\ud800x\"}", -1, "high surrogate", 6 },
  { "high surrogate then BMP", "{\"a\":\"\\ud800\\u0041\"}", -1, "high surrogate", 6 },
  { "two high surrogates", "[\"\\udbff\\udbff\"]", -1, "high surrogate", 2 },
  { "lone low surrogate", "{\"a\":\"\\udc00\"}", -1, "low surrogate", 6 },
  { "reversed pair", "[\"\\ude00\\ud83d\"]", -1, "low surrogate", 2 },
  { "raw tab in string", "{\"a\":\"\t\"}", -1, "control character 0x09", 6 },
  { "raw newline in string", "[\"a\nb\"]", -1, "control character 0x0a", 3 },
  { "raw escape byte in string", "[\"\x1b[2J\"]", -1, "control character 0x1b", 2 },
  { "second object", "{\"a\":1}{\"b\":2}", -1, "more data", 7 },
  { "second array", "[1] [2]", -1, "more data", 4 },
  { "trailing word", "{\"a\":\"x\"}garbage", -1, "more data", 9 },
  { "assignment", "var x = {\"a\":1};", -1, "bare word", 0 },
  { "byte order mark", "\xef\xbb\xbf{}", -1, "byte order mark", 0 },
  { "empty", "", 0, "no value", 0 },
  { "whitespace only", " \n\t ", -1, "no value", 0 },
  { "trailing comma object", "{\"a\":1,}", -1, "comma before '}'", 7 },
  { "trailing comma array", "[1,]", -1, "comma before ']'", 3 },
  { "missing colon", "{\"a\" 1}", -1, "':'", 5 },
  { "missing comma", "[1 2]", -1, "',' or ']'", 3 },
  { "unquoted key", "{a:1}", -1, "member name", 1 },
  { "capitalised True", "{\"a\":True}", -1, "bare word", 5 },
  { "NaN", "[NaN]", -1, "bare word", 1 },
  { "Infinity", "[-Infinity]", -1, "'-' not followed", 1 },
  { "truncated literal", "{\"a\":nul}", -1, "bare word", 5 },
  { "literal glued", "[truex]", -1, "bare word", 1 },
  { "integer beyond 64 bits", "{\"a\":99999999999999999999}", -1, "beyond 64 bits", 5 },
  { "INT64_MIN", "[-9223372036854775808]", -1, "beyond 64 bits", 1 },
  { "infinite double", "{\"a\":1e999}", -1, "too large", 5 },
  { "NUL after the value", "{\"a\":1}\0junk", 12, "NUL byte", 7 },
  { "NUL in a string", "{\"a\":\"x\0y\"}", 11, "NUL byte", 7 },
  { "invalid UTF-8 in a string", "[\"\xff\xfe\"]", -1, "invalid UTF-8", 2 },
  { "overlong UTF-8", "[\"\xc0\xaf\"]", -1, "invalid UTF-8", 2 },
  { "UTF-8 surrogate", "[\"\xed\xa0\x80\"]", -1, "invalid UTF-8", 2 },
  { "truncated UTF-8", "[\"\xe2\x82", -1, "invalid UTF-8", 2 },
  { "byte outside a string", "[\xc3\xa9]", -1, "unexpected byte 0xc3", 1 },
  { "unterminated string", "{\"a\":\"abc", -1, "never closed", 5 },
  { "unterminated object", "{\"a\":1", -1, "ends inside an object", 6 },
  { "unterminated array", "[[1]", -1, "ends inside an array", 4 },
  { "close without open", "]", -1, "unexpected ']'", 0 },
  { "close too many", "[]]", -1, "more data", 2 },
  { "mismatched close", "[1}", -1, "'}' closing an array", 2 },
  { "mismatched close object", "{\"a\":1]", -1, "']' closing an object", 6 },
  { "close after colon", "{\"a\":}", -1, "unexpected '}'", 5 },
  { "form feed whitespace", "\f{}", -1, "unexpected byte 0x0c", 0 },
  { "empty member", "[1,,2]", -1, "unexpected ','", 3 },
};

static void
test_refuses_leniencies (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(JsonNode) node = NULL;
      g_autofree char *where = g_strdup_printf ("at byte %" G_GSIZE_FORMAT ":", bad[i].at);
      gsize len = bad[i].len < 0 ? strlen (bad[i].text) : (gsize) bad[i].len;

      node = wb_json_parse (bad[i].text, len, 64, &error);
      g_test_message ("%s: %s", bad[i].name, error ? error->message : "(accepted)");
      g_assert_null (node);
      g_assert_error (error, WB_ERROR, WB_ERROR_INVALID_DATA);
      g_assert_nonnull (strstr (error->message, bad[i].message));
      if (len > 0 && strcmp (bad[i].message, "no value") != 0)
        g_assert_nonnull (strstr (error->message, where));
      g_assert_false (wb_json_check (bad[i].text, len, 64, NULL));
    }
}

static GString *
nest (const char *prefix,
      const char *open,
      guint       n,
      const char *close)
{
  GString *s = g_string_new (prefix);

  for (guint i = 0; i < n; i++)
    g_string_append (s, open);
  for (guint i = 0; close != NULL && i < n; i++)
    g_string_append (s, close);
  return s;
}

static void
test_depth (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GString) ok = nest ("", "[", 64, "]");
  g_autoptr(GString) over = nest ("", "[", 65, "]");
  g_autoptr(GString) objects = nest ("", "{\"a\":", 16, NULL);
  g_autoptr(GString) deep = nest ("", "[", DEEP, "]");
  g_autoptr(GString) quoted = nest ("{\"x\":'\"',\"y\":", "[", DEEP, NULL);
  g_autoptr(JsonNode) node = NULL;

  node = wb_json_parse (ok->str, ok->len, 64, &error);
  g_assert_no_error (error);
  g_assert_nonnull (node);
  g_clear_pointer (&node, json_node_unref);

  node = wb_json_parse (over->str, over->len, 64, &error);
  g_assert_null (node);
  g_assert_error (error, WB_ERROR, WB_ERROR_INVALID_DATA);
  g_assert_nonnull (strstr (error->message, "nesting deeper than 64 levels"));
  g_assert_nonnull (strstr (error->message, "at byte 64:"));
  g_clear_error (&error);

  for (guint i = 0; i < 16; i++)
    g_string_append_c (objects, '}');
  g_string_insert (objects, objects->len - 16, "1");
  g_assert_true (wb_json_check (objects->str, objects->len, 16, NULL));
  g_assert_false (wb_json_check (objects->str, objects->len, 15, NULL));

  /* 200,000 levels: refused at the first level too many, in one pass, without recursion. */
  g_assert_false (wb_json_check (deep->str, deep->len, WB_JSON_DEPTH_LIMIT, &error));
  g_assert_nonnull (strstr (error->message, "nesting deeper than 256 levels"));
  g_clear_error (&error);

  /* The attack of issue 11: a '"' inside a single-quoted string hides the rest from a scanner
   * that knows only double quotes. Refused at the quote, before any nesting counts. */
  g_assert_false (wb_json_check (quoted->str, quoted->len, WB_JSON_DEPTH_LIMIT, &error));
  g_assert_nonnull (strstr (error->message, "at byte 5: a single-quoted string"));
  g_clear_error (&error);

  /* Closing brackets never drive the depth below zero and reopen room for more. */
#define CHECK(text, depth, err) wb_json_check (text, strlen (text), depth, err)
  g_assert_false (CHECK ("]]]][[[[", 2, &error));
  g_assert_nonnull (strstr (error->message, "at byte 0:"));
  g_clear_error (&error);
  g_assert_false (CHECK ("[]]][[[[1]]]]", 2, &error));
  g_assert_nonnull (strstr (error->message, "more data"));
  g_clear_error (&error);
  g_assert_false (CHECK ("{\"a\":\"]]]]\",\"b\":[[[1]]]}", 3, &error));
  g_assert_nonnull (strstr (error->message, "nesting deeper than 3 levels"));
  g_clear_error (&error);

  /* Brackets inside strings are text. */
  g_assert_true (CHECK ("[\"[[[[[[[[\\\"[[[[\"]", 1, NULL));
#undef CHECK
}

static void
test_numbers_and_strings (void)
{
  g_autoptr(JsonNode) node = parse_ok ("{\"i\":-12,\"d\":2.5e1,\"big\":9223372036854775807,"
                                       "\"tiny\":1e-400,\"s\":\"\\ud83d\\ude00\\u00e9\\n\"}");
  JsonObject *o = json_node_get_object (node);
  g_autoptr(GString) long_number = g_string_new ("[1.");
  g_autoptr(GError) error = NULL;

  g_assert_cmpint (json_object_get_int_member (o, "i"), ==, -12);
  g_assert_cmpfloat (json_object_get_double_member (o, "d"), ==, 25.0);
  g_assert_cmpint (json_object_get_int_member (o, "big"), ==, G_MAXINT64);
  g_assert_cmpfloat (json_object_get_double_member (o, "tiny"), ==, 0.0);
  g_assert_cmpstr (json_object_get_string_member (o, "s"), ==, "\xf0\x9f\x98\x80\xc3\xa9\n");
  g_assert_true (g_utf8_validate (json_object_get_string_member (o, "s"), -1, NULL));

  while (long_number->len < 1 + WB_JSON_MAX_NUMBER_CHARS + 1)   /* "[" and one digit too many */
    g_string_append_c (long_number, '5');
  g_string_append_c (long_number, ']');
  g_assert_false (wb_json_check (long_number->str, long_number->len, 4, &error));
  g_assert_nonnull (strstr (error->message, "longer than 1024"));
  g_string_erase (long_number, 3, 1);
  g_assert_true (wb_json_check (long_number->str, long_number->len, 4, NULL));
}

static void
test_getters (void)
{
  g_autoptr(JsonNode) node = parse_ok ("{\"s\":\"x\",\"e\":\"\",\"i\":7,\"neg\":-3,\"d\":2.9,"
                                       "\"huge\":1e300,\"b\":true,\"n\":null,\"o\":{\"k\":1},"
                                       "\"a\":[1],\"t\":\"2026-11-20T10:00:00Z\",\"bad_t\":\"soon\"}");
  JsonObject *o = json_node_get_object (node);
  gint64 v = 42;
  gboolean b = FALSE;
  g_autofree char *s = NULL;
  g_autofree char *i = NULL;

  g_assert_cmpstr (wb_json_get_string (o, "s"), ==, "x");
  g_assert_null (wb_json_get_string (o, "i"));
  g_assert_null (wb_json_get_string (o, "n"));
  g_assert_null (wb_json_get_string (o, "missing"));
  g_assert_null (wb_json_get_string (NULL, "s"));

  g_assert_nonnull (wb_json_get_object (o, "o"));
  g_assert_null (wb_json_get_object (o, "a"));
  g_assert_null (wb_json_get_object (NULL, "o"));
  g_assert_nonnull (wb_json_get_array (o, "a"));
  g_assert_null (wb_json_get_array (o, "o"));
  g_assert_null (wb_json_get_array (o, "n"));

  g_assert_true (wb_json_get_int (o, "i", &v));
  g_assert_cmpint (v, ==, 7);
  v = 42;
  g_assert_false (wb_json_get_int (o, "d", &v));
  g_assert_false (wb_json_get_int (o, "s", &v));
  g_assert_false (wb_json_get_int (NULL, "i", &v));
  g_assert_cmpint (v, ==, 42);

  g_assert_true (wb_json_get_number (o, "d", &v));
  g_assert_cmpint (v, ==, 2);
  g_assert_true (wb_json_get_number (o, "neg", &v));
  g_assert_cmpint (v, ==, -3);
  g_assert_true (wb_json_get_number (o, "huge", &v));
  g_assert_cmpint (v, ==, (gint64) 1e15);
  g_assert_false (wb_json_get_number (o, "b", &v));

  g_assert_true (wb_json_get_bool (o, "b", &b));
  g_assert_true (b);
  g_assert_false (wb_json_get_bool (o, "i", &b));
  g_assert_false (wb_json_get_bool (o, "n", &b));

  g_assert_true (wb_json_get_timestamp (o, "t", &v));
  g_assert_cmpint (v, ==, G_GINT64_CONSTANT (1795168800000000));
  g_assert_false (wb_json_get_timestamp (o, "bad_t", &v));
  g_assert_false (wb_json_get_timestamp (o, "i", &v));

  s = wb_json_dup_text (o, "s");
  i = wb_json_dup_text (o, "i");
  g_assert_cmpstr (s, ==, "x");
  g_assert_cmpstr (i, ==, "7");
  g_assert_null (wb_json_dup_text (o, "e"));
  g_assert_null (wb_json_dup_text (o, "d"));
  g_assert_null (wb_json_dup_text (o, "o"));
}

static void
test_append_string (void)
{
  const char *texts[] = { "plain", "quote \" backslash \\ slash /", "tab\tnl\nesc\x1b bel\x07",
                          "\xc3\xa9\xe2\x80\xae\xf0\x9f\x98\x80", "" };

  for (guint i = 0; i < G_N_ELEMENTS (texts); i++)
    {
      g_autoptr(GString) s = g_string_new ("[");
      g_autoptr(JsonNode) node = NULL;

      wb_json_append_string (s, texts[i]);
      g_string_append_c (s, ']');
      node = parse_ok (s->str);
      g_assert_cmpstr (json_array_get_string_element (json_node_get_array (node), 0), ==, texts[i]);
    }
}

/* ---- every parser of the app refuses 200,000 levels, with a clear error and no crash ---- */

/* The two attacks: plain deep nesting, and the same behind a single-quoted '"' (which fooled the
 * old double-quote-only depth counts into seeing a string where json-glib saw brackets). */
static const char *
attack_expect (guint a)
{
  return a == 0 ? "nesting deeper" : "single-quoted";
}

static GString *
attack (guint       a,
        const char *prefix,
        guint       depth,
        const char *suffix)
{
  GString *s = g_string_new (prefix);

  if (a == 1)
    g_string_append (s, "{\"x\":'\"',\"y\":");
  for (guint i = 0; i < depth; i++)
    g_string_append_c (s, '[');
  for (guint i = 0; a == 0 && i < depth; i++)
    g_string_append_c (s, ']');
  g_string_append (s, suffix);
  return s;
}

static void
test_deep_frame (void)
{
  for (guint a = 0; a < 2; a++)
    {
      g_autoptr(GString) frame = attack (a, "{\"topic\":\"a\",\"event\":\"b\",\"payload\":{\"x\":",
                                         DEEP, a == 0 ? "}}" : "");
      g_autoptr(GError) error = NULL;
      g_autoptr(WbPhoenixMessage) msg = NULL;

      msg = wb_phoenix_message_decode (frame->str, frame->len, &error);
      g_assert_null (msg);
      g_assert_error (error, WB_ERROR, WB_ERROR_INVALID_DATA);
      g_test_message ("frame: %s", error->message);
      g_assert_true (g_str_has_prefix (error->message, "Phoenix frame: invalid JSON at byte "));
      g_assert_nonnull (strstr (error->message, attack_expect (a)));
    }
}

static void
test_deep_rest_body (void)
{
  for (guint a = 0; a < 2; a++)
    {
      g_autoptr(GString) body = attack (a, "[{\"id\":", DEEP, a == 0 ? "}]" : "");
      g_autoptr(GError) error = NULL;
      g_autoptr(JsonNode) node = NULL;

      g_assert_false (wb_rest_parse_body (body->str, body->len, &node, &error));
      g_assert_null (node);
      g_assert_error (error, WB_ERROR, WB_ERROR_INVALID_DATA);
      g_test_message ("REST body: %s", error->message);
      g_assert_nonnull (strstr (error->message, "invalid JSON at byte "));
      g_assert_nonnull (strstr (error->message, attack_expect (a)));
    }
}

static char *
base64url (const char *text,
           gsize       len)
{
  g_autofree char *b64 = g_base64_encode ((const guchar *) text, len);

  g_strdelimit (b64, "+", '-');
  g_strdelimit (b64, "/", '_');
  g_strdelimit (b64, "=", '\0');
  return g_strdup (b64);
}

static char *
make_jwt (const char *claims,
          gsize       len)
{
  g_autofree char *payload64 = base64url (claims, len);

  return g_strconcat ("eyJhbGciOiJIUzI1NiJ9.", payload64, ".c2ln", NULL);
}

/* JWT claims: 200,000 levels are over the decoder's 64 KB bound anyway, so also 20,000 levels
 * (at most 54 KB of base64), which only the depth bound refuses; and claims nested within the bound are
 * read, so the refusals are the bound and not a broken decoder. */
static void
test_deep_jwt (void)
{
  const guint depths[] = { DEEP, 20000 };

  for (guint a = 0; a < 2; a++)
    for (guint d = 0; d < G_N_ELEMENTS (depths); d++)
      {
        g_autoptr(GString) claims = attack (a, "{\"sub\":\"u1\",\"app_metadata\":", depths[d],
                                            a == 0 ? "}" : "");
        g_autofree char *jwt = make_jwt (claims->str, claims->len);
        g_autoptr(JsonNode) node = wb_auth_decode_jwt_claims (jwt);

        if (d == 1)
          g_assert_cmpuint (strlen (jwt), <, 64 * 1024);   /* so the depth bound decides */
        g_assert_null (node);
      }

  {
    const char *ok = "{\"sub\":\"u1\",\"app_metadata\":{\"a\":[{\"b\":1}]}}";
    const char *single = "{'sub':'u1'}";
    g_autofree char *jwt = make_jwt (ok, strlen (ok));
    g_autofree char *refused = make_jwt (single, strlen (single));
    g_autoptr(JsonNode) node = wb_auth_decode_jwt_claims (jwt);

    g_assert_nonnull (node);
    g_assert_cmpstr (wb_json_get_string (json_node_get_object (node), "sub"), ==, "u1");
    g_assert_null (wb_auth_decode_jwt_claims (refused));
  }
}

static void
test_deep_dedupe_file (void)
{
  for (guint a = 0; a < 2; a++)
    {
      g_autoptr(GString) file = attack (a, "{\"version\":1,\"assignments\":{},\"x\":", DEEP,
                                        a == 0 ? "}" : "");
      g_autoptr(WbDedupeSet) set = wb_dedupe_set_new ("");
      g_autoptr(GError) error = NULL;

      g_assert_false (wb_dedupe_set_load_from_data (set, file->str, file->len, NOW, &error));
      g_assert_error (error, WB_ERROR, WB_ERROR_INVALID_DATA);
      g_test_message ("dedupe set: %s", error->message);
      g_assert_nonnull (strstr (error->message, "invalid JSON at byte "));
      g_assert_nonnull (strstr (error->message, attack_expect (a)));
      g_assert_cmpuint (wb_dedupe_set_get_size (set), ==, 0);
    }
}

static void
remove_dir (const char *dir)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;

  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);

      g_assert_cmpint (g_unlink (path), ==, 0);
    }
  g_assert_cmpint (g_rmdir (dir), ==, 0);
}

/* A journal line nested 200,000 deep is skipped like a torn line; the lines around it count. */
static void
test_deep_journal_line (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("wb-json-XXXXXX", &error);
  g_autofree char *path = g_build_filename (dir, "dedupe-set.json", NULL);
  g_autofree char *journal = g_strconcat (path, ".journal.0", NULL);
  g_autoptr(GString) deep = attack (0, "{\"id\":\"" A1 "\",\"record\":", DEEP, "}");
  g_autoptr(GString) quoted = attack (1, "{\"id\":\"" A1 "\",\"record\":", DEEP, "");
  g_autoptr(WbDedupeSet) set = NULL;
  const WbDedupeRecord *r;
  FILE *fp;

  g_assert_no_error (error);
  fp = fopen (journal, "w");
  g_assert_nonnull (fp);
  fputs ("{\"id\":\"" A1 "\",\"record\":{\"episode\":1,\"open\":true,\"last_updated_at_us\":10}}\n", fp);
  fprintf (fp, "%s\n", deep->str);
  fprintf (fp, "%s\n", quoted->str);
  fputs ("{\"id\":\"" A1 "\",\"record\":{\"episode\":2,\"open\":true,\"last_updated_at_us\":20}}\n", fp);
  fclose (fp);

  set = wb_dedupe_set_new_full (path, 10, G_TIME_SPAN_DAY, NOW);
  r = wb_dedupe_set_lookup (set, A1);
  g_assert_nonnull (r);
  g_assert_cmpuint (r->episode, ==, 2);
  g_assert_cmpint (r->last_updated_at_us, ==, 20);
  g_assert_cmpuint (wb_dedupe_set_get_size (set), ==, 1);

  g_clear_object (&set);
  remove_dir (dir);
}

/* What we write, we read: doubles in exponent form too (json-glib 1.6 writes 1e36 as
 * "1e+36.0", which no parser reads), strings untouched. */
static void
test_to_string (void)
{
  const char *text = "{\"big\":1e36,\"small\":1e-8,\"neg\":-2.5e-300,\"whole\":100.0,\"i\":7,"
                     "\"s\":\"1e+36.0 \\\" 2e5.0\",\"a\":[1e300,[-1E+20]]}";
  g_autoptr(JsonNode) node = parse_ok (text);
  g_autofree char *out = wb_json_to_string (node);
  g_autoptr(JsonNode) again = NULL;

  g_test_message ("%s", out);
  again = parse_ok (out);
  g_assert_true (json_node_equal (node, again));
  g_assert_cmpstr (wb_json_get_string (json_node_get_object (again), "s"), ==, "1e+36.0 \" 2e5.0");
}

/* What a node may hold but JSON text must not carry raw: json-glib 1.6 leaves 0x1f, C1 controls,
 * bidi controls and invalid UTF-8 as they are. wb_json_to_string() escapes the first ones (the
 * same text once parsed) and replaces bad bytes, so a log line stays one valid, inert line. */
static void
test_to_string_escapes (void)
{
  const char *raw = "us\x1f del\x7f esc\x1b csi\xc2\x9b rlo\xe2\x80\xae ls\xe2\x80\xa8 "
                    "tag\xf3\xa0\x80\x81 bad\xed\xa0\x80 ok\xc3\xa9";
  const char *expect = "us\x1f del\x7f esc\x1b csi\xc2\x9b rlo\xe2\x80\xae ls\xe2\x80\xa8 "
                       "tag\xf3\xa0\x80\x81 bad\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd ok\xc3\xa9";
  g_autoptr(JsonNode) node = json_node_init_object (json_node_alloc (), json_object_new ());
  g_autofree char *out = NULL;
  g_autoptr(JsonNode) again = NULL;

  json_object_set_string_member (json_node_get_object (node), raw, raw);
  out = wb_json_to_string (node);
  g_test_message ("%s", out);
  g_assert_true (g_utf8_validate (out, -1, NULL));
  for (const char *p = out; *p; p = g_utf8_next_char (p))
    g_assert_false (wb_untrusted_text_is_unprintable (g_utf8_get_char (p)));
  g_assert_nonnull (strstr (out, "\\u001f"));
  g_assert_nonnull (strstr (out, "\\u202e"));
  g_assert_nonnull (strstr (out, "\\udb40\\udc01"));
  again = parse_ok (out);
  g_assert_cmpstr (wb_json_get_string (json_node_get_object (again), expect), ==, expect);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/wb/json/accepts-rfc8259", test_accepts_rfc8259);
  g_test_add_func ("/wb/json/refuses-leniencies", test_refuses_leniencies);
  g_test_add_func ("/wb/json/depth", test_depth);
  g_test_add_func ("/wb/json/numbers-and-strings", test_numbers_and_strings);
  g_test_add_func ("/wb/json/getters", test_getters);
  g_test_add_func ("/wb/json/append-string", test_append_string);
  g_test_add_func ("/wb/json/to-string", test_to_string);
  g_test_add_func ("/wb/json/to-string-escapes", test_to_string_escapes);
  g_test_add_func ("/wb/json/deep/frame", test_deep_frame);
  g_test_add_func ("/wb/json/deep/rest-body", test_deep_rest_body);
  g_test_add_func ("/wb/json/deep/jwt-claims", test_deep_jwt);
  g_test_add_func ("/wb/json/deep/dedupe-file", test_deep_dedupe_file);
  g_test_add_func ("/wb/json/deep/journal-line", test_deep_journal_line);

  return g_test_run ();
}
