/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-realtime-channel.c: one Realtime topic: join payload, rejoin, system messages, tokens. */

#define G_LOG_DOMAIN "wb-realtime-channel"

#include "config.h"

#include <string.h>

#include "wb-json.h"
#include "wb-realtime-channel-private.h"
#include "wb-realtime-errors.h"
#include "wb-secret.h"

#define DEFAULT_JOIN_TIMEOUT_MS 10000
#define DEFAULT_REJOIN_UNIT_MS  1000
/* A join never carries a token that expires within this margin (or a quarter of its lifetime,
 * for short-lived ones): the token is refreshed first (supabase-js #2613/#2614). */
#define TOKEN_MARGIN_S          30
#define MISMATCH_MESSAGE "mismatch between server and client bindings for postgres changes"

/* Rejoin after 1, 2, 5, then every 10 units (phoenix.js rejoinAfterMs). */
static const guint rejoin_steps[] = { 1, 2, 5, 10 };

struct _WbRealtimeChannel
{
  GObject           parent_instance;

  WbRealtimeSocket *socket;          /* (owned) */
  char             *topic;           /* (owned) */
  char             *access_token;    /* (owned) (nullable) never logged */
  GArray           *bindings;        /* (owned) of WbChannelBinding */
  gboolean          is_private;        /* config.private */
  gint64            replay_since_ms;   /* replay asked for on private joins; 0: none */

  WbChannelState    state;
  gboolean          live;
  gboolean          want_joined;
  char             *join_ref;        /* (owned) (nullable) ref of the current join push */
  char             *leave_ref;       /* (owned) (nullable) */
  char             *last_system_error; /* (owned) (nullable) */
  char             *join_token;      /* (owned) (nullable) the token the current join carried */
  gint64            token_expires_at;  /* unix s; 0 when unknown */
  gint64            token_margin_s;    /* how close to its expiry a token is no longer joined with */
  gboolean          token_refused;     /* the server refused the current token (or, without a
                                        * token, the socket's): wait for another one */
  gboolean          awaiting_token;    /* "token-needed" was emitted, no join until a token comes */
  guint             refusals;          /* rate-limit / tenant refusals in a row */
  guint             token_refusals;    /* token refusals in a row */
  guint             refusal_base_ms;
  gint64            not_before_us;     /* no join before this (monotonic) */

  guint             join_timeout_ms;
  guint             rejoin_unit_ms;
  guint             rejoin_attempt;
  guint             join_timer_id;
  guint             rejoin_timer_id;
};

G_DEFINE_ENUM_TYPE (WbChannelState, wb_channel_state,
                    G_DEFINE_ENUM_VALUE (WB_CHANNEL_STATE_CLOSED, "closed"),
                    G_DEFINE_ENUM_VALUE (WB_CHANNEL_STATE_JOINING, "joining"),
                    G_DEFINE_ENUM_VALUE (WB_CHANNEL_STATE_JOINED, "joined"),
                    G_DEFINE_ENUM_VALUE (WB_CHANNEL_STATE_ERRORED, "errored"),
                    G_DEFINE_ENUM_VALUE (WB_CHANNEL_STATE_LEAVING, "leaving"))

G_DEFINE_FINAL_TYPE (WbRealtimeChannel, wb_realtime_channel, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_STATE,
  PROP_LIVE,
  N_PROPS,
};

enum {
  SIGNAL_BROADCAST,
  SIGNAL_POSTGRES_CHANGE,
  SIGNAL_LIVE,
  SIGNAL_SYSTEM_ERROR,
  SIGNAL_CLOSED,
  SIGNAL_TOKEN_NEEDED,
  N_SIGNALS,
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

static void try_join  (WbRealtimeChannel *self);
static void send_join (WbRealtimeChannel *self);

static void
set_state (WbRealtimeChannel *self,
           WbChannelState     state)
{
  if (self->state == state)
    return;
  g_debug ("%s: state %d → %d", self->topic, self->state, state);
  self->state = state;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
}

static void
set_live (WbRealtimeChannel *self,
          gboolean           live)
{
  if (self->live == !!live)
    return;
  self->live = !!live;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LIVE]);
  if (live)
    g_signal_emit (self, signals[SIGNAL_LIVE], 0);
}

static void
push (WbRealtimeChannel *self,
      const char        *event,
      JsonNode          *payload,
      const char        *ref)
{
  g_autoptr(WbPhoenixMessage) msg = wb_phoenix_message_new (self->topic, event, payload, ref,
                                                            self->join_ref);

  wb_realtime_socket_send (self->socket, msg);
}

static void
send_leave (WbRealtimeChannel *self)
{
  g_clear_pointer (&self->leave_ref, g_free);
  self->leave_ref = wb_realtime_socket_make_ref (self->socket);
  push (self, "phx_leave", NULL, self->leave_ref);
}

static void
push_access_token (WbRealtimeChannel *self)
{
  g_autoptr(JsonObject) object = json_object_new ();
  g_autoptr(JsonNode) payload = json_node_new (JSON_NODE_OBJECT);
  g_autofree char *ref = wb_realtime_socket_make_ref (self->socket);

  json_object_set_string_member (object, "access_token", self->access_token);
  json_node_set_object (payload, object);
  push (self, "access_token", payload, ref);
  wb_secret_set (&self->join_token, self->access_token);
}

static gboolean
rejoin_cb (gpointer user_data)
{
  WbRealtimeChannel *self = user_data;

  self->rejoin_timer_id = 0;
  try_join (self);

  return G_SOURCE_REMOVE;
}

/* Milliseconds before a join may go out, 0 when it may now. */
static guint
held_off_ms (WbRealtimeChannel *self)
{
  gint64 now = g_get_monotonic_time ();

  return self->not_before_us > now ? (guint) ((self->not_before_us - now + 999) / 1000) : 0;
}

/* Whether the token may go out in a join: not refused, and not about to expire. */
static gboolean
token_usable (WbRealtimeChannel *self)
{
  if (self->token_refused)
    return FALSE;
  if (self->access_token == NULL || self->token_expires_at == 0)
    return TRUE;
  return self->token_expires_at - g_get_real_time () / G_USEC_PER_SEC > self->token_margin_s;
}

/* The channel failed (error reply, timeout, phx_error, a server close): errored, and try again
 * after the next step of the rejoin schedule, and not before @at_least_ms. */
static void
errored_for (WbRealtimeChannel *self,
             guint              at_least_ms)
{
  guint delay;

  g_clear_handle_id (&self->join_timer_id, g_source_remove);
  g_clear_handle_id (&self->rejoin_timer_id, g_source_remove);
  set_live (self, FALSE);
  set_state (self, WB_CHANNEL_STATE_ERRORED);
  if (!self->want_joined || wb_realtime_socket_get_state (self->socket) != WB_SOCKET_STATE_CONNECTED)
    return;

  delay = rejoin_steps[MIN (self->rejoin_attempt, G_N_ELEMENTS (rejoin_steps) - 1)]
          * self->rejoin_unit_ms;
  self->rejoin_attempt++;
  delay = MAX (delay, at_least_ms);
  g_debug ("%s: rejoining in %u ms", self->topic, delay);
  self->rejoin_timer_id = g_timeout_add (delay, rejoin_cb, self);
}

static void
errored (WbRealtimeChannel *self)
{
  errored_for (self, 0);
}

/* Joins now if everything allows it: wanted, the socket open, the server's hold-off over, and a
 * token fit to be sent (else "token-needed", once, and the join waits for the new token). */
static void
try_join (WbRealtimeChannel *self)
{
  guint held;

  if (!self->want_joined || wb_realtime_socket_get_state (self->socket) != WB_SOCKET_STATE_CONNECTED)
    return;
  if ((held = held_off_ms (self)) > 0)
    {
      g_clear_handle_id (&self->rejoin_timer_id, g_source_remove);
      self->rejoin_timer_id = g_timeout_add (held, rejoin_cb, self);
      return;
    }
  if (!token_usable (self))
    {
      g_clear_handle_id (&self->join_timer_id, g_source_remove);
      g_clear_handle_id (&self->rejoin_timer_id, g_source_remove);
      set_live (self, FALSE);
      /* A channel the server closed stays "closed" until it joins again. */
      if (self->state != WB_CHANNEL_STATE_CLOSED)
        set_state (self, WB_CHANNEL_STATE_JOINING);
      if (!self->awaiting_token)
        {
          self->awaiting_token = TRUE;
          g_debug ("%s: the token is refused or about to expire: waiting for a fresh one",
                   self->topic);
          g_signal_emit (self, signals[SIGNAL_TOKEN_NEEDED], 0);
        }
      return;
    }
  self->awaiting_token = FALSE;
  send_join (self);
}

/* What a refusal by the server (join reply or system error) means for the next join. */
static void
note_refusal (WbRealtimeChannel     *self,
              const WbRealtimeError *err)
{
  guint delay = 0;

  switch (err->kind)
    {
    case WB_REALTIME_ERROR_RATE_LIMIT:
    case WB_REALTIME_ERROR_TENANT:
    case WB_REALTIME_ERROR_API_KEY:
      delay = wb_realtime_error_delay_ms (err->kind, self->refusal_base_ms, self->refusals++);
      /* The server may close the socket next (it does after ClientJoinRateLimitReached): the
       * reconnect waits as long as the rejoin. */
      wb_realtime_socket_hold_off (self->socket, delay);
      break;
    case WB_REALTIME_ERROR_TOKEN:
      self->token_refused = TRUE;
      /* A token refused again and again (a misconfigured project) is not retried in a loop. */
      if (self->token_refusals++ >= 2)
        delay = wb_realtime_error_delay_ms (WB_REALTIME_ERROR_RATE_LIMIT, self->refusal_base_ms,
                                            self->token_refusals - 3);
      break;
    case WB_REALTIME_ERROR_TRANSIENT:
    default:
      break;
    }
  if (delay > 0)
    {
      g_debug ("%s: %s refusal; no join for %u ms", self->topic,
               wb_realtime_error_kind_to_string (err->kind), delay);
      self->not_before_us = MAX (self->not_before_us, g_get_monotonic_time () + (gint64) delay * 1000);
    }
}

static gboolean
join_timeout_cb (gpointer user_data)
{
  WbRealtimeChannel *self = user_data;

  self->join_timer_id = 0;
  g_debug ("%s: join timed out", self->topic);
  send_leave (self);
  errored (self);

  return G_SOURCE_REMOVE;
}

static void
send_join (WbRealtimeChannel *self)
{
  g_autoptr(JsonNode) payload = _wb_channel_build_join_payload (self->bindings,
                                                                self->access_token,
                                                                self->is_private,
                                                                self->replay_since_ms);

  g_clear_handle_id (&self->join_timer_id, g_source_remove);
  g_clear_handle_id (&self->rejoin_timer_id, g_source_remove);
  g_clear_pointer (&self->join_ref, g_free);
  g_clear_pointer (&self->last_system_error, g_free);
  self->join_ref = wb_realtime_socket_make_ref (self->socket);
  wb_secret_set (&self->join_token, self->access_token);
  for (guint i = 0; i < self->bindings->len; i++)
    g_array_index (self->bindings, WbChannelBinding, i).id = -1;

  set_live (self, FALSE);
  set_state (self, WB_CHANNEL_STATE_JOINING);
  g_debug ("%s: joining (join_ref %s)", self->topic, self->join_ref);
  push (self, "phx_join", payload, self->join_ref);
  self->join_timer_id = g_timeout_add (self->join_timeout_ms, join_timeout_cb, self);
}

static void
handle_join_reply (WbRealtimeChannel *self,
                   JsonObject        *payload)
{
  const char *status = wb_json_get_string (payload, "status");
  JsonObject *response = wb_json_get_object (payload, "response");

  g_clear_handle_id (&self->join_timer_id, g_source_remove);

  if (g_strcmp0 (status, "ok") != 0)
    {
      const char *reason = wb_json_get_string (response, "reason");
      WbRealtimeError err;

      g_debug ("%s: join failed: %s", self->topic, reason ? reason : "(no reason)");
      wb_realtime_error_from_reason (&err, reason != NULL ? reason : "join failed");
      note_refusal (self, &err);
      g_signal_emit (self, signals[SIGNAL_SYSTEM_ERROR], 0, reason ? reason : "join failed");
      if (err.kind == WB_REALTIME_ERROR_TOKEN)
        try_join (self);   /* waits for a new token */
      else
        errored_for (self, held_off_ms (self));
      wb_realtime_error_clear (&err);
      return;
    }

  if (!_wb_channel_take_server_ids (self->bindings, response))
    {
      g_debug ("%s: %s", self->topic, MISMATCH_MESSAGE);
      send_leave (self);
      g_signal_emit (self, signals[SIGNAL_SYSTEM_ERROR], 0, MISMATCH_MESSAGE);
      errored (self);
      return;
    }

  self->rejoin_attempt = 0;
  self->refusals = 0;
  self->token_refusals = 0;
  set_state (self, WB_CHANNEL_STATE_JOINED);
  /* The token changed while the join was in flight: hand the server the current one. */
  if (self->access_token != NULL && g_strcmp0 (self->join_token, self->access_token) != 0)
    push_access_token (self);
  /* Without postgres_changes bindings no "Subscribed to PostgreSQL" will come. */
  if (self->bindings->len == 0)
    set_live (self, TRUE);
}

static void
handle_system (WbRealtimeChannel *self,
               JsonObject        *payload)
{
  const char *status = wb_json_get_string (payload, "status");
  const char *extension = wb_json_get_string (payload, "extension");
  const char *message = wb_json_get_string (payload, "message");

  if (g_strcmp0 (status, "ok") == 0)
    {
      if (extension != NULL && g_ascii_strcasecmp (extension, "postgres_changes") == 0
          && self->state == WB_CHANNEL_STATE_JOINED)
        {
          /* Re-sent after each token refresh: emit "live" again so catch-up runs. */
          if (self->live)
            g_signal_emit (self, signals[SIGNAL_LIVE], 0);
          else
            set_live (self, TRUE);
        }
      else
        g_debug ("%s: system ok: %s", self->topic, message ? message : "");
      return;
    }

  g_free (self->last_system_error);
  self->last_system_error = g_strdup (message ? message : "system error");
  g_signal_emit (self, signals[SIGNAL_SYSTEM_ERROR], 0, self->last_system_error);
}

static void
handle_broadcast (WbRealtimeChannel *self,
                  JsonObject        *payload)
{
  g_autoptr(JsonNode) null_node = NULL;
  const char *event = wb_json_get_string (payload, "event");
  JsonNode *inner = json_object_get_member (payload, "payload");

  if (event == NULL)
    return;
  if (inner == NULL)
    inner = null_node = json_node_new (JSON_NODE_NULL);
  g_signal_emit (self, signals[SIGNAL_BROADCAST], 0, event, inner);
}

/* The server closed the channel. After a token shutdown (or a close without a word) the channel
 * waits for a fresh token ("token-needed"); after a rate limit or a server problem it rejoins on
 * the rejoin schedule, not before the refusal's floor. */
static void
closed_by_server (WbRealtimeChannel *self)
{
  g_autofree char *reason = g_strdup (self->last_system_error ? self->last_system_error
                                                              : "phx_close");
  gboolean was_leaving = self->state == WB_CHANNEL_STATE_LEAVING;
  WbRealtimeError err;

  g_clear_handle_id (&self->join_timer_id, g_source_remove);
  g_clear_handle_id (&self->rejoin_timer_id, g_source_remove);
  set_live (self, FALSE);
  set_state (self, WB_CHANNEL_STATE_CLOSED);
  if (was_leaving || !self->want_joined)
    return;

  if (self->last_system_error != NULL)
    wb_realtime_error_from_reason (&err, self->last_system_error);
  else
    {
      memset (&err, 0, sizeof err);
      err.kind = WB_REALTIME_ERROR_TOKEN;
    }
  note_refusal (self, &err);
  g_signal_emit (self, signals[SIGNAL_CLOSED], 0, reason);
  if (err.kind == WB_REALTIME_ERROR_TOKEN)
    try_join (self);
  else if (self->want_joined)
    errored_for (self, held_off_ms (self));
  wb_realtime_error_clear (&err);
}

static void
on_socket_message_cb (WbRealtimeChannel *self,
                      WbPhoenixMessage  *msg)
{
  g_autoptr(WbRealtimeChannel) hold = NULL;
  JsonObject *payload;
  const char *event = msg->event;

  if (g_strcmp0 (msg->topic, self->topic) != 0 || self->state == WB_CHANNEL_STATE_CLOSED)
    return;
  /* phoenix.js: frames whose join_ref is set and differs are outdated. */
  if (msg->join_ref != NULL && g_strcmp0 (msg->join_ref, self->join_ref) != 0)
    return;

  hold = g_object_ref (self);
  payload = wb_phoenix_message_get_payload_object (msg);

  if (g_ascii_strcasecmp (event, "phx_reply") == 0)
    {
      if (msg->ref == NULL)
        return;
      if (self->state == WB_CHANNEL_STATE_JOINING && g_strcmp0 (msg->ref, self->join_ref) == 0)
        handle_join_reply (self, payload);
      else if (g_strcmp0 (msg->ref, self->leave_ref) == 0)
        {
          g_clear_pointer (&self->leave_ref, g_free);
          if (self->state == WB_CHANNEL_STATE_LEAVING)
            set_state (self, WB_CHANNEL_STATE_CLOSED);
        }
    }
  else if (g_ascii_strcasecmp (event, "phx_close") == 0)
    {
      if (msg->ref != NULL && g_strcmp0 (msg->ref, self->join_ref) != 0)
        return;
      closed_by_server (self);
    }
  else if (g_ascii_strcasecmp (event, "phx_error") == 0)
    {
      if (msg->ref != NULL && g_strcmp0 (msg->ref, self->join_ref) != 0)
        return;
      if (self->state == WB_CHANNEL_STATE_LEAVING)
        return;
      g_debug ("%s: phx_error", self->topic);
      errored (self);
    }
  else if (g_ascii_strcasecmp (event, "system") == 0)
    handle_system (self, payload);
  else if (g_ascii_strcasecmp (event, "postgres_changes") == 0)
    {
      JsonObject *data = self->state == WB_CHANNEL_STATE_JOINED
                         ? _wb_channel_route_change (self->bindings, payload) : NULL;

      if (data != NULL)
        g_signal_emit (self, signals[SIGNAL_POSTGRES_CHANGE], 0, data);
    }
  else if (g_ascii_strcasecmp (event, "broadcast") == 0)
    {
      if (self->state == WB_CHANNEL_STATE_JOINED)
        handle_broadcast (self, payload);
    }
}

static void
on_socket_opened_cb (WbRealtimeChannel *self)
{
  /* Rejoin at once on every reopen, new join ref, current token (if it is fit to be sent). A
   * channel without a token of its own joins on the socket's: a new handshake made a new one. */
  self->rejoin_attempt = 0;
  if (self->access_token == NULL)
    self->token_refused = FALSE;
  try_join (self);
}

static void
on_socket_closed_cb (WbRealtimeChannel *self,
                     const char        *reason)
{
  g_clear_handle_id (&self->join_timer_id, g_source_remove);
  g_clear_handle_id (&self->rejoin_timer_id, g_source_remove);
  g_clear_pointer (&self->leave_ref, g_free);
  set_live (self, FALSE);
  if (self->state == WB_CHANNEL_STATE_LEAVING)
    set_state (self, WB_CHANNEL_STATE_CLOSED);
  else if (self->state != WB_CHANNEL_STATE_CLOSED)
    set_state (self, WB_CHANNEL_STATE_ERRORED);
}

static void
wb_realtime_channel_dispose (GObject *object)
{
  WbRealtimeChannel *self = WB_REALTIME_CHANNEL (object);

  g_clear_handle_id (&self->join_timer_id, g_source_remove);
  g_clear_handle_id (&self->rejoin_timer_id, g_source_remove);
  if (self->socket != NULL)
    g_signal_handlers_disconnect_by_data (self->socket, self);
  g_clear_object (&self->socket);

  G_OBJECT_CLASS (wb_realtime_channel_parent_class)->dispose (object);
}

static void
wb_realtime_channel_finalize (GObject *object)
{
  WbRealtimeChannel *self = WB_REALTIME_CHANNEL (object);

  g_clear_pointer (&self->bindings, g_array_unref);
  g_clear_pointer (&self->topic, g_free);
  wb_secret_clear (&self->access_token);
  g_clear_pointer (&self->join_ref, g_free);
  g_clear_pointer (&self->leave_ref, g_free);
  g_clear_pointer (&self->last_system_error, g_free);
  wb_secret_clear (&self->join_token);

  G_OBJECT_CLASS (wb_realtime_channel_parent_class)->finalize (object);
}

static void
wb_realtime_channel_get_property (GObject    *object,
                                  guint       prop_id,
                                  GValue     *value,
                                  GParamSpec *pspec)
{
  WbRealtimeChannel *self = WB_REALTIME_CHANNEL (object);

  switch (prop_id)
    {
    case PROP_STATE:
      g_value_set_enum (value, self->state);
      break;
    case PROP_LIVE:
      g_value_set_boolean (value, self->live);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
wb_realtime_channel_class_init (WbRealtimeChannelClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = wb_realtime_channel_dispose;
  object_class->finalize = wb_realtime_channel_finalize;
  object_class->get_property = wb_realtime_channel_get_property;

  properties[PROP_STATE] =
    g_param_spec_enum ("state", NULL, NULL, WB_TYPE_CHANNEL_STATE, WB_CHANNEL_STATE_CLOSED,
                       G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_LIVE] =
    g_param_spec_boolean ("live", NULL, NULL, FALSE, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /* (event, payload): the user payload of the broadcast (JSON null when absent). */
  signals[SIGNAL_BROADCAST] =
    g_signal_new ("broadcast", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 2, G_TYPE_STRING, JSON_TYPE_NODE | G_SIGNAL_TYPE_STATIC_SCOPE);
  /* The `data` object of a postgres_changes frame that matched one of our bindings. */
  signals[SIGNAL_POSTGRES_CHANGE] =
    g_signal_new ("postgres-change", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL,
                  G_TYPE_NONE, 1, JSON_TYPE_OBJECT | G_SIGNAL_TYPE_STATIC_SCOPE);
  /* "Subscribed to PostgreSQL" (again): changes flow now, run the catch-up. */
  signals[SIGNAL_LIVE] =
    g_signal_new ("live", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 0);
  /* A `system` error message, a join error reason, or a binding mismatch. */
  signals[SIGNAL_SYSTEM_ERROR] =
    g_signal_new ("system-error", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
  /* The server closed the channel (reason: the preceding system error, else "phx_close"). The
   * channel rejoins by itself when it can; after a token shutdown "token-needed" follows. */
  signals[SIGNAL_CLOSED] =
    g_signal_new ("closed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, G_TYPE_STRING);
  /* A join waits for a fresh token: the current one was refused or is about to expire (or, for
   * a channel without a token, the socket's was refused: it needs a new handshake). Emitted once
   * per wait; wb_realtime_channel_set_access_token_full() with another token ends the wait. */
  signals[SIGNAL_TOKEN_NEEDED] =
    g_signal_new ("token-needed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                  NULL, G_TYPE_NONE, 0);
}

static void
wb_realtime_channel_init (WbRealtimeChannel *self)
{
  self->bindings = g_array_new (FALSE, TRUE, sizeof (WbChannelBinding));
  g_array_set_clear_func (self->bindings, _wb_channel_binding_clear);
  self->join_timeout_ms = DEFAULT_JOIN_TIMEOUT_MS;
  self->rejoin_unit_ms = DEFAULT_REJOIN_UNIT_MS;
  self->refusal_base_ms = WB_REALTIME_REFUSAL_BASE_MS;
  self->token_margin_s = TOKEN_MARGIN_S;
}

/* @topic: the full topic, "realtime:<name>"; @access_token: (nullable) the user JWT. */
WbRealtimeChannel *
wb_realtime_channel_new (WbRealtimeSocket *socket,
                         const char       *topic,
                         const char       *access_token)
{
  WbRealtimeChannel *self;

  g_return_val_if_fail (WB_IS_REALTIME_SOCKET (socket), NULL);
  g_return_val_if_fail (topic != NULL, NULL);

  self = g_object_new (WB_TYPE_REALTIME_CHANNEL, NULL);
  self->socket = g_object_ref (socket);
  self->topic = g_strdup (topic);
  self->access_token = g_strdup (access_token);
  g_signal_connect_object (socket, "message", G_CALLBACK (on_socket_message_cb), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (socket, "opened", G_CALLBACK (on_socket_opened_cb), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (socket, "closed", G_CALLBACK (on_socket_closed_cb), self,
                           G_CONNECT_SWAPPED);

  return self;
}

/* Adds a postgres_changes binding; only before subscribe(). @event: "*", "INSERT", … */
void
wb_realtime_channel_add_postgres_changes (WbRealtimeChannel *self,
                                          const char        *event,
                                          const char        *schema,
                                          const char        *table,
                                          const char        *filter)
{
  WbChannelBinding b = { 0, };

  g_return_if_fail (WB_IS_REALTIME_CHANNEL (self));
  g_return_if_fail (event != NULL && schema != NULL);
  g_return_if_fail (self->state == WB_CHANNEL_STATE_CLOSED);

  b.event = g_strdup (event);
  b.schema = g_strdup (schema);
  b.table = g_strdup (table);
  b.filter = g_strdup (filter);
  b.id = -1;
  g_array_append_val (self->bindings, b);
}

/* Joins now if the socket is open, else as soon as it opens; keeps rejoining until
 * unsubscribe() or a server phx_close. */
void
wb_realtime_channel_subscribe (WbRealtimeChannel *self)
{
  g_return_if_fail (WB_IS_REALTIME_CHANNEL (self));

  self->want_joined = TRUE;
  self->rejoin_attempt = 0;
  if (self->state == WB_CHANNEL_STATE_JOINED || self->state == WB_CHANNEL_STATE_JOINING)
    return;
  if (wb_realtime_socket_get_state (self->socket) == WB_SOCKET_STATE_CONNECTED)
    try_join (self);
  else
    set_state (self, WB_CHANNEL_STATE_JOINING);
}

void
wb_realtime_channel_unsubscribe (WbRealtimeChannel *self)
{
  g_return_if_fail (WB_IS_REALTIME_CHANNEL (self));

  self->want_joined = FALSE;
  g_clear_handle_id (&self->join_timer_id, g_source_remove);
  g_clear_handle_id (&self->rejoin_timer_id, g_source_remove);
  set_live (self, FALSE);
  if ((self->state == WB_CHANNEL_STATE_JOINED || self->state == WB_CHANNEL_STATE_JOINING)
      && wb_realtime_socket_get_state (self->socket) == WB_SOCKET_STATE_CONNECTED)
    {
      send_leave (self);
      set_state (self, WB_CHANNEL_STATE_LEAVING);
    }
  else
    set_state (self, WB_CHANNEL_STATE_CLOSED);
}

/* Stores @access_token for every later (re)join and pushes it when joined; its expiry unknown. */
void
wb_realtime_channel_set_access_token (WbRealtimeChannel *self,
                                      const char        *access_token)
{
  wb_realtime_channel_set_access_token_full (self, access_token, 0);
}

/* Stores @access_token, which expires at @expires_at (unix seconds, 0: unknown), for every later
 * (re)join and pushes it when joined. A join never goes out with a token that expires within
 * 30 s (or a quarter of its lifetime, whichever is less): the channel asks for a fresh one with
 * "token-needed" and joins once it is given. */
void
wb_realtime_channel_set_access_token_full (WbRealtimeChannel *self,
                                           const char        *access_token,
                                           gint64             expires_at)
{
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;

  g_return_if_fail (WB_IS_REALTIME_CHANNEL (self));

  self->token_expires_at = MAX (expires_at, 0);
  self->token_margin_s = expires_at > now ? MIN (TOKEN_MARGIN_S, (expires_at - now) / 4)
                                          : TOKEN_MARGIN_S;
  if (g_strcmp0 (self->access_token, access_token) == 0)
    return;
  wb_secret_set (&self->access_token, access_token);
  self->token_refused = FALSE;
  if (self->state == WB_CHANNEL_STATE_JOINED && access_token != NULL)
    push_access_token (self);
  if (self->awaiting_token)
    try_join (self);
}

WbChannelState
wb_realtime_channel_get_state (WbRealtimeChannel *self)
{
  g_return_val_if_fail (WB_IS_REALTIME_CHANNEL (self), WB_CHANNEL_STATE_CLOSED);
  return self->state;
}

gboolean
wb_realtime_channel_get_live (WbRealtimeChannel *self)
{
  g_return_val_if_fail (WB_IS_REALTIME_CHANNEL (self), FALSE);
  return self->live;
}

const char *
wb_realtime_channel_get_topic (WbRealtimeChannel *self)
{
  g_return_val_if_fail (WB_IS_REALTIME_CHANNEL (self), NULL);
  return self->topic;
}

/* Returns: (nullable): the join ref of the current (or last) join push. */
const char *
wb_realtime_channel_get_join_ref (WbRealtimeChannel *self)
{
  g_return_val_if_fail (WB_IS_REALTIME_CHANNEL (self), NULL);
  return self->join_ref;
}

/* Returns: (transfer full): the phx_join payload a (re)join would send now. */
JsonNode *
wb_realtime_channel_build_join_payload (WbRealtimeChannel *self)
{
  g_return_val_if_fail (WB_IS_REALTIME_CHANNEL (self), NULL);
  return _wb_channel_build_join_payload (self->bindings, self->access_token, self->is_private,
                                         self->replay_since_ms);
}

void
wb_realtime_channel_set_private (WbRealtimeChannel *self,
                                 gboolean           private_)
{
  g_return_if_fail (WB_IS_REALTIME_CHANNEL (self));
  self->is_private = private_;
}

void
wb_realtime_channel_set_replay_since (WbRealtimeChannel *self,
                                      gint64             since_ms)
{
  g_return_if_fail (WB_IS_REALTIME_CHANNEL (self));
  self->replay_since_ms = MAX (since_ms, 0);
}

/* For tests: the first floor of a rate-limit refusal (see wb-realtime-errors.h). */
void
wb_realtime_channel_set_refusal_base_ms (WbRealtimeChannel *self,
                                         guint              base_ms)
{
  g_return_if_fail (WB_IS_REALTIME_CHANNEL (self));
  self->refusal_base_ms = MAX (base_ms, 1);
}

/* Whether a join is waiting for a fresh token. */
gboolean
wb_realtime_channel_get_awaiting_token (WbRealtimeChannel *self)
{
  g_return_val_if_fail (WB_IS_REALTIME_CHANNEL (self), FALSE);
  return self->awaiting_token;
}

/* For tests: join timeout and the unit of the 1/2/5/10 rejoin schedule. */
void
wb_realtime_channel_set_timings (WbRealtimeChannel *self,
                                 guint              join_timeout_ms,
                                 guint              rejoin_unit_ms)
{
  g_return_if_fail (WB_IS_REALTIME_CHANNEL (self));

  self->join_timeout_ms = MAX (join_timeout_ms, 1);
  self->rejoin_unit_ms = MAX (rejoin_unit_ms, 1);
}
