/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-headless.c: `wrenchbell --headless`: the whole pipeline and every tier but the toast, no
 * display. */

#define G_LOG_DOMAIN "wb-headless"

#include "config.h"

#include <glib-unix.h>
#include <stdio.h>

#include "wb-accept-service.h"
#include "wb-alert-log.h"
#include "wb-alert-wiring.h"
#include "wb-config.h"
#include "wb-dbus-object.h"
#include "wb-event-normaliser.h"
#include "wb-headless.h"
#include "wb-json.h"
#include "wb-settings.h"
#include "wb-startup-times.h"
#include "wb-status-service.h"
#include "wb-untrusted-text.h"

typedef struct
{
  GMainLoop        *loop;
  WbPipeline       *pipeline;
  WbAlertWiring    *alerts;
  WbAlertLog       *log;          /* (nullable) */
  WbStatusService  *status;
  WbAcceptService  *accept;       /* `wrenchbell --accept` */
  WbSettings       *settings;     /* (nullable) */
  GDBusConnection  *bus;          /* (nullable) */
  guint             name_id;
  gboolean          quiet;
  int               exit_code;
  guint             in_flight;     /* alerts handed to the tiers whose log line is not written yet */
  gboolean          quitting;
  guint             drain_id;
  guint             stall_id;      /* WB_MEASURE_STALLS: main-loop lateness probe (benchmarks) */
  gint64            stall_due_us;
  gint64            max_stall_us;
  char             *last_error;    /* (owned) (nullable) the last one printed on stderr */
  gint64            started_us;    /* cold-start benchmark: monotonic time wb_headless_run began */
  gint64            subscribed_us; /* …and the first time the pipeline reported "subscribed" */
} Headless;

#define STALL_PROBE_MS 10

/* Benchmarks only (it wakes the process every 10 ms): how late the main loop runs a timer. */
static gboolean
stall_probe_cb (gpointer user_data)
{
  Headless *h = user_data;
  gint64 now = g_get_monotonic_time ();

  if (h->stall_due_us > 0)
    h->max_stall_us = MAX (h->max_stall_us, now - h->stall_due_us);
  h->stall_due_us = now + STALL_PROBE_MS * 1000;
  return G_SOURCE_CONTINUE;
}

/* Every line this runner writes goes through here. Customer and server text are in it, so
 * whatever could act on a terminal (ESC, CSI, OSC 52, C1, bidi controls, invalid UTF-8) is written
 * as a visible escape (wb_untrusted_text_for_terminal ()) — whether or not the stream is a TTY:
 * output sent to a file or a journal is shown on one later. */
static void G_GNUC_PRINTF (2, 3)
say (gboolean    to_stderr,
     const char *format,
     ...)
{
  g_autofree char *line = NULL;
  g_autofree char *safe = NULL;
  va_list args;

  va_start (args, format);
  line = g_strdup_vprintf (format, args);
  va_end (args);
  safe = wb_untrusted_text_for_terminal (line);
  if (to_stderr)
    g_printerr ("%s\n", safe);
  else
    g_print ("%s\n", safe);
}

static char *
status_json_cb (gpointer user_data)
{
  Headless *h = user_data;
  g_autoptr(JsonNode) node = wb_health_to_json (wb_pipeline_get_health (h->pipeline));
  JsonObject *obj = json_node_get_object (node);

  json_object_set_int_member (obj, "detail_fetches_max_in_flight",
                              wb_pipeline_get_max_fetches_in_flight (h->pipeline));
  json_object_set_int_member (obj, "detail_fetch_largest_batch",
                              wb_pipeline_get_largest_detail_batch (h->pipeline));
  wb_alert_wiring_add_status (h->alerts, obj);
  if (h->stall_id != 0)
    json_object_set_double_member (obj, "main_loop_max_stall_ms", h->max_stall_us / 1000.0);
  /* tests/bench/cold-start: start → first subscription, and its CLOCK_MONOTONIC time (the
   * benchmark compares it with its own clock taken when it launched the process). */
  if (h->subscribed_us != 0)
    {
      json_object_set_double_member (obj, "subscribed_after_ms",
                                     (h->subscribed_us - h->started_us) / 1000.0);
      json_object_set_int_member (obj, "subscribed_monotonic_us", h->subscribed_us);
    }
  return wb_json_to_string (node);
}

/* Why the pipeline cannot connect (a refused http:// address, an untrusted certificate, a failed
 * sign-in) goes to stderr once each time it changes; --status shows it as last_error. */
static void
print_last_error (Headless *h)
{
  const GError *error = wb_pipeline_get_last_error (h->pipeline);

  if (error == NULL || g_strcmp0 (error->message, h->last_error) == 0)
    return;
  g_free (h->last_error);
  h->last_error = g_strdup (error->message);
  /* The message may quote a server: through say (), like every line. */
  say (TRUE, "wrenchbell: %s", error->message);
}

static void
on_state_changed_cb (WbPipeline *pipeline,
                     gpointer    user_data)
{
  Headless *h = user_data;

  /* Cold-start benchmark: remember when the pipeline first reached "subscribed". */
  if (h->subscribed_us == 0 && g_strcmp0 (wb_pipeline_get_state (pipeline), "subscribed") == 0)
    {
      h->subscribed_us = g_get_monotonic_time ();
      wb_startup_times_mark ("subscribed");
    }
  print_last_error (h);
}

static void
print_record (Headless            *h,
              const WbAlertRecord *r)
{
  g_autofree char *summary = NULL;

  if (h->quiet)
    return;
  summary = wb_alert_record_summary_line (r);
  if (r->kind == WB_ALERT_KIND_WITHDRAW)
    {
      /* Names come from the server: one clean line, never raw to the terminal. */
      g_autofree char *taker = r->taken_by_me ? g_strdup ("you")
                               : r->taken_by != NULL ? wb_event_one_line (r->taken_by, 80) : NULL;

      say (FALSE, "%-8s %s  [%s%s%s]", wb_alert_kind_to_string (r->kind), wb_alert_record_title (r),
           r->reason != NULL ? r->reason : "ended", taker != NULL ? " by " : "",
           taker != NULL ? taker : "");
      return;
    }
  say (FALSE, "%-8s %s%s%s%s  [%s, %s details, %.1f ms]",
       wb_alert_kind_to_string (r->kind),
       r->urgent ? "URGENT " : "",
       wb_alert_record_title (r),
       summary ? " — " : "", summary ? summary : "",
       r->source, r->details_full ? "full" : "fallback",
       wb_alert_record_latency_ms (r));
  fflush (stdout);
}

/* Every tier has answered (or run out of time): log the line, count it. */
static void
on_record_done_cb (WbAlertDispatcher *dispatcher,
                   WbAlertRecord     *record,
                   gpointer           user_data)
{
  Headless *h = user_data;
  g_autoptr(GError) error = NULL;

  wb_pipeline_record_alerted (h->pipeline, record);
  if (h->log != NULL && !wb_alert_log_append (h->log, record, &error))
    say (TRUE, "wrenchbell: %s", error->message);
  print_record (h, record);
  /* Reminders and escalations are the dispatcher's own: the pipeline never handed them over. */
  if (record->kind != WB_ALERT_KIND_REPEAT && record->kind != WB_ALERT_KIND_ESCALATE && h->in_flight > 0)
    h->in_flight--;
  if (h->quitting && h->in_flight == 0)
    g_main_loop_quit (h->loop);
}

static void
on_pipeline_alert_cb (WbPipeline    *pipeline,
                      WbAlertRecord *record,
                      gpointer       user_data)
{
  Headless *h = user_data;

  h->in_flight++;
  wb_alert_dispatcher_dispatch (h->alerts->dispatcher, record, NULL, NULL);
}

static void
on_tier_failed_cb (WbAlertDispatcher *dispatcher,
                   guint              tier,
                   const char        *reason,
                   gpointer           user_data)
{
  Headless *h = user_data;

  g_debug ("%s tier failed: %s", wb_tier_to_string (tier), reason);
  (void) h;
}

static void
on_signed_out_cb (WbAuth     *auth,
                  const char *message,
                  gpointer    user_data)
{
  Headless *h = user_data;

  say (TRUE, "wrenchbell: signed out: %s", message);
  h->exit_code = 3;
}

static char *
dashboard_url_cb (gpointer user_data)
{
  Headless *h = user_data;

  return wb_config_dashboard_url (h->settings);
}

static gboolean
drain_timeout_cb (gpointer user_data)
{
  Headless *h = user_data;

  h->drain_id = 0;
  g_main_loop_quit (h->loop);
  return G_SOURCE_REMOVE;
}

/* SIGINT/SIGTERM: let alerts already handed to the tiers finish and reach the log (each tier has
 * its own deadline), so a ring is never left out of the log; then stop. */
static gboolean
quit_cb (gpointer user_data)
{
  Headless *h = user_data;

  if (h->quitting || h->in_flight == 0)
    {
      g_main_loop_quit (h->loop);
      return G_SOURCE_CONTINUE;
    }
  h->quitting = TRUE;
  h->drain_id = g_timeout_add (3000, drain_timeout_cb, h);
  return G_SOURCE_CONTINUE;
}

static void
name_lost_cb (GDBusConnection *connection,
              const char      *name,
              gpointer         user_data)
{
  g_debug ("bus name %s not owned: --status will not find this instance", name);
}

int
wb_headless_run (const WbPipelineConfig *config,
                 const char             *alert_log_path,
                 gboolean                quiet)
{
  Headless h = { 0 };
  g_autoptr(GError) error = NULL;
  guint sigint, sigterm;

  h.started_us = g_get_monotonic_time ();
  {
    static const char *const awaited[] = { "subscribed", "tiers_ready", NULL };

    wb_startup_times_begin ("headless", awaited);
  }
  h.quiet = quiet;
  if (alert_log_path != NULL)
    {
      h.log = wb_alert_log_new (alert_log_path, &error);
      if (h.log == NULL)
        {
          say (TRUE, "wrenchbell: %s", error->message);
          return 2;
        }
    }

  h.bus = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, &error);
  if (h.bus == NULL)
    {
      g_debug ("no session bus (%s): notifications, tray and --status are unavailable",
               error->message);
      g_clear_error (&error);
    }

  h.settings = wb_settings_new_if_available ();
  h.loop = g_main_loop_new (NULL, FALSE);
  h.pipeline = wb_pipeline_new (config);
  h.alerts = wb_alert_wiring_new (h.settings, wb_pipeline_get_flags (h.pipeline), h.bus);
  wb_alert_wiring_connect_pipeline (h.alerts, h.pipeline);
  wb_startup_times_mark ("tiers_ready");
  g_signal_connect (h.alerts->dispatcher, "record-done", G_CALLBACK (on_record_done_cb), &h);
  g_signal_connect (h.alerts->dispatcher, "tier-failed", G_CALLBACK (on_tier_failed_cb), &h);
  g_signal_connect (h.pipeline, "alert", G_CALLBACK (on_pipeline_alert_cb), &h);
  g_signal_connect (h.pipeline, "state-changed", G_CALLBACK (on_state_changed_cb), &h);
  g_signal_connect (wb_pipeline_get_auth (h.pipeline), "signed-out", G_CALLBACK (on_signed_out_cb), &h);

  h.status = wb_status_service_new (status_json_cb, &h);
  h.accept = wb_accept_service_new (dashboard_url_cb, &h);
  wb_accept_service_set_pipeline (h.accept, h.pipeline);
  if (h.bus != NULL)
    {
      if (!wb_status_service_export (h.status, h.bus, &error))
        {
          g_debug ("status not exported: %s", error->message);
          g_clear_error (&error);
        }
      if (!wb_accept_service_export (h.accept, h.bus, &error))
        {
          g_debug ("accept not exported: %s", error->message);
          g_clear_error (&error);
        }
      h.name_id = g_bus_own_name_on_connection (h.bus, WB_BUS_NAME,
                                                G_BUS_NAME_OWNER_FLAGS_NONE,
                                                NULL, name_lost_cb, NULL, NULL);
    }

  if (g_getenv ("WB_MEASURE_STALLS") != NULL)
    h.stall_id = g_timeout_add_full (G_PRIORITY_HIGH, STALL_PROBE_MS, stall_probe_cb, &h, NULL);

  sigint = g_unix_signal_add (SIGINT, quit_cb, &h);
  sigterm = g_unix_signal_add (SIGTERM, quit_cb, &h);

  if (config->email == NULL && config->refresh_token == NULL)
    say (TRUE, "wrenchbell: no account: listening on the API key alone (announced requests only, "
         "and the server ends such a connection every 24 hours); set WRENCHBELL_EMAIL and "
         "WRENCHBELL_PASSWORD (or --email) for a lasting connection");
  if (!quiet)
    say (FALSE, "Wrenchbell %s listening on %s (topic %s, %s key, Realtime %s)", PACKAGE_VERSION,
         config->url, config->topic,
         wb_health_get_text (wb_pipeline_get_health (h.pipeline), WB_HEALTH_TEXT_API_KEY),
         wb_health_get_text (wb_pipeline_get_health (h.pipeline), WB_HEALTH_TEXT_REALTIME_VSN));
  wb_pipeline_start (h.pipeline);
  print_last_error (&h);
  g_main_loop_run (h.loop);

  g_clear_handle_id (&h.stall_id, g_source_remove);
  g_clear_handle_id (&h.drain_id, g_source_remove);
  g_source_remove (sigint);
  g_source_remove (sigterm);
  wb_pipeline_stop (h.pipeline);
  if (h.name_id != 0)
    g_bus_unown_name (h.name_id);
  g_clear_object (&h.status);
  g_clear_object (&h.accept);
  g_clear_pointer (&h.alerts, wb_alert_wiring_free);
  g_clear_object (&h.pipeline);
  g_clear_object (&h.log);
  g_clear_object (&h.settings);
  g_clear_object (&h.bus);
  g_free (h.last_error);
  g_main_loop_unref (h.loop);
  return h.exit_code;
}
