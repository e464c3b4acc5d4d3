/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-pipeline.h: socket + channel + auth + merger + details + catch-up + flags, wired together.
 *
 * The pipeline owns every core object and emits one WbAlertRecord for each thing that should
 * ring (alert), be enriched (update) or be taken back (withdraw). Firing the tiers and writing the
 * alert log are the caller's job (WbAlertDispatcher + WbAlertLog). */
#pragma once

#include <gio/gio.h>

#include "wb-acceptor.h"
#include "wb-alert-record.h"
#include "wb-auth.h"
#include "wb-flags.h"
#include "wb-health.h"
#include "wb-phoenix-serializer.h"

G_BEGIN_DECLS

typedef struct
{
  char  *url;              /* https://<project>.supabase.co or http://127.0.0.1:54321 */
  char  *anon_key;         /* the project's API key: publishable (sb_publishable_…) or legacy anon */
  char  *email;            /* (nullable) */
  char  *password;         /* (nullable) */
  char  *refresh_token;    /* (nullable) from the keyring */
  char  *topic;            /* broadcast topic without "realtime:" */
  char  *db_broadcast_topic; /* (nullable) the private Broadcast from Database topic; NULL or ""
                              * turns it off */
  char  *dedupe_path;      /* (nullable) default: the user state dir */
  guint  detail_budget_ms; /* how long an alert waits for details before ringing with fallback text */
  guint  safety_poll_s;    /* catch-up safety poll while realtime is live */
  guint  heartbeat_ms;     /* 0: the default 25 s (interval and reply deadline) */
  WbPhoenixVsn realtime_vsn;       /* 0: the default, 2.0.0 */
  guint  refusal_backoff_ms;       /* 0: the default first floor of a Realtime refusal (5 s) */
  guint  public_connection_max_s;  /* 0: Supabase's 24 h: how long the server keeps a connection
                                    * on the API key alone (renewed before that) */
  gboolean allow_insecure_http; /* plain http:// to another machine (see wb-url-policy.c) */
} WbPipelineConfig;

void wb_pipeline_config_clear (WbPipelineConfig *config);

#define WB_DEFAULT_URL      "http://127.0.0.1:54321"
#define WB_DEFAULT_ANON_KEY "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJzdXBhYmFzZS1kZW1vIiwicm9sZSI6ImFub24iLCJleHAiOjE5ODM4MTI5OTZ9.CRXP1A7WOeoJeXxjNni43kdQwgnWNReilDMblYTn_I0"
#define WB_DEFAULT_TOPIC    "session_requests_feed"
#define WB_DEFAULT_DB_BROADCAST_TOPIC "session_assignments:queue"
#define WB_DEFAULT_DETAIL_BUDGET_MS 1500
#define WB_DEFAULT_PUBLIC_CONNECTION_MAX_S (24 * 3600)
#define WB_DEFAULT_CONNECTION_ALARM_MS 60000

#define WB_TYPE_PIPELINE (wb_pipeline_get_type ())
G_DECLARE_FINAL_TYPE (WbPipeline, wb_pipeline, WB, PIPELINE, GObject)

WbPipeline    *wb_pipeline_new             (const WbPipelineConfig *config);
void           wb_pipeline_start           (WbPipeline             *self);
void           wb_pipeline_stop            (WbPipeline             *self);
void           wb_pipeline_sign_in         (WbPipeline             *self,
                                            const char             *email,
                                            const char             *password);
void           wb_pipeline_sign_out        (WbPipeline             *self);
void           wb_pipeline_retry_now       (WbPipeline             *self,
                                            const char             *reason);
WbAuth        *wb_pipeline_get_auth        (WbPipeline             *self);
WbFlags       *wb_pipeline_get_flags       (WbPipeline             *self);
WbHealth      *wb_pipeline_get_health      (WbPipeline             *self);
const char    *wb_pipeline_get_state       (WbPipeline             *self);
const char    *wb_pipeline_get_realtime_state (WbPipeline          *self);
gboolean       wb_pipeline_is_public       (WbPipeline             *self);
/* (nullable): why the backend has no Broadcast from Database topic for us (the server's refusal,
 * one line), or NULL. Reported once; postgres_changes carries on. */
const char    *wb_pipeline_get_db_broadcast_problem (WbPipeline    *self);
/* Why the app is not connected (a refused address, an untrusted certificate, a failed sign-in),
 * or NULL; cleared once subscribed. Also in --status as last_error. */
const GError  *wb_pipeline_get_last_error  (WbPipeline             *self);
gint64         wb_pipeline_get_reconnect_in_ms (WbPipeline         *self);
guint          wb_pipeline_get_max_fetches_in_flight (WbPipeline   *self);
guint          wb_pipeline_get_largest_detail_batch (WbPipeline   *self);
/* The open episodes, oldest first: (element-type WbAlertRecord) (transfer container). */
GPtrArray     *wb_pipeline_list_open       (WbPipeline             *self);
void           wb_pipeline_record_alerted  (WbPipeline             *self,
                                            const WbAlertRecord    *record);

/* Taking a request (the accept RPC): see WbAcceptor. When won, the episode ends here at once
 * (withdraw, reason "taken", taken_by_me). Signals accept-started / accept-done report every
 * accept, whoever asked. */
void             wb_pipeline_accept_async    (WbPipeline          *self,
                                              const char          *assignment_id,
                                              GCancellable        *cancellable,
                                              GAsyncReadyCallback  callback,
                                              gpointer             user_data);
WbAcceptOutcome *wb_pipeline_accept_finish   (WbPipeline          *self,
                                              GAsyncResult        *result,
                                              GError             **error);
gboolean         wb_pipeline_is_accepting    (WbPipeline          *self,
                                              const char          *assignment_id);
/* (nullable) the signed-in mechanic's name, once known. */
const char      *wb_pipeline_get_mechanic_name (WbPipeline        *self);

/* The connection alarm: signed in but not subscribed for longer than @msec (default 60 s; 0 off)
 * → signal connection-alarm (TRUE), and (FALSE) when subscribed again. */
void             wb_pipeline_set_connection_alarm_ms (WbPipeline  *self,
                                                      guint        msec);
gboolean         wb_pipeline_get_connection_alarm    (WbPipeline  *self);
/* Wall clock µs since when requests are not reaching us (0: they are), and why (nullable). */
gint64           wb_pipeline_get_not_receiving_since (WbPipeline  *self);
const char      *wb_pipeline_get_problem             (WbPipeline  *self);

G_END_DECLS
