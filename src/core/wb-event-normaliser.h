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

/* One PostgREST row of session_assignments. NULL + WB_ERROR_INVALID_DATA when the row has no
 * usable id (never NEEDS_CATCHUP: that would loop). */
WbEvent  *wb_event_from_catchup_row     (JsonObject  *row,
                                         gint64       received_us,
                                         gint64       received_mono_us,
                                         GError     **error);

/* Helper, exposed for the merger and the tests. */
gboolean  wb_event_id_looks_like_uuid   (const char  *text);

G_END_DECLS
