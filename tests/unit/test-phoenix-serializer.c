/* The Phoenix wire forms: vsn 2.0.0 text arrays and binary user broadcasts (kinds 3 and 4), as
 * realtime-js's serializer and the stand-in's serializer.py lay them out, and vsn 1.0.0 through
 * the same entry points. */
#include "config.h"

#include <string.h>

#include "wb-error.h"
#include "wb-phoenix-serializer.h"

static WbPhoenixMessage *
msg_new (const char *topic,
         const char *event,
         const char *payload_json,
         const char *ref,
         const char *join_ref)
{
  g_autoptr(JsonNode) payload = json_from_string (payload_json, NULL);

  g_assert_nonnull (payload);
  return wb_phoenix_message_new (topic, event, payload, ref, join_ref);
}

static WbPhoenixMessage *
decode (WbPhoenixVsn        vsn,
        WbPhoenixDirection  direction,
        gboolean            binary,
        const void         *data,
        gsize               len,
        GError            **error)
{
  return wb_phoenix_serializer_decode (vsn, direction, binary, data, len, error);
}

static void
assert_frame (GBytes     *frame,
              const char *text)
{
  g_assert_cmpmem (g_bytes_get_data (frame, NULL), g_bytes_get_size (frame), text, strlen (text));
}

static void
assert_payload (const WbPhoenixMessage *msg,
                const char             *json)
{
  g_autoptr(JsonNode) expected = json_from_string (json, NULL);

  g_assert_nonnull (expected);
  if (!json_node_equal (msg->payload, expected))
    {
      g_autofree char *got = json_to_string (msg->payload, FALSE);

      g_error ("payload %s, expected %s", got, json);
    }
}

static void
test_vsn_strings (void)
{
  WbPhoenixVsn vsn = 0;

  g_assert_true (wb_phoenix_vsn_from_string ("2.0.0", &vsn));
  g_assert_cmpint (vsn, ==, WB_PHOENIX_VSN_2_0_0);
  g_assert_true (wb_phoenix_vsn_from_string ("1.0.0", &vsn));
  g_assert_cmpint (vsn, ==, WB_PHOENIX_VSN_1_0_0);
  for (guint i = 0; i < 5; i++)
    {
      const char *bad[] = { NULL, "", "2", "2.0", "3.0.0" };

      g_assert_false (wb_phoenix_vsn_from_string (bad[i], &vsn));
    }
  g_assert_cmpstr (wb_phoenix_vsn_to_string (WB_PHOENIX_VSN_2_0_0), ==, "2.0.0");
  g_assert_cmpstr (wb_phoenix_vsn_to_string (WB_PHOENIX_VSN_1_0_0), ==, "1.0.0");
  g_assert_cmpint (WB_PHOENIX_VSN_DEFAULT, ==, WB_PHOENIX_VSN_2_0_0);
}

/* Text frames: what 2.0.0 looks like on the wire, both ways. */
static void
test_text_v2 (void)
{
  static const struct
  {
    const char *frame;
    const char *topic, *event, *ref, *join_ref, *payload;
  } good[] = {
    { "[null,\"3\",\"phoenix\",\"phx_reply\",{\"status\":\"ok\",\"response\":{}}]",
      "phoenix", "phx_reply", "3", NULL, "{\"status\":\"ok\",\"response\":{}}" },
    { "[\"1\",\"1\",\"realtime:t\",\"phx_reply\",{\"status\":\"ok\"}]",
      "realtime:t", "phx_reply", "1", "1", "{\"status\":\"ok\"}" },
    /* numbers become strings; further elements are ignored, as by Phoenix and realtime-js */
    { "[4,12.5,\"a\",\"b\",{},\"extra\",[1]]", "a", "b", "12.5", "4", "{}" },
    { " [ null , null , \"realtime:caf\xc3\xa9\" , \"system\" , {\"x\":\"\\u2603\"} ] ",
      "realtime:caf\xc3\xa9", "system", NULL, NULL, "{\"x\":\"\xe2\x98\x83\"}" },
  };
  static const char *bad[] = {
    "{\"topic\":\"a\",\"event\":\"b\",\"payload\":{},\"ref\":null}",   /* a 1.0.0 object */
    "[null,null,\"a\",\"b\"]",
    "[]",
    "[null,null,1,\"b\",{}]",
    "[null,null,\"a\",null,{}]",
    "[null,null,\"a\",\"b\",[]]",
    "[null,null,\"a\",\"b\",\"payload\"]",
    "[true,null,\"a\",\"b\",{}]",
    "[null,{},\"a\",\"b\",{}]",
    "[null,null,\"a\",\"b\",{}",
    "[null,null,'a',\"b\",{}]",
    "\"x\"",
  };
  g_autoptr(WbPhoenixMessage) heartbeat = msg_new ("phoenix", "heartbeat", "{}", "26", NULL);
  g_autoptr(WbPhoenixMessage) join = msg_new ("realtime:t", "phx_join", "{\"config\":{}}", "1", "1");
  g_autoptr(GBytes) frame = NULL;
  gboolean binary = TRUE;

  for (guint i = 0; i < G_N_ELEMENTS (good); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(WbPhoenixMessage) msg = decode (WB_PHOENIX_VSN_2_0_0, WB_PHOENIX_TO_CLIENT, FALSE,
                                                good[i].frame, strlen (good[i].frame), &error);

      g_assert_no_error (error);
      g_assert_cmpstr (msg->topic, ==, good[i].topic);
      g_assert_cmpstr (msg->event, ==, good[i].event);
      g_assert_cmpstr (msg->ref, ==, good[i].ref);
      g_assert_cmpstr (msg->join_ref, ==, good[i].join_ref);
      assert_payload (msg, good[i].payload);
    }
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(WbPhoenixMessage) msg = decode (WB_PHOENIX_VSN_2_0_0, WB_PHOENIX_TO_CLIENT, FALSE,
                                                bad[i], strlen (bad[i]), &error);

      g_assert_null (msg);
      g_assert_error (error, WB_ERROR, WB_ERROR_INVALID_DATA);
    }

  frame = wb_phoenix_serializer_encode (WB_PHOENIX_VSN_2_0_0, WB_PHOENIX_TO_SERVER, heartbeat, &binary);
  g_assert_false (binary);
  assert_frame (frame, "[null,\"26\",\"phoenix\",\"heartbeat\",{}]");
  g_clear_pointer (&frame, g_bytes_unref);
  frame = wb_phoenix_serializer_encode (WB_PHOENIX_VSN_2_0_0, WB_PHOENIX_TO_SERVER, join, &binary);
  g_assert_false (binary);
  assert_frame (frame, "[\"1\",\"1\",\"realtime:t\",\"phx_join\",{\"config\":{}}]");
}

/* Kind 4 (server → client): 4 topic_len event_len meta_len encoding topic event meta payload. */
static void
test_binary_user_broadcast (void)
{
  static const guint8 plain[] = {
    4, 10, 14, 0, 1, 'r', 'e', 'a', 'l', 't', 'i', 'm', 'e', ':', 't',
    'n', 'e', 'w', '_', 'a', 's', 's', 'i', 'g', 'n', 'm', 'e', 'n', 't',
    '{', '"', 'a', '"', ':', '1', '}',
  };
  static const guint8 with_meta[] = {
    4, 1, 1, 17, 1, 't', 'e',
    '{', '"', 'r', 'e', 'p', 'l', 'a', 'y', 'e', 'd', '"', ':', 't', 'r', 'u', 'e', '}',
    '[', '1', ',', '2', ']',
  };
  static const guint8 raw_bytes[] = { 4, 1, 1, 0, 0, 't', 'e', 0xff, 0x00, 0x01 };
  g_autoptr(WbPhoenixMessage) msg = NULL;
  g_autoptr(WbPhoenixMessage) meta = NULL;
  g_autoptr(WbPhoenixMessage) raw = NULL;
  g_autoptr(GError) error = NULL;

  msg = decode (WB_PHOENIX_VSN_2_0_0, WB_PHOENIX_TO_CLIENT, TRUE, plain, sizeof plain, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (msg->topic, ==, "realtime:t");
  g_assert_cmpstr (msg->event, ==, "broadcast");
  g_assert_null (msg->ref);
  g_assert_null (msg->join_ref);
  assert_payload (msg, "{\"type\":\"broadcast\",\"event\":\"new_assignment\",\"payload\":{\"a\":1}}");

  meta = decode (WB_PHOENIX_VSN_2_0_0, WB_PHOENIX_TO_CLIENT, TRUE, with_meta, sizeof with_meta, &error);
  g_assert_no_error (error);
  assert_payload (meta, "{\"type\":\"broadcast\",\"event\":\"e\",\"payload\":[1,2],"
                        "\"meta\":{\"replayed\":true}}");

  /* Raw bytes: a broadcast nobody here can read, delivered with a null payload. */
  raw = decode (WB_PHOENIX_VSN_2_0_0, WB_PHOENIX_TO_CLIENT, TRUE, raw_bytes, sizeof raw_bytes, &error);
  g_assert_no_error (error);
  assert_payload (raw, "{\"type\":\"broadcast\",\"event\":\"e\",\"payload\":null}");
}

static void
test_binary_malformed (void)
{
  const struct
  {
    const char         *name;
    WbPhoenixDirection  direction;
    const guint8       *bytes;
    gsize               len;
  } bad[] = {
#define B(name, dir, ...) { name, dir, (const guint8[]) { __VA_ARGS__ }, sizeof ((const guint8[]) { __VA_ARGS__ }) }
    B ("kind 4 header cut", WB_PHOENIX_TO_CLIENT, 4, 1, 1, 0),
    B ("kind 4 lengths past the end", WB_PHOENIX_TO_CLIENT, 4, 9, 1, 0, 1, 't'),
    B ("kind 4 unknown encoding", WB_PHOENIX_TO_CLIENT, 4, 1, 1, 0, 2, 't', 'e', '{', '}'),
    B ("kind 4 empty topic", WB_PHOENIX_TO_CLIENT, 4, 0, 1, 0, 1, 'e', '{', '}'),
    B ("kind 4 topic not UTF-8", WB_PHOENIX_TO_CLIENT, 4, 1, 1, 0, 1, 0xc3, 'e', '{', '}'),
    B ("kind 4 NUL in the event", WB_PHOENIX_TO_CLIENT, 4, 1, 1, 0, 1, 't', 0, '{', '}'),
    B ("kind 4 payload not JSON", WB_PHOENIX_TO_CLIENT, 4, 1, 1, 0, 1, 't', 'e', '{'),
    B ("kind 4 JSON payload missing", WB_PHOENIX_TO_CLIENT, 4, 1, 1, 0, 1, 't', 'e'),
    B ("kind 4 payload single-quoted", WB_PHOENIX_TO_CLIENT, 4, 1, 1, 0, 1, 't', 'e', '\'', 'x', '\''),
    B ("kind 4 meta not JSON", WB_PHOENIX_TO_CLIENT, 4, 1, 1, 2, 1, 't', 'e', '{', 'x', '{', '}'),
    B ("kind 3 sent to a client", WB_PHOENIX_TO_CLIENT, 3, 0, 0, 1, 1, 0, 1, 't', 'e', '{', '}'),
    B ("kind 0 push", WB_PHOENIX_TO_CLIENT, 0, 0, 0, 1, 1, 't', 'e'),
    B ("kind 2 broadcast", WB_PHOENIX_TO_CLIENT, 2, 1, 1, 't', 'e'),
    B ("kind 4 sent to the server", WB_PHOENIX_TO_SERVER, 4, 1, 1, 0, 1, 't', 'e', '{', '}'),
    B ("kind 3 header cut", WB_PHOENIX_TO_SERVER, 3, 1, 1, 1, 1, 0),
    B ("kind 3 lengths past the end", WB_PHOENIX_TO_SERVER, 3, 200, 0, 1, 1, 0, 1, 't', 'e', '{', '}'),
#undef B
  };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(WbPhoenixMessage) msg = decode (WB_PHOENIX_VSN_2_0_0, bad[i].direction, TRUE,
                                                bad[i].bytes, bad[i].len, &error);

      if (msg != NULL)
        g_error ("%s: decoded", bad[i].name);
      g_assert_error (error, WB_ERROR, WB_ERROR_INVALID_DATA);
    }
}

/* Kind 3 (client → server), byte for byte as realtime-js encodes a JSON broadcast push. */
static void
test_binary_user_broadcast_push (void)
{
  static const guint8 expected[] = {
    3, 1, 2, 10, 1, 0, 1, '5', '1', '2', 'r', 'e', 'a', 'l', 't', 'i', 'm', 'e', ':', 't', 'e',
    '{', '"', 'a', '"', ':', '"', '\xc3', '\xa9', '"', '}',
  };
  g_autoptr(WbPhoenixMessage) push = msg_new ("realtime:t", "broadcast",
                                              "{\"type\":\"broadcast\",\"event\":\"e\","
                                              "\"payload\":{\"a\":\"\xc3\xa9\"}}", "12", "5");
  g_autoptr(WbPhoenixMessage) back = NULL;
  g_autoptr(GBytes) frame = NULL;
  g_autoptr(GError) error = NULL;
  gboolean binary = FALSE;

  frame = wb_phoenix_serializer_encode (WB_PHOENIX_VSN_2_0_0, WB_PHOENIX_TO_SERVER, push, &binary);
  g_assert_true (binary);
  g_assert_cmpmem (g_bytes_get_data (frame, NULL), g_bytes_get_size (frame), expected, sizeof expected);

  back = decode (WB_PHOENIX_VSN_2_0_0, WB_PHOENIX_TO_SERVER, TRUE, g_bytes_get_data (frame, NULL),
                 g_bytes_get_size (frame), &error);
  g_assert_no_error (error);
  g_assert_true (wb_phoenix_message_equal (push, back));
}

/* Where a binary frame cannot say it, the text form goes (the server reads both). */
static void
test_binary_falls_back_to_text (void)
{
  g_autoptr(GString) long_event = g_string_new (NULL);
  g_autofree char *long_payload = NULL;
  struct
  {
    WbPhoenixMessage   *msg;
    WbPhoenixDirection  direction;
  } cases[7];

  while (long_event->len < 256)
    g_string_append_c (long_event, 'x');
  long_payload = g_strdup_printf ("{\"event\":\"%s\",\"payload\":{}}", long_event->str);
  cases[0].msg = msg_new ("realtime:t", "broadcast", long_payload, NULL, NULL);
  cases[0].direction = WB_PHOENIX_TO_CLIENT;
  cases[1].msg = msg_new ("realtime:t", "broadcast", "{\"event\":\"e\"}", "", NULL);
  cases[1].direction = WB_PHOENIX_TO_SERVER;
  cases[2].msg = msg_new ("realtime:t", "broadcast", "{\"event\":1}", NULL, NULL);
  cases[2].direction = WB_PHOENIX_TO_CLIENT;
  cases[3].msg = msg_new ("realtime:t", "presence", "{\"event\":\"e\"}", NULL, NULL);
  cases[3].direction = WB_PHOENIX_TO_SERVER;
  /* kind 4 has no refs */
  cases[4].msg = msg_new ("realtime:t", "broadcast", "{\"event\":\"e\"}", "1", NULL);
  cases[4].direction = WB_PHOENIX_TO_CLIENT;
  /* the binary decoder refuses an empty topic, so it may not be encoded as one (a fuzz find) */
  cases[5].msg = msg_new ("", "broadcast", "{\"event\":\"e\"}", "2", "1");
  cases[5].direction = WB_PHOENIX_TO_SERVER;
  cases[6].msg = msg_new ("realtime:t", "broadcast", "{\"event\":\"e\"}", NULL, NULL);
  cases[6].direction = WB_PHOENIX_TO_SERVER;

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      gboolean binary = TRUE;
      g_autoptr(GBytes) frame = wb_phoenix_serializer_encode (WB_PHOENIX_VSN_2_0_0, cases[i].direction,
                                                              cases[i].msg, &binary);
      g_autoptr(GError) error = NULL;
      g_autoptr(WbPhoenixMessage) back = decode (WB_PHOENIX_VSN_2_0_0, cases[i].direction, binary,
                                                 g_bytes_get_data (frame, NULL),
                                                 g_bytes_get_size (frame), &error);

      g_assert_no_error (error);
      /* Only the last one fits a binary frame (kind 3, no refs); the rest go as text, intact. */
      g_assert_cmpint (binary, ==, i == 6);
      if (!binary)
        g_assert_true (wb_phoenix_message_equal (cases[i].msg, back));
      wb_phoenix_message_unref (cases[i].msg);
    }
}

/* vsn 1.0.0 through the same entry points: object text frames, no binary frames. */
static void
test_v1 (void)
{
  static const guint8 kind4[] = { 4, 1, 1, 0, 1, 't', 'e', '{', '}' };
  const char *array = "[null,null,\"a\",\"b\",{}]";
  g_autoptr(WbPhoenixMessage) bcast = msg_new ("realtime:t", "broadcast",
                                               "{\"type\":\"broadcast\",\"event\":\"e\",\"payload\":{}}",
                                               NULL, NULL);
  g_autoptr(GBytes) frame = NULL;
  g_autoptr(WbPhoenixMessage) back = NULL;
  g_autoptr(GError) error = NULL;
  gboolean binary = TRUE;

  g_assert_null (decode (WB_PHOENIX_VSN_1_0_0, WB_PHOENIX_TO_CLIENT, TRUE, kind4, sizeof kind4, &error));
  g_assert_error (error, WB_ERROR, WB_ERROR_INVALID_DATA);
  g_clear_error (&error);
  g_assert_null (decode (WB_PHOENIX_VSN_1_0_0, WB_PHOENIX_TO_CLIENT, FALSE, array, strlen (array), &error));
  g_assert_error (error, WB_ERROR, WB_ERROR_INVALID_DATA);
  g_clear_error (&error);

  frame = wb_phoenix_serializer_encode (WB_PHOENIX_VSN_1_0_0, WB_PHOENIX_TO_SERVER, bcast, &binary);
  g_assert_false (binary);
  assert_frame (frame, "{\"topic\":\"realtime:t\",\"event\":\"broadcast\",\"payload\":{\"type\":"
                       "\"broadcast\",\"event\":\"e\",\"payload\":{}},\"ref\":null}");
  back = decode (WB_PHOENIX_VSN_1_0_0, WB_PHOENIX_TO_CLIENT, FALSE, g_bytes_get_data (frame, NULL),
                 g_bytes_get_size (frame), &error);
  g_assert_no_error (error);
  g_assert_true (wb_phoenix_message_equal (bcast, back));
}

/* Every version and direction: what decodes survives encode → decode unchanged, and the size
 * and nesting bounds hold for binary frames too. */
static void
test_bounds (void)
{
  g_autoptr(GByteArray) deep = g_byte_array_new ();
  g_autoptr(GByteArray) ok = g_byte_array_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(WbPhoenixMessage) msg = NULL;
  static const guint8 header[] = { 4, 1, 1, 0, 1, 't', 'e' };
  gsize big = WB_PHOENIX_MAX_FRAME_SIZE + 1;
  g_autofree char *huge = g_malloc0 (big);

  /* 127 levels in a binary payload would be 129 once inside the message: refused. */
  g_byte_array_append (deep, header, sizeof header);
  g_byte_array_append (ok, header, sizeof header);
  for (guint i = 0; i < 127; i++)
    g_byte_array_append (deep, (const guint8 *) "[", 1);
  for (guint i = 0; i < 127; i++)
    g_byte_array_append (deep, (const guint8 *) "]", 1);
  for (guint i = 0; i < 126; i++)
    g_byte_array_append (ok, (const guint8 *) "[", 1);
  for (guint i = 0; i < 126; i++)
    g_byte_array_append (ok, (const guint8 *) "]", 1);
  g_assert_null (decode (WB_PHOENIX_VSN_2_0_0, WB_PHOENIX_TO_CLIENT, TRUE, deep->data, deep->len, &error));
  g_assert_error (error, WB_ERROR, WB_ERROR_INVALID_DATA);
  g_clear_error (&error);
  msg = decode (WB_PHOENIX_VSN_2_0_0, WB_PHOENIX_TO_CLIENT, TRUE, ok->data, ok->len, &error);
  g_assert_no_error (error);
  g_assert_nonnull (msg);

  huge[0] = 4;
  for (guint binary = 0; binary <= 1; binary++)
    {
      g_assert_null (decode (WB_PHOENIX_VSN_2_0_0, WB_PHOENIX_TO_CLIENT, binary, huge, big, &error));
      g_assert_error (error, WB_ERROR, WB_ERROR_INVALID_DATA);
      g_clear_error (&error);
      g_assert_null (decode (WB_PHOENIX_VSN_2_0_0, WB_PHOENIX_TO_CLIENT, binary, "", 0, &error));
      g_assert_error (error, WB_ERROR, WB_ERROR_INVALID_DATA);
      g_clear_error (&error);
    }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/wb/phoenix-serializer/vsn-strings", test_vsn_strings);
  g_test_add_func ("/wb/phoenix-serializer/text-v2", test_text_v2);
  g_test_add_func ("/wb/phoenix-serializer/binary-user-broadcast", test_binary_user_broadcast);
  g_test_add_func ("/wb/phoenix-serializer/binary-malformed", test_binary_malformed);
  g_test_add_func ("/wb/phoenix-serializer/binary-user-broadcast-push", test_binary_user_broadcast_push);
  g_test_add_func ("/wb/phoenix-serializer/binary-falls-back-to-text", test_binary_falls_back_to_text);
  g_test_add_func ("/wb/phoenix-serializer/v1", test_v1);
  g_test_add_func ("/wb/phoenix-serializer/bounds", test_bounds);

  return g_test_run ();
}
