#include "config.h"

#include "wb-error.h"
#include "wb-rest-client.h"
#include "wb-fake-rest.h"

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
  return g_test_run ();
}
