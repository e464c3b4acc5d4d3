/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-pipeline.c: socket + channel + auth + merger + details + catch-up + flags, wired together.
 *
 * The pipeline owns every core object and emits one WbAlertRecord for each thing that should
 * ring (alert), be enriched (update) or be taken back (withdraw). Firing the tiers and writing the
 * alert log are the caller's job (WbAlertDispatcher + WbAlertLog). */

#define G_LOG_DOMAIN "wb-pipeline"

#include "config.h"

#include "wb-api-key.h"
#include "wb-error.h"
#include "wb-event-normaliser.h"
#include "wb-json.h"
#include "wb-pipeline-private.h"
#include "wb-realtime-errors.h"
#include "wb-secret.h"
#include "wb-url-policy.h"

/* The wiring: auth, socket, channel, catch-up, flags and the sleep monitor feed events to the
 * episodes (wb-pipeline-episodes.c) and keep the state the window and --status show. */

G_DEFINE_FINAL_TYPE (WbPipeline, wb_pipeline, G_TYPE_OBJECT)

enum {
  SIGNAL_ALERT,
  SIGNAL_QUEUE_CHANGED,
  SIGNAL_STATE_CHANGED,
  SIGNAL_EPISODE_ENDED,
  SIGNAL_CONNECTION_ALARM,
  SIGNAL_ACCEPT_STARTED,
  SIGNAL_ACCEPT_DONE,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

void
_wb_pipeline_emit_alert (WbPipeline    *self,
                         WbAlertRecord *record)
{
  g_signal_emit (self, signals[SIGNAL_ALERT], 0, record);
}

void
_wb_pipeline_emit_queue_changed (WbPipeline *self)
{
  g_signal_emit (self, signals[SIGNAL_QUEUE_CHANGED], 0);
}

void
_wb_pipeline_emit_state_changed (WbPipeline *self)
{
  g_signal_emit (self, signals[SIGNAL_STATE_CHANGED], 0);
}

void
_wb_pipeline_emit_episode_ended (WbPipeline    *self,
                                 WbAlertRecord *withdraw)
{
  g_signal_emit (self, signals[SIGNAL_EPISODE_ENDED], 0, withdraw);
}

void
_wb_pipeline_emit_accept_started (WbPipeline *self,
                                  const char *assignment_id)
{
  g_signal_emit (self, signals[SIGNAL_ACCEPT_STARTED], 0, assignment_id);
}

void
_wb_pipeline_emit_accept_done (WbPipeline      *self,
                               WbAcceptOutcome *outcome)
{
  g_signal_emit (self, signals[SIGNAL_ACCEPT_DONE], 0, outcome);
}

void
wb_pipeline_config_clear (WbPipelineConfig *config)
{
  g_clear_pointer (&config->url, g_free);
  g_clear_pointer (&config->anon_key, g_free);
  g_clear_pointer (&config->email, g_free);
  wb_secret_clear (&config->password);
  wb_secret_clear (&config->refresh_token);
  g_clear_pointer (&config->topic, g_free);
  g_clear_pointer (&config->db_broadcast_topic, g_free);
  g_clear_pointer (&config->dedupe_path, g_free);
}


/* ---- state ----------------------------------------------------------------------------------- */

const char *
wb_pipeline_get_state (WbPipeline *self)
{
  g_return_val_if_fail (WB_IS_PIPELINE (self), "disconnected");

  if (wb_auth_get_state (self->auth) == WB_AUTH_STATE_SIGNED_OUT && self->started)
    return self->sign_in_retry_id != 0 ? "disconnected" : "signed_out";
  return wb_pipeline_get_realtime_state (self);
}

/* The realtime connection's state whether signed in or not: disconnected, connecting, joining,
 * subscribed. */
const char *
wb_pipeline_get_realtime_state (WbPipeline *self)
{
  g_return_val_if_fail (WB_IS_PIPELINE (self), "disconnected");

  switch (wb_realtime_socket_get_state (self->socket))
    {
    case WB_SOCKET_STATE_DISCONNECTED:
      return "disconnected";
    case WB_SOCKET_STATE_CONNECTING:
      return "connecting";
    case WB_SOCKET_STATE_CONNECTED:
    default:
      break;
    }
  if (wb_realtime_channel_get_state (self->channel) == WB_CHANNEL_STATE_JOINED
      && wb_realtime_channel_get_live (self->channel))
    return "subscribed";
  return "joining";
}

/* Whether realtime listens on the API key alone (no user token): broadcasts only, and the
 * server ends such a connection after 24 hours. */
gboolean
wb_pipeline_is_public (WbPipeline *self)
{
  g_return_val_if_fail (WB_IS_PIPELINE (self), FALSE);
  return self->started && wb_auth_get_access_token (self->auth) == NULL;
}

gint64
wb_pipeline_get_reconnect_in_ms (WbPipeline *self)
{
  return wb_realtime_socket_get_reconnect_in_ms (self->socket);
}

guint
wb_pipeline_get_max_fetches_in_flight (WbPipeline *self)
{
  return wb_detail_fetcher_get_max_in_flight_seen (self->fetcher);
}

guint
wb_pipeline_get_largest_detail_batch (WbPipeline *self)
{
  return wb_detail_fetcher_get_largest_batch (self->fetcher);
}

/* ---- the connection alarm --------------------------------------------------------------- */

static void
set_problem (WbPipeline *self,
             const char *format,
             ...) G_GNUC_PRINTF (2, 3);

/* Why we are not receiving, for the alarm, the window and --status. Server text: kept as a line. */
static void
set_problem (WbPipeline *self,
             const char *format,
             ...)
{
  va_list args;
  g_autofree char *text = NULL;

  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);
  g_free (self->problem);
  self->problem = wb_event_one_line (text, 200);
}

static gboolean
alarm_cb (gpointer user_data)
{
  WbPipeline *self = user_data;

  self->alarm_id = 0;
  if (self->not_receiving_us == 0 || self->alarm_raised)
    return G_SOURCE_REMOVE;
  self->alarm_raised = TRUE;
  wb_health_inc (self->health, WB_HEALTH_CONNECTION_ALARMS);
  g_message ("Not receiving requests since %" G_GINT64_FORMAT " s: %s",
             (g_get_real_time () - self->not_receiving_us) / G_USEC_PER_SEC,
             self->problem != NULL ? self->problem : "no connection to the server");
  g_signal_emit (self, signals[SIGNAL_CONNECTION_ALARM], 0, TRUE);
  return G_SOURCE_REMOVE;
}

/* Signed in (or trying to be) but not subscribed: requests are not reaching this workstation. A
 * reconnect that succeeds within alarm_ms never raises the alarm; resubscribing clears it. */
static void
track_receiving (WbPipeline *self,
                 const char *state)
{
  gboolean receiving = !self->started || g_str_equal (state, "subscribed")
                       || g_str_equal (state, "signed_out");

  if (receiving)
    {
      if (self->not_receiving_us == 0)
        return;
      self->not_receiving_us = 0;
      g_clear_handle_id (&self->alarm_id, g_source_remove);
      wb_health_set_not_receiving (self->health, 0, NULL);
      if (self->alarm_raised)
        {
          self->alarm_raised = FALSE;
          g_signal_emit (self, signals[SIGNAL_CONNECTION_ALARM], 0, FALSE);
        }
      return;
    }
  if (self->not_receiving_us == 0)
    {
      self->not_receiving_us = g_get_real_time ();
      if (self->alarm_ms > 0)
        self->alarm_id = g_timeout_add (self->alarm_ms, alarm_cb, self);
    }
  wb_health_set_not_receiving (self->health, self->not_receiving_us,
                               self->problem != NULL ? self->problem : state);
}

void
wb_pipeline_set_connection_alarm_ms (WbPipeline *self,
                                     guint       msec)
{
  g_return_if_fail (WB_IS_PIPELINE (self));

  if (self->alarm_ms == msec)
    return;
  self->alarm_ms = msec;
  g_clear_handle_id (&self->alarm_id, g_source_remove);
  if (msec > 0 && self->not_receiving_us != 0 && !self->alarm_raised)
    {
      gint64 waited_ms = (g_get_real_time () - self->not_receiving_us) / 1000;

      self->alarm_id = g_timeout_add (waited_ms >= msec ? 0 : msec - (guint) waited_ms, alarm_cb, self);
    }
}

gint64
wb_pipeline_get_not_receiving_since (WbPipeline *self)
{
  g_return_val_if_fail (WB_IS_PIPELINE (self), 0);
  return self->not_receiving_us;
}

const char *
wb_pipeline_get_problem (WbPipeline *self)
{
  g_return_val_if_fail (WB_IS_PIPELINE (self), NULL);
  return self->not_receiving_us != 0 ? self->problem : NULL;
}

gboolean
wb_pipeline_get_connection_alarm (WbPipeline *self)
{
  g_return_val_if_fail (WB_IS_PIPELINE (self), FALSE);
  return self->alarm_raised;
}

const GError *
wb_pipeline_get_last_error (WbPipeline *self)
{
  g_return_val_if_fail (WB_IS_PIPELINE (self), NULL);
  return self->last_error;
}

static void
set_last_error (WbPipeline   *self,
                const GError *error)
{
  g_clear_error (&self->last_error);
  self->last_error = error != NULL ? g_error_copy (error) : NULL;
  wb_health_set_last_error (self->health, error != NULL ? error->message : NULL);
}

static void
update_state (WbPipeline *self)
{
  const char *state = wb_pipeline_get_state (self);
  const char *realtime = wb_pipeline_get_realtime_state (self);

  if (g_strcmp0 (state, "subscribed") == 0)
    set_last_error (self, NULL);
  wb_health_set_state (self->health, state);
  wb_health_set_text (self->health, WB_HEALTH_TEXT_REALTIME, realtime);
  wb_health_set_text (self->health, WB_HEALTH_TEXT_CONNECTION,
                      g_strcmp0 (realtime, "disconnected") == 0 ? "none"
                      : wb_pipeline_is_public (self) ? "public" : "user");
  track_receiving (self, state);
  g_signal_emit (self, signals[SIGNAL_STATE_CHANGED], 0);
}

/* Realtime reported an error: it shows in the window and in --status until the next
 * subscription. */
static void
note_server_error (WbPipeline            *self,
                   const WbRealtimeError *err)
{
  g_message ("Realtime: %s%s%s", err->code != NULL ? err->code : "",
             err->code != NULL ? ": " : "", err->message);
  wb_health_set_server_error (self->health, wb_realtime_error_kind_to_string (err->kind),
                              err->code, err->message);
}

/* ---- realtime -------------------------------------------------------------------------------- */

static void flags_loaded_cb (GObject      *source,
                             GAsyncResult *result,
                             gpointer      user_data);

static void
on_channel_postgres_change_cb (WbPipeline *self,
                               JsonObject *data,
                               gpointer    channel)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(WbEvent) ev = NULL;
  const char *table = wb_json_get_string (data, "table");

  if (g_strcmp0 (table, "feature_flags") == 0)
    {
      if (wb_flags_apply_change (self->flags, data))
        g_debug ("feature flags changed live");
      return;
    }

  ev = wb_event_from_postgres_change (data, g_get_real_time (), g_get_monotonic_time (), &error);
  if (ev == NULL)
    {
      g_debug ("postgres_changes frame not usable: %s", error->message);
      wb_catchup_run_now (self->catchup, "unusable postgres_changes frame");
      return;
    }
  _wb_pipeline_offer_event (self, ev);
}

static void
on_channel_broadcast_cb (WbPipeline *self,
                         const char *event,
                         JsonNode   *payload,
                         gpointer    channel)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(WbEvent) ev = NULL;

  ev = wb_event_from_broadcast (event, payload, g_get_real_time (), g_get_monotonic_time (), &error);
  if (ev == NULL)
    {
      g_debug ("broadcast %s not usable: %s", event, error->message);
      return;
    }
  /* Anyone with the API key can send it: the database confirms before it rings. */
  _wb_pipeline_offer_hint (self, ev);
}

static void
on_channel_live_cb (WbPipeline *self,
                    gpointer    channel)
{
  /* Only now are postgres_changes flowing: rows written before this moment are found by the
   * catch-up, rows written after it arrive live. */
  wb_health_end_server_error (self->health);
  wb_catchup_set_realtime_live (self->catchup, TRUE);
  wb_catchup_run_now (self->catchup, "subscribed");
  /* Flag changes made while we were away arrived on no stream either. */
  wb_flags_load_async (self->flags, self->cancellable, flags_loaded_cb, NULL);
  update_state (self);
}

static void
on_channel_system_error_cb (WbPipeline *self,
                            const char *message,
                            gpointer    channel)
{
  WbRealtimeError err;

  wb_realtime_error_from_reason (&err, message);
  note_server_error (self, &err);
  set_problem (self, "The server refused the subscription: %s", err.message);
  wb_realtime_error_clear (&err);
  wb_catchup_set_realtime_live (self->catchup, FALSE);
  update_state (self);
}

/* The channel rejoins by itself (after a refusal's floor) or asks for a token (token-needed). */
static void
on_channel_closed_cb (WbPipeline *self,
                      const char *reason,
                      gpointer    channel)
{
  g_debug ("channel closed by the server (%s)", reason);
  wb_catchup_set_realtime_live (self->catchup, FALSE);
  update_state (self);
}

#define KEY_TOKEN_IMMEDIATE_S 10

/* A join waits for a fresh token: the user's is refused or about to expire (refresh it first:
 * supabase-js #2613/#2614), or, on the API key alone, the server ended the key's token (a new
 * handshake makes a new one). */
static void
on_channel_token_needed_cb (WbPipeline *self,
                            gpointer    channel)
{
  gint64 now = g_get_monotonic_time ();

  if (wb_auth_get_refresh_token (self->auth) != NULL)
    wb_auth_refresh_soon (self->auth, "the channel needs a fresh token");
  /* The server ended the key's token on schedule (not an outage): the new handshake is made at
   * once, so the announcements of the next moments reach the new connection. At most once per
   * KEY_TOKEN_IMMEDIATE_S: a server that keeps ending it is retried on the backoff schedule. */
  else if (self->key_token_ended_us == 0
           || now - self->key_token_ended_us > KEY_TOKEN_IMMEDIATE_S * G_USEC_PER_SEC)
    {
      self->key_token_ended_us = now;
      wb_realtime_socket_reconnect_now (self->socket, "the API key's token ended");
    }
  else
    wb_realtime_socket_restart (self->socket, "the API key's token ended");
}

static void
on_socket_server_error_cb (WbPipeline *self,
                           int         kind,
                           const char *code,
                           const char *message,
                           gpointer    socket)
{
  WbRealtimeError err = { .kind = kind, .code = (char *) code, .message = (char *) message };

  note_server_error (self, &err);
  update_state (self);
}

static void
on_channel_notify_state_cb (WbPipeline *self,
                            GParamSpec *pspec,
                            gpointer    channel)
{
  update_state (self);
}

static gboolean
public_renew_cb (gpointer user_data)
{
  WbPipeline *self = user_data;

  self->public_renew_id = 0;
  if (!wb_pipeline_is_public (self))
    return G_SOURCE_REMOVE;
  g_message ("Renewing the realtime connection before the server's limit for connections "
             "without an account");
  wb_health_inc (self->health, WB_HEALTH_CONNECTION_RENEWALS);
  wb_realtime_socket_renew (self->socket, "public connection limit");
  return G_SOURCE_REMOVE;
}

/* The server ends a connection on the API key alone after public_connection_max_s: open the next
 * one before that (at 90 %), so that nothing said in between is missed. */
static void
arm_public_renewal (WbPipeline *self)
{
  guint64 max_ms = (guint64) self->config.public_connection_max_s * 1000;

  g_clear_handle_id (&self->public_renew_id, g_source_remove);
  if (!wb_pipeline_is_public (self))
    return;
  self->public_renew_id = g_timeout_add ((guint) MIN (max_ms * 9 / 10, G_MAXUINT),
                                         public_renew_cb, self);
}

static void
on_socket_opened_cb (WbPipeline *self,
                     gpointer    socket)
{
  if (self->connected_once)
    wb_health_inc (self->health, WB_HEALTH_RECONNECTS);
  self->connected_once = TRUE;
  arm_public_renewal (self);
  update_state (self);
}

static void
on_socket_closed_cb (WbPipeline *self,
                     const char *reason,
                     gpointer    socket)
{
  g_debug ("socket closed: %s", reason);
  g_clear_handle_id (&self->public_renew_id, g_source_remove);
  set_problem (self, "Connection lost: %s", reason);
  wb_catchup_set_realtime_live (self->catchup, FALSE);
  update_state (self);
}

static void
on_socket_connect_failed_cb (WbPipeline   *self,
                             const GError *error,
                             gpointer      socket)
{
  set_last_error (self, error);
  update_state (self);
}

static void
on_socket_notify_cb (WbPipeline *self,
                     GParamSpec *pspec,
                     gpointer    socket)
{
  update_state (self);
}

static void
on_resumed_cb (WbPipeline *self,
               const char *reason,
               gpointer    monitor)
{
  if (!self->started || wb_auth_get_state (self->auth) == WB_AUTH_STATE_SIGNED_OUT)
    return;
  g_debug ("resumed (%s): fresh token, fresh socket", reason);
  wb_auth_refresh_soon (self->auth, reason);
  wb_realtime_socket_reconnect_now (self->socket, reason);
}

/* ---- the dedupe set, loaded off the main loop ------------------------------------------------- */

typedef struct
{
  WbEvent   *event;   /* (owned) (nullable) */
  GPtrArray *rows;    /* (owned) (nullable) a catch-up result */
  gint64     token;
} WbPipelineWaiting;

static void
waiting_free (WbPipelineWaiting *w)
{
  g_clear_pointer (&w->event, wb_event_free);
  g_clear_pointer (&w->rows, g_ptr_array_unref);
  g_free (w);
}

/* Before the dedupe set is loaded nothing can be merged (it would ring what rang in an earlier
 * run): keeps @ev or the catch-up @rows for later and returns TRUE. */
gboolean
_wb_pipeline_wait_for_dedupe (WbPipeline    *self,
                              const WbEvent *ev,
                              GPtrArray     *rows,
                              gint64         token)
{
  WbPipelineWaiting *w;

  if (self->dedupe_ready)
    return FALSE;
  w = g_new0 (WbPipelineWaiting, 1);
  w->event = ev != NULL ? wb_event_copy (ev) : NULL;
  w->rows = rows != NULL ? g_ptr_array_ref (rows) : NULL;
  w->token = token;
  g_queue_push_tail (&self->waiting, w);
  g_debug ("the dedupe set is loading: %s waits", ev != NULL ? "an event" : "a catch-up result");
  return TRUE;
}

static void on_catchup_rows_cb (WbPipeline *self,
                                GPtrArray  *rows,
                                gint64      token,
                                gpointer    catchup);

static void
dedupe_loaded_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(WbPipeline) self = user_data;
  WbPipelineWaiting *w;

  wb_dedupe_set_load_finish (WB_DEDUPE_SET (source), result);
  if (self->dedupe_ready || self->merger == NULL)
    return;   /* disposed meanwhile */
  wb_event_merger_set_loaded (self->merger);
  self->dedupe_ready = TRUE;
  g_debug ("dedupe set loaded; merging %u waiting", self->waiting.length);
  while ((w = g_queue_pop_head (&self->waiting)) != NULL)
    {
      if (w->event != NULL)
        _wb_pipeline_offer_event (self, w->event);
      else
        on_catchup_rows_cb (self, w->rows, w->token, NULL);
      waiting_free (w);
    }
}

/* ---- catch-up -------------------------------------------------------------------------------- */

/* A catch-up read without a user token sees only what the anon role may see: never evidence that
 * an episode ended (rule 6). Such runs get the token -1. */
static gint64
catchup_begin_cb (gpointer user_data)
{
  WbPipeline *self = user_data;

  if (!wb_rest_client_has_access_token (self->rest))
    return -1;
  return wb_event_merger_begin_catchup (self->merger);
}

static void
on_catchup_rows_cb (WbPipeline *self,
                    GPtrArray  *rows,
                    gint64      token,
                    gpointer    catchup)
{
  g_autoptr(GPtrArray) queued = NULL;
  g_autoptr(GPtrArray) ended = NULL;
  gint64 now = g_get_real_time (), mono = g_get_monotonic_time ();

  if (_wb_pipeline_wait_for_dedupe (self, NULL, rows, token))
    return;
  queued = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < rows->len; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(WbEvent) ev = wb_event_from_catchup_row (g_ptr_array_index (rows, i), now, mono, &error);

      if (ev == NULL)
        continue;
      if (ev->kind == WB_EVENT_QUEUED && ev->assignment_id != NULL)
        g_ptr_array_add (queued, g_strdup (ev->assignment_id));
      _wb_pipeline_offer_event (self, ev);
    }

  /* Rule 6 needs the whole queue in one consistent read. A result of several pages was read with
   * offsets while rows left the queue, so a queued row can be missing from it: withdrawing on
   * that evidence re-rang it later (the 1,000-request soak, ~900 rows queued). Ended episodes are
   * then withdrawn by their own postgres_changes event or the next single-page catch-up. */
  if (rows->len >= WB_CATCHUP_DEFAULT_PAGE_SIZE || token < 0)
    return;
  ended = wb_event_merger_finish_catchup (self->merger, token, queued);
  for (guint i = 0; ended != NULL && i < ended->len; i++)
    _wb_pipeline_close_episode (self, g_ptr_array_index (ended, i), NULL);
}

/* ---- auth ------------------------------------------------------------------------------------ */

static void
flags_loaded_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(GError) error = NULL;

  if (!wb_flags_load_finish (WB_FLAGS (source), result, &error))
    g_debug ("feature flags not loaded (%s): unknown flags count as on", error->message);
}

/* The password is needed until a session exists (or the server said no for good): then it is
 * wiped, the retry copy and the configured one alike. A session that ends later needs the user. */
static void
drop_password (WbPipeline *self)
{
  wb_secret_clear (&self->retry_password);
  wb_secret_clear (&self->config.password);
}

gboolean
_wb_pipeline_holds_password (WbPipeline *self)
{
  return self->retry_password != NULL || self->config.password != NULL;
}

static void
on_token_changed_cb (WbPipeline *self,
                     gpointer    auth)
{
  const char *token = wb_auth_get_access_token (self->auth);

  if (token == NULL)
    return;
  /* A session exists (signed in, or a stored one resumed): the password is not needed again. */
  drop_password (self);

  /* With its expiry, so that no rejoin ever carries it once it is about to end. A channel joined
   * on the API key alone takes the user's token now: the connection is no longer public. */
  wb_realtime_channel_set_access_token_full (self->channel, token,
                                             wb_auth_get_expires_at (self->auth));
  g_clear_handle_id (&self->public_renew_id, g_source_remove);
  if (wb_realtime_socket_get_state (self->socket) == WB_SOCKET_STATE_DISCONNECTED)
    wb_realtime_socket_connect (self->socket);
  if (wb_realtime_channel_get_state (self->channel) == WB_CHANNEL_STATE_CLOSED)
    wb_realtime_channel_subscribe (self->channel);
  _wb_pipeline_private_token (self, token, wb_auth_get_expires_at (self->auth));
  if (!wb_flags_is_loaded (self->flags))
    wb_flags_load_async (self->flags, self->cancellable, flags_loaded_cb, NULL);
  _wb_pipeline_me_load (self);
  wb_catchup_start (self->catchup);
  update_state (self);
}

/* Without an account the app still listens, on the API key alone: the public broadcast rings
 * (with the details it carries), whatever the anon role may read arrives too, and the catch-up
 * reads what it may see (never withdrawing on that evidence). The server ends such a connection
 * after 24 hours: it is renewed before (arm_public_renewal) and caught up after. */
static void
listen_publicly (WbPipeline *self,
                 gboolean    fresh_connection)
{
  if (!self->started)
    return;
  g_debug ("listening without an account (the API key alone)");
  wb_realtime_channel_set_access_token_full (self->channel, NULL, 0);
  /* The server keeps a channel's user token until it expires: a fresh connection drops it. */
  if (fresh_connection && wb_realtime_socket_get_state (self->socket) != WB_SOCKET_STATE_DISCONNECTED)
    wb_realtime_socket_reconnect_now (self->socket, "signed out");
  else
    wb_realtime_socket_connect (self->socket);
  wb_realtime_channel_subscribe (self->channel);
  if (!wb_flags_is_loaded (self->flags))
    wb_flags_load_async (self->flags, self->cancellable, flags_loaded_cb, NULL);
  wb_catchup_start (self->catchup);
  update_state (self);
}

static void
on_signed_out_cb (WbPipeline *self,
                  const char *message,
                  gpointer    auth)
{
  g_debug ("signed out: %s", message);
  _wb_pipeline_me_forget (self);
  _wb_pipeline_private_stop (self, TRUE);
  listen_publicly (self, TRUE);
}

static gboolean
sign_in_retry_cb (gpointer user_data)
{
  WbPipeline *self = user_data;
  g_autofree char *email = g_strdup (self->retry_email);
  g_autoptr(WbSecret) password = g_strdup (self->retry_password);

  self->sign_in_retry_id = 0;
  wb_pipeline_sign_in (self, email, password);
  return G_SOURCE_REMOVE;
}

static void
sign_in_done_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(WbPipeline) self = user_data;
  g_autoptr(GError) error = NULL;

  if (wb_auth_sign_in_password_finish (WB_AUTH (source), result, &error))
    {
      wb_backoff_reset (&self->sign_in_backoff);
      drop_password (self);
      return;
    }
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  set_last_error (self, error);
  if (wb_error_is_retryable (error) && self->retry_password != NULL && self->started)
    {
      guint delay = wb_backoff_next (&self->sign_in_backoff);

      g_message ("Sign-in failed (%s): trying again in %u ms", error->message, delay);
      set_problem (self, "Cannot sign in: %s", error->message);
      g_clear_handle_id (&self->sign_in_retry_id, g_source_remove);
      self->sign_in_retry_id = g_timeout_add (delay, sign_in_retry_cb, self);
    }
  else
    {
      g_message ("Sign-in failed: %s", error->message);
      drop_password (self);
      if (wb_auth_get_state (WB_AUTH (source)) == WB_AUTH_STATE_SIGNED_OUT)
        listen_publicly (self, FALSE);
    }
  update_state (self);
}

static void
refresh_done_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(WbPipeline) self = user_data;
  g_autoptr(GError) error = NULL;

  if (!wb_auth_refresh_finish (WB_AUTH (source), result, &error))
    {
      g_message ("Could not resume the stored session: %s", error->message);
      set_last_error (self, error);
      set_problem (self, "Cannot resume the session: %s", error->message);
      if (self->config.email != NULL && self->config.password != NULL)
        wb_pipeline_sign_in (self, self->config.email, self->config.password);
      update_state (self);
    }
}

static void
auth_refresh_hook (gpointer             user_data,
                   GCancellable        *cancellable,
                   GAsyncReadyCallback  callback,
                   gpointer             callback_data)
{
  wb_auth_refresh_async (WB_AUTH (user_data), cancellable, callback, callback_data);
}

/* ---- lifecycle ------------------------------------------------------------------------------- */

void
wb_pipeline_sign_in (WbPipeline *self,
                     const char *email,
                     const char *password)
{
  g_return_if_fail (WB_IS_PIPELINE (self));

  self->started = TRUE;
  g_clear_handle_id (&self->sign_in_retry_id, g_source_remove);
  if (self->retry_email != email)
    {
      g_free (self->retry_email);
      self->retry_email = g_strdup (email);
    }
  if (self->retry_password != password)
    wb_secret_set (&self->retry_password, password);
  wb_auth_sign_in_password_async (self->auth, email, password, self->cancellable,
                                  sign_in_done_cb, g_object_ref (self));
}

void
wb_pipeline_sign_out (WbPipeline *self)
{
  g_return_if_fail (WB_IS_PIPELINE (self));

  wb_auth_sign_out (self->auth);
}

void
wb_pipeline_start (WbPipeline *self)
{
  g_autoptr(GError) refused = NULL;

  g_return_if_fail (WB_IS_PIPELINE (self));

  if (self->started)
    return;
  self->started = TRUE;

  /* Not one byte (no sign-in, no stored token) to an address the policy refuses. */
  if (!wb_url_policy_check (self->config.url, self->config.allow_insecure_http, &refused))
    {
      set_last_error (self, refused);
      update_state (self);
      return;
    }

  if (self->config.refresh_token != NULL)
    {
      wb_auth_set_refresh_token (self->auth, self->config.refresh_token);
      wb_auth_refresh_async (self->auth, self->cancellable, refresh_done_cb, g_object_ref (self));
    }
  else if (self->config.email != NULL && self->config.password != NULL)
    {
      wb_pipeline_sign_in (self, self->config.email, self->config.password);
    }
  else
    listen_publicly (self, FALSE);
  update_state (self);
}

void
wb_pipeline_stop (WbPipeline *self)
{
  g_return_if_fail (WB_IS_PIPELINE (self));

  self->started = FALSE;
  g_clear_handle_id (&self->sign_in_retry_id, g_source_remove);
  g_clear_handle_id (&self->public_renew_id, g_source_remove);
  g_clear_handle_id (&self->alarm_id, g_source_remove);
  self->not_receiving_us = 0;
  self->alarm_raised = FALSE;
  wb_health_set_not_receiving (self->health, 0, NULL);
  g_cancellable_cancel (self->cancellable);
  wb_acceptor_cancel (self->acceptor);
  wb_catchup_stop (self->catchup);
  _wb_pipeline_private_stop (self, FALSE);
  wb_realtime_channel_unsubscribe (self->channel);
  wb_realtime_socket_disconnect (self->socket);
  /* Withdraws still waiting for a name reach the log as they are. */
  _wb_pipeline_endings_flush (self, NULL);
  g_hash_table_remove_all (self->episodes);
  wb_dedupe_set_flush (self->dedupe, NULL);
}

void
wb_pipeline_retry_now (WbPipeline *self,
                       const char *reason)
{
  g_return_if_fail (WB_IS_PIPELINE (self));

  if (wb_auth_get_state (self->auth) == WB_AUTH_STATE_SIGNED_OUT)
    return;
  wb_realtime_socket_reconnect_now (self->socket, reason);
  wb_catchup_run_now (self->catchup, reason);
}

WbAuth *
wb_pipeline_get_auth (WbPipeline *self)
{
  return self->auth;
}

WbFlags *
wb_pipeline_get_flags (WbPipeline *self)
{
  return self->flags;
}

/* The health figures, with the counters that live in the pieces brought up to date. */
WbHealth *
wb_pipeline_get_health (WbPipeline *self)
{
  wb_health_set (self->health, WB_HEALTH_FETCH_RETRIES, wb_detail_fetcher_get_retries (self->fetcher));
  wb_health_set (self->health, WB_HEALTH_FETCH_FAILURES, wb_detail_fetcher_get_failures (self->fetcher));
  wb_health_set (self->health, WB_HEALTH_CATCHUP_RUNS, wb_catchup_get_runs (self->catchup));
  wb_health_set (self->health, WB_HEALTH_CATCHUP_FAILURES, wb_catchup_get_failures (self->catchup));
  wb_health_set (self->health, WB_HEALTH_TOKEN_REFRESHES, wb_auth_get_refresh_requests (self->auth));
  wb_health_set (self->health, WB_HEALTH_FRAMES_DROPPED,
                 wb_realtime_socket_get_frames_dropped (self->socket));
  return self->health;
}


static void
wb_pipeline_dispose (GObject *object)
{
  WbPipeline *self = WB_PIPELINE (object);

  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  g_clear_handle_id (&self->sign_in_retry_id, g_source_remove);
  g_clear_handle_id (&self->public_renew_id, g_source_remove);
  g_clear_handle_id (&self->alarm_id, g_source_remove);
  _wb_pipeline_endings_clear (self);
  g_queue_clear_full (&self->waiting, (GDestroyNotify) waiting_free);
  if (self->episodes != NULL)
    g_hash_table_remove_all (self->episodes);
  if (self->dedupe != NULL)
    wb_dedupe_set_flush (self->dedupe, NULL);
  g_clear_object (&self->sleep_monitor);
  g_clear_object (&self->catchup);
  g_clear_object (&self->fetcher);
  _wb_pipeline_sources_clear (self);
  g_clear_object (&self->channel);
  g_clear_object (&self->socket);
  g_clear_object (&self->merger);
  g_clear_object (&self->dedupe);
  g_clear_object (&self->flags);
  g_clear_object (&self->auth);
  if (self->rest != NULL)
    wb_rest_client_set_refresh_func (self->rest, NULL, NULL, NULL);
  g_clear_object (&self->rest);
  g_clear_object (&self->health);
  g_clear_object (&self->cancellable);
  G_OBJECT_CLASS (wb_pipeline_parent_class)->dispose (object);
}

static void
wb_pipeline_finalize (GObject *object)
{
  WbPipeline *self = WB_PIPELINE (object);

  g_clear_pointer (&self->episodes, g_hash_table_unref);
  g_clear_error (&self->last_error);
  g_free (self->retry_email);
  wb_secret_free (self->retry_password);
  g_free (self->problem);
  wb_backoff_clear (&self->sign_in_backoff);
  wb_pipeline_config_clear (&self->config);
  G_OBJECT_CLASS (wb_pipeline_parent_class)->finalize (object);
}

static void
wb_pipeline_class_init (WbPipelineClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = wb_pipeline_dispose;
  object_class->finalize = wb_pipeline_finalize;

  signals[SIGNAL_ALERT] =
    g_signal_new ("alert", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, WB_TYPE_ALERT_RECORD | G_SIGNAL_TYPE_STATIC_SCOPE);
  signals[SIGNAL_QUEUE_CHANGED] =
    g_signal_new ("queue-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                  NULL, G_TYPE_NONE, 0);
  signals[SIGNAL_STATE_CHANGED] =
    g_signal_new ("state-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                  NULL, G_TYPE_NONE, 0);
  /* episode-ended (WbAlertRecord *withdraw): stand down now; the withdraw itself ("alert", kind
   * WITHDRAW, with reason and taken_by) may follow a little later. */
  signals[SIGNAL_EPISODE_ENDED] =
    g_signal_new ("episode-ended", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, WB_TYPE_ALERT_RECORD | G_SIGNAL_TYPE_STATIC_SCOPE);
  /* connection-alarm (gboolean raised): not receiving for longer than the alarm delay / again. */
  signals[SIGNAL_CONNECTION_ALARM] =
    g_signal_new ("connection-alarm", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                  NULL, G_TYPE_NONE, 1, G_TYPE_BOOLEAN);
  /* accept-started (const char *assignment_id), accept-done (WbAcceptOutcome *): every accept,
   * whoever asked (the window, a notification, `--accept`). */
  signals[SIGNAL_ACCEPT_STARTED] =
    g_signal_new ("accept-started", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                  NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
  signals[SIGNAL_ACCEPT_DONE] =
    g_signal_new ("accept-done", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, WB_TYPE_ACCEPT_OUTCOME | G_SIGNAL_TYPE_STATIC_SCOPE);
}

static void
wb_pipeline_init (WbPipeline *self)
{
  self->episodes = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                          (GDestroyNotify) _wb_pipeline_episode_free);
  self->cancellable = g_cancellable_new ();
  g_queue_init (&self->waiting);
  wb_backoff_init (&self->sign_in_backoff, 1000, 30000, 2.0, 0.5);
  self->alarm_ms = WB_DEFAULT_CONNECTION_ALARM_MS;
}

WbPipeline *
wb_pipeline_new (const WbPipelineConfig *config)
{
  WbPipeline *self;
  g_autofree char *topic = NULL;

  g_return_val_if_fail (config != NULL && config->url != NULL && config->anon_key != NULL, NULL);

  self = g_object_new (WB_TYPE_PIPELINE, NULL);
  self->config.url = g_strdup (config->url);
  self->config.anon_key = g_strdup (config->anon_key);
  self->config.email = g_strdup (config->email);
  self->config.password = g_strdup (config->password);
  self->config.refresh_token = g_strdup (config->refresh_token);
  self->config.topic = g_strdup (config->topic ? config->topic : WB_DEFAULT_TOPIC);
  self->config.db_broadcast_topic = g_strdup (config->db_broadcast_topic);
  self->config.dedupe_path = config->dedupe_path ? g_strdup (config->dedupe_path)
                                                 : wb_dedupe_set_default_path ();
  self->config.detail_budget_ms = config->detail_budget_ms ? config->detail_budget_ms
                                                           : WB_DEFAULT_DETAIL_BUDGET_MS;
  self->config.safety_poll_s = config->safety_poll_s;
  self->config.heartbeat_ms = config->heartbeat_ms;
  self->config.realtime_vsn = config->realtime_vsn ? config->realtime_vsn : WB_PHOENIX_VSN_DEFAULT;
  self->config.refusal_backoff_ms = config->refusal_backoff_ms ? config->refusal_backoff_ms
                                                               : WB_REALTIME_REFUSAL_BASE_MS;
  self->config.public_connection_max_s = config->public_connection_max_s
                                         ? config->public_connection_max_s
                                         : WB_DEFAULT_PUBLIC_CONNECTION_MAX_S;
  self->config.allow_insecure_http = config->allow_insecure_http;

  self->health = wb_health_new ();
  wb_health_set_text (self->health, WB_HEALTH_TEXT_REALTIME_VSN,
                      wb_phoenix_vsn_to_string (self->config.realtime_vsn));
  wb_health_set_text (self->health, WB_HEALTH_TEXT_API_KEY,
                      wb_api_key_kind_to_string (wb_api_key_classify (self->config.anon_key)));
  self->rest = wb_rest_client_new (self->config.url, self->config.anon_key);
  wb_rest_client_set_allow_insecure_http (self->rest, self->config.allow_insecure_http);
  self->auth = wb_auth_new (self->rest);
  /* Every REST user (details, catch-up, flags, accept) gets a 401 answered the same way: one
   * refresh for all of them, each request sent again once. Cleared in dispose (a cycle). */
  wb_rest_client_set_refresh_func (self->rest, auth_refresh_hook, g_object_ref (self->auth),
                                   g_object_unref);
  self->flags = wb_flags_new (self->rest);
  _wb_pipeline_endings_init (self);

  /* Read once, in a worker thread: the sign-in goes on meanwhile, merging waits for it. */
  self->dedupe = wb_dedupe_set_new_unloaded (self->config.dedupe_path);
  self->merger = wb_event_merger_new (self->dedupe);
  wb_dedupe_set_load_async (self->dedupe, g_get_real_time (), NULL, dedupe_loaded_cb,
                            g_object_ref (self));

  self->fetcher = wb_detail_fetcher_new (self->rest);
  g_object_set_data (G_OBJECT (self->fetcher), "wb-pipeline", self);

  self->catchup = wb_catchup_new (self->rest);
  wb_catchup_set_begin_func (self->catchup, catchup_begin_cb, self, NULL);
  if (self->config.safety_poll_s > 0)
    wb_catchup_set_safety_interval_ms (self->catchup, self->config.safety_poll_s * 1000);
  g_signal_connect_object (self->catchup, "rows", G_CALLBACK (on_catchup_rows_cb), self,
                           G_CONNECT_SWAPPED);

  self->socket = wb_realtime_socket_new (self->config.url, self->config.anon_key);
  wb_realtime_socket_set_vsn (self->socket, self->config.realtime_vsn);
  wb_realtime_socket_set_refusal_base_ms (self->socket, self->config.refusal_backoff_ms);
  wb_realtime_socket_set_allow_insecure_http (self->socket, self->config.allow_insecure_http);
  if (self->config.heartbeat_ms > 0)
    {
      wb_realtime_socket_set_heartbeat_interval_ms (self->socket, self->config.heartbeat_ms);
      wb_realtime_socket_set_heartbeat_timeout_ms (self->socket, self->config.heartbeat_ms);
    }
  topic = g_strconcat ("realtime:", self->config.topic, NULL);
  self->channel = wb_realtime_channel_new (self->socket, topic, NULL);
  wb_realtime_channel_set_refusal_base_ms (self->channel, self->config.refusal_backoff_ms);
  wb_realtime_channel_add_postgres_changes (self->channel, "*", "public", "session_assignments", NULL);
  wb_realtime_channel_add_postgres_changes (self->channel, "*", "public", "feature_flags", NULL);

  g_signal_connect_object (self->channel, "postgres-change",
                           G_CALLBACK (on_channel_postgres_change_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->channel, "broadcast",
                           G_CALLBACK (on_channel_broadcast_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->channel, "live", G_CALLBACK (on_channel_live_cb), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->channel, "system-error",
                           G_CALLBACK (on_channel_system_error_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->channel, "closed", G_CALLBACK (on_channel_closed_cb), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->channel, "token-needed", G_CALLBACK (on_channel_token_needed_cb),
                           self, G_CONNECT_SWAPPED);
  _wb_pipeline_sources_init (self);
  g_signal_connect_object (self->socket, "server-error", G_CALLBACK (on_socket_server_error_cb),
                           self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->channel, "notify::state",
                           G_CALLBACK (on_channel_notify_state_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->socket, "opened", G_CALLBACK (on_socket_opened_cb), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->socket, "closed", G_CALLBACK (on_socket_closed_cb), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->socket, "notify::state", G_CALLBACK (on_socket_notify_cb), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->socket, "connect-failed", G_CALLBACK (on_socket_connect_failed_cb),
                           self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->auth, "token-changed", G_CALLBACK (on_token_changed_cb), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->auth, "signed-out", G_CALLBACK (on_signed_out_cb), self,
                           G_CONNECT_SWAPPED);

  self->sleep_monitor = wb_sleep_monitor_new ();
  g_signal_connect_object (self->sleep_monitor, "resumed", G_CALLBACK (on_resumed_cb), self,
                           G_CONNECT_SWAPPED);

  return self;
}
