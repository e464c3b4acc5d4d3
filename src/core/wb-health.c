/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-health.c: health figures (counters, latency percentiles, state) for `--status`. */

#define G_LOG_DOMAIN "wb-health"

#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "wb-event-normaliser.h"
#include "wb-health.h"

struct _WbHealth
{
  GObject     parent_instance;
  guint64     counters[WB_N_HEALTH_COUNTERS];
  guint64     events[WB_N_HEALTH_SOURCES];
  guint64     duplicates[WB_N_HEALTH_SOURCES];
  guint64     tier_failures[WB_N_TIERS];
  char       *tier_last_reason[WB_N_TIERS];
  gint64      tier_last_us[WB_N_TIERS];
  gint64      not_receiving_us;
  char       *not_receiving_reason;
  const char *state;          /* (not owned) one of states[] */
  char       *last_error;     /* (owned) (nullable) why the app is not connected, for people */
  gdouble    *samples;        /* (owned) ring of the last reservoir_size latencies */
  guint       reservoir_size;
  guint       n_samples;
  guint       next_sample;
  gint64      started_us;
  char       *texts[WB_N_HEALTH_TEXTS];
  /* The last error Realtime reported, and whether it still stands (no subscription since). */
  char       *error_kind;
  char       *error_code;
  char       *error_message;
  gint64      error_at_us;    /* real time */
  gboolean    error_active;
};

G_DEFINE_FINAL_TYPE (WbHealth, wb_health, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_STATE,
  N_PROPS,
};

static GParamSpec *properties[N_PROPS];

static const char * const states[] = {
  "disconnected", "connecting", "joining", "subscribed", "signed_out",
};

static const char * const counter_names[WB_N_HEALTH_COUNTERS] = {
  [WB_HEALTH_ALERTS] = "alerts",
  [WB_HEALTH_DUPLICATES_SUPPRESSED] = "duplicates_suppressed",
  [WB_HEALTH_CATCHUP_FOUND] = "catchup_found",
  [WB_HEALTH_RECONNECTS] = "reconnects",
  [WB_HEALTH_FETCH_RETRIES] = "fetch_retries",
  [WB_HEALTH_FETCH_FAILURES] = "fetch_failures",
  [WB_HEALTH_FALLBACKS] = "fallbacks",
  [WB_HEALTH_UPDATES] = "updates",
  [WB_HEALTH_REPEATS] = "repeats",
  [WB_HEALTH_WITHDRAWS] = "withdraws",
  [WB_HEALTH_CATCHUP_RUNS] = "catchup_runs",
  [WB_HEALTH_CATCHUP_FAILURES] = "catchup_failures",
  [WB_HEALTH_TOKEN_REFRESHES] = "token_refreshes",
  [WB_HEALTH_FRAMES_DROPPED] = "frames_dropped",
  [WB_HEALTH_SERVER_ERRORS] = "server_errors",
  [WB_HEALTH_CONNECTION_RENEWALS] = "connection_renewals",
  [WB_HEALTH_ESCALATIONS] = "escalations",
  [WB_HEALTH_ACCEPTS_WON] = "accepts_won",
  [WB_HEALTH_ACCEPTS_LOST] = "accepts_lost",
  [WB_HEALTH_ACCEPT_FAILURES] = "accept_failures",
  [WB_HEALTH_CONNECTION_ALARMS] = "connection_alarms",
  [WB_HEALTH_BROADCASTS_REJECTED] = "broadcasts_rejected",
};

static const char * const text_names[WB_N_HEALTH_TEXTS] = {
  [WB_HEALTH_TEXT_REALTIME_VSN] = "realtime_vsn",
  [WB_HEALTH_TEXT_API_KEY] = "api_key",
  [WB_HEALTH_TEXT_CONNECTION] = "connection",
  [WB_HEALTH_TEXT_REALTIME] = "realtime",
  [WB_HEALTH_TEXT_DB_BROADCAST] = "db_broadcast",
};

const char *
wb_health_source_to_string (WbHealthSource source)
{
  switch (source)
    {
    case WB_HEALTH_SOURCE_BROADCAST:
      return "broadcast";
    case WB_HEALTH_SOURCE_POSTGRES_CHANGES:
      return "postgres_changes";
    case WB_HEALTH_SOURCE_CATCHUP:
      return "catchup";
    case WB_HEALTH_SOURCE_DB_BROADCAST:
      return "db_broadcast";
    case WB_N_HEALTH_SOURCES:
    default:
      return "unknown";
    }
}

void
wb_health_inc (WbHealth        *self,
               WbHealthCounter  counter)
{
  wb_health_add (self, counter, 1);
}

void
wb_health_add (WbHealth        *self,
               WbHealthCounter  counter,
               guint64          n)
{
  g_return_if_fail (WB_IS_HEALTH (self));
  g_return_if_fail (counter < WB_N_HEALTH_COUNTERS);
  self->counters[counter] += n;
}

/* For figures another object counts itself (e.g. the fetcher's retries). */
void
wb_health_set (WbHealth        *self,
               WbHealthCounter  counter,
               guint64          value)
{
  g_return_if_fail (WB_IS_HEALTH (self));
  g_return_if_fail (counter < WB_N_HEALTH_COUNTERS);
  self->counters[counter] = value;
}

guint64
wb_health_get (WbHealth        *self,
               WbHealthCounter  counter)
{
  g_return_val_if_fail (WB_IS_HEALTH (self), 0);
  g_return_val_if_fail (counter < WB_N_HEALTH_COUNTERS, 0);
  return self->counters[counter];
}

void
wb_health_count_event (WbHealth       *self,
                       WbHealthSource  source)
{
  g_return_if_fail (WB_IS_HEALTH (self));
  g_return_if_fail (source < WB_N_HEALTH_SOURCES);
  self->events[source]++;
}

guint64
wb_health_get_events (WbHealth       *self,
                      WbHealthSource  source)
{
  g_return_val_if_fail (WB_IS_HEALTH (self), 0);
  g_return_val_if_fail (source < WB_N_HEALTH_SOURCES, 0);
  return self->events[source];
}

/* A duplicate observation suppressed: counted per source and in duplicates_suppressed. */
void
wb_health_count_duplicate (WbHealth       *self,
                           WbHealthSource  source)
{
  g_return_if_fail (WB_IS_HEALTH (self));
  g_return_if_fail (source < WB_N_HEALTH_SOURCES);
  self->duplicates[source]++;
  self->counters[WB_HEALTH_DUPLICATES_SUPPRESSED]++;
}

void
wb_health_tier_failed (WbHealth *self,
                       WbTier    tier)
{
  g_return_if_fail (WB_IS_HEALTH (self));
  g_return_if_fail (tier < WB_N_TIERS);
  self->tier_failures[tier]++;
}

guint64
wb_health_get_tier_failures (WbHealth *self,
                             WbTier    tier)
{
  g_return_val_if_fail (WB_IS_HEALTH (self), 0);
  g_return_val_if_fail (tier < WB_N_TIERS, 0);
  return self->tier_failures[tier];
}

#define MAX_REASON_CHARS 300

void
wb_health_set_tier_last_failure (WbHealth   *self,
                                 WbTier      tier,
                                 const char *reason,
                                 gint64      wall_us)
{
  g_return_if_fail (WB_IS_HEALTH (self));
  g_return_if_fail (tier < WB_N_TIERS);
  g_free (self->tier_last_reason[tier]);
  self->tier_last_reason[tier] = wb_event_one_line (reason != NULL ? reason : "unknown",
                                                    MAX_REASON_CHARS);
  self->tier_last_us[tier] = wall_us;
}

const char *
wb_health_get_tier_last_failure (WbHealth *self,
                                 WbTier    tier,
                                 gint64   *wall_us)
{
  g_return_val_if_fail (WB_IS_HEALTH (self), NULL);
  g_return_val_if_fail (tier < WB_N_TIERS, NULL);
  if (wall_us != NULL)
    *wall_us = self->tier_last_us[tier];
  return self->tier_last_reason[tier];
}

void
wb_health_set_not_receiving (WbHealth   *self,
                             gint64      since_wall_us,
                             const char *reason)
{
  g_return_if_fail (WB_IS_HEALTH (self));
  self->not_receiving_us = since_wall_us;
  g_clear_pointer (&self->not_receiving_reason, g_free);
  if (since_wall_us != 0 && reason != NULL)
    self->not_receiving_reason = wb_event_one_line (reason, MAX_REASON_CHARS);
}

gint64
wb_health_get_not_receiving_since (WbHealth *self)
{
  g_return_val_if_fail (WB_IS_HEALTH (self), 0);
  return self->not_receiving_us;
}

static void
add_time (JsonBuilder *b,
          const char  *name,
          gint64       wall_us)
{
  g_autoptr(GDateTime) dt = wall_us > 0 ? g_date_time_new_from_unix_utc (wall_us / G_USEC_PER_SEC) : NULL;
  g_autofree char *text = dt != NULL ? g_date_time_format_iso8601 (dt) : NULL;

  json_builder_set_member_name (b, name);
  if (text != NULL)
    json_builder_add_string_value (b, text);
  else
    json_builder_add_null_value (b);
}

/* One of disconnected|connecting|joining|subscribed|signed_out; FALSE for anything else. */
gboolean
wb_health_set_state (WbHealth   *self,
                     const char *state)
{
  g_return_val_if_fail (WB_IS_HEALTH (self), FALSE);

  for (guint i = 0; i < G_N_ELEMENTS (states); i++)
    {
      if (g_strcmp0 (states[i], state) != 0)
        continue;
      if (self->state != states[i])
        {
          self->state = states[i];
          g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
        }
      return TRUE;
    }
  return FALSE;
}

/* What last kept the app from connecting (a refused address, an untrusted certificate, a failed
 * sign-in), in words; NULL clears it. Shown by --status and the window. */
void
wb_health_set_last_error (WbHealth   *self,
                          const char *message)
{
  g_return_if_fail (WB_IS_HEALTH (self));
  if (g_strcmp0 (self->last_error, message) == 0)
    return;
  g_free (self->last_error);
  self->last_error = g_strdup (message);
}

const char *
wb_health_get_last_error (WbHealth *self)
{
  g_return_val_if_fail (WB_IS_HEALTH (self), NULL);
  return self->last_error;
}

const char *
wb_health_get_state (WbHealth *self)
{
  g_return_val_if_fail (WB_IS_HEALTH (self), NULL);
  return self->state;
}

void
wb_health_add_latency_ms (WbHealth *self,
                          gdouble   latency_ms)
{
  g_return_if_fail (WB_IS_HEALTH (self));
  if (!isfinite (latency_ms))
    return;
  self->samples[self->next_sample] = MAX (latency_ms, 0.0);
  self->next_sample = (self->next_sample + 1) % self->reservoir_size;
  self->n_samples = MIN (self->n_samples + 1, self->reservoir_size);
}

guint
wb_health_get_latency_count (WbHealth *self)
{
  g_return_val_if_fail (WB_IS_HEALTH (self), 0);
  return self->n_samples;
}

static int
compare_double (const void *a,
                const void *b)
{
  gdouble x = *(const gdouble *) a;
  gdouble y = *(const gdouble *) b;

  return (x > y) - (x < y);
}

static gdouble *
sorted_samples (WbHealth *self)
{
  gdouble *copy = g_memdup2 (self->samples, sizeof (gdouble) * self->n_samples);

  qsort (copy, self->n_samples, sizeof (gdouble), compare_double);
  return copy;
}

static gdouble
rank (const gdouble *sorted,
      guint          n,
      gdouble        percentile)
{
  gdouble r = ceil (CLAMP (percentile, 0.0, 100.0) / 100.0 * n);
  guint idx = r < 1 ? 0 : (guint) r - 1;

  return sorted[MIN (idx, n - 1)];
}

/* Nearest-rank percentile (0..100) over the reservoir; 0 when empty. */
gdouble
wb_health_get_latency_percentile (WbHealth *self,
                                  gdouble   percentile)
{
  g_autofree gdouble *sorted = NULL;

  g_return_val_if_fail (WB_IS_HEALTH (self), 0.0);
  if (self->n_samples == 0)
    return 0.0;
  sorted = sorted_samples (self);
  return rank (sorted, self->n_samples, percentile);
}

/* Resizes (and empties) the latency reservoir. */
void
wb_health_set_reservoir_size (WbHealth *self,
                              guint     size)
{
  g_return_if_fail (WB_IS_HEALTH (self));
  g_free (self->samples);
  self->reservoir_size = MAX (size, 1);
  self->samples = g_new0 (gdouble, self->reservoir_size);
  self->n_samples = 0;
  self->next_sample = 0;
}

void
wb_health_set_text (WbHealth     *self,
                    WbHealthText  which,
                    const char   *value)
{
  g_return_if_fail (WB_IS_HEALTH (self));
  g_return_if_fail (which < WB_N_HEALTH_TEXTS);

  if (g_strcmp0 (self->texts[which], value) == 0)
    return;
  g_free (self->texts[which]);
  self->texts[which] = g_strdup (value);
}

const char *
wb_health_get_text (WbHealth     *self,
                    WbHealthText  which)
{
  g_return_val_if_fail (WB_IS_HEALTH (self), NULL);
  g_return_val_if_fail (which < WB_N_HEALTH_TEXTS, NULL);
  return self->texts[which];
}

/* Realtime reported an error (a refused handshake or join, a channel shutdown): it stands until
 * wb_health_end_server_error(). @code may be %NULL (a message without a code). The texts are
 * expected printable already (wb_realtime_error_printable). */
void
wb_health_set_server_error (WbHealth   *self,
                            const char *kind,
                            const char *code,
                            const char *message)
{
  g_return_if_fail (WB_IS_HEALTH (self));

  g_free (self->error_kind);
  g_free (self->error_code);
  g_free (self->error_message);
  self->error_kind = g_strdup (kind);
  self->error_code = g_strdup (code);
  self->error_message = g_strdup (message);
  self->error_at_us = g_get_real_time ();
  self->error_active = TRUE;
  self->counters[WB_HEALTH_SERVER_ERRORS]++;
}

/* The server allows again (subscribed): the last error is history. */
void
wb_health_end_server_error (WbHealth *self)
{
  g_return_if_fail (WB_IS_HEALTH (self));
  self->error_active = FALSE;
}

/* Returns: whether an error stands; the out texts describe the last one either way ((nullable),
 * owned by @self). */
gboolean
wb_health_get_server_error (WbHealth     *self,
                            const char  **kind,
                            const char  **code,
                            const char  **message)
{
  g_return_val_if_fail (WB_IS_HEALTH (self), FALSE);
  if (kind != NULL)
    *kind = self->error_kind;
  if (code != NULL)
    *code = self->error_code;
  if (message != NULL)
    *message = self->error_message;
  return self->error_active;
}

static gdouble
round3 (gdouble v)
{
  return round (v * 1000.0) / 1000.0;
}

JsonNode *
wb_health_to_json (WbHealth *self)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autofree gdouble *sorted = NULL;

  g_return_val_if_fail (WB_IS_HEALTH (self), NULL);

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "state");
  json_builder_add_string_value (b, self->state);
  for (guint i = 0; i < WB_N_HEALTH_TEXTS; i++)
    {
      json_builder_set_member_name (b, text_names[i]);
      if (self->texts[i] != NULL)
        json_builder_add_string_value (b, self->texts[i]);
      else
        json_builder_add_null_value (b);
    }
  json_builder_set_member_name (b, "last_server_error");
  if (self->error_kind == NULL)
    json_builder_add_null_value (b);
  else
    {
      g_autoptr(GDateTime) at = g_date_time_new_from_unix_utc (self->error_at_us / G_USEC_PER_SEC);
      g_autofree char *iso = g_date_time_format_iso8601 (at);

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "code");
      if (self->error_code != NULL)
        json_builder_add_string_value (b, self->error_code);
      else
        json_builder_add_null_value (b);
      json_builder_set_member_name (b, "kind");
      json_builder_add_string_value (b, self->error_kind);
      json_builder_set_member_name (b, "message");
      json_builder_add_string_value (b, self->error_message != NULL ? self->error_message : "");
      json_builder_set_member_name (b, "at");
      json_builder_add_string_value (b, iso);
      json_builder_set_member_name (b, "active");
      json_builder_add_boolean_value (b, self->error_active);
      json_builder_end_object (b);
    }
  json_builder_set_member_name (b, "last_error");
  if (self->last_error != NULL)
    json_builder_add_string_value (b, self->last_error);
  else
    json_builder_add_null_value (b);
  for (guint i = 0; i < WB_N_HEALTH_COUNTERS; i++)
    {
      json_builder_set_member_name (b, counter_names[i]);
      json_builder_add_int_value (b, (gint64) self->counters[i]);
    }

  json_builder_set_member_name (b, "events");
  json_builder_begin_object (b);
  for (guint i = 0; i < WB_N_HEALTH_SOURCES; i++)
    {
      json_builder_set_member_name (b, wb_health_source_to_string (i));
      json_builder_add_int_value (b, (gint64) self->events[i]);
    }
  json_builder_end_object (b);

  json_builder_set_member_name (b, "duplicates_by_source");
  json_builder_begin_object (b);
  for (guint i = 0; i < WB_N_HEALTH_SOURCES; i++)
    {
      json_builder_set_member_name (b, wb_health_source_to_string (i));
      json_builder_add_int_value (b, (gint64) self->duplicates[i]);
    }
  json_builder_end_object (b);

  json_builder_set_member_name (b, "tier_failures");
  json_builder_begin_object (b);
  for (guint i = 0; i < WB_N_TIERS; i++)
    {
      json_builder_set_member_name (b, wb_tier_to_string (i));
      json_builder_add_int_value (b, (gint64) self->tier_failures[i]);
    }
  json_builder_end_object (b);

  /* Why each tier last failed, and when: what the troubleshooting table sends people to. */
  json_builder_set_member_name (b, "tier_last_failure");
  json_builder_begin_object (b);
  for (guint i = 0; i < WB_N_TIERS; i++)
    {
      json_builder_set_member_name (b, wb_tier_to_string (i));
      if (self->tier_last_reason[i] == NULL)
        {
          json_builder_add_null_value (b);
          continue;
        }
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "reason");
      json_builder_add_string_value (b, self->tier_last_reason[i]);
      add_time (b, "at", self->tier_last_us[i]);
      json_builder_end_object (b);
    }
  json_builder_end_object (b);

  add_time (b, "not_receiving_since", self->not_receiving_us);
  json_builder_set_member_name (b, "not_receiving_reason");
  if (self->not_receiving_us != 0 && self->not_receiving_reason != NULL)
    json_builder_add_string_value (b, self->not_receiving_reason);
  else
    json_builder_add_null_value (b);

  if (self->n_samples > 0)
    sorted = sorted_samples (self);
  json_builder_set_member_name (b, "latency_ms");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "p50");
  json_builder_add_double_value (b, sorted ? round3 (rank (sorted, self->n_samples, 50)) : 0.0);
  json_builder_set_member_name (b, "p99");
  json_builder_add_double_value (b, sorted ? round3 (rank (sorted, self->n_samples, 99)) : 0.0);
  json_builder_set_member_name (b, "max");
  json_builder_add_double_value (b, sorted ? round3 (sorted[self->n_samples - 1]) : 0.0);
  json_builder_set_member_name (b, "count");
  json_builder_add_int_value (b, self->n_samples);
  json_builder_end_object (b);

  json_builder_set_member_name (b, "uptime_s");
  json_builder_add_int_value (b, (g_get_monotonic_time () - self->started_us) / G_USEC_PER_SEC);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

char *
wb_health_to_json_string (WbHealth *self)
{
  g_autoptr(JsonNode) node = wb_health_to_json (self);

  return json_to_string (node, TRUE);
}

static void
wb_health_get_property (GObject    *object,
                        guint       prop_id,
                        GValue     *value,
                        GParamSpec *pspec)
{
  WbHealth *self = WB_HEALTH (object);

  switch (prop_id)
    {
    case PROP_STATE:
      g_value_set_string (value, self->state);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
wb_health_finalize (GObject *object)
{
  WbHealth *self = WB_HEALTH (object);

  g_free (self->samples);
  for (guint i = 0; i < WB_N_HEALTH_TEXTS; i++)
    g_free (self->texts[i]);
  g_free (self->error_kind);
  g_free (self->error_code);
  g_free (self->error_message);
  for (guint i = 0; i < WB_N_TIERS; i++)
    g_free (self->tier_last_reason[i]);
  g_free (self->not_receiving_reason);
  g_free (self->last_error);
  G_OBJECT_CLASS (wb_health_parent_class)->finalize (object);
}

static void
wb_health_class_init (WbHealthClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = wb_health_finalize;
  object_class->get_property = wb_health_get_property;

  properties[PROP_STATE] = g_param_spec_string ("state", NULL, NULL, "disconnected",
                                                G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
wb_health_init (WbHealth *self)
{
  self->state = states[0];
  self->started_us = g_get_monotonic_time ();
  wb_health_set_reservoir_size (self, WB_HEALTH_DEFAULT_RESERVOIR);
}

WbHealth *
wb_health_new (void)
{
  return g_object_new (WB_TYPE_HEALTH, NULL);
}
