/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-event.h: one normalised observation of a session assignment (see DESIGN.md). */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

typedef enum
{
  WB_EVENT_SOURCE_BROADCAST,
  WB_EVENT_SOURCE_POSTGRES_CHANGES,
  WB_EVENT_SOURCE_CATCHUP,
  WB_EVENT_SOURCE_DB_BROADCAST,  /* Broadcast from Database on the private channel */
} WbEventSource;

#define WB_EVENT_N_SOURCES 4

typedef enum
{
  WB_EVENT_QUEUED,        /* the assignment is (now) queued */
  WB_EVENT_LEFT_QUEUE,    /* status is something else, or the row was deleted */
  WB_EVENT_OTHER,         /* nothing for us (UPDATE queued→queued of metadata, other table) */
  WB_EVENT_NEEDS_CATCHUP, /* no usable id or status: run the catch-up query */
} WbEventKind;

#define WB_TYPE_EVENT (wb_event_get_type ())

typedef struct _WbEvent WbEvent;

struct _WbEvent
{
  WbEventKind   kind;
  WbEventSource source;
  char   *assignment_id;   /* (nullable) only for NEEDS_CATCHUP/OTHER; UUIDs are lower case */
  char   *session_id;      /* (nullable) */
  char   *status;          /* (nullable) new status, lower case */
  char   *old_status;      /* (nullable) UPDATE/DELETE with REPLICA IDENTITY FULL only */
  char   *mechanic_id;     /* (nullable) record.mechanic_id (a UUID): who took it, once accepted */
  gint64  updated_at_us;   /* record.updated_at as µs since epoch, 0 if unknown (broadcast) */
  gint64  queued_at_us;    /* record.offered_at: when the assignment last entered the queue, 0 if unknown */
  gint64  commit_ts_us;    /* commit_timestamp, 0 if unknown */
  gint64  received_us;     /* g_get_real_time () when the frame arrived */
  gint64  received_mono_us;/* g_get_monotonic_time () when the frame arrived */
  /* Hints that came with the event (broadcast payload), cleaned and capped by
   * wb_untrusted_text_clean_field (); NULL when absent. Not escaped. */
  char     *customer;
  char     *vehicle;
  char     *concern;
  gboolean  urgent;
};

GType       wb_event_get_type          (void) G_GNUC_CONST;
WbEvent    *wb_event_new               (WbEventKind     kind,
                                        WbEventSource   source);
WbEvent    *wb_event_copy              (const WbEvent  *self);
void        wb_event_free              (WbEvent        *self);

const char *wb_event_kind_to_string    (WbEventKind     kind);
/* "broadcast", "postgres_changes", "catchup", "db_broadcast": the alert log's words. */
const char *wb_event_source_to_string  (WbEventSource   source);

gboolean    wb_event_parse_timestamp   (const char     *text,
                                        gint64         *out_us);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (WbEvent, wb_event_free)

G_END_DECLS
