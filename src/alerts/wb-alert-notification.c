/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-alert-notification.c: the desktop notification tier, libnotify on one serial worker thread,
 * a burst coalesced into one summary. */

#define G_LOG_DOMAIN "wb-alert-notification"

#include "config.h"

#include <libnotify/notify.h>

#include "wb-alert-notification.h"

/* Why libnotify in a worker thread rather than raw GDBus:
 * libnotify stays the implementation because inside Flatpak (and Snap) libnotify ≥ 0.8 talks to
 * the Notification portal for us, with the same API; a hand-written org.freedesktop.Notifications
 * client would need a second, portal code path. But notify_notification_show()/close() are
 * synchronous D-Bus calls (and a stuck daemon blocks them for the D-Bus timeout), so every
 * libnotify call that touches the bus runs on ONE serial worker thread (a GThreadPool with one
 * thread): calls stay ordered (show before update before close) and the main loop never waits.
 * libnotify's proxy is created on that worker, which has no thread-default main context, so its
 * D-Bus signals (ActionInvoked, NotificationClosed) are dispatched on the global default context
 * — the main loop — where our "action"/"dismissed" signals are emitted. The worker owns the
 * assignment id → NotifyNotification map; the main thread owns the coalescing state. */

typedef enum {
  JOB_SHOW,
  JOB_SUMMARY,
  JOB_CLOSE,
  JOB_CLOSE_ALL,
  JOB_NOTE,        /* a note of our own (the connection alarm, an accept's outcome), by key */
  JOB_NOTE_CLOSE,
} WbNotificationJobKind;

typedef struct
{
  WbNotificationJobKind kind;
  WbAlertRecord *record;    /* (owned) (nullable) JOB_SHOW */
  char          *id;        /* (owned) (nullable) JOB_CLOSE */
  char          *summary;   /* (owned) JOB_SUMMARY: summary and body (escaped); JOB_NOTE: plain */
  char          *body;
  char          *key;       /* (owned) JOB_NOTE*: which note */
  char          *action;    /* (owned) (nullable) JOB_NOTE: one button, its action and label */
  char          *action_label;
  gboolean       urgent;    /* JOB_NOTE */
  gboolean       suppress_sound;
  GPtrArray     *tasks;     /* (owned) GTask to complete with the outcome */
} WbNotificationJob;

typedef struct
{
  GWeakRef  self;
  char     *id;
  gboolean  note;   /* a note: its default action shows the window ("show"), nothing else */
} WbNotificationAction;

struct _WbAlertNotification
{
  GObject      parent_instance;

  GThreadPool *pool;
  gboolean     suppress_sound;

  /* Main thread: which ids have their own popup, and the burst state. */
  GHashTable  *shown;             /* set of assignment ids */
  GQueue       recent;            /* monotonic µs of recent individual popups */
  guint        burst_count;       /* requests coalesced into the summary in this burst */
  guint        burst_base;        /* individual popups already shown when the burst began */
  gint64       burst_last_us;
  gint64       summary_last_us;
  guint        summary_source;
  GPtrArray   *summary_waiting;   /* GTask waiting for the next summary update */

  /* Worker thread only. */
  GHashTable  *w_notes;           /* assignment id → NotifyNotification */
  NotifyNotification *w_summary;
  GHashTable  *w_notes_by_key;    /* note key → NotifyNotification */
  int          w_markup;          /* -1 unknown, 0 plain, 1 markup */
};

static void wb_alert_notification_tier_iface_init (WbAlertTierInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (WbAlertNotification, wb_alert_notification, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (WB_TYPE_ALERT_TIER,
                                                      wb_alert_notification_tier_iface_init))

enum {
  SIGNAL_ACTION,
  SIGNAL_DISMISSED,
  N_SIGNALS,
};

static guint signals[N_SIGNALS];

static void
job_free (WbNotificationJob *job)
{
  g_clear_pointer (&job->record, wb_alert_record_free);
  g_free (job->id);
  g_free (job->summary);
  g_free (job->body);
  g_free (job->key);
  g_free (job->action);
  g_free (job->action_label);
  g_clear_pointer (&job->tasks, g_ptr_array_unref);
  g_free (job);
}

static WbNotificationJob *
job_new (WbNotificationJobKind kind)
{
  WbNotificationJob *job = g_new0 (WbNotificationJob, 1);

  job->kind = kind;
  job->tasks = g_ptr_array_new_with_free_func (g_object_unref);
  return job;
}

static void
action_data_free (gpointer data)
{
  WbNotificationAction *ad = data;

  g_weak_ref_clear (&ad->self);
  g_free (ad->id);
  g_free (ad);
}

static WbNotificationAction *
action_data_new (WbAlertNotification *self,
                 const char          *id)
{
  WbNotificationAction *ad = g_new0 (WbNotificationAction, 1);

  g_weak_ref_init (&ad->self, self);
  ad->id = g_strdup (id);
  return ad;
}

char *
wb_alert_notification_build_body (const WbAlertRecord *record,
                                  gboolean             markup)
{
  g_autofree char *plain = wb_alert_tier_describe (record);
  g_autofree char *cut = wb_alert_tier_clean_text (plain, WB_ALERT_NOTIFICATION_MAX_CHARS);

  /* fdo daemons parse the body as markup: a customer called <b>Bob & "Co"</b> must show as
   * typed. The portal (and daemons without body-markup) take plain text. */
  return markup ? g_markup_escape_text (cut, -1) : g_steal_pointer (&cut);
}

/* --- worker thread ------------------------------------------------------------------------ */

static void
on_action_cb (NotifyNotification *n,
              char               *action,
              gpointer            user_data)
{
  WbNotificationAction *ad = user_data;
  g_autoptr(WbAlertNotification) self = g_weak_ref_get (&ad->self);

  if (self != NULL)
    g_signal_emit (self, signals[SIGNAL_ACTION], 0, ad->id ? ad->id : "",
                   !g_str_equal (action, "default") ? action : ad->note ? "show" : "view");
}

static void
on_closed_cb (NotifyNotification *n,
              gpointer            user_data)
{
  WbNotificationAction *ad = user_data;
  g_autoptr(WbAlertNotification) self = g_weak_ref_get (&ad->self);

  if (self != NULL && notify_notification_get_closed_reason (n) == 2)
    g_signal_emit (self, signals[SIGNAL_DISMISSED], 0, ad->id ? ad->id : "");
}

/* Does the daemon parse body markup? Asked directly rather than through
 * notify_get_server_caps(), which logs a warning when no daemon runs (a normal situation here:
 * the tier then reports failed, and warnings are fatal in tests). Worker thread only. */
static gboolean
worker_markup (WbAlertNotification *self)
{
  g_autoptr(GDBusConnection) bus = NULL;
  g_autoptr(GVariant) reply = NULL;
  g_autofree const char **caps = NULL;

  if (self->w_markup >= 0)
    return self->w_markup;
  if ((g_file_test ("/.flatpak-info", G_FILE_TEST_EXISTS) || g_getenv ("SNAP") != NULL)
      && g_getenv ("NOTIFY_IGNORE_PORTAL") == NULL)
    return (self->w_markup = 0);   /* the portal takes plain text */

  bus = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, NULL);
  if (bus != NULL)
    reply = g_dbus_connection_call_sync (bus, "org.freedesktop.Notifications",
                                         "/org/freedesktop/Notifications",
                                         "org.freedesktop.Notifications", "GetCapabilities",
                                         NULL, G_VARIANT_TYPE ("(as)"), G_DBUS_CALL_FLAGS_NONE,
                                         5000, NULL, NULL);
  if (reply == NULL)
    return TRUE;   /* no daemon (yet): don't cache; show() will report why */
  g_variant_get (reply, "(^a&s)", &caps);
  self->w_markup = g_strv_contains (caps, "body-markup");
  return self->w_markup;
}

static gboolean
unref_cb (gpointer data)
{
  g_object_unref (data);
  return G_SOURCE_REMOVE;
}

/* libnotify dispatches a notification's D-Bus signals (NotificationClosed, ActionInvoked) on the
 * main thread and refs the object there; finalizing it on the worker could race with that (the
 * long chaos soak hit g_object_ref on a finalized notification). So the last reference is dropped
 * on the main loop, a little after the close, when no signal for it can still be in flight. */
static void
release_on_main (gpointer data)
{
  g_timeout_add_seconds (5, unref_cb, data);
}

/* A request's own popup offers View (its default action: the window, on that request), Accept
 * and Snooze; the burst summary only View. The actions carry nothing but the assignment id and
 * come back through libnotify's callback in this process — from the notification daemon (or the
 * portal) libnotify listens to, not over the application's exported action group. */
static NotifyNotification *
worker_new_notification (WbAlertNotification *self,
                         const char          *id,
                         gboolean             can_accept,
                         gboolean             suppress_sound)
{
  NotifyNotification *n = notify_notification_new ("", NULL, APP_ID);

  notify_notification_set_hint_string (n, "desktop-entry", APP_ID);
  notify_notification_set_category (n, "im.received");
  if (suppress_sound)
    notify_notification_set_hint (n, "suppress-sound", g_variant_new_boolean (TRUE));
  notify_notification_add_action (n, "default", "View", on_action_cb,
                                  action_data_new (self, id), action_data_free);
  if (id != NULL && can_accept)
    {
      notify_notification_add_action (n, "accept", "Accept", on_action_cb,
                                      action_data_new (self, id), action_data_free);
      notify_notification_add_action (n, "snooze", "Snooze 5 min", on_action_cb,
                                      action_data_new (self, id), action_data_free);
    }
  g_signal_connect_data (n, "closed", G_CALLBACK (on_closed_cb), action_data_new (self, id),
                         (GClosureNotify) action_data_free, 0);
  return n;
}

static gboolean
worker_show (WbAlertNotification  *self,
             WbNotificationJob    *job,
             GError              **error)
{
  const WbAlertRecord *record = job->record;
  NotifyNotification *n = g_hash_table_lookup (self->w_notes, record->assignment_id);
  g_autofree char *body = NULL;

  if (n == NULL)
    {
      /* A test alert is no request: nothing to take or snooze. */
      n = worker_new_notification (self, record->assignment_id, g_strcmp0 (record->source, "test") != 0,
                                   job->suppress_sound);
      g_hash_table_insert (self->w_notes, g_strdup (record->assignment_id), n);
    }

  body = wb_alert_notification_build_body (record, worker_markup (self));
  notify_notification_update (n, record->kind == WB_ALERT_KIND_ESCALATE ? "Still waiting: nobody has taken this request"
                                 : record->urgent ? "Urgent session request" : "New session request",
                              body, APP_ID);
  notify_notification_set_urgency (n, record->urgent ? NOTIFY_URGENCY_CRITICAL
                                                     : NOTIFY_URGENCY_NORMAL);
  return notify_notification_show (n, error);
}

static gboolean
worker_summary (WbAlertNotification  *self,
                WbNotificationJob    *job,
                GError              **error)
{
  if (self->w_summary == NULL)
    self->w_summary = worker_new_notification (self, NULL, FALSE, job->suppress_sound);

  notify_notification_update (self->w_summary, job->summary,
                              worker_markup (self) ? job->body : NULL, APP_ID);
  notify_notification_set_urgency (self->w_summary, NOTIFY_URGENCY_NORMAL);
  return notify_notification_show (self->w_summary, error);
}

static gboolean
worker_note (WbAlertNotification  *self,
             WbNotificationJob    *job,
             GError              **error)
{
  NotifyNotification *n = g_hash_table_lookup (self->w_notes_by_key, job->key);
  g_autofree char *body = NULL;

  if (n == NULL)
    {
      n = notify_notification_new ("", NULL, APP_ID);
      notify_notification_set_hint_string (n, "desktop-entry", APP_ID);
      notify_notification_set_hint (n, "suppress-sound", g_variant_new_boolean (TRUE));
      g_hash_table_insert (self->w_notes_by_key, g_strdup (job->key), n);
    }
  else
    notify_notification_clear_actions (n);   /* the same popup, replaced: its button may differ */
  notify_notification_set_category (n, job->urgent ? "network.error" : "im");
  {
    WbNotificationAction *ad = action_data_new (self, job->id);

    ad->note = TRUE;
    notify_notification_add_action (n, "default", "Show", on_action_cb, ad, action_data_free);
  }
  if (job->action != NULL)
    notify_notification_add_action (n, job->action, job->action_label, on_action_cb,
                                    action_data_new (self, job->id), action_data_free);
  body = worker_markup (self) ? g_markup_escape_text (job->body, -1) : g_strdup (job->body);
  notify_notification_update (n, job->summary, body, APP_ID);
  notify_notification_set_urgency (n, job->urgent ? NOTIFY_URGENCY_CRITICAL : NOTIFY_URGENCY_NORMAL);
  return notify_notification_show (n, error);
}

static void
worker_close (NotifyNotification *n)
{
  g_autoptr(GError) error = NULL;

  if (!notify_notification_close (n, &error))
    g_debug ("closing a notification failed: %s", error->message);
}

/* Closes and forgets the notification @notes keeps under @key, if there is one. */
static void
worker_close_key (GHashTable *notes,
                  const char *key)
{
  NotifyNotification *n = g_hash_table_lookup (notes, key);

  if (n != NULL)
    {
      worker_close (n);
      g_hash_table_remove (notes, key);
    }
}

static void
worker_run (gpointer data,
            gpointer user_data)
{
  WbNotificationJob *job = data;
  WbAlertNotification *self = user_data;
  g_autoptr(GError) error = NULL;
  gboolean ok = TRUE;

  switch (job->kind)
    {
    case JOB_SHOW:
      ok = worker_show (self, job, &error);
      break;

    case JOB_SUMMARY:
      ok = worker_summary (self, job, &error);
      break;

    case JOB_CLOSE:
      worker_close_key (self->w_notes, job->id);
      break;

    case JOB_NOTE:
      ok = worker_note (self, job, &error);
      break;

    case JOB_NOTE_CLOSE:
      worker_close_key (self->w_notes_by_key, job->key);
      break;

    case JOB_CLOSE_ALL:
      {
        GHashTableIter iter;
        gpointer value;

        g_hash_table_iter_init (&iter, self->w_notes);
        while (g_hash_table_iter_next (&iter, NULL, &value))
          worker_close (value);
        g_hash_table_remove_all (self->w_notes);
        if (self->w_summary != NULL)
          {
            worker_close (self->w_summary);
            release_on_main (g_steal_pointer (&self->w_summary));
          }
      }
      break;

    default:
      g_assert_not_reached ();
    }

  if (!ok && error == NULL)
    g_set_error_literal (&error, G_IO_ERROR, G_IO_ERROR_FAILED, "notification not shown");
  wb_alert_tier_tasks_return (job->tasks, ok ? NULL : error, WB_TIER_RESULT_OK, NULL);
  job_free (job);
}

/* --- main thread -------------------------------------------------------------------------- */

static void
push_job (WbAlertNotification *self,
          WbNotificationJob   *job)
{
  g_autoptr(GError) error = NULL;

  if (!g_thread_pool_push (self->pool, job, &error))
    {
      wb_alert_tier_tasks_return (job->tasks, error, WB_TIER_RESULT_OK, NULL);
      job_free (job);
    }
}

static void
flush_summary (gpointer user_data)
{
  WbAlertNotification *self = user_data;
  WbNotificationJob *job = job_new (JOB_SUMMARY);
  guint total = self->burst_base + self->burst_count;

  self->summary_source = 0;
  self->summary_last_us = g_get_monotonic_time ();
  job->summary = g_strdup_printf ("%u new requests", total);
  job->body = g_strdup ("Open the dashboard to see them all.");
  job->suppress_sound = self->suppress_sound;
  g_ptr_array_extend_and_steal (job->tasks, g_steal_pointer (&self->summary_waiting));
  self->summary_waiting = g_ptr_array_new_with_free_func (g_object_unref);
  push_job (self, job);
}

static void
wb_alert_notification_fire (WbAlertTier         *tier,
                            const WbAlertRecord *record,
                            GTask               *task)
{
  WbAlertNotification *self = WB_ALERT_NOTIFICATION (tier);
  gint64 now = g_get_monotonic_time ();
  gint64 window = WB_ALERT_NOTIFICATION_BURST_WINDOW * (gint64) 1000;
  WbNotificationJob *job;

  if (record->kind == WB_ALERT_KIND_UPDATE
      && !g_hash_table_contains (self->shown, record->assignment_id))
    {
      /* Part of a burst summary: nothing of its own to update. */
      wb_alert_tier_task_return (task, WB_TIER_RESULT_OK, NULL);
      return;
    }

  while (!g_queue_is_empty (&self->recent)
         && now - *(gint64 *) g_queue_peek_head (&self->recent) > window)
    g_free (g_queue_pop_head (&self->recent));
  if (self->burst_count > 0 && now - self->burst_last_us > window)
    self->burst_count = 0;

  if (record->kind == WB_ALERT_KIND_UPDATE
      || (self->burst_count == 0 && self->recent.length < WB_ALERT_NOTIFICATION_BURST_LIMIT))
    {
      if (record->kind != WB_ALERT_KIND_UPDATE)
        g_queue_push_tail (&self->recent, g_memdup2 (&now, sizeof now));
      g_hash_table_add (self->shown, g_strdup (record->assignment_id));
      job = job_new (JOB_SHOW);
      job->record = wb_alert_record_copy (record);
      job->suppress_sound = self->suppress_sound;
      g_ptr_array_add (job->tasks, g_object_ref (task));
      push_job (self, job);
      return;
    }

  /* A burst: one summary, updated at most every SUMMARY_EVERY ms, instead of N popups. */
  if (self->burst_count == 0)
    self->burst_base = self->recent.length;
  self->burst_count++;
  self->burst_last_us = now;
  g_ptr_array_add (self->summary_waiting, g_object_ref (task));
  if (self->summary_source == 0)
    {
      gint64 due = self->summary_last_us + WB_ALERT_NOTIFICATION_SUMMARY_EVERY * (gint64) 1000;
      guint delay = due > now ? (guint) ((due - now) / 1000) : 0;

      /* Gather the first wave of a burst briefly rather than showing "4 new requests". */
      delay = MAX (delay, WB_ALERT_NOTIFICATION_SUMMARY_GATHER);

      self->summary_source = g_timeout_add_once (delay, flush_summary, self);
    }
}

static void
wb_alert_notification_withdraw (WbAlertTier *tier,
                                const char  *assignment_id)
{
  WbAlertNotification *self = WB_ALERT_NOTIFICATION (tier);
  WbNotificationJob *job;

  if (!g_hash_table_remove (self->shown, assignment_id))
    return;
  job = job_new (JOB_CLOSE);
  job->id = g_strdup (assignment_id);
  push_job (self, job);
}

static void
wb_alert_notification_acknowledge_all (WbAlertTier *tier)
{
  WbAlertNotification *self = WB_ALERT_NOTIFICATION (tier);

  g_hash_table_remove_all (self->shown);
  push_job (self, job_new (JOB_CLOSE_ALL));
}

static WbTier
wb_alert_notification_get_tier (WbAlertTier *tier)
{
  return WB_TIER_NOTIFICATION;
}

static void
wb_alert_notification_tier_iface_init (WbAlertTierInterface *iface)
{
  iface->get_tier = wb_alert_notification_get_tier;
  iface->fire = wb_alert_notification_fire;
  iface->withdraw = wb_alert_notification_withdraw;
  /* Acknowledged = seen: the popup has done its job. */
  iface->acknowledge = wb_alert_notification_withdraw;
  iface->acknowledge_all = wb_alert_notification_acknowledge_all;
}

void
wb_alert_notification_show_note (WbAlertNotification *self,
                                 const char          *key,
                                 const char          *summary,
                                 const char          *body,
                                 const char          *id,
                                 const char          *action,
                                 const char          *action_label,
                                 gboolean             urgent)
{
  WbNotificationJob *job;

  g_return_if_fail (WB_IS_ALERT_NOTIFICATION (self));
  g_return_if_fail (key != NULL && summary != NULL && *summary != '\0');
  g_return_if_fail ((action == NULL) == (action_label == NULL));

  job = job_new (JOB_NOTE);
  job->key = g_strdup (key);
  job->summary = wb_alert_tier_clean_text (summary, WB_ALERT_NOTIFICATION_MAX_CHARS);
  job->body = wb_alert_tier_clean_text (body != NULL ? body : "", WB_ALERT_NOTIFICATION_MAX_CHARS);
  job->id = g_strdup (id);
  job->action = g_strdup (action);
  job->action_label = g_strdup (action_label);
  job->urgent = urgent;
  push_job (self, job);
}

void
wb_alert_notification_withdraw_note (WbAlertNotification *self,
                                     const char          *key)
{
  WbNotificationJob *job;

  g_return_if_fail (WB_IS_ALERT_NOTIFICATION (self));

  job = job_new (JOB_NOTE_CLOSE);
  job->key = g_strdup (key);
  push_job (self, job);
}

void
wb_alert_notification_set_suppress_sound (WbAlertNotification *self,
                                          gboolean             suppress)
{
  g_return_if_fail (WB_IS_ALERT_NOTIFICATION (self));

  self->suppress_sound = !!suppress;
}

WbAlertNotification *
wb_alert_notification_new (const char *app_name)
{
  if (!notify_is_initted ())
    notify_init (app_name != NULL ? app_name : "Wrenchbell");   /* no D-Bus traffic */
  return g_object_new (WB_TYPE_ALERT_NOTIFICATION, NULL);
}

/* Frees @notes and its notifications on this thread, bypassing its release_on_main() value
 * destructor: for dispose, once the worker is gone. */
static void
drop_notes_now (GHashTable **notes)
{
  GHashTableIter iter;
  gpointer key, value;

  if (*notes == NULL)
    return;
  g_hash_table_iter_init (&iter, *notes);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      g_hash_table_iter_steal (&iter);
      g_free (key);
      g_object_unref (value);
    }
  g_clear_pointer (notes, g_hash_table_unref);
}

static void
wb_alert_notification_dispose (GObject *object)
{
  WbAlertNotification *self = WB_ALERT_NOTIFICATION (object);

  g_clear_handle_id (&self->summary_source, g_source_remove);
  if (self->summary_waiting != NULL && self->summary_waiting->len > 0)
    flush_summary (self);
  /* Finish what is queued (closes included), then stop the worker. */
  if (self->pool != NULL)
    g_thread_pool_free (g_steal_pointer (&self->pool), FALSE, TRUE);
  /* The worker has stopped: nothing can race any more, so drop them here and now. */
  drop_notes_now (&self->w_notes);
  drop_notes_now (&self->w_notes_by_key);
  g_clear_object (&self->w_summary);

  G_OBJECT_CLASS (wb_alert_notification_parent_class)->dispose (object);
}

static void
wb_alert_notification_finalize (GObject *object)
{
  WbAlertNotification *self = WB_ALERT_NOTIFICATION (object);

  g_hash_table_unref (self->shown);
  g_queue_clear_full (&self->recent, g_free);
  g_clear_pointer (&self->summary_waiting, g_ptr_array_unref);

  G_OBJECT_CLASS (wb_alert_notification_parent_class)->finalize (object);
}

static void
wb_alert_notification_class_init (WbAlertNotificationClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = wb_alert_notification_dispose;
  object_class->finalize = wb_alert_notification_finalize;

  signals[SIGNAL_ACTION] =
    g_signal_new ("action", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_STRING);
  signals[SIGNAL_DISMISSED] =
    g_signal_new ("dismissed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, G_TYPE_STRING);
}

static void
wb_alert_notification_init (WbAlertNotification *self)
{
  self->suppress_sound = TRUE;
  self->w_markup = -1;
  self->shown = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->summary_waiting = g_ptr_array_new_with_free_func (g_object_unref);
  self->w_notes = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, release_on_main);
  self->w_notes_by_key = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, release_on_main);
  self->pool = g_thread_pool_new (worker_run, self, 1, FALSE, NULL);
}
