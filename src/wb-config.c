/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-config.c: where the backend address and credentials come from.
 * Precedence: command-line flags > environment > GSettings > built-in defaults.
 * The password comes from the environment only (WRENCHBELL_PASSWORD), which is emptied at start:
 * wb_config_take_environment (). */

#define G_LOG_DOMAIN "wb-config"

#include "config.h"

#include <string.h>

#include "wb-api-key.h"
#include "wb-config.h"
#include "wb-error.h"
#include "wb-secret.h"

#define PASSWORD_VARIABLE "WRENCHBELL_PASSWORD"

/* WRENCHBELL_PASSWORD, moved out of the environment (see wb_config_take_environment ()), until
 * wb_config_forget_environment () wipes it. */
static char *env_password;
static gboolean env_taken;

/* Call first thing in main (), before any thread or child process exists: the password leaves
 * the environment (and its bytes the environment block), so no child inherits it and
 * /proc/PID/environ does not show it. The value is kept for wb_config_resolve (). */
void
wb_config_take_environment (void)
{
  if (env_taken)
    return;
  env_taken = TRUE;
  env_password = wb_secret_take_env (PASSWORD_VARIABLE);
}

/* Once the configuration that uses it is made: the environment's password is wiped. */
void
wb_config_forget_environment (void)
{
  wb_config_take_environment ();
  wb_secret_clear (&env_password);
}

static char *
pick (const char *cli,
      const char *env_name,
      const char *setting,
      const char *fallback)
{
  const char *env = env_name ? g_getenv (env_name) : NULL;

  if (cli != NULL && *cli != '\0')
    return g_strdup (cli);
  if (env != NULL && *env != '\0')
    return g_strdup (env);
  if (setting != NULL && *setting != '\0')
    return g_strdup (setting);
  return g_strdup (fallback);
}

/* Whether the variable says yes (1, true, yes, on). */
static gboolean
env_bool (const char *name)
{
  const char *value = g_getenv (name);

  return value != NULL && (g_strcmp0 (value, "1") == 0 || g_ascii_strcasecmp (value, "true") == 0
                           || g_ascii_strcasecmp (value, "yes") == 0
                           || g_ascii_strcasecmp (value, "on") == 0);
}

static guint
env_uint (const char *name)
{
  const char *value = g_getenv (name);
  guint64 n = 0;

  if (value != NULL && !g_ascii_string_to_unsigned (value, 10, 1, G_MAXUINT32, &n, NULL))
    n = 0;
  return (guint) n;
}

static const char *
nonempty (const char *value)
{
  return value != NULL && *value != '\0' ? value : NULL;
}

/* The API key: --publishable-key > --anon-key > $WRENCHBELL_PUBLISHABLE_KEY >
 * $WRENCHBELL_ANON_KEY > the setting > the local-development anon key. Where both names are set
 * (a shell that evaluated `stack up` has both), the publishable one wins: the legacy keys are the
 * ones a project turns off. Surrounding blanks from a paste are dropped. */
static char *
pick_key (const WbConfigOverrides *cli,
          WbSettings              *settings)
{
  const char *key = nonempty (cli->publishable_key);

  if (key == NULL)
    key = nonempty (cli->anon_key);
  if (key == NULL)
    key = nonempty (g_getenv ("WRENCHBELL_PUBLISHABLE_KEY"));
  if (key == NULL)
    key = nonempty (g_getenv ("WRENCHBELL_ANON_KEY"));
  if (key == NULL && settings != NULL)
    key = nonempty (wb_settings_get_anon_key (settings));
  if (key == NULL)
    key = WB_DEFAULT_ANON_KEY;
  return g_strstrip (g_strdup (key));
}

static WbPhoenixVsn
pick_vsn (WbSettings *settings)
{
  WbPhoenixVsn vsn = WB_PHOENIX_VSN_DEFAULT;

  if (wb_phoenix_vsn_from_string (g_getenv ("WRENCHBELL_REALTIME_VSN"), &vsn))
    return vsn;
  if (settings != NULL && wb_phoenix_vsn_from_string (wb_settings_get_realtime_vsn (settings), &vsn))
    return vsn;
  return WB_PHOENIX_VSN_DEFAULT;
}

void
wb_config_resolve (WbPipelineConfig        *out,
                   const WbConfigOverrides *cli,
                   WbSettings              *settings)
{
  g_return_if_fail (out != NULL && cli != NULL);

  wb_pipeline_config_clear (out);
  out->url = pick (cli->url, "WRENCHBELL_URL",
                   settings ? wb_settings_get_backend_url (settings) : NULL, WB_DEFAULT_URL);
  out->anon_key = pick_key (cli, settings);
  out->realtime_vsn = pick_vsn (settings);
  out->email = pick (cli->email, "WRENCHBELL_EMAIL",
                     settings ? wb_settings_get_account_email (settings) : NULL, NULL);
  /* Passwords never live in settings: flags or the environment only (the keyring keeps the
   * refresh token instead). The environment's was taken out at start and is kept until
   * wb_config_forget_environment (), so a check before the real resolve does not lose it. */
  wb_config_take_environment ();
  if (cli->password != NULL && *cli->password != '\0')
    out->password = g_strdup (cli->password);
  else if (env_password != NULL && *env_password != '\0')
    out->password = g_strdup (env_password);
  /* Clear text to another machine only when asked for explicitly, wherever it is asked for. */
  out->allow_insecure_http = cli->allow_insecure_http
                             || env_bool ("WRENCHBELL_ALLOW_INSECURE_HTTP")
                             || (settings != NULL && wb_settings_get_allow_insecure_http (settings));
  /* Timing knobs for tests and benchmarks; the defaults are what users get. */
  out->heartbeat_ms = env_uint ("WB_HEARTBEAT_MS");
  out->safety_poll_s = env_uint ("WB_SAFETY_POLL_S");
  out->detail_budget_ms = env_uint ("WB_DETAIL_BUDGET_MS");
  out->refusal_backoff_ms = env_uint ("WB_REFUSAL_BACKOFF_MS");
  out->public_connection_max_s = env_uint ("WB_PUBLIC_CONNECTION_MAX_S");
  out->topic = pick (cli->topic, "WRENCHBELL_TOPIC",
                     settings ? wb_settings_get_broadcast_topic (settings) : NULL, WB_DEFAULT_TOPIC);
  /* Set but empty (variable or setting) turns the private channel off. */
  if (g_getenv ("WRENCHBELL_DB_BROADCAST_TOPIC") != NULL)
    out->db_broadcast_topic = g_strdup (g_getenv ("WRENCHBELL_DB_BROADCAST_TOPIC"));
  else if (settings != NULL)
    out->db_broadcast_topic = g_strdup (wb_settings_get_db_broadcast_topic (settings));
  else
    out->db_broadcast_topic = g_strdup (WB_DEFAULT_DB_BROADCAST_TOPIC);
}

/* Refuses to start with a key no workstation may hold (a secret or service_role key) or one that
 * cannot be sent, and with a protocol version the app does not speak. The message says what to
 * do; it never contains the key. */
gboolean
wb_config_check (const WbPipelineConfig  *config,
                 GError                 **error)
{
  const char *vsn = g_getenv ("WRENCHBELL_REALTIME_VSN");
  WbPhoenixVsn parsed;

  g_return_val_if_fail (config != NULL, FALSE);

  if (!wb_api_key_check_workstation (config->anon_key, error))
    return FALSE;
  if (nonempty (vsn) != NULL && !wb_phoenix_vsn_from_string (vsn, &parsed))
    {
      g_set_error_literal (error, WB_ERROR, WB_ERROR_INVALID_DATA,
                           "WRENCHBELL_REALTIME_VSN must be 2.0.0 or 1.0.0");
      return FALSE;
    }
  return TRUE;
}

/* Whether the key @config resolved to came from the settings (no flag or variable gave one). */
gboolean
wb_config_key_from_settings (const WbPipelineConfig  *config,
                             const WbConfigOverrides *cli,
                             WbSettings              *settings)
{
  g_autofree char *stored = NULL;

  if (settings == NULL || nonempty (cli->publishable_key) || nonempty (cli->anon_key)
      || nonempty (g_getenv ("WRENCHBELL_PUBLISHABLE_KEY"))
      || nonempty (g_getenv ("WRENCHBELL_ANON_KEY"))
      || nonempty (wb_settings_get_anon_key (settings)) == NULL)
    return FALSE;
  stored = g_strstrip (g_strdup (wb_settings_get_anon_key (settings)));
  return g_strcmp0 (stored, config->anon_key) == 0;
}

char *
wb_config_dashboard_url (WbSettings *settings)
{
  const char *env = g_getenv ("WRENCHBELL_DASHBOARD_URL");
  const char *setting = settings != NULL ? wb_settings_get_dashboard_url (settings) : NULL;

  if (env != NULL && *env != '\0')
    return g_strdup (env);
  if (setting != NULL && *setting != '\0')
    return g_strdup (setting);
  return NULL;
}

guint
wb_config_knob_ms (const char *env_name)
{
  return env_uint (env_name);
}

void
wb_config_overrides_clear (WbConfigOverrides *cli)
{
  g_clear_pointer (&cli->url, g_free);
  g_clear_pointer (&cli->anon_key, g_free);
  g_clear_pointer (&cli->publishable_key, g_free);
  g_clear_pointer (&cli->email, g_free);
  wb_secret_clear (&cli->password);
  g_clear_pointer (&cli->topic, g_free);
}
