/* wb-config.h: where the backend address and credentials come from.
 * Precedence: command-line flags > environment > GSettings > built-in defaults.
 * The password comes from the environment only (WRENCHBELL_PASSWORD), which is emptied at start:
 * wb_config_take_environment (). */
#pragma once

#include "wb-pipeline.h"
#include "wb-settings.h"

G_BEGIN_DECLS

typedef struct
{
  char *url;
  char *anon_key;
  char *email;
  char *password;
  char *topic;
  gboolean allow_insecure_http;   /* --allow-insecure-http */
} WbConfigOverrides;

void wb_config_take_environment (void);
void wb_config_resolve         (WbPipelineConfig        *out,
                                const WbConfigOverrides *cli,
                                WbSettings              *settings /* (nullable) */);
void wb_config_overrides_clear (WbConfigOverrides       *cli);

G_END_DECLS
