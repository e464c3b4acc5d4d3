#define G_LOG_DOMAIN "wb-alert-tier"

#include "config.h"

#include <string.h>

#include "wb-alert-tier.h"

G_DEFINE_INTERFACE (WbAlertTier, wb_alert_tier, G_TYPE_OBJECT)

typedef struct
{
  WbTierResult  result;
  char         *reason;
} TierOutcome;

static void
tier_outcome_free (gpointer data)
{
  TierOutcome *outcome = data;

  g_free (outcome->reason);
  g_free (outcome);
}

static void
wb_alert_tier_default_init (WbAlertTierInterface *iface)
{
}

WbTier
wb_alert_tier_get_tier (WbAlertTier *self)
{
  g_return_val_if_fail (WB_IS_ALERT_TIER (self), WB_N_TIERS);

  return WB_ALERT_TIER_GET_IFACE (self)->get_tier (self);
}

void
wb_alert_tier_fire_async (WbAlertTier         *self,
                          const WbAlertRecord *record,
                          GCancellable        *cancellable,
                          GAsyncReadyCallback  callback,
                          gpointer             user_data)
{
  g_return_if_fail (WB_IS_ALERT_TIER (self));
  g_return_if_fail (record != NULL);

  WB_ALERT_TIER_GET_IFACE (self)->fire_async (self, record, cancellable, callback, user_data);
}

WbTierResult
wb_alert_tier_fire_finish (WbAlertTier   *self,
                           GAsyncResult  *result,
                           char         **reason,
                           GError       **error)
{
  g_return_val_if_fail (WB_IS_ALERT_TIER (self), WB_TIER_RESULT_FAILED);

  if (reason != NULL)
    *reason = NULL;
  return WB_ALERT_TIER_GET_IFACE (self)->fire_finish (self, result, reason, error);
}

void
wb_alert_tier_withdraw (WbAlertTier *self,
                        const char  *assignment_id)
{
  WbAlertTierInterface *iface;

  g_return_if_fail (WB_IS_ALERT_TIER (self));

  iface = WB_ALERT_TIER_GET_IFACE (self);
  if (iface->withdraw != NULL)
    iface->withdraw (self, assignment_id);
}

void
wb_alert_tier_acknowledge (WbAlertTier *self,
                           const char  *assignment_id)
{
  WbAlertTierInterface *iface;

  g_return_if_fail (WB_IS_ALERT_TIER (self));

  iface = WB_ALERT_TIER_GET_IFACE (self);
  if (iface->acknowledge != NULL)
    iface->acknowledge (self, assignment_id);
}

void
wb_alert_tier_acknowledge_all (WbAlertTier *self)
{
  WbAlertTierInterface *iface;

  g_return_if_fail (WB_IS_ALERT_TIER (self));

  iface = WB_ALERT_TIER_GET_IFACE (self);
  if (iface->acknowledge_all != NULL)
    iface->acknowledge_all (self);
}

void
wb_alert_tier_task_return (GTask        *task,
                           WbTierResult  result,
                           const char   *reason)
{
  TierOutcome *outcome = g_new0 (TierOutcome, 1);

  g_return_if_fail (result == WB_TIER_RESULT_OK || result == WB_TIER_RESULT_SKIPPED);

  outcome->result = result;
  outcome->reason = g_strdup (reason);
  g_task_return_pointer (task, outcome, tier_outcome_free);
}

WbTierResult
wb_alert_tier_task_finish (GAsyncResult  *result,
                           char         **reason,
                           GError       **error)
{
  TierOutcome *outcome;
  WbTierResult ret;

  g_return_val_if_fail (G_IS_TASK (result), WB_TIER_RESULT_FAILED);

  outcome = g_task_propagate_pointer (G_TASK (result), error);
  if (outcome == NULL)
    return WB_TIER_RESULT_FAILED;

  ret = outcome->result;
  if (reason != NULL)
    *reason = g_steal_pointer (&outcome->reason);
  tier_outcome_free (outcome);
  return ret;
}

char *
wb_alert_tier_clean_text (const char *text,
                          guint       max_chars)
{
  g_autofree char *valid = NULL;
  GString *out;
  guint n = 0;

  if (text == NULL)
    return g_strdup ("");

  valid = g_utf8_make_valid (text, -1);
  out = g_string_sized_new (MIN (strlen (valid), (gsize) max_chars * 4 + 4));
  for (const char *p = valid; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (max_chars > 0 && n == max_chars - 1 && *g_utf8_next_char (p) != '\0')
        {
          /* Only cut when more than one character would remain. */
          g_string_append_unichar (out, 0x2026);   /* … */
          break;
        }
      if (g_unichar_iscntrl (c) || c == 0x2028 || c == 0x2029)
        c = ' ';
      g_string_append_unichar (out, c);
      n++;
    }
  return g_string_free (out, FALSE);
}

char *
wb_alert_tier_describe (const WbAlertRecord *record)
{
  const char *parts[3] = { record->customer, record->vehicle, record->concern };
  GString *out = g_string_new (NULL);

  for (guint i = 0; i < G_N_ELEMENTS (parts); i++)
    {
      if (parts[i] == NULL || *parts[i] == '\0')
        continue;
      if (out->len > 0)
        g_string_append (out, " · ");
      g_string_append (out, parts[i]);
    }
  if (out->len == 0)
    g_string_append (out, "New session request");
  return g_string_free (out, FALSE);
}
