/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-alert-tier.c: the tier interface and what every tier shares (its fire task and outcome,
 * customer text made safe for one line). */

#define G_LOG_DOMAIN "wb-alert-tier"

#include "config.h"

#include <string.h>

#include "wb-alert-tier.h"
#include "wb-untrusted-text.h"

G_DEFINE_INTERFACE (WbAlertTier, wb_alert_tier, G_TYPE_OBJECT)

typedef struct
{
  WbTierResult  result;
  char         *reason;
} WbTierOutcome;

static void
tier_outcome_free (gpointer data)
{
  WbTierOutcome *outcome = data;

  g_free (outcome->reason);
  g_free (outcome);
}

static WbTierResult
wb_alert_tier_real_fire_finish (WbAlertTier   *self,
                                GAsyncResult  *result,
                                char         **reason,
                                GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), WB_TIER_RESULT_FAILED);

  return wb_alert_tier_task_finish (result, reason, error);
}

static void
wb_alert_tier_default_init (WbAlertTierInterface *iface)
{
  iface->fire_finish = wb_alert_tier_real_fire_finish;
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
  WbAlertTierInterface *iface;
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (WB_IS_ALERT_TIER (self));
  g_return_if_fail (record != NULL);

  iface = WB_ALERT_TIER_GET_IFACE (self);
  if (iface->fire_async != NULL)
    {
      iface->fire_async (self, record, cancellable, callback, user_data);
      return;
    }

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, wb_alert_tier_fire_async);
  iface->fire (self, record, task);
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
  WbTierOutcome *outcome = g_new0 (WbTierOutcome, 1);

  g_return_if_fail (result == WB_TIER_RESULT_OK || result == WB_TIER_RESULT_SKIPPED);

  outcome->result = result;
  outcome->reason = g_strdup (reason);
  g_task_return_pointer (task, outcome, tier_outcome_free);
}

void
wb_alert_tier_tasks_return (GPtrArray    *tasks,
                            const GError *error,
                            WbTierResult  result,
                            const char   *reason)
{
  g_return_if_fail (tasks != NULL);

  for (guint i = 0; i < tasks->len; i++)
    {
      GTask *task = g_ptr_array_index (tasks, i);

      if (error != NULL)
        g_task_return_error (task, g_error_copy (error));
      else
        wb_alert_tier_task_return (task, result, reason);
    }
}

WbTierResult
wb_alert_tier_task_finish (GAsyncResult  *result,
                           char         **reason,
                           GError       **error)
{
  WbTierOutcome *outcome;
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

static gboolean
opens_isolate (gunichar c)
{
  return c == 0x2066 || c == 0x2067 || c == 0x2068;   /* LRI, RLI, FSI */
}

char *
wb_alert_tier_clean_text (const char *text,
                          guint       max_chars)
{
  g_autofree char *valid = NULL;
  g_autofree gunichar *in = NULL;
  g_autoptr(GArray) chars = NULL;
  GString *out;
  glong n_in = 0;
  guint depth = 0;
  guint n = 0;

  if (text == NULL)
    return g_strdup ("");

  /* One line, valid, with balanced isolates and no other bidi run control. */
  valid = g_utf8_make_valid (text, -1);
  in = g_utf8_to_ucs4_fast (valid, -1, &n_in);
  chars = g_array_sized_new (FALSE, FALSE, sizeof (gunichar), n_in + 4);
  for (glong i = 0; i < n_in; i++)
    {
      gunichar c = in[i];

      if (opens_isolate (c))
        depth++;
      else if (c == 0x2069)
        {
          if (depth == 0)
            continue;           /* a PDI that closes nothing */
          depth--;
        }
      else if (c >= 0x202a && c <= 0x202e)
        continue;               /* embeddings and overrides: never ours */
      else if (g_unichar_iscntrl (c) || c == 0x2028 || c == 0x2029)
        c = ' ';
      g_array_append_val (chars, c);
    }
  for (gunichar pdi = 0x2069; depth > 0; depth--)
    g_array_append_val (chars, pdi);

  out = g_string_sized_new (MIN (strlen (valid), (gsize) max_chars * 4 + 4));
  if (max_chars == 0 || chars->len <= max_chars)
    {
      for (guint i = 0; i < chars->len; i++)
        g_string_append_unichar (out, g_array_index (chars, gunichar, i));
      return g_string_free (out, FALSE);
    }

  /* Cut: room for the ellipsis and for closing every isolate still open there. */
  for (guint i = 0; i < chars->len; i++)
    {
      gunichar c = g_array_index (chars, gunichar, i);
      guint after = depth + (opens_isolate (c) ? 1 : 0) - (c == 0x2069 ? 1 : 0);

      if (n + 1 + 1 + after > max_chars)
        break;
      g_string_append_unichar (out, c);
      depth = after;
      n++;
    }
  g_string_append_unichar (out, 0x2026);   /* … */
  for (; depth > 0; depth--)
    g_string_append_unichar (out, 0x2069);
  return g_string_free (out, FALSE);
}

/* "customer · vehicle · concern" from whichever parts are known, each part isolated (FSI … PDI)
 * so that one part's direction cannot reorder the others. */
char *
wb_alert_tier_describe (const WbAlertRecord *record)
{
  const char *parts[3] = { record->customer, record->vehicle, record->concern };
  char *text = wb_untrusted_text_join_isolated (parts, G_N_ELEMENTS (parts), " · ");

  return text != NULL ? text : g_strdup ("New session request");
}
