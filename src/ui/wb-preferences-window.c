/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-preferences-window.c: AdwPreferencesWindow bound to the GSettings keys.
 *
 * With wb-settings.c this is the only file that names GSettings keys. Switches take effect at
 * once (WbSettings → the dispatcher); the backend address takes effect at the next start.
 * Start at login goes through WbAutostart; a refusal is shown and the switch goes back.
 */
#define G_LOG_DOMAIN "wb-preferences-window"

#include "config.h"

#include <glib/gi18n.h>

#include "wb-api-key.h"
#include "wb-autostart.h"
#include "wb-preferences-window.h"

struct _WbPreferencesWindow
{
  AdwPreferencesWindow  parent_instance;

  AdwEntryRow          *anon_key_row;
  GtkAdjustment        *alarm_adjustment;
  AdwEntryRow          *dashboard_row;
  GtkAdjustment        *escalate_adjustment;
  GtkSwitch            *autostart_switch;
  GtkSwitch            *background_switch;
  GtkSwitch            *dnd_switch;
  AdwEntryRow          *email_row;
  GtkSwitch            *insecure_switch;
  GtkAdjustment        *repeat_adjustment;
  GtkSwitch            *tier_notification_switch;
  GtkSwitch            *tier_sound_switch;
  GtkSwitch            *tier_toast_switch;
  GtkSwitch            *tier_tray_switch;
  AdwEntryRow          *topic_row;
  GtkSwitch            *urgent_switch;
  AdwEntryRow          *url_row;
  GtkAdjustment        *volume_adjustment;

  WbSettings           *settings;     /* (owned) */
  WbAutostart          *autostart;    /* (owned) */
  GCancellable         *cancellable;  /* (owned) */
  gulong                autostart_handler;
  gboolean              key_toast_shown;
};

G_DEFINE_FINAL_TYPE (WbPreferencesWindow, wb_preferences_window, ADW_TYPE_PREFERENCES_WINDOW)

static void
set_autostart_switch (WbPreferencesWindow *self,
                      gboolean             active)
{
  if (self->autostart_handler != 0)
    g_signal_handler_block (self->autostart_switch, self->autostart_handler);
  gtk_switch_set_active (self->autostart_switch, active);
  gtk_switch_set_state (self->autostart_switch, active);
  if (self->autostart_handler != 0)
    g_signal_handler_unblock (self->autostart_switch, self->autostart_handler);
}

static void
autostart_done_cb (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(WbPreferencesWindow) self = user_data;
  g_autoptr(GError) error = NULL;
  gboolean wanted = gtk_switch_get_active (self->autostart_switch);

  if (!wb_autostart_set_enabled_finish (WB_AUTOSTART (source), result, &error))
    {
      g_autofree char *text = NULL;
      g_autofree char *escaped = NULL;

      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      gtk_widget_set_sensitive (GTK_WIDGET (self->autostart_switch), TRUE);
      set_autostart_switch (self, !wanted);
      /* Translators: %s says why, e.g. that the request was refused. */
      text = g_strdup_printf (_("Could not change start at login: %s"), error->message);
      escaped = g_markup_escape_text (text, -1);
      adw_preferences_window_add_toast (ADW_PREFERENCES_WINDOW (self), adw_toast_new (escaped));
      return;
    }
  gtk_widget_set_sensitive (GTK_WIDGET (self->autostart_switch), TRUE);
  gtk_switch_set_state (self->autostart_switch, wanted);
  g_settings_set_boolean (wb_settings_get_settings (self->settings), "start-at-login", wanted);
}

static void
on_autostart_active_cb (WbPreferencesWindow *self)
{
  gtk_widget_set_sensitive (GTK_WIDGET (self->autostart_switch), FALSE);
  wb_autostart_set_enabled_async (self->autostart,
                                  gtk_switch_get_active (self->autostart_switch),
                                  GTK_WINDOW (self), self->cancellable,
                                  autostart_done_cb, g_object_ref (self));
}

/* The key row: stored trimmed, and never when it is a key no workstation may hold (a secret or
 * service_role key): the row turns red and says why, and the setting keeps its last good value. */
static GVariant *
api_key_to_setting_cb (const GValue       *value,
                       const GVariantType *expected_type,
                       gpointer            user_data)
{
  WbPreferencesWindow *self = user_data;
  g_autofree char *key = g_strstrip (g_strdup (g_value_get_string (value)));
  WbApiKeyKind kind = wb_api_key_classify (key);
  gboolean refused = *key != '\0' && (kind == WB_API_KEY_SECRET
                                      || kind == WB_API_KEY_LEGACY_SERVICE_ROLE);

  if (refused)
    gtk_widget_add_css_class (GTK_WIDGET (self->anon_key_row), "error");
  else
    gtk_widget_remove_css_class (GTK_WIDGET (self->anon_key_row), "error");
  if (refused && !self->key_toast_shown)
    {
      self->key_toast_shown = TRUE;
      adw_preferences_window_add_toast (ADW_PREFERENCES_WINDOW (self),
                                        adw_toast_new (_("A secret key must never be kept on a "
                                                         "workstation: enter the project’s "
                                                         "publishable key")));
    }
  if (refused)
    return NULL;
  return g_variant_new_string (key);
}

static void
bind_settings (WbPreferencesWindow *self)
{
  GSettings *gs = wb_settings_get_settings (self->settings);
  static const struct { const char *key; gsize offset; const char *property; } bindings[] = {
    { "tier-toast", G_STRUCT_OFFSET (WbPreferencesWindow, tier_toast_switch), "active" },
    { "tier-sound", G_STRUCT_OFFSET (WbPreferencesWindow, tier_sound_switch), "active" },
    { "tier-notification", G_STRUCT_OFFSET (WbPreferencesWindow, tier_notification_switch), "active" },
    { "tier-tray", G_STRUCT_OFFSET (WbPreferencesWindow, tier_tray_switch), "active" },
    { "do-not-disturb", G_STRUCT_OFFSET (WbPreferencesWindow, dnd_switch), "active" },
    { "urgent-pierces-dnd", G_STRUCT_OFFSET (WbPreferencesWindow, urgent_switch), "active" },
    { "run-in-background", G_STRUCT_OFFSET (WbPreferencesWindow, background_switch), "active" },
    { "volume", G_STRUCT_OFFSET (WbPreferencesWindow, volume_adjustment), "value" },
    { "repeat-interval", G_STRUCT_OFFSET (WbPreferencesWindow, repeat_adjustment), "value" },
    { "escalate-after", G_STRUCT_OFFSET (WbPreferencesWindow, escalate_adjustment), "value" },
    { "connection-alarm-after", G_STRUCT_OFFSET (WbPreferencesWindow, alarm_adjustment), "value" },
    { "dashboard-url", G_STRUCT_OFFSET (WbPreferencesWindow, dashboard_row), "text" },
    { "backend-url", G_STRUCT_OFFSET (WbPreferencesWindow, url_row), "text" },
    { "broadcast-topic", G_STRUCT_OFFSET (WbPreferencesWindow, topic_row), "text" },
    { "account-email", G_STRUCT_OFFSET (WbPreferencesWindow, email_row), "text" },
    { "allow-insecure-http", G_STRUCT_OFFSET (WbPreferencesWindow, insecure_switch), "active" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (bindings); i++)
    g_settings_bind (gs, bindings[i].key, G_STRUCT_MEMBER (GObject *, self, bindings[i].offset),
                     bindings[i].property, G_SETTINGS_BIND_DEFAULT);
  g_settings_bind_with_mapping (gs, "anon-key", self->anon_key_row, "text", G_SETTINGS_BIND_DEFAULT,
                                NULL, api_key_to_setting_cb, self, NULL);

  /* The urgent override only means something while do not disturb is on. */
  g_object_bind_property (self->dnd_switch, "active", self->urgent_switch, "sensitive",
                          G_BINDING_SYNC_CREATE);

  set_autostart_switch (self, wb_autostart_is_enabled (self->autostart));
  self->autostart_handler = g_signal_connect_swapped (self->autostart_switch, "notify::active",
                                                      G_CALLBACK (on_autostart_active_cb), self);
}

static void
wb_preferences_window_dispose (GObject *object)
{
  WbPreferencesWindow *self = WB_PREFERENCES_WINDOW (object);

  g_cancellable_cancel (self->cancellable);
  if (self->autostart_switch != NULL)
    g_clear_signal_handler (&self->autostart_handler, self->autostart_switch);
  gtk_widget_dispose_template (GTK_WIDGET (self), WB_TYPE_PREFERENCES_WINDOW);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->autostart);
  g_clear_object (&self->settings);

  G_OBJECT_CLASS (wb_preferences_window_parent_class)->dispose (object);
}

static void
wb_preferences_window_class_init (WbPreferencesWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = wb_preferences_window_dispose;

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/wrenchbell/Wrenchbell/wb-preferences-window.ui");
  gtk_widget_class_bind_template_child (widget_class, WbPreferencesWindow, anon_key_row);
  gtk_widget_class_bind_template_child (widget_class, WbPreferencesWindow, alarm_adjustment);
  gtk_widget_class_bind_template_child (widget_class, WbPreferencesWindow, dashboard_row);
  gtk_widget_class_bind_template_child (widget_class, WbPreferencesWindow, escalate_adjustment);
  gtk_widget_class_bind_template_child (widget_class, WbPreferencesWindow, autostart_switch);
  gtk_widget_class_bind_template_child (widget_class, WbPreferencesWindow, background_switch);
  gtk_widget_class_bind_template_child (widget_class, WbPreferencesWindow, dnd_switch);
  gtk_widget_class_bind_template_child (widget_class, WbPreferencesWindow, email_row);
  gtk_widget_class_bind_template_child (widget_class, WbPreferencesWindow, insecure_switch);
  gtk_widget_class_bind_template_child (widget_class, WbPreferencesWindow, repeat_adjustment);
  gtk_widget_class_bind_template_child (widget_class, WbPreferencesWindow, tier_notification_switch);
  gtk_widget_class_bind_template_child (widget_class, WbPreferencesWindow, tier_sound_switch);
  gtk_widget_class_bind_template_child (widget_class, WbPreferencesWindow, tier_toast_switch);
  gtk_widget_class_bind_template_child (widget_class, WbPreferencesWindow, tier_tray_switch);
  gtk_widget_class_bind_template_child (widget_class, WbPreferencesWindow, topic_row);
  gtk_widget_class_bind_template_child (widget_class, WbPreferencesWindow, urgent_switch);
  gtk_widget_class_bind_template_child (widget_class, WbPreferencesWindow, url_row);
  gtk_widget_class_bind_template_child (widget_class, WbPreferencesWindow, volume_adjustment);
}

static void
wb_preferences_window_init (WbPreferencesWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->autostart = wb_autostart_new ();
  self->cancellable = g_cancellable_new ();
}

GtkWidget *
wb_preferences_window_new (GtkWindow  *parent,
                           WbSettings *settings)
{
  WbPreferencesWindow *self;

  g_return_val_if_fail (WB_IS_SETTINGS (settings), NULL);

  self = g_object_new (WB_TYPE_PREFERENCES_WINDOW,
                       "transient-for", parent,
                       "modal", parent != NULL,
                       NULL);
  self->settings = g_object_ref (settings);
  bind_settings (self);
  return GTK_WIDGET (self);
}
