#include "config.h"

#include "wb-catchup.h"
#include "wb-error.h"
#include "wb-fake-rest.h"

#define APIKEY "anon-key-for-tests-0123456789"

typedef struct
{
  FakeServer   *fs;
  WbRestClient *rest;
  WbCatchup    *catchup;
  guint         total_rows;
  guint         delay_ms;
  guint         fail_503;
  gboolean      need_fresh_token;
  guint         refresh_calls;
  guint         begin_calls;
  guint         rows_signals;
  guint         failed_signals;
  gint64        last_token;
  guint         last_rows;
  GString      *reply;
} Fixture;

static guint
query_uint (FakeRequest *r,
            const char  *name,
            guint        fallback)
{
  g_autofree char *needle = g_strdup_printf ("%s=", name);
  const char *p = r->query ? strstr (r->query, needle) : NULL;

  return p ? (guint) g_ascii_strtoull (p + strlen (needle), NULL, 10) : fallback;
}

static FakeReply
postgrest (FakeServer  *fs,
           FakeRequest *r,
           gpointer     data)
{
  Fixture *f = data;
  guint offset = query_uint (r, "offset", 0);
  guint limit = query_uint (r, "limit", 1000);

  g_assert_cmpstr (r->path, ==, "/rest/v1/session_assignments");
  if (f->need_fresh_token && g_strcmp0 (r->authorization, "Bearer fresh-token") != 0)
    return (FakeReply) { 401, "{\"code\":\"PGRST303\",\"message\":\"JWT expired\"}" };
  if (f->fail_503 > 0)
    {
      f->fail_503--;
      return (FakeReply) { 503, "{\"message\":\"db down\"}" };
    }
  g_string_assign (f->reply, "[");
  for (guint i = offset; i < MIN (f->total_rows, offset + limit); i++)
    g_string_append_printf (f->reply, "%s{\"id\":\"a-%u\",\"session_id\":\"s-%u\",\"status\":\"queued\","
                                      "\"updated_at\":\"2026-11-20T10:00:00+00:00\",\"metadata\":{}}",
                            i > offset ? "," : "", i, i);
  if (offset == 0 && limit >= 500)   /* junk rows, only when not paging */
    g_string_append_printf (f->reply, "%s{\"session_id\":\"no-id\"},42", f->total_rows ? "," : "");
  g_string_append (f->reply, "]");
  return (FakeReply) { 200, f->reply->str, .delay_ms = f->delay_ms };
}

static gint64
begin_cb (gpointer data)
{
  Fixture *f = data;

  return 1000 + ++f->begin_calls;
}

static void
on_rows_cb (WbCatchup *catchup,
            GPtrArray *rows,
            gint64     token,
            Fixture   *f)
{
  f->rows_signals++;
  f->last_token = token;
  f->last_rows = rows->len;
}

static void
on_failed_cb (WbCatchup  *catchup,
              const char *message,
              Fixture    *f)
{
  f->failed_signals++;
}

static void
fake_refresh (gpointer             user_data,
              GCancellable        *cancellable,
              GAsyncReadyCallback  callback,
              gpointer             callback_data)
{
  Fixture *f = user_data;
  g_autoptr(GTask) task = g_task_new (NULL, cancellable, callback, callback_data);

  f->refresh_calls++;
  wb_rest_client_set_access_token (f->rest, "fresh-token");
  g_task_return_boolean (task, TRUE);
}

static void
setup (Fixture       *f,
       gconstpointer  data)
{
  f->reply = g_string_new (NULL);
  f->total_rows = 3;
  f->fs = fake_server_new (postgrest, f);
  f->rest = wb_rest_client_new (f->fs->base_url, APIKEY);
  f->catchup = wb_catchup_new (f->rest);
  wb_catchup_set_fallback_backoff (f->catchup, 20, 80);
  wb_catchup_set_safety_interval_ms (f->catchup, 60000);
  wb_catchup_set_begin_func (f->catchup, begin_cb, f, NULL);
  wb_rest_client_set_refresh_func (f->rest, fake_refresh, f, NULL);
  g_signal_connect (f->catchup, "rows", G_CALLBACK (on_rows_cb), f);
  g_signal_connect (f->catchup, "failed", G_CALLBACK (on_failed_cb), f);
}

static void
teardown (Fixture       *f,
          gconstpointer  data)
{
  wb_catchup_stop (f->catchup);
  fake_run_for (20);
  g_assert_finalize_object (f->catchup);
  g_assert_finalize_object (f->rest);
  fake_server_free (f->fs);
  g_string_free (f->reply, TRUE);
}

typedef struct
{
  gboolean   done;
  GPtrArray *rows;
  GError    *error;
} Outcome;

static void
run_cb (GObject      *source,
        GAsyncResult *result,
        gpointer      data)
{
  Outcome *o = data;

  o->rows = wb_catchup_run_finish (WB_CATCHUP (source), result, &o->error);
  o->done = TRUE;
}

static void
run (Fixture *f,
     Outcome *o)
{
  g_clear_pointer (&o->rows, g_ptr_array_unref);
  g_clear_error (&o->error);
  o->done = FALSE;
  wb_catchup_run_async (f->catchup, NULL, run_cb, o);
  fake_run_until (&o->done, 5000);
}

static void
test_query (Fixture       *f,
            gconstpointer  data)
{
  Outcome o = { 0 };
  FakeRequest *r;

  run (f, &o);
  g_assert_no_error (o.error);
  g_assert_cmpuint (o.rows->len, ==, 3);   /* the rows without an id are skipped */
  g_assert_cmpstr (json_object_get_string_member (o.rows->pdata[0], "id"), ==, "a-0");
  g_assert_cmpstr (json_object_get_string_member (o.rows->pdata[2], "session_id"), ==, "s-2");
  r = fake_server_last (f->fs);
  g_assert_true (fake_query_has (r, "select=id,session_id,status,updated_at,offered_at,metadata"));
  g_assert_true (fake_query_has (r, "status=eq.queued"));
  g_assert_true (fake_query_has (r, "order=created_at.asc"));
  g_assert_true (fake_query_has (r, "limit=500"));
  g_assert_false (fake_query_has (r, "offset"));
  g_assert_cmpuint (f->rows_signals, ==, 0);   /* run_async emits nothing */

  f->total_rows = 0;
  run (f, &o);
  g_assert_no_error (o.error);
  g_assert_cmpuint (o.rows->len, ==, 0);

  f->fail_503 = 1;
  run (f, &o);
  g_assert_error (o.error, WB_ERROR, WB_ERROR_SERVER);
  g_clear_error (&o.error);
  g_clear_pointer (&o.rows, g_ptr_array_unref);
}

static void
test_paging (Fixture       *f,
             gconstpointer  data)
{
  Outcome o = { 0 };

  f->total_rows = 5;
  wb_catchup_set_page_size (f->catchup, 2);
  run (f, &o);
  g_assert_no_error (o.error);
  g_assert_cmpuint (o.rows->len, ==, 5);
  g_assert_cmpuint (f->fs->requests->len, ==, 3);
  g_assert_cmpstr (json_object_get_string_member (o.rows->pdata[4], "id"), ==, "a-4");
  g_assert_true (fake_query_has (fake_server_last (f->fs), "offset=4"));
  g_clear_pointer (&o.rows, g_ptr_array_unref);
}

static void
test_unauthorized (Fixture       *f,
                   gconstpointer  data)
{
  Outcome o = { 0 };

  f->need_fresh_token = TRUE;
  run (f, &o);
  g_assert_no_error (o.error);
  g_assert_cmpuint (f->refresh_calls, ==, 1);
  g_assert_cmpuint (o.rows->len, ==, 3);
  g_clear_pointer (&o.rows, g_ptr_array_unref);
}

static void
test_schedule (Fixture       *f,
               gconstpointer  data)
{
  /* Realtime down: fast fallback polls (20 → 80 ms). */
  wb_catchup_start (f->catchup);
  fake_run_for (400);
  g_assert_cmpuint (f->rows_signals, >=, 4);
  g_assert_cmpuint (f->rows_signals, ==, f->begin_calls);
  g_assert_cmpint (f->last_token, ==, 1000 + f->begin_calls);
  g_assert_cmpuint (f->last_rows, ==, 3);

  /* Live: back to the safety poll. */
  wb_catchup_set_realtime_live (f->catchup, TRUE);
  fake_run_for (50);
  g_assert_cmpint (wb_catchup_get_next_run_in_ms (f->catchup), >, 50000);
  {
    guint before = f->rows_signals;

    fake_run_for (200);
    g_assert_cmpuint (f->rows_signals, ==, before);
  }

  /* Down again: fallback polling resumes. */
  wb_catchup_set_realtime_live (f->catchup, FALSE);
  g_assert_cmpint (wb_catchup_get_next_run_in_ms (f->catchup), <=, 20);

  wb_catchup_stop (f->catchup);
  g_assert_cmpint (wb_catchup_get_next_run_in_ms (f->catchup), ==, -1);
}

static void
test_run_now_coalesces (Fixture       *f,
                        gconstpointer  data)
{
  wb_catchup_set_realtime_live (f->catchup, TRUE);
  f->delay_ms = 50;
  wb_catchup_start (f->catchup);
  fake_run_for (10);
  for (guint i = 0; i < 10; i++)
    wb_catchup_run_now (f->catchup, "broadcast without id");
  fake_run_for (300);
  g_assert_cmpuint (f->fs->requests->len, ==, 2);
  g_assert_cmpuint (f->rows_signals, ==, 2);

  /* Several calls in one main-loop iteration: one run. */
  for (guint i = 0; i < 10; i++)
    wb_catchup_run_now (f->catchup, "burst");
  fake_run_for (200);
  g_assert_cmpuint (f->rows_signals, ==, 3);
}

static void
test_failure_retries (Fixture       *f,
                      gconstpointer  data)
{
  wb_catchup_set_realtime_live (f->catchup, TRUE);
  f->fail_503 = 2;
  wb_catchup_start (f->catchup);
  fake_run_for (300);
  g_assert_cmpuint (f->failed_signals, ==, 2);
  g_assert_cmpuint (f->rows_signals, ==, 1);
  g_assert_cmpuint (wb_catchup_get_failures (f->catchup), ==, 2);
  g_assert_cmpuint (wb_catchup_get_runs (f->catchup), ==, 1);
  g_assert_cmpint (wb_catchup_get_next_run_in_ms (f->catchup), >, 50000);
}

static void
test_parse (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) obj = json_from_string ("{\"id\":\"a\"}", NULL);
  g_autoptr(JsonNode) arr = json_from_string ("[{\"id\":\"\"},{\"id\":1},{\"id\":\"ok\"},null,[]]", NULL);
  g_autoptr(GPtrArray) rows = NULL;

  g_assert_null (wb_catchup_parse_rows (obj, &error));
  g_assert_error (error, WB_ERROR, WB_ERROR_INVALID_DATA);
  rows = wb_catchup_parse_rows (arr, NULL);
  g_assert_cmpuint (rows->len, ==, 1);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
#define ADD(path, fn) g_test_add (path, Fixture, NULL, setup, fn, teardown)
  ADD ("/wb/catchup/query", test_query);
  ADD ("/wb/catchup/paging", test_paging);
  ADD ("/wb/catchup/unauthorized", test_unauthorized);
  ADD ("/wb/catchup/schedule", test_schedule);
  ADD ("/wb/catchup/run-now-coalesces", test_run_now_coalesces);
  ADD ("/wb/catchup/failure-retries", test_failure_retries);
#undef ADD
  g_test_add_func ("/wb/catchup/parse", test_parse);
  return g_test_run ();
}
