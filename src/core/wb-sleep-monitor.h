/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-sleep-monitor.h: "the machine (or its network) just woke up": reconnect now. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define WB_TYPE_SLEEP_MONITOR (wb_sleep_monitor_get_type ())
G_DECLARE_FINAL_TYPE (WbSleepMonitor, wb_sleep_monitor, WB, SLEEP_MONITOR, GObject)

WbSleepMonitor *wb_sleep_monitor_new                (void);
WbSleepMonitor *wb_sleep_monitor_new_for_connection (GDBusConnection *system_bus,
                                                     GNetworkMonitor *network_monitor);
void            wb_sleep_monitor_set_timings        (WbSleepMonitor  *self,
                                                     guint            network_debounce_ms,
                                                     guint            clock_check_interval_ms,
                                                     guint            clock_jump_threshold_ms);
gboolean        wb_sleep_monitor_get_watching_logind (WbSleepMonitor *self);

G_END_DECLS
