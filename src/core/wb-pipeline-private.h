/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-pipeline-private.h: what the pipeline's files share: wb-pipeline.c (wiring, signals),
 * wb-pipeline-episodes.c (ring, details, fallback), wb-pipeline-sources.c (the private channel,
 * confirming broadcasts) and wb-pipeline-endings.c (stand down, withdraw, accept). Not for use
 * outside the pipeline. */
#pragma once

#include "wb-acceptor.h"
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
} WbPipelineEpisode;

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

  GHashTable        *episodes;     /* assignment id → WbPipelineEpisode */
  /* The dedupe set loads in a worker thread; what arrives before it is done waits here, in
   * order (events and catch-up results alike), and is merged once it is loaded. */
  gboolean           dedupe_ready;
  GQueue             waiting;      /* WbPipelineWaiting* */
  gboolean           started;
  GError            *last_error;   /* (owned) (nullable) see wb_pipeline_get_last_error () */
  gboolean           connected_once;
  guint              public_renew_id;  /* renews a connection on the API key alone */
  gint64             key_token_ended_us; /* monotonic: the last new handshake made at once
                                          * because the server ended the API key's token */

  /* How episodes end (wb-pipeline-endings.c): withdraws waiting to learn why and who, who is who,
   * and accepting requests ourselves. */
  WbAcceptor        *acceptor;
  GHashTable        *endings;      /* assignment id → WbPipelineEnding */
  GHashTable        *names;        /* mechanics.id → name, bounded */
  char              *me_id;        /* (nullable) the signed-in mechanic's mechanics.id */
  char              *me_name;      /* (nullable) */
  GCancellable      *me_cancellable;

  /* The connection alarm: signed in but not subscribed for longer than alarm_ms. */
  gint64             not_receiving_us;  /* wall clock; 0 while receiving (or signed out) */
  char              *problem;           /* (nullable) the last reason we were not receiving */
  guint              alarm_ms;          /* 0: off */
  guint              alarm_id;
  gboolean           alarm_raised;

  /* The sources (wb-pipeline-sources.c): Broadcast from Database on a private channel, and public
   * broadcasts confirmed by the database before they ring. */
  WbRealtimeChannel *private_channel;     /* (nullable) off when no topic is configured */
  char              *private_unavailable; /* (nullable) the refusal: the backend lacks the topic */
  gint64             private_newest_us;   /* newest row time seen there: replay since */
  GHashTable        *confirming;          /* assignment ids whose broadcast is being confirmed */
  GHashTable        *unconfirmed;         /* ids of episodes opened on a hint not yet confirmed */

  /* Sign-in while the server cannot be reached is retried, not reported as "signed out". The
   * password (here and in config) is wiped once a session exists or the server refused it. */
  char              *retry_email;
  char              *retry_password;
  guint              sign_in_retry_id;
  WbBackoff          sign_in_backoff;
};

/* The signals the other pipeline files emit (their ids stay in wb-pipeline.c). */
void _wb_pipeline_emit_alert          (WbPipeline      *self,
                                       WbAlertRecord   *record);
void _wb_pipeline_emit_queue_changed  (WbPipeline      *self);
void _wb_pipeline_emit_state_changed  (WbPipeline      *self);
void _wb_pipeline_emit_episode_ended  (WbPipeline      *self,
                                       WbAlertRecord   *withdraw);
void _wb_pipeline_emit_accept_started (WbPipeline      *self,
                                       const char      *assignment_id);
void _wb_pipeline_emit_accept_done    (WbPipeline      *self,
                                       WbAcceptOutcome *outcome);

void _wb_pipeline_episode_free (WbPipelineEpisode *ep);
gboolean _wb_pipeline_holds_password (WbPipeline *self);   /* for tests */
gboolean _wb_pipeline_wait_for_dedupe (WbPipeline    *self,
                                       const WbEvent *ev,
                                       GPtrArray     *rows,
                                       gint64         token);
void _wb_pipeline_offer_event  (WbPipeline    *self,
                                const WbEvent *ev);
void _wb_pipeline_close_episode (WbPipeline   *self,
                                 const char   *assignment_id,
                                 const WbEvent *ev);

/* wb-pipeline-sources.c */
void _wb_pipeline_sources_init    (WbPipeline    *self);
void _wb_pipeline_sources_clear   (WbPipeline    *self);
void _wb_pipeline_offer_hint      (WbPipeline    *self,
                                   const WbEvent *ev);
void _wb_pipeline_sources_settled (WbPipeline    *self,
                                   const char    *assignment_id);
void _wb_pipeline_private_token   (WbPipeline    *self,
                                   const char    *token,
                                   gint64         expires_at);
void _wb_pipeline_private_stop    (WbPipeline    *self,
                                   gboolean       forget_refusal);

/* wb-pipeline-endings.c */
void _wb_pipeline_endings_init    (WbPipeline    *self);
void _wb_pipeline_endings_clear   (WbPipeline    *self);
/* The episode ended (@ev: the event that said so; NULL when the catch-up no longer lists it):
 * stand down now, withdraw once the reason and who took it are known. Takes @record. */
void _wb_pipeline_ending_begin    (WbPipeline    *self,
                                   WbAlertRecord *record,
                                   const WbEvent *ev);
/* Withdraws still waiting for a name go out now, as they are (@assignment_id NULL: all). */
void _wb_pipeline_endings_flush   (WbPipeline    *self,
                                   const char    *assignment_id);
void _wb_pipeline_me_load         (WbPipeline    *self);
void _wb_pipeline_me_forget       (WbPipeline    *self);

G_END_DECLS
