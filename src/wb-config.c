#define G_LOG_DOMAIN "wb-config"

#include "config.h"

#include <string.h>

#include "wb-config.h"
#include "wb-secret.h"

#define PASSWORD_VARIABLE "WRENCHBELL_PASSWORD"

/* WRENCHBELL_PASSWORD, moved out of the environment (see wb_config_take_environment ()), until
 * the first wb_config_resolve () takes it. */
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

void
wb_config_resolve (WbPipelineConfig        *out,
                   const WbConfigOverrides *cli,
                   WbSettings              *settings)
{
  g_return_if_fail (out != NULL && cli != NULL);

  wb_pipeline_config_clear (out);
  out->url = pick (cli->url, "WRENCHBELL_URL",
                   settings ? wb_settings_get_backend_url (settings) : NULL, WB_DEFAULT_URL);
  out->anon_key = pick (cli->anon_key, "WRENCHBELL_ANON_KEY",
                        settings ? wb_settings_get_anon_key (settings) : NULL, WB_DEFAULT_ANON_KEY);
  out->email = pick (cli->email, "WRENCHBELL_EMAIL",
                     settings ? wb_settings_get_account_email (settings) : NULL, NULL);
  /* Passwords never live in settings: flags or the environment only (the keyring keeps the
   * refresh token instead). The environment's was taken out at start; the first resolve owns it. */
  wb_config_take_environment ();
  if (cli->password != NULL && *cli->password != '\0')
    out->password = g_strdup (cli->password);
  else if (env_password != NULL && *env_password != '\0')
    out->password = g_steal_pointer (&env_password);
  wb_secret_clear (&env_password);
  /* Clear text to another machine only when asked for explicitly, wherever it is asked for. */
  out->allow_insecure_http = cli->allow_insecure_http
                             || env_bool ("WRENCHBELL_ALLOW_INSECURE_HTTP")
                             || (settings != NULL && wb_settings_get_allow_insecure_http (settings));
  /* Timing knobs for tests and benchmarks; the defaults are what users get. */
  out->heartbeat_ms = env_uint ("WB_HEARTBEAT_MS");
  out->safety_poll_s = env_uint ("WB_SAFETY_POLL_S");
  out->detail_budget_ms = env_uint ("WB_DETAIL_BUDGET_MS");
  out->topic = pick (cli->topic, "WRENCHBELL_TOPIC",
                     settings ? wb_settings_get_broadcast_topic (settings) : NULL, WB_DEFAULT_TOPIC);
}

void
wb_config_overrides_clear (WbConfigOverrides *cli)
{
  g_clear_pointer (&cli->url, g_free);
  g_clear_pointer (&cli->anon_key, g_free);
  g_clear_pointer (&cli->email, g_free);
  wb_secret_clear (&cli->password);
  g_clear_pointer (&cli->topic, g_free);
}
