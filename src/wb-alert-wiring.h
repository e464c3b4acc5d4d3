/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-alert-wiring.h: builds the dispatcher with its four tiers, bound to settings and admin flags.
 * Shared by the window app and --headless so both ring the same way. */
#pragma once

#include "wb-alert-dispatcher.h"
#include "wb-alert-notification.h"
#include "wb-alert-sound.h"
#include "wb-alert-toast.h"
#include "wb-alert-tray.h"
#include "wb-flags.h"
#include "wb-pipeline.h"
#include "wb-settings.h"

G_BEGIN_DECLS

typedef struct
{
  WbAlertDispatcher   *dispatcher;    /* (owned) */
  WbAlertToast        *toast;         /* (owned) */
  WbAlertSound        *sound;         /* (owned) */
  WbAlertNotification *notification;  /* (owned) */
  WbAlertTray         *tray;          /* (owned) */
  WbSettings          *settings;      /* (owned) (nullable) */
  WbFlags             *flags;         /* (owned) */
  WbPipeline          *pipeline;      /* (owned) (nullable) after connect_pipeline() */
  guint                snooze_ms;
} WbAlertWiring;

WbAlertWiring *wb_alert_wiring_new  (WbSettings      *settings,
                                     WbFlags         *flags,
                                     GDBusConnection *session_bus);
void           wb_alert_wiring_free (WbAlertWiring   *wiring);
/* What the tiers do about the pipeline beyond ringing (the caller dispatches "alert" itself):
 * stand down the moment an episode ends, and the connection alarm (a note of its own, the tray),
 * with its delay from the settings. */
void           wb_alert_wiring_connect_pipeline (WbAlertWiring *wiring,
                                                 WbPipeline    *pipeline);
/* --status: "ringing" (alerts not withdrawn, acknowledged or not), "unacknowledged", "waiting"
 * (open episodes), "connection_alarm". */
void           wb_alert_wiring_add_status (WbAlertWiring *wiring,
                                           JsonObject    *status);
/* Snooze 5 minutes (WB_SNOOZE_MS for tests). */
gboolean       wb_alert_wiring_snooze (WbAlertWiring   *wiring,
                                       const char      *assignment_id);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (WbAlertWiring, wb_alert_wiring_free)

G_END_DECLS
