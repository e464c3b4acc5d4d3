/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-application-private.h: shared between wb-application.c and wb-application-actions.c. */
#pragma once

#include "wb-accept-service.h"
#include "wb-alert-log.h"
#include "wb-alert-wiring.h"
#include "wb-application.h"
#include "wb-background-status.h"
#include "wb-config.h"
#include "wb-pipeline.h"
#include "wb-status-service.h"
#include "wb-token-store.h"
#include "wb-window.h"

G_BEGIN_DECLS

struct _WbApplication
{
  AdwApplication     parent_instance;

  WbConfigOverrides  cli;
  WbPipelineConfig   config;         /* resolved at startup, handed to the pipeline */
  char              *state_dir;      /* (owned) (nullable) --state-dir */
  gboolean           background;     /* --background: the first activation does not show */
  gboolean           pending_show;   /* activated before the pipeline was ready */
  char              *key_refused;    /* (owned) (nullable) why the key in the settings was removed,
                                      * shown when the window first appears */
  gboolean           tiers_preparing; /* what the first frame does not need has been started */
  gboolean           early;          /* the pipeline starts before GTK (early_start ()) */
  gboolean           first_painted;  /* the window's first frame is on screen */
  GPtrArray         *early_alerts;   /* (owned) WbAlertRecord*: rung before the tiers existed */

  WbSettings        *settings;       /* (owned) (nullable) when the schema is not installed */
  WbTokenStore      *tokens;         /* (owned) */
  WbPipeline        *pipeline;       /* (owned) (nullable) until the keyring answered */
  WbAlertWiring     *alerts;         /* (owned) (nullable) */
  WbStatusService   *status;         /* (owned) (nullable) */
  WbBackgroundStatus *background_status; /* (owned) (nullable) until the pipeline runs */
  WbWindow          *window;         /* (weak) (nullable) */
  GtkWindow         *preferences;    /* (weak) (nullable) */
  GCancellable      *cancellable;    /* (owned) */
  GSimpleActionGroup *actions;       /* (owned) "wb": the actions that are not on the bus */
  WbAcceptService   *accept;         /* (owned) (nullable) `wrenchbell --accept` */
  WbAlertLog        *log;            /* (owned) (nullable) --alert-log */
  GHashTable        *won;            /* assignment id → session id of requests we took */
  GHashTable        *from_popup;     /* assignment ids accepted from a notification */
  guint              lookup_timeout_id;
  guint              n_tests;
};

void      _wb_application_add_actions (WbApplication *self);
WbWindow *_wb_application_get_window  (WbApplication *self,
                                       gboolean       create);
void      _wb_application_present     (WbApplication *self);
void      _wb_application_message     (WbApplication *self,
                                       const char    *text);
/* Activates wb.@name (the actions that are not on the bus). */
void      _wb_application_activate_local (WbApplication *self,
                                          const char    *name,
                                          GVariant      *parameter);
/* Opens the dashboard page of a request we took (the dashboard-url setting), if there is one. */
void      _wb_application_open_dashboard (WbApplication *self,
                                          const char    *assignment_id);

G_END_DECLS
