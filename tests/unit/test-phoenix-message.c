#include "config.h"

#include <string.h>

#include "wb-error.h"
#include "wb-phoenix-message.h"

typedef struct
{
  const char *frame;
  const char *topic;
  const char *event;
  const char *ref;
  const char *join_ref;
  const char *payload;   /* expected payload, compared as JSON */
} Good;

static const Good good[] = {
  { "{\"topic\":\"phoenix\",\"event\":\"heartbeat\",\"payload\":{},\"ref\":\"26\"}",
    "phoenix", "heartbeat", "26", NULL, "{}" },
  { "{\"topic\":\"phoenix\",\"event\":\"phx_reply\",\"payload\":{\"status\":\"ok\",\"response\":{}},\"ref\":\"26\"}",
    "phoenix", "phx_reply", "26", NULL, "{\"status\":\"ok\",\"response\":{}}" },
  { "{\"topic\":\"realtime:t\",\"event\":\"phx_join\",\"payload\":{\"config\":{}},\"ref\":\"1\",\"join_ref\":\"1\"}",
    "realtime:t", "phx_join", "1", "1", "{\"config\":{}}" },
  { "{\"topic\":\"realtime:t\",\"event\":\"system\",\"payload\":{\"status\":\"ok\"},\"ref\":null}",
    "realtime:t", "system", NULL, NULL, "{\"status\":\"ok\"}" },
  /* ref absent, numeric refs become strings */
  { "{\"topic\":\"a\",\"event\":\"b\",\"payload\":{}}", "a", "b", NULL, NULL, "{}" },
  { "{\"topic\":\"a\",\"event\":\"b\",\"payload\":{},\"ref\":12,\"join_ref\":3}", "a", "b", "12", "3", "{}" },
  { "{\"topic\":\"a\",\"event\":\"b\",\"payload\":{},\"ref\":-7}", "a", "b", "-7", NULL, "{}" },
  { "{\"topic\":\"a\",\"event\":\"b\",\"payload\":{},\"ref\":1.5}", "a", "b", "1.5", NULL, "{}" },
  /* unicode, whitespace, key order, unknown keys */
  { " {\"payload\":{\"x\":\"\\u00e9\\u2603\"},\"event\":\"e\",\"topic\":\"realtime:caf\xc3\xa9\",\"extra\":[1]} ",
    "realtime:caf\xc3\xa9", "e", NULL, NULL, "{\"x\":\"\xc3\xa9\xe2\x98\x83\"}" },
  { "{\"topic\":\"a\",\"event\":\"b\",\"payload\":{\"s\":\"\\ud83d\\ude00 \\\"q\\\" \\\\ \\/ \\n\"}}",
    "a", "b", NULL, NULL, "{\"s\":\"\xf0\x9f\x98\x80 \\\"q\\\" \\\\ / \\n\"}" },
  /* Doubles json-glib 1.6 would write back as "1e+36.0" (json-glib#67): the round trip holds. */
  { "{\"topic\":\"a\",\"event\":\"b\",\"payload\":{\"big\":1e36,\"small\":1e-8}}",
    "a", "b", NULL, NULL, "{\"big\":1e36,\"small\":1e-8}" },
  { "{\"topic\":\"realtime:t\",\"event\":\"postgres_changes\",\"payload\":{\"ids\":[38606455],"
    "\"data\":{\"type\":\"INSERT\",\"record\":{\"id\":1,\"ok\":true,\"n\":null}}},\"ref\":null}",
    "realtime:t", "postgres_changes", NULL, NULL,
    "{\"ids\":[38606455],\"data\":{\"type\":\"INSERT\",\"record\":{\"id\":1,\"ok\":true,\"n\":null}}}" },
};

typedef struct
{
  const char *name;
  const char *frame;   /* NULL: built by the test */
  gssize      len;     /* -1: strlen */
} Bad;

static const Bad bad[] = {
  { "empty", "", 0 },
  { "not-json", "hello", -1 },
  { "truncated", "{\"topic\":\"a\",\"event\":", -1 },
  { "array-v2", "[null,\"1\",\"phoenix\",\"heartbeat\",{}]", -1 },
  { "string", "\"x\"", -1 },
  { "number", "42", -1 },
  { "null", "null", -1 },
  { "no-topic", "{\"event\":\"b\",\"payload\":{}}", -1 },
  { "no-event", "{\"topic\":\"a\",\"payload\":{}}", -1 },
  { "no-payload", "{\"topic\":\"a\",\"event\":\"b\"}", -1 },
  { "topic-number", "{\"topic\":1,\"event\":\"b\",\"payload\":{}}", -1 },
  { "topic-null", "{\"topic\":null,\"event\":\"b\",\"payload\":{}}", -1 },
  { "event-object", "{\"topic\":\"a\",\"event\":{},\"payload\":{}}", -1 },
  { "payload-array", "{\"topic\":\"a\",\"event\":\"b\",\"payload\":[]}", -1 },
  { "payload-string", "{\"topic\":\"a\",\"event\":\"b\",\"payload\":\"x\"}", -1 },
  { "payload-null", "{\"topic\":\"a\",\"event\":\"b\",\"payload\":null}", -1 },
  { "ref-bool", "{\"topic\":\"a\",\"event\":\"b\",\"payload\":{},\"ref\":true}", -1 },
  { "ref-object", "{\"topic\":\"a\",\"event\":\"b\",\"payload\":{},\"ref\":{}}", -1 },
  { "join-ref-array", "{\"topic\":\"a\",\"event\":\"b\",\"payload\":{},\"join_ref\":[]}", -1 },
  { "bad-utf8", "{\"topic\":\"\xff\xfe\",\"event\":\"b\",\"payload\":{}}", -1 },
  { "overlong-utf8", "{\"topic\":\"\xc0\xaf\",\"event\":\"b\",\"payload\":{}}", -1 },
  { "bad-escape", "{\"topic\":\"a\\p\",\"event\":\"b\",\"payload\":{}}", -1 },
  { "bad-escape-digit", "{\"topic\":\"a\",\"event\":\"b\",\"payload\":{\"x\":\"\\\\\\2\"}}", -1 },
  { "short-unicode-escape", "{\"topic\":\"a\\u12\",\"event\":\"b\",\"payload\":{}}", -1 },
  { "raw-control-char", "{\"topic\":\"a\tb\",\"event\":\"b\",\"payload\":{}}", -1 },
  { "lone-surrogate", "{\"topic\":\"a\\ud800\",\"event\":\"b\",\"payload\":{}}", -1 },
  { "single-quoted", "{\"topic\":'a',\"event\":\"b\",\"payload\":{}}", -1 },
  { "comment", "{\"topic\":\"a\",\"event\":\"b\",\"payload\":{}} // x", -1 },
  { "second-object", "{\"topic\":\"a\",\"event\":\"b\",\"payload\":{}}{}", -1 },
  { "hex-ref", "{\"topic\":\"a\",\"event\":\"b\",\"payload\":{},\"ref\":0x1f}", -1 },
  { "escaped-nul", "{\"topic\":\"a\\u0000b\",\"event\":\"b\",\"payload\":{}}", -1 },
  { "high-surrogate-then-text", "{\"topic\":\"a\\ud800x\",\"event\":\"b\",\"payload\":{}}", -1 },
  { "embedded-nul", "{\"topic\":\"a\",\"event\":\"b\",\"payload\":{}}\0", 39 },
};

static JsonNode *
parse (const char *text)
{
  g_autoptr(GError) error = NULL;
  JsonNode *node = json_from_string (text, &error);

  g_assert_no_error (error);
  return node;
}

static void
test_decode_good (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (good); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(WbPhoenixMessage) msg = NULL;
      g_autoptr(WbPhoenixMessage) again = NULL;
      g_autoptr(JsonNode) expected = parse (good[i].payload);
      g_autofree char *encoded = NULL;

      msg = wb_phoenix_message_decode (good[i].frame, strlen (good[i].frame), &error);
      g_assert_no_error (error);
      g_assert_nonnull (msg);
      g_assert_cmpstr (msg->topic, ==, good[i].topic);
      g_assert_cmpstr (msg->event, ==, good[i].event);
      g_assert_cmpstr (msg->ref, ==, good[i].ref);
      g_assert_cmpstr (msg->join_ref, ==, good[i].join_ref);
      g_assert_true (JSON_NODE_HOLDS_OBJECT (msg->payload));
      g_assert_true (json_node_equal (msg->payload, expected));

      /* Round trip: encode, decode, same message. */
      encoded = wb_phoenix_message_encode (msg);
      again = wb_phoenix_message_decode (encoded, strlen (encoded), &error);
      g_assert_no_error (error);
      g_assert_true (wb_phoenix_message_equal (msg, again));
    }
}

static void
test_decode_bad (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(WbPhoenixMessage) msg = NULL;
      gsize len = bad[i].len < 0 ? strlen (bad[i].frame) : (gsize) bad[i].len;

      g_test_message ("reject %s", bad[i].name);
      msg = wb_phoenix_message_decode (bad[i].frame, len, &error);
      g_assert_null (msg);
      g_assert_error (error, WB_ERROR, WB_ERROR_INVALID_DATA);
    }
}

static void
test_decode_limits (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GString) deep = g_string_new ("{\"topic\":\"a\",\"event\":\"b\",\"payload\":{\"x\":");
  g_autoptr(GString) big = g_string_new ("{\"topic\":\"a\",\"event\":\"b\",\"payload\":{\"x\":\"");
  g_autoptr(WbPhoenixMessage) msg = NULL;

  for (guint i = 0; i < 100000; i++)
    g_string_append_c (deep, '[');
  msg = wb_phoenix_message_decode (deep->str, deep->len, &error);
  g_assert_null (msg);
  g_assert_error (error, WB_ERROR, WB_ERROR_INVALID_DATA);
  g_clear_error (&error);

  while (big->len <= WB_PHOENIX_MAX_FRAME_SIZE)
    g_string_append (big, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
  g_string_append (big, "\"}}");
  msg = wb_phoenix_message_decode (big->str, big->len, &error);
  g_assert_null (msg);
  g_assert_error (error, WB_ERROR, WB_ERROR_INVALID_DATA);
  g_clear_error (&error);

  /* Brackets inside strings do not count as nesting. */
  g_string_assign (deep, "{\"topic\":\"a\",\"event\":\"b\",\"payload\":{\"x\":\"");
  for (guint i = 0; i < 1000; i++)
    g_string_append (deep, "[{\\\"");
  g_string_append (deep, "\"}}");
  msg = wb_phoenix_message_decode (deep->str, deep->len, &error);
  g_assert_no_error (error);
  g_assert_nonnull (msg);
}

static void
test_encode (void)
{
  g_autoptr(JsonNode) payload = parse ("{\"config\":{\"private\":false}}");
  g_autoptr(WbPhoenixMessage) join = wb_phoenix_message_new ("realtime:t", "phx_join", payload,
                                                             "3", "3");
  g_autoptr(WbPhoenixMessage) hb = wb_phoenix_message_new ("phoenix", "heartbeat", NULL, "5", NULL);
  g_autoptr(WbPhoenixMessage) copy = wb_phoenix_message_copy (join);
  g_autofree char *join_text = wb_phoenix_message_encode (join);
  g_autofree char *hb_text = wb_phoenix_message_encode (hb);
  g_autoptr(WbPhoenixMessage) nulls = wb_phoenix_message_new ("a", "b", NULL, NULL, NULL);
  g_autofree char *nulls_text = wb_phoenix_message_encode (nulls);

  g_assert_cmpstr (join_text, ==,
                   "{\"topic\":\"realtime:t\",\"event\":\"phx_join\","
                   "\"payload\":{\"config\":{\"private\":false}},\"ref\":\"3\",\"join_ref\":\"3\"}");
  g_assert_cmpstr (hb_text, ==,
                   "{\"topic\":\"phoenix\",\"event\":\"heartbeat\",\"payload\":{},\"ref\":\"5\"}");
  /* The server requires the ref key; null is fine. */
  g_assert_cmpstr (nulls_text, ==, "{\"topic\":\"a\",\"event\":\"b\",\"payload\":{},\"ref\":null}");
  g_assert_true (wb_phoenix_message_equal (join, copy));
  g_assert_false (wb_phoenix_message_equal (join, hb));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/ma/phoenix-message/decode-good", test_decode_good);
  g_test_add_func ("/ma/phoenix-message/decode-bad", test_decode_bad);
  g_test_add_func ("/ma/phoenix-message/decode-limits", test_decode_limits);
  g_test_add_func ("/ma/phoenix-message/encode", test_encode);

  return g_test_run ();
}
