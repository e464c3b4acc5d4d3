/* wb-pipeline-private.h: what wb-pipeline.c (wiring) and wb-pipeline-episodes.c (episodes:
 * ring, details, fallback, withdraw) share. Not for use outside the pipeline. */
#pragma once

#include "wb-backoff.h"
#include "wb-catchup.h"
#include "wb-detail-fetcher.h"
#include "wb-event-merger.h"
#include "wb-pipeline.h"
#include "wb-realtime-channel.h"
#include "wb-realtime-socket.h"
#include "wb-rest-client.h"
#include "wb-sleep-monitor.h"

G_BEGIN_DECLS

/* One open request episode: what we know, whether it has rung, and its detail fetch. */
typedef struct
{
  WbPipeline    *pipeline;      /* (unowned) */
  WbAlertRecord *record;        /* (owned) the alert as it stands */
  gboolean       alerted;       /* the first ring went out */
  gboolean       silent;        /* rang in an earlier run of the app: listed, never rung again */
  gboolean       fetching;
  guint          budget_id;     /* fires the fallback alert if details are late */
  GCancellable  *cancellable;   /* (owned) the detail fetch */
  gint64         opened_mono_us;
} Episode;

struct _WbPipeline
{
  GObject            parent_instance;

  WbPipelineConfig   config;
  WbRestClient      *rest;
  WbAuth            *auth;
  WbRealtimeSocket  *socket;
  WbRealtimeChannel *channel;
  WbDedupeSet       *dedupe;
  WbEventMerger     *merger;
  WbDetailFetcher   *fetcher;
  WbCatchup         *catchup;
  WbFlags           *flags;
  WbHealth          *health;
  WbSleepMonitor    *sleep_monitor;
  GCancellable      *cancellable;

  GHashTable        *episodes;     /* assignment id → Episode */
  /* The dedupe set loads in a worker thread; what arrives before it is done waits here, in
   * order (events and catch-up results alike), and is merged once it is loaded. */
  gboolean           dedupe_ready;
  GQueue             waiting;      /* Waiting* */
  gboolean           started;
  GError            *last_error;   /* (owned) (nullable) see wb_pipeline_get_last_error () */
  gboolean           connected_once;
  gboolean           resubscribe_on_token;

  /* Sign-in while the server cannot be reached is retried, not reported as "signed out". The
   * password (here and in config) is wiped once a session exists or the server refused it. */
  char              *retry_email;
  char              *retry_password;
  guint              sign_in_retry_id;
  WbBackoff          sign_in_backoff;
};


enum {
  _WB_PIPELINE_SIGNAL_ALERT,
  _WB_PIPELINE_SIGNAL_QUEUE_CHANGED,
  _WB_PIPELINE_SIGNAL_STATE_CHANGED,
  _WB_PIPELINE_N_SIGNALS
};

extern guint _wb_pipeline_signals[_WB_PIPELINE_N_SIGNALS];

void _wb_pipeline_episode_free (Episode       *ep);
gboolean _wb_pipeline_holds_password (WbPipeline *self);   /* for tests */
gboolean _wb_pipeline_wait_for_dedupe (WbPipeline    *self,
                                       const WbEvent *ev,
                                       GPtrArray     *rows,
                                       gint64         token);
void _wb_pipeline_offer_event  (WbPipeline    *self,
                                const WbEvent *ev);
void _wb_pipeline_close_episode (WbPipeline   *self,
                                 const char   *assignment_id);

G_END_DECLS
