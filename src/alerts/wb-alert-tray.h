/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-alert-tray.h: the tray tier — our own StatusNotifierItem, a dbusmenu, the Unity launcher
 * badge and the window-title count. */
#pragma once

#include "wb-alert-tier.h"

G_BEGIN_DECLS

#define WB_TYPE_ALERT_TRAY (wb_alert_tray_get_type ())
G_DECLARE_FINAL_TYPE (WbAlertTray, wb_alert_tray, WB, ALERT_TRAY, GObject)

#define WB_ALERT_TRAY_ITEM_PATH "/StatusNotifierItem"
#define WB_ALERT_TRAY_MENU_PATH "/MenuBar"
#define WB_ALERT_TRAY_WATCHER   "org.kde.StatusNotifierWatcher"

/* Properties: pending-count (guint, unacknowledged requests), title-count (string, e.g.
 * "(3) Wrenchbell", for the window title), flash (gboolean, default TRUE).
 * Signal: menu-activated (const char *item): "show" (also the item's Activate), "quit". @connection NULL → the tier reports skipped: "no session bus". */
WbAlertTray *wb_alert_tray_new               (GDBusConnection *connection);
guint        wb_alert_tray_get_pending_count (WbAlertTray     *self);
const char  *wb_alert_tray_get_title_count   (WbAlertTray     *self);
void         wb_alert_tray_set_flash         (WbAlertTray     *self,
                                              gboolean         flash);
/* Not receiving requests (the connection alarm): the item asks for attention with an offline
 * icon and says @problem in its tooltip; NULL clears it. */
void         wb_alert_tray_set_problem       (WbAlertTray     *self,
                                              const char      *problem);
gboolean     wb_alert_tray_get_registered    (WbAlertTray     *self);

G_END_DECLS
