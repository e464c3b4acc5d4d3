/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-alert-wiring.c: builds the dispatcher with its four tiers, bound to settings and admin flags.
 * Shared by the window app and --headless so both ring the same way. */

#define G_LOG_DOMAIN "wb-alert-wiring"

#include "config.h"

#include "wb-alert-wiring.h"
#include "wb-config.h"

/* Admin flags decide first; the local switches are bound to the dispatcher's tier-* properties. */
static gboolean
tier_filter (WbTier               tier,
             const WbAlertRecord *record,
             char               **reason,
             gpointer             user_data)
{
  WbAlertWiring *wiring = user_data;

  if (wb_flags_tier_enabled (wiring->flags, tier))
    return TRUE;
  if (reason != NULL)
    *reason = g_strdup_printf ("disabled by admin flag %s",
                               wb_flags_is_enabled (wiring->flags, WB_FLAG_MASTER)
                               ? wb_flags_tier_flag (tier) : WB_FLAG_MASTER);
  return FALSE;
}

static void
on_mute_until_changed_cb (WbAlertWiring *wiring,
                          GParamSpec    *pspec,
                          WbSettings    *settings)
{
  wb_alert_sound_set_mute_until (wiring->sound, wb_settings_get_mute_until (settings));
}

WbAlertWiring *
wb_alert_wiring_new (WbSettings      *settings,
                     WbFlags         *flags,
                     GDBusConnection *session_bus)
{
  WbAlertWiring *w = g_new0 (WbAlertWiring, 1);
  static const char *bound[] = {
    "tier-toast", "tier-sound", "tier-notification", "tier-tray",
    "do-not-disturb", "urgent-pierces-dnd", "repeat-interval",
  };
  guint escalate_ms = wb_config_knob_ms ("WB_ESCALATE_MS");

  w->flags = g_object_ref (flags);
  w->settings = settings ? g_object_ref (settings) : NULL;
  w->dispatcher = wb_alert_dispatcher_new ();
  w->toast = wb_alert_toast_new ();
  w->sound = wb_alert_sound_new ();
  w->notification = wb_alert_notification_new (APP_ID);
  w->tray = wb_alert_tray_new (session_bus);

  wb_alert_dispatcher_add_tier (w->dispatcher, WB_ALERT_TIER (w->toast));
  wb_alert_dispatcher_add_tier (w->dispatcher, WB_ALERT_TIER (w->sound));
  wb_alert_dispatcher_add_tier (w->dispatcher, WB_ALERT_TIER (w->notification));
  wb_alert_dispatcher_add_tier (w->dispatcher, WB_ALERT_TIER (w->tray));
  wb_alert_dispatcher_set_tier_filter (w->dispatcher, tier_filter, w, NULL);
  /* We play our own chime: the notification daemon must not add a second one. */
  wb_alert_notification_set_suppress_sound (w->notification, TRUE);

  if (settings != NULL)
    {
      for (guint i = 0; i < G_N_ELEMENTS (bound); i++)
        g_object_bind_property (settings, bound[i], w->dispatcher, bound[i], G_BINDING_SYNC_CREATE);
      if (escalate_ms == 0)
        g_object_bind_property (settings, "escalate-after", w->dispatcher, "escalate-after",
                                G_BINDING_SYNC_CREATE);
      g_object_bind_property (settings, "volume", w->sound, "volume", G_BINDING_SYNC_CREATE);
      g_signal_connect_swapped (settings, "notify::mute-until", G_CALLBACK (on_mute_until_changed_cb), w);
      on_mute_until_changed_cb (w, NULL, settings);
    }

  /* Timing knobs for tests; users get the settings. */
  if (escalate_ms > 0)
    _wb_alert_dispatcher_set_escalate_after_ms (w->dispatcher, escalate_ms);
  w->snooze_ms = wb_config_knob_ms ("WB_SNOOZE_MS");
  if (w->snooze_ms == 0)
    w->snooze_ms = WB_ALERT_DISPATCHER_SNOOZE_SECONDS * 1000;

  return w;
}

void
wb_alert_wiring_add_status (WbAlertWiring *w,
                            JsonObject    *status)
{
  json_object_set_int_member (status, "ringing", wb_alert_dispatcher_get_n_open (w->dispatcher));
  json_object_set_int_member (status, "unacknowledged", wb_alert_dispatcher_get_n_unacknowledged (w->dispatcher));
  if (w->pipeline != NULL)
    {
      g_autoptr(GPtrArray) open = wb_pipeline_list_open (w->pipeline);

      json_object_set_int_member (status, "waiting", open->len);
      json_object_set_boolean_member (status, "connection_alarm", wb_pipeline_get_connection_alarm (w->pipeline));
    }
}

gboolean
wb_alert_wiring_snooze (WbAlertWiring *w,
                        const char    *assignment_id)
{
  return _wb_alert_dispatcher_snooze_ms (w->dispatcher, assignment_id, w->snooze_ms);
}

/* The moment an episode ends (taken elsewhere, cancelled…): notification closed, sound and
 * reminders stopped, tray calm if nothing else waits — before the withdraw's details are known. */
static void
on_episode_ended_cb (WbPipeline    *pipeline,
                     WbAlertRecord *record,
                     WbAlertWiring *w)
{
  wb_alert_dispatcher_withdraw (w->dispatcher, record->assignment_id);
}

static void
on_connection_alarm_cb (WbPipeline    *pipeline,
                        gboolean       raised,
                        WbAlertWiring *w)
{
  g_autoptr(GDateTime) since = NULL;
  g_autofree char *when = NULL;
  g_autofree char *body = NULL;
  const char *problem;

  if (!raised)
    {
      wb_alert_notification_withdraw_note (w->notification, "connection");
      wb_alert_tray_set_problem (w->tray, NULL);
      return;
    }
  since = g_date_time_new_from_unix_local (wb_pipeline_get_not_receiving_since (pipeline) / G_USEC_PER_SEC);
  when = since != NULL ? g_date_time_format (since, "%H:%M") : g_strdup ("a while");
  problem = wb_pipeline_get_problem (pipeline);
  body = g_strdup_printf ("Since %s. %s. It keeps trying; requests made meanwhile ring when it is back.",
                          when, problem != NULL ? problem : "No connection to the server");
  /* Not gated by the notification switch or do not disturb: missing every request is worse. */
  wb_alert_notification_show_note (w->notification, "connection", "Wrenchbell is not receiving requests",
                                   body, NULL, NULL, NULL, FALSE);
  {
    g_autofree char *tip = g_strdup_printf ("Not receiving requests since %s", when);

    wb_alert_tray_set_problem (w->tray, tip);
  }
}

static void
on_connection_alarm_setting_cb (WbAlertWiring *w)
{
  wb_pipeline_set_connection_alarm_ms (w->pipeline,
                                       wb_settings_get_connection_alarm_after (w->settings) * 1000);
}

void
wb_alert_wiring_connect_pipeline (WbAlertWiring *w,
                                  WbPipeline    *pipeline)
{
  guint alarm_ms = wb_config_knob_ms ("WB_CONNECTION_ALARM_MS");

  g_return_if_fail (w->pipeline == NULL);

  w->pipeline = g_object_ref (pipeline);
  g_signal_connect (pipeline, "episode-ended", G_CALLBACK (on_episode_ended_cb), w);
  g_signal_connect (pipeline, "connection-alarm", G_CALLBACK (on_connection_alarm_cb), w);
  if (alarm_ms > 0)
    wb_pipeline_set_connection_alarm_ms (pipeline, alarm_ms);
  else if (w->settings != NULL)
    {
      g_signal_connect_swapped (w->settings, "notify::connection-alarm-after",
                                G_CALLBACK (on_connection_alarm_setting_cb), w);
      on_connection_alarm_setting_cb (w);
    }
}

void
wb_alert_wiring_free (WbAlertWiring *w)
{
  if (w == NULL)
    return;
  if (w->settings != NULL)
    g_signal_handlers_disconnect_by_data (w->settings, w);
  if (w->pipeline != NULL)
    g_signal_handlers_disconnect_by_data (w->pipeline, w);
  g_clear_object (&w->pipeline);
  g_clear_object (&w->dispatcher);
  g_clear_object (&w->toast);
  g_clear_object (&w->sound);
  g_clear_object (&w->notification);
  g_clear_object (&w->tray);
  g_clear_object (&w->settings);
  g_clear_object (&w->flags);
  g_free (w);
}
