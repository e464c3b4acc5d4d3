/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-flags.h: the admin-controlled feature_flags table, read at start and followed live. */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "wb-rest-client.h"
#include "wb-types.h"

G_BEGIN_DECLS

#define WB_FLAG_MASTER        "mech_new_request_alerts"
#define WB_FLAG_AUDIO         "mech_audio_alerts"
#define WB_FLAG_NOTIFICATIONS "mech_browser_notifications"
#define WB_FLAG_VISUAL        "mech_visual_indicators"

#define WB_TYPE_FLAGS (wb_flags_get_type ())

G_DECLARE_FINAL_TYPE (WbFlags, wb_flags, WB, FLAGS, GObject)

WbFlags    *wb_flags_new            (WbRestClient        *rest);
void        wb_flags_load_async     (WbFlags             *self,
                                     GCancellable        *cancellable,
                                     GAsyncReadyCallback  callback,
                                     gpointer             user_data);
gboolean    wb_flags_load_finish    (WbFlags             *self,
                                     GAsyncResult        *result,
                                     GError             **error);
gboolean    wb_flags_load_from_json (WbFlags             *self,
                                     JsonNode            *rows,
                                     GError             **error);
gboolean    wb_flags_apply_change   (WbFlags             *self,
                                     JsonObject          *data);
gboolean    wb_flags_is_enabled     (WbFlags             *self,
                                     const char          *key);
gboolean    wb_flags_tier_enabled   (WbFlags             *self,
                                     WbTier               tier);
const char *wb_flags_tier_flag      (WbTier               tier);
gboolean    wb_flags_is_loaded      (WbFlags             *self);

G_END_DECLS
