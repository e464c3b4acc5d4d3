/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-alert-record.c: what one alert, update, repeat, escalate or withdraw carries, and its
 * alert-log line. */

#define G_LOG_DOMAIN "wb-alert-record"

#include "config.h"

#include "wb-alert-record.h"
#include "wb-json.h"

G_DEFINE_BOXED_TYPE (WbAlertRecord, wb_alert_record, wb_alert_record_copy, wb_alert_record_free)

const char *
wb_tier_to_string (WbTier tier)
{
  switch (tier)
    {
    case WB_TIER_TOAST:        return "toast";
    case WB_TIER_SOUND:        return "sound";
    case WB_TIER_NOTIFICATION: return "notification";
    case WB_TIER_TRAY:         return "tray";
    case WB_N_TIERS:
    default:                   return "unknown";
    }
}

const char *
wb_alert_kind_to_string (WbAlertKind kind)
{
  switch (kind)
    {
    case WB_ALERT_KIND_ALERT:    return "alert";
    case WB_ALERT_KIND_UPDATE:   return "update";
    case WB_ALERT_KIND_REPEAT:   return "repeat";
    case WB_ALERT_KIND_WITHDRAW: return "withdraw";
    case WB_ALERT_KIND_ESCALATE: return "escalate";
    default:                     return "unknown";
    }
}

const char *
wb_alert_reason_for_status (const char *status)
{
  static const char * const kept[] = {
    "cancelled", "expired", "declined", "completed", "offered", "pending_waiver",
  };

  if (status == NULL)
    return "deleted";
  if (g_str_equal (status, "accepted"))
    return "taken";
  for (guint i = 0; i < G_N_ELEMENTS (kept); i++)
    if (g_str_equal (status, kept[i]))
      return kept[i];
  return "ended";
}

WbAlertRecord *
wb_alert_record_new (WbAlertKind  kind,
                     const char  *assignment_id)
{
  WbAlertRecord *self = g_new0 (WbAlertRecord, 1);

  self->kind = kind;
  self->assignment_id = g_strdup (assignment_id);
  self->source = "catchup";
  return self;
}

WbAlertRecord *
wb_alert_record_copy (const WbAlertRecord *self)
{
  WbAlertRecord *copy;

  g_return_val_if_fail (self != NULL, NULL);

  copy = g_memdup2 (self, sizeof *self);
  copy->assignment_id = g_strdup (self->assignment_id);
  copy->session_id = g_strdup (self->session_id);
  copy->customer = g_strdup (self->customer);
  copy->vehicle = g_strdup (self->vehicle);
  copy->concern = g_strdup (self->concern);
  copy->taken_by_id = g_strdup (self->taken_by_id);
  copy->taken_by = g_strdup (self->taken_by);
  for (guint i = 0; i < WB_N_TIERS; i++)
    copy->tier_reason[i] = g_strdup (self->tier_reason[i]);
  return copy;
}

void
wb_alert_record_free (WbAlertRecord *self)
{
  if (self == NULL)
    return;

  g_free (self->assignment_id);
  g_free (self->session_id);
  g_free (self->customer);
  g_free (self->vehicle);
  g_free (self->concern);
  g_free (self->taken_by_id);
  g_free (self->taken_by);
  for (guint i = 0; i < WB_N_TIERS; i++)
    g_free (self->tier_reason[i]);
  g_free (self);
}

void
wb_alert_record_set_tier (WbAlertRecord *self,
                          WbTier         tier,
                          WbTierResult   result,
                          const char    *reason)
{
  g_return_if_fail (self != NULL);
  g_return_if_fail (tier < WB_N_TIERS);

  self->tier_result[tier] = result;
  g_free (self->tier_reason[tier]);
  self->tier_reason[tier] = g_strdup (reason);
}

/* The customer's name, or a neutral fallback: never "undefined", never empty. */
const char *
wb_alert_record_title (const WbAlertRecord *self)
{
  if (self->customer != NULL && *self->customer != '\0')
    return self->customer;
  return "New session request";
}

/* "2019 Honda Civic · brake noise", or whichever half is known; NULL when neither is. Plain, for
 * the terminal (which escapes it); a display joins fields with wb_untrusted_text_join_isolated(). */
char *
wb_alert_record_summary_line (const WbAlertRecord *self)
{
  gboolean has_vehicle = self->vehicle != NULL && *self->vehicle != '\0';
  gboolean has_concern = self->concern != NULL && *self->concern != '\0';

  if (has_vehicle && has_concern)
    return g_strdup_printf ("%s · %s", self->vehicle, self->concern);
  if (has_vehicle)
    return g_strdup (self->vehicle);
  if (has_concern)
    return g_strdup (self->concern);
  return NULL;
}

/* Milliseconds from the commit of the row (or, when unknown, from the event's arrival) to the
 * moment the tiers were fired. */
double
wb_alert_record_latency_ms (const WbAlertRecord *self)
{
  if (self->alerted_us == 0)
    return 0.0;
  if (self->commit_ts_us > 0)
    return (self->alerted_us - self->commit_ts_us) / 1000.0;
  if (self->received_mono_us > 0 && self->alerted_mono_us > 0)
    return (self->alerted_mono_us - self->received_mono_us) / 1000.0;
  return 0.0;
}

static void
add_timestamp (JsonBuilder *b,
               const char  *name,
               gint64       us)
{
  json_builder_set_member_name (b, name);
  if (us > 0)
    {
      g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc (us / G_USEC_PER_SEC);
      g_autoptr(GDateTime) full = dt ? g_date_time_add (dt, us % G_USEC_PER_SEC) : NULL;
      g_autofree char *text = full ? g_date_time_format (full, "%Y-%m-%dT%H:%M:%S.%fZ") : NULL;

      if (text != NULL)
        json_builder_add_string_value (b, text);
      else
        json_builder_add_null_value (b);
    }
  else
    json_builder_add_null_value (b);
}

static void
add_nullable_string (JsonBuilder *b,
                     const char  *name,
                     const char  *value)
{
  json_builder_set_member_name (b, name);
  if (value != NULL)
    json_builder_add_string_value (b, value);
  else
    json_builder_add_null_value (b);
}

JsonNode *
wb_alert_record_to_json (const WbAlertRecord *self)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "kind");
  json_builder_add_string_value (b, wb_alert_kind_to_string (self->kind));
  add_nullable_string (b, "assignment_id", self->assignment_id);
  add_nullable_string (b, "session_id", self->session_id);
  json_builder_set_member_name (b, "episode");
  json_builder_add_int_value (b, self->episode);
  add_nullable_string (b, "source", self->source);
  json_builder_set_member_name (b, "details");
  json_builder_add_string_value (b, self->details_full ? "full" : "fallback");
  add_nullable_string (b, "customer", wb_alert_record_title (self));
  add_nullable_string (b, "vehicle", self->vehicle);
  add_nullable_string (b, "concern", self->concern);
  json_builder_set_member_name (b, "urgent");
  json_builder_add_boolean_value (b, self->urgent);
  add_timestamp (b, "commit_timestamp", self->commit_ts_us);
  add_timestamp (b, "received_at", self->received_us);
  add_timestamp (b, "alerted_at", self->alerted_us);
  json_builder_set_member_name (b, "latency_ms");
  json_builder_add_double_value (b, wb_alert_record_latency_ms (self));
  if (self->kind == WB_ALERT_KIND_WITHDRAW)
    {
      add_nullable_string (b, "reason", self->reason != NULL ? self->reason : "ended");
      add_nullable_string (b, "taken_by", self->taken_by);
      add_nullable_string (b, "taken_by_id", self->taken_by_id);
      json_builder_set_member_name (b, "taken_by_me");
      json_builder_add_boolean_value (b, self->taken_by_me);
    }

  json_builder_set_member_name (b, "tiers");
  json_builder_begin_object (b);
  for (guint i = 0; i < WB_N_TIERS; i++)
    {
      g_autofree char *text = NULL;

      switch (self->tier_result[i])
        {
        case WB_TIER_RESULT_OK:
          text = g_strdup ("ok");
          break;
        case WB_TIER_RESULT_SKIPPED:
          text = g_strdup ("skipped");
          break;
        case WB_TIER_RESULT_FAILED:
          text = g_strdup_printf ("failed: %s", self->tier_reason[i] ? self->tier_reason[i] : "unknown");
          break;
        case WB_TIER_RESULT_NOT_RUN:
        default:
          text = g_strdup ("skipped");
          break;
        }
      json_builder_set_member_name (b, wb_tier_to_string (i));
      json_builder_add_string_value (b, text);
    }
  json_builder_end_object (b);
  json_builder_end_object (b);

  return json_builder_get_root (b);
}

/* One line of strict JSON whatever the text holds: wb_json_to_string() escapes every control,
 * format and separator character and replaces invalid UTF-8. */
char *
wb_alert_record_to_json_line (const WbAlertRecord *self)
{
  g_autoptr(JsonNode) node = wb_alert_record_to_json (self);

  return wb_json_to_string (node);
}
