/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-alert-dispatcher.c: fires every tier for each record, each isolated by its deadline, and
 * keeps the open alerts: their reminders, escalation and snooze, and the knobs that time them. */

#define G_LOG_DOMAIN "wb-alert-dispatcher"

#include "config.h"

#include "wb-alert-dispatcher.h"

/* Every tier of a record is started at once; each answer (or its deadline) fills one column of
 * the record. Nothing a tier does — failing, erroring, never answering — can delay or stop the
 * others (seed issue 5: one failing tier killed all the others). */

/* An alert rung and not withdrawn yet: what its reminders carry, and its timers. */
typedef struct
{
  WbAlertRecord *latest;       /* (owned) content of the last alert/update */
  guint          repeat_id;
  guint          escalate_id;  /* fires escalate_after_ms after the alert, once */
  guint          snooze_id;    /* ends the snooze */
  gboolean       acknowledged;
  gboolean       repeat_in_flight;
  gboolean       snoozed;
  gboolean       escalation_due;   /* came due while snoozed: rings when the snooze ends */
  gboolean       escalated;
} WbOpenAlert;

struct _WbAlertDispatcher
{
  GObject            parent_instance;

  WbAlertTier       *tiers[WB_N_TIERS];   /* (owned) (nullable) */
  gboolean           enabled[WB_N_TIERS];
  WbAlertTierFilter  filter;
  gpointer           filter_data;
  GDestroyNotify     filter_destroy;
  gboolean           dnd;
  gboolean           urgent_pierces_dnd;
  guint              repeat_interval_ms;
  guint              escalate_after_ms;   /* 0: never */
  guint              tier_timeout_ms;
  GHashTable        *open;                /* assignment id → WbOpenAlert */
};

typedef struct _WbDispatchState WbDispatchState;

typedef struct
{
  WbDispatchState *state;        /* (unowned) the call lives inside the state */
  WbTier           tier;
  GCancellable    *cancellable;  /* (owned) */
  guint            timeout_id;
  gboolean         finished;
} WbTierCall;

struct _WbDispatchState
{
  gint                 ref_count;
  WbAlertDispatcher   *self;   /* (owned) until done, then NULL */
  WbAlertRecord       *record; /* (owned) until done */
  WbAlertDispatchDone  done;
  gpointer             user_data;
  guint                pending;
  WbTierCall           calls[WB_N_TIERS];
};

G_DEFINE_FINAL_TYPE (WbAlertDispatcher, wb_alert_dispatcher, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_DO_NOT_DISTURB,
  PROP_URGENT_PIERCES_DND,
  PROP_REPEAT_INTERVAL,
  PROP_TIER_TIMEOUT,
  PROP_TIER_TOAST,
  PROP_TIER_SOUND,
  PROP_TIER_NOTIFICATION,
  PROP_TIER_TRAY,
  PROP_N_UNACKNOWLEDGED,
  PROP_ESCALATE_AFTER,
  N_PROPS,
};

enum {
  SIGNAL_TIER_FAILED,
  SIGNAL_RECORD_DONE,
  N_SIGNALS,
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

static void
open_alert_free (gpointer data)
{
  WbOpenAlert *open = data;

  g_clear_handle_id (&open->repeat_id, g_source_remove);
  g_clear_handle_id (&open->escalate_id, g_source_remove);
  g_clear_handle_id (&open->snooze_id, g_source_remove);
  wb_alert_record_free (open->latest);
  g_free (open);
}

/* @func on every open alert (a knob that changes a schedule, Acknowledge All). */
static void
for_each_open (WbAlertDispatcher *self,
               void             (*func) (WbAlertDispatcher *self,
                                         const char        *id,
                                         WbOpenAlert       *open))
{
  GHashTableIter iter;
  gpointer key, value;

  g_hash_table_iter_init (&iter, self->open);
  while (g_hash_table_iter_next (&iter, &key, &value))
    func (self, key, value);
}

static WbDispatchState *
dispatch_state_ref (WbDispatchState *state)
{
  state->ref_count++;
  return state;
}

static void
dispatch_state_unref (WbDispatchState *state)
{
  if (--state->ref_count > 0)
    return;

  for (guint i = 0; i < WB_N_TIERS; i++)
    {
      g_clear_handle_id (&state->calls[i].timeout_id, g_source_remove);
      g_clear_object (&state->calls[i].cancellable);
    }
  g_clear_pointer (&state->record, wb_alert_record_free);
  g_clear_object (&state->self);
  g_free (state);
}

static void
maybe_complete (WbDispatchState *state)
{
  g_autoptr(WbAlertDispatcher) self = NULL;
  g_autoptr(WbAlertRecord) record = NULL;

  if (state->pending > 0 || state->self == NULL)
    return;

  self = g_steal_pointer (&state->self);
  record = g_steal_pointer (&state->record);

  if (record->kind == WB_ALERT_KIND_REPEAT || record->kind == WB_ALERT_KIND_ESCALATE)
    {
      WbOpenAlert *open = g_hash_table_lookup (self->open, record->assignment_id);

      if (open != NULL)
        open->repeat_in_flight = FALSE;
    }

  if (state->done != NULL)
    state->done (self, record, state->user_data);
  g_signal_emit (self, signals[SIGNAL_RECORD_DONE], 0, record);
}

static void
finish_call (WbTierCall   *call,
             WbTierResult  result,
             const char   *reason)
{
  WbDispatchState *state = call->state;

  if (call->finished)
    return;
  call->finished = TRUE;
  g_clear_handle_id (&call->timeout_id, g_source_remove);

  wb_alert_record_set_tier (state->record, call->tier, result, reason);
  if (result == WB_TIER_RESULT_FAILED)
    {
      g_debug ("%s tier failed for %s: %s", wb_tier_to_string (call->tier),
               state->record->assignment_id, reason);
      g_signal_emit (state->self, signals[SIGNAL_TIER_FAILED], 0, (guint) call->tier, reason);
    }

  state->pending--;
  maybe_complete (state);
}

static gboolean
tier_deadline_cb (gpointer data)
{
  WbTierCall *call = data;

  call->timeout_id = 0;
  g_cancellable_cancel (call->cancellable);
  finish_call (call, WB_TIER_RESULT_FAILED, "timeout");
  return G_SOURCE_REMOVE;
}

static void
tier_fire_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      data)
{
  WbTierCall *call = data;
  WbDispatchState *state = call->state;
  g_autoptr(GError) error = NULL;
  g_autofree char *reason = NULL;
  WbTierResult res;

  res = wb_alert_tier_fire_finish (WB_ALERT_TIER (source), result, &reason, &error);
  if (!call->finished)
    {
      if (res == WB_TIER_RESULT_FAILED || res == WB_TIER_RESULT_NOT_RUN)
        finish_call (call, WB_TIER_RESULT_FAILED,
                     error != NULL ? error->message : (reason != NULL ? reason : "unknown error"));
      else
        finish_call (call, res, reason);
    }
  dispatch_state_unref (state);
}

/* Why @tier does not run for @record, or NULL when it runs. */
static char *
skip_reason (WbAlertDispatcher   *self,
             WbTier               tier,
             const WbAlertRecord *record)
{
  char *reason = NULL;

  if (self->tiers[tier] == NULL)
    return g_strdup ("unavailable");
  if (!self->enabled[tier])
    return g_strdup ("disabled");
  if (self->filter != NULL && !self->filter (tier, record, &reason, self->filter_data))
    return reason != NULL ? reason : g_strdup ("disabled");
  g_free (reason);
  if (self->dnd && (tier == WB_TIER_SOUND || tier == WB_TIER_NOTIFICATION)
      && !(record->urgent && self->urgent_pierces_dnd))
    return g_strdup ("do not disturb");
  return NULL;
}

static void
run_tiers (WbAlertDispatcher   *self,
           const WbAlertRecord *record,
           WbAlertDispatchDone  done,
           gpointer             user_data)
{
  WbDispatchState *state = g_new0 (WbDispatchState, 1);
  char *reasons[WB_N_TIERS] = { NULL, };

  state->ref_count = 1;
  state->self = g_object_ref (self);
  state->record = wb_alert_record_copy (record);
  state->done = done;
  state->user_data = user_data;
  state->record->alerted_us = g_get_real_time ();
  state->record->alerted_mono_us = g_get_monotonic_time ();

  /* Decide everything first, so a tier answering synchronously can't complete the state early. */
  state->pending = 1;
  for (guint i = 0; i < WB_N_TIERS; i++)
    {
      state->calls[i].state = state;
      state->calls[i].tier = i;
      reasons[i] = skip_reason (self, i, record);
      if (reasons[i] != NULL)
        {
          state->calls[i].finished = TRUE;
          wb_alert_record_set_tier (state->record, i, WB_TIER_RESULT_SKIPPED, reasons[i]);
        }
      else
        state->pending++;
    }

  for (guint i = 0; i < WB_N_TIERS; i++)
    {
      WbTierCall *call = &state->calls[i];

      if (call->finished)
        continue;
      call->cancellable = g_cancellable_new ();
      call->timeout_id = g_timeout_add (self->tier_timeout_ms, tier_deadline_cb, call);
      wb_alert_tier_fire_async (self->tiers[i], state->record, call->cancellable,
                                tier_fire_cb, call);
      dispatch_state_ref (state);
    }

  /* g_autofree on an array would free only its first element. */
  for (guint i = 0; i < WB_N_TIERS; i++)
    g_free (reasons[i]);

  state->pending--;
  maybe_complete (state);
  dispatch_state_unref (state);
}

static void
withdraw_everywhere (WbAlertDispatcher *self,
                     const char        *assignment_id)
{
  g_hash_table_remove (self->open, assignment_id);
  for (guint i = 0; i < WB_N_TIERS; i++)
    if (self->tiers[i] != NULL)
      wb_alert_tier_withdraw (self->tiers[i], assignment_id);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_UNACKNOWLEDGED]);
}

typedef struct
{
  WbAlertDispatcher *self;  /* (unowned) the source is owned by a WbOpenAlert of self */
  char              *id;
} WbRepeatData;

static void
repeat_data_free (gpointer data)
{
  WbRepeatData *rd = data;

  g_free (rd->id);
  g_free (rd);
}

static WbRepeatData *
repeat_data_new (WbAlertDispatcher *self,
                 const char        *id)
{
  WbRepeatData *rd = g_new0 (WbRepeatData, 1);

  rd->self = self;
  rd->id = g_strdup (id);
  return rd;
}

/* A reminder (REPEAT) or the escalation (ESCALATE) of @open, through every tier again. */
static void
ring_again (WbAlertDispatcher *self,
            WbOpenAlert       *open,
            WbAlertKind        kind)
{
  g_autoptr(WbAlertRecord) again = wb_alert_record_copy (open->latest);

  again->kind = kind;
  for (guint i = 0; i < WB_N_TIERS; i++)
    wb_alert_record_set_tier (again, i, WB_TIER_RESULT_NOT_RUN, NULL);
  open->repeat_in_flight = TRUE;
  run_tiers (self, again, NULL, NULL);
}

static gboolean
repeat_cb (gpointer data)
{
  WbRepeatData *rd = data;
  WbOpenAlert *open = g_hash_table_lookup (rd->self->open, rd->id);

  if (open == NULL || open->acknowledged)
    return G_SOURCE_CONTINUE;
  if (open->repeat_in_flight)
    return G_SOURCE_CONTINUE;   /* the last reminder is still ringing: don't pile up */

  ring_again (rd->self, open, WB_ALERT_KIND_REPEAT);
  return G_SOURCE_CONTINUE;
}

static void restart_repeat (WbAlertDispatcher *self, const char *id, WbOpenAlert *open);

/* PagerDuty-style: nobody has taken it (it is still open) N minutes after it rang, so it rings
 * again as urgent — the urgent chime, a critical notification (shown even in Do Not Disturb) —
 * and stays urgent. An acknowledgement only silenced the reminders: this is a new, louder fact. */
static void
escalate (WbAlertDispatcher *self,
          const char        *id,
          WbOpenAlert       *open)
{
  open->escalated = TRUE;
  open->escalation_due = FALSE;
  open->latest->urgent = TRUE;
  open->acknowledged = FALSE;
  ring_again (self, open, WB_ALERT_KIND_ESCALATE);
  restart_repeat (self, id, open);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_UNACKNOWLEDGED]);
}

static gboolean
escalate_cb (gpointer data)
{
  WbRepeatData *rd = data;
  WbOpenAlert *open = g_hash_table_lookup (rd->self->open, rd->id);

  if (open == NULL)
    return G_SOURCE_REMOVE;
  open->escalate_id = 0;
  if (open->snoozed)
    open->escalation_due = TRUE;   /* rings when the snooze ends */
  else
    escalate (rd->self, rd->id, open);
  return G_SOURCE_REMOVE;
}

static void
restart_escalation (WbAlertDispatcher *self,
                    const char        *id,
                    WbOpenAlert       *open)
{
  g_clear_handle_id (&open->escalate_id, g_source_remove);
  if (self->escalate_after_ms == 0 || open->escalated || open->escalation_due)
    return;
  open->escalate_id = g_timeout_add_full (G_PRIORITY_DEFAULT, self->escalate_after_ms, escalate_cb,
                                          repeat_data_new (self, id), repeat_data_free);
}

static gboolean
snooze_over_cb (gpointer data)
{
  WbRepeatData *rd = data;
  WbOpenAlert *open = g_hash_table_lookup (rd->self->open, rd->id);

  if (open == NULL)
    return G_SOURCE_REMOVE;
  open->snooze_id = 0;
  open->snoozed = FALSE;
  open->acknowledged = FALSE;
  if (open->escalation_due)
    escalate (rd->self, rd->id, open);
  else
    {
      ring_again (rd->self, open, WB_ALERT_KIND_REPEAT);
      restart_repeat (rd->self, rd->id, open);
      g_object_notify_by_pspec (G_OBJECT (rd->self), properties[PROP_N_UNACKNOWLEDGED]);
    }
  return G_SOURCE_REMOVE;
}

static void
restart_repeat (WbAlertDispatcher *self,
                const char        *id,
                WbOpenAlert       *open)
{
  g_clear_handle_id (&open->repeat_id, g_source_remove);
  if (self->repeat_interval_ms == 0 || open->acknowledged)
    return;

  open->repeat_id = g_timeout_add_full (G_PRIORITY_DEFAULT, self->repeat_interval_ms,
                                        repeat_cb, repeat_data_new (self, id), repeat_data_free);
}

/* Track the alert for repeating; returns FALSE if the record should not ring at all. */
static gboolean
track_record (WbAlertDispatcher   *self,
              const WbAlertRecord *record)
{
  WbOpenAlert *open = g_hash_table_lookup (self->open, record->assignment_id);

  switch (record->kind)
    {
    case WB_ALERT_KIND_ALERT:
      if (open == NULL)
        {
          open = g_new0 (WbOpenAlert, 1);
          g_hash_table_insert (self->open, g_strdup (record->assignment_id), open);
        }
      g_clear_pointer (&open->latest, wb_alert_record_free);
      open->latest = wb_alert_record_copy (record);
      open->acknowledged = FALSE;
      restart_repeat (self, record->assignment_id, open);
      if (open->escalate_id == 0)
        restart_escalation (self, record->assignment_id, open);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_UNACKNOWLEDGED]);
      return TRUE;

    case WB_ALERT_KIND_UPDATE:
      /* Same alert, better text: the reminders now carry it too; no new repeat schedule. */
      if (open != NULL)
        {
          gboolean urgent = open->latest->urgent;

          g_clear_pointer (&open->latest, wb_alert_record_free);
          open->latest = wb_alert_record_copy (record);
          open->latest->kind = WB_ALERT_KIND_ALERT;
          open->latest->urgent = record->urgent || urgent;   /* once escalated, urgent */
        }
      return TRUE;

    case WB_ALERT_KIND_REPEAT:
      return open != NULL && !open->acknowledged;

    case WB_ALERT_KIND_ESCALATE:
      return open != NULL;

    case WB_ALERT_KIND_WITHDRAW:
    default:
      return TRUE;
    }
}

void
wb_alert_dispatcher_dispatch (WbAlertDispatcher   *self,
                              const WbAlertRecord *record,
                              WbAlertDispatchDone  done,
                              gpointer             user_data)
{
  g_return_if_fail (WB_IS_ALERT_DISPATCHER (self));
  g_return_if_fail (record != NULL && record->assignment_id != NULL);

  if (record->kind == WB_ALERT_KIND_WITHDRAW)
    {
      g_autoptr(WbAlertRecord) copy = wb_alert_record_copy (record);

      withdraw_everywhere (self, record->assignment_id);
      /* The pipeline says when this workstation stood down, if it did so earlier. */
      if (copy->alerted_us == 0)
        {
          copy->alerted_us = g_get_real_time ();
          copy->alerted_mono_us = g_get_monotonic_time ();
        }
      for (guint i = 0; i < WB_N_TIERS; i++)
        wb_alert_record_set_tier (copy, i,
                                  self->tiers[i] != NULL ? WB_TIER_RESULT_OK : WB_TIER_RESULT_SKIPPED,
                                  self->tiers[i] != NULL ? NULL : "unavailable");
      if (done != NULL)
        done (self, copy, user_data);
      g_signal_emit (self, signals[SIGNAL_RECORD_DONE], 0, copy);
      return;
    }

  if (!track_record (self, record))
    {
      g_autoptr(WbAlertRecord) copy = wb_alert_record_copy (record);

      for (guint i = 0; i < WB_N_TIERS; i++)
        wb_alert_record_set_tier (copy, i, WB_TIER_RESULT_SKIPPED, "acknowledged");
      if (done != NULL)
        done (self, copy, user_data);
      return;
    }

  run_tiers (self, record, done, user_data);
}

/* Seen: the reminders and a pending snooze stop; the escalation still stands. */
static void
acknowledge_open (WbAlertDispatcher *self,
                  const char        *id,
                  WbOpenAlert       *open)
{
  open->acknowledged = TRUE;
  open->snoozed = FALSE;
  g_clear_handle_id (&open->repeat_id, g_source_remove);
  g_clear_handle_id (&open->snooze_id, g_source_remove);
}

void
wb_alert_dispatcher_acknowledge (WbAlertDispatcher *self,
                                 const char        *assignment_id)
{
  WbOpenAlert *open;

  g_return_if_fail (WB_IS_ALERT_DISPATCHER (self));

  open = g_hash_table_lookup (self->open, assignment_id);
  if (open != NULL)
    acknowledge_open (self, assignment_id, open);
  for (guint i = 0; i < WB_N_TIERS; i++)
    if (self->tiers[i] != NULL)
      wb_alert_tier_acknowledge (self->tiers[i], assignment_id);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_UNACKNOWLEDGED]);
}

void
wb_alert_dispatcher_acknowledge_all (WbAlertDispatcher *self)
{
  g_return_if_fail (WB_IS_ALERT_DISPATCHER (self));

  for_each_open (self, acknowledge_open);
  for (guint i = 0; i < WB_N_TIERS; i++)
    if (self->tiers[i] != NULL)
      wb_alert_tier_acknowledge_all (self->tiers[i]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_UNACKNOWLEDGED]);
}

void
wb_alert_dispatcher_withdraw (WbAlertDispatcher *self,
                              const char        *assignment_id)
{
  g_return_if_fail (WB_IS_ALERT_DISPATCHER (self));

  withdraw_everywhere (self, assignment_id);
}

gboolean
_wb_alert_dispatcher_snooze_ms (WbAlertDispatcher *self,
                                const char        *assignment_id,
                                guint              msec)
{
  WbOpenAlert *open;

  g_return_val_if_fail (WB_IS_ALERT_DISPATCHER (self), FALSE);

  open = assignment_id != NULL ? g_hash_table_lookup (self->open, assignment_id) : NULL;
  if (open == NULL)
    return FALSE;
  open->snoozed = TRUE;
  open->acknowledged = TRUE;
  g_clear_handle_id (&open->repeat_id, g_source_remove);
  g_clear_handle_id (&open->snooze_id, g_source_remove);
  open->snooze_id = g_timeout_add_full (G_PRIORITY_DEFAULT, MAX (msec, 1), snooze_over_cb,
                                        repeat_data_new (self, assignment_id), repeat_data_free);
  /* Quiet for now everywhere: the notification closes, the tray calms down, the chime stops. */
  for (guint i = 0; i < WB_N_TIERS; i++)
    if (self->tiers[i] != NULL)
      wb_alert_tier_acknowledge (self->tiers[i], assignment_id);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_UNACKNOWLEDGED]);
  return TRUE;
}

gboolean
wb_alert_dispatcher_snooze (WbAlertDispatcher *self,
                            const char        *assignment_id,
                            guint              seconds)
{
  return _wb_alert_dispatcher_snooze_ms (self, assignment_id, MIN (seconds, G_MAXUINT / 1000) * 1000);
}

guint
wb_alert_dispatcher_get_n_open (WbAlertDispatcher *self)
{
  g_return_val_if_fail (WB_IS_ALERT_DISPATCHER (self), 0);

  return g_hash_table_size (self->open);
}

gboolean
wb_alert_dispatcher_is_open (WbAlertDispatcher *self,
                             const char        *assignment_id)
{
  g_return_val_if_fail (WB_IS_ALERT_DISPATCHER (self), FALSE);

  return assignment_id != NULL && g_hash_table_contains (self->open, assignment_id);
}

guint
wb_alert_dispatcher_get_n_unacknowledged (WbAlertDispatcher *self)
{
  GHashTableIter iter;
  gpointer value;
  guint n = 0;

  g_return_val_if_fail (WB_IS_ALERT_DISPATCHER (self), 0);

  g_hash_table_iter_init (&iter, self->open);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    if (!((WbOpenAlert *) value)->acknowledged)
      n++;
  return n;
}

/* The knobs: tiers, enablement, do-not-disturb, repeat, escalation, deadline. The app binds
 * these properties to WbSettings; nothing here knows about GSettings. */

void
wb_alert_dispatcher_add_tier (WbAlertDispatcher *self,
                              WbAlertTier       *tier)
{
  WbTier which;

  g_return_if_fail (WB_IS_ALERT_DISPATCHER (self));
  g_return_if_fail (WB_IS_ALERT_TIER (tier));

  which = wb_alert_tier_get_tier (tier);
  g_return_if_fail (which < WB_N_TIERS);
  g_set_object (&self->tiers[which], tier);
}

WbAlertTier *
wb_alert_dispatcher_get_tier (WbAlertDispatcher *self,
                              WbTier             tier)
{
  g_return_val_if_fail (WB_IS_ALERT_DISPATCHER (self), NULL);
  g_return_val_if_fail (tier < WB_N_TIERS, NULL);

  return self->tiers[tier];
}

void
wb_alert_dispatcher_set_tier_filter (WbAlertDispatcher *self,
                                     WbAlertTierFilter  filter,
                                     gpointer           user_data,
                                     GDestroyNotify     destroy)
{
  g_return_if_fail (WB_IS_ALERT_DISPATCHER (self));

  if (self->filter_destroy != NULL)
    self->filter_destroy (self->filter_data);
  self->filter = filter;
  self->filter_data = user_data;
  self->filter_destroy = destroy;
}

void
wb_alert_dispatcher_set_tier_enabled (WbAlertDispatcher *self,
                                      WbTier             tier,
                                      gboolean           enabled)
{
  g_return_if_fail (WB_IS_ALERT_DISPATCHER (self));
  g_return_if_fail (tier < WB_N_TIERS);

  enabled = !!enabled;
  if (self->enabled[tier] == enabled)
    return;
  self->enabled[tier] = enabled;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TIER_TOAST + tier]);
}

gboolean
wb_alert_dispatcher_get_tier_enabled (WbAlertDispatcher *self,
                                      WbTier             tier)
{
  g_return_val_if_fail (WB_IS_ALERT_DISPATCHER (self), FALSE);
  g_return_val_if_fail (tier < WB_N_TIERS, FALSE);

  return self->enabled[tier];
}

void
wb_alert_dispatcher_set_do_not_disturb (WbAlertDispatcher *self,
                                        gboolean           dnd)
{
  g_return_if_fail (WB_IS_ALERT_DISPATCHER (self));

  if (self->dnd == !!dnd)
    return;
  self->dnd = !!dnd;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_DO_NOT_DISTURB]);
}

void
wb_alert_dispatcher_set_urgent_pierces_dnd (WbAlertDispatcher *self,
                                            gboolean           pierces)
{
  g_return_if_fail (WB_IS_ALERT_DISPATCHER (self));

  if (self->urgent_pierces_dnd == !!pierces)
    return;
  self->urgent_pierces_dnd = !!pierces;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_URGENT_PIERCES_DND]);
}

void
_wb_alert_dispatcher_set_repeat_interval_ms (WbAlertDispatcher *self,
                                             guint              msec)
{
  g_return_if_fail (WB_IS_ALERT_DISPATCHER (self));

  if (self->repeat_interval_ms == msec)
    return;
  self->repeat_interval_ms = msec;
  for_each_open (self, restart_repeat);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_REPEAT_INTERVAL]);
}

void
wb_alert_dispatcher_set_repeat_interval (WbAlertDispatcher *self,
                                         guint              seconds)
{
  _wb_alert_dispatcher_set_repeat_interval_ms (self, MIN (seconds, G_MAXUINT / 1000) * 1000);
}

void
_wb_alert_dispatcher_set_escalate_after_ms (WbAlertDispatcher *self,
                                            guint              msec)
{
  g_return_if_fail (WB_IS_ALERT_DISPATCHER (self));

  if (self->escalate_after_ms == msec)
    return;
  self->escalate_after_ms = msec;
  for_each_open (self, restart_escalation);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ESCALATE_AFTER]);
}

void
wb_alert_dispatcher_set_escalate_after (WbAlertDispatcher *self,
                                        guint              minutes)
{
  _wb_alert_dispatcher_set_escalate_after_ms (self, MIN (minutes, G_MAXUINT / 60000) * 60000);
}

void
wb_alert_dispatcher_set_tier_timeout (WbAlertDispatcher *self,
                                      guint              msec)
{
  g_return_if_fail (WB_IS_ALERT_DISPATCHER (self));

  msec = MAX (msec, 1);
  if (self->tier_timeout_ms == msec)
    return;
  self->tier_timeout_ms = msec;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TIER_TIMEOUT]);
}

static void
wb_alert_dispatcher_get_property (GObject    *object,
                                  guint       prop_id,
                                  GValue     *value,
                                  GParamSpec *pspec)
{
  WbAlertDispatcher *self = WB_ALERT_DISPATCHER (object);

  switch (prop_id)
    {
    case PROP_DO_NOT_DISTURB:
      g_value_set_boolean (value, self->dnd);
      break;
    case PROP_URGENT_PIERCES_DND:
      g_value_set_boolean (value, self->urgent_pierces_dnd);
      break;
    case PROP_REPEAT_INTERVAL:
      g_value_set_uint (value, self->repeat_interval_ms / 1000);
      break;
    case PROP_TIER_TIMEOUT:
      g_value_set_uint (value, self->tier_timeout_ms);
      break;
    case PROP_TIER_TOAST:
    case PROP_TIER_SOUND:
    case PROP_TIER_NOTIFICATION:
    case PROP_TIER_TRAY:
      g_value_set_boolean (value, self->enabled[prop_id - PROP_TIER_TOAST]);
      break;
    case PROP_N_UNACKNOWLEDGED:
      g_value_set_uint (value, wb_alert_dispatcher_get_n_unacknowledged (self));
      break;
    case PROP_ESCALATE_AFTER:
      g_value_set_uint (value, self->escalate_after_ms / 60000);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
wb_alert_dispatcher_set_property (GObject      *object,
                                  guint         prop_id,
                                  const GValue *value,
                                  GParamSpec   *pspec)
{
  WbAlertDispatcher *self = WB_ALERT_DISPATCHER (object);

  switch (prop_id)
    {
    case PROP_DO_NOT_DISTURB:
      wb_alert_dispatcher_set_do_not_disturb (self, g_value_get_boolean (value));
      break;
    case PROP_URGENT_PIERCES_DND:
      wb_alert_dispatcher_set_urgent_pierces_dnd (self, g_value_get_boolean (value));
      break;
    case PROP_REPEAT_INTERVAL:
      wb_alert_dispatcher_set_repeat_interval (self, g_value_get_uint (value));
      break;
    case PROP_TIER_TIMEOUT:
      wb_alert_dispatcher_set_tier_timeout (self, g_value_get_uint (value));
      break;
    case PROP_ESCALATE_AFTER:
      wb_alert_dispatcher_set_escalate_after (self, g_value_get_uint (value));
      break;
    case PROP_TIER_TOAST:
    case PROP_TIER_SOUND:
    case PROP_TIER_NOTIFICATION:
    case PROP_TIER_TRAY:
      wb_alert_dispatcher_set_tier_enabled (self, prop_id - PROP_TIER_TOAST,
                                            g_value_get_boolean (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

WbAlertDispatcher *
wb_alert_dispatcher_new (void)
{
  return g_object_new (WB_TYPE_ALERT_DISPATCHER, NULL);
}

static void
wb_alert_dispatcher_dispose (GObject *object)
{
  WbAlertDispatcher *self = WB_ALERT_DISPATCHER (object);

  g_hash_table_remove_all (self->open);
  for (guint i = 0; i < WB_N_TIERS; i++)
    g_clear_object (&self->tiers[i]);
  wb_alert_dispatcher_set_tier_filter (self, NULL, NULL, NULL);

  G_OBJECT_CLASS (wb_alert_dispatcher_parent_class)->dispose (object);
}

static void
wb_alert_dispatcher_finalize (GObject *object)
{
  WbAlertDispatcher *self = WB_ALERT_DISPATCHER (object);

  g_hash_table_unref (self->open);

  G_OBJECT_CLASS (wb_alert_dispatcher_parent_class)->finalize (object);
}

static void
wb_alert_dispatcher_class_init (WbAlertDispatcherClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  const GParamFlags rw = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY;

  object_class->get_property = wb_alert_dispatcher_get_property;
  object_class->set_property = wb_alert_dispatcher_set_property;
  object_class->dispose = wb_alert_dispatcher_dispose;
  object_class->finalize = wb_alert_dispatcher_finalize;

  properties[PROP_DO_NOT_DISTURB] =
    g_param_spec_boolean ("do-not-disturb", NULL, NULL, FALSE, rw);
  properties[PROP_URGENT_PIERCES_DND] =
    g_param_spec_boolean ("urgent-pierces-dnd", NULL, NULL, TRUE, rw);
  properties[PROP_REPEAT_INTERVAL] =
    g_param_spec_uint ("repeat-interval", NULL, NULL, 0, G_MAXUINT / 1000,
                       WB_ALERT_DISPATCHER_DEFAULT_REPEAT_INTERVAL, rw);
  properties[PROP_TIER_TIMEOUT] =
    g_param_spec_uint ("tier-timeout", NULL, NULL, 1, G_MAXUINT,
                       WB_ALERT_DISPATCHER_DEFAULT_TIER_TIMEOUT_MS, rw);
  properties[PROP_TIER_TOAST] =
    g_param_spec_boolean ("tier-toast", NULL, NULL, TRUE, rw);
  properties[PROP_TIER_SOUND] =
    g_param_spec_boolean ("tier-sound", NULL, NULL, TRUE, rw);
  properties[PROP_TIER_NOTIFICATION] =
    g_param_spec_boolean ("tier-notification", NULL, NULL, TRUE, rw);
  properties[PROP_TIER_TRAY] =
    g_param_spec_boolean ("tier-tray", NULL, NULL, TRUE, rw);
  properties[PROP_ESCALATE_AFTER] =
    g_param_spec_uint ("escalate-after", NULL, NULL, 0, G_MAXUINT / 60000,
                       WB_ALERT_DISPATCHER_DEFAULT_ESCALATE_AFTER, rw);
  properties[PROP_N_UNACKNOWLEDGED] =
    g_param_spec_uint ("n-unacknowledged", NULL, NULL, 0, G_MAXUINT, 0,
                       G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /* tier-failed (guint tier, a WbTier; const char *reason): for the health counters. */
  signals[SIGNAL_TIER_FAILED] =
    g_signal_new ("tier-failed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_UINT, G_TYPE_STRING);
  /* record-done (WbAlertRecord *): every finished dispatch, reminders included (alert log). */
  signals[SIGNAL_RECORD_DONE] =
    g_signal_new ("record-done", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 1,
                  WB_TYPE_ALERT_RECORD | G_SIGNAL_TYPE_STATIC_SCOPE);
}

static void
wb_alert_dispatcher_init (WbAlertDispatcher *self)
{
  for (guint i = 0; i < WB_N_TIERS; i++)
    self->enabled[i] = TRUE;
  self->urgent_pierces_dnd = TRUE;
  self->repeat_interval_ms = WB_ALERT_DISPATCHER_DEFAULT_REPEAT_INTERVAL * 1000;
  self->escalate_after_ms = WB_ALERT_DISPATCHER_DEFAULT_ESCALATE_AFTER * 60000;
  self->tier_timeout_ms = WB_ALERT_DISPATCHER_DEFAULT_TIER_TIMEOUT_MS;
  self->open = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, open_alert_free);
}
