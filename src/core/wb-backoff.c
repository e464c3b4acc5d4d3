/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-backoff.c: jittered exponential backoff, shared by reconnects, rejoins, retries and polling.
 * */

#define G_LOG_DOMAIN "wb-backoff"

#include "config.h"

#include <math.h>

#include "wb-backoff.h"

void
wb_backoff_init (WbBackoff *self,
                 guint      base_ms,
                 guint      max_ms,
                 gdouble    factor,
                 gdouble    jitter)
{
  g_return_if_fail (self != NULL);
  g_return_if_fail (base_ms > 0 && max_ms >= base_ms);
  g_return_if_fail (factor >= 1.0);

  self->base_ms = base_ms;
  self->max_ms = max_ms;
  self->factor = factor;
  self->jitter = CLAMP (jitter, 0.0, 1.0);
  self->attempt = 0;
  self->rand = NULL;
}

void
wb_backoff_set_seed (WbBackoff *self,
                     guint32    seed)
{
  g_clear_pointer (&self->rand, g_rand_free);
  self->rand = g_rand_new_with_seed (seed);
}

/* The un-jittered delay the next call to wb_backoff_next() draws below. */
guint
wb_backoff_peek_max (const WbBackoff *self)
{
  gdouble d = self->base_ms * pow (self->factor, MIN (self->attempt, 64));

  return (guint) MIN (d, (gdouble) self->max_ms);
}

/* Returns the delay in milliseconds before the next attempt and counts the attempt. */
guint
wb_backoff_next (WbBackoff *self)
{
  guint top = wb_backoff_peek_max (self);
  gdouble r = self->rand ? g_rand_double (self->rand) : g_random_double ();
  guint low = (guint) (top * (1.0 - self->jitter));
  guint delay = low + (guint) ((top - low) * r);

  self->attempt++;
  return MAX (delay, 1);
}

void
wb_backoff_reset (WbBackoff *self)
{
  self->attempt = 0;
}

void
wb_backoff_clear (WbBackoff *self)
{
  g_clear_pointer (&self->rand, g_rand_free);
}
