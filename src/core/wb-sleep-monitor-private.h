/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-sleep-monitor-private.h: test seams of WbSleepMonitor. */
#pragma once

#include "wb-sleep-monitor.h"

G_BEGIN_DECLS

/* Runs the clock-jump check as if the wall and monotonic clocks read @wall_us and @mono_us. */
void _wb_sleep_monitor_check_clock (WbSleepMonitor *self,
                                    gint64          wall_us,
                                    gint64          mono_us);
/* Whether a timer checks the clock periodically (no clock-change timerfd). */
gboolean _wb_sleep_monitor_get_polls_clock (WbSleepMonitor *self);

G_END_DECLS
