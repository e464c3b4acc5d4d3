#include "config.h"

#include "wb-auth.h"
#include "wb-detail-fetcher.h"
#include "wb-error.h"
#include "wb-fake-rest.h"

#define APIKEY "anon-key-for-tests-0123456789"

typedef struct
{
  FakeServer      *fs;
  WbRestClient    *rest;
  WbDetailFetcher *fetcher;
  guint            fail_503;         /* answer 503 this many times first */
  guint            rate_limited;     /* answer 429 Retry-After: 1 this many times */
  guint            not_visible;      /* answer [] this many times */
  gboolean         need_fresh_token; /* 401 PGRST303 unless the bearer is the fresh token */
  gboolean         rls_hidden;       /* intake is null */
  gboolean         no_embedding;     /* 400 for an embedded select */
  gboolean         always_503;
  guint            delay_ms;
  guint            refresh_calls;
  guint            auth_refreshes;
  guint            ids_asked;        /* ids over all requests */
  guint            largest_ask;      /* most ids in one request */
  const char      *hidden_id;        /* a session the server does not return */
  GString         *reply;
} Fixture;

/* The ids a request asks for: `id=eq.X`, or `id=in.("X","Y",…)` as the fetcher batches them. */
static GStrv
query_ids (FakeRequest *r)
{
  g_autoptr(GStrvBuilder) ids = g_strv_builder_new ();
  const char *eq = r->query ? strstr (r->query, "id=eq.") : NULL;
  const char *in = r->query ? strstr (r->query, "id=in.") : NULL;
  g_autofree char *list = NULL;
  const char *end;

  g_assert_true (eq != NULL || in != NULL);
  if (eq != NULL)
    {
      g_autofree char *id = NULL;

      eq += strlen ("id=eq.");
      end = strchr (eq, '&');
      id = g_uri_unescape_segment (eq, end, NULL);
      g_strv_builder_add (ids, id);
      return g_strv_builder_end (ids);
    }
  in += strlen ("id=in.");
  end = strchr (in, '&');
  list = g_uri_unescape_segment (in, end, NULL);
  g_assert_true (list[0] == '(' && g_str_has_suffix (list, ")"));
  for (const char *p = list + 1; *p != ')';)
    {
      g_autoptr(GString) id = g_string_new (NULL);

      g_assert_cmpint (*p, ==, '"');
      for (p++; *p != '"'; p++)
        {
          if (*p == '\\')
            p++;
          g_assert_cmpint (*p, !=, '\0');
          g_string_append_c (id, *p);
        }
      p++;
      if (*p == ',')
        p++;
      g_strv_builder_add (ids, id->str);
    }
  return g_strv_builder_end (ids);
}

static FakeReply
postgrest (FakeServer  *fs,
           FakeRequest *r,
           gpointer     data)
{
  Fixture *f = data;
  g_auto(GStrv) ids = NULL;

  if (g_str_equal (r->path, "/auth/v1/token"))
    {
      f->auth_refreshes++;
      return (FakeReply) { 200, "{\"access_token\":\"fresh-token\",\"expires_in\":3600,"
                                "\"refresh_token\":\"rt-2\",\"user\":{\"id\":\"u\"}}",
                           .delay_ms = 20 };
    }
  ids = query_ids (r);
  f->ids_asked += g_strv_length (ids);
  f->largest_ask = MAX (f->largest_ask, g_strv_length (ids));
  if (f->need_fresh_token && g_strcmp0 (r->authorization, "Bearer fresh-token") != 0)
    return (FakeReply) { 401, "{\"code\":\"PGRST303\",\"message\":\"JWT expired\"}" };
  if (f->always_503 || f->fail_503 > 0)
    {
      if (f->fail_503 > 0)
        f->fail_503--;
      return (FakeReply) { 503, "{\"code\":\"PGRST001\",\"message\":\"db down\"}" };
    }
  if (f->rate_limited > 0)
    {
      f->rate_limited--;
      return (FakeReply) { 429, "{\"message\":\"slow down\"}", "1" };
    }
  if (f->not_visible > 0)
    {
      f->not_visible--;
      return (FakeReply) { 200, "[]" };
    }

  g_string_assign (f->reply, "[");
  for (guint i = 0; ids[i] != NULL; i++)
    {
      g_autofree char *id = g_strescape (ids[i], NULL);   /* as a JSON string's contents */

      if ((f->hidden_id != NULL && g_str_equal (ids[i], f->hidden_id))
          || (f->rls_hidden && g_str_equal (r->path, "/rest/v1/intakes")))
        continue;
      if (f->reply->len > 1)
        g_string_append_c (f->reply, ',');
      if (g_str_equal (r->path, "/rest/v1/sessions"))
        {
          gboolean embedded = fake_query_has (r, "intakes(");

          if (embedded && f->no_embedding)
            return (FakeReply) { 400, "{\"code\":\"PGRST200\",\"message\":\"no relationship\"}" };
          g_string_append_printf (f->reply, "{\"id\":\"%s\",\"type\":\"%s\",\"intake_id\":\"in-%s\"",
                                  id, g_str_has_prefix (ids[i], "urgent") ? "urgent" : "standard", id);
          if (embedded && f->rls_hidden)
            g_string_append (f->reply, ",\"intake\":null");
          else if (embedded)
            g_string_append (f->reply, ",\"intake\":{\"name\":\"Ana <b>Lima</b>\",\"concern\":"
                                       "\"Brakes squeal\",\"vehicle_year\":2019,\"vehicle_make\":"
                                       "\"Honda\",\"vehicle_model\":\"Civic\"}");
          g_string_append (f->reply, "}");
        }
      else if (g_str_equal (r->path, "/rest/v1/intakes"))
        {
          g_string_append_printf (f->reply, "{\"id\":\"%s\",\"name\":\"Bo\",\"concern\":\"Oil leak\","
                                            "\"vehicle_year\":null,\"vehicle_make\":\"Ford\","
                                            "\"vehicle_model\":\"Focus\"}", id);
        }
      else
        return (FakeReply) { 404, "{\"code\":\"PGRST205\",\"message\":\"no such table\"}" };
    }
  g_string_append_c (f->reply, ']');
  return (FakeReply) { 200, f->reply->str, .delay_ms = f->delay_ms };
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
  f->fs = fake_server_new (postgrest, f);
  f->rest = wb_rest_client_new (f->fs->base_url, APIKEY);
  wb_rest_client_set_access_token (f->rest, "stale-token");
  f->fetcher = wb_detail_fetcher_new (f->rest);
  wb_detail_fetcher_set_backoff (f->fetcher, 5, 40);
  wb_rest_client_set_refresh_func (f->rest, fake_refresh, f, NULL);
}

static void
teardown (Fixture       *f,
          gconstpointer  data)
{
  g_assert_finalize_object (f->fetcher);
  g_assert_finalize_object (f->rest);
  fake_server_free (f->fs);
  g_string_free (f->reply, TRUE);
}

typedef struct
{
  gboolean   done;
  WbDetails *details;
  GError    *error;
  gint64     elapsed_us;
  gint64     started_us;
} Outcome;

static void
fetch_cb (GObject      *source,
          GAsyncResult *result,
          gpointer      data)
{
  Outcome *o = data;

  o->details = wb_detail_fetcher_fetch_finish (WB_DETAIL_FETCHER (source), result, &o->error);
  o->elapsed_us = g_get_monotonic_time () - o->started_us;
  o->done = TRUE;
}

static void
fetch (Fixture    *f,
       const char *session_id,
       Outcome    *o)
{
  o->started_us = g_get_monotonic_time ();
  wb_detail_fetcher_fetch_async (f->fetcher, session_id, NULL, fetch_cb, o);
  fake_run_until (&o->done, 10000);
}

static void
outcome_clear (Outcome *o)
{
  g_clear_pointer (&o->details, wb_details_free);
  g_clear_error (&o->error);
  o->done = FALSE;
}

static void
test_success (Fixture       *f,
              gconstpointer  data)
{
  Outcome o = { 0 };

  fetch (f, "s-1", &o);
  g_assert_no_error (o.error);
  g_assert_cmpstr (o.details->session_id, ==, "s-1");
  g_assert_cmpstr (o.details->intake_id, ==, "in-s-1");
  g_assert_cmpstr (o.details->customer, ==, "Ana <b>Lima</b>");
  g_assert_cmpstr (o.details->vehicle, ==, "2019 Honda Civic");
  g_assert_cmpstr (o.details->concern, ==, "Brakes squeal");
  g_assert_false (o.details->urgent);
  g_assert_cmpuint (f->fs->requests->len, ==, 1);
  g_assert_true (fake_query_has (fake_server_last (f->fs), "id=eq.s-1"));
  g_assert_cmpstr (fake_server_last (f->fs)->authorization, ==, "Bearer stale-token");
  outcome_clear (&o);

  fetch (f, "urgent-2", &o);
  g_assert_true (o.details->urgent);
  outcome_clear (&o);
  g_assert_cmpuint (wb_detail_fetcher_get_failures (f->fetcher), ==, 0);
  g_assert_cmpuint (wb_detail_fetcher_get_retries (f->fetcher), ==, 0);
}

static void
test_503_burst (Fixture       *f,
                gconstpointer  data)
{
  Outcome o = { 0 };

  f->fail_503 = 4;
  fetch (f, "s-1", &o);
  g_assert_no_error (o.error);
  g_assert_cmpstr (o.details->vehicle, ==, "2019 Honda Civic");
  g_assert_cmpuint (f->fs->requests->len, ==, 5);
  g_assert_cmpuint (wb_detail_fetcher_get_retries (f->fetcher), ==, 4);
  g_assert_cmpuint (wb_detail_fetcher_get_failures (f->fetcher), ==, 0);
  outcome_clear (&o);
}

static void
test_retry_after (Fixture       *f,
                  gconstpointer  data)
{
  Outcome o = { 0 };

  f->rate_limited = 1;
  fetch (f, "s-1", &o);
  g_assert_no_error (o.error);
  /* The backoff alone would retry after ≤ 5 ms; the server asked for 1 s. */
  g_assert_cmpint (o.elapsed_us, >=, 950 * 1000);
  g_assert_cmpuint (f->fs->requests->len, ==, 2);
  outcome_clear (&o);
}

static void
test_not_yet_visible (Fixture       *f,
                      gconstpointer  data)
{
  Outcome o = { 0 };

  f->not_visible = 2;
  fetch (f, "s-1", &o);
  g_assert_no_error (o.error);
  g_assert_cmpstr (o.details->customer, ==, "Ana <b>Lima</b>");
  g_assert_cmpuint (f->fs->requests->len, ==, 3);
  outcome_clear (&o);

  /* Never visible: NOT_FOUND after the allowed retries (3 by default). */
  f->not_visible = 100;
  fetch (f, "s-2", &o);
  g_assert_error (o.error, WB_ERROR, WB_ERROR_NOT_FOUND);
  g_assert_cmpuint (f->fs->requests->len, ==, 3 + 4);
  outcome_clear (&o);
}

static void
test_unauthorized_refreshes_once (Fixture       *f,
                                  gconstpointer  data)
{
  Outcome o = { 0 };

  f->need_fresh_token = TRUE;
  fetch (f, "s-1", &o);
  g_assert_no_error (o.error);
  g_assert_cmpuint (f->refresh_calls, ==, 1);
  g_assert_cmpuint (f->fs->requests->len, ==, 2);
  g_assert_cmpstr (fake_server_last (f->fs)->authorization, ==, "Bearer fresh-token");
  outcome_clear (&o);

  /* A token that stays rejected: one refresh, then UNAUTHORIZED (no loop). */
  wb_rest_client_set_access_token (f->rest, "stale-token");
  wb_rest_client_set_refresh_func (f->rest, NULL, NULL, NULL);
  fetch (f, "s-2", &o);
  g_assert_error (o.error, WB_ERROR, WB_ERROR_UNAUTHORIZED);
  g_assert_cmpuint (f->fs->requests->len, ==, 3);
  outcome_clear (&o);
}

static void
test_rls_hidden (Fixture       *f,
                 gconstpointer  data)
{
  Outcome o = { 0 };

  f->rls_hidden = TRUE;
  fetch (f, "s-1", &o);
  g_assert_error (o.error, WB_ERROR, WB_ERROR_NOT_FOUND);
  g_assert_cmpuint (f->fs->requests->len, ==, 1);
  g_assert_cmpint (o.elapsed_us, <, G_USEC_PER_SEC);
  g_assert_cmpuint (wb_detail_fetcher_get_failures (f->fetcher), ==, 1);
  outcome_clear (&o);
}

static void
test_two_step_fallback (Fixture       *f,
                        gconstpointer  data)
{
  Outcome o = { 0 };

  f->no_embedding = TRUE;
  fetch (f, "s-1", &o);
  g_assert_no_error (o.error);
  g_assert_cmpstr (o.details->customer, ==, "Bo");
  g_assert_cmpstr (o.details->vehicle, ==, "Ford Focus");
  g_assert_cmpstr (o.details->concern, ==, "Oil leak");
  g_assert_cmpstr (fake_server_last (f->fs)->path, ==, "/rest/v1/intakes");
  g_assert_true (fake_query_has (fake_server_last (f->fs), "id=eq.in-s-1"));
  outcome_clear (&o);

  f->rls_hidden = TRUE;
  fetch (f, "s-2", &o);
  g_assert_error (o.error, WB_ERROR, WB_ERROR_NOT_FOUND);
  outcome_clear (&o);
}

static void
test_deadline (Fixture       *f,
               gconstpointer  data)
{
  Outcome o = { 0 };

  f->always_503 = TRUE;
  wb_detail_fetcher_set_deadline_ms (f->fetcher, 300);
  fetch (f, "s-1", &o);
  g_assert_true (g_error_matches (o.error, WB_ERROR, WB_ERROR_SERVER)
                 || g_error_matches (o.error, WB_ERROR, WB_ERROR_TIMEOUT));
  g_assert_cmpint (o.elapsed_us, <=, 600 * 1000);
  g_assert_cmpuint (wb_detail_fetcher_get_failures (f->fetcher), ==, 1);
  outcome_clear (&o);
}

static void
test_cancel (Fixture       *f,
             gconstpointer  data)
{
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  Outcome o = { 0 };

  f->delay_ms = 500;
  wb_detail_fetcher_fetch_async (f->fetcher, "s-1", cancellable, fetch_cb, &o);
  fake_run_for (30);
  g_cancellable_cancel (cancellable);
  fake_run_until (&o.done, 2000);
  g_assert_error (o.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpuint (wb_detail_fetcher_get_failures (f->fetcher), ==, 0);
  outcome_clear (&o);
  fake_run_for (600);   /* let the delayed server reply drain */
}

static void
test_bounded_concurrency (Fixture       *f,
                          gconstpointer  data)
{
  Outcome o[20] = { 0 };

  f->delay_ms = 30;
  f->fail_503 = 5;
  for (guint i = 0; i < G_N_ELEMENTS (o); i++)
    {
      g_autofree char *id = g_strdup_printf ("s-%u", i);

      o[i].started_us = g_get_monotonic_time ();
      wb_detail_fetcher_fetch_async (f->fetcher, id, NULL, fetch_cb, &o[i]);
      g_assert_cmpuint (wb_detail_fetcher_get_in_flight (f->fetcher), <=, 4);
    }
  for (guint i = 0; i < G_N_ELEMENTS (o); i++)
    {
      g_autofree char *id = g_strdup_printf ("s-%u", i);

      fake_run_until (&o[i].done, 10000);
      g_assert_no_error (o[i].error);
      g_assert_cmpstr (o[i].details->session_id, ==, id);
      outcome_clear (&o[i]);
    }
  g_assert_cmpuint (wb_detail_fetcher_get_max_in_flight_seen (f->fetcher), ==, 4);
  g_assert_cmpuint (f->fs->max_in_flight, <=, 4);
  g_assert_cmpuint (wb_detail_fetcher_get_in_flight (f->fetcher), ==, 0);
}

/* A burst: the first fetches take the free slots, the rest wait and go out together, one
 * `in.(…)` request per batch; an id with quotes, a comma and parentheses survives the list. */
static void
test_burst_batches (Fixture       *f,
                    gconstpointer  data)
{
  Outcome o[120] = { 0 };
  g_autofree char *odd = g_strdup ("s-\"odd\",(id)\\");

  f->delay_ms = 30;
  for (guint i = 0; i < G_N_ELEMENTS (o); i++)
    {
      g_autofree char *id = i == 7 ? g_strdup (odd) : g_strdup_printf ("s-%u", i);

      wb_detail_fetcher_fetch_async (f->fetcher, id, NULL, fetch_cb, &o[i]);
    }
  for (guint i = 0; i < G_N_ELEMENTS (o); i++)
    {
      g_autofree char *id = i == 7 ? g_strdup (odd) : g_strdup_printf ("s-%u", i);

      fake_run_until (&o[i].done, 10000);
      g_assert_no_error (o[i].error);
      g_assert_cmpstr (o[i].details->session_id, ==, id);
      g_assert_cmpstr (o[i].details->customer, ==, "Ana <b>Lima</b>");
      outcome_clear (&o[i]);
    }
  /* 4 alone (the slots were free), then 116 in batches of at most 50. */
  g_assert_cmpuint (f->ids_asked, ==, G_N_ELEMENTS (o));
  g_assert_cmpuint (f->fs->requests->len, <=, 4 + 3);
  g_assert_cmpuint (f->largest_ask, ==, 50);
  g_assert_cmpuint (wb_detail_fetcher_get_largest_batch (f->fetcher), ==, 50);
  g_assert_cmpuint (f->fs->max_in_flight, <=, 4);
  g_assert_cmpuint (wb_detail_fetcher_get_in_flight (f->fetcher), ==, 0);
}

/* A batch's answer lacks one session (not visible yet, or never): only that fetch retries and
 * finally fails as not found; the others of its batch succeed from the same answer. */
static void
test_batch_row_missing (Fixture       *f,
                        gconstpointer  data)
{
  Outcome o[12] = { 0 };

  f->delay_ms = 20;
  f->hidden_id = "s-9";
  for (guint i = 0; i < G_N_ELEMENTS (o); i++)
    {
      g_autofree char *id = g_strdup_printf ("s-%u", i);

      wb_detail_fetcher_fetch_async (f->fetcher, id, NULL, fetch_cb, &o[i]);
    }
  for (guint i = 0; i < G_N_ELEMENTS (o); i++)
    {
      fake_run_until (&o[i].done, 10000);
      if (i == 9)
        g_assert_error (o[i].error, WB_ERROR, WB_ERROR_NOT_FOUND);
      else
        g_assert_no_error (o[i].error);
      outcome_clear (&o[i]);
    }
  g_assert_cmpuint (f->largest_ask, >, 1);
  /* s-9 asked once in its batch, then alone on each of its 3 retries. */
  g_assert_cmpuint (f->ids_asked, ==, G_N_ELEMENTS (o) + 3);
}

/* With the real WbAuth as the refresh hook: 20 fetches that all meet an expired token cause
 * one refresh, and all succeed. */
static void
test_with_auth (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr(WbAuth) auth = wb_auth_new (f->rest);
  Outcome o[20] = { 0 };

  wb_auth_set_refresh_token (auth, "rt-1");
  wb_rest_client_set_refresh_func (f->rest, (WbRefreshFunc) wb_auth_refresh_async, auth,
                                      NULL);
  f->need_fresh_token = TRUE;
  f->delay_ms = 5;
  for (guint i = 0; i < G_N_ELEMENTS (o); i++)
    {
      g_autofree char *id = g_strdup_printf ("s-%u", i);

      wb_detail_fetcher_fetch_async (f->fetcher, id, NULL, fetch_cb, &o[i]);
    }
  for (guint i = 0; i < G_N_ELEMENTS (o); i++)
    {
      fake_run_until (&o[i].done, 10000);
      g_assert_no_error (o[i].error);
      outcome_clear (&o[i]);
    }
  g_assert_cmpuint (f->auth_refreshes, ==, 1);
  g_assert_cmpstr (wb_auth_get_access_token (auth), ==, "fresh-token");
  wb_rest_client_set_refresh_func (f->rest, NULL, NULL, NULL);
  wb_auth_sign_out (auth);
}

static void
test_parse (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) no_id = json_from_string ("[{\"intake\":{}}]", NULL);
  g_autoptr(JsonNode) obj = json_from_string ("{\"id\":\"x\",\"intake\":{\"vehicle_year\":\"2020\","
                                              "\"vehicle_model\":\"Model 3\"}}", NULL);
  g_autoptr(WbDetails) d = NULL;
  g_autofree char *v1 = wb_details_format_vehicle (2019, "Honda", "Civic");
  g_autofree char *v2 = wb_details_format_vehicle (0, NULL, "");

  g_assert_cmpstr (v1, ==, "2019 Honda Civic");
  g_assert_null (v2);
  g_assert_null (wb_details_parse (no_id, &error));
  g_assert_error (error, WB_ERROR, WB_ERROR_INVALID_DATA);
  d = wb_details_parse (obj, NULL);
  g_assert_cmpstr (d->vehicle, ==, "2020 Model 3");
  g_assert_null (d->customer);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
#define ADD(path, fn) g_test_add (path, Fixture, NULL, setup, fn, teardown)
  ADD ("/wb/detail-fetcher/success", test_success);
  ADD ("/wb/detail-fetcher/503-burst", test_503_burst);
  ADD ("/wb/detail-fetcher/retry-after", test_retry_after);
  ADD ("/wb/detail-fetcher/not-yet-visible", test_not_yet_visible);
  ADD ("/wb/detail-fetcher/unauthorized-refreshes-once", test_unauthorized_refreshes_once);
  ADD ("/wb/detail-fetcher/rls-hidden", test_rls_hidden);
  ADD ("/wb/detail-fetcher/two-step-fallback", test_two_step_fallback);
  ADD ("/wb/detail-fetcher/deadline", test_deadline);
  ADD ("/wb/detail-fetcher/cancel", test_cancel);
  ADD ("/wb/detail-fetcher/bounded-concurrency", test_bounded_concurrency);
  ADD ("/wb/detail-fetcher/with-auth", test_with_auth);
  ADD ("/wb/detail-fetcher/burst-batches", test_burst_batches);
  ADD ("/wb/detail-fetcher/batch-row-missing", test_batch_row_missing);
#undef ADD
  g_test_add_func ("/wb/detail-fetcher/parse", test_parse);
  return g_test_run ();
}
