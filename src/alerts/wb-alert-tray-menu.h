/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-alert-tray-menu.h: the tray's com.canonical.dbusmenu menu (a helper of wb-alert-tray.c,
 * not a GObject). Items: "show", "quit" (see the .c file for why nothing more). */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct _WbAlertTrayMenu WbAlertTrayMenu;

typedef void (*WbAlertTrayMenuActivated) (const char *item,
                                          gpointer    user_data);

WbAlertTrayMenu *wb_alert_tray_menu_new  (GDBusConnection          *connection,
                                          const char               *object_path,
                                          WbAlertTrayMenuActivated  activated,
                                          gpointer                  user_data,
                                          GError                  **error);
void             wb_alert_tray_menu_free (WbAlertTrayMenu          *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (WbAlertTrayMenu, wb_alert_tray_menu_free)

G_END_DECLS
