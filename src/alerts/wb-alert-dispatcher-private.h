/* wb-alert-dispatcher-private.h: shared between wb-alert-dispatcher.c and its settings half. */
#pragma once

#include "wb-alert-dispatcher.h"

G_BEGIN_DECLS

typedef struct
{
  WbAlertRecord *latest;       /* (owned) content of the last alert/update */
  guint          repeat_id;
  guint          escalate_id;  /* fires escalate_after_ms after the alert, once */
  guint          snooze_id;    /* ends the snooze */
  gboolean       acknowledged;
  gboolean       repeat_in_flight;
  gboolean       snoozed;
  gboolean       escalation_due;   /* came due while snoozed: rings when the snooze ends */
  gboolean       escalated;
} OpenAlert;

struct _WbAlertDispatcher
{
  GObject            parent_instance;

  WbAlertTier       *tiers[WB_N_TIERS];   /* (owned) (nullable) */
  gboolean           enabled[WB_N_TIERS];
  WbAlertTierFilter  filter;
  gpointer           filter_data;
  GDestroyNotify     filter_destroy;
  gboolean           dnd;
  gboolean           urgent_pierces_dnd;
  guint              repeat_interval_ms;
  guint              escalate_after_ms;   /* 0: never */
  guint              tier_timeout_ms;
  GHashTable        *open;                /* assignment id → OpenAlert */
};

enum {
  PROP_0,
  PROP_DO_NOT_DISTURB,
  PROP_URGENT_PIERCES_DND,
  PROP_REPEAT_INTERVAL,
  PROP_TIER_TIMEOUT,
  PROP_TIER_TOAST,
  PROP_TIER_SOUND,
  PROP_TIER_NOTIFICATION,
  PROP_TIER_TRAY,
  PROP_N_UNACKNOWLEDGED,
  PROP_ESCALATE_AFTER,
  N_PROPS,
};

extern GParamSpec *_wb_alert_dispatcher_properties[N_PROPS];

void _wb_alert_dispatcher_restart_all_repeats (WbAlertDispatcher *self);
void _wb_alert_dispatcher_restart_all_escalations (WbAlertDispatcher *self);
void _wb_alert_dispatcher_get_property        (GObject           *object,
                                               guint              prop_id,
                                               GValue            *value,
                                               GParamSpec        *pspec);
void _wb_alert_dispatcher_set_property        (GObject           *object,
                                               guint              prop_id,
                                               const GValue      *value,
                                               GParamSpec        *pspec);

G_END_DECLS
