/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-application.c: the single-instance application.
 *
 * Startup asks the keyring for a stored session first, then builds the pipeline (with that
 * refresh token, so a restart signs in without a password) and the alert tiers, and starts
 * listening. The application holds itself: it keeps listening while the window is hidden
 * (run-in-background) and ends only through app.quit.
 */
#define G_LOG_DOMAIN "wb-application"

#include "config.h"

#include <glib/gi18n.h>

#include "wb-application-private.h"
#include "wb-startup-times.h"

#define KEYRING_TIMEOUT_S 5
#define MAX_WON           200

G_DEFINE_FINAL_TYPE (WbApplication, wb_application, ADW_TYPE_APPLICATION)

/* ---- pipeline and tiers ---------------------------------------------------------------------- */

static char *
status_json_cb (gpointer user_data)
{
  WbApplication *self = user_data;

  g_autoptr(JsonNode) node = NULL;

  if (self->pipeline == NULL)
    return g_strdup ("{\"state\":\"connecting\"}");
  node = wb_health_to_json (wb_pipeline_get_health (self->pipeline));
  if (self->alerts != NULL)   /* NULL while --background subscribes before GTK starts */
    wb_alert_wiring_add_status (self->alerts, json_node_get_object (node));
  return json_to_string (node, TRUE);
}

static void
on_pipeline_alert_cb (WbApplication *self,
                      WbAlertRecord *record)
{
  /* --background subscribes before GTK starts (early_start ()): an alert of those first
   * milliseconds waits for the tiers, which exist once GTK does. */
  if (self->alerts == NULL)
    {
      g_ptr_array_add (self->early_alerts, wb_alert_record_copy (record));
      return;
    }
  wb_alert_dispatcher_dispatch (self->alerts->dispatcher, record, NULL, NULL);
}

static void
on_record_done_cb (WbApplication *self,
                   WbAlertRecord *record)
{
  g_autoptr(GError) error = NULL;

  /* Test alerts are not requests: they stay out of the figures and the log. */
  if (g_strcmp0 (record->source, "test") == 0)
    return;
  wb_pipeline_record_alerted (self->pipeline, record);
  if (self->log != NULL && !wb_alert_log_append (self->log, record, &error))
    g_message ("%s", error->message);
}

void
_wb_application_activate_local (WbApplication *self,
                                const char    *name,
                                GVariant      *parameter)
{
  g_action_group_activate_action (G_ACTION_GROUP (self->actions), name, parameter);
}

static void
on_tray_menu_activated_cb (WbApplication *self,
                           const char    *item)
{
  if (g_strcmp0 (item, "show") == 0)
    _wb_application_activate_local (self, "show", NULL);
  else if (g_strcmp0 (item, "quit") == 0)
    g_action_group_activate_action (G_ACTION_GROUP (self), "quit", NULL);
}

/* The popup's buttons, from the notification daemon through libnotify (not over the bus). */
static void
on_notification_action_cb (WbApplication *self,
                           const char    *assignment_id,
                           const char    *action)
{
  gboolean has_id = assignment_id != NULL && *assignment_id != '\0';

  if (g_strcmp0 (action, "show") == 0)
    _wb_application_activate_local (self, "show", NULL);
  else if (!has_id)
    _wb_application_activate_local (self, "open-assignments", NULL);
  else if (g_strcmp0 (action, "accept") == 0)
    {
      /* No window may be watching: the outcome comes back as a note. */
      if (g_hash_table_size (self->from_popup) < MAX_WON)
        g_hash_table_add (self->from_popup, g_strdup (assignment_id));
      _wb_application_activate_local (self, "accept", g_variant_new_string (assignment_id));
    }
  else if (g_strcmp0 (action, "snooze") == 0)
    _wb_application_activate_local (self, "snooze", g_variant_new_string (assignment_id));
  else if (g_strcmp0 (action, "open-dashboard") == 0)
    _wb_application_activate_local (self, "open-dashboard", g_variant_new_string (assignment_id));
  else
    _wb_application_activate_local (self, "open-assignment", g_variant_new_string (assignment_id));
}

static char *
dashboard_url_cb (gpointer user_data)
{
  WbApplication *self = user_data;

  return wb_config_dashboard_url (self->settings);
}

static char *
dashboard_url_for (WbApplication *self,
                   const char    *assignment_id)
{
  g_autofree char *template_ = wb_config_dashboard_url (self->settings);

  return wb_accept_dashboard_url (template_, g_hash_table_lookup (self->won, assignment_id), assignment_id);
}

static void
show_uri_done_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(WbApplication) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;

#if GTK_CHECK_VERSION (4, 10, 0)
  if (gtk_uri_launcher_launch_finish (GTK_URI_LAUNCHER (source), result, &error))
    return;
#else
  if (gtk_show_uri_full_finish (GTK_WINDOW (source), result, &error))
    return;
#endif
  /* Translators: %s says why, e.g. that no web browser is installed. */
  text = g_strdup_printf (_("Could not open the dashboard: %s"), error->message);
  _wb_application_message (self, text);
}

/* The OpenURI portal in Flatpak, the default browser elsewhere. */
void
_wb_application_open_dashboard (WbApplication *self,
                                const char    *assignment_id)
{
  g_autofree char *url = dashboard_url_for (self, assignment_id);
  GtkWindow *parent = GTK_WINDOW (_wb_application_get_window (self, FALSE));

  if (url == NULL)
    return;
  if (parent != NULL && !gtk_widget_get_visible (GTK_WIDGET (parent)))
    parent = NULL;
#if GTK_CHECK_VERSION (4, 10, 0)
  {
    g_autoptr(GtkUriLauncher) launcher = gtk_uri_launcher_new (url);

    gtk_uri_launcher_launch (launcher, parent, self->cancellable, show_uri_done_cb, g_object_ref (self));
  }
#else
  gtk_show_uri_full (parent, url, GDK_CURRENT_TIME, self->cancellable, show_uri_done_cb,
                     g_object_ref (self));
#endif
}

static void
remember_won (WbApplication *self,
              const char    *assignment_id,
              const char    *session_id)
{
  if (assignment_id == NULL || session_id == NULL)
    return;
  if (g_hash_table_size (self->won) >= MAX_WON)
    g_hash_table_remove_all (self->won);
  g_hash_table_replace (self->won, g_strdup (assignment_id), g_strdup (session_id));
}

/* Ours, however we took it (here, --accept, or this account on another workstation). */
static void
on_episode_ended_cb (WbApplication *self,
                     WbAlertRecord *record)
{
  if (record->taken_by_me)
    remember_won (self, record->assignment_id, record->session_id);
}

static void
on_accept_done_cb (WbApplication   *self,
                   WbAcceptOutcome *outcome)
{
  gboolean from_popup = g_hash_table_remove (self->from_popup, outcome->assignment_id);
  g_autofree char *url = NULL;
  g_autofree char *summary = NULL;
  const char *body = NULL;

  if (outcome->result == WB_ACCEPT_WON)
    remember_won (self, outcome->assignment_id, outcome->session_id);
  /* An open window says it itself (the row, a toast); a hidden one answers with a note. */
  if (!from_popup || (self->window != NULL && gtk_widget_get_visible (GTK_WIDGET (self->window))))
    return;

  switch (outcome->result)
    {
    case WB_ACCEPT_WON:
      summary = g_strdup (_("Taken by you"));
      url = dashboard_url_for (self, outcome->assignment_id);
      body = url != NULL ? _("The request is yours. Open it in the dashboard to start.")
                         : _("The request is yours.");
      break;
    case WB_ACCEPT_TAKEN:
      /* Translators: %s is the name of the mechanic who was faster. */
      summary = outcome->taken_by != NULL ? g_strdup_printf (_("Already taken by %s"), outcome->taken_by)
                                          : g_strdup (_("Already taken by another mechanic"));
      body = _("Someone else was faster.");
      break;
    case WB_ACCEPT_GONE:
      summary = g_strdup (_("No longer queued"));
      body = _("The request was cancelled or expired before you took it.");
      break;
    case WB_ACCEPT_FAILED:
    default:
      summary = g_strdup (_("Could not take the request"));
      body = outcome->message;
      break;
    }
  wb_alert_notification_show_note (self->alerts->notification, "accept", summary, body,
                                   outcome->assignment_id, url != NULL ? "open-dashboard" : NULL,
                                   url != NULL ? _("Open Dashboard") : NULL, FALSE);
}

static void
on_notification_dismissed_cb (WbApplication *self,
                              const char    *assignment_id)
{
  if (assignment_id != NULL && *assignment_id != '\0')
    wb_alert_dispatcher_acknowledge (self->alerts->dispatcher, assignment_id);
}

static void
on_token_changed_cb (WbApplication *self,
                     WbAuth        *auth)
{
  const char *refresh_token = wb_auth_get_refresh_token (auth);

  if (refresh_token != NULL)
    wb_token_store_save (self->tokens, refresh_token);
}

static void
on_signed_out_cb (WbApplication *self,
                  const char    *message)
{
  /* The stored session is gone on the server too (revoked, reused or signed out). */
  wb_token_store_clear (self->tokens);
}

/* GNOME's Background Apps list shows this line under Wrenchbell (wb-background-status.c). */
static void
update_background_status (WbApplication *self)
{
  g_autoptr(GPtrArray) open = wb_pipeline_list_open (self->pipeline);

  wb_background_status_update (self->background_status, open->len,
                               wb_pipeline_get_state (self->pipeline));
}

static void
sound_prepared_cb (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(WbApplication) self = user_data;
  g_autoptr(GError) error = NULL;

  if (!wb_alert_sound_prepare_finish (WB_ALERT_SOUND (source), result, &error))
    g_debug ("sound not prepared: %s", error->message);
  wb_startup_times_mark ("tiers_ready");
}

/* What the first frame does not need (GStreamer's init, a few hundred ms on a loaded machine)
 * starts once it is painted, or at once without a window. A ring before that still rings: the
 * sound tier initialises GStreamer itself then. */
static void
prepare_deferred_tiers (WbApplication *self)
{
  if (self->tiers_preparing || self->alerts == NULL)
    return;
  self->tiers_preparing = TRUE;
  wb_alert_sound_prepare_async (self->alerts->sound, self->cancellable, sound_prepared_cb,
                                g_object_ref (self));
}

/* After the window's first frame, GStreamer's init (a worker thread, a few hundred ms of CPU)
 * would compete with the pipeline's last steps to subscribed on a small machine: it waits for
 * those too. A ring before it still rings (the sound tier initialises GStreamer itself). */
static void
prepare_tiers_when_listening (WbApplication *self)
{
  if (self->first_painted && self->pipeline != NULL
      && g_strcmp0 (wb_pipeline_get_realtime_state (self->pipeline), "subscribed") == 0)
    prepare_deferred_tiers (self);
}

/* tests/bench/cold-start: the first time the pipeline is subscribed. */
static void
on_state_changed_cb (WbApplication *self,
                     WbPipeline    *pipeline)
{
  if (g_strcmp0 (wb_pipeline_get_state (pipeline), "subscribed") == 0)
    wb_startup_times_mark ("subscribed");
}

/* The pipeline and what keeps its session: nothing here needs GTK (early_start () runs it
 * before GTK starts). */
static void
create_pipeline (WbApplication *self)
{
  WbAuth *auth;

  if (self->state_dir != NULL)
    self->config.dedupe_path = g_build_filename (self->state_dir, "dedupe-set.json", NULL);
  self->pipeline = wb_pipeline_new (&self->config);
  wb_pipeline_config_clear (&self->config);
  if (self->accept != NULL)
    wb_accept_service_set_pipeline (self->accept, self->pipeline);
  auth = wb_pipeline_get_auth (self->pipeline);

  g_signal_connect_object (self->pipeline, "alert", G_CALLBACK (on_pipeline_alert_cb), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->pipeline, "episode-ended", G_CALLBACK (on_episode_ended_cb), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (auth, "token-changed", G_CALLBACK (on_token_changed_cb), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (auth, "signed-out", G_CALLBACK (on_signed_out_cb), self,
                           G_CONNECT_SWAPPED);
  if (wb_startup_times_is_enabled ())
    g_signal_connect_object (self->pipeline, "state-changed", G_CALLBACK (on_state_changed_cb), self,
                             G_CONNECT_SWAPPED);

  wb_pipeline_start (self->pipeline);
  wb_startup_times_mark ("pipeline_started");
}

/* The tiers and the desktop around the pipeline; with GTK started. */
static void
wire_pipeline (WbApplication *self)
{
  GDBusConnection *bus = g_application_get_dbus_connection (G_APPLICATION (self));
  g_autoptr(GPtrArray) open = NULL;

  self->alerts = wb_alert_wiring_new (self->settings, wb_pipeline_get_flags (self->pipeline), bus);
  wb_alert_wiring_connect_pipeline (self->alerts, self->pipeline);

  g_signal_connect_object (self->alerts->dispatcher, "record-done",
                           G_CALLBACK (on_record_done_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->pipeline, "accept-done", G_CALLBACK (on_accept_done_cb), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->alerts->tray, "menu-activated",
                           G_CALLBACK (on_tray_menu_activated_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->alerts->notification, "action",
                           G_CALLBACK (on_notification_action_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->alerts->notification, "dismissed",
                           G_CALLBACK (on_notification_dismissed_cb), self, G_CONNECT_SWAPPED);

  self->background_status = wb_background_status_new ();
  g_signal_connect_object (self->pipeline, "queue-changed", G_CALLBACK (update_background_status),
                           self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->pipeline, "state-changed", G_CALLBACK (update_background_status),
                           self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->pipeline, "state-changed",
                           G_CALLBACK (prepare_tiers_when_listening), self, G_CONNECT_SWAPPED);

  /* What rang before the tiers existed rings now, unless it ended meanwhile. */
  open = wb_pipeline_list_open (self->pipeline);
  for (guint i = 0; i < self->early_alerts->len; i++)
    {
      WbAlertRecord *record = g_ptr_array_index (self->early_alerts, i);
      gboolean still_open = FALSE;

      for (guint j = 0; j < open->len && !still_open; j++)
        still_open = g_strcmp0 (((WbAlertRecord *) g_ptr_array_index (open, j))->assignment_id,
                                record->assignment_id) == 0;
      if (still_open)
        wb_alert_dispatcher_dispatch (self->alerts->dispatcher, record, NULL, NULL);
    }
  g_ptr_array_set_size (self->early_alerts, 0);

  update_background_status (self);
  /* With a window on its way, what it does not need waits for its first frame
   * (on_first_paint_cb ()); without one (--background) it starts now. */
  if (self->background && !self->pending_show)
    prepare_deferred_tiers (self);
  if (self->pending_show)
    {
      self->pending_show = FALSE;
      _wb_application_present (self);
    }
}

static void
start_pipeline (WbApplication *self)
{
  create_pipeline (self);
  if (!self->early)
    wire_pipeline (self);
}

static void
lookup_done_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(WbApplication) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *token = wb_token_store_lookup_finish (WB_TOKEN_STORE (source), result, &error);

  g_clear_handle_id (&self->lookup_timeout_id, g_source_remove);
  wb_startup_times_mark ("keyring");
  if (error != NULL)
    g_debug ("no stored session (%s)", error->message);
  else
    g_debug ("%s", token != NULL ? "stored session found" : "no stored session");
  if (self->pipeline != NULL || g_cancellable_is_cancelled (self->cancellable))
    return;
  if (token != NULL)
    {
      g_free (self->config.refresh_token);
      self->config.refresh_token = g_steal_pointer (&token);
    }
  start_pipeline (self);
}

static gboolean
lookup_timeout_cb (gpointer user_data)
{
  WbApplication *self = user_data;

  /* A keyring that does not answer must not keep the alerts from starting. */
  self->lookup_timeout_id = 0;
  g_debug ("the keyring did not answer in %d s", KEYRING_TIMEOUT_S);
  if (self->pipeline == NULL)
    start_pipeline (self);
  return G_SOURCE_REMOVE;
}

/* ---- windows --------------------------------------------------------------------------------- */

/* The window's first frame is on screen once its frame clock has painted (tests/bench/cold-start
 * times that): now the rest of the start may have the CPU. */
static void
on_first_paint_cb (GdkFrameClock *clock,
                   gpointer       user_data)
{
  WbApplication *self = user_data;

  wb_startup_times_mark ("first_frame");
  g_signal_handlers_disconnect_by_func (clock, on_first_paint_cb, user_data);
  self->first_painted = TRUE;
  prepare_tiers_when_listening (self);
}

static void
on_window_realize_cb (GtkWidget *window,
                      gpointer   user_data)
{
  GdkFrameClock *clock = gtk_widget_get_frame_clock (window);

  if (clock != NULL)
    g_signal_connect (clock, "after-paint", G_CALLBACK (on_first_paint_cb), user_data);
}

WbWindow *
_wb_application_get_window (WbApplication *self,
                            gboolean       create)
{
  if (self->window == NULL && create && self->pipeline != NULL)
    {
      WbWindow *window = wb_window_new (ADW_APPLICATION (self), self->pipeline,
                                        self->alerts->tray, self->settings);

      /* The actions that are not on the bus: rows, toasts, the menu and shortcuts use them. */
      gtk_widget_insert_action_group (GTK_WIDGET (window), "wb", G_ACTION_GROUP (self->actions));
      g_set_weak_pointer (&self->window, window);
      g_signal_connect (window, "realize", G_CALLBACK (on_window_realize_cb), self);
      wb_startup_times_mark ("window_created");
      wb_alert_toast_set_overlay (self->alerts->toast, wb_window_get_toast_overlay (window));
    }
  return self->window;
}

void
_wb_application_present (WbApplication *self)
{
  WbWindow *window;

  if (self->pipeline == NULL)
    {
      self->pending_show = TRUE;
      return;
    }
  window = _wb_application_get_window (self, TRUE);
  gtk_window_present (GTK_WINDOW (window));
  if (self->key_refused != NULL)
    {
      g_autofree char *text = g_steal_pointer (&self->key_refused);

      wb_window_show_message (window, text);
    }
}

void
_wb_application_message (WbApplication *self,
                         const char    *text)
{
  if (self->window != NULL && gtk_widget_get_visible (GTK_WIDGET (self->window)))
    wb_window_show_message (self->window, text);
  else
    g_debug ("%s", text);
}

/* ---- GApplication ---------------------------------------------------------------------------- */

static int
wb_application_handle_local_options (GApplication *app,
                                     GVariantDict *options)
{
  WbApplication *self = WB_APPLICATION (app);

  /* Before anything below registers the application (which runs startup, which reads it). */
  self->background = g_variant_dict_contains (options, "background");
  if (g_variant_dict_contains (options, "version"))
    {
      g_print ("wrenchbell %s\n", PACKAGE_VERSION);
      return 0;
    }
  if (g_variant_dict_contains (options, "preferences"))
    {
      g_autoptr(GError) error = NULL;

      /* The desktop file's "Preferences" action: open them in the running instance (or in this
       * one, which then keeps running like a normal launch). */
      if (!g_application_register (app, NULL, &error))
        {
          g_printerr ("wrenchbell: %s\n", error->message);
          return 1;
        }
      g_action_group_activate_action (G_ACTION_GROUP (app), "preferences", NULL);
      if (g_application_get_is_remote (app))
        return 0;
    }
  {
    g_autofree char *log_path = NULL;

    if (g_variant_dict_lookup (options, "alert-log", "^ay", &log_path))
      {
        g_autoptr(GError) error = NULL;

        /* The log belongs to the instance that runs: find out whether that is this one. */
        if (!g_application_register (app, NULL, &error))
          {
            g_printerr ("wrenchbell: %s\n", error->message);
            return 1;
          }
        if (g_application_get_is_remote (app))
          {
            g_printerr ("wrenchbell: --alert-log: Wrenchbell is already running; start it with "
                        "--alert-log (or use --status)\n");
            return 2;
          }
        self->log = wb_alert_log_new (log_path, &error);
        if (self->log == NULL)
          {
            g_printerr ("wrenchbell: %s\n", error->message);
            return 2;
          }
      }
  }
  g_variant_dict_lookup (options, "url", "s", &self->cli.url);
  g_variant_dict_lookup (options, "anon-key", "s", &self->cli.anon_key);
  g_variant_dict_lookup (options, "publishable-key", "s", &self->cli.publishable_key);
  g_variant_dict_lookup (options, "email", "s", &self->cli.email);
  g_variant_dict_lookup (options, "topic", "s", &self->cli.topic);
  self->cli.allow_insecure_http = g_variant_dict_contains (options, "allow-insecure-http");
  g_variant_dict_lookup (options, "state-dir", "^ay", &self->state_dir);

  /* A key given here or in the environment that no workstation may hold: refused before
   * anything starts (one kept in the settings is dealt with at startup). */
  {
    WbPipelineConfig given = { 0 };
    g_autoptr(GError) error = NULL;
    gboolean ok;

    wb_config_resolve (&given, &self->cli, NULL);
    ok = wb_config_check (&given, &error);
    wb_pipeline_config_clear (&given);
    if (!ok)
      {
        g_printerr ("wrenchbell: %s\n", error->message);
        return 2;
      }
  }

  return G_APPLICATION_CLASS (wb_application_parent_class)->handle_local_options (app, options);
}

static gboolean
wb_application_dbus_register (GApplication     *app,
                              GDBusConnection  *connection,
                              const char       *object_path,
                              GError          **error)
{
  WbApplication *self = WB_APPLICATION (app);
  g_autoptr(GError) local_error = NULL;

  if (!G_APPLICATION_CLASS (wb_application_parent_class)->dbus_register (app, connection,
                                                                         object_path, error))
    return FALSE;

  /* `wrenchbell --status` asks this object; the bus name is the application id. */
  self->status = wb_status_service_new (status_json_cb, self);
  if (!wb_status_service_export (self->status, connection, &local_error))
    g_debug ("status not exported: %s", local_error->message);
  g_clear_error (&local_error);
  /* `wrenchbell --accept`: same-user callers only (it checks their credentials). */
  self->accept = wb_accept_service_new (dashboard_url_cb, self);
  wb_accept_service_set_pipeline (self->accept, self->pipeline);
  if (!wb_accept_service_export (self->accept, connection, &local_error))
    g_debug ("accept not exported: %s", local_error->message);
  return TRUE;
}

static void
wb_application_dbus_unregister (GApplication    *app,
                                GDBusConnection *connection,
                                const char      *object_path)
{
  WbApplication *self = WB_APPLICATION (app);

  if (self->status != NULL)
    wb_status_service_unexport (self->status);
  g_clear_object (&self->status);
  if (self->accept != NULL)
    wb_accept_service_unexport (self->accept);
  g_clear_object (&self->accept);

  G_APPLICATION_CLASS (wb_application_parent_class)->dbus_unregister (app, connection, object_path);
}

/* Settings, key and stored session: what the pipeline needs, none of it GTK. */
static void
resolve_config (WbApplication *self)
{
  self->settings = wb_settings_new_if_available ();
  wb_config_resolve (&self->config, &self->cli, self->settings);
  {
    g_autoptr(GError) error = NULL;

    /* A secret key in the settings: removed from them (it must not stay on disk), and the
     * window says so when it appears. */
    if (!wb_config_check (&self->config, &error)
        && wb_config_key_from_settings (&self->config, &self->cli, self->settings))
      {
        g_printerr ("wrenchbell: %s\n", error->message);
        wb_settings_forget_api_key (self->settings);
        self->key_refused = g_strdup_printf (_("The key in Preferences was removed: %s"),
                                             error->message);
        wb_config_resolve (&self->config, &self->cli, self->settings);
      }
  }
  wb_config_forget_environment ();
  self->tokens = wb_token_store_new (self->config.url);

  g_application_hold (G_APPLICATION (self));
  self->lookup_timeout_id = g_timeout_add_seconds (KEYRING_TIMEOUT_S, lookup_timeout_cb, self);
  wb_token_store_lookup_async (self->tokens, self->cancellable, lookup_done_cb,
                               g_object_ref (self));
}

static gboolean
early_deadline_cb (gpointer user_data)
{
  gboolean *expired = user_data;

  *expired = TRUE;
  return G_SOURCE_REMOVE;
}

/* The pipeline starts before GTK does (its display and styles take a few hundred ms on a loaded
 * machine), so the two run side by side. With a window to show, GTK starts as soon as the
 * keyring answered and the pipeline is on its way; with --background, what the session runs at
 * login when nobody looks at a window, once the pipeline is subscribed: the workstation listens
 * before anything else. Either for at most EARLY_START_MAX_MS. Nothing of GTK exists meanwhile:
 * activations wait (pending_show) and an alert waits for the tiers (early_alerts). */
#define EARLY_START_MAX_MS 1500

static gboolean
early_start_done (WbApplication *self,
                  gboolean       until_subscribed)
{
  if (self->pipeline == NULL)
    return FALSE;
  return !until_subscribed || g_strcmp0 (wb_pipeline_get_state (self->pipeline), "subscribed") == 0;
}

static void
early_start (WbApplication *self,
             gboolean       until_subscribed)
{
  gboolean expired = FALSE;
  guint deadline_id;

  self->early = TRUE;
  resolve_config (self);
  deadline_id = g_timeout_add (EARLY_START_MAX_MS, early_deadline_cb, &expired);
  while (!expired && !g_cancellable_is_cancelled (self->cancellable)
         && !early_start_done (self, until_subscribed))
    g_main_context_iteration (NULL, TRUE);
  if (!expired)
    g_source_remove (deadline_id);
  self->early = FALSE;
}

static void
wb_application_startup (GApplication *app)
{
  WbApplication *self = WB_APPLICATION (app);
  static const char *const window[] = { "first_frame", "subscribed", "tiers_ready", NULL };

  /* --background shows no window: its line is complete without a frame. */
  wb_startup_times_begin (self->background ? "background" : "window", window + (self->background ? 1 : 0));
  early_start (self, self->background);

  G_APPLICATION_CLASS (wb_application_parent_class)->startup (app);
  wb_startup_times_mark ("app_startup");

  gtk_window_set_default_icon_name (APP_ID);
  _wb_application_add_actions (self);

  if (self->tokens == NULL)
    resolve_config (self);
  else if (self->pipeline != NULL)
    wire_pipeline (self);
  /* else: the keyring has not answered yet; lookup_done_cb () starts and wires the pipeline. */
}

static void
wb_application_activate (GApplication *app)
{
  WbApplication *self = WB_APPLICATION (app);

  if (self->early)
    {
      /* Another launch asked for the window before GTK has started here (early_start ()). */
      self->pending_show = TRUE;
      return;
    }
  if (self->background)
    {
      /* --background: tray and notifications only, until the user asks for the window. */
      self->background = FALSE;
      return;
    }
  _wb_application_present (self);
}

static void
wb_application_shutdown (GApplication *app)
{
  WbApplication *self = WB_APPLICATION (app);

  g_cancellable_cancel (self->cancellable);
  g_clear_handle_id (&self->lookup_timeout_id, g_source_remove);
  if (self->pipeline != NULL)
    wb_pipeline_stop (self->pipeline);
  if (self->alerts != NULL)
    wb_alert_toast_set_overlay (self->alerts->toast, NULL);

  G_APPLICATION_CLASS (wb_application_parent_class)->shutdown (app);

  g_clear_pointer (&self->alerts, wb_alert_wiring_free);
  g_clear_object (&self->background_status);
  g_clear_object (&self->pipeline);
}

static void
wb_application_finalize (GObject *object)
{
  WbApplication *self = WB_APPLICATION (object);

  g_clear_weak_pointer (&self->window);
  g_clear_weak_pointer (&self->preferences);
  g_clear_pointer (&self->alerts, wb_alert_wiring_free);
  g_clear_object (&self->pipeline);
  g_clear_object (&self->status);
  g_clear_object (&self->accept);
  g_clear_object (&self->log);
  g_clear_object (&self->actions);
  g_clear_pointer (&self->won, g_hash_table_unref);
  g_clear_pointer (&self->from_popup, g_hash_table_unref);
  g_clear_pointer (&self->early_alerts, g_ptr_array_unref);
  g_clear_object (&self->background_status);
  g_clear_object (&self->tokens);
  g_clear_object (&self->settings);
  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->state_dir, g_free);
  g_clear_pointer (&self->key_refused, g_free);
  wb_pipeline_config_clear (&self->config);
  wb_config_overrides_clear (&self->cli);

  G_OBJECT_CLASS (wb_application_parent_class)->finalize (object);
}

static void
wb_application_class_init (WbApplicationClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GApplicationClass *app_class = G_APPLICATION_CLASS (klass);

  object_class->finalize = wb_application_finalize;
  app_class->handle_local_options = wb_application_handle_local_options;
  app_class->dbus_register = wb_application_dbus_register;
  app_class->dbus_unregister = wb_application_dbus_unregister;
  app_class->startup = wb_application_startup;
  app_class->activate = wb_application_activate;
  app_class->shutdown = wb_application_shutdown;
}

static void
wb_application_init (WbApplication *self)
{
  static const GOptionEntry entries[] = {
    { "background", 0, 0, G_OPTION_ARG_NONE, NULL, N_("Start hidden: tray and notifications only"), NULL },
    { "preferences", 0, 0, G_OPTION_ARG_NONE, NULL, N_("Open the preferences"), NULL },
    { "url", 0, 0, G_OPTION_ARG_STRING, NULL, N_("Supabase project URL"), N_("URL") },
    { "publishable-key", 0, 0, G_OPTION_ARG_STRING, NULL, N_("Supabase publishable key (sb_publishable_…)"), N_("KEY") },
    { "anon-key", 0, 0, G_OPTION_ARG_STRING, NULL, N_("Supabase publishable key, or the legacy anon key"), N_("KEY") },
    { "email", 0, 0, G_OPTION_ARG_STRING, NULL, N_("Mechanic account e-mail"), N_("EMAIL") },
    { "topic", 0, 0, G_OPTION_ARG_STRING, NULL, N_("Broadcast topic"), N_("TOPIC") },
    { "allow-insecure-http", 0, 0, G_OPTION_ARG_NONE, NULL, N_("Allow an unencrypted http:// backend on another machine (the password and tokens cross the network readable)"), NULL },
    { "state-dir", 0, 0, G_OPTION_ARG_FILENAME, NULL, N_("Where the dedupe set is kept"), N_("DIR") },
    { "alert-log", 0, 0, G_OPTION_ARG_FILENAME, NULL, N_("Append every alert to FILE as a JSON line"), N_("FILE") },
    { "version", 0, 0, G_OPTION_ARG_NONE, NULL, N_("Print the version"), NULL },
    { NULL }
  };

  self->cancellable = g_cancellable_new ();
  self->won = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->from_popup = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->early_alerts = g_ptr_array_new_with_free_func ((GDestroyNotify) wb_alert_record_free);
  g_application_add_main_option_entries (G_APPLICATION (self), entries);
}

WbApplication *
wb_application_new (void)
{
  return g_object_new (WB_TYPE_APPLICATION,
                       "application-id", APP_ID,
                       "flags", G_APPLICATION_DEFAULT_FLAGS,
                       "resource-base-path", "/io/github/wrenchbell/Wrenchbell",
                       NULL);
}
