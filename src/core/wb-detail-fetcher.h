/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-detail-fetcher.h: customer / vehicle / concern of a session via PostgREST, with retries. */
#pragma once

#include <gio/gio.h>

#include "wb-details.h"
#include "wb-rest-client.h"

G_BEGIN_DECLS


#define WB_DETAIL_FETCHER_DEFAULT_DEADLINE_MS 20000
#define WB_DETAIL_FETCHER_DEFAULT_MAX_IN_FLIGHT 4

#define WB_TYPE_DETAIL_FETCHER (wb_detail_fetcher_get_type ())

G_DECLARE_FINAL_TYPE (WbDetailFetcher, wb_detail_fetcher, WB, DETAIL_FETCHER, GObject)

WbDetailFetcher *wb_detail_fetcher_new                (WbRestClient        *rest);
void             wb_detail_fetcher_fetch_async        (WbDetailFetcher     *self,
                                                       const char          *session_id,
                                                       GCancellable        *cancellable,
                                                       GAsyncReadyCallback  callback,
                                                       gpointer             user_data);
WbDetails       *wb_detail_fetcher_fetch_finish       (WbDetailFetcher     *self,
                                                       GAsyncResult        *result,
                                                       GError             **error);
void             wb_detail_fetcher_set_deadline_ms    (WbDetailFetcher     *self,
                                                       guint                deadline_ms);
void             wb_detail_fetcher_set_backoff        (WbDetailFetcher     *self,
                                                       guint                base_ms,
                                                       guint                max_ms);
void             wb_detail_fetcher_set_not_visible_retries (WbDetailFetcher *self,
                                                            guint            retries);
void             wb_detail_fetcher_set_max_in_flight  (WbDetailFetcher     *self,
                                                       guint                max_in_flight);
void             wb_detail_fetcher_set_use_embedding  (WbDetailFetcher     *self,
                                                       gboolean             use_embedding);
guint            wb_detail_fetcher_get_in_flight      (WbDetailFetcher     *self);
guint            wb_detail_fetcher_get_max_in_flight_seen (WbDetailFetcher *self);
guint64          wb_detail_fetcher_get_retries        (WbDetailFetcher     *self);
guint64          wb_detail_fetcher_get_failures       (WbDetailFetcher     *self);
guint64          wb_detail_fetcher_get_requests       (WbDetailFetcher     *self);
guint            wb_detail_fetcher_get_largest_batch  (WbDetailFetcher     *self);

G_END_DECLS
