#include "config.h"

#include "wb-sleep-monitor-private.h"

/* A GNetworkMonitor the test drives by hand. */
#define FAKE_TYPE_MONITOR (fake_monitor_get_type ())
G_DECLARE_FINAL_TYPE (FakeMonitor, fake_monitor, FAKE, MONITOR, GObject)

struct _FakeMonitor
{
  GObject  parent_instance;
  gboolean available;
};

enum {
  FAKE_PROP_0,
  FAKE_PROP_AVAILABLE,
  FAKE_PROP_METERED,
  FAKE_PROP_CONNECTIVITY,
};

static void fake_monitor_iface_init (GNetworkMonitorInterface *iface);
static void fake_monitor_initable_init (GInitableIface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (FakeMonitor, fake_monitor, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_INITABLE, fake_monitor_initable_init)
                               G_IMPLEMENT_INTERFACE (G_TYPE_NETWORK_MONITOR, fake_monitor_iface_init))

static gboolean
fake_monitor_initable (GInitable     *initable,
                       GCancellable  *cancellable,
                       GError       **error)
{
  return TRUE;
}

static void
fake_monitor_initable_init (GInitableIface *iface)
{
  iface->init = fake_monitor_initable;
}

static void
fake_monitor_iface_init (GNetworkMonitorInterface *iface)
{
}

static void
fake_monitor_get_property (GObject    *object,
                           guint       prop_id,
                           GValue     *value,
                           GParamSpec *pspec)
{
  FakeMonitor *self = FAKE_MONITOR (object);

  switch (prop_id)
    {
    case FAKE_PROP_AVAILABLE:
      g_value_set_boolean (value, self->available);
      break;
    case FAKE_PROP_METERED:
      g_value_set_boolean (value, FALSE);
      break;
    case FAKE_PROP_CONNECTIVITY:
      g_value_set_enum (value, G_NETWORK_CONNECTIVITY_FULL);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
fake_monitor_class_init (FakeMonitorClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->get_property = fake_monitor_get_property;
  g_object_class_override_property (object_class, FAKE_PROP_AVAILABLE, "network-available");
  g_object_class_override_property (object_class, FAKE_PROP_METERED, "network-metered");
  g_object_class_override_property (object_class, FAKE_PROP_CONNECTIVITY, "connectivity");
}

static void
fake_monitor_init (FakeMonitor *self)
{
  self->available = TRUE;
}

static void
fake_monitor_change (FakeMonitor *self)
{
  g_signal_emit_by_name (self, "network-changed", self->available);
}

typedef struct
{
  GTestDBus       *dbus;
  GDBusConnection *logind;   /* owns org.freedesktop.login1 on the private bus */
  GPtrArray       *reasons;
  guint            n_suspending;
} Fixture;

static void
on_resumed_cb (WbSleepMonitor *monitor,
               const char     *reason,
               Fixture        *f)
{
  g_ptr_array_add (f->reasons, g_strdup (reason));
}

static void
on_suspending_cb (WbSleepMonitor *monitor,
                  Fixture        *f)
{
  f->n_suspending++;
}

static GDBusConnection *
connect_bus (const char *address)
{
  g_autoptr(GError) error = NULL;
  GDBusConnection *bus;

  bus = g_dbus_connection_new_for_address_sync (address,
                                                G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT
                                                | G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                                                NULL, NULL, &error);
  g_assert_no_error (error);
  return bus;
}

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GError) error = NULL;

  f->reasons = g_ptr_array_new_with_free_func (g_free);
  f->dbus = g_test_dbus_new (G_TEST_DBUS_NONE);
  g_test_dbus_up (f->dbus);
  f->logind = connect_bus (g_test_dbus_get_bus_address (f->dbus));
  reply = g_dbus_connection_call_sync (f->logind, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                       "org.freedesktop.DBus", "RequestName",
                                       g_variant_new ("(su)", "org.freedesktop.login1", 0),
                                       G_VARIANT_TYPE ("(u)"), G_DBUS_CALL_FLAGS_NONE, -1, NULL,
                                       &error);
  g_assert_no_error (error);
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  g_dbus_connection_close_sync (f->logind, NULL, NULL);
  g_clear_object (&f->logind);
  g_test_dbus_down (f->dbus);
  g_clear_object (&f->dbus);
  g_ptr_array_unref (f->reasons);
}

static void
emit_prepare_for_sleep (Fixture  *f,
                        gboolean  start)
{
  g_autoptr(GError) error = NULL;

  g_dbus_connection_emit_signal (f->logind, NULL, "/org/freedesktop/login1",
                                 "org.freedesktop.login1.Manager", "PrepareForSleep",
                                 g_variant_new ("(b)", start), &error);
  g_assert_no_error (error);
  g_dbus_connection_flush_sync (f->logind, NULL, NULL);
}

static void
sync_bus (GDBusConnection *bus)
{
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GError) error = NULL;

  reply = g_dbus_connection_call_sync (bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                       "org.freedesktop.DBus", "GetId", NULL,
                                       G_VARIANT_TYPE ("(s)"), G_DBUS_CALL_FLAGS_NONE, -1, NULL,
                                       &error);
  g_assert_no_error (error);
}

static gboolean
timeout_cb (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

static void
spin (guint ms)
{
  gboolean done = FALSE;

  g_timeout_add (ms, timeout_cb, &done);
  while (!done)
    g_main_context_iteration (NULL, TRUE);
}

static void
wait_reasons (Fixture *f,
              guint    n)
{
  for (guint i = 0; i < 500 && f->reasons->len < n; i++)
    spin (10);
  g_assert_cmpuint (f->reasons->len, ==, n);
}

static void
test_prepare_for_sleep (Fixture       *f,
                        gconstpointer  data)
{
  g_autoptr(GDBusConnection) bus = connect_bus (g_test_dbus_get_bus_address (f->dbus));
  WbSleepMonitor *monitor = wb_sleep_monitor_new_for_connection (bus, NULL);

  g_signal_connect (monitor, "resumed", G_CALLBACK (on_resumed_cb), f);
  g_signal_connect (monitor, "suspending", G_CALLBACK (on_suspending_cb), f);
  g_assert_true (wb_sleep_monitor_get_watching_logind (monitor));
  sync_bus (bus);   /* the AddMatch is in place once a later call has been answered */

  emit_prepare_for_sleep (f, TRUE);
  for (guint i = 0; i < 500 && f->n_suspending == 0; i++)
    spin (10);
  g_assert_cmpuint (f->n_suspending, ==, 1);
  g_assert_cmpuint (f->reasons->len, ==, 0);

  emit_prepare_for_sleep (f, FALSE);
  wait_reasons (f, 1);
  g_assert_cmpstr (g_ptr_array_index (f->reasons, 0), ==, "prepare-for-sleep");

  g_assert_finalize_object (monitor);
}

static void
test_bus_address_override (Fixture       *f,
                           gconstpointer  data)
{
  WbSleepMonitor *monitor;

  g_setenv ("WB_SYSTEM_BUS_ADDRESS", g_test_dbus_get_bus_address (f->dbus), TRUE);
  monitor = wb_sleep_monitor_new ();
  g_unsetenv ("WB_SYSTEM_BUS_ADDRESS");
  g_signal_connect (monitor, "resumed", G_CALLBACK (on_resumed_cb), f);

  for (guint i = 0; i < 500 && !wb_sleep_monitor_get_watching_logind (monitor); i++)
    spin (10);
  g_assert_true (wb_sleep_monitor_get_watching_logind (monitor));
  /* The default network monitor may report something; only logind reasons count here. */
  g_ptr_array_set_size (f->reasons, 0);
  /* The monitor's AddMatch may still be on its way: emit until heard. */
  for (guint i = 0; i < 100 && f->reasons->len == 0; i++)
    {
      emit_prepare_for_sleep (f, FALSE);
      spin (50);
    }
  g_assert_cmpuint (f->reasons->len, >=, 1);
  g_assert_cmpstr (g_ptr_array_index (f->reasons, 0), ==, "prepare-for-sleep");

  g_assert_finalize_object (monitor);
}

static void
test_no_bus (Fixture       *f,
             gconstpointer  data)
{
  WbSleepMonitor *monitor;

  /* Nobody listens at this address: no signal, no warning. */
  g_setenv ("WB_SYSTEM_BUS_ADDRESS", "unix:path=/nonexistent/wb-test-bus", TRUE);
  monitor = wb_sleep_monitor_new ();
  g_unsetenv ("WB_SYSTEM_BUS_ADDRESS");
  spin (100);
  g_assert_false (wb_sleep_monitor_get_watching_logind (monitor));
  g_assert_finalize_object (monitor);
}

static void
test_network_debounce (Fixture       *f,
                       gconstpointer  data)
{
  FakeMonitor *net = g_object_new (FAKE_TYPE_MONITOR, NULL);
  WbSleepMonitor *monitor = wb_sleep_monitor_new_for_connection (NULL, G_NETWORK_MONITOR (net));

  wb_sleep_monitor_set_timings (monitor, 100, 60000, 5000);
  g_signal_connect (monitor, "resumed", G_CALLBACK (on_resumed_cb), f);

  /* The first report right after start is ignored. */
  fake_monitor_change (net);
  spin (250);
  g_assert_cmpuint (f->reasons->len, ==, 0);

  /* A burst becomes one hint, after the debounce. */
  fake_monitor_change (net);
  spin (30);
  fake_monitor_change (net);
  spin (30);
  fake_monitor_change (net);
  g_assert_cmpuint (f->reasons->len, ==, 0);
  wait_reasons (f, 1);
  g_assert_cmpstr (g_ptr_array_index (f->reasons, 0), ==, "network-changed");
  spin (250);
  g_assert_cmpuint (f->reasons->len, ==, 1);

  /* While the network is down there is nothing to reconnect to. */
  net->available = FALSE;
  fake_monitor_change (net);
  spin (250);
  g_assert_cmpuint (f->reasons->len, ==, 1);

  g_assert_finalize_object (monitor);
  g_assert_finalize_object (net);
}

static void
test_clock_jump (Fixture       *f,
                 gconstpointer  data)
{
  WbSleepMonitor *monitor = wb_sleep_monitor_new_for_connection (NULL, NULL);
  gint64 wall = 1000000000000;
  gint64 mono = 5000000;

  wb_sleep_monitor_set_timings (monitor, 100, 60000, 5000);
  g_signal_connect (monitor, "resumed", G_CALLBACK (on_resumed_cb), f);

  _wb_sleep_monitor_check_clock (monitor, wall, mono);           /* baseline */
  _wb_sleep_monitor_check_clock (monitor, wall + 10000000, mono + 10000000);
  _wb_sleep_monitor_check_clock (monitor, wall + 20000000, mono + 18000000);  /* 2 s drift */
  _wb_sleep_monitor_check_clock (monitor, wall + 25000000, mono + 28000000);  /* clock set back */
  g_assert_cmpuint (f->reasons->len, ==, 0);

  /* 10 s of wall time while the monotonic clock stood still (suspend). */
  _wb_sleep_monitor_check_clock (monitor, wall + 3600000000, mono + 28000000 + 100000);
  g_assert_cmpuint (f->reasons->len, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (f->reasons, 0), ==, "clock-jump");

  g_assert_finalize_object (monitor);
}

/* Idle means no wake-ups but the heartbeat: on Linux the kernel says when the wall clock jumps
 * (a resume, a clock set), so no timer polls it, not even after the timings change. */
static void
test_no_clock_polling (void)
{
  g_autoptr(WbSleepMonitor) monitor = wb_sleep_monitor_new_for_connection (NULL, NULL);

#ifdef __linux__
  g_assert_false (_wb_sleep_monitor_get_polls_clock (monitor));
  wb_sleep_monitor_set_timings (monitor, 100, 50, 1000);
  g_assert_false (_wb_sleep_monitor_get_polls_clock (monitor));
#else
  g_assert_true (_wb_sleep_monitor_get_polls_clock (monitor));
#endif
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, fn) g_test_add (path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
  ADD ("/ma/sleep-monitor/prepare-for-sleep", test_prepare_for_sleep);
  ADD ("/ma/sleep-monitor/bus-address-override", test_bus_address_override);
  ADD ("/ma/sleep-monitor/no-bus", test_no_bus);
  ADD ("/ma/sleep-monitor/network-debounce", test_network_debounce);
  ADD ("/ma/sleep-monitor/clock-jump", test_clock_jump);
  g_test_add_func ("/ma/sleep-monitor/no-clock-polling", test_no_clock_polling);
#undef ADD

  return g_test_run ();
}
