/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-event-merger.h: the dedupe rules (DESIGN.md), applied to WbEvents; their state is stored in
 * a WbDedupeSet (wb-dedupe-set.h). */
#pragma once

#include <glib-object.h>

#include "wb-dedupe-set.h"
#include "wb-event.h"

G_BEGIN_DECLS

typedef enum
{
  WB_MERGE_NEW_EPISODE,    /* alert */
  WB_MERGE_DUPLICATE,      /* the open episode, seen again (counted) */
  WB_MERGE_STALE,          /* older than what is known, or a late broadcast */
  WB_MERGE_ENDED,          /* the open episode closed: withdraw */
  WB_MERGE_IGNORED,        /* nothing to do (recorded where useful) */
  WB_MERGE_NEEDS_CATCHUP,  /* run the catch-up query now */
} WbMergeResult;

#define WB_TYPE_EVENT_MERGER (wb_event_merger_get_type ())

G_DECLARE_FINAL_TYPE (WbEventMerger, wb_event_merger, WB, EVENT_MERGER, GObject)

WbEventMerger *wb_event_merger_new                (WbDedupeSet    *set);
void           wb_event_merger_set_loaded         (WbEventMerger  *self);
WbDedupeSet   *wb_event_merger_get_dedupe_set     (WbEventMerger  *self);

/* @episode_out: (out) (optional): the assignment's episode number after the event (0 if none). */
WbMergeResult  wb_event_merger_offer              (WbEventMerger  *self,
                                                   const WbEvent  *ev,
                                                   guint          *episode_out);

/* Rule 6. Call begin just before sending the catch-up query; offer its rows as events, then call
 * finish with every assignment id the query returned. Returns the ids (transfer full, char *)
 * whose open episodes, opened before begin, are now closed: withdraw them. */
gint64         wb_event_merger_begin_catchup      (WbEventMerger  *self);
GPtrArray     *wb_event_merger_finish_catchup     (WbEventMerger  *self,
                                                   gint64          token,
                                                   GPtrArray      *queued_ids);

guint64        wb_event_merger_get_duplicates     (WbEventMerger  *self,
                                                   WbEventSource   source);
guint64        wb_event_merger_get_duplicates_total (WbEventMerger *self);

const char    *wb_merge_result_to_string          (WbMergeResult   result);

G_END_DECLS
