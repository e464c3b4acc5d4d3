#include "config.h"

#include "wb-error.h"
#include "wb-flags.h"
#include "wb-fake-rest.h"

static JsonNode *
parse (const char *text)
{
  g_autoptr(GError) error = NULL;
  JsonNode *node = json_from_string (text, &error);

  g_assert_no_error (error);
  return node;
}

static void
count_changed_cb (WbFlags    *flags,
                  const char *key,
                  guint      *n)
{
  (*n)++;
}

/* Table: rows loaded → effective tier states. */
static void
test_tiers_table (void)
{
  struct {
    const char *rows;
    gboolean toast, sound, notification, tray;
  } table[] = {
    { "[]", TRUE, TRUE, TRUE, TRUE },
    { "[{\"key\":\"mech_new_request_alerts\",\"enabled\":false}]", FALSE, FALSE, FALSE, FALSE },
    { "[{\"key\":\"mech_audio_alerts\",\"enabled\":false}]", TRUE, FALSE, TRUE, TRUE },
    { "[{\"key\":\"mech_browser_notifications\",\"enabled\":false},"
      " {\"key\":\"mech_visual_indicators\",\"enabled\":false}]", TRUE, TRUE, FALSE, FALSE },
    { "[{\"key\":\"mech_new_request_alerts\",\"enabled\":true},"
      " {\"key\":\"mech_audio_alerts\",\"enabled\":true},"
      " {\"key\":\"mech_browser_notifications\",\"enabled\":true},"
      " {\"key\":\"mech_visual_indicators\",\"enabled\":true}]", TRUE, TRUE, TRUE, TRUE },
    /* Odd values: strings, numbers, nulls (null = missing = ON), junk rows. */
    { "[{\"key\":\"mech_audio_alerts\",\"enabled\":\"false\"},"
      " {\"key\":\"mech_visual_indicators\",\"enabled\":0},"
      " {\"key\":\"mech_browser_notifications\",\"enabled\":null},"
      " {\"enabled\":false}, 7, null]", TRUE, FALSE, TRUE, FALSE },
    { "[{\"key\":\"mech_new_request_alerts\",\"enabled\":\"f\"},"
      " {\"key\":\"mech_audio_alerts\",\"enabled\":true}]", FALSE, FALSE, FALSE, FALSE },
    { "[{\"key\":\"unrelated\",\"enabled\":false}]", TRUE, TRUE, TRUE, TRUE },
  };

  for (guint i = 0; i < G_N_ELEMENTS (table); i++)
    {
      g_autoptr(WbFlags) flags = wb_flags_new (NULL);
      g_autoptr(JsonNode) rows = parse (table[i].rows);
      g_autoptr(GError) error = NULL;

      g_assert_true (wb_flags_load_from_json (flags, rows, &error));
      g_assert_no_error (error);
      g_assert_true (wb_flags_is_loaded (flags));
      g_assert_cmpint (wb_flags_tier_enabled (flags, WB_TIER_TOAST), ==, table[i].toast);
      g_assert_cmpint (wb_flags_tier_enabled (flags, WB_TIER_SOUND), ==, table[i].sound);
      g_assert_cmpint (wb_flags_tier_enabled (flags, WB_TIER_NOTIFICATION), ==, table[i].notification);
      g_assert_cmpint (wb_flags_tier_enabled (flags, WB_TIER_TRAY), ==, table[i].tray);
    }
}

static void
test_defaults_and_errors (void)
{
  g_autoptr(WbFlags) flags = wb_flags_new (NULL);
  g_autoptr(JsonNode) obj = parse ("{\"key\":\"x\"}");
  g_autoptr(GError) error = NULL;

  g_assert_false (wb_flags_is_loaded (flags));
  g_assert_true (wb_flags_is_enabled (flags, "anything"));
  g_assert_true (wb_flags_is_enabled (flags, NULL));
  g_assert_false (wb_flags_load_from_json (flags, obj, &error));
  g_assert_error (error, WB_ERROR, WB_ERROR_INVALID_DATA);
  g_assert_true (wb_flags_tier_enabled (flags, WB_TIER_SOUND));
}

/* Table: live postgres_changes data → effective value of mech_audio_alerts, changed emitted. */
static void
test_live_changes (void)
{
  struct { const char *data; gboolean applies; gboolean audio_after; } steps[] = {
    { "{\"schema\":\"public\",\"table\":\"feature_flags\",\"type\":\"UPDATE\","
      "\"record\":{\"key\":\"mech_audio_alerts\",\"enabled\":false},"
      "\"old_record\":{\"key\":\"mech_audio_alerts\"},\"errors\":null}", TRUE, FALSE },
    /* Same value again: no change. */
    { "{\"table\":\"feature_flags\",\"type\":\"UPDATE\","
      "\"record\":{\"key\":\"mech_audio_alerts\",\"enabled\":false}}", FALSE, FALSE },
    /* Another table: ignored. */
    { "{\"table\":\"session_assignments\",\"type\":\"UPDATE\","
      "\"record\":{\"key\":\"mech_audio_alerts\",\"enabled\":true}}", FALSE, FALSE },
    /* realtime-js shape. */
    { "{\"table\":\"feature_flags\",\"eventType\":\"INSERT\","
      "\"new\":{\"key\":\"mech_audio_alerts\",\"enabled\":true}}", TRUE, TRUE },
    { "{\"table\":\"feature_flags\",\"type\":\"UPDATE\","
      "\"record\":{\"key\":\"mech_audio_alerts\",\"enabled\":false}}", TRUE, FALSE },
    /* Deleted row: back to the default, ON. */
    { "{\"table\":\"feature_flags\",\"type\":\"DELETE\","
      "\"old_record\":{\"key\":\"mech_audio_alerts\"}}", TRUE, TRUE },
    /* Error rows and junk. */
    { "{\"table\":\"feature_flags\",\"type\":\"UPDATE\",\"record\":{},"
      "\"errors\":[\"Error 401: Unauthorized\"]}", FALSE, TRUE },
    { "{\"table\":\"feature_flags\",\"type\":\"TRUNCATE\"}", FALSE, TRUE },
    { "{}", FALSE, TRUE },
  };
  g_autoptr(WbFlags) flags = wb_flags_new (NULL);
  guint changed = 0;

  g_signal_connect (flags, "changed", G_CALLBACK (count_changed_cb), &changed);
  for (guint i = 0; i < G_N_ELEMENTS (steps); i++)
    {
      g_autoptr(JsonNode) data = parse (steps[i].data);
      guint before = changed;

      g_assert_cmpint (wb_flags_apply_change (flags, json_node_get_object (data)), ==,
                       steps[i].applies);
      g_assert_cmpuint (changed - before, ==, steps[i].applies ? 1 : 0);
      g_assert_cmpint (wb_flags_is_enabled (flags, WB_FLAG_AUDIO), ==, steps[i].audio_after);
    }

  /* The master switch turns every tier off, live. */
  {
    g_autoptr(JsonNode) data = parse ("{\"table\":\"feature_flags\",\"type\":\"UPDATE\","
                                      "\"record\":{\"key\":\"mech_new_request_alerts\","
                                      "\"enabled\":false}}");

    g_assert_true (wb_flags_apply_change (flags, json_node_get_object (data)));
    for (guint t = 0; t < WB_N_TIERS; t++)
      g_assert_false (wb_flags_tier_enabled (flags, t));
  }
}

static FakeReply
flags_server (FakeServer  *fs,
              FakeRequest *r,
              gpointer     data)
{
  g_assert_cmpstr (r->path, ==, "/rest/v1/feature_flags");
  if (GPOINTER_TO_INT (data))
    return (FakeReply) { 503, "{\"message\":\"down\"}" };
  return (FakeReply) { 200, "[{\"key\":\"mech_audio_alerts\",\"enabled\":false}]" };
}

static void
load_cb (GObject      *source,
         GAsyncResult *result,
         gpointer      data)
{
  GError **error = data;

  if (!wb_flags_load_finish (WB_FLAGS (source), result, error))
    g_assert_nonnull (*error);
  g_object_set_data (source, "done", GINT_TO_POINTER (1));
}

static void
test_load_from_server (void)
{
  for (int fail = 0; fail <= 1; fail++)
    {
      FakeServer *fs = fake_server_new (flags_server, GINT_TO_POINTER (fail));
      g_autoptr(WbRestClient) rest = wb_rest_client_new (fs->base_url, "key-0123456789");
      g_autoptr(WbFlags) flags = wb_flags_new (rest);
      g_autoptr(GError) error = NULL;

      wb_flags_load_async (flags, NULL, load_cb, &error);
      while (g_object_get_data (G_OBJECT (flags), "done") == NULL)
        g_main_context_iteration (NULL, TRUE);
      if (fail)
        {
          g_assert_error (error, WB_ERROR, WB_ERROR_SERVER);
          g_assert_true (wb_flags_tier_enabled (flags, WB_TIER_SOUND));   /* defaults stay ON */
        }
      else
        {
          g_assert_no_error (error);
          g_assert_false (wb_flags_tier_enabled (flags, WB_TIER_SOUND));
          g_assert_true (wb_flags_tier_enabled (flags, WB_TIER_TOAST));
        }
      g_clear_object (&flags);
      g_clear_object (&rest);
      fake_server_free (fs);
    }
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/wb/flags/tiers-table", test_tiers_table);
  g_test_add_func ("/wb/flags/defaults-and-errors", test_defaults_and_errors);
  g_test_add_func ("/wb/flags/live-changes", test_live_changes);
  g_test_add_func ("/wb/flags/load-from-server", test_load_from_server);
  return g_test_run ();
}
