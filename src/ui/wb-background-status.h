/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-background-status.h: the line GNOME 44+ shows under Wrenchbell in its Background Apps list
 * ("3 requests waiting", "Listening"), set through the Background portal's SetStatus.
 *
 * SetStatus needs libportal ≥ 0.7 (the Flatpak builds 0.9); built against an older libportal
 * (Debian 12 has 0.6) the status is still worked out but never sent. It is only sent inside the
 * sandbox (xdg-desktop-portal refuses it from host apps), or with WB_FORCE_PORTAL=1 (tests).
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define WB_TYPE_BACKGROUND_STATUS (wb_background_status_get_type ())

G_DECLARE_FINAL_TYPE (WbBackgroundStatus, wb_background_status, WB, BACKGROUND_STATUS, GObject)

WbBackgroundStatus *wb_background_status_new         (void);

gboolean            wb_background_status_can_send    (void);
char               *wb_background_status_describe    (guint               waiting,
                                                      const char         *state);
void                wb_background_status_update      (WbBackgroundStatus *self,
                                                      guint               waiting,
                                                      const char         *state);
const char         *wb_background_status_get_message (WbBackgroundStatus *self);
guint               wb_background_status_get_sent    (WbBackgroundStatus *self);

G_END_DECLS
