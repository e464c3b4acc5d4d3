/* test-settings.c: WbSettings mirrors the GSettings keys both ways (GSETTINGS_BACKEND=memory). */
#include "config.h"

#include "wb-settings.h"

#define G_SETTINGS_ENABLE_BACKEND
#include <gio/gio.h>
#include <gio/gsettingsbackend.h>

typedef struct {
  GSettings  *gsettings;
  WbSettings *settings;
} Fixture;

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr(GSettingsBackend) backend = g_memory_settings_backend_new ();

  f->gsettings = g_settings_new_with_backend (WB_SETTINGS_SCHEMA_ID, backend);
  f->settings = wb_settings_new_for_settings (f->gsettings);
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  g_assert_finalize_object (f->settings);
  g_assert_finalize_object (f->gsettings);
}

static void
test_defaults (Fixture       *f,
               gconstpointer  data)
{
  g_autofree char *topic = NULL;
  gdouble volume = 0;
  guint repeat = 0;
  gint width = 0, height = 0;
  gboolean maximized = TRUE;

  g_assert_true (wb_settings_get_settings (f->settings) == f->gsettings);
  g_assert_cmpstr (wb_settings_get_backend_url (f->settings), ==, "");
  g_assert_cmpstr (wb_settings_get_anon_key (f->settings), ==, "");
  g_assert_cmpstr (wb_settings_get_broadcast_topic (f->settings), ==, "session_requests_feed");
  g_assert_cmpstr (wb_settings_get_realtime_vsn (f->settings), ==, "2.0.0");
  g_assert_cmpstr (wb_settings_get_account_email (f->settings), ==, "");
  for (WbTier t = 0; t < WB_N_TIERS; t++)
    g_assert_true (wb_settings_tier_enabled (f->settings, t));
  g_assert_cmpfloat_with_epsilon (wb_settings_get_volume (f->settings), 0.8, 1e-9);
  g_assert_cmpint (wb_settings_get_mute_until (f->settings), ==, 0);
  g_assert_cmpuint (wb_settings_get_repeat_interval (f->settings), ==, 60);
  g_assert_false (wb_settings_get_do_not_disturb (f->settings));
  g_assert_true (wb_settings_get_urgent_pierces_dnd (f->settings));
  g_assert_true (wb_settings_get_run_in_background (f->settings));
  g_assert_false (wb_settings_get_start_at_login (f->settings));
  g_assert_cmpstr (wb_settings_get_dashboard_url (f->settings), ==, "");
  g_assert_cmpuint (wb_settings_get_connection_alarm_after (f->settings), ==, 60);

  g_object_get (f->settings,
                "broadcast-topic", &topic,
                "volume", &volume,
                "repeat-interval", &repeat,
                "window-width", &width,
                "window-height", &height,
                "window-maximized", &maximized,
                NULL);
  g_assert_cmpstr (topic, ==, "session_requests_feed");
  g_assert_cmpfloat_with_epsilon (volume, 0.8, 1e-9);
  g_assert_cmpuint (repeat, ==, 60);
  g_assert_cmpint (width, >, 0);
  g_assert_cmpint (height, >, 0);
  g_assert_false (maximized);
}

static void
count_notify_cb (GObject    *object,
                 GParamSpec *pspec,
                 guint      *count)
{
  (*count)++;
}

/* A key written through GSettings shows up in the property, with exactly one notify. */
static void
test_key_to_property (Fixture       *f,
                      gconstpointer  data)
{
  guint notified = 0;

  g_signal_connect (f->settings, "notify::backend-url", G_CALLBACK (count_notify_cb), &notified);

  g_settings_set_string (f->gsettings, "backend-url", "https://example.supabase.co");
  g_assert_cmpstr (wb_settings_get_backend_url (f->settings), ==, "https://example.supabase.co");
  g_assert_cmpuint (notified, ==, 1);

  /* Same value again: no notify. */
  g_settings_set_string (f->gsettings, "backend-url", "https://example.supabase.co");
  g_assert_cmpuint (notified, ==, 1);

  g_settings_set_boolean (f->gsettings, "tier-sound", FALSE);
  g_assert_false (wb_settings_tier_enabled (f->settings, WB_TIER_SOUND));
  g_assert_true (wb_settings_tier_enabled (f->settings, WB_TIER_TOAST));

  g_settings_set_uint (f->gsettings, "repeat-interval", 0);
  g_assert_cmpuint (wb_settings_get_repeat_interval (f->settings), ==, 0);

  g_settings_set_double (f->gsettings, "volume", 0.25);
  g_assert_cmpfloat_with_epsilon (wb_settings_get_volume (f->settings), 0.25, 1e-9);

  g_settings_set_boolean (f->gsettings, "do-not-disturb", TRUE);
  g_assert_true (wb_settings_get_do_not_disturb (f->settings));
}

/* A property set on the façade is written to the key. */
static void
test_property_to_key (Fixture       *f,
                      gconstpointer  data)
{
  g_autofree char *email = NULL;

  g_object_set (f->settings,
                "account-email", "mech@example.com",
                "window-width", 1024,
                "window-maximized", TRUE,
                "start-at-login", TRUE,
                NULL);
  email = g_settings_get_string (f->gsettings, "account-email");
  g_assert_cmpstr (email, ==, "mech@example.com");
  g_assert_cmpint (g_settings_get_int (f->gsettings, "window-width"), ==, 1024);
  g_assert_true (g_settings_get_boolean (f->gsettings, "window-maximized"));
  g_assert_true (g_settings_get_boolean (f->gsettings, "start-at-login"));

  for (WbTier t = 0; t < WB_N_TIERS; t++)
    {
      g_autofree char *key = g_strdup_printf ("tier-%s", wb_tier_to_string (t));

      wb_settings_set_tier_enabled (f->settings, t, FALSE);
      g_assert_false (g_settings_get_boolean (f->gsettings, key));
      g_assert_false (wb_settings_tier_enabled (f->settings, t));
      wb_settings_set_tier_enabled (f->settings, t, TRUE);
      g_assert_true (g_settings_get_boolean (f->gsettings, key));
    }
}

static void
test_mute (Fixture       *f,
           gconstpointer  data)
{
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  gint64 until;

  g_assert_false (wb_settings_is_muted (f->settings, now));

  wb_settings_mute_for (f->settings, 600);
  until = g_settings_get_int64 (f->gsettings, "mute-until");
  g_assert_cmpint (until, >=, now + 600);
  g_assert_cmpint (until, <=, now + 602);
  g_assert_true (wb_settings_is_muted (f->settings, now));
  g_assert_true (wb_settings_is_muted (f->settings, until - 1));
  g_assert_false (wb_settings_is_muted (f->settings, until));
  g_assert_false (wb_settings_is_muted (f->settings, until + 3600));

  wb_settings_mute_for (f->settings, 0);
  g_assert_cmpint (g_settings_get_int64 (f->gsettings, "mute-until"), ==, 0);
  g_assert_false (wb_settings_is_muted (f->settings, now));

  /* Set from elsewhere (the preferences dialog writes the key). */
  g_settings_set_int64 (f->gsettings, "mute-until", now + 10);
  g_assert_true (wb_settings_is_muted (f->settings, now));
}

/* The protocol version is one of the two the app speaks; a refused key leaves the settings. */
static void
test_realtime_vsn_and_forget_key (Fixture       *f,
                                  gconstpointer  data)
{
  g_autoptr(GSettingsSchema) schema = NULL;
  g_autoptr(GSettingsSchemaKey) key = NULL;
  g_autoptr(GVariant) bad = g_variant_ref_sink (g_variant_new_string ("3.0.0"));

  g_settings_set_string (f->gsettings, "realtime-vsn", "1.0.0");
  g_assert_cmpstr (wb_settings_get_realtime_vsn (f->settings), ==, "1.0.0");
  g_object_get (f->gsettings, "settings-schema", &schema, NULL);
  key = g_settings_schema_get_key (schema, "realtime-vsn");
  g_assert_false (g_settings_schema_key_range_check (key, bad));

  g_settings_set_string (f->gsettings, "anon-key", "sb_secret_abc");
  g_assert_cmpstr (wb_settings_get_anon_key (f->settings), ==, "sb_secret_abc");
  wb_settings_forget_api_key (f->settings);
  g_assert_cmpstr (wb_settings_get_anon_key (f->settings), ==, "");
  g_assert_false (g_settings_get_user_value (f->gsettings, "anon-key") != NULL);
}

/* Every key of the schema has a property of the same name and type on WbSettings. */
static void
test_every_key_is_a_property (Fixture       *f,
                              gconstpointer  data)
{
  g_autoptr(GSettingsSchema) schema = NULL;
  g_auto(GStrv) keys = NULL;

  g_object_get (f->gsettings, "settings-schema", &schema, NULL);
  keys = g_settings_schema_list_keys (schema);
  g_assert_cmpuint (g_strv_length (keys), ==, 24);

  for (guint i = 0; keys[i] != NULL; i++)
    {
      GParamSpec *pspec = g_object_class_find_property (G_OBJECT_GET_CLASS (f->settings), keys[i]);
      g_autoptr(GVariant) value = g_settings_get_value (f->gsettings, keys[i]);
      GValue gv = G_VALUE_INIT;

      g_assert_nonnull (pspec);
      g_assert_true (pspec->flags & G_PARAM_EXPLICIT_NOTIFY);

      g_value_init (&gv, pspec->value_type);
      g_object_get_property (G_OBJECT (f->settings), keys[i], &gv);
      switch (pspec->value_type)
        {
        case G_TYPE_STRING:
          g_assert_cmpstr (g_value_get_string (&gv), ==, g_variant_get_string (value, NULL));
          break;
        case G_TYPE_BOOLEAN:
          g_assert_cmpint (g_value_get_boolean (&gv), ==, g_variant_get_boolean (value));
          break;
        case G_TYPE_DOUBLE:
          g_assert_cmpfloat (g_value_get_double (&gv), ==, g_variant_get_double (value));
          break;
        case G_TYPE_INT:
          g_assert_cmpint (g_value_get_int (&gv), ==, g_variant_get_int32 (value));
          break;
        case G_TYPE_UINT:
          g_assert_cmpuint (g_value_get_uint (&gv), ==, g_variant_get_uint32 (value));
          break;
        case G_TYPE_INT64:
          g_assert_cmpint (g_value_get_int64 (&gv), ==, g_variant_get_int64 (value));
          break;
        default:
          g_assert_not_reached ();
        }
      g_value_unset (&gv);
    }
}

/* wb_settings_new() uses the schema found through GSETTINGS_SCHEMA_DIR and the default backend. */
static void
test_new_default (void)
{
  WbSettings *settings = wb_settings_new ();

  g_assert_nonnull (wb_settings_get_settings (settings));
  g_assert_cmpstr (wb_settings_get_broadcast_topic (settings), ==, "session_requests_feed");
  g_assert_finalize_object (settings);
}

int
main (int   argc,
      char *argv[])
{
  g_setenv ("GSETTINGS_BACKEND", "memory", TRUE);
  g_test_init (&argc, &argv, NULL);

#define ADD(path, fn) g_test_add (path, Fixture, NULL, fixture_set_up, fn, fixture_tear_down)
  ADD ("/wb/settings/defaults", test_defaults);
  ADD ("/wb/settings/key-to-property", test_key_to_property);
  ADD ("/wb/settings/property-to-key", test_property_to_key);
  ADD ("/wb/settings/mute", test_mute);
  ADD ("/wb/settings/realtime-vsn-and-forget-key", test_realtime_vsn_and_forget_key);
  ADD ("/wb/settings/every-key-is-a-property", test_every_key_is_a_property);
#undef ADD
  g_test_add_func ("/wb/settings/new-default", test_new_default);

  return g_test_run ();
}
