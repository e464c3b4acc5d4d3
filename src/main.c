/* SPDX-License-Identifier: GPL-3.0-or-later */
/* main.c: the command line: --status, --accept and --headless here, the rest to the window app. */

#define G_LOG_DOMAIN "wrenchbell"

#include "config.h"

#include <glib/gi18n.h>
#include <gst/gst.h>
#include <locale.h>
#include <stdlib.h>
#include <string.h>

#include "wb-accept-service.h"
#include "wb-alert-wiring.h"
#include "wb-config.h"
#include "wb-event-normaliser.h"
#include "wb-headless.h"
#include "wb-json.h"
#include "wb-settings.h"
#include "wb-startup-times.h"
#include "wb-status-service.h"
#include "wb-ui.h"
#include "wb-untrusted-text.h"

static int
run_status (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GDBusConnection) bus = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, &error);
  g_autofree char *json = NULL;
  g_auto(GStrv) lines = NULL;

  if (bus != NULL)
    json = wb_status_query (bus, &error);
  if (json == NULL)
    {
      g_autofree char *why = wb_untrusted_text_for_terminal (error->message);

      g_printerr ("wrenchbell: no running instance (%s)\n", why);
      return 1;
    }
  /* Whoever owns the bus name answered: nothing it sends acts on the terminal. Line by line, so
   * the pretty-printed JSON keeps its line breaks (inside its strings they are escapes already)
   * and stays JSON: what the escaper writes there (\uXXXX) is a JSON escape too. */
  lines = g_strsplit (json, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_autofree char *safe = wb_untrusted_text_for_terminal (lines[i]);

      g_print ("%s\n", safe);
    }
  return 0;
}

/* Prints the outcome as JSON (always one object on standard output, also for failures, so scripts
 * can read it) and exits 0 won, 3 taken by someone else, 4 no longer queued, 1 anything else. */
static int
run_accept (const char *assignment_id)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GDBusConnection) bus = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, &error);
  g_autofree char *json = NULL;
  g_autofree char *safe = NULL;
  g_autoptr(JsonNode) node = NULL;
  JsonObject *obj;
  const char *outcome;
  static const struct { const char *name; WbAcceptResult result; } outcomes[] = {
    { "won", WB_ACCEPT_WON }, { "taken", WB_ACCEPT_TAKEN }, { "gone", WB_ACCEPT_GONE },
  };

  if (bus != NULL)
    json = wb_accept_service_call (bus, assignment_id, &error);
  if (json != NULL)
    node = wb_json_parse (json, strlen (json), 4, NULL);   /* another process's answer */
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    {
      g_autoptr(WbAcceptOutcome) failed = g_new0 (WbAcceptOutcome, 1);
      g_autofree char *text = NULL;

      if (error != NULL)
        g_dbus_error_strip_remote_error (error);
      failed->result = WB_ACCEPT_FAILED;
      failed->assignment_id = wb_event_one_line (assignment_id, 40);
      failed->message = g_strdup_printf ("no running instance answered (%s)",
                                         error != NULL ? error->message : "no answer");
      g_clear_pointer (&node, json_node_unref);
      node = wb_accept_outcome_to_json (failed);
      text = json_to_string (node, FALSE);
      safe = wb_untrusted_text_for_terminal (text);
      g_print ("%s\n", safe);
      g_clear_pointer (&safe, g_free);
      safe = wb_untrusted_text_for_terminal (failed->message);
      g_printerr ("wrenchbell: %s\n", safe);
      return wb_accept_result_exit_code (WB_ACCEPT_FAILED);
    }
  /* Whoever owns the bus name answered: nothing it sends acts on the terminal. */
  safe = wb_untrusted_text_for_terminal (json);
  g_print ("%s\n", safe);
  obj = json_node_get_object (node);
  outcome = json_object_get_string_member_with_default (obj, "outcome", "failed");
  for (guint i = 0; i < G_N_ELEMENTS (outcomes); i++)
    if (g_strcmp0 (outcome, outcomes[i].name) == 0)
      return wb_accept_result_exit_code (outcomes[i].result);
  return wb_accept_result_exit_code (WB_ACCEPT_FAILED);
}

int
main (int   argc,
      char *argv[])
{
  gboolean headless = FALSE, status = FALSE, quiet = FALSE, version = FALSE;
  g_autofree char *accept_id = NULL;
  gboolean accept = FALSE;
  g_autofree char *alert_log = NULL;
  g_autofree char *state_dir = NULL;
  WbConfigOverrides cli = { 0 };
  int rc;
  /* Options of the headless and status modes; the window app parses its own (see wb-ui.c). */
  GOptionEntry entries[] = {
    { "headless", 0, 0, G_OPTION_ARG_NONE, &headless, N_("Run without a window: every tier but the toast"), NULL },
    { "status", 0, 0, G_OPTION_ARG_NONE, &status, N_("Print the running instance's health as JSON"), NULL },
    { "accept", 0, 0, G_OPTION_ARG_STRING, &accept_id, N_("Take the request ASSIGNMENT_ID in the running instance; prints the outcome as JSON"), N_("ASSIGNMENT_ID") },
    { "alert-log", 0, 0, G_OPTION_ARG_FILENAME, &alert_log, N_("Append every alert to FILE as a JSON line"), N_("FILE") },
    { "url", 0, 0, G_OPTION_ARG_STRING, &cli.url, N_("Supabase project URL"), N_("URL") },
    { "publishable-key", 0, 0, G_OPTION_ARG_STRING, &cli.publishable_key, N_("Supabase publishable key (sb_publishable_…)"), N_("KEY") },
    { "anon-key", 0, 0, G_OPTION_ARG_STRING, &cli.anon_key, N_("Supabase publishable key, or the legacy anon key"), N_("KEY") },
    { "email", 0, 0, G_OPTION_ARG_STRING, &cli.email, N_("Mechanic account e-mail"), N_("EMAIL") },
    { "topic", 0, 0, G_OPTION_ARG_STRING, &cli.topic, N_("Broadcast topic"), N_("TOPIC") },
    { "allow-insecure-http", 0, 0, G_OPTION_ARG_NONE, &cli.allow_insecure_http, N_("Allow an unencrypted http:// backend on another machine (the password and tokens cross the network readable)"), NULL },
    { "state-dir", 0, 0, G_OPTION_ARG_FILENAME, &state_dir, N_("Where the dedupe set is kept"), N_("DIR") },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, N_("Do not print alerts on standard output"), NULL },
    { "version", 0, 0, G_OPTION_ARG_NONE, &version, N_("Print the version"), NULL },
    { NULL }
  };

  wb_startup_times_mark ("main");
  /* Before anything could start a thread or a child process: WRENCHBELL_PASSWORD leaves the
   * environment (and its bytes the environment block); the config keeps the value. */
  wb_config_take_environment ();

  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  /* Only --headless, --status and --accept are decided here; anything else is the window app's. */
  for (int i = 1; i < argc; i++)
    {
      if (g_strcmp0 (argv[i], "--headless") == 0)
        headless = TRUE;
      else if (g_strcmp0 (argv[i], "--status") == 0)
        status = TRUE;
      else if (g_strcmp0 (argv[i], "--accept") == 0 || g_str_has_prefix (argv[i], "--accept="))
        accept = TRUE;
    }

  if (!headless && !status && !accept)
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
  if (accept)
    {
      if (accept_id == NULL || *accept_id == '\0')
        {
          g_printerr ("wrenchbell: --accept needs an assignment id\n");
          return 2;
        }
      return run_accept (accept_id);
    }

  {
    WbPipelineConfig config = { 0 };
    g_autoptr(WbSettings) settings = wb_settings_new_if_available ();

    g_autoptr(GError) error = NULL;

    gst_init (NULL, NULL);
    wb_config_resolve (&config, &cli, settings);
    wb_config_forget_environment ();
    if (!wb_config_check (&config, &error))
      {
        g_printerr ("wrenchbell: %s\n", error->message);
        /* A key no workstation may hold must not stay in the settings either. */
        if (wb_config_key_from_settings (&config, &cli, settings))
          {
            wb_settings_forget_api_key (settings);
            g_printerr ("wrenchbell: the key was removed from the settings\n");
          }
        wb_pipeline_config_clear (&config);
        wb_config_overrides_clear (&cli);
        return 2;
      }
    if (state_dir != NULL)
      config.dedupe_path = g_build_filename (state_dir, "dedupe-set.json", NULL);
    rc = wb_headless_run (&config, alert_log, quiet);
    wb_pipeline_config_clear (&config);
  }
  wb_config_overrides_clear (&cli);
  return rc;
}
