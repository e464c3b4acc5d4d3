/* wb-application-private.h: shared between wb-application.c and wb-application-actions.c. */
#pragma once

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

  WbSettings        *settings;       /* (owned) (nullable) when the schema is not installed */
  WbTokenStore      *tokens;         /* (owned) */
  WbPipeline        *pipeline;       /* (owned) (nullable) until the keyring answered */
  WbAlertWiring     *alerts;         /* (owned) (nullable) */
  WbStatusService   *status;         /* (owned) (nullable) */
  WbBackgroundStatus *background_status; /* (owned) (nullable) until the pipeline runs */
  WbWindow          *window;         /* (weak) (nullable) */
  GtkWindow         *preferences;    /* (weak) (nullable) */
  GCancellable      *cancellable;    /* (owned) */
  guint              lookup_timeout_id;
  guint              n_tests;
};

void      _wb_application_add_actions (WbApplication *self);
WbWindow *_wb_application_get_window  (WbApplication *self,
                                       gboolean       create);
void      _wb_application_present     (WbApplication *self);
void      _wb_application_message     (WbApplication *self,
                                       const char    *text);

G_END_DECLS
