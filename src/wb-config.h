/* SPDX-License-Identifier: GPL-3.0-or-later */
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
  char *anon_key;          /* --anon-key */
  char *publishable_key;   /* --publishable-key: the same option under its 2026 name; wins */
  char *email;
  char *password;
  char *topic;
  gboolean allow_insecure_http;   /* --allow-insecure-http */
} WbConfigOverrides;

void     wb_config_take_environment (void);
void     wb_config_forget_environment (void);
void     wb_config_resolve         (WbPipelineConfig        *out,
                                    const WbConfigOverrides *cli,
                                    WbSettings              *settings /* (nullable) */);
gboolean wb_config_check           (const WbPipelineConfig  *config,
                                    GError                 **error);
gboolean wb_config_key_from_settings (const WbPipelineConfig *config,
                                    const WbConfigOverrides *cli,
                                    WbSettings              *settings);
void     wb_config_overrides_clear (WbConfigOverrides       *cli);
/* The dashboard URL template (see wb_accept_dashboard_url()): WRENCHBELL_DASHBOARD_URL, else the
 * dashboard-url setting; NULL when neither is set. Read at use, so a changed setting counts. */
char    *wb_config_dashboard_url   (WbSettings              *settings /* (nullable) */);
/* A timing knob for tests and benchmarks (WB_ESCALATE_MS, WB_SNOOZE_MS, WB_CONNECTION_ALARM_MS, …)
 * in milliseconds; 0 when unset or not a number. */
guint    wb_config_knob_ms         (const char              *env_name);

G_END_DECLS
