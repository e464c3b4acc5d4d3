/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-pipeline-sources.c: the pipeline's realtime sources: the private channel, public broadcasts
 * as hints. */

#define G_LOG_DOMAIN "wb-pipeline"

#include "config.h"

#include <string.h>

#include "wb-error.h"
#include "wb-event-normaliser.h"
#include "wb-json.h"
#include "wb-pipeline-private.h"
#include "wb-rest-client.h"

/* Trust follows authority. Broadcast from Database on the private channel and PostgREST rows are
 * what the database vouches for: offered to the merger as they come. A public broadcast is a hint
 * anyone holding the API key can send: one PostgREST read of the assignment confirms it before it
 * may open an episode. The database does not know the id, or the row is not queued: it never
 * rings (broadcasts_rejected). The read failed for a transient reason: the episode opens without
 * the broadcast's text (neutral fallback after the detail budget, filled in by the next source).
 * Signed out (the API key alone) nothing can confirm: broadcasts ring as announced, as before. */

#define MAX_CONFIRMING   16   /* confirmations in flight; beyond, a hint waits for the catch-up */
#define MAX_UNCONFIRMED  16   /* episodes open on a hint the database could not be asked about */

typedef struct
{
  WbPipeline *self;   /* (owned) */
  WbEvent    *ev;     /* (owned) */
} WbPipelineConfirm;

static void
confirm_free (WbPipelineConfirm *c)
{
  g_object_unref (c->self);
  wb_event_free (c->ev);
  g_free (c);
}

static void
reject (WbPipeline *self,
        const char *assignment_id,
        const char *why)
{
  wb_health_inc (self->health, WB_HEALTH_BROADCASTS_REJECTED);
  g_debug ("broadcast for %s rejected: %s", assignment_id, why);
}

static void
confirmed_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  WbPipelineConfirm *c = user_data;
  WbPipeline *self = c->self;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) node = NULL;
  g_autoptr(WbEvent) row_ev = NULL;
  guint status = 0;
  JsonArray *rows;

  node = wb_rest_client_request_finish (WB_REST_CLIENT (source), result, &status, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) || !self->started)
    {
      confirm_free (c);
      return;
    }
  g_hash_table_remove (self->confirming, c->ev->assignment_id);

  if (node == NULL)
    {
      if (!wb_error_is_retryable (error))
        {
          reject (self, c->ev->assignment_id, error->message);
          confirm_free (c);
          return;
        }
      if (g_hash_table_size (self->unconfirmed) >= MAX_UNCONFIRMED)
        {
          reject (self, c->ev->assignment_id, "too many unconfirmed broadcasts already");
          wb_catchup_run_now (self->catchup, "unconfirmed broadcasts");
          confirm_free (c);
          return;
        }
      /* Cannot ask now: ring as any fallback does, with none of the broadcast's words. */
      g_debug ("broadcast for %s unconfirmed (%s): neutral alert", c->ev->assignment_id, error->message);
      g_clear_pointer (&c->ev->customer, g_free);
      g_clear_pointer (&c->ev->vehicle, g_free);
      g_clear_pointer (&c->ev->concern, g_free);
      g_clear_pointer (&c->ev->session_id, g_free);
      c->ev->urgent = FALSE;
      g_hash_table_add (self->unconfirmed, g_strdup (c->ev->assignment_id));
      _wb_pipeline_offer_event (self, c->ev);
      wb_catchup_run_now (self->catchup, "unconfirmed broadcast");
      confirm_free (c);
      return;
    }

  rows = JSON_NODE_HOLDS_ARRAY (node) ? json_node_get_array (node) : NULL;
  if (rows != NULL && json_array_get_length (rows) == 1
      && JSON_NODE_HOLDS_OBJECT (json_array_get_element (rows, 0)))
    row_ev = wb_event_from_catchup_row (json_array_get_object_element (rows, 0), c->ev->received_us,
                                        c->ev->received_mono_us, NULL);
  if (row_ev == NULL || g_strcmp0 (row_ev->assignment_id, c->ev->assignment_id) != 0)
    {
      reject (self, c->ev->assignment_id, "the database does not know it");
      confirm_free (c);
      return;
    }
  if (row_ev->kind != WB_EVENT_QUEUED)
    {
      reject (self, c->ev->assignment_id, "not queued");
      confirm_free (c);
      return;
    }
  /* The database's facts, the broadcast's words (the row carries none), the broadcast's times. */
  row_ev->source = WB_EVENT_SOURCE_BROADCAST;
  row_ev->customer = g_steal_pointer (&c->ev->customer);
  row_ev->vehicle = g_steal_pointer (&c->ev->vehicle);
  row_ev->concern = g_steal_pointer (&c->ev->concern);
  row_ev->urgent = row_ev->urgent || c->ev->urgent;
  _wb_pipeline_offer_event (self, row_ev);
  confirm_free (c);
}

/* A public broadcast: offered only once the database vouches for it. */
void
_wb_pipeline_offer_hint (WbPipeline    *self,
                         const WbEvent *ev)
{
  g_autofree char *filter = NULL;
  g_autofree char *path = NULL;
  WbPipelineConfirm *c;

  /* Without an account the API key reads no assignment (RLS): nothing could confirm, and the
   * broadcast is all a workstation without an account hears, so it rings as announced. */
  if (ev->kind != WB_EVENT_QUEUED || ev->assignment_id == NULL || wb_pipeline_is_public (self))
    {
      /* No id (a catch-up asks the database) or nothing for us: nothing here can ring. */
      _wb_pipeline_offer_event (self, ev);
      return;
    }
  if (g_hash_table_contains (self->episodes, ev->assignment_id))
    {
      /* Open already, on the database's word: the hint adds nothing (and may not change text). */
      wb_health_count_event (self->health, WB_HEALTH_SOURCE_BROADCAST);
      wb_health_count_duplicate (self->health, WB_HEALTH_SOURCE_BROADCAST);
      return;
    }
  if (g_hash_table_contains (self->confirming, ev->assignment_id))
    return;
  if (g_hash_table_size (self->confirming) >= MAX_CONFIRMING)
    {
      /* A flood: the hint is dropped; a real request among it arrives on the other sources. */
      reject (self, ev->assignment_id, "too many confirmations in flight");
      wb_catchup_run_now (self->catchup, "broadcast flood");
      return;
    }

  filter = wb_rest_filter_eq ("id", ev->assignment_id);
  path = g_strdup_printf ("/rest/v1/session_assignments?select=id,session_id,status,mechanic_id,"
                          "updated_at,offered_at,metadata&%s", filter);
  c = g_new0 (WbPipelineConfirm, 1);
  c->self = g_object_ref (self);
  c->ev = wb_event_copy (ev);
  g_hash_table_add (self->confirming, g_strdup (ev->assignment_id));
  wb_rest_client_request_async (self->rest, "GET", path, NULL, WB_REST_FLAGS_NONE, self->cancellable,
                                confirmed_cb, c);
}

/* Any word from the database about @assignment_id (or its end) settles an unconfirmed episode. */
void
_wb_pipeline_sources_settled (WbPipeline *self,
                              const char *assignment_id)
{
  if (assignment_id != NULL)
    g_hash_table_remove (self->unconfirmed, assignment_id);
}

/* ---- Broadcast from Database ---------------------------------------------------------------- */

static void
set_private_text (WbPipeline *self,
                  const char *text)
{
  wb_health_set_text (self->health, WB_HEALTH_TEXT_DB_BROADCAST, text);
}

static void
on_private_broadcast_cb (WbPipeline *self,
                         const char *event,
                         JsonNode   *payload,
                         gpointer    channel)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(WbEvent) ev = NULL;
  gint64 stamp = 0;

  ev = wb_event_from_db_broadcast (event, payload, g_get_real_time (), g_get_monotonic_time (), &error);
  if (ev == NULL)
    {
      g_debug ("private broadcast not usable: %s", error->message);
      return;
    }
  if (wb_event_db_broadcast_stamp (payload, &stamp) && stamp > self->private_newest_us)
    {
      self->private_newest_us = stamp;
      wb_realtime_channel_set_replay_since (self->private_channel, stamp / 1000);
    }
  if (ev->kind == WB_EVENT_OTHER && ev->assignment_id == NULL)
    return;
  _wb_pipeline_offer_event (self, ev);
}

/* The private topic exists for us or not: a refusal is the backend's setup, not a passing fault.
 * Said once (window, --status, log); the private channel stays off until the next sign-in, and
 * postgres_changes and the catch-up carry on as before. */
static void
on_private_system_error_cb (WbPipeline *self,
                            const char *message,
                            gpointer    channel)
{
  g_autofree char *line = NULL;
  g_autofree char *text = NULL;

  if (self->private_unavailable != NULL || message == NULL)
    return;
  /* Only a refusal to read the topic says the backend lacks it; other errors rejoin as usual. */
  if (!g_str_has_prefix (message, "Unauthorized") && strstr (message, "permission") == NULL)
    {
      g_debug ("private channel: %s", message);
      return;
    }
  line = wb_event_one_line (message, 200);
  self->private_unavailable = g_steal_pointer (&line);
  wb_health_inc (self->health, WB_HEALTH_SERVER_ERRORS);
  text = g_strdup_printf ("unavailable: %s", self->private_unavailable);
  g_message ("Broadcast from Database is not available on this backend (%s): "
             "following postgres_changes instead", self->private_unavailable);
  wb_realtime_channel_unsubscribe (self->private_channel);
  set_private_text (self, text);
  _wb_pipeline_emit_state_changed (self);
}

static void
on_private_closed_cb (WbPipeline *self,
                      const char *reason,
                      gpointer    channel)
{
  on_private_system_error_cb (self, reason, channel);
}

static void
on_private_state_cb (WbPipeline *self,
                     GParamSpec *pspec,
                     gpointer    channel)
{
  if (self->private_unavailable != NULL)
    return;
  switch (wb_realtime_channel_get_state (self->private_channel))
    {
    case WB_CHANNEL_STATE_JOINED:
      set_private_text (self, "joined");
      /* Nothing seen yet: a rejoin still replays what came since this join (a minute's slack
       * for clocks: replay is inclusive and the merger drops what it has seen). */
      if (self->private_newest_us == 0)
        {
          self->private_newest_us = g_get_real_time () - 60 * G_USEC_PER_SEC;
          wb_realtime_channel_set_replay_since (self->private_channel, self->private_newest_us / 1000);
        }
      break;
    case WB_CHANNEL_STATE_JOINING:
    case WB_CHANNEL_STATE_ERRORED:
      set_private_text (self, "joining");
      break;
    case WB_CHANNEL_STATE_CLOSED:
    case WB_CHANNEL_STATE_LEAVING:
    default:
      set_private_text (self, "off");
      break;
    }
}

static void
on_private_token_needed_cb (WbPipeline *self,
                            gpointer    channel)
{
  if (wb_auth_get_refresh_token (self->auth) != NULL)
    wb_auth_refresh_soon (self->auth, "the private channel needs a fresh token");
}

void
_wb_pipeline_sources_init (WbPipeline *self)
{
  g_autofree char *topic = NULL;

  self->confirming = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->unconfirmed = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  set_private_text (self, "off");
  if (self->config.db_broadcast_topic == NULL || *self->config.db_broadcast_topic == '\0')
    return;
  topic = g_strconcat ("realtime:", self->config.db_broadcast_topic, NULL);
  self->private_channel = wb_realtime_channel_new (self->socket, topic, NULL);
  wb_realtime_channel_set_private (self->private_channel, TRUE);
  wb_realtime_channel_set_refusal_base_ms (self->private_channel, self->config.refusal_backoff_ms);
  g_signal_connect_object (self->private_channel, "broadcast", G_CALLBACK (on_private_broadcast_cb),
                           self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->private_channel, "system-error",
                           G_CALLBACK (on_private_system_error_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->private_channel, "closed", G_CALLBACK (on_private_closed_cb),
                           self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->private_channel, "token-needed",
                           G_CALLBACK (on_private_token_needed_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->private_channel, "notify::state", G_CALLBACK (on_private_state_cb),
                           self, G_CONNECT_SWAPPED);
}

/* Signed in with @token: the private channel joins (or takes the new token). */
void
_wb_pipeline_private_token (WbPipeline *self,
                            const char *token,
                            gint64      expires_at)
{
  if (self->private_channel == NULL || self->private_unavailable != NULL)
    return;
  wb_realtime_channel_set_access_token_full (self->private_channel, token, expires_at);
  if (wb_realtime_channel_get_state (self->private_channel) == WB_CHANNEL_STATE_CLOSED)
    wb_realtime_channel_subscribe (self->private_channel);
}

/* Signed out or stopped: the API key alone may not read the private topic. A later sign-in asks
 * again, even after a refusal (@forget_refusal). */
void
_wb_pipeline_private_stop (WbPipeline *self,
                           gboolean    forget_refusal)
{
  if (self->private_channel != NULL)
    wb_realtime_channel_unsubscribe (self->private_channel);
  if (forget_refusal && self->private_unavailable != NULL)
    {
      g_clear_pointer (&self->private_unavailable, g_free);
      set_private_text (self, "off");
    }
  g_hash_table_remove_all (self->confirming);
  g_hash_table_remove_all (self->unconfirmed);
}

void
_wb_pipeline_sources_clear (WbPipeline *self)
{
  g_clear_object (&self->private_channel);
  g_clear_pointer (&self->private_unavailable, g_free);
  g_clear_pointer (&self->confirming, g_hash_table_unref);
  g_clear_pointer (&self->unconfirmed, g_hash_table_unref);
}

const char *
wb_pipeline_get_db_broadcast_problem (WbPipeline *self)
{
  g_return_val_if_fail (WB_IS_PIPELINE (self), NULL);
  return self->private_unavailable;
}
