/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-alert-notification.h: the desktop notification tier (libnotify). */
#pragma once

#include "wb-alert-tier.h"

G_BEGIN_DECLS

#define WB_TYPE_ALERT_NOTIFICATION (wb_alert_notification_get_type ())
G_DECLARE_FINAL_TYPE (WbAlertNotification, wb_alert_notification, WB, ALERT_NOTIFICATION, GObject)

#define WB_ALERT_NOTIFICATION_MAX_CHARS     200
#define WB_ALERT_NOTIFICATION_BURST_LIMIT   3     /* popups per window before coalescing */
#define WB_ALERT_NOTIFICATION_BURST_WINDOW  2000  /* ms */
#define WB_ALERT_NOTIFICATION_SUMMARY_EVERY 500   /* ms between summary updates */
#define WB_ALERT_NOTIFICATION_SUMMARY_GATHER 100  /* ms a burst's first summary waits */

/* Signals: action (const char *assignment_id, const char *action) — assignment_id is "" for the
 * burst summary — with action "view" (the default action), "accept" or "snooze" on a request,
 * "show" (default action) or the note's own action on a note; dismissed (const char
 * *assignment_id) when the user closed a notification. Both are emitted on the main thread. */
WbAlertNotification *wb_alert_notification_new                (const char          *app_name);
/* Send suppress-sound (we ring our own sound); on by default. */
void                 wb_alert_notification_set_suppress_sound (WbAlertNotification *self,
                                                               gboolean             suppress);
/* A notification of the app's own, one per @key, replacing the last one of that key: the
 * connection alarm, an accept's outcome. Plain text in (cleaned, cut and escaped here); one
 * optional button (@action, reported with @id). @urgent: critical urgency. */
void                 wb_alert_notification_show_note          (WbAlertNotification *self,
                                                               const char          *key,
                                                               const char          *summary,
                                                               const char          *body,
                                                               const char          *id,
                                                               const char          *action,
                                                               const char          *action_label,
                                                               gboolean             urgent);
void                 wb_alert_notification_withdraw_note      (WbAlertNotification *self,
                                                               const char          *key);
/* Body as the daemon will get it (escaped unless @markup is FALSE). */
char                *wb_alert_notification_build_body         (const WbAlertRecord *record,
                                                               gboolean             markup);

G_END_DECLS
