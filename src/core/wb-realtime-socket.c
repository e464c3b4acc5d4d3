#define G_LOG_DOMAIN "wb-realtime-socket"

#include "config.h"

#include <libsoup/soup.h>

#include "wb-backoff.h"
#include "wb-realtime-socket.h"

#define DEFAULT_HEARTBEAT_INTERVAL_MS 25000
#define DEFAULT_HEARTBEAT_TIMEOUT_MS  25000
#define DEFAULT_BACKOFF_BASE_MS       1000
#define DEFAULT_BACKOFF_MAX_MS        30000
#define DEFAULT_STABLE_AFTER_MS       60000

struct _WbRealtimeSocket
{
  GObject                  parent_instance;

  char                    *base_url;          /* (owned) without credentials */
  char                    *apikey;            /* (owned) never logged */
  SoupSession             *session;           /* (owned) */
  SoupWebsocketConnection *conn;              /* (owned) (nullable) */
  GPtrArray               *closing;           /* (owned) connections finishing their close */
  GCancellable            *cancellable;       /* (owned) (nullable) current connect attempt */

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
  N_PROPS,
};

enum {
  SIGNAL_MESSAGE,
  SIGNAL_OPENED,
  SIGNAL_CLOSED,
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

  return g_strdup_printf ("%s%s/realtime/v1/websocket?apikey=%s&vsn=1.0.0", scheme, rest, key);
}

static void
on_closing_conn_closed_cb (SoupWebsocketConnection *conn,
                           gpointer                 user_data)
{
  WbRealtimeSocket *self = user_data;

  g_ptr_array_remove (self->closing, conn);
}

/* Drops the current connection (if any) and every timer tied to it. With @polite, a close frame
 * is sent and the connection is kept until its close completes; otherwise (a dead peer) it is
 * dropped at once. */
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

  if (self->cancellable != NULL)
    {
      g_cancellable_cancel (self->cancellable);
      g_clear_object (&self->cancellable);
    }

  if (conn == NULL)
    return;

  g_signal_handlers_disconnect_by_data (conn, self);
  if (polite && soup_websocket_connection_get_state (conn) == SOUP_WEBSOCKET_STATE_OPEN)
    {
      g_ptr_array_add (self->closing, g_object_ref (conn));
      g_signal_connect (conn, "closed", G_CALLBACK (on_closing_conn_closed_cb), self);
      soup_websocket_connection_close (conn, SOUP_WEBSOCKET_CLOSE_NORMAL, reason);
    }
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

static void
schedule_reconnect (WbRealtimeSocket *self)
{
  gboolean first;
  gint32 low;
  guint delay;

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

static void
on_conn_message_cb (SoupWebsocketConnection *conn,
                    gint                     type,
                    GBytes                  *bytes,
                    gpointer                 user_data)
{
  WbRealtimeSocket *self = user_data;
  g_autoptr(WbPhoenixMessage) msg = NULL;
  g_autoptr(GError) error = NULL;
  gsize len = 0;
  const char *data = g_bytes_get_data (bytes, &len);

  if (type != SOUP_WEBSOCKET_DATA_TEXT)
    {
      g_debug ("Ignoring a binary frame (%" G_GSIZE_FORMAT " bytes)", len);
      return;
    }

  msg = wb_phoenix_message_decode (data, len, &error);
  if (msg == NULL)
    {
      g_debug ("Dropping a frame: %s", error->message);
      return;
    }

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

static void
on_conn_closed_cb (SoupWebsocketConnection *conn,
                   gpointer                 user_data)
{
  WbRealtimeSocket *self = user_data;
  g_autofree char *reason = g_strdup_printf ("closed by server (code %u)",
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

static gboolean
stable_cb (gpointer user_data)
{
  WbRealtimeSocket *self = user_data;

  self->stable_id = 0;
  wb_backoff_reset (&self->backoff);

  return G_SOURCE_REMOVE;
}

static void
connect_cb (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_autoptr(WbRealtimeSocket) self = user_data;
  g_autoptr(SoupWebsocketConnection) conn = NULL;
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
      g_autofree char *reason = g_strdup_printf ("connect failed: %s", error->message);

      connection_lost (self, FALSE, reason);
      return;
    }

  self->conn = g_steal_pointer (&conn);
  g_signal_connect (self->conn, "message", G_CALLBACK (on_conn_message_cb), self);
  g_signal_connect (self->conn, "closed", G_CALLBACK (on_conn_closed_cb), self);
  g_signal_connect (self->conn, "error", G_CALLBACK (on_conn_error_cb), self);
  /* libsoup's default (128 KiB) would close the socket on a large postgres_changes row. */
  soup_websocket_connection_set_max_incoming_payload_size (self->conn, WB_PHOENIX_MAX_FRAME_SIZE);
  /* libsoup 3.2 pings without checking pongs: harmless, keeps NAT state warm; the deadline is
   * ours (heartbeat reply). Only for realistic (second-scale) intervals. */
  if (self->heartbeat_interval_ms >= 1000)
    soup_websocket_connection_set_keepalive_interval (self->conn,
                                                      self->heartbeat_interval_ms / 1000);

  g_debug ("Connected to %s", self->base_url);
  self->reconnect_at_us = 0;
  set_state (self, WB_SOCKET_STATE_CONNECTED);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RECONNECT_IN_MS]);
  schedule_heartbeat (self);
  self->stable_id = g_timeout_add (self->stable_after_ms, stable_cb, self);

  g_signal_emit (self, signals[SIGNAL_OPENED], 0);
}

static gboolean
connect_timeout_cb (gpointer user_data)
{
  WbRealtimeSocket *self = user_data;

  self->connect_timeout_id = 0;
  connection_lost (self, FALSE, "connect timeout");

  return G_SOURCE_REMOVE;
}

static void
start_attempt (WbRealtimeSocket *self)
{
  g_autoptr(SoupMessage) msg = NULL;
  g_autofree char *url = NULL;

  g_clear_handle_id (&self->reconnect_id, g_source_remove);
  self->reconnect_at_us = 0;
  teardown (self, TRUE, "reconnect");
  set_state (self, WB_SOCKET_STATE_CONNECTING);

  url = build_url (self);
  msg = soup_message_new ("GET", url);
  if (msg == NULL)
    {
      connection_lost (self, FALSE, "invalid URL");
      return;
    }

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
  teardown (self, FALSE, "dispose");
  if (self->closing != NULL)
    {
      for (guint i = 0; i < self->closing->len; i++)
        g_signal_handlers_disconnect_by_data (g_ptr_array_index (self->closing, i), self);
      g_ptr_array_set_size (self->closing, 0);
    }
  g_clear_object (&self->session);

  G_OBJECT_CLASS (wb_realtime_socket_parent_class)->dispose (object);
}

static void
wb_realtime_socket_finalize (GObject *object)
{
  WbRealtimeSocket *self = WB_REALTIME_SOCKET (object);

  g_clear_pointer (&self->closing, g_ptr_array_unref);
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
}

static void
wb_realtime_socket_init (WbRealtimeSocket *self)
{
  self->state = WB_SOCKET_STATE_DISCONNECTED;
  self->heartbeat_interval_ms = DEFAULT_HEARTBEAT_INTERVAL_MS;
  self->heartbeat_timeout_ms = DEFAULT_HEARTBEAT_TIMEOUT_MS;
  self->stable_after_ms = DEFAULT_STABLE_AFTER_MS;
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
  g_autofree char *text = NULL;

  g_return_val_if_fail (WB_IS_REALTIME_SOCKET (self), FALSE);
  g_return_val_if_fail (msg != NULL, FALSE);

  if (self->state != WB_SOCKET_STATE_CONNECTED || self->conn == NULL
      || soup_websocket_connection_get_state (self->conn) != SOUP_WEBSOCKET_STATE_OPEN)
    return FALSE;

  text = wb_phoenix_message_encode (msg);
  soup_websocket_connection_send_text (self->conn, text);
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

/* How long a connection must stay up before the reconnect backoff starts over. */
void
wb_realtime_socket_set_stable_after_ms (WbRealtimeSocket *self,
                                        guint             stable_ms)
{
  g_return_if_fail (WB_IS_REALTIME_SOCKET (self));
  self->stable_after_ms = MAX (stable_ms, 1);
}
