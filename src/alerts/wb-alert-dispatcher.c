#define G_LOG_DOMAIN "wb-alert-dispatcher"

#include "config.h"

#include "wb-alert-dispatcher-private.h"

/* Every tier of a record is started at once; each answer (or its deadline) fills one column of
 * the record. Nothing a tier does — failing, erroring, never answering — can delay or stop the
 * others (seed issue 5: one failing tier killed all the others). */

typedef struct _DispatchState DispatchState;

typedef struct
{
  DispatchState *state;        /* (unowned) the call lives inside the state */
  WbTier         tier;
  GCancellable  *cancellable;  /* (owned) */
  guint          timeout_id;
  gboolean       finished;
} TierCall;

struct _DispatchState
{
  gint                 ref_count;
  WbAlertDispatcher   *self;   /* (owned) until done, then NULL */
  WbAlertRecord       *record; /* (owned) until done */
  WbAlertDispatchDone  done;
  gpointer             user_data;
  guint                pending;
  TierCall             calls[WB_N_TIERS];
};

G_DEFINE_FINAL_TYPE (WbAlertDispatcher, wb_alert_dispatcher, G_TYPE_OBJECT)

enum {
  SIGNAL_TIER_FAILED,
  SIGNAL_RECORD_DONE,
  N_SIGNALS,
};

GParamSpec *_wb_alert_dispatcher_properties[N_PROPS];
static guint signals[N_SIGNALS];

static void
open_alert_free (gpointer data)
{
  OpenAlert *open = data;

  g_clear_handle_id (&open->repeat_id, g_source_remove);
  g_clear_handle_id (&open->escalate_id, g_source_remove);
  g_clear_handle_id (&open->snooze_id, g_source_remove);
  wb_alert_record_free (open->latest);
  g_free (open);
}

static DispatchState *
dispatch_state_ref (DispatchState *state)
{
  state->ref_count++;
  return state;
}

static void
dispatch_state_unref (DispatchState *state)
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
maybe_complete (DispatchState *state)
{
  g_autoptr(WbAlertDispatcher) self = NULL;
  g_autoptr(WbAlertRecord) record = NULL;

  if (state->pending > 0 || state->self == NULL)
    return;

  self = g_steal_pointer (&state->self);
  record = g_steal_pointer (&state->record);

  if (record->kind == WB_ALERT_KIND_REPEAT || record->kind == WB_ALERT_KIND_ESCALATE)
    {
      OpenAlert *open = g_hash_table_lookup (self->open, record->assignment_id);

      if (open != NULL)
        open->repeat_in_flight = FALSE;
    }

  if (state->done != NULL)
    state->done (self, record, state->user_data);
  g_signal_emit (self, signals[SIGNAL_RECORD_DONE], 0, record);
}

static void
finish_call (TierCall     *call,
             WbTierResult  result,
             const char   *reason)
{
  DispatchState *state = call->state;

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
  TierCall *call = data;

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
  TierCall *call = data;
  DispatchState *state = call->state;
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
  DispatchState *state = g_new0 (DispatchState, 1);
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
      TierCall *call = &state->calls[i];

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
  g_object_notify_by_pspec (G_OBJECT (self), _wb_alert_dispatcher_properties[PROP_N_UNACKNOWLEDGED]);
}

typedef struct
{
  WbAlertDispatcher *self;  /* (unowned) the source is owned by an OpenAlert of self */
  char              *id;
} RepeatData;

static void
repeat_data_free (gpointer data)
{
  RepeatData *rd = data;

  g_free (rd->id);
  g_free (rd);
}

static RepeatData *
repeat_data_new (WbAlertDispatcher *self,
                 const char        *id)
{
  RepeatData *rd = g_new0 (RepeatData, 1);

  rd->self = self;
  rd->id = g_strdup (id);
  return rd;
}

/* A reminder (REPEAT) or the escalation (ESCALATE) of @open, through every tier again. */
static void
ring_again (WbAlertDispatcher *self,
            OpenAlert         *open,
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
  RepeatData *rd = data;
  OpenAlert *open = g_hash_table_lookup (rd->self->open, rd->id);

  if (open == NULL || open->acknowledged)
    return G_SOURCE_CONTINUE;
  if (open->repeat_in_flight)
    return G_SOURCE_CONTINUE;   /* the last reminder is still ringing: don't pile up */

  ring_again (rd->self, open, WB_ALERT_KIND_REPEAT);
  return G_SOURCE_CONTINUE;
}

static void restart_repeat (WbAlertDispatcher *self, const char *id, OpenAlert *open);

/* PagerDuty-style: nobody has taken it (it is still open) N minutes after it rang, so it rings
 * again as urgent — the urgent chime, a critical notification (shown even in Do Not Disturb) —
 * and stays urgent. An acknowledgement only silenced the reminders: this is a new, louder fact. */
static void
escalate (WbAlertDispatcher *self,
          const char        *id,
          OpenAlert         *open)
{
  open->escalated = TRUE;
  open->escalation_due = FALSE;
  open->latest->urgent = TRUE;
  open->acknowledged = FALSE;
  ring_again (self, open, WB_ALERT_KIND_ESCALATE);
  restart_repeat (self, id, open);
  g_object_notify_by_pspec (G_OBJECT (self), _wb_alert_dispatcher_properties[PROP_N_UNACKNOWLEDGED]);
}

static gboolean
escalate_cb (gpointer data)
{
  RepeatData *rd = data;
  OpenAlert *open = g_hash_table_lookup (rd->self->open, rd->id);

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
                    OpenAlert         *open)
{
  g_clear_handle_id (&open->escalate_id, g_source_remove);
  if (self->escalate_after_ms == 0 || open->escalated || open->escalation_due)
    return;
  open->escalate_id = g_timeout_add_full (G_PRIORITY_DEFAULT, self->escalate_after_ms, escalate_cb,
                                          repeat_data_new (self, id), repeat_data_free);
}

void
_wb_alert_dispatcher_restart_all_escalations (WbAlertDispatcher *self)
{
  GHashTableIter iter;
  gpointer key, value;

  g_hash_table_iter_init (&iter, self->open);
  while (g_hash_table_iter_next (&iter, &key, &value))
    restart_escalation (self, key, value);
}

static gboolean
snooze_over_cb (gpointer data)
{
  RepeatData *rd = data;
  OpenAlert *open = g_hash_table_lookup (rd->self->open, rd->id);

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
      g_object_notify_by_pspec (G_OBJECT (rd->self), _wb_alert_dispatcher_properties[PROP_N_UNACKNOWLEDGED]);
    }
  return G_SOURCE_REMOVE;
}

static void
restart_repeat (WbAlertDispatcher *self,
                const char        *id,
                OpenAlert         *open)
{
  g_clear_handle_id (&open->repeat_id, g_source_remove);
  if (self->repeat_interval_ms == 0 || open->acknowledged)
    return;

  open->repeat_id = g_timeout_add_full (G_PRIORITY_DEFAULT, self->repeat_interval_ms,
                                        repeat_cb, repeat_data_new (self, id), repeat_data_free);
}

void
_wb_alert_dispatcher_restart_all_repeats (WbAlertDispatcher *self)
{
  GHashTableIter iter;
  gpointer key, value;

  g_hash_table_iter_init (&iter, self->open);
  while (g_hash_table_iter_next (&iter, &key, &value))
    restart_repeat (self, key, value);
}

/* Track the alert for repeating; returns FALSE if the record should not ring at all. */
static gboolean
track_record (WbAlertDispatcher   *self,
              const WbAlertRecord *record)
{
  OpenAlert *open = g_hash_table_lookup (self->open, record->assignment_id);

  switch (record->kind)
    {
    case WB_ALERT_KIND_ALERT:
      if (open == NULL)
        {
          open = g_new0 (OpenAlert, 1);
          g_hash_table_insert (self->open, g_strdup (record->assignment_id), open);
        }
      g_clear_pointer (&open->latest, wb_alert_record_free);
      open->latest = wb_alert_record_copy (record);
      open->acknowledged = FALSE;
      restart_repeat (self, record->assignment_id, open);
      if (open->escalate_id == 0)
        restart_escalation (self, record->assignment_id, open);
      g_object_notify_by_pspec (G_OBJECT (self), _wb_alert_dispatcher_properties[PROP_N_UNACKNOWLEDGED]);
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

void
wb_alert_dispatcher_acknowledge (WbAlertDispatcher *self,
                                 const char        *assignment_id)
{
  OpenAlert *open;

  g_return_if_fail (WB_IS_ALERT_DISPATCHER (self));

  open = g_hash_table_lookup (self->open, assignment_id);
  if (open != NULL)
    {
      open->acknowledged = TRUE;
      open->snoozed = FALSE;
      g_clear_handle_id (&open->repeat_id, g_source_remove);
      g_clear_handle_id (&open->snooze_id, g_source_remove);
    }
  for (guint i = 0; i < WB_N_TIERS; i++)
    if (self->tiers[i] != NULL)
      wb_alert_tier_acknowledge (self->tiers[i], assignment_id);
  g_object_notify_by_pspec (G_OBJECT (self), _wb_alert_dispatcher_properties[PROP_N_UNACKNOWLEDGED]);
}

void
wb_alert_dispatcher_acknowledge_all (WbAlertDispatcher *self)
{
  GHashTableIter iter;
  gpointer value;

  g_return_if_fail (WB_IS_ALERT_DISPATCHER (self));

  g_hash_table_iter_init (&iter, self->open);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      OpenAlert *open = value;

      open->acknowledged = TRUE;
      open->snoozed = FALSE;
      g_clear_handle_id (&open->repeat_id, g_source_remove);
      g_clear_handle_id (&open->snooze_id, g_source_remove);
    }
  for (guint i = 0; i < WB_N_TIERS; i++)
    if (self->tiers[i] != NULL)
      wb_alert_tier_acknowledge_all (self->tiers[i]);
  g_object_notify_by_pspec (G_OBJECT (self), _wb_alert_dispatcher_properties[PROP_N_UNACKNOWLEDGED]);
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
  OpenAlert *open;

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
  g_object_notify_by_pspec (G_OBJECT (self), _wb_alert_dispatcher_properties[PROP_N_UNACKNOWLEDGED]);
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
    if (!((OpenAlert *) value)->acknowledged)
      n++;
  return n;
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

  object_class->get_property = _wb_alert_dispatcher_get_property;
  object_class->set_property = _wb_alert_dispatcher_set_property;
  object_class->dispose = wb_alert_dispatcher_dispose;
  object_class->finalize = wb_alert_dispatcher_finalize;

  _wb_alert_dispatcher_properties[PROP_DO_NOT_DISTURB] =
    g_param_spec_boolean ("do-not-disturb", NULL, NULL, FALSE, rw);
  _wb_alert_dispatcher_properties[PROP_URGENT_PIERCES_DND] =
    g_param_spec_boolean ("urgent-pierces-dnd", NULL, NULL, TRUE, rw);
  _wb_alert_dispatcher_properties[PROP_REPEAT_INTERVAL] =
    g_param_spec_uint ("repeat-interval", NULL, NULL, 0, G_MAXUINT / 1000,
                       WB_ALERT_DISPATCHER_DEFAULT_REPEAT_INTERVAL, rw);
  _wb_alert_dispatcher_properties[PROP_TIER_TIMEOUT] =
    g_param_spec_uint ("tier-timeout", NULL, NULL, 1, G_MAXUINT,
                       WB_ALERT_DISPATCHER_DEFAULT_TIER_TIMEOUT_MS, rw);
  _wb_alert_dispatcher_properties[PROP_TIER_TOAST] =
    g_param_spec_boolean ("tier-toast", NULL, NULL, TRUE, rw);
  _wb_alert_dispatcher_properties[PROP_TIER_SOUND] =
    g_param_spec_boolean ("tier-sound", NULL, NULL, TRUE, rw);
  _wb_alert_dispatcher_properties[PROP_TIER_NOTIFICATION] =
    g_param_spec_boolean ("tier-notification", NULL, NULL, TRUE, rw);
  _wb_alert_dispatcher_properties[PROP_TIER_TRAY] =
    g_param_spec_boolean ("tier-tray", NULL, NULL, TRUE, rw);
  _wb_alert_dispatcher_properties[PROP_ESCALATE_AFTER] =
    g_param_spec_uint ("escalate-after", NULL, NULL, 0, G_MAXUINT / 60000,
                       WB_ALERT_DISPATCHER_DEFAULT_ESCALATE_AFTER, rw);
  _wb_alert_dispatcher_properties[PROP_N_UNACKNOWLEDGED] =
    g_param_spec_uint ("n-unacknowledged", NULL, NULL, 0, G_MAXUINT, 0,
                       G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, _wb_alert_dispatcher_properties);

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
