#define G_LOG_DOMAIN "wb-config"

#include "config.h"

#include <string.h>

#include "wb-config.h"

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
   * refresh token instead). */
  out->password = pick (cli->password, "WRENCHBELL_PASSWORD", NULL, NULL);
  /* Timing knobs for tests and benchmarks; the defaults are what users get. */
  out->heartbeat_ms = env_uint ("WB_HEARTBEAT_MS");
  out->safety_poll_s = env_uint ("WB_SAFETY_POLL_S");
  out->detail_budget_ms = env_uint ("WB_DETAIL_BUDGET_MS");
  out->topic = pick (cli->topic, "WRENCHBELL_TOPIC",
                     settings ? wb_settings_get_broadcast_topic (settings) : NULL, WB_DEFAULT_TOPIC);
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
  g_clear_pointer (&cli->email, g_free);
  if (cli->password != NULL)
    memset (cli->password, 0, strlen (cli->password));
  g_clear_pointer (&cli->password, g_free);
  g_clear_pointer (&cli->topic, g_free);
}
