/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-realtime-channel-payload.c: pure helpers of WbRealtimeChannel: join payload, binding check,
 * routing. */

#define G_LOG_DOMAIN "wb-realtime-channel"

#include "config.h"

#include "wb-json.h"
#include "wb-realtime-channel-private.h"

/* Pure helpers of WbRealtimeChannel: the join payload, the join-reply binding check and the
 * routing of postgres_changes frames by server id. */

void
_wb_channel_binding_clear (gpointer data)
{
  WbChannelBinding *b = data;

  g_clear_pointer (&b->event, g_free);
  g_clear_pointer (&b->schema, g_free);
  g_clear_pointer (&b->table, g_free);
  g_clear_pointer (&b->filter, g_free);
}

/* Returns: (transfer full): the phx_join payload for @bindings and @access_token (nullable). */
JsonNode *
_wb_channel_build_join_payload (GArray     *bindings,
                                const char *access_token,
                                gboolean    private_,
                                gint64      replay_since_ms)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "config");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "broadcast");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "self");
  json_builder_add_boolean_value (b, FALSE);
  json_builder_set_member_name (b, "ack");
  json_builder_add_boolean_value (b, FALSE);
  if (private_ && replay_since_ms > 0)
    {
      /* Realtime sends at most 25, oldest first, before anything live: not a backfill. */
      json_builder_set_member_name (b, "replay");
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "since");
      json_builder_add_int_value (b, replay_since_ms);
      json_builder_set_member_name (b, "limit");
      json_builder_add_int_value (b, WB_CHANNEL_REPLAY_LIMIT);
      json_builder_end_object (b);
    }
  json_builder_end_object (b);
  json_builder_set_member_name (b, "presence");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "key");
  json_builder_add_string_value (b, "");
  json_builder_set_member_name (b, "enabled");
  json_builder_add_boolean_value (b, FALSE);
  json_builder_end_object (b);
  json_builder_set_member_name (b, "postgres_changes");
  json_builder_begin_array (b);
  for (guint i = 0; i < bindings->len; i++)
    {
      WbChannelBinding *bd = &g_array_index (bindings, WbChannelBinding, i);

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "event");
      json_builder_add_string_value (b, bd->event);
      json_builder_set_member_name (b, "schema");
      json_builder_add_string_value (b, bd->schema);
      if (bd->table != NULL)
        {
          json_builder_set_member_name (b, "table");
          json_builder_add_string_value (b, bd->table);
        }
      if (bd->filter != NULL)
        {
          json_builder_set_member_name (b, "filter");
          json_builder_add_string_value (b, bd->filter);
        }
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_set_member_name (b, "private");
  json_builder_add_boolean_value (b, private_);
  json_builder_end_object (b);
  if (access_token != NULL)
    {
      json_builder_set_member_name (b, "access_token");
      json_builder_add_string_value (b, access_token);
    }
  json_builder_end_object (b);

  return json_builder_get_root (b);
}

static gboolean
strings_match (const char *a,
               const char *b)
{
  return g_strcmp0 (a, b) == 0;
}

/* The reply's postgres_changes must echo ours, in order (event case-insensitive, absent and null
 * alike); on success the server ids are stored in @bindings. */
gboolean
_wb_channel_take_server_ids (GArray     *bindings,
                             JsonObject *response)
{
  JsonNode *node = response ? json_object_get_member (response, "postgres_changes") : NULL;
  JsonArray *array;

  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return bindings->len == 0;
  if (!JSON_NODE_HOLDS_ARRAY (node))
    return FALSE;

  array = json_node_get_array (node);
  if (json_array_get_length (array) != bindings->len)
    return FALSE;

  for (guint i = 0; i < bindings->len; i++)
    {
      WbChannelBinding *bd = &g_array_index (bindings, WbChannelBinding, i);
      JsonNode *entry = json_array_get_element (array, i);
      JsonObject *o;
      const char *event;

      if (!JSON_NODE_HOLDS_OBJECT (entry))
        return FALSE;
      o = json_node_get_object (entry);
      event = wb_json_get_string (o, "event");
      if (event == NULL || g_ascii_strcasecmp (event, bd->event) != 0
          || !strings_match (wb_json_get_string (o, "schema"), bd->schema)
          || !strings_match (wb_json_get_string (o, "table"), bd->table)
          || !strings_match (wb_json_get_string (o, "filter"), bd->filter)
          || !wb_json_get_int (o, "id", &bd->id))
        return FALSE;
    }

  return TRUE;
}

/* Returns: (transfer none) (nullable): `payload.data` if `payload.ids` names one of @bindings whose
 * event is "*" or equals data.type (case-insensitive). */
JsonObject *
_wb_channel_route_change (GArray     *bindings,
                          JsonObject *payload)
{
  JsonArray *ids = wb_json_get_array (payload, "ids");
  JsonObject *data = wb_json_get_object (payload, "data");
  const char *type = wb_json_get_string (data, "type");

  if (data == NULL || ids == NULL)
    return NULL;

  for (guint i = 0; i < json_array_get_length (ids); i++)
    {
      JsonNode *id = json_array_get_element (ids, i);

      if (!JSON_NODE_HOLDS_VALUE (id) || json_node_get_value_type (id) != G_TYPE_INT64)
        continue;
      for (guint j = 0; j < bindings->len; j++)
        {
          WbChannelBinding *bd = &g_array_index (bindings, WbChannelBinding, j);

          if (bd->id != json_node_get_int (id))
            continue;
          if (g_strcmp0 (bd->event, "*") == 0
              || (type != NULL && g_ascii_strcasecmp (bd->event, type) == 0))
            return data;
        }
    }

  return NULL;
}
