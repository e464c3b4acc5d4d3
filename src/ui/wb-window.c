/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-window.c: the main window.
 *
 * The connection state is always on screen above the pages (and says since when requests are not
 * arriving once the connection alarm went off); the queue page is a WbQueueView; the diagnostics
 * page shows the
 * WbHealth figures (WbHealthView) while it is visible. Timers run only while something on screen changes with
 * time (a reconnect countdown, waiting times, the diagnostics page), so an idle window does not
 * wake up.
 */
#define G_LOG_DOMAIN "wb-window"

#include "config.h"

#include <glib/gi18n.h>

#include "wb-error.h"
#include "wb-health-view.h"
#include "wb-queue-view.h"
#include "wb-sign-in.h"
#include "wb-window.h"

struct _WbWindow
{
  AdwApplicationWindow  parent_instance;

  GtkBox               *health_box;
  GtkStack             *main_stack;
  WbQueueView          *queue_view;
  GtkButton            *retry_button;
  AdwBin               *sign_in_bin;
  GtkBox               *status_bar;
  GtkLabel             *status_detail_label;
  GtkImage             *status_icon;
  GtkLabel             *status_label;
  AdwViewSwitcherTitle *switcher_title;
  AdwToastOverlay      *toast_overlay;
  AdwViewStack         *view_stack;

  WbPipeline           *pipeline;   /* (owned) */
  WbAlertTray          *tray;       /* (owned) (nullable) */
  WbSettings           *settings;   /* (owned) (nullable) */
  WbSignIn             *sign_in;    /* (unowned) child of sign_in_bin */
  WbHealthView         *health_view;  /* (unowned) child of health_box */
  guint                 countdown_id;
};

G_DEFINE_FINAL_TYPE (WbWindow, wb_window, ADW_TYPE_APPLICATION_WINDOW)

enum {
  PROP_0,
  PROP_PIPELINE,
  PROP_TRAY,
  PROP_SETTINGS,
  N_PROPS,
};

static GParamSpec *properties[N_PROPS];

/* ---- connection state ------------------------------------------------------------------------ */

static gboolean countdown_cb (gpointer user_data);

static void
set_status (WbWindow   *self,
            const char *icon,
            const char *css,
            const char *title,
            const char *detail,
            gboolean    can_retry)
{
  static const char *classes[] = { "wb-connected", "wb-connecting", "wb-offline", "wb-signed-out" };

  for (guint i = 0; i < G_N_ELEMENTS (classes); i++)
    gtk_widget_remove_css_class (GTK_WIDGET (self->status_bar), classes[i]);
  gtk_widget_add_css_class (GTK_WIDGET (self->status_bar), css);
  gtk_image_set_from_icon_name (self->status_icon, icon);
  gtk_label_set_text (self->status_label, title);
  gtk_label_set_text (self->status_detail_label, detail != NULL ? detail : "");
  gtk_widget_set_visible (GTK_WIDGET (self->status_detail_label), detail != NULL);
  gtk_widget_set_visible (GTK_WIDGET (self->retry_button), can_retry);
  if (self->health_view != NULL)
    wb_health_view_set_state_text (self->health_view, title);
}

/* Returns: (transfer full) (nullable): what the server refused, while the refusal stands. */
static char *
server_error_text (WbWindow *self)
{
  const char *code = NULL;
  const char *message = NULL;

  if (!wb_health_get_server_error (wb_pipeline_get_health (self->pipeline), NULL, &code, &message))
    return NULL;
  if (code != NULL)
    /* Translators: %s is the server's own words (in English), then its error code. */
    return g_strdup_printf (_("The server refused: %s (%s). Wrenchbell tries again when the "
                              "server allows it."), message, code);
  /* Translators: %s is the server's own words (in English). */
  return g_strdup_printf (_("The server refused: %s. Wrenchbell tries again when the server "
                            "allows it."), message);
}

static void
update_status (WbWindow *self)
{
  const char *state = wb_pipeline_get_state (self->pipeline);
  WbAuthState auth = wb_auth_get_state (wb_pipeline_get_auth (self->pipeline));
  gboolean signed_out = g_strcmp0 (state, "signed_out") == 0;
  const GError *error = wb_pipeline_get_last_error (self->pipeline);
  gboolean counting = FALSE;
  g_autofree char *refused = server_error_text (self);

  gtk_stack_set_visible_child_name (self->main_stack, signed_out ? "sign-in" : "main");
  gtk_widget_set_visible (GTK_WIDGET (self->switcher_title), !signed_out);

  /* Not "could not be reached": a refused address or an untrusted certificate, in words. */
  if (g_error_matches (error, WB_ERROR, WB_ERROR_INSECURE_URL)
      || g_error_matches (error, WB_ERROR, WB_ERROR_CERTIFICATE))
    {
      g_autofree char *detail = wb_sign_in_describe_error (error);

      set_status (self, "security-low-symbolic", "wb-offline",
                  g_error_matches (error, WB_ERROR, WB_ERROR_CERTIFICATE)
                  ? _("Certificate not trusted") : _("Unencrypted address refused"),
                  detail, g_error_matches (error, WB_ERROR, WB_ERROR_CERTIFICATE));
    }
  else if (signed_out)
    /* Without an account the app listens on the API key alone, which the server ends daily. */
    set_status (self, "system-users-symbolic", "wb-signed-out", _("Signed out"),
                refused != NULL ? refused
                : _("Sign in for a lasting connection. Without an account only the requests the "
                    "backend announces ring, and the server ends the connection every 24 hours."),
                FALSE);
  else if (wb_pipeline_get_connection_alarm (self->pipeline))
    {
      /* Longer than a reconnect should take: say since when, and why. */
      g_autoptr(GDateTime) since =
        g_date_time_new_from_unix_local (wb_pipeline_get_not_receiving_since (self->pipeline) / G_USEC_PER_SEC);
      g_autofree char *when = since != NULL ? g_date_time_format (since, "%H:%M") : g_strdup ("?");
      /* Translators: %s is a time of day, e.g. 10:42. */
      g_autofree char *title = g_strdup_printf (_("Not receiving requests since %s"), when);
      const char *problem = wb_pipeline_get_problem (self->pipeline);
      /* Translators: the first %s says why (from the server or the network), the second what happens next. */
      g_autofree char *detail = g_strdup_printf (_("%s. %s"), problem != NULL ? problem : _("No connection to the server"),
                                                 _("Requests made meanwhile ring when it is back."));

      set_status (self, "network-offline-symbolic", "wb-offline", title, detail, TRUE);
    }
  else if (g_strcmp0 (state, "subscribed") == 0)
    set_status (self, "network-transmit-receive-symbolic", "wb-connected", _("Connected"),
                NULL, FALSE);
  else if (g_strcmp0 (state, "disconnected") != 0
           || auth == WB_AUTH_STATE_SIGNING_IN || auth == WB_AUTH_STATE_REFRESHING)
    set_status (self, "network-idle-symbolic", "wb-connecting", _("Connecting…"), refused, FALSE);
  else
    {
      gint64 ms = wb_pipeline_get_reconnect_in_ms (self->pipeline);

      if (ms > 0)
        {
          int s = (int) ((ms + 999) / 1000);
          g_autofree char *title =
            g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "Reconnecting in %d s",
                                          "Reconnecting in %d s", (gulong) s), s);

          set_status (self, "network-error-symbolic", "wb-offline", title,
                      refused != NULL ? refused
                      : _("The server could not be reached. Requests are caught up on reconnect."),
                      TRUE);
          counting = TRUE;
        }
      else
        set_status (self, "network-error-symbolic", "wb-offline", _("Server unreachable"),
                    _("Check the network and the backend address in Preferences."), TRUE);
    }

  if (counting && self->countdown_id == 0)
    self->countdown_id = g_timeout_add_seconds (1, countdown_cb, self);
  else if (!counting)
    g_clear_handle_id (&self->countdown_id, g_source_remove);
}

static gboolean
countdown_cb (gpointer user_data)
{
  WbWindow *self = user_data;

  self->countdown_id = 0;
  update_status (self);
  return G_SOURCE_REMOVE;
}

void
wb_window_show_assignment (WbWindow   *self,
                           const char *assignment_id)
{
  g_return_if_fail (WB_IS_WINDOW (self));

  adw_view_stack_set_visible_child_name (self->view_stack, "queue");
  wb_queue_view_show_assignment (self->queue_view, assignment_id);
}

void
wb_window_show_page (WbWindow   *self,
                     const char *page)
{
  g_return_if_fail (WB_IS_WINDOW (self));

  adw_view_stack_set_visible_child_name (self->view_stack, page);
}

/* ---- window ---------------------------------------------------------------------------------- */

AdwToastOverlay *
wb_window_get_toast_overlay (WbWindow *self)
{
  g_return_val_if_fail (WB_IS_WINDOW (self), NULL);

  return self->toast_overlay;
}

void
wb_window_show_message (WbWindow   *self,
                        const char *text)
{
  g_autofree char *escaped = NULL;

  g_return_if_fail (WB_IS_WINDOW (self));

  /* AdwToast titles are markup. */
  escaped = g_markup_escape_text (text, -1);
  adw_toast_overlay_add_toast (self->toast_overlay, adw_toast_new (escaped));
}

static void
on_signed_in_cb (WbWindow   *self,
                 const char *email)
{
  g_autofree char *text = NULL;

  if (self->settings != NULL)
    g_object_set (self->settings, "account-email", email, NULL);
  /* Translators: %s is an e-mail address. */
  text = g_strdup_printf (_("Signed in as %s"), email);
  wb_window_show_message (self, text);
}

static void
save_size (WbWindow *self)
{
  int width, height;

  if (self->settings == NULL)
    return;
  gtk_window_get_default_size (GTK_WINDOW (self), &width, &height);
  g_object_set (self->settings,
                "window-maximized", gtk_window_is_maximized (GTK_WINDOW (self)),
                NULL);
  if (!gtk_window_is_maximized (GTK_WINDOW (self)) && width > 0 && height > 0)
    g_object_set (self->settings, "window-width", width, "window-height", height, NULL);
}

static gboolean
wb_window_close_request (GtkWindow *window)
{
  WbWindow *self = WB_WINDOW (window);
  gboolean background = TRUE;

  save_size (self);
  if (self->settings != NULL)
    g_object_get (self->settings, "run-in-background", &background, NULL);
  if (background)
    {
      /* Keep listening: the tray, the sound and the notifications go on. */
      gtk_widget_set_visible (GTK_WIDGET (self), FALSE);
      return TRUE;
    }
  gtk_widget_activate_action (GTK_WIDGET (self), "app.quit", NULL);
  return GTK_WINDOW_CLASS (wb_window_parent_class)->close_request (window);
}

static void
wb_window_constructed (GObject *object)
{
  WbWindow *self = WB_WINDOW (object);

  G_OBJECT_CLASS (wb_window_parent_class)->constructed (object);

  self->sign_in = WB_SIGN_IN (wb_sign_in_new (wb_pipeline_get_auth (self->pipeline)));
  adw_bin_set_child (self->sign_in_bin, GTK_WIDGET (self->sign_in));
  g_signal_connect_object (self->sign_in, "signed-in", G_CALLBACK (on_signed_in_cb), self,
                           G_CONNECT_SWAPPED);

  if (self->settings != NULL)
    {
      int width = 0, height = 0;
      gboolean maximized = FALSE;

      g_object_get (self->settings, "window-width", &width, "window-height", &height,
                    "window-maximized", &maximized, NULL);
      gtk_window_set_default_size (GTK_WINDOW (self), width, height);
      if (maximized)
        gtk_window_maximize (GTK_WINDOW (self));
      g_object_bind_property (self->settings, "account-email", self->sign_in, "email",
                              G_BINDING_SYNC_CREATE);
    }
  if (self->tray != NULL)
    g_object_bind_property (self->tray, "title-count", self, "title", G_BINDING_SYNC_CREATE);

  g_signal_connect_object (self->pipeline, "state-changed", G_CALLBACK (update_status), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (wb_pipeline_get_auth (self->pipeline), "notify::state",
                           G_CALLBACK (update_status), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->pipeline, "connection-alarm", G_CALLBACK (update_status), self,
                           G_CONNECT_SWAPPED);
  wb_queue_view_set_pipeline (self->queue_view, self->pipeline, self->settings);

  self->health_view = WB_HEALTH_VIEW (wb_health_view_new (self->pipeline));
  gtk_box_append (self->health_box, GTK_WIDGET (self->health_view));
  update_status (self);
}

static void
wb_window_get_property (GObject    *object,
                        guint       prop_id,
                        GValue     *value,
                        GParamSpec *pspec)
{
  WbWindow *self = WB_WINDOW (object);

  switch (prop_id)
    {
    case PROP_PIPELINE:
      g_value_set_object (value, self->pipeline);
      break;
    case PROP_TRAY:
      g_value_set_object (value, self->tray);
      break;
    case PROP_SETTINGS:
      g_value_set_object (value, self->settings);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
wb_window_set_property (GObject      *object,
                        guint         prop_id,
                        const GValue *value,
                        GParamSpec   *pspec)
{
  WbWindow *self = WB_WINDOW (object);

  switch (prop_id)
    {
    case PROP_PIPELINE:
      self->pipeline = g_value_dup_object (value);
      break;
    case PROP_TRAY:
      self->tray = g_value_dup_object (value);
      break;
    case PROP_SETTINGS:
      self->settings = g_value_dup_object (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
wb_window_dispose (GObject *object)
{
  WbWindow *self = WB_WINDOW (object);

  g_clear_handle_id (&self->countdown_id, g_source_remove);
  gtk_widget_dispose_template (GTK_WIDGET (self), WB_TYPE_WINDOW);
  g_clear_object (&self->pipeline);
  g_clear_object (&self->tray);
  g_clear_object (&self->settings);

  G_OBJECT_CLASS (wb_window_parent_class)->dispose (object);
}

static void
wb_window_class_init (WbWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  GtkWindowClass *window_class = GTK_WINDOW_CLASS (klass);

  object_class->constructed = wb_window_constructed;
  object_class->dispose = wb_window_dispose;
  object_class->get_property = wb_window_get_property;
  object_class->set_property = wb_window_set_property;
  window_class->close_request = wb_window_close_request;

  properties[PROP_PIPELINE] =
    g_param_spec_object ("pipeline", NULL, NULL, WB_TYPE_PIPELINE,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_TRAY] =
    g_param_spec_object ("tray", NULL, NULL, WB_TYPE_ALERT_TRAY,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_SETTINGS] =
    g_param_spec_object ("settings", NULL, NULL, WB_TYPE_SETTINGS,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/wrenchbell/Wrenchbell/wb-window.ui");
  gtk_widget_class_bind_template_child (widget_class, WbWindow, health_box);
  gtk_widget_class_bind_template_child (widget_class, WbWindow, main_stack);
  gtk_widget_class_bind_template_child (widget_class, WbWindow, queue_view);
  gtk_widget_class_bind_template_child (widget_class, WbWindow, retry_button);
  gtk_widget_class_bind_template_child (widget_class, WbWindow, sign_in_bin);
  gtk_widget_class_bind_template_child (widget_class, WbWindow, status_bar);
  gtk_widget_class_bind_template_child (widget_class, WbWindow, status_detail_label);
  gtk_widget_class_bind_template_child (widget_class, WbWindow, status_icon);
  gtk_widget_class_bind_template_child (widget_class, WbWindow, status_label);
  gtk_widget_class_bind_template_child (widget_class, WbWindow, switcher_title);
  gtk_widget_class_bind_template_child (widget_class, WbWindow, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, WbWindow, view_stack);
}

static void
wb_window_init (WbWindow *self)
{
  g_type_ensure (WB_TYPE_SIGN_IN);
  g_type_ensure (WB_TYPE_QUEUE_VIEW);
  gtk_widget_init_template (GTK_WIDGET (self));
}

WbWindow *
wb_window_new (AdwApplication *application,
               WbPipeline     *pipeline,
               WbAlertTray    *tray,
               WbSettings     *settings)
{
  return g_object_new (WB_TYPE_WINDOW,
                       "application", application,
                       "pipeline", pipeline,
                       "tray", tray,
                       "settings", settings,
                       NULL);
}
