/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-alert-tier.h: one way of telling the mechanic (toast, sound, notification, tray). */
#pragma once

#include <gio/gio.h>

#include "wb-alert-record.h"

G_BEGIN_DECLS

#define WB_TYPE_ALERT_TIER (wb_alert_tier_get_type ())
G_DECLARE_INTERFACE (WbAlertTier, wb_alert_tier, WB, ALERT_TIER, GObject)

/* fire_async() borrows @record only for the duration of the call: copy what you keep.
 * fire_finish() returns OK, SKIPPED (with *reason set) or FAILED (with @error set).
 * The dispatcher never waits for a tier longer than its deadline, so a tier that hangs only
 * marks its own column `failed: timeout`; it must still complete its task eventually (or
 * honour @cancellable, which the dispatcher cancels at the deadline). */
struct _WbAlertTierInterface
{
  GTypeInterface parent_iface;

  WbTier       (*get_tier)        (WbAlertTier          *self);
  void         (*fire_async)      (WbAlertTier          *self,
                                   const WbAlertRecord  *record,
                                   GCancellable         *cancellable,
                                   GAsyncReadyCallback   callback,
                                   gpointer              user_data);
  WbTierResult (*fire_finish)     (WbAlertTier          *self,
                                   GAsyncResult         *result,
                                   char                **reason,
                                   GError              **error);
  void         (*withdraw)        (WbAlertTier          *self,
                                   const char           *assignment_id);
  void         (*acknowledge)     (WbAlertTier          *self,
                                   const char           *assignment_id);
  void         (*acknowledge_all) (WbAlertTier          *self);

  /* What the four tiers implement instead of fire_async() (which is then left NULL):
   * wb_alert_tier_fire_async() makes the GTask (source object @self, its @cancellable, source
   * tag wb_alert_tier_fire_async) and the default fire_finish() reads its outcome. @task is
   * borrowed: complete it with wb_alert_tier_task_return() or g_task_return_error() before
   * returning, or take a reference and complete it later. */
  void         (*fire)            (WbAlertTier          *self,
                                   const WbAlertRecord  *record,
                                   GTask                *task);
};

WbTier       wb_alert_tier_get_tier        (WbAlertTier          *self);
void         wb_alert_tier_fire_async      (WbAlertTier          *self,
                                            const WbAlertRecord  *record,
                                            GCancellable         *cancellable,
                                            GAsyncReadyCallback   callback,
                                            gpointer              user_data);
WbTierResult wb_alert_tier_fire_finish     (WbAlertTier          *self,
                                            GAsyncResult         *result,
                                            char                **reason,
                                            GError              **error);
void         wb_alert_tier_withdraw        (WbAlertTier          *self,
                                            const char           *assignment_id);
void         wb_alert_tier_acknowledge     (WbAlertTier          *self,
                                            const char           *assignment_id);
void         wb_alert_tier_acknowledge_all (WbAlertTier          *self);

/* Helpers for implementations that use GTask: the task's result carries the WbTierResult and
 * an optional reason; wb_alert_tier_task_finish() is a ready-made fire_finish body (the default
 * fire_finish() is that body). */
void         wb_alert_tier_task_return     (GTask                *task,
                                            WbTierResult          result,
                                            const char           *reason);
WbTierResult wb_alert_tier_task_finish     (GAsyncResult         *result,
                                            char                **reason,
                                            GError              **error);
/* Completes every task of @tasks alike: with a copy of @error when it is set, else with @result
 * (OK or SKIPPED) and @reason. @tasks is not changed: the caller takes it out of reach first when
 * a completion callback might add to it. For tiers whose one answer settles many fires. */
void         wb_alert_tier_tasks_return    (GPtrArray            *tasks,
                                            const GError         *error,
                                            WbTierResult          result,
                                            const char           *reason);

/* Customer text made safe for one line of UI: valid UTF-8, control characters and newlines
 * turned into spaces, cut at a character boundary to at most @max_chars characters (the last
 * one an ellipsis when cut). The isolates of wb_alert_tier_describe() stay balanced, also when
 * the cut falls inside one (it is closed after the ellipsis; isolate controls count as
 * characters); other embeddings, overrides and unpaired PDIs are dropped. Not escaped: escape
 * afterwards where the result is markup. */
char        *wb_alert_tier_clean_text      (const char           *text,
                                            guint                 max_chars);
/* "customer · vehicle · concern" from whichever parts are known, each wrapped in FSI … PDI so a
 * name cannot reorder the concern (plain text, uncut). */
char        *wb_alert_tier_describe        (const WbAlertRecord  *record);

G_END_DECLS
