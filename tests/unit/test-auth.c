#include "config.h"

#include "wb-auth.h"
#include "wb-auth-tokens.h"
#include "wb-error.h"
#include "wb-fake-rest.h"

#define APIKEY "anon-key-for-tests-0123456789"

typedef struct
{
  guint    serial;          /* last issued token number */
  guint    lifetime_s;
  gboolean revoked;         /* refresh answers 400 refresh_token_already_used */
  guint    fail_5xx;        /* this many refreshes answer 503 first */
  guint    refresh_delay_ms;
  guint    refreshes;       /* refresh grant requests seen */
  gboolean expired_jwt;     /* no expires_in, and the access token's exp has passed */
  char    *last_refresh_token_sent;
  char     reply[512];
} GoTrue;

static FakeReply
gotrue (FakeServer  *fs,
        FakeRequest *r,
        gpointer     data)
{
  GoTrue *gt = data;
  g_autoptr(JsonNode) body = r->body ? json_from_string (r->body, NULL) : NULL;
  JsonObject *obj = body ? json_node_get_object (body) : NULL;

  g_assert_cmpstr (r->path, ==, "/auth/v1/token");
  g_assert_cmpstr (r->api_version, ==, "2024-01-01");
  g_assert_cmpstr (r->authorization, ==, "Bearer " APIKEY);
  if (fake_query_has (r, "grant_type=password"))
    {
      if (g_strcmp0 (json_object_get_string_member (obj, "password"), "good") != 0)
        return (FakeReply) { 400, "{\"code\":\"invalid_credentials\","
                                  "\"message\":\"Invalid login credentials\"}",
                             .error_code = "invalid_credentials" };
    }
  else
    {
      g_assert_true (fake_query_has (r, "grant_type=refresh_token"));
      gt->refreshes++;
      g_free (gt->last_refresh_token_sent);
      gt->last_refresh_token_sent = g_strdup (json_object_get_string_member (obj, "refresh_token"));
      if (gt->fail_5xx > 0)
        {
          gt->fail_5xx--;
          return (FakeReply) { 503, "{\"message\":\"upstream down\"}" };
        }
      if (gt->revoked)
        return (FakeReply) { 400, "{\"code\":\"refresh_token_already_used\","
                                  "\"message\":\"Invalid Refresh Token: Already Used\"}",
                             .error_code = "refresh_token_already_used" };
    }
  gt->serial++;
  if (gt->expired_jwt)
    {
      /* {"alg":"HS256"} . {"sub":"user-1","exp":1000000000} (2001) . signature */
      g_snprintf (gt->reply, sizeof gt->reply,
                  "{\"access_token\":\"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyLTEiLCJleHAiOjEwMDAwMDAwMDB9.c2ln\","
                  "\"token_type\":\"bearer\",\"refresh_token\":\"rt-%u\"}", gt->serial);
      return (FakeReply) { 200, gt->reply };
    }
  g_snprintf (gt->reply, sizeof gt->reply,
              "{\"access_token\":\"at-%u\",\"token_type\":\"bearer\",\"expires_in\":%u,"
              "\"refresh_token\":\"rt-%u\",\"user\":{\"id\":\"user-1\"}}",
              gt->serial, gt->lifetime_s, gt->serial);
  return (FakeReply) { 200, gt->reply, .delay_ms = gt->refresh_delay_ms };
}

typedef struct
{
  GoTrue      gt;
  FakeServer *fs;
  WbRestClient *rest;
  WbAuth     *auth;
  guint       token_changed;
  guint       signed_out;
  char       *signed_out_message;
} Fixture;

static void
on_token_changed_cb (WbAuth  *auth,
                     Fixture *f)
{
  f->token_changed++;
}

static void
on_signed_out_cb (WbAuth     *auth,
                  const char *message,
                  Fixture    *f)
{
  f->signed_out++;
  g_free (f->signed_out_message);
  f->signed_out_message = g_strdup (message);
}

static void
setup (Fixture       *f,
       gconstpointer  data)
{
  f->gt.lifetime_s = 3600;
  f->fs = fake_server_new (gotrue, &f->gt);
  f->rest = wb_rest_client_new (f->fs->base_url, APIKEY);
  f->auth = wb_auth_new (f->rest);
  wb_auth_set_retry_backoff (f->auth, 10, 50, 4);
  g_signal_connect (f->auth, "token-changed", G_CALLBACK (on_token_changed_cb), f);
  g_signal_connect (f->auth, "signed-out", G_CALLBACK (on_signed_out_cb), f);
}

static void
teardown (Fixture       *f,
          gconstpointer  data)
{
  g_assert_finalize_object (f->auth);
  g_assert_finalize_object (f->rest);
  fake_server_free (f->fs);
  g_free (f->gt.last_refresh_token_sent);
  g_free (f->signed_out_message);
}

typedef struct
{
  gboolean done;
  gboolean ok;
  GError  *error;
} Outcome;

static void
sign_in_cb (GObject      *source,
            GAsyncResult *result,
            gpointer      data)
{
  Outcome *o = data;

  o->ok = wb_auth_sign_in_password_finish (WB_AUTH (source), result, &o->error);
  o->done = TRUE;
}

static void
refresh_cb (GObject      *source,
            GAsyncResult *result,
            gpointer      data)
{
  Outcome *o = data;

  o->ok = wb_auth_refresh_finish (WB_AUTH (source), result, &o->error);
  o->done = TRUE;
}

static void
sign_in (Fixture    *f,
         const char *password,
         Outcome    *o)
{
  wb_auth_sign_in_password_async (f->auth, "mech@example.com", password, NULL, sign_in_cb, o);
  g_assert_cmpint (wb_auth_get_state (f->auth), ==, WB_AUTH_STATE_SIGNING_IN);
  fake_run_until (&o->done, 5000);
}

static void
test_sign_in (Fixture       *f,
              gconstpointer  data)
{
  Outcome o = { 0 };
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;

  sign_in (f, "good", &o);
  g_assert_no_error (o.error);
  g_assert_true (o.ok);
  g_assert_cmpint (wb_auth_get_state (f->auth), ==, WB_AUTH_STATE_SIGNED_IN);
  g_assert_cmpstr (wb_auth_get_access_token (f->auth), ==, "at-1");
  g_assert_cmpstr (wb_auth_get_refresh_token (f->auth), ==, "rt-1");
  g_assert_cmpstr (wb_auth_get_user_id (f->auth), ==, "user-1");
  g_assert_cmpint (wb_auth_get_expires_at (f->auth), >=, now + 3599);
  g_assert_cmpint (wb_auth_get_expires_at (f->auth), <=, now + 3601);
  g_assert_true (wb_rest_client_has_access_token (f->rest));
  g_assert_cmpuint (f->token_changed, ==, 1);
  /* Scheduled at least 90 s ahead of expiry. */
  g_assert_cmpint (wb_auth_get_next_refresh_in_ms (f->auth), <=, (3600 - 90) * 1000);
  g_assert_cmpint (wb_auth_get_next_refresh_in_ms (f->auth), >, (3600 - 100) * 1000);

  wb_auth_sign_out (f->auth);
  g_assert_cmpint (wb_auth_get_state (f->auth), ==, WB_AUTH_STATE_SIGNED_OUT);
  g_assert_null (wb_auth_get_access_token (f->auth));
  g_assert_false (wb_rest_client_has_access_token (f->rest));
  g_assert_cmpint (wb_auth_get_next_refresh_in_ms (f->auth), ==, -1);
  g_assert_cmpuint (f->signed_out, ==, 1);
}

static void
test_invalid_credentials (Fixture       *f,
                          gconstpointer  data)
{
  Outcome o = { 0 };

  sign_in (f, "wrong", &o);
  g_assert_error (o.error, WB_ERROR, WB_ERROR_UNAUTHORIZED);
  g_assert_nonnull (strstr (o.error->message, "Invalid login credentials"));
  g_assert_null (strstr (o.error->message, "wrong"));
  g_assert_cmpint (wb_auth_get_state (f->auth), ==, WB_AUTH_STATE_SIGNED_OUT);
  g_assert_null (wb_auth_get_access_token (f->auth));
  g_assert_cmpuint (f->token_changed, ==, 0);
  g_clear_error (&o.error);
}

static void
test_refresh_rotation (Fixture       *f,
                       gconstpointer  data)
{
  Outcome o = { 0 };
  Outcome r = { 0 };

  sign_in (f, "good", &o);
  wb_auth_refresh_async (f->auth, NULL, refresh_cb, &r);
  g_assert_cmpint (wb_auth_get_state (f->auth), ==, WB_AUTH_STATE_REFRESHING);
  fake_run_until (&r.done, 5000);
  g_assert_no_error (r.error);
  g_assert_cmpstr (f->gt.last_refresh_token_sent, ==, "rt-1");
  g_assert_cmpstr (wb_auth_get_refresh_token (f->auth), ==, "rt-2");
  g_assert_cmpstr (wb_auth_get_access_token (f->auth), ==, "at-2");
  g_assert_cmpint (wb_auth_get_state (f->auth), ==, WB_AUTH_STATE_SIGNED_IN);
  g_assert_cmpuint (f->token_changed, ==, 2);
}

static void
test_refresh_ahead_of_expiry (Fixture       *f,
                              gconstpointer  data)
{
  Outcome o = { 0 };

  f->gt.lifetime_s = 1;   /* short-lived: refreshed at half the lifetime */
  sign_in (f, "good", &o);
  g_assert_cmpint (wb_auth_get_next_refresh_in_ms (f->auth), <=, 500);
  fake_run_for (1300);
  g_assert_cmpuint (f->gt.refreshes, >=, 2);
  g_assert_cmpuint (f->gt.refreshes, <=, 3);
  g_assert_cmpint (wb_auth_get_state (f->auth), !=, WB_AUTH_STATE_SIGNED_OUT);
  g_assert_cmpuint (f->token_changed, ==, 1 + f->gt.refreshes);
  /* Each refresh sent the token of the previous rotation. */
  {
    g_autofree char *expected = g_strdup_printf ("rt-%u", f->gt.serial - 1);

    g_assert_cmpstr (f->gt.last_refresh_token_sent, ==, expected);
  }
  wb_auth_sign_out (f->auth);
}

static void
test_revoked_signs_out_once (Fixture       *f,
                             gconstpointer  data)
{
  Outcome o = { 0 };
  Outcome r1 = { 0 };
  Outcome r2 = { 0 };

  f->gt.lifetime_s = 1;
  sign_in (f, "good", &o);
  f->gt.revoked = TRUE;
  wb_auth_refresh_async (f->auth, NULL, refresh_cb, &r1);
  wb_auth_refresh_async (f->auth, NULL, refresh_cb, &r2);
  fake_run_until (&r2.done, 5000);
  g_assert_true (r1.done);
  g_assert_error (r1.error, WB_ERROR, WB_ERROR_SIGNED_OUT);
  g_assert_error (r2.error, WB_ERROR, WB_ERROR_SIGNED_OUT);
  g_assert_nonnull (strstr (r1.error->message, "Already Used"));
  g_assert_cmpint (wb_auth_get_state (f->auth), ==, WB_AUTH_STATE_SIGNED_OUT);
  g_assert_cmpuint (f->signed_out, ==, 1);
  g_assert_nonnull (strstr (f->signed_out_message, "Already Used"));

  /* No loop: nothing scheduled, nothing more sent, refresh_soon is a no-op. */
  wb_auth_refresh_soon (f->auth, "after suspend");
  fake_run_for (1200);
  g_assert_cmpuint (f->gt.refreshes, ==, 1);
  g_assert_cmpuint (f->signed_out, ==, 1);
  g_assert_cmpint (wb_auth_get_next_refresh_in_ms (f->auth), ==, -1);
  g_clear_error (&r1.error);
  g_clear_error (&r2.error);
}

static void
test_revoked_on_schedule (Fixture       *f,
                          gconstpointer  data)
{
  Outcome o = { 0 };

  f->gt.lifetime_s = 1;
  sign_in (f, "good", &o);
  f->gt.revoked = TRUE;
  fake_run_for (1500);
  g_assert_cmpuint (f->gt.refreshes, ==, 1);
  g_assert_cmpuint (f->signed_out, ==, 1);
  g_assert_cmpint (wb_auth_get_state (f->auth), ==, WB_AUTH_STATE_SIGNED_OUT);
}

static void
test_coalescing (Fixture       *f,
                 gconstpointer  data)
{
  Outcome o = { 0 };
  Outcome r[5] = { 0 };

  sign_in (f, "good", &o);
  f->gt.refresh_delay_ms = 100;
  for (guint i = 0; i < G_N_ELEMENTS (r); i++)
    {
      wb_auth_refresh_async (f->auth, NULL, refresh_cb, &r[i]);
      wb_auth_refresh_soon (f->auth, "401");
    }
  for (guint i = 0; i < G_N_ELEMENTS (r); i++)
    {
      fake_run_until (&r[i].done, 5000);
      g_assert_no_error (r[i].error);
      g_assert_true (r[i].ok);
    }
  g_assert_cmpuint (f->gt.refreshes, ==, 1);
  g_assert_cmpuint (wb_auth_get_refresh_requests (f->auth), ==, 1);
  g_assert_cmpstr (wb_auth_get_access_token (f->auth), ==, "at-2");
}

static void
test_transient_retry (Fixture       *f,
                      gconstpointer  data)
{
  Outcome o = { 0 };
  Outcome r = { 0 };

  sign_in (f, "good", &o);
  f->gt.fail_5xx = 2;
  wb_auth_refresh_async (f->auth, NULL, refresh_cb, &r);
  fake_run_until (&r.done, 5000);
  g_assert_no_error (r.error);
  g_assert_cmpuint (f->gt.refreshes, ==, 3);
  g_assert_cmpint (wb_auth_get_state (f->auth), ==, WB_AUTH_STATE_SIGNED_IN);
  g_assert_cmpuint (f->signed_out, ==, 0);

  /* Longer outage: the caller hears back after 4 attempts, the round continues. */
  f->gt.fail_5xx = 6;
  r.done = FALSE;
  wb_auth_refresh_async (f->auth, NULL, refresh_cb, &r);
  fake_run_until (&r.done, 5000);
  g_assert_error (r.error, WB_ERROR, WB_ERROR_SERVER);
  g_assert_cmpint (wb_auth_get_state (f->auth), ==, WB_AUTH_STATE_REFRESHING);
  g_clear_error (&r.error);
  while (wb_auth_get_state (f->auth) != WB_AUTH_STATE_SIGNED_IN)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (f->gt.fail_5xx, ==, 0);
  g_assert_cmpuint (f->signed_out, ==, 0);
}

static void
test_stored_refresh_token (Fixture       *f,
                           gconstpointer  data)
{
  Outcome r = { 0 };

  wb_auth_refresh_async (f->auth, NULL, refresh_cb, &r);
  fake_run_until (&r.done, 5000);
  g_assert_error (r.error, WB_ERROR, WB_ERROR_SIGNED_OUT);
  g_clear_error (&r.error);
  g_assert_cmpuint (f->gt.refreshes, ==, 0);

  wb_auth_set_refresh_token (f->auth, "rt-from-keyring");
  r.done = FALSE;
  wb_auth_refresh_async (f->auth, NULL, refresh_cb, &r);
  fake_run_until (&r.done, 5000);
  g_assert_no_error (r.error);
  g_assert_cmpstr (f->gt.last_refresh_token_sent, ==, "rt-from-keyring");
  g_assert_cmpint (wb_auth_get_state (f->auth), ==, WB_AUTH_STATE_SIGNED_IN);
  g_assert_cmpstr (wb_auth_get_user_id (f->auth), ==, "user-1");
  g_assert_cmpuint (f->token_changed, ==, 1);
}

static void
test_parse (void)
{
  /* {"sub":"abc","exp":2000000000} */
  const char *jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhYmMiLCJleHAiOjIwMDAwMDAwMDB9.sig";
  g_autofree char *text = g_strdup_printf ("{\"access_token\":\"%s\",\"refresh_token\":\"r\"}", jwt);
  g_autoptr(JsonNode) node = json_from_string (text, NULL);
  g_autoptr(JsonNode) bad = json_from_string ("{\"access_token\":\"a\"}", NULL);
  g_autoptr(GError) error = NULL;
  WbAuthTokens t;

  g_assert_true (wb_auth_parse_token_response (node, 1999999000, &t, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (t.user_id, ==, "abc");
  g_assert_cmpint (t.expires_at, ==, 2000000000);
  g_assert_cmpint (t.expires_in, ==, 1000);
  wb_auth_tokens_clear (&t);

  g_assert_false (wb_auth_parse_token_response (bad, 0, &t, &error));
  g_assert_error (error, WB_ERROR, WB_ERROR_INVALID_DATA);
  g_assert_null (wb_auth_decode_jwt_claims ("not-a-jwt"));
  g_assert_null (wb_auth_decode_jwt_claims ("a.!!!.c"));
}

/* A server that answers every refresh with a token that has already expired (no expires_in, an
 * exp in the past) is asked again with a growing backoff, not every 10 ms. */
static void
test_expired_token_backs_off (Fixture       *f,
                              gconstpointer  data)
{
  Outcome o = { 0 };
  gint64 next;

  wb_auth_set_retry_backoff (f->auth, 100, 400, 4);
  f->gt.expired_jwt = TRUE;
  sign_in (f, "good", &o);
  g_assert_no_error (o.error);
  g_assert_cmpint (wb_auth_get_expires_at (f->auth), ==, 1000000000);
  /* The jittered backoff never waits less than half its base. */
  next = wb_auth_get_next_refresh_in_ms (f->auth);
  g_assert_cmpint (next, >=, 50 - 5);

  fake_run_for (1000);
  g_test_message ("%u refreshes in 1 s", f->gt.refreshes);
  /* At most one per 50 ms (the backoff's floor), and in fact far fewer as it grows; it used to
   * be one per 10 ms (~100). */
  g_assert_cmpuint (f->gt.refreshes, >=, 1);
  g_assert_cmpuint (f->gt.refreshes, <=, 1000 / 50);
  g_assert_cmpint (wb_auth_get_state (f->auth), !=, WB_AUTH_STATE_SIGNED_OUT);
  wb_auth_sign_out (f->auth);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
#define ADD(path, fn) g_test_add (path, Fixture, NULL, setup, fn, teardown)
  ADD ("/wb/auth/sign-in", test_sign_in);
  ADD ("/wb/auth/invalid-credentials", test_invalid_credentials);
  ADD ("/wb/auth/refresh-rotation", test_refresh_rotation);
  ADD ("/wb/auth/refresh-ahead-of-expiry", test_refresh_ahead_of_expiry);
  ADD ("/wb/auth/revoked-signs-out-once", test_revoked_signs_out_once);
  ADD ("/wb/auth/revoked-on-schedule", test_revoked_on_schedule);
  ADD ("/wb/auth/coalescing", test_coalescing);
  ADD ("/wb/auth/transient-retry", test_transient_retry);
  ADD ("/wb/auth/stored-refresh-token", test_stored_refresh_token);
  ADD ("/wb/auth/expired-token-backs-off", test_expired_token_backs_off);
#undef ADD
  g_test_add_func ("/wb/auth/parse", test_parse);
  return g_test_run ();
}
