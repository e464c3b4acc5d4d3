#define G_LOG_DOMAIN "wb-ui"

#include "config.h"

#include <adwaita.h>
#include <glib/gi18n.h>
#include <gst/gst.h>

#include "wb-alert-wiring.h"
#include "wb-config.h"
#include "wb-ui.h"

/* The window app. This first cut shows the connection state, the queue and the toasts; the
 * application, window, rows, preferences and sign-in get their own files as they grow. */

typedef struct
{
  AdwApplication   *app;
  WbPipeline       *pipeline;
  WbAlertWiring    *alerts;
  WbSettings       *settings;
  GtkWindow        *window;
  GtkLabel         *state_label;
  GtkListBox       *queue;
  gboolean          background;
} Ui;

static void
refresh_queue (Ui *ui)
{
  g_autoptr(GPtrArray) open = NULL;
  GtkWidget *child;

  if (ui->queue == NULL)
    return;
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (ui->queue))) != NULL)
    gtk_list_box_remove (ui->queue, child);
  open = wb_pipeline_list_open (ui->pipeline);
  for (guint i = 0; i < open->len; i++)
    {
      const WbAlertRecord *r = g_ptr_array_index (open, i);
      g_autofree char *summary = wb_alert_record_summary_line (r);
      GtkWidget *row = adw_action_row_new ();

      /* Rows are not markup: what the customer typed is shown literally. */
      adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), wb_alert_record_title (r));
      adw_action_row_set_subtitle (ADW_ACTION_ROW (row), summary ? summary : "");
      gtk_list_box_append (ui->queue, row);
    }
}

static void
refresh_state (Ui *ui)
{
  if (ui->state_label != NULL)
    gtk_label_set_text (ui->state_label, wb_pipeline_get_state (ui->pipeline));
}

static void
on_alert_cb (WbPipeline    *pipeline,
             WbAlertRecord *record,
             Ui            *ui)
{
  wb_alert_dispatcher_dispatch (ui->alerts->dispatcher, record, NULL, NULL);
}

static void
on_record_done_cb (WbAlertDispatcher *dispatcher,
                   WbAlertRecord     *record,
                   Ui                *ui)
{
  wb_pipeline_record_alerted (ui->pipeline, record);
}

static void
build_window (Ui *ui)
{
  GtkWidget *window = adw_application_window_new (GTK_APPLICATION (ui->app));
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);
  GtkWidget *header = adw_header_bar_new ();
  GtkWidget *overlay = adw_toast_overlay_new ();
  GtkWidget *content = gtk_box_new (GTK_ORIENTATION_VERTICAL, 12);
  GtkWidget *scroller = gtk_scrolled_window_new ();

  gtk_window_set_title (GTK_WINDOW (window), _("Wrenchbell"));
  gtk_window_set_default_size (GTK_WINDOW (window), 640, 520);
  ui->state_label = GTK_LABEL (gtk_label_new (NULL));
  ui->queue = GTK_LIST_BOX (gtk_list_box_new ());
  gtk_widget_add_css_class (GTK_WIDGET (ui->queue), "boxed-list");
  gtk_list_box_set_selection_mode (ui->queue, GTK_SELECTION_NONE);
  gtk_widget_set_margin_start (content, 12);
  gtk_widget_set_margin_end (content, 12);
  gtk_widget_set_margin_top (content, 12);
  gtk_box_append (GTK_BOX (content), GTK_WIDGET (ui->state_label));
  gtk_box_append (GTK_BOX (content), GTK_WIDGET (ui->queue));
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (scroller), content);
  gtk_widget_set_vexpand (scroller, TRUE);
  adw_toast_overlay_set_child (ADW_TOAST_OVERLAY (overlay), scroller);
  gtk_box_append (GTK_BOX (box), header);
  gtk_box_append (GTK_BOX (box), overlay);
  adw_application_window_set_content (ADW_APPLICATION_WINDOW (window), box);
  gtk_window_set_hide_on_close (GTK_WINDOW (window), TRUE);

  wb_alert_toast_set_overlay (ui->alerts->toast, ADW_TOAST_OVERLAY (overlay));
  ui->window = GTK_WINDOW (window);
  refresh_state (ui);
  refresh_queue (ui);
}

static void
activate_cb (GApplication *app,
             Ui           *ui)
{
  if (ui->window == NULL)
    build_window (ui);
  if (!ui->background)
    gtk_window_present (ui->window);
  ui->background = FALSE;
}

static void
startup_cb (GApplication *app,
            Ui           *ui)
{
  WbConfigOverrides cli = { 0 };
  WbPipelineConfig config = { 0 };
  GDBusConnection *bus = g_application_get_dbus_connection (app);

  ui->settings = wb_settings_new_if_available ();
  wb_config_resolve (&config, &cli, ui->settings);
  ui->pipeline = wb_pipeline_new (&config);
  wb_pipeline_config_clear (&config);
  ui->alerts = wb_alert_wiring_new (ui->settings, wb_pipeline_get_flags (ui->pipeline), bus);
  g_signal_connect (ui->pipeline, "alert", G_CALLBACK (on_alert_cb), ui);
  g_signal_connect_swapped (ui->pipeline, "queue-changed", G_CALLBACK (refresh_queue), ui);
  g_signal_connect_swapped (ui->pipeline, "state-changed", G_CALLBACK (refresh_state), ui);
  g_signal_connect (ui->alerts->dispatcher, "record-done", G_CALLBACK (on_record_done_cb), ui);
  g_application_hold (app);
  wb_pipeline_start (ui->pipeline);
}

static void
shutdown_cb (GApplication *app,
             Ui           *ui)
{
  if (ui->pipeline != NULL)
    wb_pipeline_stop (ui->pipeline);
  g_clear_pointer (&ui->alerts, wb_alert_wiring_free);
  g_clear_object (&ui->pipeline);
  g_clear_object (&ui->settings);
}

static int
handle_local_options_cb (GApplication *app,
                         GVariantDict *options,
                         Ui           *ui)
{
  if (g_variant_dict_contains (options, "background"))
    ui->background = TRUE;
  return -1;
}

int
wb_ui_main (int    argc,
            char **argv)
{
  Ui ui = { 0 };
  int rc;
  static const GOptionEntry entries[] = {
    { "background", 0, 0, G_OPTION_ARG_NONE, NULL, N_("Start hidden: tray and notifications only"), NULL },
    { NULL }
  };

  gst_init (NULL, NULL);
  ui.app = adw_application_new (APP_ID, G_APPLICATION_DEFAULT_FLAGS);
  g_application_add_main_option_entries (G_APPLICATION (ui.app), entries);
  g_signal_connect (ui.app, "handle-local-options", G_CALLBACK (handle_local_options_cb), &ui);
  g_signal_connect (ui.app, "startup", G_CALLBACK (startup_cb), &ui);
  g_signal_connect (ui.app, "activate", G_CALLBACK (activate_cb), &ui);
  g_signal_connect (ui.app, "shutdown", G_CALLBACK (shutdown_cb), &ui);
  rc = g_application_run (G_APPLICATION (ui.app), argc, argv);
  g_clear_object (&ui.app);
  return rc;
}
