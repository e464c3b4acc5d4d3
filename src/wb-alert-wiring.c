#define G_LOG_DOMAIN "wb-alert-wiring"

#include "config.h"

#include "wb-alert-wiring.h"

WbSettings *
wb_settings_new_if_available (void)
{
  GSettingsSchemaSource *source = g_settings_schema_source_get_default ();
  g_autoptr(GSettingsSchema) schema = NULL;

  if (source != NULL)
    schema = g_settings_schema_source_lookup (source, WB_SETTINGS_SCHEMA_ID, TRUE);
  if (schema == NULL)
    {
      g_debug ("GSettings schema %s not installed: built-in defaults", WB_SETTINGS_SCHEMA_ID);
      return NULL;
    }
  return wb_settings_new ();
}

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
      g_object_bind_property (settings, "volume", w->sound, "volume", G_BINDING_SYNC_CREATE);
      g_signal_connect_swapped (settings, "notify::mute-until", G_CALLBACK (on_mute_until_changed_cb), w);
      on_mute_until_changed_cb (w, NULL, settings);
    }

  return w;
}

void
wb_alert_wiring_free (WbAlertWiring *w)
{
  if (w == NULL)
    return;
  if (w->settings != NULL)
    g_signal_handlers_disconnect_by_data (w->settings, w);
  g_clear_object (&w->dispatcher);
  g_clear_object (&w->toast);
  g_clear_object (&w->sound);
  g_clear_object (&w->notification);
  g_clear_object (&w->tray);
  g_clear_object (&w->settings);
  g_clear_object (&w->flags);
  g_free (w);
}
