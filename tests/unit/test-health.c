#include "config.h"

#include <math.h>
#include <string.h>

#include "wb-health.h"

static void
test_percentiles (void)
{
  g_autoptr(WbHealth) health = wb_health_new ();

  g_assert_cmpfloat (wb_health_get_latency_percentile (health, 50), ==, 0.0);
  /* 1..100 shuffled: nearest rank p50 = 50, p99 = 99. */
  for (guint i = 0; i < 100; i++)
    wb_health_add_latency_ms (health, (gdouble) ((i * 37) % 100 + 1));
  g_assert_cmpuint (wb_health_get_latency_count (health), ==, 100);
  g_assert_cmpfloat (wb_health_get_latency_percentile (health, 50), ==, 50.0);
  g_assert_cmpfloat (wb_health_get_latency_percentile (health, 99), ==, 99.0);
  g_assert_cmpfloat (wb_health_get_latency_percentile (health, 100), ==, 100.0);
  g_assert_cmpfloat (wb_health_get_latency_percentile (health, 0), ==, 1.0);

  /* Junk samples: NaN ignored, negative clamped. */
  wb_health_add_latency_ms (health, NAN);
  g_assert_cmpuint (wb_health_get_latency_count (health), ==, 100);
  wb_health_add_latency_ms (health, -5);
  g_assert_cmpfloat (wb_health_get_latency_percentile (health, 0), ==, 0.0);
}

static void
test_reservoir_bounded (void)
{
  g_autoptr(WbHealth) health = wb_health_new ();

  wb_health_set_reservoir_size (health, 1000);
  for (guint i = 0; i < 5000; i++)
    wb_health_add_latency_ms (health, i < 4000 ? 1000.0 : 2.0);
  /* Only the last 1,000 (all 2 ms) count. */
  g_assert_cmpuint (wb_health_get_latency_count (health), ==, 1000);
  g_assert_cmpfloat (wb_health_get_latency_percentile (health, 99), ==, 2.0);

  /* Default: the last 10,000. */
  g_clear_object (&health);
  health = wb_health_new ();
  for (guint i = 0; i < 25000; i++)
    wb_health_add_latency_ms (health, 1.0);
  g_assert_cmpuint (wb_health_get_latency_count (health), ==, 10000);
}

static void
test_json_keys (void)
{
  g_autoptr(WbHealth) health = wb_health_new ();
  g_autoptr(JsonNode) node = NULL;
  g_autofree char *text = NULL;
  JsonObject *obj;
  JsonObject *tiers;
  JsonObject *latency;
  const char *required[] = {
    "state", "alerts", "duplicates_suppressed", "catchup_found", "reconnects", "fetch_retries",
    "fetch_failures", "fallbacks", "tier_failures", "latency_ms", "events", "last_error",
  };

  g_assert_cmpstr (wb_health_get_state (health), ==, "disconnected");
  g_assert_true (wb_health_set_state (health, "subscribed"));
  g_assert_false (wb_health_set_state (health, "bogus"));
  g_assert_cmpstr (wb_health_get_state (health), ==, "subscribed");

  wb_health_inc (health, WB_HEALTH_ALERTS);
  wb_health_inc (health, WB_HEALTH_ALERTS);
  wb_health_count_duplicate (health, WB_HEALTH_SOURCE_BROADCAST);
  wb_health_add (health, WB_HEALTH_CATCHUP_FOUND, 3);
  wb_health_set (health, WB_HEALTH_FETCH_RETRIES, 7);
  wb_health_inc (health, WB_HEALTH_RECONNECTS);
  wb_health_inc (health, WB_HEALTH_FETCH_FAILURES);
  wb_health_inc (health, WB_HEALTH_FALLBACKS);
  wb_health_tier_failed (health, WB_TIER_SOUND);
  wb_health_count_event (health, WB_HEALTH_SOURCE_POSTGRES_CHANGES);
  wb_health_add_latency_ms (health, 12.5);

  node = wb_health_to_json (health);
  obj = json_node_get_object (node);
  for (guint i = 0; i < G_N_ELEMENTS (required); i++)
    g_assert_true (json_object_has_member (obj, required[i]));
  g_assert_cmpstr (json_object_get_string_member (obj, "state"), ==, "subscribed");
  g_assert_cmpint (json_object_get_int_member (obj, "alerts"), ==, 2);
  g_assert_cmpint (json_object_get_int_member (obj, "duplicates_suppressed"), ==, 1);
  g_assert_cmpint (json_object_get_int_member (obj, "catchup_found"), ==, 3);
  g_assert_cmpint (json_object_get_int_member (obj, "fetch_retries"), ==, 7);
  g_assert_cmpint (json_object_get_int_member (obj, "reconnects"), ==, 1);
  g_assert_cmpint (json_object_get_int_member (obj, "fetch_failures"), ==, 1);
  g_assert_cmpint (json_object_get_int_member (obj, "fallbacks"), ==, 1);
  tiers = json_object_get_object_member (obj, "tier_failures");
  g_assert_cmpint (json_object_get_int_member (tiers, "toast"), ==, 0);
  g_assert_cmpint (json_object_get_int_member (tiers, "sound"), ==, 1);
  g_assert_cmpint (json_object_get_int_member (tiers, "notification"), ==, 0);
  g_assert_cmpint (json_object_get_int_member (tiers, "tray"), ==, 0);
  latency = json_object_get_object_member (obj, "latency_ms");
  g_assert_cmpfloat (json_object_get_double_member (latency, "p50"), ==, 12.5);
  g_assert_cmpfloat (json_object_get_double_member (latency, "p99"), ==, 12.5);
  g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (obj, "events"),
                                               "postgres_changes"), ==, 1);

  text = wb_health_to_json_string (health);
  g_assert_nonnull (strstr (text, "\"duplicates_suppressed\""));
  g_assert_true (json_object_get_null_member (obj, "last_error"));

  wb_health_set_last_error (health, "POST /auth/v1/token: the server's certificate is not trusted");
  g_clear_pointer (&node, json_node_unref);
  node = wb_health_to_json (health);
  obj = json_node_get_object (node);
  g_assert_cmpstr (json_object_get_string_member (obj, "last_error"), ==,
                   "POST /auth/v1/token: the server's certificate is not trusted");
  wb_health_set_last_error (health, NULL);
  g_assert_null (wb_health_get_last_error (health));
}

/* What --status says about the protocol, the key, the connection and the server's last error. */
static void
test_realtime_facts (void)
{
  g_autoptr(WbHealth) health = wb_health_new ();
  g_autoptr(JsonNode) before = wb_health_to_json (health);
  g_autoptr(JsonNode) after = NULL;
  g_autoptr(JsonNode) ended = NULL;
  JsonObject *obj;
  JsonObject *err;
  const char *kind = NULL, *code = NULL, *message = NULL;

  obj = json_node_get_object (before);
  g_assert_true (json_object_get_null_member (obj, "realtime_vsn"));
  g_assert_true (json_object_get_null_member (obj, "last_server_error"));
  g_assert_cmpint (json_object_get_int_member (obj, "frames_dropped"), ==, 0);
  g_assert_cmpint (json_object_get_int_member (obj, "broadcasts_rejected"), ==, 0);
  g_assert_true (json_object_get_null_member (obj, "db_broadcast"));
  g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (obj, "events"), "db_broadcast"), ==, 0);
  g_assert_false (wb_health_get_server_error (health, &kind, &code, &message));
  g_assert_null (message);

  wb_health_set_text (health, WB_HEALTH_TEXT_REALTIME_VSN, "2.0.0");
  wb_health_set_text (health, WB_HEALTH_TEXT_API_KEY, "publishable");
  wb_health_set_text (health, WB_HEALTH_TEXT_CONNECTION, "public");
  wb_health_set_text (health, WB_HEALTH_TEXT_REALTIME, "subscribed");
  wb_health_set (health, WB_HEALTH_FRAMES_DROPPED, 4);
  wb_health_inc (health, WB_HEALTH_BROADCASTS_REJECTED);
  wb_health_set_text (health, WB_HEALTH_TEXT_DB_BROADCAST, "joined");
  wb_health_count_event (health, WB_HEALTH_SOURCE_DB_BROADCAST);
  wb_health_set_server_error (health, "rate_limit", "ClientJoinRateLimitReached",
                              "Too many joins per second");
  after = wb_health_to_json (health);
  obj = json_node_get_object (after);
  g_assert_cmpstr (json_object_get_string_member (obj, "realtime_vsn"), ==, "2.0.0");
  g_assert_cmpstr (json_object_get_string_member (obj, "api_key"), ==, "publishable");
  g_assert_cmpstr (json_object_get_string_member (obj, "connection"), ==, "public");
  g_assert_cmpstr (json_object_get_string_member (obj, "realtime"), ==, "subscribed");
  g_assert_cmpint (json_object_get_int_member (obj, "frames_dropped"), ==, 4);
  g_assert_cmpint (json_object_get_int_member (obj, "broadcasts_rejected"), ==, 1);
  g_assert_cmpstr (json_object_get_string_member (obj, "db_broadcast"), ==, "joined");
  g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (obj, "events"), "db_broadcast"), ==, 1);
  g_assert_cmpint (json_object_get_int_member (obj, "server_errors"), ==, 1);
  err = json_object_get_object_member (obj, "last_server_error");
  g_assert_cmpstr (json_object_get_string_member (err, "code"), ==, "ClientJoinRateLimitReached");
  g_assert_cmpstr (json_object_get_string_member (err, "kind"), ==, "rate_limit");
  g_assert_cmpstr (json_object_get_string_member (err, "message"), ==, "Too many joins per second");
  g_assert_true (json_object_get_boolean_member (err, "active"));
  g_assert_true (g_str_has_suffix (json_object_get_string_member (err, "at"), "Z"));
  g_assert_true (wb_health_get_server_error (health, &kind, &code, &message));
  g_assert_cmpstr (code, ==, "ClientJoinRateLimitReached");

  /* Subscribed again: the error is history, not gone. A message without a code has code null. */
  wb_health_end_server_error (health);
  wb_health_set_server_error (health, "token", NULL, "Token has expired 3 seconds ago");
  wb_health_end_server_error (health);
  ended = wb_health_to_json (health);
  err = json_object_get_object_member (json_node_get_object (ended), "last_server_error");
  g_assert_false (json_object_get_boolean_member (err, "active"));
  g_assert_true (json_object_get_null_member (err, "code"));
  g_assert_cmpint (json_object_get_int_member (json_node_get_object (ended), "server_errors"), ==, 2);
  g_assert_false (wb_health_get_server_error (health, NULL, NULL, NULL));
}

/* --status promises why each tier last failed and since when requests stopped coming. */
static void
test_last_failure_and_not_receiving (void)
{
  g_autoptr(WbHealth) health = wb_health_new ();
  g_autoptr(JsonNode) node = NULL;
  g_autofree char *long_reason = g_strnfill (1000, 'x');
  JsonObject *obj, *last, *sound;
  gint64 at = 0;

  node = wb_health_to_json (health);
  obj = json_node_get_object (node);
  last = json_object_get_object_member (obj, "tier_last_failure");
  for (guint i = 0; i < WB_N_TIERS; i++)
    g_assert_true (json_object_get_null_member (last, wb_tier_to_string (i)));
  g_assert_true (json_object_get_null_member (obj, "not_receiving_since"));
  g_clear_pointer (&node, json_node_unref);

  /* 2026-11-20T10:00:00Z */
  wb_health_set_tier_last_failure (health, WB_TIER_SOUND, "sound file wrenchbell-chime.oga\nnot found",
                                   G_GINT64_CONSTANT (1795168800) * G_USEC_PER_SEC);
  wb_health_set_tier_last_failure (health, WB_TIER_TRAY, long_reason, 1);
  wb_health_set_not_receiving (health, G_GINT64_CONSTANT (1795168860) * G_USEC_PER_SEC,
                               "connection lost: refused");
  g_assert_cmpstr (wb_health_get_tier_last_failure (health, WB_TIER_SOUND, &at), ==,
                   "sound file wrenchbell-chime.oga not found");
  g_assert_cmpint (at, ==, G_GINT64_CONSTANT (1795168800) * G_USEC_PER_SEC);
  g_assert_cmpuint (g_utf8_strlen (wb_health_get_tier_last_failure (health, WB_TIER_TRAY, NULL), -1), ==, 300);

  node = wb_health_to_json (health);
  obj = json_node_get_object (node);
  sound = json_object_get_object_member (json_object_get_object_member (obj, "tier_last_failure"), "sound");
  g_assert_cmpstr (json_object_get_string_member (sound, "reason"), ==,
                   "sound file wrenchbell-chime.oga not found");
  g_assert_cmpstr (json_object_get_string_member (sound, "at"), ==, "2026-11-20T10:00:00Z");
  g_assert_cmpstr (json_object_get_string_member (obj, "not_receiving_since"), ==, "2026-11-20T10:01:00Z");
  g_assert_cmpstr (json_object_get_string_member (obj, "not_receiving_reason"), ==, "connection lost: refused");
  g_clear_pointer (&node, json_node_unref);

  wb_health_set_not_receiving (health, 0, NULL);
  g_assert_cmpint (wb_health_get_not_receiving_since (health), ==, 0);
  node = wb_health_to_json (health);
  obj = json_node_get_object (node);
  g_assert_true (json_object_get_null_member (obj, "not_receiving_since"));
  g_assert_true (json_object_get_null_member (obj, "not_receiving_reason"));
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/wb/health/percentiles", test_percentiles);
  g_test_add_func ("/wb/health/reservoir-bounded", test_reservoir_bounded);
  g_test_add_func ("/wb/health/json-keys", test_json_keys);
  g_test_add_func ("/wb/health/realtime-facts", test_realtime_facts);
  g_test_add_func ("/wb/health/last-failure-and-not-receiving", test_last_failure_and_not_receiving);
  return g_test_run ();
}
