/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-pipeline-episodes.c: request episodes inside the pipeline: open, ring, update in place,
 * withdraw. */

#define G_LOG_DOMAIN "wb-pipeline"

#include "config.h"

#include "wb-event-normaliser.h"
#include "wb-pipeline-private.h"

/* Request episodes inside the pipeline: open one when the merger says so, ring it at once when
 * the broadcast carried the details or when the detail budget runs out (fallback text), update it
 * in place when details come late, withdraw it when it ends. */

void
_wb_pipeline_episode_free (WbPipelineEpisode *ep)
{
  g_clear_handle_id (&ep->budget_id, g_source_remove);
  if (ep->cancellable != NULL)
    g_cancellable_cancel (ep->cancellable);
  g_clear_object (&ep->cancellable);
  g_clear_pointer (&ep->record, wb_alert_record_free);
  g_free (ep);
}

/* ---- alerts ---------------------------------------------------------------------------------- */

static void
emit_record (WbPipeline    *self,
             WbAlertRecord *record)
{
  _wb_pipeline_emit_alert (self, record);
}

static void
ring (WbPipeline        *self,
      WbPipelineEpisode *ep)
{
  g_autoptr(WbAlertRecord) rec = NULL;

  g_clear_handle_id (&ep->budget_id, g_source_remove);
  if (ep->alerted)
    return;
  ep->alerted = TRUE;
  if (!ep->record->details_full)
    wb_health_inc (self->health, WB_HEALTH_FALLBACKS);
  rec = wb_alert_record_copy (ep->record);
  rec->kind = WB_ALERT_KIND_ALERT;
  emit_record (self, rec);
  _wb_pipeline_emit_queue_changed (self);
}

static gboolean
budget_expired_cb (gpointer data)
{
  WbPipelineEpisode *ep = data;

  ep->budget_id = 0;
  g_debug ("details late for %s: ringing with what we know", ep->record->assignment_id);
  ring (ep->pipeline, ep);
  return G_SOURCE_REMOVE;
}

static void
replace_str (char       **field,
             const char  *value)
{
  if (g_strcmp0 (*field, value) == 0)
    return;
  g_free (*field);
  *field = g_strdup (value);
}

static void
apply_details (WbPipelineEpisode *ep,
               const WbDetails   *details)
{
  WbAlertRecord *r = ep->record;

  if (details->customer != NULL && *details->customer != '\0')
    replace_str (&r->customer, details->customer);
  if (details->vehicle != NULL && *details->vehicle != '\0')
    replace_str (&r->vehicle, details->vehicle);
  if (details->concern != NULL && *details->concern != '\0')
    replace_str (&r->concern, details->concern);
  r->urgent = r->urgent || details->urgent;
  r->details_full = TRUE;
}

static void
fetch_done_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autofree char *assignment_id = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(WbDetails) details = NULL;
  WbPipeline *self;
  WbPipelineEpisode *ep;

  details = wb_detail_fetcher_fetch_finish (WB_DETAIL_FETCHER (source), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;

  self = g_object_get_data (source, "wb-pipeline");
  ep = g_hash_table_lookup (self->episodes, assignment_id);
  if (ep == NULL)
    return;
  ep->fetching = FALSE;

  if (details == NULL)
    {
      g_debug ("details for %s unavailable (%s): fallback alert", assignment_id, error->message);
      ring (self, ep);
      return;
    }

  apply_details (ep, details);
  if (ep->silent)
    {
      _wb_pipeline_emit_queue_changed (self);
      return;
    }
  if (!ep->alerted)
    {
      ring (self, ep);
    }
  else
    {
      g_autoptr(WbAlertRecord) rec = wb_alert_record_copy (ep->record);

      rec->kind = WB_ALERT_KIND_UPDATE;
      emit_record (self, rec);
      _wb_pipeline_emit_queue_changed (self);
    }
}

static void
start_fetch (WbPipeline        *self,
             WbPipelineEpisode *ep)
{
  if (ep->fetching || ep->record->details_full || ep->record->session_id == NULL)
    return;

  ep->fetching = TRUE;
  g_clear_object (&ep->cancellable);
  ep->cancellable = g_cancellable_new ();
  wb_detail_fetcher_fetch_async (self->fetcher, ep->record->session_id, ep->cancellable,
                                 fetch_done_cb, g_strdup (ep->record->assignment_id));
}

static gboolean
hints_complete (const WbEvent *ev)
{
  return ev->customer != NULL && *ev->customer != '\0'
         && ((ev->vehicle != NULL && *ev->vehicle != '\0')
             || (ev->concern != NULL && *ev->concern != '\0'));
}

static void
open_episode (WbPipeline    *self,
              const WbEvent *ev,
              guint          episode)
{
  WbPipelineEpisode *ep = g_new0 (WbPipelineEpisode, 1);
  WbAlertRecord *r;

  ep->pipeline = self;
  ep->opened_mono_us = ev->received_mono_us;
  ep->record = r = wb_alert_record_new (WB_ALERT_KIND_ALERT, ev->assignment_id);
  r->session_id = g_strdup (ev->session_id);
  r->episode = episode;
  r->source = wb_event_source_to_string (ev->source);
  r->customer = g_strdup (ev->customer);
  r->vehicle = g_strdup (ev->vehicle);
  r->concern = g_strdup (ev->concern);
  r->urgent = ev->urgent;
  r->commit_ts_us = ev->commit_ts_us;
  r->received_us = ev->received_us;
  r->received_mono_us = ev->received_mono_us;
  g_hash_table_replace (self->episodes, g_strdup (ev->assignment_id), ep);

  if (ev->source == WB_EVENT_SOURCE_CATCHUP)
    {
      /* Every episode the catch-up finds is one realtime did not deliver. */
      wb_health_inc (self->health, WB_HEALTH_CATCHUP_FOUND);
      g_debug ("catch-up found %s: a missed realtime event", ev->assignment_id);
    }

  if (hints_complete (ev))
    {
      /* The broadcast carried the details: ring now. */
      r->details_full = TRUE;
      ring (self, ep);
      return;
    }

  start_fetch (self, ep);
  ep->budget_id = g_timeout_add (self->config.detail_budget_ms, budget_expired_cb, ep);
}

/* An episode that rang before the app restarted (the dedupe set says so): shown in the queue and
 * withdrawn when it ends, but never rung again. */
static void
adopt_episode (WbPipeline    *self,
               const WbEvent *ev,
               guint          episode)
{
  WbPipelineEpisode *ep = g_new0 (WbPipelineEpisode, 1);
  WbAlertRecord *r;

  ep->pipeline = self;
  ep->alerted = TRUE;
  ep->silent = TRUE;
  ep->opened_mono_us = ev->received_mono_us;
  ep->record = r = wb_alert_record_new (WB_ALERT_KIND_ALERT, ev->assignment_id);
  r->session_id = g_strdup (ev->session_id);
  r->episode = episode;
  r->source = wb_event_source_to_string (ev->source);
  r->urgent = ev->urgent;
  r->received_us = ev->received_us;
  r->received_mono_us = ev->received_mono_us;
  g_hash_table_replace (self->episodes, g_strdup (ev->assignment_id), ep);
  start_fetch (self, ep);
  _wb_pipeline_emit_queue_changed (self);
}

/* @ev: what said the episode ended (NULL: the catch-up no longer lists it). */
void
_wb_pipeline_close_episode (WbPipeline    *self,
                            const char    *assignment_id,
                            const WbEvent *ev)
{
  WbPipelineEpisode *ep = g_hash_table_lookup (self->episodes, assignment_id);
  WbAlertRecord *rec;

  if (ep == NULL)
    return;
  _wb_pipeline_sources_settled (self, assignment_id);

  /* Every episode rings exactly once, even one that ended before its details came. */
  ring (self, ep);
  rec = wb_alert_record_copy (ep->record);
  rec->kind = WB_ALERT_KIND_WITHDRAW;
  /* The moment this workstation stands down, whenever the withdraw's details are complete. */
  rec->alerted_us = g_get_real_time ();
  rec->alerted_mono_us = g_get_monotonic_time ();
  g_hash_table_remove (self->episodes, assignment_id);
  _wb_pipeline_ending_begin (self, rec, ev);
  _wb_pipeline_emit_queue_changed (self);
}

/* An event that belongs to an open episode may teach us what the first one did not. */
static void
enrich_episode (WbPipeline    *self,
                const WbEvent *ev)
{
  WbPipelineEpisode *ep = g_hash_table_lookup (self->episodes, ev->assignment_id);

  if (ep == NULL)
    return;
  if (ep->record->session_id == NULL && ev->session_id != NULL)
    {
      ep->record->session_id = g_strdup (ev->session_id);
      start_fetch (self, ep);
    }
  if (ep->record->commit_ts_us == 0 && ev->commit_ts_us > 0)
    ep->record->commit_ts_us = ev->commit_ts_us;
}

void
_wb_pipeline_offer_event (WbPipeline    *self,
             const WbEvent *ev)
{
  guint episode = 0;
  WbMergeResult res;

  if (_wb_pipeline_wait_for_dedupe (self, ev, NULL, 0))
    return;
  wb_health_count_event (self->health, (WbHealthSource) ev->source);
  if (ev->source != WB_EVENT_SOURCE_BROADCAST)
    _wb_pipeline_sources_settled (self, ev->assignment_id);
  res = wb_event_merger_offer (self->merger, ev, &episode);

  g_debug ("%s %s from %s → %s", wb_event_kind_to_string (ev->kind),
           ev->assignment_id ? ev->assignment_id : "(no id)",
           wb_event_source_to_string (ev->source), wb_merge_result_to_string (res));

  switch (res)
    {
    case WB_MERGE_NEW_EPISODE:
      /* Queued again while we saw neither the end nor the new start: end the old one first. */
      if (g_hash_table_contains (self->episodes, ev->assignment_id))
        _wb_pipeline_close_episode (self, ev->assignment_id, NULL);
      /* The log tells episodes in order: the last one's withdraw before this one's alert. */
      _wb_pipeline_endings_flush (self, ev->assignment_id);
      open_episode (self, ev, episode);
      break;
    case WB_MERGE_DUPLICATE:
      wb_health_count_duplicate (self->health, (WbHealthSource) ev->source);
      if (!g_hash_table_contains (self->episodes, ev->assignment_id))
        {
          const WbDedupeRecord *rec = wb_dedupe_set_lookup (self->dedupe, ev->assignment_id);

          /* Opened by an earlier run that stopped before its alert went out: ring it now. */
          if (rec != NULL && !rec->rung)
            open_episode (self, ev, episode);
          else
            adopt_episode (self, ev, episode);
        }
      else
        enrich_episode (self, ev);
      break;
    case WB_MERGE_ENDED:
      _wb_pipeline_close_episode (self, ev->assignment_id, ev);
      break;
    case WB_MERGE_NEEDS_CATCHUP:
      wb_catchup_run_now (self->catchup, "event without a usable id");
      break;
    case WB_MERGE_STALE:
    case WB_MERGE_IGNORED:
    default:
      break;
    }
}

static gint
compare_opened (gconstpointer a,
                gconstpointer b)
{
  const WbAlertRecord *ra = *(WbAlertRecord * const *) a;
  const WbAlertRecord *rb = *(WbAlertRecord * const *) b;

  return (ra->received_mono_us > rb->received_mono_us) - (ra->received_mono_us < rb->received_mono_us);
}

GPtrArray *
wb_pipeline_list_open (WbPipeline *self)
{
  GPtrArray *list = g_ptr_array_new ();
  GHashTableIter iter;
  WbPipelineEpisode *ep;

  g_hash_table_iter_init (&iter, self->episodes);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &ep))
    if (ep->alerted)
      g_ptr_array_add (list, ep->record);
  g_ptr_array_sort (list, compare_opened);
  return list;
}

/* The alert went out and is in the log: from now on a restart must not ring this episode again.
 * (Until then a restart does ring it: better twice than never.) */
static void
mark_rung (WbPipeline          *self,
           const WbAlertRecord *record)
{
  const WbDedupeRecord *rec = wb_dedupe_set_lookup (self->dedupe, record->assignment_id);
  WbDedupeRecord r;

  if (rec == NULL || !rec->open || rec->episode != record->episode || rec->rung)
    return;
  r = *rec;
  r.rung = TRUE;
  wb_dedupe_set_put (self->dedupe, record->assignment_id, &r, g_get_real_time ());
}

/* Called by whoever fired the tiers, so latency figures cover the whole path. */
void
wb_pipeline_record_alerted (WbPipeline          *self,
                            const WbAlertRecord *record)
{
  /* Why a tier last failed is worth knowing whatever it was ringing for. */
  for (guint t = 0; t < WB_N_TIERS; t++)
    if (record->tier_result[t] == WB_TIER_RESULT_FAILED)
      wb_health_set_tier_last_failure (self->health, t, record->tier_reason[t],
                                       record->alerted_us > 0 ? record->alerted_us : g_get_real_time ());
  switch (record->kind)
    {
    case WB_ALERT_KIND_UPDATE:   wb_health_inc (self->health, WB_HEALTH_UPDATES); return;
    case WB_ALERT_KIND_REPEAT:   wb_health_inc (self->health, WB_HEALTH_REPEATS); return;
    case WB_ALERT_KIND_ESCALATE: wb_health_inc (self->health, WB_HEALTH_ESCALATIONS); return;
    case WB_ALERT_KIND_WITHDRAW: wb_health_inc (self->health, WB_HEALTH_WITHDRAWS); return;
    case WB_ALERT_KIND_ALERT:
    default:                     break;
    }
  mark_rung (self, record);
  wb_health_inc (self->health, WB_HEALTH_ALERTS);
  wb_health_add_latency_ms (self->health, wb_alert_record_latency_ms (record));
  for (guint t = 0; t < WB_N_TIERS; t++)
    if (record->tier_result[t] == WB_TIER_RESULT_FAILED)
      wb_health_tier_failed (self->health, t);
}
