/* test-acceptor.c: WbAcceptor against a scripted PostgREST: the RPC's answers (won, taken by a
 * name, gone, errors), 401 → refresh once, brief retries of transient failures, and one RPC per
 * assignment however many callers ask at once. */
#include "config.h"

#include "wb-acceptor.h"
#include "wb-error.h"
#include "wb-fake-rest.h"

#define APIKEY "anon-key-for-tests-0123456789"
#define AID    "0a5a1b2c-3d4e-4f50-8a6b-7c8d9e0f1a2b"
#define ME     "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"

typedef enum { ANSWER_WON, ANSWER_TAKEN, ANSWER_TAKEN_NO_DETAILS, ANSWER_GONE, ANSWER_404,
               ANSWER_403 } Answer;

typedef struct
{
  FakeServer   *fs;
  WbRestClient *rest;
  WbAcceptor   *acceptor;
  Answer        answer;
  guint         fail_503;       /* this many 503s first */
  gboolean      need_fresh_token;
  guint         delay_ms;
  guint         refresh_calls;
  guint         started;
  guint         done_signals;
  GString      *reply;
} Fixture;

static FakeReply
postgrest (FakeServer  *fs,
           FakeRequest *r,
           gpointer     data)
{
  Fixture *f = data;

  g_assert_cmpstr (r->method, ==, "POST");
  g_assert_cmpstr (r->path, ==, WB_ACCEPT_RPC_PATH);
  g_assert_cmpstr (r->body, ==, "{\"p_assignment_id\":\"" AID "\"}");
  if (f->need_fresh_token && g_strcmp0 (r->authorization, "Bearer fresh-token") != 0)
    return (FakeReply) { 401, "{\"code\":\"PGRST303\",\"message\":\"JWT expired\"}" };
  if (f->fail_503 > 0)
    {
      f->fail_503--;
      return (FakeReply) { 503, "{\"message\":\"db down\"}" };
    }
  switch (f->answer)
    {
    case ANSWER_WON:
      return (FakeReply) { 200, "{\"id\":\"" AID "\",\"session_id\":\"5E551011-0000-4000-8000-000000000001\","
                                "\"mechanic_id\":\"" ME "\",\"status\":\"accepted\","
                                "\"updated_at\":\"2026-11-20T10:00:01+00:00\"}", .delay_ms = f->delay_ms };
    case ANSWER_TAKEN:
      /* A name with a control character (an escape sequence) in it: it must not survive. */
      return (FakeReply) { 409, "{\"code\":\"PT409\",\"message\":\"already taken by Bob \\u001b[2J\","
                                "\"details\":\"Bob \\u001b[2J\",\"hint\":null}" };
    case ANSWER_TAKEN_NO_DETAILS:
      return (FakeReply) { 409, "{\"code\":\"PT409\",\"message\":\"already taken by Zoë\",\"details\":null}" };
    case ANSWER_GONE:
      return (FakeReply) { 410, "{\"code\":\"PT410\",\"message\":\"no longer queued (expired)\","
                                "\"details\":\"expired\"}" };
    case ANSWER_404:
      return (FakeReply) { 404, "{\"code\":\"PT404\",\"message\":\"no such assignment\"}" };
    case ANSWER_403:
    default:
      return (FakeReply) { 403, "{\"code\":\"42501\",\"message\":\"offered to another mechanic\"}" };
    }
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
on_started_cb (WbAcceptor *acceptor,
               const char *id,
               Fixture    *f)
{
  g_assert_cmpstr (id, ==, AID);
  f->started++;
}

static void
on_done_cb (WbAcceptor      *acceptor,
            WbAcceptOutcome *outcome,
            Fixture         *f)
{
  f->done_signals++;
}

static void
setup (Fixture       *f,
       gconstpointer  data)
{
  f->reply = g_string_new (NULL);
  f->fs = fake_server_new (postgrest, f);
  f->rest = wb_rest_client_new (f->fs->base_url, APIKEY);
  wb_rest_client_set_access_token (f->rest, "old-token");
  f->acceptor = wb_acceptor_new (f->rest);
  wb_acceptor_set_retry_delay_ms (f->acceptor, 20);
  wb_rest_client_set_refresh_func (f->rest, fake_refresh, f, NULL);
  g_signal_connect (f->acceptor, "started", G_CALLBACK (on_started_cb), f);
  g_signal_connect (f->acceptor, "done", G_CALLBACK (on_done_cb), f);
}

static void
teardown (Fixture       *f,
          gconstpointer  data)
{
  fake_run_for (20);
  g_assert_finalize_object (f->acceptor);
  g_assert_finalize_object (f->rest);
  fake_server_free (f->fs);
  g_string_free (f->reply, TRUE);
}

typedef struct
{
  gboolean         done;
  WbAcceptOutcome *outcome;
  GError          *error;
} Result;

static void
accept_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      data)
{
  Result *r = data;

  r->outcome = wb_acceptor_accept_finish (WB_ACCEPTOR (source), result, &r->error);
  r->done = TRUE;
}

static WbAcceptOutcome *
accept (Fixture    *f,
        const char *id)
{
  Result r = { 0 };

  wb_acceptor_accept_async (f->acceptor, id, NULL, accept_cb, &r);
  fake_run_until (&r.done, 5000);
  g_assert_no_error (r.error);
  g_assert_nonnull (r.outcome);
  return r.outcome;
}

static void
test_won (Fixture       *f,
          gconstpointer  data)
{
  g_autoptr(WbAcceptOutcome) o = accept (f, AID);
  g_autoptr(JsonNode) json = NULL;
  g_autofree char *text = NULL;

  g_assert_cmpint (o->result, ==, WB_ACCEPT_WON);
  g_assert_cmpstr (o->assignment_id, ==, AID);
  g_assert_cmpstr (o->session_id, ==, "5e551011-0000-4000-8000-000000000001");
  g_assert_cmpstr (o->mechanic_id, ==, ME);
  g_assert_cmpstr (o->status, ==, "accepted");
  g_assert_nonnull (o->row);
  g_assert_null (o->taken_by);
  g_assert_cmpint (wb_accept_result_exit_code (o->result), ==, 0);
  g_assert_cmpuint (f->started, ==, 1);
  g_assert_cmpuint (f->done_signals, ==, 1);
  g_assert_cmpstr (fake_server_last (f->fs)->authorization, ==, "Bearer old-token");

  json = wb_accept_outcome_to_json (o);
  text = json_to_string (json, FALSE);
  g_assert_nonnull (strstr (text, "\"outcome\":\"won\""));
  g_assert_nonnull (strstr (text, "\"assignment_id\":\"" AID "\""));
  g_assert_nonnull (strstr (text, "\"taken_by\":null"));
}

static void
test_taken_gone_and_errors (Fixture       *f,
                            gconstpointer  data)
{
  WbAcceptOutcome *o;

  f->answer = ANSWER_TAKEN;
  o = accept (f, AID);
  g_assert_cmpint (o->result, ==, WB_ACCEPT_TAKEN);
  g_assert_cmpstr (o->taken_by, ==, "Bob  [2J");        /* ESC became a space */
  g_assert_cmpstr (o->code, ==, "PT409");
  g_assert_cmpint (wb_accept_result_exit_code (o->result), ==, 3);
  wb_accept_outcome_free (o);

  f->answer = ANSWER_TAKEN_NO_DETAILS;
  o = accept (f, AID);
  g_assert_cmpint (o->result, ==, WB_ACCEPT_TAKEN);
  g_assert_cmpstr (o->taken_by, ==, "Zoë");              /* from the message */
  g_assert_cmpstr (o->message, ==, "already taken by Zoë");
  wb_accept_outcome_free (o);

  f->answer = ANSWER_GONE;
  o = accept (f, AID);
  g_assert_cmpint (o->result, ==, WB_ACCEPT_GONE);
  g_assert_cmpstr (o->status, ==, "expired");
  g_assert_cmpstr (o->message, ==, "no longer queued (expired)");
  g_assert_cmpint (wb_accept_result_exit_code (o->result), ==, 4);
  wb_accept_outcome_free (o);

  f->answer = ANSWER_404;
  o = accept (f, AID);
  g_assert_cmpint (o->result, ==, WB_ACCEPT_FAILED);
  g_assert_cmpstr (o->code, ==, "PT404");
  g_assert_cmpstr (o->message, ==, "no such assignment");
  g_assert_cmpint (wb_accept_result_exit_code (o->result), ==, 1);
  wb_accept_outcome_free (o);

  f->answer = ANSWER_403;
  o = accept (f, AID);
  g_assert_cmpint (o->result, ==, WB_ACCEPT_FAILED);
  g_assert_cmpstr (o->message, ==, "offered to another mechanic");
  wb_accept_outcome_free (o);

  /* Each of these was one request: nothing retried a definite answer. */
  g_assert_cmpuint (fake_server_count (f->fs, WB_ACCEPT_RPC_PATH), ==, 5);
  g_assert_cmpuint (f->done_signals, ==, 5);
}

static void
test_refresh_once (Fixture       *f,
                   gconstpointer  data)
{
  g_autoptr(WbAcceptOutcome) o = NULL;

  f->need_fresh_token = TRUE;
  o = accept (f, AID);
  g_assert_cmpint (o->result, ==, WB_ACCEPT_WON);
  g_assert_cmpuint (f->refresh_calls, ==, 1);
  g_assert_cmpuint (fake_server_count (f->fs, NULL), ==, 2);
  g_assert_cmpstr (fake_server_last (f->fs)->authorization, ==, "Bearer fresh-token");
}

static void
test_refresh_does_not_help (Fixture       *f,
                            gconstpointer  data)
{
  g_autoptr(WbAcceptOutcome) o = NULL;

  /* The refresh hands out a token the server still refuses: one refresh, then the answer. */
  f->need_fresh_token = TRUE;
  wb_rest_client_set_refresh_func (f->rest, NULL, NULL, NULL);
  o = accept (f, AID);
  g_assert_cmpint (o->result, ==, WB_ACCEPT_FAILED);
  g_assert_cmpstr (o->message, ==, "JWT expired");
  g_assert_cmpuint (fake_server_count (f->fs, NULL), ==, 1);
}

static void
test_transient_retried_briefly (Fixture       *f,
                                gconstpointer  data)
{
  WbAcceptOutcome *o;

  f->fail_503 = 2;
  o = accept (f, AID);
  g_assert_cmpint (o->result, ==, WB_ACCEPT_WON);
  g_assert_cmpuint (fake_server_count (f->fs, NULL), ==, 3);
  wb_accept_outcome_free (o);

  f->fail_503 = WB_ACCEPT_MAX_ATTEMPTS;
  o = accept (f, AID);
  g_assert_cmpint (o->result, ==, WB_ACCEPT_FAILED);
  g_assert_cmpstr (o->message, ==, "db down");
  g_assert_cmpuint (fake_server_count (f->fs, NULL), ==, 3 + WB_ACCEPT_MAX_ATTEMPTS);
  wb_accept_outcome_free (o);
}

static void
test_one_rpc_for_every_caller (Fixture       *f,
                               gconstpointer  data)
{
  Result r[3] = { { 0 } };

  f->delay_ms = 100;
  for (guint i = 0; i < G_N_ELEMENTS (r); i++)
    wb_acceptor_accept_async (f->acceptor, i == 2 ? "0A5A1B2C-3D4E-4F50-8A6B-7C8D9E0F1A2B" : AID,
                              NULL, accept_cb, &r[i]);
  g_assert_true (wb_acceptor_is_accepting (f->acceptor, AID));
  fake_run_until (&r[2].done, 5000);
  for (guint i = 0; i < G_N_ELEMENTS (r); i++)
    {
      g_assert_true (r[i].done);
      g_assert_no_error (r[i].error);
      g_assert_cmpint (r[i].outcome->result, ==, WB_ACCEPT_WON);
      wb_accept_outcome_free (r[i].outcome);
    }
  g_assert_cmpuint (fake_server_count (f->fs, NULL), ==, 1);
  g_assert_cmpuint (f->started, ==, 1);
  g_assert_cmpuint (f->done_signals, ==, 1);
  g_assert_false (wb_acceptor_is_accepting (f->acceptor, AID));
}

static void
test_not_an_id (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr(WbAcceptOutcome) o = accept (f, "1; drop table x\n\033[2J");

  g_assert_cmpint (o->result, ==, WB_ACCEPT_FAILED);
  g_assert_cmpstr (o->message, ==, "not an assignment id");
  g_assert_null (strchr (o->assignment_id, '\033'));
  g_assert_cmpuint (fake_server_count (f->fs, NULL), ==, 0);
  g_assert_cmpuint (f->started, ==, 0);
}

static void
test_answer_shapes (void)
{
  g_autoptr(JsonNode) array = json_from_string ("[{\"id\":\"" AID "\",\"status\":\"accepted\"}]", NULL);
  g_autoptr(JsonNode) other = json_from_string ("{\"id\":\"" AID "\",\"status\":\"queued\"}", NULL);
  g_autoptr(JsonNode) wrong = json_from_string ("{\"id\":\"ffffffff-ffff-4fff-8fff-ffffffffffff\","
                                                "\"status\":\"accepted\"}", NULL);
  WbAcceptOutcome *o;

  o = wb_accept_outcome_from_answer (AID, 200, array, NULL, NULL, NULL);
  g_assert_cmpint (o->result, ==, WB_ACCEPT_WON);
  wb_accept_outcome_free (o);
  o = wb_accept_outcome_from_answer (AID, 200, other, NULL, NULL, NULL);
  g_assert_cmpint (o->result, ==, WB_ACCEPT_FAILED);
  wb_accept_outcome_free (o);
  o = wb_accept_outcome_from_answer (AID, 200, wrong, NULL, NULL, NULL);
  g_assert_cmpint (o->result, ==, WB_ACCEPT_FAILED);
  wb_accept_outcome_free (o);
  o = wb_accept_outcome_from_answer (AID, 200, NULL, NULL, NULL, NULL);
  g_assert_cmpint (o->result, ==, WB_ACCEPT_FAILED);
  wb_accept_outcome_free (o);
  /* PT409 without any name still says it was taken. */
  o = wb_accept_outcome_from_answer (AID, 409, NULL, "PT409", NULL, NULL);
  g_assert_cmpint (o->result, ==, WB_ACCEPT_TAKEN);
  g_assert_null (o->taken_by);
  g_assert_cmpstr (o->message, ==, "already taken by another mechanic");
  wb_accept_outcome_free (o);
  /* Transport failures: no status, the error's text. */
  o = wb_accept_outcome_from_answer (AID, 0, NULL, NULL, "connection refused", NULL);
  g_assert_cmpint (o->result, ==, WB_ACCEPT_FAILED);
  g_assert_cmpstr (o->message, ==, "connection refused");
  wb_accept_outcome_free (o);
}

static void
test_dashboard_url (void)
{
  const char *sid = "5e551011-0000-4000-8000-000000000001";
  g_autofree char *a = wb_accept_dashboard_url ("https://app.example.com/mechanic/sessions/{session_id}", sid, AID);
  g_autofree char *b = wb_accept_dashboard_url ("http://127.0.0.1:8080/a/{assignment_id}?s={session_id}", sid, AID);
  g_autofree char *c = wb_accept_dashboard_url ("https://app.example.com/s/{session_id}", "a/b c?d", AID);

  g_assert_cmpstr (a, ==, "https://app.example.com/mechanic/sessions/5e551011-0000-4000-8000-000000000001");
  g_assert_cmpstr (b, ==, "http://127.0.0.1:8080/a/" AID "?s=5e551011-0000-4000-8000-000000000001");
  g_assert_cmpstr (c, ==, "https://app.example.com/s/a%2Fb%20c%3Fd");
  g_assert_null (wb_accept_dashboard_url ("", sid, AID));
  g_assert_null (wb_accept_dashboard_url (NULL, sid, AID));
  g_assert_null (wb_accept_dashboard_url ("https://app.example.com/s/{session_id}", NULL, AID));
  g_assert_null (wb_accept_dashboard_url ("file:///etc/passwd?{session_id}", sid, AID));
  g_assert_null (wb_accept_dashboard_url ("javascript:alert(1)//{assignment_id}", sid, AID));
  g_assert_null (wb_accept_dashboard_url ("not a url {session_id}", sid, AID));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, fn) g_test_add (path, Fixture, NULL, setup, fn, teardown)
  ADD ("/acceptor/won", test_won);
  ADD ("/acceptor/taken-gone-errors", test_taken_gone_and_errors);
  ADD ("/acceptor/refresh-once", test_refresh_once);
  ADD ("/acceptor/refresh-does-not-help", test_refresh_does_not_help);
  ADD ("/acceptor/transient-retried-briefly", test_transient_retried_briefly);
  ADD ("/acceptor/one-rpc-for-every-caller", test_one_rpc_for_every_caller);
  ADD ("/acceptor/not-an-id", test_not_an_id);
  g_test_add_func ("/acceptor/answer-shapes", test_answer_shapes);
  g_test_add_func ("/acceptor/dashboard-url", test_dashboard_url);
  return g_test_run ();
}
