/* wb-alert-wiring.h: builds the dispatcher with its four tiers, bound to settings and admin flags.
 * Shared by the window app and --headless so both ring the same way. */
#pragma once

#include "wb-alert-dispatcher.h"
#include "wb-alert-notification.h"
#include "wb-alert-sound.h"
#include "wb-alert-toast.h"
#include "wb-alert-tray.h"
#include "wb-flags.h"
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
} WbAlertWiring;

WbAlertWiring *wb_alert_wiring_new  (WbSettings      *settings,
                                     WbFlags         *flags,
                                     GDBusConnection *session_bus);
void           wb_alert_wiring_free (WbAlertWiring   *wiring);

/* GSettings only when the schema is installed (running from a build tree without it is fine). */
WbSettings    *wb_settings_new_if_available (void);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (WbAlertWiring, wb_alert_wiring_free)

G_END_DECLS
