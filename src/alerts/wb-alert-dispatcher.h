/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-alert-dispatcher.h: fires every alert tier for each record, each tier isolated. */
#pragma once

#include <gio/gio.h>

#include "wb-alert-record.h"
#include "wb-alert-tier.h"

G_BEGIN_DECLS

#define WB_TYPE_ALERT_DISPATCHER (wb_alert_dispatcher_get_type ())
G_DECLARE_FINAL_TYPE (WbAlertDispatcher, wb_alert_dispatcher, WB, ALERT_DISPATCHER, GObject)

/* Return FALSE to skip @tier for @record; *reason (optional, g_malloc'ed) says why
 * (default "disabled"). Feature flags go here; settings go to set_tier_enabled(). */
typedef gboolean (*WbAlertTierFilter)   (WbTier               tier,
                                         const WbAlertRecord *record,
                                         char               **reason,
                                         gpointer             user_data);
/* Called once per dispatch, when every tier answered or ran out of time. @record is the
 * filled copy (tier_result/tier_reason, alerted_us); it is freed after the call returns. */
typedef void     (*WbAlertDispatchDone) (WbAlertDispatcher   *self,
                                         WbAlertRecord       *record,
                                         gpointer             user_data);

/* Properties (bind them to WbSettings / the feature flags): tier-toast, tier-sound,
 * tier-notification, tier-tray (gboolean, default TRUE; FALSE → "skipped: disabled"),
 * do-not-disturb (skips sound + notification: "skipped: do not disturb"), urgent-pierces-dnd
 * (default TRUE), repeat-interval (guint s, default 60, 0 = off), tier-timeout (guint ms,
 * default 2000; a tier that has not answered by then reads "failed: timeout"),
 * escalate-after (guint minutes, default 3, 0 = off: an alert nobody took by then rings again as
 * urgent, kind ESCALATE, critical notification, urgent chime; reminders stay urgent after that),
 * n-unacknowledged (read-only).
 * Signals: tier-failed (guint tier — a WbTier —, const char *reason) for the health counters;
 * record-done (WbAlertRecord *record) after every dispatch, reminders (kind REPEAT, which the
 * dispatcher makes itself) and withdrawals included: write the alert log from here. */

#define WB_ALERT_DISPATCHER_DEFAULT_TIER_TIMEOUT_MS 2000
#define WB_ALERT_DISPATCHER_DEFAULT_REPEAT_INTERVAL 60
#define WB_ALERT_DISPATCHER_DEFAULT_ESCALATE_AFTER  3
#define WB_ALERT_DISPATCHER_SNOOZE_SECONDS          300

WbAlertDispatcher *wb_alert_dispatcher_new                    (void);
void               wb_alert_dispatcher_add_tier               (WbAlertDispatcher   *self,
                                                               WbAlertTier         *tier);
WbAlertTier       *wb_alert_dispatcher_get_tier               (WbAlertDispatcher   *self,
                                                               WbTier               tier);
void               wb_alert_dispatcher_set_tier_filter        (WbAlertDispatcher   *self,
                                                               WbAlertTierFilter    filter,
                                                               gpointer             user_data,
                                                               GDestroyNotify       destroy);
void               wb_alert_dispatcher_set_tier_enabled       (WbAlertDispatcher   *self,
                                                               WbTier               tier,
                                                               gboolean             enabled);
gboolean           wb_alert_dispatcher_get_tier_enabled       (WbAlertDispatcher   *self,
                                                               WbTier               tier);
void               wb_alert_dispatcher_set_do_not_disturb     (WbAlertDispatcher   *self,
                                                               gboolean             dnd);
void               wb_alert_dispatcher_set_urgent_pierces_dnd (WbAlertDispatcher   *self,
                                                               gboolean             pierces);
void               wb_alert_dispatcher_set_repeat_interval    (WbAlertDispatcher   *self,
                                                               guint                seconds);
void               wb_alert_dispatcher_set_tier_timeout       (WbAlertDispatcher   *self,
                                                               guint                msec);
void               wb_alert_dispatcher_dispatch               (WbAlertDispatcher   *self,
                                                               const WbAlertRecord *record,
                                                               WbAlertDispatchDone  done,
                                                               gpointer             user_data);
void               wb_alert_dispatcher_acknowledge            (WbAlertDispatcher   *self,
                                                               const char          *assignment_id);
void               wb_alert_dispatcher_acknowledge_all        (WbAlertDispatcher   *self);
void               wb_alert_dispatcher_withdraw               (WbAlertDispatcher   *self,
                                                               const char          *assignment_id);
/* Quiet for @seconds (notification closed, tray calm, no reminder), then it rings again (a repeat,
 * or the escalation if that came due meanwhile). FALSE when @assignment_id is not ringing. */
gboolean           wb_alert_dispatcher_snooze                 (WbAlertDispatcher   *self,
                                                               const char          *assignment_id,
                                                               guint                seconds);
void               wb_alert_dispatcher_set_escalate_after     (WbAlertDispatcher   *self,
                                                               guint                minutes);
/* Alerts rung and not withdrawn yet (acknowledged or not). */
guint              wb_alert_dispatcher_get_n_open             (WbAlertDispatcher   *self);
gboolean           wb_alert_dispatcher_is_open                (WbAlertDispatcher   *self,
                                                               const char          *assignment_id);
guint              wb_alert_dispatcher_get_n_unacknowledged   (WbAlertDispatcher   *self);

/* Test seams: repeat interval, escalation delay and snooze length in milliseconds (the
 * properties are in seconds and minutes). */
void               _wb_alert_dispatcher_set_repeat_interval_ms (WbAlertDispatcher  *self,
                                                                guint               msec);
void               _wb_alert_dispatcher_set_escalate_after_ms  (WbAlertDispatcher  *self,
                                                                guint               msec);
gboolean           _wb_alert_dispatcher_snooze_ms              (WbAlertDispatcher  *self,
                                                                const char         *assignment_id,
                                                                guint               msec);

G_END_DECLS
