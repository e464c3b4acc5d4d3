/* floor-window.c: the cold-start floor — the least a libadwaita application does to show a window
 * (AdwApplication, one AdwApplicationWindow with a header bar and a status page). tests/bench/
 * cold-start compiles it and times it beside Wrenchbell the same way: with WB_STARTUP_TIMES set it
 * writes one JSON line, {"mode":"floor","main":µs,"first_frame":µs} (CLOCK_MONOTONIC), once its
 * frame clock has painted the first frame. Not part of the program. */
#include <adwaita.h>

static gint64 main_us;

static void
after_paint_cb (GdkFrameClock *clock,
                gpointer       user_data)
{
  const char *path = g_getenv ("WB_STARTUP_TIMES");
  g_autofree char *line = g_strdup_printf ("{\"mode\":\"floor\",\"main\":%" G_GINT64_FORMAT
                                           ",\"first_frame\":%" G_GINT64_FORMAT "}\n",
                                           main_us, g_get_monotonic_time ());

  g_signal_handlers_disconnect_by_func (clock, after_paint_cb, user_data);
  if (path != NULL && *path != '\0')
    g_file_set_contents (path, line, -1, NULL);
}

static void
realize_cb (GtkWidget *window,
            gpointer   user_data)
{
  g_signal_connect (gtk_widget_get_frame_clock (window), "after-paint", G_CALLBACK (after_paint_cb), NULL);
}

static void
activate_cb (GApplication *app,
             gpointer      user_data)
{
  GtkWidget *window = adw_application_window_new (GTK_APPLICATION (app));
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);
  GtkWidget *status = adw_status_page_new ();

  adw_status_page_set_title (ADW_STATUS_PAGE (status), "Floor");
  adw_status_page_set_icon_name (ADW_STATUS_PAGE (status), "dialog-information-symbolic");
  gtk_widget_set_vexpand (status, TRUE);
  gtk_box_append (GTK_BOX (box), adw_header_bar_new ());
  gtk_box_append (GTK_BOX (box), status);
  adw_application_window_set_content (ADW_APPLICATION_WINDOW (window), box);
  gtk_window_set_default_size (GTK_WINDOW (window), 720, 560);   /* Wrenchbell's default */
  g_signal_connect (window, "realize", G_CALLBACK (realize_cb), NULL);
  gtk_window_present (GTK_WINDOW (window));
}

int
main (int    argc,
      char **argv)
{
  g_autoptr(AdwApplication) app = NULL;

  main_us = g_get_monotonic_time ();
  app = adw_application_new ("io.github.wrenchbell.BenchFloor", G_APPLICATION_DEFAULT_FLAGS);
  g_signal_connect (app, "activate", G_CALLBACK (activate_cb), NULL);
  return g_application_run (G_APPLICATION (app), argc, argv);
}
