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

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/wb/health/percentiles", test_percentiles);
  g_test_add_func ("/wb/health/reservoir-bounded", test_reservoir_bounded);
  g_test_add_func ("/wb/health/json-keys", test_json_keys);
  return g_test_run ();
}
