/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-settings.h: the GObject façade over Wrenchbell's GSettings schema.
 *
 * Only this file (and the preferences dialog) names GSettings keys. Everything else binds to the
 * properties of WbSettings, which carry the same kebab-case names as the keys.
 */
#pragma once

#include <gio/gio.h>

#include "wb-types.h"

G_BEGIN_DECLS

#define WB_SETTINGS_SCHEMA_ID "io.github.wrenchbell.Wrenchbell"

#define WB_TYPE_SETTINGS (wb_settings_get_type ())

G_DECLARE_FINAL_TYPE (WbSettings, wb_settings, WB, SETTINGS, GObject)

WbSettings  *wb_settings_new                (void);
/* GSettings only when the schema is installed (running from a build tree without it is fine). */
WbSettings  *wb_settings_new_if_available   (void);
WbSettings  *wb_settings_new_for_settings   (GSettings  *settings);

GSettings   *wb_settings_get_settings       (WbSettings *self);

const char  *wb_settings_get_backend_url    (WbSettings *self);
const char  *wb_settings_get_anon_key       (WbSettings *self);
const char  *wb_settings_get_broadcast_topic (WbSettings *self);
const char  *wb_settings_get_db_broadcast_topic (WbSettings *self);
const char  *wb_settings_get_realtime_vsn   (WbSettings *self);
void         wb_settings_forget_api_key     (WbSettings *self);
const char  *wb_settings_get_account_email  (WbSettings *self);
gboolean     wb_settings_get_allow_insecure_http (WbSettings *self);

gboolean     wb_settings_tier_enabled       (WbSettings *self,
                                             WbTier      tier);
void         wb_settings_set_tier_enabled   (WbSettings *self,
                                             WbTier      tier,
                                             gboolean    enabled);

gdouble      wb_settings_get_volume         (WbSettings *self);
gint64       wb_settings_get_mute_until     (WbSettings *self);
gboolean     wb_settings_is_muted           (WbSettings *self,
                                             gint64      now_unix_s);
void         wb_settings_mute_for           (WbSettings *self,
                                             guint       seconds);
guint        wb_settings_get_repeat_interval (WbSettings *self);
gboolean     wb_settings_get_do_not_disturb (WbSettings *self);
gboolean     wb_settings_get_urgent_pierces_dnd (WbSettings *self);
gboolean     wb_settings_get_run_in_background (WbSettings *self);
gboolean     wb_settings_get_start_at_login (WbSettings *self);
const char  *wb_settings_get_dashboard_url  (WbSettings *self);
guint        wb_settings_get_connection_alarm_after (WbSettings *self);

G_END_DECLS
