/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-realtime-socket.c: the Realtime websocket: protocol version, refs, heartbeat with reply
 * deadline, reconnect with backoff and the server's hold-offs, make-before-break renewal. */

#define G_LOG_DOMAIN "wb-realtime-socket"

#include "config.h"

#include <sys/socket.h>

#include <libsoup/soup.h>

#include "wb-backoff.h"
#include "wb-error.h"
#include "wb-message-budget.h"
#include "wb-phoenix-serializer.h"
#include "wb-realtime-errors.h"
#include "wb-realtime-socket.h"
#include "wb-rest-client.h"
#include "wb-url-policy.h"

/* libsoup 3.7.1 added max-total-message-size (annotated "since 3.8"); before it only single
 * frames are bounded and a message's fragments are reassembled without limit. */
#define HAVE_SOUP_MAX_TOTAL_MESSAGE_SIZE SOUP_CHECK_VERSION (3, 7, 1)

/* What libsoup may buffer for one message before the connection is closed: the largest message
 * we accept (WB_PHOENIX_MAX_FRAME_SIZE, checked again by the decoder) and, on the byte-budget
 * path, as much again for frame headers, control frames and what was read ahead. */
#define MAX_MESSAGE_BUDGET (2 * (guint64) WB_PHOENIX_MAX_FRAME_SIZE)
#define RECEIVE_BUFFER_BYTES (1024 * 1024)
/* The handshake message's TCP socket (network-event), for the budget of the connection it opens. */
#define TCP_SOCKET_KEY "wb-tcp-socket"

#define DEFAULT_HEARTBEAT_INTERVAL_MS 25000
#define DEFAULT_HEARTBEAT_TIMEOUT_MS  25000
#define DEFAULT_BACKOFF_BASE_MS       1000
#define DEFAULT_BACKOFF_MAX_MS        30000
#define DEFAULT_STABLE_AFTER_MS       60000
#define DEFAULT_RETIRE_AFTER_MS       10000

struct _WbRealtimeSocket
{
  GObject                  parent_instance;

  char                    *base_url;          /* (owned) without credentials */
  char                    *apikey;            /* (owned) never logged */
  SoupSession             *session;           /* (owned) */
  SoupWebsocketConnection *conn;              /* (owned) (nullable) */
  GPtrArray               *closing;           /* (owned) connections finishing their close */
  GCancellable            *cancellable;       /* (owned) (nullable) current connect attempt */
  SoupMessage             *connect_msg;       /* (owned) (nullable) the current attempt's request */
  WbPhoenixVsn             vsn;

  /* Make-before-break (wb_realtime_socket_renew): the handshake of the next connection while the
   * current one goes on, and the connections it replaced, still heard for their broadcasts. */
  GCancellable            *renew_cancellable; /* (owned) (nullable) */
  SoupMessage             *renew_msg;         /* (owned) (nullable) */
  GPtrArray               *retiring;          /* (owned) SoupWebsocketConnection */
  guint                    retire_after_ms;
  guint                    retire_id;
  guint                    renew_timeout_id;

  guint                    connect_tls_errors;/* GTlsCertificateFlags the handshake saw */
  WbMessageBudget         *budget;            /* (owned) (nullable) see wb-message-budget.c */
  gboolean                 allow_insecure_http;

  WbSocketState            state;
  gboolean                 want_connected;
  guint64                  last_ref;
  char                    *pending_heartbeat; /* (owned) (nullable) ref awaiting its reply */

  guint                    heartbeat_interval_ms;
  guint                    heartbeat_timeout_ms;
  guint                    stable_after_ms;
  WbBackoff                backoff;

  guint                    heartbeat_id;
  guint                    deadline_id;
  guint                    connect_timeout_id;
  guint                    reconnect_id;
  guint                    stable_id;
  gint64                   reconnect_at_us;   /* monotonic; 0 when no attempt is scheduled */

  /* What the server asked for: no new handshake before not_before_us (monotonic). */
  gint64                   not_before_us;
  guint                    refusals;          /* handshakes refused in a row */
  guint                    refusal_base_ms;
  guint64                  frames_dropped;    /* frames that did not decode */
};

G_DEFINE_ENUM_TYPE (WbSocketState, wb_socket_state,
                    G_DEFINE_ENUM_VALUE (WB_SOCKET_STATE_DISCONNECTED, "disconnected"),
                    G_DEFINE_ENUM_VALUE (WB_SOCKET_STATE_CONNECTING, "connecting"),
                    G_DEFINE_ENUM_VALUE (WB_SOCKET_STATE_CONNECTED, "connected"))

G_DEFINE_FINAL_TYPE (WbRealtimeSocket, wb_realtime_socket, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_BASE_URL,
  PROP_APIKEY,
  PROP_STATE,
  PROP_RECONNECT_IN_MS,
  PROP_VSN,
  N_PROPS,
};

enum {
  SIGNAL_MESSAGE,
  SIGNAL_OPENED,
  SIGNAL_CLOSED,
  SIGNAL_SERVER_ERROR,
  SIGNAL_CONNECT_FAILED,
  N_SIGNALS,
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

static void start_attempt (WbRealtimeSocket *self);

static void
set_state (WbRealtimeSocket *self,
           WbSocketState     state)
{
  if (self->state == state)
    return;
  self->state = state;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
}

static char *
build_url (WbRealtimeSocket *self)
{
  g_autofree char *key = g_uri_escape_string (self->apikey ? self->apikey : "", NULL, FALSE);
  const char *rest = self->base_url;
  const char *scheme = "";

  if (g_str_has_prefix (rest, "http://"))
    {
      scheme = "ws://";
      rest += strlen ("http://");
    }
  else if (g_str_has_prefix (rest, "https://"))
    {
      scheme = "wss://";
      rest += strlen ("https://");
    }

  return g_strdup_printf ("%s%s/realtime/v1/websocket?apikey=%s&vsn=%s", scheme, rest, key,
                          wb_phoenix_vsn_to_string (self->vsn));
}

static void
on_closing_conn_closed_cb (SoupWebsocketConnection *conn,
                           gpointer                 user_data)
{
  WbRealtimeSocket *self = user_data;

  g_ptr_array_remove (self->closing, conn);
}

/* Closes @conn politely and forgets it once the close completed. */
static void
close_politely (WbRealtimeSocket        *self,
                SoupWebsocketConnection *conn,
                const char              *reason)
{
  g_signal_handlers_disconnect_by_data (conn, self);
  if (soup_websocket_connection_get_state (conn) != SOUP_WEBSOCKET_STATE_OPEN)
    return;
  g_ptr_array_add (self->closing, g_object_ref (conn));
  g_signal_connect (conn, "closed", G_CALLBACK (on_closing_conn_closed_cb), self);
  soup_websocket_connection_close (conn, SOUP_WEBSOCKET_CLOSE_NORMAL, reason);
}

static void
cancel_renewal (WbRealtimeSocket *self)
{
  g_clear_handle_id (&self->renew_timeout_id, g_source_remove);
  if (self->renew_cancellable != NULL)
    g_cancellable_cancel (self->renew_cancellable);
  g_clear_object (&self->renew_cancellable);
  if (self->renew_msg != NULL)
    g_signal_handlers_disconnect_by_data (self->renew_msg, self);
  g_clear_object (&self->renew_msg);
}

/* Drops the current connection (if any) and every timer tied to it. With @polite, a close frame
 * is sent and the connection is kept until its close completes; otherwise (a dead peer) it is
 * dropped at once. Connections a renewal retired live on until their own end. */
static void
teardown (WbRealtimeSocket *self,
          gboolean          polite,
          const char       *reason)
{
  g_autoptr(SoupWebsocketConnection) conn = g_steal_pointer (&self->conn);

  g_clear_handle_id (&self->heartbeat_id, g_source_remove);
  g_clear_handle_id (&self->deadline_id, g_source_remove);
  g_clear_handle_id (&self->connect_timeout_id, g_source_remove);
  g_clear_handle_id (&self->stable_id, g_source_remove);
  g_clear_pointer (&self->pending_heartbeat, g_free);
  g_clear_pointer (&self->budget, wb_message_budget_free);
  if (self->connect_msg != NULL)
    g_signal_handlers_disconnect_by_data (self->connect_msg, self);
  g_clear_object (&self->connect_msg);
  cancel_renewal (self);

  if (self->cancellable != NULL)
    {
      g_cancellable_cancel (self->cancellable);
      g_clear_object (&self->cancellable);
    }

  if (conn == NULL)
    return;

  if (polite)
    close_politely (self, conn, reason);
  else
    g_signal_handlers_disconnect_by_data (conn, self);
}

static gboolean
reconnect_cb (gpointer user_data)
{
  WbRealtimeSocket *self = user_data;

  self->reconnect_id = 0;
  self->reconnect_at_us = 0;
  start_attempt (self);

  return G_SOURCE_REMOVE;
}

/* Milliseconds the server still wants us to stay away, 0 when it does not. */
static guint
held_off_ms (WbRealtimeSocket *self)
{
  gint64 now = g_get_monotonic_time ();

  if (self->not_before_us <= now)
    return 0;
  return (guint) MIN ((self->not_before_us - now + 999) / 1000, G_MAXUINT);
}

/* The next attempt after the backoff, and never before the server's hold-off has passed. */
static void
schedule_reconnect (WbRealtimeSocket *self)
{
  gboolean first;
  gint32 low;
  guint delay, held;

  if (!self->want_connected || self->reconnect_id != 0 || self->state != WB_SOCKET_STATE_DISCONNECTED)
    return;

  first = self->backoff.attempt == 0;
  low = (gint32) wb_backoff_peek_max (&self->backoff) / 4;
  delay = wb_backoff_next (&self->backoff);
  /* The first reconnect after a drop: a whole fleet of workstations loses the server at the same
   * instant (a restart, a deploy), so draw it from [base / 4, base] rather than [base / 2, base]
   * and they come back spread out (tests/bench/stations) — still never at once: the server that
   * closed may be on its way down. */
  if (first && (gint32) delay > low)
    delay = self->backoff.rand != NULL ? (guint) g_rand_int_range (self->backoff.rand, low, (gint32) delay + 1)
                                       : (guint) g_random_int_range (low, (gint32) delay + 1);
  held = held_off_ms (self);
  delay = MAX (delay, held);
  g_debug ("Reconnecting in %u ms", delay);
  self->reconnect_at_us = g_get_monotonic_time () + (gint64) delay * 1000;
  self->reconnect_id = g_timeout_add (delay, reconnect_cb, self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RECONNECT_IN_MS]);
}

/* The connection (or the attempt) is gone: tell listeners and try again later. */
static void
connection_lost (WbRealtimeSocket *self,
                 gboolean          polite,
                 const char       *reason)
{
  gboolean was_connected = self->state == WB_SOCKET_STATE_CONNECTED;

  g_object_ref (self);
  g_debug ("Connection lost: %s", reason);
  teardown (self, polite, reason);
  set_state (self, WB_SOCKET_STATE_DISCONNECTED);
  if (was_connected)
    g_signal_emit (self, signals[SIGNAL_CLOSED], 0, reason);
  schedule_reconnect (self);
  g_object_unref (self);
}

/* A handshake was refused with an HTTP status: say what the server meant, and stay away at least
 * as long as that kind of refusal asks (and as its Retry-After, if it sent one). */
static void
note_refused_handshake (WbRealtimeSocket *self,
                        SoupMessage      *msg)
{
  WbRealtimeError err;
  const char *retry_after;
  guint delay;

  wb_realtime_error_from_handshake (&err, soup_message_get_status (msg));
  retry_after = soup_message_headers_get_one (soup_message_get_response_headers (msg),
                                              "Retry-After");
  delay = wb_realtime_error_delay_ms (err.kind, self->refusal_base_ms, self->refusals);
  delay = MAX (delay, wb_rest_parse_retry_after (retry_after, g_get_real_time () / G_USEC_PER_SEC));
  self->refusals++;
  g_debug ("Handshake refused (%s: %s); not again for %u ms", err.code, err.message, delay);
  wb_realtime_socket_hold_off (self, delay);
  g_signal_emit (self, signals[SIGNAL_SERVER_ERROR], 0, (int) err.kind, err.code, err.message);
  wb_realtime_error_clear (&err);
}

static gboolean
deadline_cb (gpointer user_data)
{
  WbRealtimeSocket *self = user_data;

  self->deadline_id = 0;
  g_debug ("No heartbeat reply within %u ms", self->heartbeat_timeout_ms);
  connection_lost (self, FALSE, "heartbeat timeout");

  return G_SOURCE_REMOVE;
}

static gboolean
heartbeat_cb (gpointer user_data)
{
  WbRealtimeSocket *self = user_data;
  g_autoptr(WbPhoenixMessage) msg = NULL;
  g_autofree char *ref = NULL;

  self->heartbeat_id = 0;
  if (self->pending_heartbeat != NULL)
    {
      connection_lost (self, FALSE, "heartbeat timeout");
      return G_SOURCE_REMOVE;
    }

  ref = wb_realtime_socket_make_ref (self);
  msg = wb_phoenix_message_new ("phoenix", "heartbeat", NULL, ref, NULL);
  if (!wb_realtime_socket_send (self, msg))
    return G_SOURCE_REMOVE;

  self->pending_heartbeat = g_steal_pointer (&ref);
  g_clear_handle_id (&self->deadline_id, g_source_remove);
  self->deadline_id = g_timeout_add (self->heartbeat_timeout_ms, deadline_cb, self);

  return G_SOURCE_REMOVE;
}

static void
schedule_heartbeat (WbRealtimeSocket *self)
{
  g_clear_handle_id (&self->heartbeat_id, g_source_remove);
  self->heartbeat_id = g_timeout_add (self->heartbeat_interval_ms, heartbeat_cb, self);
}

/* Returns: (transfer full) (nullable): the frame decoded, or %NULL (dropped and counted). */
static WbPhoenixMessage *
decode_frame (WbRealtimeSocket *self,
              gint              type,
              GBytes           *bytes)
{
  g_autoptr(GError) error = NULL;
  WbPhoenixMessage *msg;
  gsize len = 0;
  const char *data = g_bytes_get_data (bytes, &len);

  msg = wb_phoenix_serializer_decode (self->vsn, WB_PHOENIX_TO_CLIENT,
                                      type == SOUP_WEBSOCKET_DATA_BINARY, data, len, &error);
  if (msg == NULL)
    {
      self->frames_dropped++;
      g_debug ("Dropping a %s frame of %" G_GSIZE_FORMAT " bytes: %s",
               type == SOUP_WEBSOCKET_DATA_BINARY ? "binary" : "text", len, error->message);
    }
  return msg;
}

static void
on_conn_message_cb (SoupWebsocketConnection *conn,
                    gint                     type,
                    GBytes                  *bytes,
                    gpointer                 user_data)
{
  WbRealtimeSocket *self = user_data;
  g_autoptr(WbPhoenixMessage) msg = decode_frame (self, type, bytes);

  if (conn == self->conn)
    wb_message_budget_mark (self->budget);
  if (msg == NULL)
    return;

  /* Only the reply to the heartbeat this connection is waiting for counts: refs never repeat on
   * a socket, so a late reply to an earlier connection's heartbeat matches nothing here. */
  if (self->pending_heartbeat != NULL
      && g_strcmp0 (msg->topic, "phoenix") == 0
      && g_ascii_strcasecmp (msg->event, "phx_reply") == 0
      && g_strcmp0 (msg->ref, self->pending_heartbeat) == 0)
    {
      g_clear_pointer (&self->pending_heartbeat, g_free);
      g_clear_handle_id (&self->deadline_id, g_source_remove);
      schedule_heartbeat (self);
    }

  g_signal_emit (self, signals[SIGNAL_MESSAGE], 0, msg);
}

/* A connection a renewal replaced: its joins, replies and closes belong to joins that were
 * replaced too, so only its broadcasts are passed on (the channels' dedupe takes the doubles). */
static void
on_retiring_message_cb (SoupWebsocketConnection *conn,
                        gint                     type,
                        GBytes                  *bytes,
                        gpointer                 user_data)
{
  WbRealtimeSocket *self = user_data;
  g_autoptr(WbPhoenixMessage) msg = decode_frame (self, type, bytes);

  if (msg != NULL && g_ascii_strcasecmp (msg->event, "broadcast") == 0)
    g_signal_emit (self, signals[SIGNAL_MESSAGE], 0, msg);
}

static void
on_retiring_closed_cb (SoupWebsocketConnection *conn,
                       gpointer                 user_data)
{
  WbRealtimeSocket *self = user_data;

  g_signal_handlers_disconnect_by_data (conn, self);
  g_ptr_array_remove (self->retiring, conn);
}

static gboolean
retire_cb (gpointer user_data)
{
  WbRealtimeSocket *self = user_data;
  g_autoptr(GPtrArray) retiring = g_steal_pointer (&self->retiring);

  self->retire_id = 0;
  self->retiring = g_ptr_array_new_with_free_func (g_object_unref);
  for (guint i = 0; i < retiring->len; i++)
    close_politely (self, g_ptr_array_index (retiring, i), "renewed");
  return G_SOURCE_REMOVE;
}

static void
retire (WbRealtimeSocket        *self,
        SoupWebsocketConnection *conn)
{
  g_signal_handlers_disconnect_by_data (conn, self);
  g_ptr_array_add (self->retiring, g_object_ref (conn));
  g_signal_connect (conn, "message", G_CALLBACK (on_retiring_message_cb), self);
  g_signal_connect (conn, "closed", G_CALLBACK (on_retiring_closed_cb), self);
  g_clear_handle_id (&self->retire_id, g_source_remove);
  self->retire_id = g_timeout_add (self->retire_after_ms, retire_cb, self);
}

static void
on_conn_closed_cb (SoupWebsocketConnection *conn,
                   gpointer                 user_data)
{
  WbRealtimeSocket *self = user_data;
  g_autofree char *reason = NULL;

  /* The budget shut the socket down under libsoup: say so, not "closed by server". */
  if (wb_message_budget_exceeded (self->budget))
    reason = g_strdup_printf ("a message larger than %" G_GUINT64_FORMAT " bytes", MAX_MESSAGE_BUDGET);
  else
    reason = g_strdup_printf ("closed by server (code %u)",
                              soup_websocket_connection_get_close_code (conn));
  connection_lost (self, FALSE, reason);
}

static void
on_conn_error_cb (SoupWebsocketConnection *conn,
                  GError                  *error,
                  gpointer                 user_data)
{
  g_debug ("Websocket error: %s", error->message);
}

static void
budget_exceeded_cb (gpointer user_data)
{
  WbRealtimeSocket *self = user_data;
  g_autofree char *reason = g_strdup_printf ("a message larger than %" G_GUINT64_FORMAT " bytes",
                                             MAX_MESSAGE_BUDGET);

  /* Dropped at once (not politely): whatever libsoup buffered for it goes with the connection. */
  connection_lost (self, FALSE, reason);
}

static gboolean
stable_cb (gpointer user_data)
{
  WbRealtimeSocket *self = user_data;

  self->stable_id = 0;
  wb_backoff_reset (&self->backoff);

  return G_SOURCE_REMOVE;
}

/* Makes @conn the current connection: its heartbeat starts from scratch (nothing pending from an
 * earlier connection carries over), and the channels are told to join on it. */
static void
adopt (WbRealtimeSocket        *self,
       SoupWebsocketConnection *conn,
       SoupMessage             *msg)
{
  self->conn = conn;
  self->refusals = 0;
  g_clear_pointer (&self->pending_heartbeat, g_free);
  g_clear_handle_id (&self->deadline_id, g_source_remove);
  g_clear_handle_id (&self->stable_id, g_source_remove);
  g_signal_connect (self->conn, "message", G_CALLBACK (on_conn_message_cb), self);
  g_signal_connect (self->conn, "closed", G_CALLBACK (on_conn_closed_cb), self);
  g_signal_connect (self->conn, "error", G_CALLBACK (on_conn_error_cb), self);
  /* libsoup's default (128 KiB) would close the socket on a large postgres_changes row. */
  soup_websocket_connection_set_max_incoming_payload_size (self->conn, WB_PHOENIX_MAX_FRAME_SIZE);
  /* A message's fragments are each under the frame limit but must not add up without bound. */
  g_clear_pointer (&self->budget, wb_message_budget_free);
#if HAVE_SOUP_MAX_TOTAL_MESSAGE_SIZE
  soup_websocket_connection_set_max_total_message_size (self->conn, WB_PHOENIX_MAX_FRAME_SIZE);
#else
  {
    GSocket *socket = msg != NULL ? g_object_get_data (G_OBJECT (msg), TCP_SOCKET_KEY) : NULL;

    if (socket != NULL)
      self->budget = wb_message_budget_new (socket, MAX_MESSAGE_BUDGET, budget_exceeded_cb, self);
  }
#endif
  /* No websocket keepalive pings: the Phoenix heartbeat already crosses the connection every
   * interval both ways (keeping NAT state warm) and its reply is our deadline; a ping beside it
   * would only wake both ends a second time per interval. */

  g_debug ("Connected to %s (vsn %s)", self->base_url, wb_phoenix_vsn_to_string (self->vsn));
  self->reconnect_at_us = 0;
  set_state (self, WB_SOCKET_STATE_CONNECTED);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RECONNECT_IN_MS]);
  schedule_heartbeat (self);
  self->stable_id = g_timeout_add (self->stable_after_ms, stable_cb, self);

  g_signal_emit (self, signals[SIGNAL_OPENED], 0);
}

static void
connect_cb (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_autoptr(WbRealtimeSocket) self = user_data;
  g_autoptr(SoupWebsocketConnection) conn = NULL;
  g_autoptr(SoupMessage) msg = NULL;
  g_autoptr(GError) error = NULL;

  conn = soup_session_websocket_connect_finish (SOUP_SESSION (source), result, &error);

  /* A newer attempt, a teardown or dispose superseded this one. */
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED)
      || self->state != WB_SOCKET_STATE_CONNECTING || self->conn != NULL)
    return;

  g_clear_handle_id (&self->connect_timeout_id, g_source_remove);
  g_clear_object (&self->cancellable);

  if (conn == NULL)
    {
      g_autoptr(GError) mapped = wb_error_from_transport (error, self->connect_tls_errors,
                                                          "realtime");
      g_autofree char *reason = g_strdup_printf ("connect failed: %s", mapped->message);

      if (self->connect_msg != NULL && soup_message_get_status (self->connect_msg) >= 400)
        note_refused_handshake (self, self->connect_msg);
      g_signal_emit (self, signals[SIGNAL_CONNECT_FAILED], 0, mapped);
      connection_lost (self, FALSE, reason);
      return;
    }

  msg = g_steal_pointer (&self->connect_msg);
  if (msg != NULL)
    g_signal_handlers_disconnect_by_data (msg, self);
  adopt (self, g_steal_pointer (&conn), msg);
}

static void
renew_cb (GObject      *source,
          GAsyncResult *result,
          gpointer      user_data)
{
  g_autoptr(WbRealtimeSocket) self = user_data;
  g_autoptr(SoupWebsocketConnection) conn = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(SoupMessage) msg = NULL;
  SoupWebsocketConnection *old;

  conn = soup_session_websocket_connect_finish (SOUP_SESSION (source), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  msg = g_steal_pointer (&self->renew_msg);
  if (msg != NULL)
    g_signal_handlers_disconnect_by_data (msg, self);
  g_clear_object (&self->renew_cancellable);
  g_clear_handle_id (&self->renew_timeout_id, g_source_remove);

  if (conn == NULL || self->state != WB_SOCKET_STATE_CONNECTED || self->conn == NULL)
    {
      g_debug ("Renewal not made: %s", error != NULL ? error->message : "the connection ended");
      if (msg != NULL && conn == NULL && soup_message_get_status (msg) >= 400)
        note_refused_handshake (self, msg);
      if (conn != NULL)
        soup_websocket_connection_close (conn, SOUP_WEBSOCKET_CLOSE_NORMAL, "not needed");
      return;
    }

  g_debug ("Renewed: the new connection takes over, the old one is heard until it ends");
  old = g_steal_pointer (&self->conn);
  g_clear_handle_id (&self->heartbeat_id, g_source_remove);
  retire (self, old);
  g_object_unref (old);
  adopt (self, g_steal_pointer (&conn), msg);
}

static gboolean
connect_timeout_cb (gpointer user_data)
{
  WbRealtimeSocket *self = user_data;

  self->connect_timeout_id = 0;
  connection_lost (self, FALSE, "connect timeout");

  return G_SOURCE_REMOVE;
}

/* The TCP socket under the connection being made (for the message budget). */
static void
network_event_cb (SoupMessage        *msg,
                  GSocketClientEvent  event,
                  GIOStream          *connection,
                  gpointer            user_data)
{
  WbRealtimeSocket *self = user_data;

  GSocket *socket;

  if ((msg != self->connect_msg && msg != self->renew_msg) || !G_IS_SOCKET_CONNECTION (connection))
    return;
  socket = g_socket_connection_get_socket (G_SOCKET_CONNECTION (connection));
  /* libsoup reads until the socket would block before it looks at what it read: a fixed receive
   * buffer (set before the handshake, instead of the kernel's autotuning up to tens of MB) keeps
   * one such read small, whatever the server pushes. Realtime traffic needs far less. */
  if (event == G_SOCKET_CLIENT_CONNECTING
      && !g_socket_set_option (socket, SOL_SOCKET, SO_RCVBUF, RECEIVE_BUFFER_BYTES, NULL))
    g_debug ("could not set the receive buffer");
  if (event == G_SOCKET_CLIENT_CONNECTED)
    g_object_set_data_full (G_OBJECT (msg), TCP_SOCKET_KEY, g_object_ref (socket), g_object_unref);
}

static gboolean
accept_certificate_cb (SoupMessage          *msg,
                       GTlsCertificate      *certificate,
                       GTlsCertificateFlags  errors,
                       gpointer              user_data)
{
  WbRealtimeSocket *self = user_data;

  self->connect_tls_errors = errors;
  return FALSE;   /* never: only noted, to name the reason */
}

static void
start_attempt (WbRealtimeSocket *self)
{
  g_autoptr(SoupMessage) msg = NULL;
  g_autoptr(GError) refused = NULL;
  g_autofree char *url = NULL;

  g_clear_handle_id (&self->reconnect_id, g_source_remove);
  self->reconnect_at_us = 0;
  teardown (self, TRUE, "reconnect");

  /* ws:// carries the access token in clear: only where the policy allows http://. Refused for
   * good (no retries): the address has to change first. */
  if (!wb_url_policy_check (self->base_url, self->allow_insecure_http, &refused))
    {
      g_debug ("Not connecting: %s", refused->message);
      self->want_connected = FALSE;
      set_state (self, WB_SOCKET_STATE_DISCONNECTED);
      g_signal_emit (self, signals[SIGNAL_CONNECT_FAILED], 0, refused);
      return;
    }
  set_state (self, WB_SOCKET_STATE_CONNECTING);

  url = build_url (self);
  msg = soup_message_new ("GET", url);
  if (msg == NULL)
    {
      connection_lost (self, FALSE, "invalid URL");
      return;
    }
  self->connect_msg = g_object_ref (msg);
  self->connect_tls_errors = 0;
  g_signal_connect (msg, "network-event", G_CALLBACK (network_event_cb), self);
  g_signal_connect (msg, "accept-certificate", G_CALLBACK (accept_certificate_cb), self);

  g_debug ("Connecting to %s", self->base_url);
  self->cancellable = g_cancellable_new ();
  self->connect_timeout_id = g_timeout_add (MAX (self->heartbeat_timeout_ms, 1000),
                                            connect_timeout_cb, self);
  soup_session_websocket_connect_async (self->session, msg, NULL, NULL, G_PRIORITY_DEFAULT,
                                        self->cancellable, connect_cb, g_object_ref (self));
}

static void
wb_realtime_socket_dispose (GObject *object)
{
  WbRealtimeSocket *self = WB_REALTIME_SOCKET (object);

  self->want_connected = FALSE;
  g_clear_handle_id (&self->reconnect_id, g_source_remove);
  g_clear_handle_id (&self->retire_id, g_source_remove);
  teardown (self, FALSE, "dispose");
  if (self->closing != NULL)
    {
      for (guint i = 0; i < self->closing->len; i++)
        g_signal_handlers_disconnect_by_data (g_ptr_array_index (self->closing, i), self);
      g_ptr_array_set_size (self->closing, 0);
    }
  if (self->retiring != NULL)
    {
      for (guint i = 0; i < self->retiring->len; i++)
        g_signal_handlers_disconnect_by_data (g_ptr_array_index (self->retiring, i), self);
      g_ptr_array_set_size (self->retiring, 0);
    }
  g_clear_object (&self->session);

  G_OBJECT_CLASS (wb_realtime_socket_parent_class)->dispose (object);
}

static void
wb_realtime_socket_finalize (GObject *object)
{
  WbRealtimeSocket *self = WB_REALTIME_SOCKET (object);

  g_clear_pointer (&self->closing, g_ptr_array_unref);
  g_clear_pointer (&self->retiring, g_ptr_array_unref);
  g_clear_pointer (&self->base_url, g_free);
  g_clear_pointer (&self->apikey, g_free);
  wb_backoff_clear (&self->backoff);

  G_OBJECT_CLASS (wb_realtime_socket_parent_class)->finalize (object);
}

static void
wb_realtime_socket_get_property (GObject    *object,
                                 guint       prop_id,
                                 GValue     *value,
                                 GParamSpec *pspec)
{
  WbRealtimeSocket *self = WB_REALTIME_SOCKET (object);

  switch (prop_id)
    {
    case PROP_BASE_URL:
      g_value_set_string (value, self->base_url);
      break;
    case PROP_STATE:
      g_value_set_enum (value, self->state);
      break;
    case PROP_RECONNECT_IN_MS:
      g_value_set_int64 (value, wb_realtime_socket_get_reconnect_in_ms (self));
      break;
    case PROP_VSN:
      g_value_set_string (value, wb_phoenix_vsn_to_string (self->vsn));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
wb_realtime_socket_set_property (GObject      *object,
                                 guint         prop_id,
                                 const GValue *value,
                                 GParamSpec   *pspec)
{
  WbRealtimeSocket *self = WB_REALTIME_SOCKET (object);

  switch (prop_id)
    {
    case PROP_BASE_URL:
      {
        const char *url = g_value_get_string (value);
        gsize len = url ? strlen (url) : 0;

        while (len > 0 && url[len - 1] == '/')
          len--;
        self->base_url = g_strndup (url ? url : "", len);
      }
      break;
    case PROP_APIKEY:
      self->apikey = g_value_dup_string (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
wb_realtime_socket_class_init (WbRealtimeSocketClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = wb_realtime_socket_dispose;
  object_class->finalize = wb_realtime_socket_finalize;
  object_class->get_property = wb_realtime_socket_get_property;
  object_class->set_property = wb_realtime_socket_set_property;

  properties[PROP_BASE_URL] =
    g_param_spec_string ("base-url", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_APIKEY] =
    g_param_spec_string ("apikey", NULL, NULL, NULL,
                         G_PARAM_WRITABLE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_STATE] =
    g_param_spec_enum ("state", NULL, NULL, WB_TYPE_SOCKET_STATE, WB_SOCKET_STATE_DISCONNECTED,
                       G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_RECONNECT_IN_MS] =
    g_param_spec_int64 ("reconnect-in-ms", NULL, NULL, -1, G_MAXINT64, -1,
                        G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  /* The Phoenix protocol version spoken ("2.0.0" or "1.0.0"); see wb_realtime_socket_set_vsn(). */
  properties[PROP_VSN] =
    g_param_spec_string ("vsn", NULL, NULL, "2.0.0", G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /* Every decoded frame, heartbeat replies included. Channels filter by topic. */
  signals[SIGNAL_MESSAGE] =
    g_signal_new ("message", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, WB_TYPE_PHOENIX_MESSAGE | G_SIGNAL_TYPE_STATIC_SCOPE);
  signals[SIGNAL_OPENED] =
    g_signal_new ("opened", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 0);
  /* An open connection went away (server close, heartbeat timeout, reconnect_now, disconnect). */
  signals[SIGNAL_CLOSED] =
    g_signal_new ("closed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, G_TYPE_STRING);
  /* A handshake refused with an HTTP status: (WbRealtimeErrorKind kind, code, message). */
  signals[SIGNAL_SERVER_ERROR] =
    g_signal_new ("server-error", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                  NULL, G_TYPE_NONE, 3, G_TYPE_INT, G_TYPE_STRING, G_TYPE_STRING);
  /* A connection attempt failed (WB_ERROR: TRANSPORT, CERTIFICATE, INSECURE_URL…). */
  signals[SIGNAL_CONNECT_FAILED] =
    g_signal_new ("connect-failed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                  NULL, G_TYPE_NONE, 1, G_TYPE_ERROR | G_SIGNAL_TYPE_STATIC_SCOPE);
}

static void
wb_realtime_socket_init (WbRealtimeSocket *self)
{
  self->state = WB_SOCKET_STATE_DISCONNECTED;
  self->heartbeat_interval_ms = DEFAULT_HEARTBEAT_INTERVAL_MS;
  self->heartbeat_timeout_ms = DEFAULT_HEARTBEAT_TIMEOUT_MS;
  self->stable_after_ms = DEFAULT_STABLE_AFTER_MS;
  self->retire_after_ms = DEFAULT_RETIRE_AFTER_MS;
  self->refusal_base_ms = WB_REALTIME_REFUSAL_BASE_MS;
  self->vsn = WB_PHOENIX_VSN_DEFAULT;
  self->retiring = g_ptr_array_new_with_free_func (g_object_unref);
  wb_backoff_init (&self->backoff, DEFAULT_BACKOFF_BASE_MS, DEFAULT_BACKOFF_MAX_MS, 2.0, 0.5);
  self->closing = g_ptr_array_new_with_free_func (g_object_unref);
  self->session = soup_session_new ();
}

/* @base_url: the project URL (http/https), @apikey: the project key (sent as query param). */
WbRealtimeSocket *
wb_realtime_socket_new (const char *base_url,
                        const char *apikey)
{
  g_return_val_if_fail (base_url != NULL, NULL);

  return g_object_new (WB_TYPE_REALTIME_SOCKET, "base-url", base_url, "apikey", apikey, NULL);
}

/* Starts connecting (and keeps reconnecting) until wb_realtime_socket_disconnect(). */
void
wb_realtime_socket_connect (WbRealtimeSocket *self)
{
  g_return_if_fail (WB_IS_REALTIME_SOCKET (self));

  self->want_connected = TRUE;
  if (self->state != WB_SOCKET_STATE_DISCONNECTED || self->reconnect_id != 0)
    return;
  if (held_off_ms (self) > 0)
    schedule_reconnect (self);
  else
    start_attempt (self);
}

void
wb_realtime_socket_disconnect (WbRealtimeSocket *self)
{
  g_autoptr(WbRealtimeSocket) hold = NULL;
  gboolean was_connected;

  g_return_if_fail (WB_IS_REALTIME_SOCKET (self));

  hold = g_object_ref (self);
  was_connected = self->state == WB_SOCKET_STATE_CONNECTED;
  self->want_connected = FALSE;
  g_clear_handle_id (&self->reconnect_id, g_source_remove);
  self->reconnect_at_us = 0;
  wb_backoff_reset (&self->backoff);
  teardown (self, TRUE, "disconnect");
  set_state (self, WB_SOCKET_STATE_DISCONNECTED);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RECONNECT_IN_MS]);
  if (was_connected)
    g_signal_emit (self, signals[SIGNAL_CLOSED], 0, "disconnect");
}

/* Tears the connection down (whatever it claims) and reconnects at once: after resume or a
 * network change a socket that looks open may be half-open. */
void
wb_realtime_socket_reconnect_now (WbRealtimeSocket *self,
                                  const char       *reason)
{
  g_autoptr(WbRealtimeSocket) hold = NULL;
  gboolean was_connected;

  g_return_if_fail (WB_IS_REALTIME_SOCKET (self));

  hold = g_object_ref (self);
  reason = reason ? reason : "reconnect";
  g_debug ("Reconnecting now: %s", reason);
  was_connected = self->state == WB_SOCKET_STATE_CONNECTED;
  self->want_connected = TRUE;
  g_clear_handle_id (&self->reconnect_id, g_source_remove);
  wb_backoff_reset (&self->backoff);
  teardown (self, TRUE, reason);
  set_state (self, WB_SOCKET_STATE_DISCONNECTED);
  if (was_connected)
    g_signal_emit (self, signals[SIGNAL_CLOSED], 0, reason);
  if (self->want_connected && self->state == WB_SOCKET_STATE_DISCONNECTED)
    start_attempt (self);
}

/* Sends @msg now. Returns %FALSE (and drops it) when not connected: nothing is buffered across
 * reconnects; channels re-send their joins when the socket opens again. */
gboolean
wb_realtime_socket_send (WbRealtimeSocket       *self,
                         const WbPhoenixMessage *msg)
{
  g_autoptr(GBytes) frame = NULL;
  gboolean binary = FALSE;

  g_return_val_if_fail (WB_IS_REALTIME_SOCKET (self), FALSE);
  g_return_val_if_fail (msg != NULL, FALSE);

  if (self->state != WB_SOCKET_STATE_CONNECTED || self->conn == NULL
      || soup_websocket_connection_get_state (self->conn) != SOUP_WEBSOCKET_STATE_OPEN)
    return FALSE;

  frame = wb_phoenix_serializer_encode (self->vsn, WB_PHOENIX_TO_SERVER, msg, &binary);
  soup_websocket_connection_send_message (self->conn, binary ? SOUP_WEBSOCKET_DATA_BINARY
                                                             : SOUP_WEBSOCKET_DATA_TEXT, frame);
  return TRUE;
}

/* Returns: (transfer full): a fresh ref, a decimal string unique for this socket. */
char *
wb_realtime_socket_make_ref (WbRealtimeSocket *self)
{
  g_return_val_if_fail (WB_IS_REALTIME_SOCKET (self), NULL);

  return g_strdup_printf ("%" G_GUINT64_FORMAT, ++self->last_ref);
}

WbSocketState
wb_realtime_socket_get_state (WbRealtimeSocket *self)
{
  g_return_val_if_fail (WB_IS_REALTIME_SOCKET (self), WB_SOCKET_STATE_DISCONNECTED);
  return self->state;
}

/* Returns: ms until the next connection attempt, or -1 when none is scheduled. */
gint64
wb_realtime_socket_get_reconnect_in_ms (WbRealtimeSocket *self)
{
  g_return_val_if_fail (WB_IS_REALTIME_SOCKET (self), -1);

  if (self->reconnect_id == 0 || self->reconnect_at_us == 0)
    return -1;
  return MAX (0, (self->reconnect_at_us - g_get_monotonic_time ()) / 1000);
}

const char *
wb_realtime_socket_get_base_url (WbRealtimeSocket *self)
{
  g_return_val_if_fail (WB_IS_REALTIME_SOCKET (self), NULL);
  return self->base_url;
}

/* Test knobs. Defaults: heartbeat every 25 s, reply deadline 25 s, backoff 1 s … 30 s jittered.
 * They take effect from the next heartbeat / reconnect. */
void
wb_realtime_socket_set_heartbeat_interval_ms (WbRealtimeSocket *self,
                                              guint             interval_ms)
{
  g_return_if_fail (WB_IS_REALTIME_SOCKET (self));
  g_return_if_fail (interval_ms > 0);

  self->heartbeat_interval_ms = interval_ms;
}

void
wb_realtime_socket_set_heartbeat_timeout_ms (WbRealtimeSocket *self,
                                             guint             timeout_ms)
{
  g_return_if_fail (WB_IS_REALTIME_SOCKET (self));
  g_return_if_fail (timeout_ms > 0);

  self->heartbeat_timeout_ms = timeout_ms;
}

void
wb_realtime_socket_set_backoff (WbRealtimeSocket *self,
                                guint             base_ms,
                                guint             max_ms)
{
  g_return_if_fail (WB_IS_REALTIME_SOCKET (self));
  g_return_if_fail (base_ms > 0 && max_ms >= base_ms);

  self->backoff.base_ms = base_ms;
  self->backoff.max_ms = max_ms;
}

/* Plain ws:// to anything but this machine is refused unless allowed (see wb-url-policy.c). */
void
wb_realtime_socket_set_allow_insecure_http (WbRealtimeSocket *self,
                                            gboolean          allow)
{
  g_return_if_fail (WB_IS_REALTIME_SOCKET (self));
  self->allow_insecure_http = allow;
}

/* How long a connection must stay up before the reconnect backoff starts over. */
void
wb_realtime_socket_set_stable_after_ms (WbRealtimeSocket *self,
                                        guint             stable_ms)
{
  g_return_if_fail (WB_IS_REALTIME_SOCKET (self));
  self->stable_after_ms = MAX (stable_ms, 1);
}

/* The protocol version to speak from the next connection on (default 2.0.0). */
void
wb_realtime_socket_set_vsn (WbRealtimeSocket *self,
                            WbPhoenixVsn      vsn)
{
  g_return_if_fail (WB_IS_REALTIME_SOCKET (self));
  g_return_if_fail (vsn == WB_PHOENIX_VSN_1_0_0 || vsn == WB_PHOENIX_VSN_2_0_0);

  if (self->vsn == vsn)
    return;
  self->vsn = vsn;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_VSN]);
}

WbPhoenixVsn
wb_realtime_socket_get_vsn (WbRealtimeSocket *self)
{
  g_return_val_if_fail (WB_IS_REALTIME_SOCKET (self), WB_PHOENIX_VSN_DEFAULT);
  return self->vsn;
}

/* Frames that did not decode (malformed, or of a kind this client does not read): dropped. */
guint64
wb_realtime_socket_get_frames_dropped (WbRealtimeSocket *self)
{
  g_return_val_if_fail (WB_IS_REALTIME_SOCKET (self), 0);
  return self->frames_dropped;
}

/* The server asked us to stay away (a rate limit, a disabled project): no handshake starts
 * within @delay_ms from now, whatever the backoff says. Only wb_realtime_socket_reconnect_now()
 * (the user, a resume from suspend) goes ahead anyway. */
void
wb_realtime_socket_hold_off (WbRealtimeSocket *self,
                             guint             delay_ms)
{
  gint64 until;

  g_return_if_fail (WB_IS_REALTIME_SOCKET (self));

  until = g_get_monotonic_time () + (gint64) delay_ms * 1000;
  if (until <= self->not_before_us)
    return;
  self->not_before_us = until;
  /* An attempt already scheduled sooner waits for the hold-off too. */
  if (self->reconnect_id != 0 && self->reconnect_at_us < until)
    {
      g_clear_handle_id (&self->reconnect_id, g_source_remove);
      self->reconnect_at_us = until;
      self->reconnect_id = g_timeout_add (held_off_ms (self), reconnect_cb, self);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RECONNECT_IN_MS]);
    }
}

static gboolean
renew_timeout_cb (gpointer user_data)
{
  WbRealtimeSocket *self = user_data;

  self->renew_timeout_id = 0;
  g_debug ("Renewal handshake took too long; the current connection goes on");
  cancel_renewal (self);
  return G_SOURCE_REMOVE;
}

/* Make-before-break: opens a new connection while the current one goes on; once it is open it
 * becomes the current connection ("opened" is emitted: channels join on it) and the old one stays
 * heard for broadcasts until the server closes it or the retire delay passes. Nothing is
 * missed in between. For connections the server ends on a schedule (a public connection's
 * 24 hours). Does nothing unless connected, or while the server asked us to stay away. */
void
wb_realtime_socket_renew (WbRealtimeSocket *self,
                          const char       *reason)
{
  g_autoptr(SoupMessage) msg = NULL;
  g_autofree char *url = NULL;

  g_return_if_fail (WB_IS_REALTIME_SOCKET (self));

  if (self->state != WB_SOCKET_STATE_CONNECTED || self->renew_cancellable != NULL
      || held_off_ms (self) > 0)
    return;
  url = build_url (self);
  msg = soup_message_new ("GET", url);
  if (msg == NULL)
    return;
  g_debug ("Renewing the connection: %s", reason != NULL ? reason : "renew");
  self->renew_msg = g_object_ref (msg);
  g_signal_connect (msg, "network-event", G_CALLBACK (network_event_cb), self);
  g_signal_connect (msg, "accept-certificate", G_CALLBACK (accept_certificate_cb), self);
  self->renew_cancellable = g_cancellable_new ();
  self->renew_timeout_id = g_timeout_add (MAX (self->heartbeat_timeout_ms, 1000),
                                          renew_timeout_cb, self);
  soup_session_websocket_connect_async (self->session, msg, NULL, NULL, G_PRIORITY_DEFAULT,
                                        self->renew_cancellable, renew_cb, g_object_ref (self));
}

/* Closes the connection and connects again on the backoff schedule (not at once, and not
 * resetting it): for a server that ended our authorisation and wants a new handshake. */
void
wb_realtime_socket_restart (WbRealtimeSocket *self,
                            const char       *reason)
{
  g_autoptr(WbRealtimeSocket) hold = NULL;

  g_return_if_fail (WB_IS_REALTIME_SOCKET (self));

  if (self->state == WB_SOCKET_STATE_DISCONNECTED)
    return;
  hold = g_object_ref (self);
  self->want_connected = TRUE;
  connection_lost (self, TRUE, reason != NULL ? reason : "restart");
}

/* Test knobs: the first floor of a rate-limit refusal (tenant refusals start at 6 times it), and
 * how long a connection replaced by a renewal is still heard. */
void
wb_realtime_socket_set_refusal_base_ms (WbRealtimeSocket *self,
                                        guint             base_ms)
{
  g_return_if_fail (WB_IS_REALTIME_SOCKET (self));
  self->refusal_base_ms = MAX (base_ms, 1);
}

guint
wb_realtime_socket_get_refusal_base_ms (WbRealtimeSocket *self)
{
  g_return_val_if_fail (WB_IS_REALTIME_SOCKET (self), WB_REALTIME_REFUSAL_BASE_MS);
  return self->refusal_base_ms;
}

void
wb_realtime_socket_set_retire_after_ms (WbRealtimeSocket *self,
                                        guint             retire_ms)
{
  g_return_if_fail (WB_IS_REALTIME_SOCKET (self));
  self->retire_after_ms = MAX (retire_ms, 1);
}
