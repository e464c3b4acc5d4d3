/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-phoenix-serializer.c: Phoenix messages on the wire, in the protocol version the socket
 * negotiated (`vsn` in the websocket URL).
 *
 * vsn 1.0.0  JSON object text frames (wb_phoenix_message_encode/decode).
 * vsn 2.0.0  JSON array text frames `[join_ref, ref, topic, event, payload]`, and binary frames
 *            for user broadcasts, every length one unsigned byte:
 *            kind 3, client → server ("user broadcast push"):
 *              3 join_ref_len ref_len topic_len event_len meta_len encoding
 *              join_ref ref topic event meta payload
 *            kind 4, server → client ("user broadcast"):
 *              4 topic_len event_len meta_len encoding topic event meta payload
 *            encoding 1: the payload is JSON text; 0: raw bytes. meta: empty or JSON text.
 *
 * A decoded binary broadcast is the message a JSON broadcast would have been: event "broadcast",
 * payload {"type":"broadcast","event":…,"payload":…[,"meta":…]}, refs null except for kind 3's;
 * a raw-bytes payload (encoding 0) decodes as JSON null (the app reads JSON only).
 * Encoding picks a binary frame exactly where realtime-js does (event "broadcast" whose payload has
 * a string "event"), unless a field does not fit its length byte or a ref is the empty string
 * (which a binary frame cannot tell from an absent one): then the text form, which the server
 * also accepts.
 *
 * Pure functions; decode never crashes on hostile input (fuzzed: tests/fuzz). */

#define G_LOG_DOMAIN "wb-phoenix-serializer"

#include "config.h"

#include <string.h>

#include "wb-error.h"
#include "wb-json.h"
#include "wb-phoenix-serializer.h"

#define V2_ARRAY_ELEMENTS   5
#define KIND3_HEADER_LENGTH 7
#define KIND4_HEADER_LENGTH 5
#define FIELD_MAX           255
/* A binary frame's JSON sits two levels below the top of the message it becomes (message payload →
 * "payload"/"meta"), so it may nest two levels less than a whole text frame. */
#define BINARY_JSON_NESTING (WB_PHOENIX_MAX_NESTING - 2)

const char *
wb_phoenix_vsn_to_string (WbPhoenixVsn vsn)
{
  return vsn == WB_PHOENIX_VSN_1_0_0 ? "1.0.0" : "2.0.0";
}

/* Accepts exactly "1.0.0" or "2.0.0" (what Realtime and realtime-js speak). */
gboolean
wb_phoenix_vsn_from_string (const char   *text,
                            WbPhoenixVsn *out)
{
  if (g_strcmp0 (text, "1.0.0") == 0)
    *out = WB_PHOENIX_VSN_1_0_0;
  else if (g_strcmp0 (text, "2.0.0") == 0)
    *out = WB_PHOENIX_VSN_2_0_0;
  else
    return FALSE;
  return TRUE;
}

/* ---- encoding -------------------------------------------------------------------------------- */

static void
add_ref (JsonBuilder *builder,
         const char  *ref)
{
  if (ref != NULL)
    json_builder_add_string_value (builder, ref);
  else
    json_builder_add_null_value (builder);
}

static char *
encode_text_v2 (const WbPhoenixMessage *msg)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;

  json_builder_begin_array (builder);
  add_ref (builder, msg->join_ref);
  add_ref (builder, msg->ref);
  json_builder_add_string_value (builder, msg->topic);
  json_builder_add_string_value (builder, msg->event);
  if (msg->payload != NULL && JSON_NODE_HOLDS_OBJECT (msg->payload))
    json_builder_add_value (builder, json_node_copy (msg->payload));
  else
    {
      json_builder_begin_object (builder);
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);
  root = json_builder_get_root (builder);
  return wb_json_to_string (root);
}

static gboolean
fits (const char *field)
{
  return field == NULL || strlen (field) <= FIELD_MAX;
}

/* Returns: (transfer full) (nullable): a kind 3 or 4 frame for @msg, or %NULL when it has to go
 * as text (not a user broadcast, a field too long for its length byte, an empty-string ref, an
 * empty topic, which the binary decoder refuses). */
static GBytes *
encode_binary_v2 (WbPhoenixDirection      direction,
                  const WbPhoenixMessage *msg)
{
  JsonObject *payload = wb_phoenix_message_get_payload_object (msg);
  const char *user_event = wb_json_get_string (payload, "event");
  JsonNode *user = payload != NULL ? json_object_get_member (payload, "payload") : NULL;
  JsonNode *meta_node = payload != NULL ? json_object_get_member (payload, "meta") : NULL;
  g_autofree char *meta = NULL;
  g_autofree char *data = NULL;
  GByteArray *frame;
  gsize topic_len, event_len, meta_len;

  if (g_strcmp0 (msg->event, "broadcast") != 0 || user_event == NULL)
    return NULL;
  if (direction == WB_PHOENIX_TO_CLIENT && (msg->ref != NULL || msg->join_ref != NULL))
    return NULL;
  if (g_strcmp0 (msg->ref, "") == 0 || g_strcmp0 (msg->join_ref, "") == 0 || *msg->topic == '\0')
    return NULL;
  meta = meta_node != NULL ? wb_json_to_string (meta_node) : g_strdup ("");
  if (!fits (msg->topic) || !fits (user_event) || !fits (meta) || !fits (msg->ref)
      || !fits (msg->join_ref))
    return NULL;

  data = user != NULL ? wb_json_to_string (user) : g_strdup ("{}");
  topic_len = strlen (msg->topic);
  event_len = strlen (user_event);
  meta_len = strlen (meta);
  frame = g_byte_array_sized_new (KIND3_HEADER_LENGTH + FIELD_MAX * 5 + strlen (data));
  if (direction == WB_PHOENIX_TO_SERVER)
    {
      gsize join_ref_len = msg->join_ref != NULL ? strlen (msg->join_ref) : 0;
      gsize ref_len = msg->ref != NULL ? strlen (msg->ref) : 0;
      guint8 header[KIND3_HEADER_LENGTH] = {
        WB_PHOENIX_KIND_USER_BROADCAST_PUSH, join_ref_len, ref_len, topic_len, event_len,
        meta_len, WB_PHOENIX_ENCODING_JSON,
      };

      g_byte_array_append (frame, header, sizeof header);
      g_byte_array_append (frame, (const guint8 *) (msg->join_ref ? msg->join_ref : ""), join_ref_len);
      g_byte_array_append (frame, (const guint8 *) (msg->ref ? msg->ref : ""), ref_len);
    }
  else
    {
      guint8 header[KIND4_HEADER_LENGTH] = {
        WB_PHOENIX_KIND_USER_BROADCAST, topic_len, event_len, meta_len, WB_PHOENIX_ENCODING_JSON,
      };

      g_byte_array_append (frame, header, sizeof header);
    }
  g_byte_array_append (frame, (const guint8 *) msg->topic, topic_len);
  g_byte_array_append (frame, (const guint8 *) user_event, event_len);
  g_byte_array_append (frame, (const guint8 *) meta, meta_len);
  g_byte_array_append (frame, (const guint8 *) data, strlen (data));
  return g_byte_array_free_to_bytes (frame);
}

GBytes *
wb_phoenix_serializer_encode (WbPhoenixVsn            vsn,
                              WbPhoenixDirection      direction,
                              const WbPhoenixMessage *msg,
                              gboolean               *out_binary)
{
  GBytes *binary = NULL;
  char *text;

  g_return_val_if_fail (msg != NULL && msg->topic != NULL && msg->event != NULL, NULL);
  g_return_val_if_fail (out_binary != NULL, NULL);

  if (vsn == WB_PHOENIX_VSN_2_0_0)
    binary = encode_binary_v2 (direction, msg);
  *out_binary = binary != NULL;
  if (binary != NULL)
    return binary;

  text = vsn == WB_PHOENIX_VSN_1_0_0 ? wb_phoenix_message_encode (msg) : encode_text_v2 (msg);
  return g_bytes_new_take (text, strlen (text));
}

/* ---- decoding -------------------------------------------------------------------------------- */

static WbPhoenixMessage *
decode_text_v2 (const char  *data,
                gsize        len,
                GError     **error)
{
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *join_ref = NULL;
  g_autofree char *ref = NULL;
  JsonArray *array;
  JsonNode *topic, *event, *payload;

  root = wb_json_parse (data, len, WB_PHOENIX_MAX_NESTING, error);
  if (root == NULL)
    {
      g_prefix_error (error, "Phoenix frame: ");
      return NULL;
    }
  if (!JSON_NODE_HOLDS_ARRAY (root)
      || json_array_get_length (array = json_node_get_array (root)) < V2_ARRAY_ELEMENTS)
    {
      g_set_error_literal (error, WB_ERROR, WB_ERROR_INVALID_DATA,
                           "Phoenix frame: not an array of 5 elements (vsn 2.0.0)");
      return NULL;
    }
  topic = json_array_get_element (array, 2);
  event = json_array_get_element (array, 3);
  payload = json_array_get_element (array, 4);
  if (!JSON_NODE_HOLDS_VALUE (topic) || json_node_get_value_type (topic) != G_TYPE_STRING
      || !JSON_NODE_HOLDS_VALUE (event) || json_node_get_value_type (event) != G_TYPE_STRING)
    {
      g_set_error_literal (error, WB_ERROR, WB_ERROR_INVALID_DATA,
                           "Phoenix frame: topic or event is not a string");
      return NULL;
    }
  if (!JSON_NODE_HOLDS_OBJECT (payload))
    {
      g_set_error_literal (error, WB_ERROR, WB_ERROR_INVALID_DATA,
                           "Phoenix frame: the payload is not an object");
      return NULL;
    }
  if (!_wb_phoenix_ref_from_node (json_array_get_element (array, 0), "join_ref", &join_ref, error)
      || !_wb_phoenix_ref_from_node (json_array_get_element (array, 1), "ref", &ref, error))
    return NULL;

  return wb_phoenix_message_new (json_node_get_string (topic), json_node_get_string (event),
                                 payload, ref, join_ref);
}

/* Reads @n bytes at *@pos as UTF-8 text (no NUL), advancing *@pos. */
static gboolean
take_text (const guint8  *frame,
           gsize         *pos,
           gsize          n,
           char         **out)
{
  const char *start = (const char *) frame + *pos;

  if (!g_utf8_validate_len (start, n, NULL))
    return FALSE;
  *out = g_strndup (start, n);
  *pos += n;
  return TRUE;
}

static WbPhoenixMessage *
decode_binary_v2 (WbPhoenixDirection   direction,
                  const guint8        *frame,
                  gsize                len,
                  GError             **error)
{
  guint expected_kind = direction == WB_PHOENIX_TO_SERVER ? WB_PHOENIX_KIND_USER_BROADCAST_PUSH
                                                          : WB_PHOENIX_KIND_USER_BROADCAST;
  gsize header_len = direction == WB_PHOENIX_TO_SERVER ? KIND3_HEADER_LENGTH : KIND4_HEADER_LENGTH;
  g_autofree char *join_ref = NULL, *ref = NULL, *topic = NULL, *user_event = NULL, *meta = NULL;
  g_autoptr(JsonNode) meta_node = NULL;
  g_autoptr(JsonNode) user = NULL;
  g_autoptr(JsonObject) payload = NULL;
  g_autoptr(JsonNode) payload_node = NULL;
  g_autoptr(GError) local = NULL;
  gsize join_ref_len = 0, ref_len = 0, topic_len, event_len, meta_len, pos;
  guint encoding;

  if (len < 1 || frame[0] != expected_kind)
    {
      g_set_error (error, WB_ERROR, WB_ERROR_INVALID_DATA,
                   "Phoenix binary frame: kind %u where %u was expected",
                   len > 0 ? frame[0] : 0, expected_kind);
      return NULL;
    }
  if (len < header_len)
    {
      g_set_error_literal (error, WB_ERROR, WB_ERROR_INVALID_DATA,
                           "Phoenix binary frame: shorter than its header");
      return NULL;
    }
  /* Kind 3 has two ref lengths more than kind 4 in front of the same four header bytes. */
  if (direction == WB_PHOENIX_TO_SERVER)
    {
      join_ref_len = frame[1];
      ref_len = frame[2];
    }
  topic_len = frame[header_len - 4];
  event_len = frame[header_len - 3];
  meta_len = frame[header_len - 2];
  encoding = frame[header_len - 1];
  pos = header_len;
  if (pos + join_ref_len + ref_len + topic_len + event_len + meta_len > len)
    {
      g_set_error_literal (error, WB_ERROR, WB_ERROR_INVALID_DATA,
                           "Phoenix binary frame: its lengths run past its end");
      return NULL;
    }
  if (encoding != WB_PHOENIX_ENCODING_BINARY && encoding != WB_PHOENIX_ENCODING_JSON)
    {
      g_set_error (error, WB_ERROR, WB_ERROR_INVALID_DATA,
                   "Phoenix binary frame: unknown payload encoding %u", encoding);
      return NULL;
    }
  if (!take_text (frame, &pos, join_ref_len, &join_ref) || !take_text (frame, &pos, ref_len, &ref)
      || !take_text (frame, &pos, topic_len, &topic)
      || !take_text (frame, &pos, event_len, &user_event)
      || !take_text (frame, &pos, meta_len, &meta))
    {
      g_set_error_literal (error, WB_ERROR, WB_ERROR_INVALID_DATA,
                           "Phoenix binary frame: a header field is not UTF-8 text");
      return NULL;
    }
  if (topic_len == 0)
    {
      g_set_error_literal (error, WB_ERROR, WB_ERROR_INVALID_DATA,
                           "Phoenix binary frame: empty topic");
      return NULL;
    }
  if (meta_len > 0
      && (meta_node = wb_json_parse (meta, meta_len, BINARY_JSON_NESTING, &local)) == NULL)
    {
      g_set_error (error, WB_ERROR, WB_ERROR_INVALID_DATA,
                   "Phoenix binary frame: metadata: %s", local->message);
      return NULL;
    }
  if (encoding == WB_PHOENIX_ENCODING_JSON)
    {
      user = wb_json_parse ((const char *) frame + pos, len - pos, BINARY_JSON_NESTING, &local);
      if (user == NULL)
        {
          g_set_error (error, WB_ERROR, WB_ERROR_INVALID_DATA,
                       "Phoenix binary frame: payload: %s", local->message);
          return NULL;
        }
    }
  else
    user = json_node_new (JSON_NODE_NULL);   /* raw bytes: nothing the app can read */

  payload = json_object_new ();
  json_object_set_string_member (payload, "type", "broadcast");
  json_object_set_string_member (payload, "event", user_event);
  json_object_set_member (payload, "payload", g_steal_pointer (&user));
  if (meta_node != NULL)
    json_object_set_member (payload, "meta", g_steal_pointer (&meta_node));
  payload_node = json_node_init_object (json_node_alloc (), payload);

  return wb_phoenix_message_new (topic, "broadcast", payload_node,
                                 ref_len > 0 ? ref : NULL, join_ref_len > 0 ? join_ref : NULL);
}

WbPhoenixMessage *
wb_phoenix_serializer_decode (WbPhoenixVsn         vsn,
                              WbPhoenixDirection   direction,
                              gboolean             binary,
                              const char          *data,
                              gsize                len,
                              GError             **error)
{
  if (!wb_phoenix_frame_size_ok (data, len, error))
    return NULL;
  if (vsn == WB_PHOENIX_VSN_1_0_0)
    {
      if (binary)
        {
          g_set_error_literal (error, WB_ERROR, WB_ERROR_INVALID_DATA,
                               "Phoenix frame: binary frames do not exist in vsn 1.0.0");
          return NULL;
        }
      return wb_phoenix_message_decode (data, len, error);
    }
  if (binary)
    return decode_binary_v2 (direction, (const guint8 *) data, len, error);
  return decode_text_v2 (data, len, error);
}
