/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-sleep-monitor.c: "the machine (or its network) just woke up": reconnect now. */

#define G_LOG_DOMAIN "wb-sleep-monitor"

#include "config.h"

#include <errno.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/timerfd.h>
#endif

#include <glib-unix.h>

#include "wb-sleep-monitor-private.h"

#define DEFAULT_NETWORK_DEBOUNCE_MS     2000
#define DEFAULT_CLOCK_CHECK_INTERVAL_MS 10000
#define DEFAULT_CLOCK_JUMP_THRESHOLD_MS 5000

struct _WbSleepMonitor
{
  GObject          parent_instance;

  GCancellable    *cancellable;         /* (owned) */
  GDBusConnection *bus;                 /* (owned) (nullable) */
  guint            sleep_subscription;
  GNetworkMonitor *network_monitor;     /* (owned) (nullable) */
  gulong           network_changed_id;

  guint            network_debounce_ms;
  guint            clock_check_interval_ms;
  guint            clock_jump_threshold_ms;

  gint64           started_mono_us;
  gboolean         seen_network_change;
  guint            network_debounce_id;
  guint            clock_id;
  int              clock_set_fd;        /* timerfd woken when the wall clock jumps, or -1 */
  GSource         *clock_set_source;    /* (owned) (nullable) */
  gint64           last_wall_us;
  gint64           last_mono_us;
  gint64           last_resumed_mono_us;
};

G_DEFINE_FINAL_TYPE (WbSleepMonitor, wb_sleep_monitor, G_TYPE_OBJECT)

enum {
  SIGNAL_RESUMED,
  SIGNAL_SUSPENDING,
  N_SIGNALS,
};

static guint signals[N_SIGNALS];

static void
reset_clock_baseline (WbSleepMonitor *self)
{
  self->last_wall_us = g_get_real_time ();
  self->last_mono_us = g_get_monotonic_time ();
}

static void
emit_resumed (WbSleepMonitor *self,
              const char     *reason)
{
  g_debug ("Resumed: %s", reason);
  self->last_resumed_mono_us = g_get_monotonic_time ();
  reset_clock_baseline (self);
  g_clear_handle_id (&self->network_debounce_id, g_source_remove);
  g_signal_emit (self, signals[SIGNAL_RESUMED], 0, reason);
}

static void
on_prepare_for_sleep_cb (GDBusConnection *connection,
                         const char      *sender_name,
                         const char      *object_path,
                         const char      *interface_name,
                         const char      *signal_name,
                         GVariant        *parameters,
                         gpointer         user_data)
{
  g_autoptr(WbSleepMonitor) self = g_weak_ref_get (user_data);
  gboolean start = FALSE;

  if (self == NULL || !g_variant_is_of_type (parameters, G_VARIANT_TYPE ("(b)")))
    return;

  g_variant_get (parameters, "(b)", &start);
  if (start)
    {
      g_debug ("Going to sleep");
      g_signal_emit (self, signals[SIGNAL_SUSPENDING], 0);
    }
  else
    emit_resumed (self, "prepare-for-sleep");
}

static void
weak_ref_free (gpointer data)
{
  g_weak_ref_clear (data);
  g_free (data);
}

static void
watch_bus (WbSleepMonitor  *self,
           GDBusConnection *bus)
{
  GWeakRef *weak = g_new0 (GWeakRef, 1);

  g_weak_ref_init (weak, self);
  self->bus = g_object_ref (bus);
  self->sleep_subscription =
    g_dbus_connection_signal_subscribe (bus, "org.freedesktop.login1",
                                        "org.freedesktop.login1.Manager", "PrepareForSleep",
                                        "/org/freedesktop/login1", NULL,
                                        G_DBUS_SIGNAL_FLAGS_NONE, on_prepare_for_sleep_cb,
                                        weak, weak_ref_free);
}

static void
bus_ready (WbSleepMonitor  *self,
           GDBusConnection *bus,
           GError          *error)
{
  if (bus == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_debug ("No system bus, no sleep notifications: %s", error->message);
      return;
    }
  if (!g_cancellable_is_cancelled (self->cancellable))
    watch_bus (self, bus);
}

static void
bus_get_cb (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_autoptr(WbSleepMonitor) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GDBusConnection) bus = g_bus_get_finish (result, &error);

  bus_ready (self, bus, error);
}

static void
bus_for_address_cb (GObject      *source,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  g_autoptr(WbSleepMonitor) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GDBusConnection) bus = g_dbus_connection_new_for_address_finish (result, &error);

  bus_ready (self, bus, error);
}

static gboolean
network_debounce_cb (gpointer user_data)
{
  WbSleepMonitor *self = user_data;
  gint64 since_resumed_ms = (g_get_monotonic_time () - self->last_resumed_mono_us) / 1000;

  self->network_debounce_id = 0;
  if (!g_network_monitor_get_network_available (self->network_monitor))
    return G_SOURCE_REMOVE;
  /* A wake-up just reported (logind, clock) covers this change too. */
  if (self->last_resumed_mono_us != 0 && since_resumed_ms < self->network_debounce_ms)
    return G_SOURCE_REMOVE;

  emit_resumed (self, "network-changed");
  return G_SOURCE_REMOVE;
}

static void
on_network_changed_cb (GNetworkMonitor *monitor,
                       gboolean         available,
                       gpointer         user_data)
{
  WbSleepMonitor *self = user_data;
  gint64 since_start_ms = (g_get_monotonic_time () - self->started_mono_us) / 1000;

  /* The first report right after start is the monitor settling (unavailable → available). */
  if (!self->seen_network_change)
    {
      self->seen_network_change = TRUE;
      if (since_start_ms < self->network_debounce_ms)
        return;
    }

  g_clear_handle_id (&self->network_debounce_id, g_source_remove);
  self->network_debounce_id = g_timeout_add (self->network_debounce_ms, network_debounce_cb, self);
}

void
_wb_sleep_monitor_check_clock (WbSleepMonitor *self,
                               gint64          wall_us,
                               gint64          mono_us)
{
  gint64 drift_ms = ((wall_us - self->last_wall_us) - (mono_us - self->last_mono_us)) / 1000;

  self->last_wall_us = wall_us;
  self->last_mono_us = mono_us;
  /* The monotonic clock stops during suspend; the wall clock does not. */
  if (drift_ms > (gint64) self->clock_jump_threshold_ms)
    {
      g_debug ("Wall clock ran %" G_GINT64_FORMAT " ms ahead of the monotonic clock", drift_ms);
      emit_resumed (self, "clock-jump");
    }
}

static gboolean
clock_cb (gpointer user_data)
{
  WbSleepMonitor *self = user_data;

  _wb_sleep_monitor_check_clock (self, g_get_real_time (), g_get_monotonic_time ());
  return G_SOURCE_CONTINUE;
}

#ifdef __linux__
/* A CLOCK_REALTIME timer set far in the future with TFD_TIMER_CANCEL_ON_SET: the kernel cancels
 * it, and wakes us, whenever the wall clock jumps against the monotonic one — a resume from
 * suspend (timekeeping_resume ()), or the clock being set. Re-armed after each wake. */
static gboolean
arm_clock_set_fd (WbSleepMonitor *self)
{
  struct itimerspec never = { { 0, 0 }, { G_MAXINT32, 0 } };   /* 2038: far enough */

  return timerfd_settime (self->clock_set_fd, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET,
                          &never, NULL) == 0;
}

static gboolean
clock_set_cb (int          fd,
              GIOCondition condition,
              gpointer     user_data)
{
  WbSleepMonitor *self = user_data;
  guint64 expirations;

  /* ECANCELED is the news: the clock jumped. */
  if (read (fd, &expirations, sizeof expirations) < 0 && errno != ECANCELED && errno != EAGAIN)
    g_debug ("reading the clock-change timer: %s", g_strerror (errno));
  arm_clock_set_fd (self);
  _wb_sleep_monitor_check_clock (self, g_get_real_time (), g_get_monotonic_time ());
  return G_SOURCE_CONTINUE;
}

static gboolean
watch_clock_set (WbSleepMonitor *self)
{
  self->clock_set_fd = timerfd_create (CLOCK_REALTIME, TFD_NONBLOCK | TFD_CLOEXEC);
  if (self->clock_set_fd < 0 || !arm_clock_set_fd (self))
    {
      g_debug ("no clock-change timer (%s): checking the clock every %u ms", g_strerror (errno),
               self->clock_check_interval_ms);
      if (self->clock_set_fd >= 0)
        close (self->clock_set_fd);
      self->clock_set_fd = -1;
      return FALSE;
    }
  self->clock_set_source = g_unix_fd_source_new (self->clock_set_fd, G_IO_IN);
  g_source_set_callback (self->clock_set_source, G_SOURCE_FUNC (clock_set_cb), self, NULL);
  g_source_set_static_name (self->clock_set_source, "[wb] wall clock jumped");
  g_source_attach (self->clock_set_source, NULL);
  return TRUE;
}
#else
static gboolean
watch_clock_set (WbSleepMonitor *self)
{
  return FALSE;
}
#endif

/* The wall clock running ahead of the monotonic one means the machine slept. Where the kernel
 * tells us when that happens (a timerfd, Linux) nothing polls; elsewhere a timer checks every
 * clock_check_interval_ms. */
static void
restart_clock_timer (WbSleepMonitor *self)
{
  g_clear_handle_id (&self->clock_id, g_source_remove);
  reset_clock_baseline (self);
  if (self->clock_set_source != NULL)
    return;
  self->clock_id = g_timeout_add (self->clock_check_interval_ms, clock_cb, self);
}

static void
wb_sleep_monitor_dispose (GObject *object)
{
  WbSleepMonitor *self = WB_SLEEP_MONITOR (object);

  g_cancellable_cancel (self->cancellable);
  if (self->bus != NULL && self->sleep_subscription != 0)
    g_dbus_connection_signal_unsubscribe (self->bus, self->sleep_subscription);
  self->sleep_subscription = 0;
  g_clear_object (&self->bus);
  g_clear_signal_handler (&self->network_changed_id, self->network_monitor);
  g_clear_object (&self->network_monitor);
  g_clear_handle_id (&self->network_debounce_id, g_source_remove);
  g_clear_handle_id (&self->clock_id, g_source_remove);
  if (self->clock_set_source != NULL)
    g_source_destroy (self->clock_set_source);
  g_clear_pointer (&self->clock_set_source, g_source_unref);
  if (self->clock_set_fd >= 0)
    close (self->clock_set_fd);
  self->clock_set_fd = -1;

  G_OBJECT_CLASS (wb_sleep_monitor_parent_class)->dispose (object);
}

static void
wb_sleep_monitor_finalize (GObject *object)
{
  WbSleepMonitor *self = WB_SLEEP_MONITOR (object);

  g_clear_object (&self->cancellable);

  G_OBJECT_CLASS (wb_sleep_monitor_parent_class)->finalize (object);
}

static void
wb_sleep_monitor_class_init (WbSleepMonitorClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = wb_sleep_monitor_dispose;
  object_class->finalize = wb_sleep_monitor_finalize;

  /* (reason): "prepare-for-sleep", "network-changed" or "clock-jump". */
  signals[SIGNAL_RESUMED] =
    g_signal_new ("resumed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, G_TYPE_STRING);
  /* logind PrepareForSleep(true). */
  signals[SIGNAL_SUSPENDING] =
    g_signal_new ("suspending", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 0);
}

static void
wb_sleep_monitor_init (WbSleepMonitor *self)
{
  self->cancellable = g_cancellable_new ();
  self->network_debounce_ms = DEFAULT_NETWORK_DEBOUNCE_MS;
  self->clock_check_interval_ms = DEFAULT_CLOCK_CHECK_INTERVAL_MS;
  self->clock_jump_threshold_ms = DEFAULT_CLOCK_JUMP_THRESHOLD_MS;
  self->started_mono_us = g_get_monotonic_time ();
  self->clock_set_fd = -1;
  watch_clock_set (self);
  restart_clock_timer (self);
}

static void
watch_network (WbSleepMonitor  *self,
               GNetworkMonitor *monitor)
{
  if (monitor == NULL)
    return;
  self->network_monitor = g_object_ref (monitor);
  self->network_changed_id = g_signal_connect (monitor, "network-changed",
                                               G_CALLBACK (on_network_changed_cb), self);
}

/* Watches logind on the system bus ($WB_SYSTEM_BUS_ADDRESS overrides it, for tests) and the
 * default network monitor. Without a system bus or logind there is simply no sleep signal. */
WbSleepMonitor *
wb_sleep_monitor_new (void)
{
  WbSleepMonitor *self = g_object_new (WB_TYPE_SLEEP_MONITOR, NULL);
  const char *address = g_getenv ("WB_SYSTEM_BUS_ADDRESS");

  if (address != NULL && *address != '\0')
    g_dbus_connection_new_for_address (address,
                                       G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT
                                       | G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                                       NULL, self->cancellable, bus_for_address_cb,
                                       g_object_ref (self));
  else
    g_bus_get (G_BUS_TYPE_SYSTEM, self->cancellable, bus_get_cb, g_object_ref (self));
  watch_network (self, g_network_monitor_get_default ());

  return self;
}

/* @system_bus: (nullable) where logind lives; @network_monitor: (nullable). */
WbSleepMonitor *
wb_sleep_monitor_new_for_connection (GDBusConnection *system_bus,
                                     GNetworkMonitor *network_monitor)
{
  WbSleepMonitor *self;

  g_return_val_if_fail (system_bus == NULL || G_IS_DBUS_CONNECTION (system_bus), NULL);
  g_return_val_if_fail (network_monitor == NULL || G_IS_NETWORK_MONITOR (network_monitor), NULL);

  self = g_object_new (WB_TYPE_SLEEP_MONITOR, NULL);
  if (system_bus != NULL)
    watch_bus (self, system_bus);
  watch_network (self, network_monitor);

  return self;
}

void
wb_sleep_monitor_set_timings (WbSleepMonitor *self,
                              guint           network_debounce_ms,
                              guint           clock_check_interval_ms,
                              guint           clock_jump_threshold_ms)
{
  g_return_if_fail (WB_IS_SLEEP_MONITOR (self));

  self->network_debounce_ms = MAX (network_debounce_ms, 1);
  self->clock_check_interval_ms = MAX (clock_check_interval_ms, 1);
  self->clock_jump_threshold_ms = MAX (clock_jump_threshold_ms, 1);
  restart_clock_timer (self);
}

gboolean
_wb_sleep_monitor_get_polls_clock (WbSleepMonitor *self)
{
  return self->clock_id != 0;
}

/* Whether the PrepareForSleep subscription is in place (the bus connection is async). */
gboolean
wb_sleep_monitor_get_watching_logind (WbSleepMonitor *self)
{
  g_return_val_if_fail (WB_IS_SLEEP_MONITOR (self), FALSE);
  return self->sleep_subscription != 0;
}
