/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-phoenix-message.c: a Phoenix message, and its vsn 1.0.0 form (JSON object text frames).
 * The vsn 2.0.0 forms (JSON arrays, binary broadcasts) are in wb-phoenix-serializer.h. */

#define G_LOG_DOMAIN "wb-phoenix-message"

#include "config.h"

#include "wb-error.h"
#include "wb-json.h"
#include "wb-phoenix-message.h"

G_DEFINE_BOXED_TYPE (WbPhoenixMessage, wb_phoenix_message,
                     wb_phoenix_message_ref, wb_phoenix_message_unref)

static void
message_clear (gpointer data)
{
  WbPhoenixMessage *msg = data;

  g_clear_pointer (&msg->join_ref, g_free);
  g_clear_pointer (&msg->ref, g_free);
  g_clear_pointer (&msg->topic, g_free);
  g_clear_pointer (&msg->event, g_free);
  g_clear_pointer (&msg->payload, json_node_unref);
}

/* Creates a message; @payload is copied (a %NULL or non-object payload becomes `{}`). */
WbPhoenixMessage *
wb_phoenix_message_new (const char *topic,
                        const char *event,
                        JsonNode   *payload,
                        const char *ref,
                        const char *join_ref)
{
  WbPhoenixMessage *msg;

  g_return_val_if_fail (topic != NULL, NULL);
  g_return_val_if_fail (event != NULL, NULL);

  msg = g_atomic_rc_box_new0 (WbPhoenixMessage);
  msg->topic = g_strdup (topic);
  msg->event = g_strdup (event);
  msg->ref = g_strdup (ref);
  msg->join_ref = g_strdup (join_ref);
  if (payload != NULL && JSON_NODE_HOLDS_OBJECT (payload))
    msg->payload = json_node_copy (payload);
  else
    msg->payload = json_node_init_object (json_node_alloc (), json_object_new ());

  return msg;
}

WbPhoenixMessage *
wb_phoenix_message_ref (WbPhoenixMessage *msg)
{
  g_return_val_if_fail (msg != NULL, NULL);
  return g_atomic_rc_box_acquire (msg);
}

void
wb_phoenix_message_unref (WbPhoenixMessage *msg)
{
  g_return_if_fail (msg != NULL);
  g_atomic_rc_box_release_full (msg, message_clear);
}

WbPhoenixMessage *
wb_phoenix_message_copy (const WbPhoenixMessage *msg)
{
  g_return_val_if_fail (msg != NULL, NULL);
  return wb_phoenix_message_new (msg->topic, msg->event, msg->payload, msg->ref, msg->join_ref);
}

void
wb_phoenix_message_free (WbPhoenixMessage *msg)
{
  wb_phoenix_message_unref (msg);
}

/* Returns: (transfer none): the payload object (never %NULL for a decoded message). */
JsonObject *
wb_phoenix_message_get_payload_object (const WbPhoenixMessage *msg)
{
  g_return_val_if_fail (msg != NULL, NULL);

  if (msg->payload == NULL || !JSON_NODE_HOLDS_OBJECT (msg->payload))
    return NULL;
  return json_node_get_object (msg->payload);
}

gboolean
wb_phoenix_message_equal (const WbPhoenixMessage *a,
                          const WbPhoenixMessage *b)
{
  if (a == b)
    return TRUE;
  if (a == NULL || b == NULL)
    return FALSE;

  return g_strcmp0 (a->topic, b->topic) == 0
         && g_strcmp0 (a->event, b->event) == 0
         && g_strcmp0 (a->ref, b->ref) == 0
         && g_strcmp0 (a->join_ref, b->join_ref) == 0
         && ((a->payload == NULL && b->payload == NULL)
             || (a->payload != NULL && b->payload != NULL
                 && json_node_equal (a->payload, b->payload)));
}

static void
add_ref_member (JsonBuilder *builder,
                const char  *name,
                const char  *value)
{
  json_builder_set_member_name (builder, name);
  if (value != NULL)
    json_builder_add_string_value (builder, value);
  else
    json_builder_add_null_value (builder);
}

/* Encodes @msg as a vsn 1.0.0 text frame. The `ref` key is always present (the server requires
 * it, null allowed); `join_ref` only when set. */
char *
wb_phoenix_message_encode (const WbPhoenixMessage *msg)
{
  g_autoptr(JsonBuilder) builder = NULL;
  g_autoptr(JsonNode) root = NULL;

  g_return_val_if_fail (msg != NULL, NULL);
  g_return_val_if_fail (msg->topic != NULL && msg->event != NULL, NULL);

  builder = json_builder_new ();
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "topic");
  json_builder_add_string_value (builder, msg->topic);
  json_builder_set_member_name (builder, "event");
  json_builder_add_string_value (builder, msg->event);
  json_builder_set_member_name (builder, "payload");
  if (msg->payload != NULL && JSON_NODE_HOLDS_OBJECT (msg->payload))
    json_builder_add_value (builder, json_node_copy (msg->payload));
  else
    {
      json_builder_begin_object (builder);
      json_builder_end_object (builder);
    }
  add_ref_member (builder, "ref", msg->ref);
  if (msg->join_ref != NULL)
    add_ref_member (builder, "join_ref", msg->join_ref);
  json_builder_end_object (builder);

  root = json_builder_get_root (builder);
  return wb_json_to_string (root);
}

static gboolean
read_string_member (JsonObject  *object,
                    const char  *name,
                    char       **out,
                    GError     **error)
{
  const char *value = wb_json_get_string (object, name);

  if (value == NULL)
    {
      g_set_error (error, WB_ERROR, WB_ERROR_INVALID_DATA,
                   "Phoenix frame: \"%s\" missing or not a string", name);
      return FALSE;
    }

  *out = g_strdup (value);
  return TRUE;
}

/* Refs may be absent, null, a string or a number (numbers become decimal strings). Shared with
 * the vsn 2.0.0 array form (wb-phoenix-serializer.c). */
gboolean
_wb_phoenix_ref_from_node (JsonNode    *node,
                           const char  *name,
                           char       **out,
                           GError     **error)
{
  *out = NULL;
  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return TRUE;

  if (JSON_NODE_HOLDS_VALUE (node))
    {
      GType type = json_node_get_value_type (node);

      if (type == G_TYPE_STRING)
        {
          *out = g_strdup (json_node_get_string (node));
          return TRUE;
        }
      if (type == G_TYPE_INT64)
        {
          *out = g_strdup_printf ("%" G_GINT64_FORMAT, json_node_get_int (node));
          return TRUE;
        }
      if (type == G_TYPE_DOUBLE)
        {
          char buf[G_ASCII_DTOSTR_BUF_SIZE];

          *out = g_strdup (g_ascii_dtostr (buf, sizeof buf, json_node_get_double (node)));
          return TRUE;
        }
    }

  g_set_error (error, WB_ERROR, WB_ERROR_INVALID_DATA,
               "Phoenix frame: \"%s\" is neither string, number nor null", name);
  return FALSE;
}

static gboolean
read_ref_member (JsonObject  *object,
                 const char  *name,
                 char       **out,
                 GError     **error)
{
  return _wb_phoenix_ref_from_node (json_object_get_member (object, name), name, out, error);
}

/* Whether a frame of any protocol version has a size worth decoding: not empty, at most
 * WB_PHOENIX_MAX_FRAME_SIZE bytes. */
gboolean
wb_phoenix_frame_size_ok (const char  *data,
                          gsize        len,
                          GError     **error)
{
  if (data == NULL || len == 0)
    {
      g_set_error_literal (error, WB_ERROR, WB_ERROR_INVALID_DATA, "Phoenix frame: empty");
      return FALSE;
    }
  if (len > WB_PHOENIX_MAX_FRAME_SIZE)
    {
      g_set_error (error, WB_ERROR, WB_ERROR_INVALID_DATA,
                   "Phoenix frame: %" G_GSIZE_FORMAT " bytes is too large", len);
      return FALSE;
    }
  return TRUE;
}

/* Decodes one vsn 1.0.0 text frame. Never crashes on hostile input; every malformed frame
 * yields %NULL and a WB_ERROR_INVALID_DATA error. */
WbPhoenixMessage *
wb_phoenix_message_decode (const char  *data,
                           gsize        len,
                           GError     **error)
{
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(WbPhoenixMessage) msg = NULL;
  JsonObject *object;

  if (!wb_phoenix_frame_size_ok (data, len, error))
    return NULL;
  /* Strict JSON, bounded nesting, valid UTF-8 in every string (wb-json.c). */
  root = wb_json_parse (data, len, WB_PHOENIX_MAX_NESTING, error);
  if (root == NULL)
    {
      g_prefix_error (error, "Phoenix frame: ");
      return NULL;
    }
  if (!JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error_literal (error, WB_ERROR, WB_ERROR_INVALID_DATA,
                           "Phoenix frame: not a JSON object");
      return NULL;
    }
  object = json_node_get_object (root);

  if (wb_json_get_object (object, "payload") == NULL)
    {
      g_set_error_literal (error, WB_ERROR, WB_ERROR_INVALID_DATA,
                           "Phoenix frame: \"payload\" missing or not an object");
      return NULL;
    }

  msg = g_atomic_rc_box_new0 (WbPhoenixMessage);
  if (!read_string_member (object, "topic", &msg->topic, error)
      || !read_string_member (object, "event", &msg->event, error)
      || !read_ref_member (object, "ref", &msg->ref, error)
      || !read_ref_member (object, "join_ref", &msg->join_ref, error))
    return NULL;

  msg->payload = json_node_copy (json_object_get_member (object, "payload"));

  return g_steal_pointer (&msg);
}
