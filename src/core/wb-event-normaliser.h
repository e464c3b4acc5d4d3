/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-event-normaliser.h: pure functions turning what the backend sends into WbEvents. */
#pragma once

#include <json-glib/json-glib.h>

#include "wb-event.h"

G_BEGIN_DECLS

#define WB_EVENT_TABLE          "session_assignments"
#define WB_EVENT_MAX_TEXT_BYTES 1000   /* no field cap of wb-untrusted-text.h is larger */

/* The `data` object of a postgres_changes payload. NULL + WB_ERROR_INVALID_DATA only when it
 * has no `type` or `table`; rows that cannot be understood become NEEDS_CATCHUP. */
WbEvent  *wb_event_from_postgres_change (JsonObject  *data,
                                         gint64       received_us,
                                         gint64       received_mono_us,
                                         GError     **error);

/* A broadcast as the channel hands it over: the inner event name and payload. NULL +
 * WB_ERROR_INVALID_DATA only when @event is NULL. */
WbEvent  *wb_event_from_broadcast       (const char  *event,
                                         JsonNode    *payload,
                                         gint64       received_us,
                                         gint64       received_mono_us,
                                         GError     **error);

/* A Broadcast from Database message on the private channel: @event is INSERT, UPDATE or DELETE
 * and @payload `{id, record, old_record, operation, table, schema}` as realtime.broadcast_changes()
 * makes it. Rows are read as postgres_changes rows (source DB_BROADCAST); a payload of another
 * shape is OTHER. NULL + WB_ERROR_INVALID_DATA only when @event is NULL. */
WbEvent  *wb_event_from_db_broadcast    (const char  *event,
                                         JsonNode    *payload,
                                         gint64       received_us,
                                         gint64       received_mono_us,
                                         GError     **error);
/* The row's updated_at (µs) of a Broadcast from Database payload — the time the message was
 * stored, which replay's `since` counts in. FALSE when it has none. */
gboolean  wb_event_db_broadcast_stamp   (JsonNode    *payload,
                                         gint64      *out_us);

/* One PostgREST row of session_assignments. NULL + WB_ERROR_INVALID_DATA when the row has no
 * usable id (never NEEDS_CATCHUP: that would loop). */
WbEvent  *wb_event_from_catchup_row     (JsonObject  *row,
                                         gint64       received_us,
                                         gint64       received_mono_us,
                                         GError     **error);

/* Helper, exposed for the merger and the tests. */
gboolean  wb_event_id_looks_like_uuid   (const char  *text);
/* Server text (a mechanic's name, an error message) as one safe line for a log, a terminal or a
 * label: valid UTF-8, control, format and bidirectional characters and line separators turned
 * into spaces, at most @max_chars characters (the last an ellipsis when cut). Never NULL for
 * non-NULL @text. */
char     *wb_event_one_line             (const char  *text,
                                         guint        max_chars);

G_END_DECLS
