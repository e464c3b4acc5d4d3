/* test-broadcast-confirm.c: a public broadcast is only a hint (issue 10). WbPipeline against a
 * scripted PostgREST: a queued row the database knows rings once with the broadcast's text; an id
 * it does not know, or a row not queued, never rings and counts as broadcasts_rejected; a 503 rings
 * after the detail budget without the broadcast's words (and the catch-up settles it); a flood keeps at most 16 confirmations in
 * flight and drops the rest. */
#include "config.h"

#include <glib/gstdio.h>

#include "wb-event-normaliser.h"
#include "wb-fake-phoenix.h"
#include "wb-fake-rest.h"
#include "wb-pipeline-private.h"

#define APIKEY   "anon-key-for-tests-0123456789"
#define QUEUED   "0a5a1b2c-3d4e-4f50-8a6b-7c8d9e0f1a2b"
#define ACCEPTED "1b6b2c3d-4e5f-4061-9b7c-8d9e0f1a2b3c"
#define UNKNOWN  "2c7c3d4e-5f60-4172-8c8d-9e0f1a2b3c4d"
#define FLAKY    "3d8d4e5f-6071-4283-9d9e-0f1a2b3c4d5e"
#define SID      "5e551011-0000-4000-8000-000000000001"

typedef struct
{
  FakeServer *fs;
  WbPipeline *pipeline;
  char       *dir;
  GPtrArray  *alerts;     /* WbAlertRecord* */
  guint       confirm_delay_ms;
  guint       confirm_reads;
} Fixture;

static FakeReply
server (FakeServer  *fs,
        FakeRequest *r,
        gpointer     data)
{
  Fixture *f = data;

  if (g_str_equal (r->path, "/auth/v1/token"))
    return (FakeReply) { 200, "{\"access_token\":\"at-1\",\"token_type\":\"bearer\",\"expires_in\":3600,"
                              "\"refresh_token\":\"rt-1\",\"user\":{\"id\":\"user-1\"}}" };
  if (g_str_equal (r->path, "/rest/v1/session_assignments") && r->query != NULL
      && strstr (r->query, "id=eq.") != NULL)
    {
      f->confirm_reads++;
      if (strstr (r->query, QUEUED) != NULL)
        return (FakeReply) { 200, "[{\"id\":\"" QUEUED "\",\"session_id\":\"" SID "\",\"status\":\"queued\","
                                  "\"mechanic_id\":null,\"updated_at\":\"2026-11-20T10:00:00+00:00\","
                                  "\"offered_at\":\"2026-11-20T10:00:00+00:00\",\"metadata\":{}}]" };
      if (strstr (r->query, ACCEPTED) != NULL)
        return (FakeReply) { 200, "[{\"id\":\"" ACCEPTED "\",\"session_id\":\"" SID "\",\"status\":\"accepted\","
                                  "\"updated_at\":\"2026-11-20T10:00:00+00:00\"}]" };
      if (strstr (r->query, FLAKY) != NULL)
        return (FakeReply) { 503, "{\"message\":\"db down\"}" };
      return (FakeReply) { 200, "[]", .delay_ms = f->confirm_delay_ms };
    }
  /* Everything else (catch-up, details, flags, who am I): nothing there. */
  return (FakeReply) { 200, "[]" };
}

static void
on_alert_cb (WbPipeline    *pipeline,
             WbAlertRecord *record,
             Fixture       *f)
{
  g_ptr_array_add (f->alerts, wb_alert_record_copy (record));
}

static void
setup (Fixture       *f,
       gconstpointer  data)
{
  WbPipelineConfig config = { 0 };
  g_autofree char *dedupe = NULL;

  f->fs = fake_server_new (server, f);
  f->dir = g_dir_make_tmp ("wb-confirm-XXXXXX", NULL);
  dedupe = g_build_filename (f->dir, "dedupe.json", NULL);
  f->alerts = g_ptr_array_new_with_free_func ((GDestroyNotify) wb_alert_record_free);
  config.url = f->fs->base_url;
  config.anon_key = (char *) APIKEY;
  config.email = (char *) "mechanic@example.com";
  config.password = (char *) "secret";
  config.dedupe_path = dedupe;
  config.detail_budget_ms = 100;
  config.safety_poll_s = 600;
  f->pipeline = wb_pipeline_new (&config);
  g_signal_connect (f->pipeline, "alert", G_CALLBACK (on_alert_cb), f);
  wb_pipeline_start (f->pipeline);
  WAIT_FOR (wb_auth_get_access_token (wb_pipeline_get_auth (f->pipeline)) != NULL, 5000);
  g_assert_false (wb_pipeline_is_public (f->pipeline));
}

static void
teardown (Fixture       *f,
          gconstpointer  data)
{
  g_autofree char *dedupe = g_build_filename (f->dir, "dedupe.json", NULL);

  wb_pipeline_stop (f->pipeline);
  g_clear_object (&f->pipeline);
  fake_server_free (f->fs);
  g_ptr_array_unref (f->alerts);
  g_unlink (dedupe);
  g_rmdir (f->dir);
  g_free (f->dir);
}

static void
hint (Fixture    *f,
      const char *id,
      const char *customer)
{
  g_autoptr(WbEvent) ev = wb_event_new (WB_EVENT_QUEUED, WB_EVENT_SOURCE_BROADCAST);

  ev->assignment_id = g_strdup (id);
  ev->session_id = g_strdup ("9f9f9f9f-0000-4000-8000-00000000dead");
  ev->status = g_strdup ("queued");
  ev->customer = g_strdup (customer);
  ev->vehicle = g_strdup ("2011 Ford Focus");
  ev->concern = g_strdup ("Battery light");
  ev->received_us = g_get_real_time ();
  ev->received_mono_us = g_get_monotonic_time ();
  _wb_pipeline_offer_hint (f->pipeline, ev);
}

static guint64
rejected (Fixture *f)
{
  return wb_health_get (wb_pipeline_get_health (f->pipeline), WB_HEALTH_BROADCASTS_REJECTED);
}

static void
test_known_unknown_not_queued (Fixture       *f,
                               gconstpointer  data)
{
  WbAlertRecord *rec;

  hint (f, UNKNOWN, "Mallory Forged");
  hint (f, ACCEPTED, "Mallory Forged");
  WAIT_FOR (rejected (f) == 2, 5000);
  g_assert_cmpuint (f->confirm_reads, ==, 2);

  hint (f, QUEUED, "Ada Lovelace");
  hint (f, QUEUED, "Ada Lovelace");   /* the same hint again while confirming: one read */
  WAIT_FOR (f->alerts->len == 1, 5000);
  rec = g_ptr_array_index (f->alerts, 0);
  g_assert_cmpstr (rec->assignment_id, ==, QUEUED);
  g_assert_cmpstr (rec->source, ==, "broadcast");
  g_assert_cmpstr (rec->customer, ==, "Ada Lovelace");
  /* The database's session, not the one the broadcast claimed. */
  g_assert_cmpstr (rec->session_id, ==, SID);
  g_assert_cmpuint (f->confirm_reads, ==, 3);

  /* Open on the database's word: another hint reads nothing and changes nothing. */
  hint (f, QUEUED, "Mallory Forged");
  g_usleep (200 * 1000);
  while (g_main_context_iteration (NULL, FALSE));
  g_assert_cmpuint (f->confirm_reads, ==, 3);
  g_assert_cmpuint (f->alerts->len, ==, 1);
  g_assert_cmpuint (rejected (f), ==, 2);
}

static void
test_transient_failure_rings_neutral (Fixture       *f,
                                      gconstpointer  data)
{
  WbAlertRecord *rec;

  hint (f, FLAKY, "Mallory Forged");
  WAIT_FOR (f->alerts->len == 1, 5000);
  rec = g_ptr_array_index (f->alerts, 0);
  g_assert_cmpstr (rec->assignment_id, ==, FLAKY);
  g_assert_null (rec->customer);
  g_assert_null (rec->vehicle);
  g_assert_null (rec->concern);
  g_assert_false (rec->details_full);
  g_assert_cmpuint (rejected (f), ==, 0);
  /* The catch-up asked at the same time answers later: not queued, so the episode ends and is
   * no longer counted as unconfirmed. */
  WAIT_FOR (!g_hash_table_contains (f->pipeline->episodes, FLAKY), 5000);
  g_assert_cmpuint (g_hash_table_size (f->pipeline->unconfirmed), ==, 0);
}

static void
test_flood_is_capped (Fixture       *f,
                      gconstpointer  data)
{
  f->confirm_delay_ms = 300;
  for (guint i = 0; i < 200; i++)
    {
      g_autofree char *id = g_strdup_printf ("%08x-0000-4000-8000-000000000000", i + 1);

      hint (f, id, "Mallory Forged");
      g_assert_cmpuint (g_hash_table_size (f->pipeline->confirming), <=, 16);
    }
  g_assert_cmpuint (rejected (f), ==, 200 - 16);
  WAIT_FOR (rejected (f) == 200, 10000);
  g_assert_cmpuint (g_hash_table_size (f->pipeline->confirming), ==, 0);
  g_assert_cmpuint (f->alerts->len, ==, 0);
  g_assert_cmpuint (g_hash_table_size (f->pipeline->episodes), ==, 0);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/wb/broadcast-confirm/known-unknown-not-queued", Fixture, NULL, setup,
              test_known_unknown_not_queued, teardown);
  g_test_add ("/wb/broadcast-confirm/transient-failure-rings-neutral", Fixture, NULL, setup,
              test_transient_failure_rings_neutral, teardown);
  g_test_add ("/wb/broadcast-confirm/flood-is-capped", Fixture, NULL, setup,
              test_flood_is_capped, teardown);
  return g_test_run ();
}
