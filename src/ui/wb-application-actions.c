/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-application-actions.c: the app's actions and their keyboard shortcuts.
 *
 * GApplication exports every app.* action over org.gtk.Actions, so any process of the session
 * could activate it. Only what a desktop expects to call stays there: `quit` (GNOME's Background
 * Apps ends windowless apps with it) and `preferences` (the desktop file's action); activation is
 * org.freedesktop.Application's Activate. Everything that changes state — accept, snooze,
 * acknowledge, mute, sign out (which also deletes the keyring's token), retry, test alerts —
 * lives in a GSimpleActionGroup that is inserted into the windows as "wb" and never exported.
 * The notification's buttons, the tray menu and `--accept` reach the same code in process. */
#define G_LOG_DOMAIN "wb-application"

#include "config.h"

#include <glib/gi18n.h>

#include "wb-application-private.h"
#include "wb-preferences-window.h"

#define MUTE_SECONDS 3600

static void
quit_action (GSimpleAction *action,
             GVariant      *parameter,
             gpointer       user_data)
{
  WbApplication *self = user_data;

  /* With no window shown this is GNOME's Background Apps list (it activates app.quit over
   * D-Bus) or the tray's Quit: say that alerts stop, in a notification that outlives the app
   * (GApplication flushes its bus connection before it exits). */
  if (self->window == NULL || !gtk_widget_get_visible (GTK_WIDGET (self->window)))
    {
      g_autoptr(GNotification) stopped = g_notification_new (_("Wrenchbell has stopped"));

      g_notification_set_body (stopped, _("New requests will not ring until Wrenchbell is "
                                          "started again."));
      g_notification_set_priority (stopped, G_NOTIFICATION_PRIORITY_HIGH);
      g_application_send_notification (G_APPLICATION (self), "stopped", stopped);
    }
  g_application_quit (G_APPLICATION (self));
}

static void
show_action (GSimpleAction *action,
             GVariant      *parameter,
             gpointer       user_data)
{
  _wb_application_present (WB_APPLICATION (user_data));
}

static void
preferences_action (GSimpleAction *action,
                    GVariant      *parameter,
                    gpointer       user_data)
{
  WbApplication *self = user_data;
  GtkWindow *parent;

  if (self->settings == NULL)
    {
      _wb_application_message (self, _("Preferences are not available: the settings schema "
                                        "is not installed."));
      return;
    }
  if (self->preferences == NULL)
    {
      parent = GTK_WINDOW (_wb_application_get_window (self, FALSE));
      if (parent != NULL && !gtk_widget_get_visible (GTK_WIDGET (parent)))
        parent = NULL;
      g_set_weak_pointer (&self->preferences,
                          GTK_WINDOW (wb_preferences_window_new (parent, self->settings)));
      gtk_window_set_application (self->preferences, GTK_APPLICATION (self));
    }
  gtk_window_present (self->preferences);
}

static void
about_action (GSimpleAction *action,
              GVariant      *parameter,
              gpointer       user_data)
{
  WbApplication *self = user_data;
  GtkWidget *about = adw_about_window_new ();
  GtkWindow *parent = GTK_WINDOW (_wb_application_get_window (self, FALSE));
  const char *developers[] = { _("The Wrenchbell authors"), NULL };

  if (parent != NULL && gtk_widget_get_visible (GTK_WIDGET (parent)))
    gtk_window_set_transient_for (GTK_WINDOW (about), parent);
  g_object_set (about,
                "application-name", _("Wrenchbell"),
                "application-icon", APP_ID,
                "version", PACKAGE_VERSION,
                "developer-name", _("The Wrenchbell authors"),
                "developers", developers,
                "comments", _("Rings on a mechanic’s workstation the moment a customer’s request "
                              "is queued."),
                "license-type", GTK_LICENSE_GPL_3_0,
                /* Translators: put your name here, one per line. */
                "translator-credits", _("translator-credits"),
                NULL);
  gtk_window_present (GTK_WINDOW (about));
}

static void
test_alert_action (GSimpleAction *action,
                   GVariant      *parameter,
                   gpointer       user_data)
{
  WbApplication *self = user_data;
  g_autoptr(WbAlertRecord) record = NULL;
  g_autofree char *id = NULL;

  if (self->alerts == NULL)
    return;
  /* A clearly labelled record through the real dispatcher: every tier rings as for a request. */
  id = g_strdup_printf ("test-%u", ++self->n_tests);
  record = wb_alert_record_new (WB_ALERT_KIND_ALERT, id);
  record->source = "test";
  record->episode = 1;
  record->details_full = TRUE;
  record->customer = g_strdup (_("Test alert"));
  record->vehicle = g_strdup (_("No real customer"));
  record->concern = g_strdup (_("Wrenchbell is ringing as it will for a request"));
  record->received_us = g_get_real_time ();
  record->received_mono_us = g_get_monotonic_time ();
  wb_alert_dispatcher_dispatch (self->alerts->dispatcher, record, NULL, NULL);
}

static void
accept_done_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(WbAcceptOutcome) outcome = wb_pipeline_accept_finish (WB_PIPELINE (source), result, &error);

  /* What it means for the window, the tray and the notes follows from the pipeline's accept-done. */
  if (outcome == NULL)
    g_debug ("accept: %s", error->message);
}

static void
accept_action (GSimpleAction *action,
               GVariant      *parameter,
               gpointer       user_data)
{
  WbApplication *self = user_data;

  if (self->pipeline != NULL)
    wb_pipeline_accept_async (self->pipeline, g_variant_get_string (parameter, NULL), NULL,
                              accept_done_cb, NULL);
}

static void
snooze_action (GSimpleAction *action,
               GVariant      *parameter,
               gpointer       user_data)
{
  WbApplication *self = user_data;

  if (self->alerts != NULL
      && wb_alert_wiring_snooze (self->alerts, g_variant_get_string (parameter, NULL)))
    _wb_application_message (self, _("Snoozed for 5 minutes"));
}

static void
open_dashboard_action (GSimpleAction *action,
                       GVariant      *parameter,
                       gpointer       user_data)
{
  _wb_application_open_dashboard (WB_APPLICATION (user_data), g_variant_get_string (parameter, NULL));
}

static void
open_assignment_action (GSimpleAction *action,
                        GVariant      *parameter,
                        gpointer       user_data)
{
  WbApplication *self = user_data;
  const char *id = g_variant_get_string (parameter, NULL);

  if (self->alerts != NULL)
    wb_alert_dispatcher_acknowledge (self->alerts->dispatcher, id);
  _wb_application_present (self);
  if (self->window != NULL)
    wb_window_show_assignment (self->window, id);
}

static void
open_assignments_action (GSimpleAction *action,
                         GVariant      *parameter,
                         gpointer       user_data)
{
  WbApplication *self = user_data;

  if (self->alerts != NULL)
    wb_alert_dispatcher_acknowledge_all (self->alerts->dispatcher);
  _wb_application_present (self);
  if (self->window != NULL)
    wb_window_show_page (self->window, "queue");
}

static void
acknowledge_action (GSimpleAction *action,
                    GVariant      *parameter,
                    gpointer       user_data)
{
  WbApplication *self = user_data;

  if (self->alerts != NULL)
    wb_alert_dispatcher_acknowledge (self->alerts->dispatcher,
                                     g_variant_get_string (parameter, NULL));
}

static void
acknowledge_all_action (GSimpleAction *action,
                        GVariant      *parameter,
                        gpointer       user_data)
{
  WbApplication *self = user_data;

  if (self->alerts != NULL)
    wb_alert_dispatcher_acknowledge_all (self->alerts->dispatcher);
}

static void
mute_hour_action (GSimpleAction *action,
                  GVariant      *parameter,
                  gpointer       user_data)
{
  WbApplication *self = user_data;

  if (self->settings != NULL)
    wb_settings_mute_for (self->settings, MUTE_SECONDS);
  else if (self->alerts != NULL)
    wb_alert_sound_set_mute_until (self->alerts->sound,
                                   g_get_real_time () / G_USEC_PER_SEC + MUTE_SECONDS);
  _wb_application_message (self, _("Sounds muted for an hour"));
}

static void
sign_out_action (GSimpleAction *action,
                 GVariant      *parameter,
                 gpointer       user_data)
{
  WbApplication *self = user_data;

  wb_token_store_clear (self->tokens);
  if (self->pipeline != NULL)
    wb_pipeline_sign_out (self->pipeline);
}

static void
retry_action (GSimpleAction *action,
              GVariant      *parameter,
              gpointer       user_data)
{
  WbApplication *self = user_data;

  if (self->pipeline != NULL)
    wb_pipeline_retry_now (self->pipeline, "user");
}

void
_wb_application_add_actions (WbApplication *self)
{
  /* On the bus (app.*): what the desktop calls. */
  static const GActionEntry exported[] = {
    { "quit", quit_action },
    { "preferences", preferences_action },
  };
  /* In process only (wb.*): the windows, the notifications, the tray menu, --accept. */
  static const GActionEntry local[] = {
    { "show", show_action },
    { "about", about_action },
    { "test-alert", test_alert_action },
    { "open-assignment", open_assignment_action, "s" },
    { "open-assignments", open_assignments_action },
    { "accept", accept_action, "s" },
    { "snooze", snooze_action, "s" },
    { "open-dashboard", open_dashboard_action, "s" },
    { "acknowledge", acknowledge_action, "s" },
    { "acknowledge-all", acknowledge_all_action },
    { "mute-hour", mute_hour_action },
    { "sign-out", sign_out_action },
    { "retry", retry_action },
  };
  static const struct { const char *action; const char *accels[2]; } accels[] = {
    { "app.quit", { "<Control>q", NULL } },
    { "app.preferences", { "<Control>comma", NULL } },
    { "wb.retry", { "F5", NULL } },
    { "wb.test-alert", { "<Control><Shift>t", NULL } },
    { "window.close", { "<Control>w", NULL } },
  };

  g_action_map_add_action_entries (G_ACTION_MAP (self), exported, G_N_ELEMENTS (exported), self);
  self->actions = g_simple_action_group_new ();
  g_action_map_add_action_entries (G_ACTION_MAP (self->actions), local, G_N_ELEMENTS (local), self);
  for (guint i = 0; i < G_N_ELEMENTS (accels); i++)
    gtk_application_set_accels_for_action (GTK_APPLICATION (self), accels[i].action,
                                           accels[i].accels);
}
