/* wb-fake-phoenix.h: an in-process scripted Phoenix (vsn 1.0.0) server for unit tests.
 * Header-only so both realtime tests can include it without another build target. */
#pragma once

#include <string.h>

#include <libsoup/soup.h>

#include "wb-phoenix-message.h"

typedef enum
{
  FAKE_JOIN_OK,
  FAKE_JOIN_ERROR,
  FAKE_JOIN_SILENT,
  FAKE_JOIN_MISMATCH,
} FakeJoinMode;

typedef struct
{
  SoupServer              *server;
  char                    *base_url;        /* http://127.0.0.1:<port> */
  SoupWebsocketConnection *current;         /* (nullable) last accepted, while open */
  GPtrArray               *conns;           /* every accepted connection */
  GPtrArray               *received;        /* WbPhoenixMessage, in arrival order */
  char                    *last_query;
  guint                    n_connections;
  guint                    n_heartbeats;
  gboolean                 answer_heartbeats;
  gboolean                 send_system_ok;  /* after a successful join */
  FakeJoinMode             join_mode;
} FakePhoenix;

static G_GNUC_UNUSED void
fake_phoenix_send (FakePhoenix *fake,
                   const char  *text)
{
  g_assert_nonnull (fake->current);
  /* A heartbeat can arrive while the test is closing the connection: nothing to answer then. */
  if (soup_websocket_connection_get_state (fake->current) != SOUP_WEBSOCKET_STATE_OPEN)
    return;
  soup_websocket_connection_send_text (fake->current, text);
}

static G_GNUC_UNUSED void
fake_phoenix_send_msg (FakePhoenix      *fake,
                       WbPhoenixMessage *msg)
{
  g_autofree char *text = wb_phoenix_message_encode (msg);

  fake_phoenix_send (fake, text);
}

static G_GNUC_UNUSED void
fake_phoenix_reply (FakePhoenix      *fake,
                    WbPhoenixMessage *request,
                    const char       *payload_json)
{
  g_autoptr(JsonNode) payload = json_from_string (payload_json, NULL);
  g_autoptr(WbPhoenixMessage) reply = wb_phoenix_message_new (request->topic, "phx_reply", payload,
                                                              request->ref, NULL);

  g_assert_nonnull (payload);
  fake_phoenix_send_msg (fake, reply);
}

static void
fake_phoenix_answer_join (FakePhoenix      *fake,
                          WbPhoenixMessage *join)
{
  JsonObject *config = json_object_get_object_member (json_node_get_object (join->payload), "config");
  JsonArray *requested = config ? json_object_get_array_member (config, "postgres_changes") : NULL;
  g_autoptr(JsonArray) answered = json_array_new ();
  g_autoptr(JsonObject) response = json_object_new ();
  g_autoptr(JsonObject) payload = json_object_new ();
  g_autoptr(JsonNode) node = json_node_new (JSON_NODE_OBJECT);
  g_autoptr(WbPhoenixMessage) reply = NULL;

  switch (fake->join_mode)
    {
    case FAKE_JOIN_SILENT:
      return;
    case FAKE_JOIN_ERROR:
      fake_phoenix_reply (fake, join, "{\"status\":\"error\",\"response\":{\"reason\":"
                          "\"InvalidJWTToken: Token has expired 12 seconds ago\"}}");
      return;
    case FAKE_JOIN_OK:
    case FAKE_JOIN_MISMATCH:
    default:
      break;
    }

  for (guint i = 0; requested && i < json_array_get_length (requested); i++)
    {
      JsonObject *b = json_object_ref (json_array_get_object_element (requested, i));
      JsonObject *copy = json_object_new ();
      g_autoptr(GList) members = json_object_get_members (b);

      for (GList *l = members; l; l = l->next)
        json_object_set_member (copy, l->data, json_node_copy (json_object_get_member (b, l->data)));
      json_object_set_int_member (copy, "id", 1000 + i);
      if (fake->join_mode == FAKE_JOIN_MISMATCH && i == 0)
        json_object_set_string_member (copy, "table", "not_what_you_asked_for");
      json_array_add_object_element (answered, copy);
      json_object_unref (b);
    }

  json_object_set_array_member (response, "postgres_changes", json_array_ref (answered));
  json_object_set_string_member (payload, "status", "ok");
  json_object_set_object_member (payload, "response", json_object_ref (response));
  json_node_set_object (node, payload);
  reply = wb_phoenix_message_new (join->topic, "phx_reply", node, join->ref, NULL);
  fake_phoenix_send_msg (fake, reply);

  if (fake->send_system_ok)
    {
      g_autofree char *text =
        g_strdup_printf ("{\"topic\":\"%s\",\"event\":\"system\",\"payload\":{\"extension\":"
                         "\"postgres_changes\",\"status\":\"ok\",\"message\":"
                         "\"Subscribed to PostgreSQL\",\"channel\":\"x\"},\"ref\":null}",
                         join->topic);
      fake_phoenix_send (fake, text);
    }
}

static void
fake_phoenix_on_message_cb (SoupWebsocketConnection *conn,
                            gint                     type,
                            GBytes                  *bytes,
                            gpointer                 user_data)
{
  FakePhoenix *fake = user_data;
  gsize len = 0;
  const char *data = g_bytes_get_data (bytes, &len);
  WbPhoenixMessage *msg = wb_phoenix_message_decode (data, len, NULL);

  g_assert_nonnull (msg);
  if (conn != fake->current)
    {
      wb_phoenix_message_unref (msg);
      return;
    }
  g_ptr_array_add (fake->received, msg);

  if (strcmp (msg->event, "heartbeat") == 0)
    {
      g_assert_cmpstr (msg->topic, ==, "phoenix");
      fake->n_heartbeats++;
      if (fake->answer_heartbeats)
        fake_phoenix_reply (fake, msg, "{\"status\":\"ok\",\"response\":{}}");
    }
  else if (strcmp (msg->event, "phx_join") == 0)
    fake_phoenix_answer_join (fake, msg);
  else if (strcmp (msg->event, "phx_leave") == 0)
    fake_phoenix_reply (fake, msg, "{\"status\":\"ok\",\"response\":{}}");
}

static void
fake_phoenix_on_closed_cb (SoupWebsocketConnection *conn,
                           gpointer                 user_data)
{
  FakePhoenix *fake = user_data;

  if (fake->current == conn)
    fake->current = NULL;
}

static void
fake_phoenix_ws_cb (SoupServer              *server,
                    SoupServerMessage       *msg,
                    const char              *path,
                    SoupWebsocketConnection *conn,
                    gpointer                 user_data)
{
  FakePhoenix *fake = user_data;

  g_free (fake->last_query);
  fake->last_query = g_strdup (g_uri_get_query (soup_server_message_get_uri (msg)));
  g_ptr_array_add (fake->conns, g_object_ref (conn));
  fake->current = conn;
  fake->n_connections++;
  g_signal_connect (conn, "message", G_CALLBACK (fake_phoenix_on_message_cb), fake);
  g_signal_connect (conn, "closed", G_CALLBACK (fake_phoenix_on_closed_cb), fake);
}

static G_GNUC_UNUSED FakePhoenix *
fake_phoenix_new (void)
{
  FakePhoenix *fake = g_new0 (FakePhoenix, 1);
  g_autoptr(GError) error = NULL;
  GSList *uris;

  fake->server = soup_server_new (NULL, NULL);
  soup_server_add_websocket_handler (fake->server, "/realtime/v1/websocket", NULL, NULL,
                                     fake_phoenix_ws_cb, fake, NULL);
  soup_server_listen_local (fake->server, 0, SOUP_SERVER_LISTEN_IPV4_ONLY, &error);
  g_assert_no_error (error);
  uris = soup_server_get_uris (fake->server);
  g_assert_nonnull (uris);
  fake->base_url = g_strdup_printf ("http://127.0.0.1:%d", g_uri_get_port (uris->data));
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);

  fake->conns = g_ptr_array_new_with_free_func (g_object_unref);
  fake->received = g_ptr_array_new_with_free_func ((GDestroyNotify) wb_phoenix_message_unref);
  fake->answer_heartbeats = TRUE;
  fake->join_mode = FAKE_JOIN_OK;

  return fake;
}

static G_GNUC_UNUSED void
fake_phoenix_free (FakePhoenix *fake)
{
  for (guint i = 0; i < fake->conns->len; i++)
    g_signal_handlers_disconnect_by_data (g_ptr_array_index (fake->conns, i), fake);
  g_ptr_array_unref (fake->conns);
  soup_server_disconnect (fake->server);
  g_object_unref (fake->server);
  g_ptr_array_unref (fake->received);
  g_free (fake->base_url);
  g_free (fake->last_query);
  g_free (fake);
}

/* Closes the current connection from the server side. */
static G_GNUC_UNUSED void
fake_phoenix_close_current (FakePhoenix *fake)
{
  g_assert_nonnull (fake->current);
  soup_websocket_connection_close (fake->current, SOUP_WEBSOCKET_CLOSE_GOING_AWAY, "drain");
}

static G_GNUC_UNUSED guint
fake_phoenix_count (FakePhoenix *fake,
                    const char  *event)
{
  guint n = 0;

  for (guint i = 0; i < fake->received->len; i++)
    n += strcmp (((WbPhoenixMessage *) g_ptr_array_index (fake->received, i))->event, event) == 0;
  return n;
}

/* Returns: (transfer none) (nullable): the last received frame with @event. */
static G_GNUC_UNUSED WbPhoenixMessage *
fake_phoenix_last (FakePhoenix *fake,
                   const char  *event)
{
  for (guint i = fake->received->len; i > 0; i--)
    {
      WbPhoenixMessage *msg = g_ptr_array_index (fake->received, i - 1);

      if (strcmp (msg->event, event) == 0)
        return msg;
    }
  return NULL;
}

static gboolean
fake_wait_timeout_cb (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

/* Spins the main context until @cond holds; fails the test after @ms. */
#define WAIT_FOR(cond, ms) G_STMT_START {                                      \
    gboolean _timed_out = FALSE;                                               \
    guint _id = g_timeout_add ((ms), fake_wait_timeout_cb, &_timed_out);       \
    while (!(cond) && !_timed_out)                                             \
      g_main_context_iteration (NULL, TRUE);                                   \
    if (!_timed_out)                                                           \
      g_source_remove (_id);                                                   \
    if (!(cond))                                                               \
      g_error ("timed out after %u ms waiting for: %s", (guint) (ms), #cond);  \
  } G_STMT_END

/* Spins the main context for @ms. */
static G_GNUC_UNUSED void
run_for (guint ms)
{
  gboolean done = FALSE;

  g_timeout_add (ms, fake_wait_timeout_cb, &done);
  while (!done)
    g_main_context_iteration (NULL, TRUE);
}
