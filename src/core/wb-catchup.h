/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-catchup.h: the PostgREST query of queued assignments; safety poll and fast fallback poll. */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "wb-rest-client.h"

G_BEGIN_DECLS

/* Called just before a scheduled query is sent; returns the token passed back with the rows.
 * wb_event_merger_begin_catchup() has this shape with @user_data = the merger. */
typedef gint64 (*WbCatchupBeginFunc) (gpointer user_data);

#define WB_CATCHUP_DEFAULT_SAFETY_MS   (5 * 60 * 1000)
#define WB_CATCHUP_DEFAULT_PAGE_SIZE   500

#define WB_TYPE_CATCHUP (wb_catchup_get_type ())

G_DECLARE_FINAL_TYPE (WbCatchup, wb_catchup, WB, CATCHUP, GObject)

WbCatchup *wb_catchup_new                     (WbRestClient        *rest);
void       wb_catchup_run_async               (WbCatchup           *self,
                                               GCancellable        *cancellable,
                                               GAsyncReadyCallback  callback,
                                               gpointer             user_data);
GPtrArray *wb_catchup_run_finish              (WbCatchup           *self,
                                               GAsyncResult        *result,
                                               GError             **error);
void       wb_catchup_start                   (WbCatchup           *self);
void       wb_catchup_stop                    (WbCatchup           *self);
void       wb_catchup_run_now                 (WbCatchup           *self,
                                               const char          *reason);
void       wb_catchup_set_realtime_live       (WbCatchup           *self,
                                               gboolean             live);
void       wb_catchup_set_begin_func          (WbCatchup           *self,
                                               WbCatchupBeginFunc   func,
                                               gpointer             user_data,
                                               GDestroyNotify       destroy);
void       wb_catchup_set_safety_interval_ms  (WbCatchup           *self,
                                               guint                interval_ms);
void       wb_catchup_set_fallback_backoff    (WbCatchup           *self,
                                               guint                base_ms,
                                               guint                max_ms);
void       wb_catchup_set_page_size           (WbCatchup           *self,
                                               guint                page_size);
guint64    wb_catchup_get_runs                (WbCatchup           *self);
guint64    wb_catchup_get_failures            (WbCatchup           *self);
gint64     wb_catchup_get_next_run_in_ms      (WbCatchup           *self);

/* Pure (fuzzed): a PostgREST array of assignment rows → JsonObject* (rows without a string
 * `id` are skipped). Fails with WB_ERROR_INVALID_DATA when @node is not an array. */
GPtrArray *wb_catchup_parse_rows              (JsonNode            *node,
                                               GError             **error);

G_END_DECLS
