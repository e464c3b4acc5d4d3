/* wb-config.h: where the backend address and credentials come from.
 * Precedence: command-line flags > environment > GSettings > built-in defaults. */
#pragma once

#include "wb-pipeline.h"
#include "wb-settings.h"

G_BEGIN_DECLS

typedef struct
{
  char *url;
  char *anon_key;          /* --anon-key */
  char *publishable_key;   /* --publishable-key: the same option under its 2026 name; wins */
  char *email;
  char *password;
  char *topic;
} WbConfigOverrides;

void     wb_config_resolve         (WbPipelineConfig        *out,
                                    const WbConfigOverrides *cli,
                                    WbSettings              *settings /* (nullable) */);
gboolean wb_config_check           (const WbPipelineConfig  *config,
                                    GError                 **error);
gboolean wb_config_key_from_settings (const WbPipelineConfig *config,
                                    const WbConfigOverrides *cli,
                                    WbSettings              *settings);
void     wb_config_overrides_clear (WbConfigOverrides       *cli);

G_END_DECLS
