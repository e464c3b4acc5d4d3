/* SPDX-License-Identifier: GPL-3.0-or-later */
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
  WB_HEALTH_FRAMES_DROPPED,      /* realtime frames that did not decode (either vsn, either kind) */
  WB_HEALTH_SERVER_ERRORS,       /* refusals and errors Realtime reported (last_server_error) */
  WB_HEALTH_CONNECTION_RENEWALS, /* public connections renewed before the server's limit */
  WB_HEALTH_ESCALATIONS,
  WB_HEALTH_ACCEPTS_WON,
  WB_HEALTH_ACCEPTS_LOST,      /* taken by someone else, or no longer queued */
  WB_HEALTH_ACCEPT_FAILURES,   /* no answer from the backend, or an error */
  WB_HEALTH_CONNECTION_ALARMS, /* times the connection alarm went off */
  WB_HEALTH_BROADCASTS_REJECTED, /* public broadcasts the database did not vouch for (never rung) */
  WB_N_HEALTH_COUNTERS,
} WbHealthCounter;

/* Short facts `--status` reports as strings. */
typedef enum
{
  WB_HEALTH_TEXT_REALTIME_VSN,   /* "2.0.0" | "1.0.0" */
  WB_HEALTH_TEXT_API_KEY,        /* the key's kind (wb_api_key_kind_to_string), never the key */
  WB_HEALTH_TEXT_CONNECTION,     /* "user" (a user token) | "public" (the API key only) | "none" */
  WB_HEALTH_TEXT_REALTIME,       /* the realtime state whether signed in or not */
  WB_HEALTH_TEXT_DB_BROADCAST,   /* the private channel: "off" | "joining" | "joined" | "unavailable: …" */
  WB_N_HEALTH_TEXTS,
} WbHealthText;

typedef enum
{
  WB_HEALTH_SOURCE_BROADCAST,
  WB_HEALTH_SOURCE_POSTGRES_CHANGES,
  WB_HEALTH_SOURCE_CATCHUP,
  WB_HEALTH_SOURCE_DB_BROADCAST,
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
/* The last failure of @tier (any kind of record): why, and when (wall clock µs). */
void        wb_health_set_tier_last_failure (WbHealth      *self,
                                             WbTier         tier,
                                             const char    *reason,
                                             gint64         wall_us);
const char *wb_health_get_tier_last_failure (WbHealth      *self,
                                             WbTier         tier,
                                             gint64        *wall_us);
/* Signed in but not subscribed since @wall_us (0: receiving), and why (nullable). */
void        wb_health_set_not_receiving   (WbHealth        *self,
                                           gint64           since_wall_us,
                                           const char      *reason);
gint64      wb_health_get_not_receiving_since (WbHealth    *self);
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
void        wb_health_set_text            (WbHealth        *self,
                                           WbHealthText     which,
                                           const char      *value);
const char *wb_health_get_text            (WbHealth        *self,
                                           WbHealthText     which);
void        wb_health_set_server_error    (WbHealth        *self,
                                           const char      *kind,
                                           const char      *code,
                                           const char      *message);
void        wb_health_end_server_error    (WbHealth        *self);
gboolean    wb_health_get_server_error    (WbHealth        *self,
                                           const char     **kind,
                                           const char     **code,
                                           const char     **message);
JsonNode   *wb_health_to_json             (WbHealth        *self);
char       *wb_health_to_json_string      (WbHealth        *self);
const char *wb_health_source_to_string    (WbHealthSource   source);

G_END_DECLS
