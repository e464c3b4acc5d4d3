/* wb-fake-phoenix.h: an in-process scripted Phoenix server for unit tests. It speaks the vsn each
 * client asked for in its URL (1.0.0 or 2.0.0, binary broadcasts included), and can refuse
 * handshakes and joins the way Realtime does. Header-only so both realtime tests can include it
 * without another build target. */
#pragma once

#include <string.h>

#include <libsoup/soup.h>

#include "wb-phoenix-serializer.h"

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
  guint                    n_handshakes;    /* every attempt, refused ones included */
  guint                    n_heartbeats;
  guint                    n_binary_frames; /* received from clients */
  gboolean                 answer_heartbeats;
  gboolean                 send_system_ok;  /* after a successful join */
  FakeJoinMode             join_mode;
  const char              *join_error_reason;      /* FAKE_JOIN_ERROR's reason (default: expired token) */
  gboolean                 close_after_join_error; /* as Realtime does after ClientJoinRateLimitReached */
  guint                    refuse_handshakes;      /* HTTP status for every handshake, 0: accept */
  const char              *refuse_retry_after;     /* (nullable) Retry-After of a refusal */
} FakePhoenix;

static G_GNUC_UNUSED WbPhoenixVsn
fake_phoenix_conn_vsn (SoupWebsocketConnection *conn)
{
  return (WbPhoenixVsn) GPOINTER_TO_INT (g_object_get_data (G_OBJECT (conn), "fake-vsn"));
}

/* Sends @msg on @conn in the vsn that connection speaks (a kind-4 frame where 2.0.0 has one). */
static G_GNUC_UNUSED void
fake_phoenix_send_msg_on (SoupWebsocketConnection *conn,
                          WbPhoenixMessage        *msg)
{
  gboolean binary = FALSE;
  g_autoptr(GBytes) frame = wb_phoenix_serializer_encode (fake_phoenix_conn_vsn (conn),
                                                          WB_PHOENIX_TO_CLIENT, msg, &binary);

  /* The client may have started closing this connection while its last frame was in flight. */
  if (soup_websocket_connection_get_state (conn) != SOUP_WEBSOCKET_STATE_OPEN)
    return;
  soup_websocket_connection_send_message (conn, binary ? SOUP_WEBSOCKET_DATA_BINARY
                                                       : SOUP_WEBSOCKET_DATA_TEXT, frame);
}

/* Realtime's vsn 1.0.0 frames to clients carry no join_ref; 2.0.0 frames carry the channel's. */
static G_GNUC_UNUSED const char *
fake_phoenix_join_ref (FakePhoenix *fake,
                       const char  *join_ref)
{
  if (fake->current == NULL || fake_phoenix_conn_vsn (fake->current) != WB_PHOENIX_VSN_2_0_0)
    return NULL;
  return join_ref;
}

static G_GNUC_UNUSED void
fake_phoenix_send_msg (FakePhoenix      *fake,
                       WbPhoenixMessage *msg)
{
  g_assert_nonnull (fake->current);
  fake_phoenix_send_msg_on (fake->current, msg);
}

/* Sends bytes as they are (malformed frames). */
static G_GNUC_UNUSED void
fake_phoenix_send_raw (FakePhoenix           *fake,
                       SoupWebsocketDataType  type,
                       const void            *data,
                       gsize                  len)
{
  g_autoptr(GBytes) bytes = g_bytes_new (data, len);

  g_assert_nonnull (fake->current);
  soup_websocket_connection_send_message (fake->current, type, bytes);
}

/* Sends a message built from JSON text for @payload_json. */
static G_GNUC_UNUSED void
fake_phoenix_push (FakePhoenix *fake,
                   const char  *topic,
                   const char  *event,
                   const char  *payload_json,
                   const char  *ref,
                   const char  *join_ref)
{
  g_autoptr(JsonNode) payload = json_from_string (payload_json, NULL);
  g_autoptr(WbPhoenixMessage) msg = wb_phoenix_message_new (topic, event, payload, ref, join_ref);

  g_assert_nonnull (payload);
  fake_phoenix_send_msg (fake, msg);
}

static G_GNUC_UNUSED void
fake_phoenix_reply (FakePhoenix      *fake,
                    WbPhoenixMessage *request,
                    const char       *payload_json)
{
  g_autoptr(JsonNode) payload = json_from_string (payload_json, NULL);
  g_autoptr(WbPhoenixMessage) reply =
    wb_phoenix_message_new (request->topic, "phx_reply", payload, request->ref,
                            fake_phoenix_join_ref (fake, request->join_ref));

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
      {
        g_autoptr(JsonBuilder) b = json_builder_new ();
        g_autoptr(JsonNode) error_payload = NULL;
        g_autoptr(WbPhoenixMessage) error_reply = NULL;

        json_builder_begin_object (b);
        json_builder_set_member_name (b, "status");
        json_builder_add_string_value (b, "error");
        json_builder_set_member_name (b, "response");
        json_builder_begin_object (b);
        json_builder_set_member_name (b, "reason");
        json_builder_add_string_value (b, fake->join_error_reason != NULL
                                          ? fake->join_error_reason
                                          : "InvalidJWTToken: Token has expired 12 seconds ago");
        json_builder_end_object (b);
        json_builder_end_object (b);
        error_payload = json_builder_get_root (b);
        error_reply = wb_phoenix_message_new (join->topic, "phx_reply", error_payload, join->ref,
                                              fake_phoenix_join_ref (fake, join->join_ref));
        fake_phoenix_send_msg (fake, error_reply);
        if (fake->close_after_join_error)
          soup_websocket_connection_close (fake->current, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
      }
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
  reply = wb_phoenix_message_new (join->topic, "phx_reply", node, join->ref,
                                  fake_phoenix_join_ref (fake, join->join_ref));
  fake_phoenix_send_msg (fake, reply);

  if (fake->send_system_ok)
    fake_phoenix_push (fake, join->topic, "system",
                       "{\"extension\":\"postgres_changes\",\"status\":\"ok\","
                       "\"message\":\"Subscribed to PostgreSQL\",\"channel\":\"x\"}",
                       NULL, fake_phoenix_join_ref (fake, join->join_ref));
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
  WbPhoenixMessage *msg = wb_phoenix_serializer_decode (fake_phoenix_conn_vsn (conn),
                                                        WB_PHOENIX_TO_SERVER,
                                                        type == SOUP_WEBSOCKET_DATA_BINARY,
                                                        data, len, NULL);

  g_assert_nonnull (msg);
  if (type == SOUP_WEBSOCKET_DATA_BINARY)
    fake->n_binary_frames++;
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
  const char *query = g_uri_get_query (soup_server_message_get_uri (msg));
  WbPhoenixVsn vsn = WB_PHOENIX_VSN_1_0_0;

  g_free (fake->last_query);
  fake->last_query = g_strdup (query);
  if (query != NULL && strstr (query, "vsn=2.0.0") != NULL)
    vsn = WB_PHOENIX_VSN_2_0_0;
  g_object_set_data (G_OBJECT (conn), "fake-vsn", GINT_TO_POINTER (vsn));
  g_ptr_array_add (fake->conns, g_object_ref (conn));
  fake->current = conn;
  fake->n_connections++;
  g_signal_connect (conn, "message", G_CALLBACK (fake_phoenix_on_message_cb), fake);
  g_signal_connect (conn, "closed", G_CALLBACK (fake_phoenix_on_closed_cb), fake);
}

/* Every handshake passes here first; a refusal answers before the upgrade, as Realtime does. */
static void
fake_phoenix_early_cb (SoupServer        *server,
                       SoupServerMessage *msg,
                       const char        *path,
                       GHashTable        *query,
                       gpointer           user_data)
{
  FakePhoenix *fake = user_data;

  fake->n_handshakes++;
  if (fake->refuse_handshakes == 0)
    return;
  if (fake->refuse_retry_after != NULL)
    soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Retry-After",
                                  fake->refuse_retry_after);
  soup_server_message_set_status (msg, fake->refuse_handshakes, NULL);
  soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_STATIC,
                                    "{\"error\":\"refused\"}", strlen ("{\"error\":\"refused\"}"));
}

static G_GNUC_UNUSED FakePhoenix *
fake_phoenix_new (void)
{
  FakePhoenix *fake = g_new0 (FakePhoenix, 1);
  g_autoptr(GError) error = NULL;
  GSList *uris;

  fake->server = soup_server_new (NULL, NULL);
  soup_server_add_early_handler (fake->server, "/realtime/v1/websocket", fake_phoenix_early_cb,
                                 fake, NULL);
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
