/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-acceptor.h: takes a queued request for the signed-in mechanic through the accept RPC
 * (`accept_session_assignment`): one call per assignment at a time however many places ask,
 * transient failures retried briefly (a 401 is the REST client's: wb-rest-client.c). The database
 * decides who wins. */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "wb-rest-client.h"

G_BEGIN_DECLS

typedef enum
{
  WB_ACCEPT_WON,      /* ours (also when it was ours already: the RPC is idempotent for the winner) */
  WB_ACCEPT_TAKEN,    /* another mechanic was faster: taken_by */
  WB_ACCEPT_GONE,     /* it left the queue otherwise (cancelled, expired, …): status */
  WB_ACCEPT_FAILED,   /* not an assignment we may take, or no usable answer: message */
} WbAcceptResult;

typedef struct
{
  WbAcceptResult  result;
  char           *assignment_id;
  char           *session_id;    /* (nullable) WON: from the row */
  char           *mechanic_id;   /* (nullable) WON: the signed-in mechanic's mechanics.id */
  char           *taken_by;      /* (nullable) TAKEN: the winner's name as sent: clean before showing */
  char           *status;        /* (nullable) GONE: the status it has now */
  char           *code;          /* (nullable) the backend's error code (PT409, PT410, …) */
  char           *message;       /* what happened, in one line of plain English (never NULL) */
  JsonObject     *row;           /* (nullable) WON: the row the RPC returned */
} WbAcceptOutcome;

#define WB_ACCEPT_RPC_PATH      "/rest/v1/rpc/accept_session_assignment"
#define WB_ACCEPT_CODE_TAKEN    "PT409"
#define WB_ACCEPT_CODE_GONE     "PT410"
#define WB_ACCEPT_MAX_ATTEMPTS  3      /* transient failures: the first try and two more */

#define WB_TYPE_ACCEPT_OUTCOME (wb_accept_outcome_get_type ())
GType            wb_accept_outcome_get_type  (void) G_GNUC_CONST;
WbAcceptOutcome *wb_accept_outcome_copy      (const WbAcceptOutcome *outcome);
void             wb_accept_outcome_free      (WbAcceptOutcome       *outcome);
/* "won", "taken", "gone", "failed". */
const char      *wb_accept_result_to_string  (WbAcceptResult         result);
/* `wrenchbell --accept`: 0 won, 3 taken by someone else, 4 no longer queued, 1 anything else. */
int              wb_accept_result_exit_code  (WbAcceptResult         result);
/* {"outcome", "assignment_id", "session_id", "taken_by", "status", "code", "message"}. */
JsonNode        *wb_accept_outcome_to_json   (const WbAcceptOutcome *outcome);
/* Pure: the outcome of one RPC answer (@status 200 with @body, or an error @code/@message/@details). */
WbAcceptOutcome *wb_accept_outcome_from_answer (const char          *assignment_id,
                                                guint                status,
                                                JsonNode            *body,
                                                const char          *code,
                                                const char          *message,
                                                const char          *details);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (WbAcceptOutcome, wb_accept_outcome_free)

/* The page of a request in the web dashboard: @template (the dashboard-url setting, e.g.
 * "https://app.example.com/mechanic/sessions/{session_id}") with {session_id} and {assignment_id}
 * filled in (escaped). NULL when the template is empty, not http(s), or needs an id not known. */
char            *wb_accept_dashboard_url     (const char            *template_,
                                              const char            *session_id,
                                              const char            *assignment_id);

#define WB_TYPE_ACCEPTOR (wb_acceptor_get_type ())
G_DECLARE_FINAL_TYPE (WbAcceptor, wb_acceptor, WB, ACCEPTOR, GObject)

/* Signals: started (const char *assignment_id) when an RPC for it begins (not for callers that
 * join one in flight); done (WbAcceptOutcome *) once per RPC, whoever asked. */
WbAcceptor      *wb_acceptor_new              (WbRestClient        *rest);
/* Test seam: the pause before the second try (the third waits three times as long). */
void             wb_acceptor_set_retry_delay_ms (WbAcceptor        *self,
                                                 guint              delay_ms);
/* Never fails: the outcome says what happened (WB_ACCEPT_FAILED with a message included). A
 * caller asking while an accept of the same assignment is in flight gets that one's outcome. */
void             wb_acceptor_accept_async     (WbAcceptor          *self,
                                               const char          *assignment_id,
                                               GCancellable        *cancellable,
                                               GAsyncReadyCallback  callback,
                                               gpointer             user_data);
WbAcceptOutcome *wb_acceptor_accept_finish    (WbAcceptor          *self,
                                               GAsyncResult        *result,
                                               GError             **error);
void             wb_acceptor_cancel           (WbAcceptor          *self);
gboolean         wb_acceptor_is_accepting     (WbAcceptor          *self,
                                               const char          *assignment_id);
guint64          wb_acceptor_get_requests     (WbAcceptor          *self);

G_END_DECLS
