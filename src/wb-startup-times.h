/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-startup-times.h: the program's own start-up milestones, for tests/bench/cold-start.
 *
 * Only when WB_STARTUP_TIMES names a file: each milestone's CLOCK_MONOTONIC time (µs, the clock
 * g_get_monotonic_time() reads, shared by every process on the machine) is kept, and once every
 * awaited milestone has happened one JSON line is written to that file (written aside, then
 * renamed, so a reader never sees half of it). Nothing is polled and nothing is written otherwise.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* @mode: "window", "background" or "headless"; @awaited: NULL-terminated milestone names. */
void     wb_startup_times_begin      (const char        *mode,
                                      const char *const *awaited);
/* Records @name the first time only; writes the line when it completes the awaited set. */
void     wb_startup_times_mark       (const char        *name);
gboolean wb_startup_times_is_enabled (void);
/* The JSON line (without newline) for what has been marked so far; for tests. */
char    *wb_startup_times_to_json    (void);

G_END_DECLS
