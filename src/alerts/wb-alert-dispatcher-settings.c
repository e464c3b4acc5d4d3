#define G_LOG_DOMAIN "wb-alert-dispatcher"

#include "config.h"

#include "wb-alert-dispatcher-private.h"

/* The dispatcher's knobs: tiers, enablement, do-not-disturb, repeat, deadline. The app binds
 * these properties to WbSettings; nothing here knows about GSettings. */

#define properties _wb_alert_dispatcher_properties

void
wb_alert_dispatcher_add_tier (WbAlertDispatcher *self,
                              WbAlertTier       *tier)
{
  WbTier which;

  g_return_if_fail (WB_IS_ALERT_DISPATCHER (self));
  g_return_if_fail (WB_IS_ALERT_TIER (tier));

  which = wb_alert_tier_get_tier (tier);
  g_return_if_fail (which < WB_N_TIERS);
  g_set_object (&self->tiers[which], tier);
}

WbAlertTier *
wb_alert_dispatcher_get_tier (WbAlertDispatcher *self,
                              WbTier             tier)
{
  g_return_val_if_fail (WB_IS_ALERT_DISPATCHER (self), NULL);
  g_return_val_if_fail (tier < WB_N_TIERS, NULL);

  return self->tiers[tier];
}

void
wb_alert_dispatcher_set_tier_filter (WbAlertDispatcher *self,
                                     WbAlertTierFilter  filter,
                                     gpointer           user_data,
                                     GDestroyNotify     destroy)
{
  g_return_if_fail (WB_IS_ALERT_DISPATCHER (self));

  if (self->filter_destroy != NULL)
    self->filter_destroy (self->filter_data);
  self->filter = filter;
  self->filter_data = user_data;
  self->filter_destroy = destroy;
}

void
wb_alert_dispatcher_set_tier_enabled (WbAlertDispatcher *self,
                                      WbTier             tier,
                                      gboolean           enabled)
{
  g_return_if_fail (WB_IS_ALERT_DISPATCHER (self));
  g_return_if_fail (tier < WB_N_TIERS);

  enabled = !!enabled;
  if (self->enabled[tier] == enabled)
    return;
  self->enabled[tier] = enabled;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TIER_TOAST + tier]);
}

gboolean
wb_alert_dispatcher_get_tier_enabled (WbAlertDispatcher *self,
                                      WbTier             tier)
{
  g_return_val_if_fail (WB_IS_ALERT_DISPATCHER (self), FALSE);
  g_return_val_if_fail (tier < WB_N_TIERS, FALSE);

  return self->enabled[tier];
}

void
wb_alert_dispatcher_set_do_not_disturb (WbAlertDispatcher *self,
                                        gboolean           dnd)
{
  g_return_if_fail (WB_IS_ALERT_DISPATCHER (self));

  if (self->dnd == !!dnd)
    return;
  self->dnd = !!dnd;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_DO_NOT_DISTURB]);
}

void
wb_alert_dispatcher_set_urgent_pierces_dnd (WbAlertDispatcher *self,
                                            gboolean           pierces)
{
  g_return_if_fail (WB_IS_ALERT_DISPATCHER (self));

  if (self->urgent_pierces_dnd == !!pierces)
    return;
  self->urgent_pierces_dnd = !!pierces;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_URGENT_PIERCES_DND]);
}

void
_wb_alert_dispatcher_set_repeat_interval_ms (WbAlertDispatcher *self,
                                             guint              msec)
{
  g_return_if_fail (WB_IS_ALERT_DISPATCHER (self));

  if (self->repeat_interval_ms == msec)
    return;
  self->repeat_interval_ms = msec;
  _wb_alert_dispatcher_restart_all_repeats (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_REPEAT_INTERVAL]);
}

void
wb_alert_dispatcher_set_repeat_interval (WbAlertDispatcher *self,
                                         guint              seconds)
{
  _wb_alert_dispatcher_set_repeat_interval_ms (self, MIN (seconds, G_MAXUINT / 1000) * 1000);
}

void
_wb_alert_dispatcher_set_escalate_after_ms (WbAlertDispatcher *self,
                                            guint              msec)
{
  g_return_if_fail (WB_IS_ALERT_DISPATCHER (self));

  if (self->escalate_after_ms == msec)
    return;
  self->escalate_after_ms = msec;
  _wb_alert_dispatcher_restart_all_escalations (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ESCALATE_AFTER]);
}

void
wb_alert_dispatcher_set_escalate_after (WbAlertDispatcher *self,
                                        guint              minutes)
{
  _wb_alert_dispatcher_set_escalate_after_ms (self, MIN (minutes, G_MAXUINT / 60000) * 60000);
}

void
wb_alert_dispatcher_set_tier_timeout (WbAlertDispatcher *self,
                                      guint              msec)
{
  g_return_if_fail (WB_IS_ALERT_DISPATCHER (self));

  msec = MAX (msec, 1);
  if (self->tier_timeout_ms == msec)
    return;
  self->tier_timeout_ms = msec;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TIER_TIMEOUT]);
}

void
_wb_alert_dispatcher_get_property (GObject    *object,
                                  guint       prop_id,
                                  GValue     *value,
                                  GParamSpec *pspec)
{
  WbAlertDispatcher *self = WB_ALERT_DISPATCHER (object);

  switch (prop_id)
    {
    case PROP_DO_NOT_DISTURB:
      g_value_set_boolean (value, self->dnd);
      break;
    case PROP_URGENT_PIERCES_DND:
      g_value_set_boolean (value, self->urgent_pierces_dnd);
      break;
    case PROP_REPEAT_INTERVAL:
      g_value_set_uint (value, self->repeat_interval_ms / 1000);
      break;
    case PROP_TIER_TIMEOUT:
      g_value_set_uint (value, self->tier_timeout_ms);
      break;
    case PROP_TIER_TOAST:
    case PROP_TIER_SOUND:
    case PROP_TIER_NOTIFICATION:
    case PROP_TIER_TRAY:
      g_value_set_boolean (value, self->enabled[prop_id - PROP_TIER_TOAST]);
      break;
    case PROP_N_UNACKNOWLEDGED:
      g_value_set_uint (value, wb_alert_dispatcher_get_n_unacknowledged (self));
      break;
    case PROP_ESCALATE_AFTER:
      g_value_set_uint (value, self->escalate_after_ms / 60000);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

void
_wb_alert_dispatcher_set_property (GObject      *object,
                                  guint         prop_id,
                                  const GValue *value,
                                  GParamSpec   *pspec)
{
  WbAlertDispatcher *self = WB_ALERT_DISPATCHER (object);

  switch (prop_id)
    {
    case PROP_DO_NOT_DISTURB:
      wb_alert_dispatcher_set_do_not_disturb (self, g_value_get_boolean (value));
      break;
    case PROP_URGENT_PIERCES_DND:
      wb_alert_dispatcher_set_urgent_pierces_dnd (self, g_value_get_boolean (value));
      break;
    case PROP_REPEAT_INTERVAL:
      wb_alert_dispatcher_set_repeat_interval (self, g_value_get_uint (value));
      break;
    case PROP_TIER_TIMEOUT:
      wb_alert_dispatcher_set_tier_timeout (self, g_value_get_uint (value));
      break;
    case PROP_ESCALATE_AFTER:
      wb_alert_dispatcher_set_escalate_after (self, g_value_get_uint (value));
      break;
    case PROP_TIER_TOAST:
    case PROP_TIER_SOUND:
    case PROP_TIER_NOTIFICATION:
    case PROP_TIER_TRAY:
      wb_alert_dispatcher_set_tier_enabled (self, prop_id - PROP_TIER_TOAST,
                                            g_value_get_boolean (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

