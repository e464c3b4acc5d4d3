#include "config.h"

#include <glib/gstdio.h>

#include "wb-dedupe-set.h"
#include "wb-fake-rest.h"
#include "wb-pipeline-private.h"

#define APIKEY "anon-key-for-tests-0123456789"
#define RANG_BEFORE "0b9e8a5c-1f2d-4c3b-9a8e-7d6c5b4a3f21"   /* open and rung in an earlier run */
#define NEW_ONE     "1b9e8a5c-1f2d-4c3b-9a8e-7d6c5b4a3f21"

typedef struct
{
  char       *dir;
  char       *dedupe_path;
  FakeServer *fs;
  GPtrArray  *alerts;     /* WbAlertRecord* of kind alert */
  guint       fail_503;   /* this many sign-ins answer 503 first */
  gboolean    refuse;     /* sign-ins answer 400 invalid_credentials */
  guint       sign_ins;
} Fixture;

/* GoTrue's password grant (scripted); everything else is not there. */
static FakeReply
backend (FakeServer  *fs,
         FakeRequest *r,
         gpointer     data)
{
  Fixture *f = data;

  if (g_str_equal (r->path, "/auth/v1/token") && fake_query_has (r, "grant_type=password"))
    {
      f->sign_ins++;
      if (f->fail_503 > 0)
        {
          f->fail_503--;
          return (FakeReply) { 503, "{\"message\":\"upstream down\"}" };
        }
      if (f->refuse)
        return (FakeReply) { 400, "{\"code\":\"invalid_credentials\",\"message\":\"Invalid login "
                                  "credentials\"}", .error_code = "invalid_credentials" };
      return (FakeReply) { 200, "{\"access_token\":\"at-1\",\"token_type\":\"bearer\","
                                "\"expires_in\":3600,\"refresh_token\":\"rt-1\",\"user\":{\"id\":\"u1\"}}" };
    }
  return (FakeReply) { 404, "{\"message\":\"no\"}" };
}

static void
setup (Fixture       *f,
       gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  f->dir = g_dir_make_tmp ("wb-pipeline-XXXXXX", &error);
  g_assert_no_error (error);
  f->dedupe_path = g_build_filename (f->dir, "dedupe-set.json", NULL);
  f->fs = fake_server_new (backend, f);
  f->alerts = g_ptr_array_new_with_free_func ((GDestroyNotify) wb_alert_record_free);
}

static void
teardown (Fixture       *f,
          gconstpointer  data)
{
  g_autoptr(GDir) d = g_dir_open (f->dir, 0, NULL);
  const char *name;

  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *path = g_build_filename (f->dir, name, NULL);

      g_unlink (path);
    }
  g_rmdir (f->dir);
  fake_server_free (f->fs);
  g_ptr_array_unref (f->alerts);
  g_free (f->dedupe_path);
  g_free (f->dir);
}

static WbPipeline *
make_pipeline (Fixture    *f,
               const char *email,
               const char *password)
{
  WbPipelineConfig config = {
    .url = f->fs->base_url,
    .anon_key = (char *) APIKEY,
    .email = (char *) email,
    .password = (char *) password,
    .dedupe_path = f->dedupe_path,
    .detail_budget_ms = 100,
  };

  return wb_pipeline_new (&config);
}

static void
on_alert_cb (WbPipeline    *pipeline,
             WbAlertRecord *record,
             Fixture       *f)
{
  if (record->kind == WB_ALERT_KIND_ALERT)
    g_ptr_array_add (f->alerts, wb_alert_record_copy (record));
}

static WbEvent *
queued_broadcast (const char *id)
{
  WbEvent *ev = wb_event_new (WB_EVENT_QUEUED, WB_EVENT_SOURCE_BROADCAST);

  ev->assignment_id = g_strdup (id);
  ev->customer = g_strdup ("Ana Lima");
  ev->vehicle = g_strdup ("2012 Honda Civic");
  ev->received_us = g_get_real_time ();
  ev->received_mono_us = g_get_monotonic_time ();
  return ev;
}

/* Events that arrive while the dedupe set is still being read (in a worker thread) wait for it:
 * none is lost, and the one that rang in an earlier run does not ring again. */
static void
test_events_wait_for_the_dedupe_set (Fixture       *f,
                                     gconstpointer  data)
{
  g_autoptr(WbDedupeSet) earlier = wb_dedupe_set_new (f->dedupe_path);
  g_autoptr(WbPipeline) pipeline = NULL;
  g_autoptr(WbEvent) again = queued_broadcast (RANG_BEFORE);
  g_autoptr(WbEvent) fresh = queued_broadcast (NEW_ONE);
  g_autoptr(GPtrArray) open = NULL;
  WbDedupeRecord r = { 1, TRUE, 0, 0, g_get_real_time (), 0, TRUE };

  wb_dedupe_set_put (earlier, RANG_BEFORE, &r, g_get_real_time ());
  g_assert_true (wb_dedupe_set_flush (earlier, NULL));
  g_clear_object (&earlier);

  pipeline = make_pipeline (f, NULL, NULL);
  g_signal_connect (pipeline, "alert", G_CALLBACK (on_alert_cb), f);
  /* The load finishes on the main loop, which has not run yet: both events arrive first. */
  g_assert_true (wb_dedupe_set_is_loading (pipeline->dedupe));
  _wb_pipeline_offer_event (pipeline, again);
  _wb_pipeline_offer_event (pipeline, fresh);
  g_assert_cmpuint (f->alerts->len, ==, 0);

  while (wb_dedupe_set_is_loading (pipeline->dedupe) || f->alerts->len == 0)
    g_main_context_iteration (NULL, TRUE);
  fake_run_for (300);

  g_assert_cmpuint (f->alerts->len, ==, 1);
  g_assert_cmpstr (((WbAlertRecord *) f->alerts->pdata[0])->assignment_id, ==, NEW_ONE);
  /* The earlier one is listed (it is still queued), silently. */
  open = wb_pipeline_list_open (pipeline);
  g_assert_cmpuint (open->len, ==, 2);
  g_assert_cmpuint (wb_dedupe_set_lookup (pipeline->dedupe, RANG_BEFORE)->episode, ==, 1);
}

/* The password is kept only as long as it may be needed: wiped once signed in. */
static void
test_password_dropped_after_sign_in (Fixture       *f,
                                     gconstpointer  data)
{
  g_autoptr(WbPipeline) pipeline = make_pipeline (f, "ana@example.com", "hunter2-good");
  WbAuth *auth = wb_pipeline_get_auth (pipeline);

  g_assert_true (_wb_pipeline_holds_password (pipeline));
  wb_pipeline_start (pipeline);
  while (wb_auth_get_state (auth) != WB_AUTH_STATE_SIGNED_IN)
    g_main_context_iteration (NULL, TRUE);
  g_assert_false (_wb_pipeline_holds_password (pipeline));
  g_assert_cmpuint (f->sign_ins, ==, 1);
  wb_pipeline_stop (pipeline);
}

/* … and once the server refused it (wrong password: trying again cannot help). */
static void
test_password_dropped_after_refusal (Fixture       *f,
                                     gconstpointer  data)
{
  g_autoptr(WbPipeline) pipeline = NULL;

  f->refuse = TRUE;
  pipeline = make_pipeline (f, "ana@example.com", "wrong");
  wb_pipeline_start (pipeline);
  while (f->sign_ins == 0 || wb_auth_get_state (wb_pipeline_get_auth (pipeline)) != WB_AUTH_STATE_SIGNED_OUT)
    g_main_context_iteration (NULL, TRUE);
  fake_run_for (100);
  g_assert_false (_wb_pipeline_holds_password (pipeline));
  g_assert_cmpstr (wb_pipeline_get_state (pipeline), ==, "signed_out");
  g_assert_nonnull (wb_pipeline_get_last_error (pipeline));
  wb_pipeline_stop (pipeline);
}

/* A server that cannot be reached is retried with the password kept for that, and then wiped. */
static void
test_password_kept_for_retry (Fixture       *f,
                              gconstpointer  data)
{
  g_autoptr(WbPipeline) pipeline = NULL;

  f->fail_503 = 1;
  pipeline = make_pipeline (f, "ana@example.com", "hunter2-good");
  wb_pipeline_start (pipeline);
  while (f->sign_ins == 0 || pipeline->sign_in_retry_id == 0)
    g_main_context_iteration (NULL, TRUE);
  g_assert_true (_wb_pipeline_holds_password (pipeline));
  g_assert_cmpstr (wb_pipeline_get_state (pipeline), ==, "disconnected");
  while (wb_auth_get_state (wb_pipeline_get_auth (pipeline)) != WB_AUTH_STATE_SIGNED_IN)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (f->sign_ins, ==, 2);
  g_assert_false (_wb_pipeline_holds_password (pipeline));
  wb_pipeline_stop (pipeline);
}

int
main (int argc, char *argv[])
{
  /* Loopback only; also keeps libproxy out of sanitizer builds. */
  g_setenv ("GIO_USE_PROXY_RESOLVER", "dummy", TRUE);
  g_test_init (&argc, &argv, NULL);
#define ADD(path, fn) g_test_add (path, Fixture, NULL, setup, fn, teardown)
  ADD ("/wb/pipeline/events-wait-for-the-dedupe-set", test_events_wait_for_the_dedupe_set);
  ADD ("/wb/pipeline/password-dropped-after-sign-in", test_password_dropped_after_sign_in);
  ADD ("/wb/pipeline/password-dropped-after-refusal", test_password_dropped_after_refusal);
  ADD ("/wb/pipeline/password-kept-for-retry", test_password_kept_for_retry);
  return g_test_run ();
}
