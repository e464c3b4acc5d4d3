/* wb-health.h: health figures (counters, latency percentiles, state) for `--status`. */
#pragma once

#include <glib-object.h>
#include <json-glib/json-glib.h>

#include "wb-types.h"

G_BEGIN_DECLS

typedef enum
{
  WB_HEALTH_ALERTS,
  WB_HEALTH_DUPLICATES_SUPPRESSED,
  WB_HEALTH_CATCHUP_FOUND,
  WB_HEALTH_RECONNECTS,
  WB_HEALTH_FETCH_RETRIES,
  WB_HEALTH_FETCH_FAILURES,
  WB_HEALTH_FALLBACKS,
  WB_HEALTH_UPDATES,
  WB_HEALTH_REPEATS,
  WB_HEALTH_WITHDRAWS,
  WB_HEALTH_CATCHUP_RUNS,
  WB_HEALTH_CATCHUP_FAILURES,
  WB_HEALTH_TOKEN_REFRESHES,
  WB_N_HEALTH_COUNTERS,
} WbHealthCounter;

typedef enum
{
  WB_HEALTH_SOURCE_BROADCAST,
  WB_HEALTH_SOURCE_POSTGRES_CHANGES,
  WB_HEALTH_SOURCE_CATCHUP,
  WB_N_HEALTH_SOURCES,
} WbHealthSource;

#define WB_HEALTH_DEFAULT_RESERVOIR 10000

#define WB_TYPE_HEALTH (wb_health_get_type ())

G_DECLARE_FINAL_TYPE (WbHealth, wb_health, WB, HEALTH, GObject)

WbHealth   *wb_health_new                 (void);
void        wb_health_inc                 (WbHealth        *self,
                                           WbHealthCounter  counter);
void        wb_health_add                 (WbHealth        *self,
                                           WbHealthCounter  counter,
                                           guint64          n);
void        wb_health_set                 (WbHealth        *self,
                                           WbHealthCounter  counter,
                                           guint64          value);
guint64     wb_health_get                 (WbHealth        *self,
                                           WbHealthCounter  counter);
void        wb_health_count_event         (WbHealth        *self,
                                           WbHealthSource   source);
guint64     wb_health_get_events          (WbHealth        *self,
                                           WbHealthSource   source);
void        wb_health_count_duplicate     (WbHealth        *self,
                                           WbHealthSource   source);
void        wb_health_tier_failed         (WbHealth        *self,
                                           WbTier           tier);
guint64     wb_health_get_tier_failures   (WbHealth        *self,
                                           WbTier           tier);
gboolean    wb_health_set_state           (WbHealth        *self,
                                           const char      *state);
const char *wb_health_get_state           (WbHealth        *self);
void        wb_health_set_last_error      (WbHealth        *self,
                                           const char      *message);
const char *wb_health_get_last_error      (WbHealth        *self);
void        wb_health_add_latency_ms      (WbHealth        *self,
                                           gdouble          latency_ms);
guint       wb_health_get_latency_count   (WbHealth        *self);
gdouble     wb_health_get_latency_percentile (WbHealth     *self,
                                              gdouble       percentile);
void        wb_health_set_reservoir_size  (WbHealth        *self,
                                           guint            size);
JsonNode   *wb_health_to_json             (WbHealth        *self);
char       *wb_health_to_json_string      (WbHealth        *self);
const char *wb_health_source_to_string    (WbHealthSource   source);

G_END_DECLS
