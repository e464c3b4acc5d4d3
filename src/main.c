#define G_LOG_DOMAIN "wrenchbell"

#include "config.h"

#include <glib/gi18n.h>
#include <gst/gst.h>
#include <locale.h>
#include <stdlib.h>

#include "wb-alert-wiring.h"
#include "wb-config.h"
#include "wb-headless.h"
#include "wb-status-service.h"
#include "wb-ui.h"
#include "wb-untrusted-text.h"

static int
run_status (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GDBusConnection) bus = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, &error);
  g_autofree char *json = NULL;
  g_autofree char *safe = NULL;

  if (bus != NULL)
    json = wb_status_query (bus, &error);
  if (json == NULL)
    {
      g_autofree char *why = wb_untrusted_text_for_terminal (error->message);

      g_printerr ("wrenchbell: no running instance (%s)\n", why);
      return 1;
    }
  /* Whoever owns the bus name answered: nothing it sends acts on the terminal. */
  safe = wb_untrusted_text_for_terminal (json);
  g_print ("%s\n", safe);
  return 0;
}

int
main (int   argc,
      char *argv[])
{
  gboolean headless = FALSE, status = FALSE, quiet = FALSE, version = FALSE;
  g_autofree char *alert_log = NULL;
  g_autofree char *state_dir = NULL;
  WbConfigOverrides cli = { 0 };
  int rc;
  /* Options of the headless and status modes; the window app parses its own (see wb-ui.c). */
  GOptionEntry entries[] = {
    { "headless", 0, 0, G_OPTION_ARG_NONE, &headless, N_("Run without a window: every tier but the toast"), NULL },
    { "status", 0, 0, G_OPTION_ARG_NONE, &status, N_("Print the running instance's health as JSON"), NULL },
    { "alert-log", 0, 0, G_OPTION_ARG_FILENAME, &alert_log, N_("Append every alert to FILE as a JSON line"), N_("FILE") },
    { "url", 0, 0, G_OPTION_ARG_STRING, &cli.url, N_("Supabase project URL"), N_("URL") },
    { "anon-key", 0, 0, G_OPTION_ARG_STRING, &cli.anon_key, N_("Supabase anon or publishable key"), N_("KEY") },
    { "email", 0, 0, G_OPTION_ARG_STRING, &cli.email, N_("Mechanic account e-mail"), N_("EMAIL") },
    { "topic", 0, 0, G_OPTION_ARG_STRING, &cli.topic, N_("Broadcast topic"), N_("TOPIC") },
    { "allow-insecure-http", 0, 0, G_OPTION_ARG_NONE, &cli.allow_insecure_http, N_("Allow an unencrypted http:// backend on another machine (the password and tokens cross the network readable)"), NULL },
    { "state-dir", 0, 0, G_OPTION_ARG_FILENAME, &state_dir, N_("Where the dedupe set is kept"), N_("DIR") },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, N_("Do not print alerts on standard output"), NULL },
    { "version", 0, 0, G_OPTION_ARG_NONE, &version, N_("Print the version"), NULL },
    { NULL }
  };

  /* Before anything could start a thread or a child process: WRENCHBELL_PASSWORD leaves the
   * environment (and its bytes the environment block); the config keeps the value. */
  wb_config_take_environment ();

  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  /* Only --headless and --status are decided here; anything else is the window app's. */
  for (int i = 1; i < argc; i++)
    {
      if (g_strcmp0 (argv[i], "--headless") == 0)
        headless = TRUE;
      else if (g_strcmp0 (argv[i], "--status") == 0)
        status = TRUE;
    }

  if (!headless && !status)
    return wb_ui_main (argc, argv);

  {
    g_autoptr(GOptionContext) ctx = g_option_context_new (NULL);
    g_autoptr(GError) error = NULL;

    g_option_context_set_translation_domain (ctx, GETTEXT_PACKAGE);
    g_option_context_add_main_entries (ctx, entries, GETTEXT_PACKAGE);
    g_option_context_add_group (ctx, gst_init_get_option_group ());
    if (!g_option_context_parse (ctx, &argc, &argv, &error))
      {
        g_printerr ("wrenchbell: %s\n", error->message);
        return 2;
      }
  }

  if (version)
    {
      g_print ("wrenchbell %s\n", PACKAGE_VERSION);
      return 0;
    }
  if (status)
    return run_status ();

  {
    WbPipelineConfig config = { 0 };
    g_autoptr(WbSettings) settings = wb_settings_new_if_available ();

    gst_init (NULL, NULL);
    wb_config_resolve (&config, &cli, settings);
    if (state_dir != NULL)
      config.dedupe_path = g_build_filename (state_dir, "dedupe-set.json", NULL);
    rc = wb_headless_run (&config, alert_log, quiet);
    wb_pipeline_config_clear (&config);
  }
  wb_config_overrides_clear (&cli);
  return rc;
}
