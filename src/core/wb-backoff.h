/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-backoff.h: jittered exponential backoff, shared by reconnects, rejoins, retries and polling.
 * */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _WbBackoff WbBackoff;

struct _WbBackoff
{
  guint   base_ms;    /* first delay */
  guint   max_ms;     /* cap */
  gdouble factor;     /* growth per attempt, e.g. 2.0 */
  gdouble jitter;     /* 0..1: each delay is drawn from [d * (1 - jitter), d] */
  guint   attempt;    /* attempts so far; 0 after reset */
  GRand  *rand;       /* (owned) (nullable): NULL uses g_random */
};

void  wb_backoff_init       (WbBackoff *self,
                             guint      base_ms,
                             guint      max_ms,
                             gdouble    factor,
                             gdouble    jitter);
void  wb_backoff_set_seed   (WbBackoff *self,
                             guint32    seed);
guint wb_backoff_peek_max   (const WbBackoff *self);
guint wb_backoff_next       (WbBackoff *self);
void  wb_backoff_reset      (WbBackoff *self);
void  wb_backoff_clear      (WbBackoff *self);

G_END_DECLS
