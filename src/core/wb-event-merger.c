/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-event-merger.c: the dedupe rules (DESIGN.md): which event opens, updates or closes an
 * episode and which one rings; the state they keep is stored by wb-dedupe-set.c. */
#define G_LOG_DOMAIN "wb-event-merger"

#include "config.h"

#include "wb-event-merger.h"
#include "wb-event-normaliser.h"

struct _WbEventMerger
{
  GObject      parent_instance;

  WbDedupeSet *set;                              /* (owned) */
  gint64       last_stamp_us;                    /* strictly increasing wall-clock stamps */
  guint64      duplicates[WB_EVENT_N_SOURCES];
};

G_DEFINE_FINAL_TYPE (WbEventMerger, wb_event_merger, G_TYPE_OBJECT)

const char *
wb_merge_result_to_string (WbMergeResult result)
{
  switch (result)
    {
    case WB_MERGE_NEW_EPISODE:   return "new_episode";
    case WB_MERGE_DUPLICATE:     return "duplicate";
    case WB_MERGE_STALE:         return "stale";
    case WB_MERGE_ENDED:         return "ended";
    case WB_MERGE_IGNORED:       return "ignored";
    case WB_MERGE_NEEDS_CATCHUP: return "needs_catchup";
    default:                     return "unknown";
    }
}

/* Wall-clock time, but strictly increasing, so that "opened before the catch-up began" is never
 * a tie, even within one microsecond or across a small clock step backwards. */
static gint64
stamp (WbEventMerger *self)
{
  self->last_stamp_us = MAX (g_get_real_time (), self->last_stamp_us + 1);
  return self->last_stamp_us;
}

static void
max_stamp_cb (const char           *assignment_id,
              const WbDedupeRecord *record,
              gpointer              user_data)
{
  gint64 *max = user_data;

  *max = MAX (*max, MAX (record->opened_wall_us, record->touched_wall_us));
}

static void
put (WbEventMerger  *self,
     const char     *assignment_id,
     WbDedupeRecord *r)
{
  wb_dedupe_set_put (self->set, assignment_id, r, stamp (self));
}

static gboolean
older_than_record (const WbEvent        *ev,
                   const WbDedupeRecord *rec)
{
  /* 0 = unknown (broadcasts): cannot be ordered, so never stale by time. */
  return rec != NULL && ev->updated_at_us != 0 && ev->updated_at_us < rec->last_updated_at_us;
}

static WbMergeResult
offer_queued (WbEventMerger        *self,
              const WbEvent        *ev,
              const WbDedupeRecord *rec,
              guint                *episode)
{
  WbDedupeRecord r = { 0 };

  if (rec != NULL)
    r = *rec;
  *episode = r.episode;

  /* Rule 1. */
  if (older_than_record (ev, rec))
    {
      g_debug ("%s: stale %s (updated_at older than known)", ev->assignment_id,
               wb_event_source_to_string (ev->source));
      return WB_MERGE_STALE;
    }

  r.last_updated_at_us = MAX (r.last_updated_at_us, ev->updated_at_us);

  /* Rule 2b: the row was queued again (a newer offered_at) while we saw neither it leaving the
   * queue nor coming back (socket down, app closed): the open episode ended unseen and this is
   * the next one. */
  if (r.open && ev->queued_at_us > 0 && r.queued_at_us > 0 && ev->queued_at_us > r.queued_at_us)
    {
      g_debug ("%s: queued again at a newer offered_at: episode %u ended unseen", ev->assignment_id,
               r.episode);
      r.open = FALSE;
    }

  /* Rule 2. */
  if (r.open)
    {
      if (r.queued_at_us == 0)
        r.queued_at_us = ev->queued_at_us;
      self->duplicates[ev->source]++;
      g_debug ("%s: duplicate from %s suppressed (episode %u)", ev->assignment_id,
               wb_event_source_to_string (ev->source), r.episode);
      put (self, ev->assignment_id, &r);
      return WB_MERGE_DUPLICATE;
    }

  /* Rule 4: a broadcast opens an episode only for an assignment never seen at all. */
  if (ev->source == WB_EVENT_SOURCE_BROADCAST && rec != NULL)
    {
      g_debug ("%s: late broadcast after episode %u ended", ev->assignment_id, r.episode);
      return WB_MERGE_STALE;
    }

  /* Rules 3 and 4: a new episode. */
  if (r.episode < G_MAXINT32)
    r.episode++;
  r.open = TRUE;
  r.rung = FALSE;
  r.queued_at_us = ev->queued_at_us;
  r.opened_wall_us = stamp (self);
  put (self, ev->assignment_id, &r);
  *episode = r.episode;
  g_debug ("%s: episode %u opened by %s", ev->assignment_id, r.episode,
           wb_event_source_to_string (ev->source));
  return WB_MERGE_NEW_EPISODE;
}

static WbMergeResult
offer_left_queue (WbEventMerger        *self,
                  const WbEvent        *ev,
                  const WbDedupeRecord *rec,
                  guint                *episode)
{
  WbDedupeRecord r = { 0 };
  gboolean was_open;

  if (rec != NULL)
    r = *rec;
  *episode = r.episode;

  if (older_than_record (ev, rec))
    return WB_MERGE_STALE;

  /* Rule 5, recorded even for assignments never seen, so that a late broadcast stays quiet. */
  was_open = r.open;
  r.open = FALSE;
  r.last_updated_at_us = MAX (r.last_updated_at_us, ev->updated_at_us);
  put (self, ev->assignment_id, &r);
  if (was_open)
    g_debug ("%s: episode %u ended (%s)", ev->assignment_id, r.episode,
             ev->status ? ev->status : "deleted");
  return was_open ? WB_MERGE_ENDED : WB_MERGE_IGNORED;
}

WbMergeResult
wb_event_merger_offer (WbEventMerger *self,
                       const WbEvent *ev,
                       guint         *episode_out)
{
  const WbDedupeRecord *rec;
  guint episode = 0;
  WbMergeResult result = WB_MERGE_IGNORED;

  g_return_val_if_fail (WB_IS_EVENT_MERGER (self), WB_MERGE_IGNORED);
  g_return_val_if_fail (ev != NULL, WB_MERGE_IGNORED);
  g_return_val_if_fail ((guint) ev->source < WB_EVENT_N_SOURCES, WB_MERGE_IGNORED);

  rec = wb_dedupe_set_lookup (self->set, ev->assignment_id);
  if (rec != NULL)
    episode = rec->episode;

  switch (ev->kind)
    {
    case WB_EVENT_NEEDS_CATCHUP:
      /* Rule 7. */
      result = WB_MERGE_NEEDS_CATCHUP;
      break;

    case WB_EVENT_OTHER:
      /* Nothing to alert, but a newer updated_at still orders what follows. */
      if (rec != NULL && ev->updated_at_us > rec->last_updated_at_us)
        {
          WbDedupeRecord r = *rec;

          r.last_updated_at_us = ev->updated_at_us;
          put (self, ev->assignment_id, &r);
        }
      result = WB_MERGE_IGNORED;
      break;

    case WB_EVENT_QUEUED:
      if (ev->assignment_id == NULL || *ev->assignment_id == '\0')
        result = WB_MERGE_NEEDS_CATCHUP;
      else
        result = offer_queued (self, ev, rec, &episode);
      break;

    case WB_EVENT_LEFT_QUEUE:
      if (ev->assignment_id == NULL || *ev->assignment_id == '\0')
        result = WB_MERGE_NEEDS_CATCHUP;
      else
        result = offer_left_queue (self, ev, rec, &episode);
      break;

    default:
      result = WB_MERGE_IGNORED;
      break;
    }

  if (episode_out != NULL)
    *episode_out = episode;
  return result;
}

gint64
wb_event_merger_begin_catchup (WbEventMerger *self)
{
  g_return_val_if_fail (WB_IS_EVENT_MERGER (self), 0);
  return stamp (self);
}

typedef struct
{
  GHashTable *queued;
  gint64      token;
  GPtrArray  *ended;
} FinishData;

static void
collect_ended_cb (const char           *assignment_id,
                  const WbDedupeRecord *record,
                  gpointer              user_data)
{
  FinishData *d = user_data;

  if (record->open && record->opened_wall_us < d->token &&
      !g_hash_table_contains (d->queued, assignment_id))
    g_ptr_array_add (d->ended, g_strdup (assignment_id));
}

GPtrArray *
wb_event_merger_finish_catchup (WbEventMerger *self,
                                gint64         token,
                                GPtrArray     *queued_ids)
{
  g_autoptr(GHashTable) queued = NULL;
  FinishData d;

  g_return_val_if_fail (WB_IS_EVENT_MERGER (self), NULL);
  g_return_val_if_fail (queued_ids != NULL, g_ptr_array_new_with_free_func (g_free));

  queued = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (guint i = 0; i < queued_ids->len; i++)
    {
      const char *id = g_ptr_array_index (queued_ids, i);

      if (id == NULL)
        continue;
      g_hash_table_add (queued, wb_event_id_looks_like_uuid (id) ? g_ascii_strdown (id, -1)
                                                                 : g_strdup (id));
    }

  /* Rule 6. */
  d.queued = queued;
  d.token = token;
  d.ended = g_ptr_array_new_with_free_func (g_free);
  wb_dedupe_set_foreach (self->set, collect_ended_cb, &d);

  for (guint i = 0; i < d.ended->len; i++)
    {
      const char *id = g_ptr_array_index (d.ended, i);
      WbDedupeRecord r = *wb_dedupe_set_lookup (self->set, id);

      r.open = FALSE;
      put (self, id, &r);
      g_debug ("%s: episode %u ended (not in the catch-up result)", id, r.episode);
    }
  return d.ended;
}

guint64
wb_event_merger_get_duplicates (WbEventMerger *self,
                                WbEventSource  source)
{
  g_return_val_if_fail (WB_IS_EVENT_MERGER (self), 0);
  g_return_val_if_fail ((guint) source < WB_EVENT_N_SOURCES, 0);
  return self->duplicates[source];
}

guint64
wb_event_merger_get_duplicates_total (WbEventMerger *self)
{
  guint64 total = 0;

  g_return_val_if_fail (WB_IS_EVENT_MERGER (self), 0);
  for (guint i = 0; i < WB_EVENT_N_SOURCES; i++)
    total += self->duplicates[i];
  return total;
}

WbDedupeSet *
wb_event_merger_get_dedupe_set (WbEventMerger *self)
{
  g_return_val_if_fail (WB_IS_EVENT_MERGER (self), NULL);
  return self->set;
}

/* The set's content was (re)loaded: stamps go on after the newest one in it. */
void
wb_event_merger_set_loaded (WbEventMerger *self)
{
  gint64 max = 0;

  g_return_if_fail (WB_IS_EVENT_MERGER (self));
  wb_dedupe_set_foreach (self->set, max_stamp_cb, &max);
  self->last_stamp_us = MAX (self->last_stamp_us, max);
}

WbEventMerger *
wb_event_merger_new (WbDedupeSet *set)
{
  WbEventMerger *self;

  g_return_val_if_fail (WB_IS_DEDUPE_SET (set), NULL);

  self = g_object_new (WB_TYPE_EVENT_MERGER, NULL);
  self->set = g_object_ref (set);
  wb_event_merger_set_loaded (self);
  return self;
}

static void
wb_event_merger_finalize (GObject *object)
{
  WbEventMerger *self = (WbEventMerger *) object;

  g_clear_object (&self->set);

  G_OBJECT_CLASS (wb_event_merger_parent_class)->finalize (object);
}

static void
wb_event_merger_class_init (WbEventMergerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = wb_event_merger_finalize;
}

static void
wb_event_merger_init (WbEventMerger *self)
{
}
