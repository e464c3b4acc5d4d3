/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-alert-record.h: what one alert, update, repeat, escalate or withdraw carries, and its
 * alert-log line. */
#pragma once

#include <json-glib/json-glib.h>

#include "wb-types.h"

G_BEGIN_DECLS

typedef enum
{
  WB_ALERT_KIND_ALERT,     /* first ring of an episode: exactly one per episode */
  WB_ALERT_KIND_UPDATE,    /* the same alert, enriched when details arrive late */
  WB_ALERT_KIND_REPEAT,    /* reminder while unacknowledged */
  WB_ALERT_KIND_WITHDRAW,  /* the episode ended: reason, taken_by */
  WB_ALERT_KIND_ESCALATE,  /* nobody took it in time: rings again as urgent */
} WbAlertKind;

typedef enum
{
  WB_TIER_RESULT_NOT_RUN,
  WB_TIER_RESULT_OK,
  WB_TIER_RESULT_SKIPPED,
  WB_TIER_RESULT_FAILED,
} WbTierResult;

#define WB_TYPE_ALERT_RECORD (wb_alert_record_get_type ())

typedef struct _WbAlertRecord WbAlertRecord;

struct _WbAlertRecord
{
  WbAlertKind  kind;
  char        *assignment_id;
  char        *session_id;      /* (nullable) */
  guint        episode;         /* 1 for the first time the assignment was queued, 2 after a re-queue… */
  const char  *source;          /* (not owned) "broadcast" | "postgres_changes" | "db_broadcast"
                                 * | "catchup" | "test" */
  gboolean     details_full;    /* FALSE: fallback text */
  char        *customer;        /* (nullable) as the customer typed it: escape before markup! */
  char        *vehicle;         /* (nullable) */
  char        *concern;         /* (nullable) */
  gboolean     urgent;
  gint64       commit_ts_us;    /* 0 if unknown */
  gint64       received_us;     /* wall clock, when the first event of the episode arrived */
  gint64       received_mono_us;
  gint64       alerted_us;      /* wall clock, when the tiers had been fired */
  gint64       alerted_mono_us;
  WbTierResult tier_result[WB_N_TIERS];
  char        *tier_reason[WB_N_TIERS];   /* (nullable) why a tier failed or was skipped */
  /* Withdraw only: how the episode ended. */
  const char  *reason;          /* (not owned) (nullable) wb_alert_reason_for_status(), or NULL while unknown */
  char        *taken_by_id;     /* (nullable) mechanics.id of who took it */
  char        *taken_by;        /* (nullable) their name, as the server sent it: clean before showing */
  gboolean     taken_by_me;     /* the signed-in mechanic took it */
};

GType          wb_alert_record_get_type     (void) G_GNUC_CONST;
WbAlertRecord *wb_alert_record_new          (WbAlertKind          kind,
                                             const char          *assignment_id);
WbAlertRecord *wb_alert_record_copy         (const WbAlertRecord *self);
void           wb_alert_record_free         (WbAlertRecord       *self);
void           wb_alert_record_set_tier     (WbAlertRecord       *self,
                                             WbTier               tier,
                                             WbTierResult         result,
                                             const char          *reason);
const char    *wb_alert_record_title        (const WbAlertRecord *self);
char          *wb_alert_record_summary_line (const WbAlertRecord *self);
double         wb_alert_record_latency_ms   (const WbAlertRecord *self);
JsonNode      *wb_alert_record_to_json      (const WbAlertRecord *self);
char          *wb_alert_record_to_json_line (const WbAlertRecord *self);
const char    *wb_alert_kind_to_string      (WbAlertKind          kind);
/* The alert log's `reason` for a status the assignment left the queue with: "taken" (accepted),
 * "cancelled", "expired", "declined", "completed", "offered", "pending_waiver"; "deleted" for NULL
 * (the row is gone), "ended" for anything else. Static strings. */
const char    *wb_alert_reason_for_status   (const char          *status);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (WbAlertRecord, wb_alert_record_free)

G_END_DECLS
