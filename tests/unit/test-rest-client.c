#include "config.h"

#include "wb-error.h"
#include "wb-rest-client.h"
#include "wb-fake-rest.h"
#include "wb-url-policy.h"

#define APIKEY "anon-key-for-tests-0123456789"
#define TOKEN  "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyIn0.secret-signature-xyz"

static FakeReply
route (FakeServer  *fs,
       FakeRequest *r,
       gpointer     data)
{
  static char echo[512];

  if (g_str_equal (r->path, "/ok"))
    return (FakeReply) { 200, "[{\"id\":\"a\"}]" };
  if (g_str_equal (r->path, "/empty"))
    return (FakeReply) { 204, NULL };
  if (g_str_equal (r->path, "/garbage"))
    return (FakeReply) { 200, "{not json" };
  if (g_str_equal (r->path, "/expired"))
    return (FakeReply) { 401, "{\"code\":\"PGRST303\",\"details\":null,\"hint\":null,"
                              "\"message\":\"JWT expired\"}" };
  if (g_str_equal (r->path, "/expired12"))
    return (FakeReply) { 401, "{\"code\":\"PGRST301\",\"message\":\"JWT expired\"}" };
  if (g_str_equal (r->path, "/forbidden"))
    return (FakeReply) { 403, "{\"code\":\"42501\",\"message\":\"permission denied\"}" };
  if (g_str_equal (r->path, "/missing"))
    return (FakeReply) { 404, "{\"code\":\"PGRST205\",\"message\":\"no table\"}" };
  if (g_str_equal (r->path, "/single"))
    return (FakeReply) { 406, "{\"code\":\"PGRST116\",\"details\":\"The result contains 0 rows\","
                              "\"hint\":null,\"message\":\"Cannot coerce the result to a single "
                              "JSON object\"}" };
  if (g_str_equal (r->path, "/limited"))
    return (FakeReply) { 429, "{\"message\":\"slow down\"}", "2" };
  if (g_str_equal (r->path, "/down"))
    return (FakeReply) { 503, "{\"code\":\"PGRST001\",\"message\":\"db down\"}", "1" };
  if (g_str_equal (r->path, "/html500"))
    return (FakeReply) { 500, NULL };
  if (g_str_equal (r->path, "/bad"))
    return (FakeReply) { 400, "{\"code\":400,\"error_code\":\"validation_failed\",\"msg\":\"bad\"}" };
  if (g_str_equal (r->path, "/echo"))
    {
      /* A hostile server that puts the credentials into its error message. */
      g_snprintf (echo, sizeof echo, "{\"message\":\"bad token %s with key %s\"}",
                  r->authorization ? r->authorization : "", r->apikey ? r->apikey : "");
      return (FakeReply) { 401, echo };
    }
  if (g_str_equal (r->path, "/never"))
    return (FakeReply) { .never = TRUE };
  if (g_str_equal (r->path, "/fresh-only"))
    return g_strcmp0 (r->authorization, "Bearer fresh-token") == 0
           ? (FakeReply) { 200, "[{\"id\":\"a\"}]", .delay_ms = 10 }
           : (FakeReply) { 401, "{\"code\":\"PGRST303\",\"message\":\"JWT expired\"}", .delay_ms = 10 };
  return (FakeReply) { 404, NULL };
}

typedef struct
{
  gboolean  done;
  JsonNode *node;
  guint     status;
  guint     retry_after_ms;
  char     *code;
  GError   *error;
} Result;

static void
result_clear (Result *r)
{
  g_clear_pointer (&r->node, json_node_unref);
  g_clear_pointer (&r->code, g_free);
  g_clear_error (&r->error);
  r->done = FALSE;
}

static void
done_cb (GObject      *source,
         GAsyncResult *result,
         gpointer      data)
{
  Result *r = data;

  r->node = wb_rest_client_request_finish_full (WB_REST_CLIENT (source), result, &r->status,
                                                &r->retry_after_ms, &r->code, &r->error);
  r->done = TRUE;
}

static void
request (WbRestClient *client,
         const char   *path,
         WbRestFlags   flags,
         Result       *r)
{
  result_clear (r);
  wb_rest_client_request_async (client, "GET", path, NULL, flags, NULL, done_cb, r);
  fake_run_until (&r->done, 5000);
}

static void
test_headers (void)
{
  FakeServer *fs = fake_server_new (route, NULL);
  g_autoptr(WbRestClient) client = wb_rest_client_new (fs->base_url, APIKEY);
  Result r = { 0 };
  FakeRequest *req;

  request (client, "/ok?select=id&id=eq.1", WB_REST_FLAGS_NONE, &r);
  g_assert_no_error (r.error);
  g_assert_cmpuint (r.status, ==, 200);
  g_assert_true (JSON_NODE_HOLDS_ARRAY (r.node));
  req = fake_server_last (fs);
  g_assert_cmpstr (req->apikey, ==, APIKEY);
  g_assert_cmpstr (req->authorization, ==, "Bearer " APIKEY);
  g_assert_cmpstr (req->accept, ==, "application/json");
  g_assert_cmpstr (req->query, ==, "select=id&id=eq.1");
  g_assert_null (req->api_version);

  wb_rest_client_set_access_token (client, TOKEN);
  request (client, "/ok", WB_REST_FLAGS_OBJECT, &r);
  req = fake_server_last (fs);
  g_assert_cmpstr (req->authorization, ==, "Bearer " TOKEN);
  g_assert_cmpstr (req->accept, ==, "application/vnd.pgrst.object+json");

  request (client, "/ok", WB_REST_FLAGS_AUTH, &r);
  req = fake_server_last (fs);
  g_assert_cmpstr (req->authorization, ==, "Bearer " APIKEY);
  g_assert_cmpstr (req->api_version, ==, "2024-01-01");

  /* A JSON body is sent as such. */
  {
    g_autoptr(JsonNode) body = json_from_string ("{\"a\":1}", NULL);

    result_clear (&r);
    wb_rest_client_request_async (client, "POST", "/ok", body, WB_REST_FLAGS_NONE, NULL, done_cb,
                                  &r);
    fake_run_until (&r.done, 5000);
    g_assert_cmpstr (fake_server_last (fs)->body, ==, "{\"a\":1}");
    g_assert_cmpstr (fake_server_last (fs)->method, ==, "POST");
  }

  result_clear (&r);
  g_clear_object (&client);
  fake_server_free (fs);
}

static void
test_status_mapping (void)
{
  struct { const char *path; guint status; GQuark domain; int code; const char *in_message; }
  table[] = {
    { "/expired", 401, WB_ERROR, WB_ERROR_UNAUTHORIZED, "JWT expired" },
    { "/expired12", 401, WB_ERROR, WB_ERROR_UNAUTHORIZED, "PGRST301" },
    { "/forbidden", 403, WB_ERROR, WB_ERROR_FORBIDDEN, "permission denied" },
    { "/missing", 404, WB_ERROR, WB_ERROR_NOT_FOUND, "PGRST205" },
    { "/single", 406, WB_ERROR, WB_ERROR_NOT_FOUND, "PGRST116" },
    { "/limited", 429, WB_ERROR, WB_ERROR_RATE_LIMITED, "slow down" },
    { "/down", 503, WB_ERROR, WB_ERROR_SERVER, "db down" },
    { "/html500", 500, WB_ERROR, WB_ERROR_SERVER, "500" },
    { "/bad", 400, WB_ERROR, WB_ERROR_FAILED, "validation_failed" },
    { "/garbage", 200, WB_ERROR, WB_ERROR_INVALID_DATA, "not JSON" },
  };
  FakeServer *fs = fake_server_new (route, NULL);
  g_autoptr(WbRestClient) client = wb_rest_client_new (fs->base_url, APIKEY);
  Result r = { 0 };

  for (guint i = 0; i < G_N_ELEMENTS (table); i++)
    {
      request (client, table[i].path, WB_REST_FLAGS_NONE, &r);
      g_test_message ("%s → %s", table[i].path, r.error ? r.error->message : "(ok)");
      g_assert_error (r.error, table[i].domain, table[i].code);
      g_assert_cmpuint (r.status, ==, table[i].status);
      g_assert_nonnull (strstr (r.error->message, table[i].in_message));
      g_assert_null (r.node);
    }

  request (client, "/limited", WB_REST_FLAGS_NONE, &r);
  g_assert_cmpuint (r.retry_after_ms, ==, 2000);
  g_assert_true (wb_error_is_retryable (r.error));
  request (client, "/single", WB_REST_FLAGS_OBJECT, &r);
  g_assert_cmpstr (r.code, ==, "PGRST116");
  request (client, "/bad", WB_REST_FLAGS_AUTH, &r);
  g_assert_cmpstr (r.code, ==, "validation_failed");

  request (client, "/empty", WB_REST_FLAGS_NONE, &r);
  g_assert_no_error (r.error);
  g_assert_cmpuint (r.status, ==, 204);
  g_assert_null (r.node);

  result_clear (&r);
  g_clear_object (&client);
  fake_server_free (fs);
}

static void
test_timeout (void)
{
  FakeServer *fs = fake_server_new (route, NULL);
  g_autoptr(WbRestClient) client = wb_rest_client_new (fs->base_url, APIKEY);
  Result r = { 0 };
  gint64 start;

  g_assert_cmpuint (wb_rest_client_get_timeout_ms (client), ==, 10000);
  wb_rest_client_set_timeout_ms (client, 150);
  start = g_get_monotonic_time ();
  request (client, "/never", WB_REST_FLAGS_NONE, &r);
  g_assert_error (r.error, WB_ERROR, WB_ERROR_TIMEOUT);
  g_assert_true (wb_error_is_retryable (r.error));
  g_assert_cmpint (g_get_monotonic_time () - start, >=, 140 * 1000);
  g_assert_cmpint (g_get_monotonic_time () - start, <, 3 * G_USEC_PER_SEC);

  result_clear (&r);
  g_clear_object (&client);
  fake_server_free (fs);
}

static void
test_cancel (void)
{
  FakeServer *fs = fake_server_new (route, NULL);
  g_autoptr(WbRestClient) client = wb_rest_client_new (fs->base_url, APIKEY);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  Result r = { 0 };

  wb_rest_client_request_async (client, "GET", "/never", NULL, WB_REST_FLAGS_NONE, cancellable,
                                done_cb, &r);
  fake_run_for (50);
  g_cancellable_cancel (cancellable);
  fake_run_until (&r.done, 2000);
  g_assert_error (r.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);

  result_clear (&r);
  g_clear_object (&client);
  fake_server_free (fs);
}

static void
test_transport (void)
{
  FakeServer *fs = fake_server_new (route, NULL);
  g_autofree char *url = g_strdup (fs->base_url);
  g_autoptr(WbRestClient) client = NULL;
  Result r = { 0 };

  fake_server_free (fs);   /* nothing listens on that port any more */
  client = wb_rest_client_new (url, APIKEY);
  request (client, "/ok", WB_REST_FLAGS_NONE, &r);
  g_assert_error (r.error, WB_ERROR, WB_ERROR_TRANSPORT);
  g_assert_true (wb_error_is_retryable (r.error));
  result_clear (&r);
}

static void
test_no_secrets_in_errors (void)
{
  FakeServer *fs = fake_server_new (route, NULL);
  g_autoptr(WbRestClient) client = wb_rest_client_new (fs->base_url, APIKEY);
  Result r = { 0 };

  wb_rest_client_set_access_token (client, TOKEN);
  request (client, "/echo", WB_REST_FLAGS_NONE, &r);
  g_assert_error (r.error, WB_ERROR, WB_ERROR_UNAUTHORIZED);
  g_test_message ("%s", r.error->message);
  g_assert_null (strstr (r.error->message, TOKEN));
  g_assert_null (strstr (r.error->message, "secret-signature"));
  g_assert_null (strstr (r.error->message, APIKEY));
  g_assert_nonnull (strstr (r.error->message, "[redacted]"));

  result_clear (&r);
  g_clear_object (&client);
  fake_server_free (fs);
}

static void
test_helpers (void)
{
  g_autofree char *f = wb_rest_filter_eq ("id", "a b&c=d,e(f)");
  g_autofree char *e = wb_rest_encode_value ("x/y?z#");
  g_autoptr(GDateTime) later = g_date_time_new_now_utc ();
  g_autoptr(GDateTime) in_30 = g_date_time_add_seconds (later, 30);
  g_autofree char *date = soup_date_time_to_string (in_30, SOUP_DATE_HTTP);
  guint ms;

  g_assert_cmpstr (f, ==, "id=eq.a%20b%26c%3Dd%2Ce%28f%29");
  g_assert_cmpstr (e, ==, "x%2Fy%3Fz%23");
  {
    const char *ids[] = { "a1", "b,\"c\"\\", NULL };
    g_autofree char *in = wb_rest_filter_in ("id", ids, 2);
    g_autofree char *one = wb_rest_filter_in ("id", ids, 1);

    /* in.("a1","b,\"c\"\\") percent-encoded */
    g_assert_cmpstr (in, ==, "id=in.%28%22a1%22%2C%22b%2C%5C%22c%5C%22%5C%5C%22%29");
    g_assert_cmpstr (one, ==, "id=in.%28%22a1%22%29");
  }
  g_assert_cmpuint (wb_rest_parse_retry_after ("120", 0), ==, 120000);
  g_assert_cmpuint (wb_rest_parse_retry_after (" 0 ", 0), ==, 0);
  g_assert_cmpuint (wb_rest_parse_retry_after ("99999999999999999999", 0), ==, 3600000);
  g_assert_cmpuint (wb_rest_parse_retry_after ("soon", 0), ==, 0);
  g_assert_cmpuint (wb_rest_parse_retry_after ("12abc", 0), ==, 0);
  g_assert_cmpuint (wb_rest_parse_retry_after (NULL, 0), ==, 0);
  ms = wb_rest_parse_retry_after (date, g_date_time_to_unix (later));
  g_assert_cmpuint (ms, >=, 29000);
  g_assert_cmpuint (ms, <=, 30000);
}

/* ---- bodies are read with a cap ---- */

typedef struct
{
  SoupServer *server;
  char       *base_url;
  guint64     written;      /* bytes of body handed to the socket */
  gboolean    announce;     /* send a Content-Length that is too large instead */
} Endless;

static void
endless_wrote_chunk_cb (SoupServerMessage *msg,
                        gpointer           data)
{
  Endless *e = data;
  static char chunk[64 * 1024];

  memset (chunk, ' ', sizeof chunk);
  chunk[0] = '[';
  e->written += sizeof chunk;
  soup_message_body_append (soup_server_message_get_response_body (msg), SOUP_MEMORY_STATIC,
                            chunk, sizeof chunk);
}

static void
endless_cb (SoupServer        *server,
            SoupServerMessage *msg,
            const char        *path,
            GHashTable        *query,
            gpointer           data)
{
  Endless *e = data;
  SoupMessageHeaders *h = soup_server_message_get_response_headers (msg);

  soup_server_message_set_status (msg, 200, NULL);
  soup_message_headers_replace (h, "Content-Type", "application/json");
  if (e->announce)
    {
      soup_message_headers_set_content_length (h, G_GINT64_CONSTANT (1) << 40);
      soup_message_body_append (soup_server_message_get_response_body (msg), SOUP_MEMORY_STATIC,
                                "[", 1);
      return;
    }
  /* A body that never ends, one 64 KiB chunk after the other. */
  soup_message_headers_set_encoding (h, SOUP_ENCODING_CHUNKED);
  g_signal_connect (msg, "wrote-chunk", G_CALLBACK (endless_wrote_chunk_cb), e);
  endless_wrote_chunk_cb (msg, e);
}

static Endless *
endless_new (void)
{
  Endless *e = g_new0 (Endless, 1);
  g_autoptr(GError) error = NULL;
  GSList *uris;

  e->server = soup_server_new (NULL, NULL);
  soup_server_add_handler (e->server, NULL, endless_cb, e, NULL);
  soup_server_listen_local (e->server, 0, SOUP_SERVER_LISTEN_IPV4_ONLY, &error);
  g_assert_no_error (error);
  uris = soup_server_get_uris (e->server);
  e->base_url = g_strdup_printf ("http://127.0.0.1:%d", g_uri_get_port (uris->data));
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);
  return e;
}

static void
endless_free (Endless *e)
{
  soup_server_disconnect (e->server);
  g_object_unref (e->server);
  g_free (e->base_url);
  g_free (e);
}

/* An endless body is refused as soon as it crosses the cap (1 MB for small answers, 32 MB
 * otherwise), and the client stops reading: the server cannot push more than the cap and what
 * the socket buffers hold. */
static void
test_endless_body (void)
{
  Endless *e = endless_new ();
  g_autoptr(WbRestClient) client = wb_rest_client_new (e->base_url, APIKEY);
  const struct { WbRestFlags flags; guint64 cap; } cases[] = {
    { WB_REST_FLAGS_SMALL, WB_REST_SMALL_BODY_BYTES },
    { WB_REST_FLAGS_NONE, WB_REST_MAX_BODY_BYTES },
  };
  Result r = { 0 };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      guint64 after;

      e->written = 0;
      request (client, "/endless", cases[i].flags, &r);
      g_assert_error (r.error, WB_ERROR, WB_ERROR_INVALID_DATA);
      g_assert_nonnull (strstr (r.error->message, "larger than"));
      g_assert_false (wb_error_is_retryable (r.error));
      g_assert_null (r.node);
      g_assert_cmpuint (e->written, >=, cases[i].cap);
      fake_run_for (300);
      after = e->written;
      fake_run_for (300);
      g_test_message ("cap %" G_GUINT64_FORMAT ": the server wrote %" G_GUINT64_FORMAT " bytes",
                      cases[i].cap, e->written);
      g_assert_cmpuint (e->written, ==, after);      /* nobody reads any more */
      g_assert_cmpuint (e->written, <, cases[i].cap + 16 * 1024 * 1024);
    }

  /* A Content-Length over the cap is refused before anything is read. */
  e->announce = TRUE;
  request (client, "/announced", WB_REST_FLAGS_SMALL, &r);
  g_assert_error (r.error, WB_ERROR, WB_ERROR_INVALID_DATA);
  g_assert_nonnull (strstr (r.error->message, "larger than"));

  result_clear (&r);
  g_clear_object (&client);
  endless_free (e);
}

/* ---- clear text only to this machine ---- */

static void
test_url_policy (void)
{
  const char *allowed[] = {
    "https://example.supabase.co", "https://203.0.113.7:8443/", "http://127.0.0.1:54321",
    "http://127.255.0.9", "http://localhost:54321", "http://LocalHost", "http://[::1]:54321/",
  };
  const char *insecure[] = {
    "http://example.supabase.co", "http://wrenchbell.invalid:54321", "http://10.0.0.2",
    "http://[::ffff:127.0.0.1]:80", "http://127.1:54321", "http://0.0.0.0:54321",
    "http://localhost.:54321", "http://localhost.example.com", "http://user:pw@example.com",
  };
  const char *not_http[] = { "example.supabase.co", "ftp://example.com", "ws://localhost", "", "http://" };

  for (guint i = 0; i < G_N_ELEMENTS (allowed); i++)
    {
      g_autoptr(GError) error = NULL;

      g_test_message ("allowed: %s", allowed[i]);
      g_assert_true (wb_url_policy_check (allowed[i], FALSE, &error));
      g_assert_no_error (error);
    }
  for (guint i = 0; i < G_N_ELEMENTS (insecure); i++)
    {
      g_autoptr(GError) error = NULL;

      g_test_message ("insecure: %s", insecure[i]);
      g_assert_false (wb_url_policy_check (insecure[i], FALSE, &error));
      g_assert_error (error, WB_ERROR, WB_ERROR_INSECURE_URL);
      g_assert_false (wb_error_is_retryable (error));
      g_assert_nonnull (strstr (error->message, "--allow-insecure-http"));
      g_assert_null (strstr (error->message, "pw@"));   /* never the credentials */
      g_assert_true (wb_url_policy_check (insecure[i], TRUE, NULL));
    }
  for (guint i = 0; i < G_N_ELEMENTS (not_http); i++)
    {
      g_autoptr(GError) error = NULL;

      g_test_message ("not http: %s", not_http[i]);
      g_assert_false (wb_url_policy_check (not_http[i], TRUE, &error));
      g_assert_error (error, WB_ERROR, WB_ERROR_FAILED);
    }
  g_assert_true (wb_url_host_is_loopback ("127.0.0.1"));
  g_assert_true (wb_url_host_is_loopback ("::1"));
  g_assert_false (wb_url_host_is_loopback ("128.0.0.1"));
  g_assert_false (wb_url_host_is_loopback (NULL));
}

/* ::ffff:127.0.0.1 (127.0.0.1 as an IPv6 address) reaches this machine but is not spelled as
 * loopback, so the policy refuses it: a way to see, with nothing leaving the machine, that a
 * refused address gets nothing at all, and that the switch lets it through. */
static void
test_insecure_url_sends_nothing (void)
{
  FakeServer *fs = fake_server_new (route, NULL);
  g_autofree char *url = g_strdup_printf ("http://[::ffff:127.0.0.1]:%s",
                                          strrchr (fs->base_url, ':') + 1);
  g_autoptr(WbRestClient) client = wb_rest_client_new (url, APIKEY);
  g_autoptr(JsonNode) body = json_from_string ("{\"password\":\"hunter2\"}", NULL);
  Result r = { 0 };

  result_clear (&r);
  wb_rest_client_request_async (client, "POST", "/auth/v1/token?grant_type=password", body,
                                WB_REST_FLAGS_AUTH, NULL, done_cb, &r);
  fake_run_until (&r.done, 5000);
  g_assert_error (r.error, WB_ERROR, WB_ERROR_INSECURE_URL);
  fake_run_for (100);
  g_assert_cmpuint (fs->requests->len, ==, 0);

  wb_rest_client_set_allow_insecure_http (client, TRUE);
  request (client, "/ok", WB_REST_FLAGS_NONE, &r);
  g_assert_no_error (r.error);
  g_assert_cmpuint (fs->requests->len, ==, 1);

  result_clear (&r);
  g_clear_object (&client);
  fake_server_free (fs);
}

/* A rejected certificate is named as such, not "could not be reached". */
static void
test_certificate_errors_named (void)
{
  g_autoptr(GError) bad = g_error_new_literal (G_TLS_ERROR, G_TLS_ERROR_BAD_CERTIFICATE,
                                               "Unacceptable TLS certificate");
  g_autoptr(GError) handshake = g_error_new_literal (G_TLS_ERROR, G_TLS_ERROR_HANDSHAKE, "no");
  g_autoptr(GError) refused = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED,
                                                   "Connection refused");
  g_autoptr(GError) a = wb_error_from_transport (bad, G_TLS_CERTIFICATE_UNKNOWN_CA, "GET /x");
  g_autoptr(GError) b = wb_error_from_transport (bad, 0, "GET /x");
  g_autoptr(GError) c = wb_error_from_transport (handshake, 0, "GET /x");
  g_autoptr(GError) d = wb_error_from_transport (refused, 0, "GET /x");
  g_autoptr(GError) e = wb_error_from_transport (handshake, G_TLS_CERTIFICATE_EXPIRED, "GET /x");

  g_assert_error (a, WB_ERROR, WB_ERROR_CERTIFICATE);
  g_assert_cmpstr (a->message, ==, "GET /x: the server's certificate is not trusted (signed by an "
                                   "unknown authority)");
  g_assert_error (b, WB_ERROR, WB_ERROR_CERTIFICATE);
  g_assert_cmpstr (b->message, ==, "GET /x: the server's certificate is not trusted");
  g_assert_error (c, WB_ERROR, WB_ERROR_TRANSPORT);
  g_assert_error (d, WB_ERROR, WB_ERROR_TRANSPORT);
  g_assert_cmpstr (d->message, ==, "GET /x: Connection refused");
  g_assert_error (e, WB_ERROR, WB_ERROR_CERTIFICATE);
  g_assert_nonnull (strstr (e->message, "(expired)"));
  /* Retried like an unreachable server (a captive portal comes and goes); nothing was sent. */
  g_assert_true (wb_error_is_retryable (a));
}

typedef struct
{
  WbRestClient *client;
  guint         calls;
} Refresher;

static void
refresh_hook (gpointer             user_data,
              GCancellable        *cancellable,
              GAsyncReadyCallback  callback,
              gpointer             callback_data)
{
  Refresher *rf = user_data;
  g_autoptr(GTask) task = g_task_new (NULL, cancellable, callback, callback_data);

  rf->calls++;
  wb_rest_client_set_access_token (rf->client, "fresh-token");
  g_task_return_boolean (task, TRUE);
}

/* The one home of "401 → refresh once → send again": requests refused together cause one
 * refresh and all succeed; a request still refused after it fails; GoTrue's own requests (the
 * apikey as bearer) never ask for one. */
static void
test_refresh_once (void)
{
  FakeServer *fs = fake_server_new (route, NULL);
  g_autoptr(WbRestClient) client = wb_rest_client_new (fs->base_url, APIKEY);
  Refresher rf = { client, 0 };
  Result r[3] = { 0 };

  wb_rest_client_set_access_token (client, "stale-token");
  wb_rest_client_set_refresh_func (client, refresh_hook, &rf, NULL);
  for (guint i = 0; i < G_N_ELEMENTS (r); i++)
    wb_rest_client_request_async (client, "GET", "/fresh-only", NULL, WB_REST_FLAGS_NONE, NULL,
                                  done_cb, &r[i]);
  for (guint i = 0; i < G_N_ELEMENTS (r); i++)
    {
      fake_run_until (&r[i].done, 5000);
      g_assert_no_error (r[i].error);
      g_assert_cmpuint (r[i].status, ==, 200);
      result_clear (&r[i]);
    }
  g_assert_cmpuint (rf.calls, ==, 1);
  g_assert_cmpuint (fs->requests->len, ==, 6);

  /* Refused again after the refresh: the caller gets the 401 (and its status) once. */
  request (client, "/expired", WB_REST_FLAGS_NONE, &r[0]);
  g_assert_error (r[0].error, WB_ERROR, WB_ERROR_UNAUTHORIZED);
  g_assert_cmpuint (r[0].status, ==, 401);
  g_assert_cmpuint (rf.calls, ==, 2);
  result_clear (&r[0]);

  request (client, "/expired", WB_REST_FLAGS_AUTH, &r[0]);
  g_assert_error (r[0].error, WB_ERROR, WB_ERROR_UNAUTHORIZED);
  g_assert_cmpuint (rf.calls, ==, 2);
  result_clear (&r[0]);

  wb_rest_client_set_refresh_func (client, NULL, NULL, NULL);
  g_clear_object (&client);
  fake_server_free (fs);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/wb/rest-client/headers", test_headers);
  g_test_add_func ("/wb/rest-client/status-mapping", test_status_mapping);
  g_test_add_func ("/wb/rest-client/timeout", test_timeout);
  g_test_add_func ("/wb/rest-client/cancel", test_cancel);
  g_test_add_func ("/wb/rest-client/transport", test_transport);
  g_test_add_func ("/wb/rest-client/no-secrets-in-errors", test_no_secrets_in_errors);
  g_test_add_func ("/wb/rest-client/helpers", test_helpers);
  g_test_add_func ("/wb/rest-client/refresh-once", test_refresh_once);
  g_test_add_func ("/wb/rest-client/endless-body", test_endless_body);
  g_test_add_func ("/wb/rest-client/url-policy", test_url_policy);
  g_test_add_func ("/wb/rest-client/insecure-url-sends-nothing", test_insecure_url_sends_nothing);
  g_test_add_func ("/wb/rest-client/certificate-errors-named", test_certificate_errors_named);
  return g_test_run ();
}
