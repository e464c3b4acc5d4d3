/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-alert-toast.h: the in-window toast tier. */
#pragma once

#include <adwaita.h>

#include "wb-alert-tier.h"

G_BEGIN_DECLS

#define WB_TYPE_ALERT_TOAST (wb_alert_toast_get_type ())
G_DECLARE_FINAL_TYPE (WbAlertToast, wb_alert_toast, WB, ALERT_TOAST, GObject)

#define WB_ALERT_TOAST_MAX_CHARS 120

WbAlertToast    *wb_alert_toast_new          (void);
/* Weak: the window sets its overlay when it is built; NULL (or a hidden window) → skipped. */
void             wb_alert_toast_set_overlay  (WbAlertToast    *self,
                                              AdwToastOverlay *overlay);
AdwToastOverlay *wb_alert_toast_get_overlay  (WbAlertToast    *self);
/* The (markup) title a toast for @record gets. */
char            *wb_alert_toast_build_title  (const WbAlertRecord *record);

G_END_DECLS
