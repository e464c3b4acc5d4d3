/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-settings.c: the GObject façade over Wrenchbell's GSettings schema.
 *
 * Every key of io.github.wrenchbell.Wrenchbell is mirrored by a property of the same name; the
 * properties are bound both ways with g_settings_bind(), so binding to a WbSettings property is the
 * same as binding to the key, and tests can drive everything with GSETTINGS_BACKEND=memory.
 */
#define G_LOG_DOMAIN "wb-settings"

#include "config.h"

#include "wb-settings.h"

struct _WbSettings
{
  GObject    parent_instance;

  GSettings *settings;   /* (owned) */
  GValue    *values;     /* (owned) one per key property, indexed by PROP_* */
};

enum {
  PROP_0,
  PROP_BACKEND_URL,
  PROP_ANON_KEY,
  PROP_BROADCAST_TOPIC,
  PROP_DB_BROADCAST_TOPIC,
  PROP_REALTIME_VSN,
  PROP_ACCOUNT_EMAIL,
  PROP_ALLOW_INSECURE_HTTP,
  PROP_TIER_TOAST,
  PROP_TIER_SOUND,
  PROP_TIER_NOTIFICATION,
  PROP_TIER_TRAY,
  PROP_VOLUME,
  PROP_MUTE_UNTIL,
  PROP_REPEAT_INTERVAL,
  PROP_DO_NOT_DISTURB,
  PROP_URGENT_PIERCES_DND,
  PROP_RUN_IN_BACKGROUND,
  PROP_START_AT_LOGIN,
  PROP_WINDOW_WIDTH,
  PROP_WINDOW_HEIGHT,
  PROP_WINDOW_MAXIMIZED,
  PROP_ESCALATE_AFTER,
  PROP_DASHBOARD_URL,
  PROP_CONNECTION_ALARM_AFTER,
  N_KEY_PROPS,              /* properties below are not GSettings keys */
  PROP_SETTINGS = N_KEY_PROPS,
  N_PROPS,
};

G_DEFINE_FINAL_TYPE (WbSettings, wb_settings, G_TYPE_OBJECT)

static GParamSpec *properties[N_PROPS];

static const guint tier_props[WB_N_TIERS] = {
  [WB_TIER_TOAST] = PROP_TIER_TOAST,
  [WB_TIER_SOUND] = PROP_TIER_SOUND,
  [WB_TIER_NOTIFICATION] = PROP_TIER_NOTIFICATION,
  [WB_TIER_TRAY] = PROP_TIER_TRAY,
};

static void
wb_settings_get_property (GObject    *object,
                          guint       prop_id,
                          GValue     *value,
                          GParamSpec *pspec)
{
  WbSettings *self = WB_SETTINGS (object);

  if (prop_id == PROP_SETTINGS)
    {
      g_value_set_object (value, self->settings);
      return;
    }
  if (prop_id == 0 || prop_id >= N_KEY_PROPS)
    {
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      return;
    }

  g_value_copy (&self->values[prop_id], value);
}

static void
wb_settings_set_property (GObject      *object,
                          guint         prop_id,
                          const GValue *value,
                          GParamSpec   *pspec)
{
  WbSettings *self = WB_SETTINGS (object);

  if (prop_id == PROP_SETTINGS)
    {
      g_assert (self->settings == NULL);
      self->settings = g_value_dup_object (value);
      return;
    }
  if (prop_id == 0 || prop_id >= N_KEY_PROPS)
    {
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      return;
    }

  if (g_param_values_cmp (pspec, &self->values[prop_id], value) == 0)
    return;

  g_value_copy (value, &self->values[prop_id]);
  g_object_notify_by_pspec (object, pspec);
}

static void
wb_settings_constructed (GObject *object)
{
  WbSettings *self = WB_SETTINGS (object);

  G_OBJECT_CLASS (wb_settings_parent_class)->constructed (object);

  if (self->settings == NULL)
    self->settings = g_settings_new (WB_SETTINGS_SCHEMA_ID);

  /* Property names are the key names. */
  for (guint i = 1; i < N_KEY_PROPS; i++)
    g_settings_bind (self->settings, properties[i]->name, self, properties[i]->name,
                     G_SETTINGS_BIND_DEFAULT);
}

static void
wb_settings_dispose (GObject *object)
{
  WbSettings *self = WB_SETTINGS (object);

  if (self->settings != NULL)
    {
      for (guint i = 1; i < N_KEY_PROPS; i++)
        g_settings_unbind (self, properties[i]->name);
    }
  g_clear_object (&self->settings);

  G_OBJECT_CLASS (wb_settings_parent_class)->dispose (object);
}

static void
wb_settings_finalize (GObject *object)
{
  WbSettings *self = WB_SETTINGS (object);

  for (guint i = 1; i < N_KEY_PROPS; i++)
    g_value_unset (&self->values[i]);
  g_free (self->values);

  G_OBJECT_CLASS (wb_settings_parent_class)->finalize (object);
}

static void
wb_settings_class_init (WbSettingsClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  const GParamFlags rw = G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS;

  object_class->get_property = wb_settings_get_property;
  object_class->set_property = wb_settings_set_property;
  object_class->constructed = wb_settings_constructed;
  object_class->dispose = wb_settings_dispose;
  object_class->finalize = wb_settings_finalize;

  properties[PROP_BACKEND_URL] = g_param_spec_string ("backend-url", NULL, NULL, "", rw);
  properties[PROP_ANON_KEY] = g_param_spec_string ("anon-key", NULL, NULL, "", rw);
  properties[PROP_BROADCAST_TOPIC] =
    g_param_spec_string ("broadcast-topic", NULL, NULL, "session_requests_feed", rw);
  properties[PROP_DB_BROADCAST_TOPIC] =
    g_param_spec_string ("db-broadcast-topic", NULL, NULL, "session_assignments:queue", rw);
  properties[PROP_REALTIME_VSN] = g_param_spec_string ("realtime-vsn", NULL, NULL, "2.0.0", rw);
  properties[PROP_ACCOUNT_EMAIL] = g_param_spec_string ("account-email", NULL, NULL, "", rw);
  properties[PROP_ALLOW_INSECURE_HTTP] =
    g_param_spec_boolean ("allow-insecure-http", NULL, NULL, FALSE, rw);
  properties[PROP_TIER_TOAST] = g_param_spec_boolean ("tier-toast", NULL, NULL, TRUE, rw);
  properties[PROP_TIER_SOUND] = g_param_spec_boolean ("tier-sound", NULL, NULL, TRUE, rw);
  properties[PROP_TIER_NOTIFICATION] =
    g_param_spec_boolean ("tier-notification", NULL, NULL, TRUE, rw);
  properties[PROP_TIER_TRAY] = g_param_spec_boolean ("tier-tray", NULL, NULL, TRUE, rw);
  properties[PROP_VOLUME] = g_param_spec_double ("volume", NULL, NULL, 0.0, 1.0, 0.8, rw);
  properties[PROP_MUTE_UNTIL] =
    g_param_spec_int64 ("mute-until", NULL, NULL, G_MININT64, G_MAXINT64, 0, rw);
  properties[PROP_REPEAT_INTERVAL] =
    g_param_spec_uint ("repeat-interval", NULL, NULL, 0, 3600, 60, rw);
  properties[PROP_DO_NOT_DISTURB] = g_param_spec_boolean ("do-not-disturb", NULL, NULL, FALSE, rw);
  properties[PROP_URGENT_PIERCES_DND] =
    g_param_spec_boolean ("urgent-pierces-dnd", NULL, NULL, TRUE, rw);
  properties[PROP_RUN_IN_BACKGROUND] =
    g_param_spec_boolean ("run-in-background", NULL, NULL, TRUE, rw);
  properties[PROP_START_AT_LOGIN] = g_param_spec_boolean ("start-at-login", NULL, NULL, FALSE, rw);
  properties[PROP_WINDOW_WIDTH] =
    g_param_spec_int ("window-width", NULL, NULL, -1, G_MAXINT, 720, rw);
  properties[PROP_WINDOW_HEIGHT] =
    g_param_spec_int ("window-height", NULL, NULL, -1, G_MAXINT, 560, rw);
  properties[PROP_WINDOW_MAXIMIZED] =
    g_param_spec_boolean ("window-maximized", NULL, NULL, FALSE, rw);
  properties[PROP_ESCALATE_AFTER] =
    g_param_spec_uint ("escalate-after", NULL, NULL, 0, 120, 3, rw);
  properties[PROP_DASHBOARD_URL] = g_param_spec_string ("dashboard-url", NULL, NULL, "", rw);
  properties[PROP_CONNECTION_ALARM_AFTER] =
    g_param_spec_uint ("connection-alarm-after", NULL, NULL, 0, 3600, 60, rw);

  /* The GSettings to bind to; NULL means g_settings_new (WB_SETTINGS_SCHEMA_ID). */
  properties[PROP_SETTINGS] =
    g_param_spec_object ("settings", NULL, NULL, G_TYPE_SETTINGS,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
wb_settings_init (WbSettings *self)
{
  self->values = g_new0 (GValue, N_KEY_PROPS);
  for (guint i = 1; i < N_KEY_PROPS; i++)
    {
      g_value_init (&self->values[i], G_PARAM_SPEC_VALUE_TYPE (properties[i]));
      g_param_value_set_default (properties[i], &self->values[i]);
    }
}

/**
 * wb_settings_new:
 *
 * Returns: (transfer full): settings backed by the installed (or GSETTINGS_SCHEMA_DIR) schema.
 */
WbSettings *
wb_settings_new (void)
{
  return g_object_new (WB_TYPE_SETTINGS, NULL);
}

/**
 * wb_settings_new_if_available:
 *
 * Returns: (transfer full) (nullable): settings as wb_settings_new (), or NULL when the schema is
 *   not installed (running from a build tree without it is fine: built-in defaults).
 */
WbSettings *
wb_settings_new_if_available (void)
{
  GSettingsSchemaSource *source = g_settings_schema_source_get_default ();
  g_autoptr(GSettingsSchema) schema = NULL;

  if (source != NULL)
    schema = g_settings_schema_source_lookup (source, WB_SETTINGS_SCHEMA_ID, TRUE);
  if (schema == NULL)
    {
      g_debug ("GSettings schema %s not installed: built-in defaults", WB_SETTINGS_SCHEMA_ID);
      return NULL;
    }
  return wb_settings_new ();
}

/**
 * wb_settings_new_for_settings:
 * @settings: a #GSettings of the schema %WB_SETTINGS_SCHEMA_ID
 *
 * Returns: (transfer full): a façade over @settings (tests pass a memory-backed one).
 */
WbSettings *
wb_settings_new_for_settings (GSettings *settings)
{
  WbSettings *self;

  g_return_val_if_fail (G_IS_SETTINGS (settings), NULL);

  self = g_object_new (WB_TYPE_SETTINGS, "settings", settings, NULL);
  return self;
}

/**
 * wb_settings_get_settings:
 *
 * Returns: (transfer none): the underlying #GSettings, for the preferences dialog.
 */
GSettings *
wb_settings_get_settings (WbSettings *self)
{
  g_return_val_if_fail (WB_IS_SETTINGS (self), NULL);
  return self->settings;
}

static const char *
get_string (WbSettings *self,
            guint       prop_id)
{
  g_return_val_if_fail (WB_IS_SETTINGS (self), NULL);
  return g_value_get_string (&self->values[prop_id]);
}

static gboolean
get_boolean (WbSettings *self,
             guint       prop_id)
{
  g_return_val_if_fail (WB_IS_SETTINGS (self), FALSE);
  return g_value_get_boolean (&self->values[prop_id]);
}

const char *
wb_settings_get_backend_url (WbSettings *self)
{
  return get_string (self, PROP_BACKEND_URL);
}

const char *
wb_settings_get_anon_key (WbSettings *self)
{
  return get_string (self, PROP_ANON_KEY);
}

const char *
wb_settings_get_broadcast_topic (WbSettings *self)
{
  return get_string (self, PROP_BROADCAST_TOPIC);
}

/* The private channel of Broadcast from Database; "" when turned off. */
const char *
wb_settings_get_db_broadcast_topic (WbSettings *self)
{
  return get_string (self, PROP_DB_BROADCAST_TOPIC);
}

/* "2.0.0" (the default) or "1.0.0": the Realtime protocol version to speak. */
const char *
wb_settings_get_realtime_vsn (WbSettings *self)
{
  return get_string (self, PROP_REALTIME_VSN);
}

/* Takes the API key out of the settings (back to the built-in default): for a key no workstation
 * may keep (a secret key), which must not stay on disk either. */
void
wb_settings_forget_api_key (WbSettings *self)
{
  g_return_if_fail (WB_IS_SETTINGS (self));
  g_settings_reset (self->settings, properties[PROP_ANON_KEY]->name);
  g_settings_sync ();   /* now: the process may be about to exit */
}

const char *
wb_settings_get_account_email (WbSettings *self)
{
  return get_string (self, PROP_ACCOUNT_EMAIL);
}

/* http:// to another machine (the password in clear text): see wb-url-policy.c. */
gboolean
wb_settings_get_allow_insecure_http (WbSettings *self)
{
  return get_boolean (self, PROP_ALLOW_INSECURE_HTTP);
}

/**
 * wb_settings_tier_enabled:
 *
 * Returns: whether the user has the alert tier @tier switched on (tier-toast, tier-sound,
 *   tier-notification, tier-tray). Feature flags and do-not-disturb are applied elsewhere.
 */
gboolean
wb_settings_tier_enabled (WbSettings *self,
                          WbTier      tier)
{
  g_return_val_if_fail (WB_IS_SETTINGS (self), FALSE);
  g_return_val_if_fail ((guint) tier < WB_N_TIERS, FALSE);

  return get_boolean (self, tier_props[tier]);
}

void
wb_settings_set_tier_enabled (WbSettings *self,
                              WbTier      tier,
                              gboolean    enabled)
{
  g_return_if_fail (WB_IS_SETTINGS (self));
  g_return_if_fail ((guint) tier < WB_N_TIERS);

  g_object_set (self, properties[tier_props[tier]]->name, !!enabled, NULL);
}

gdouble
wb_settings_get_volume (WbSettings *self)
{
  g_return_val_if_fail (WB_IS_SETTINGS (self), 0.0);
  return g_value_get_double (&self->values[PROP_VOLUME]);
}

gint64
wb_settings_get_mute_until (WbSettings *self)
{
  g_return_val_if_fail (WB_IS_SETTINGS (self), 0);
  return g_value_get_int64 (&self->values[PROP_MUTE_UNTIL]);
}

/**
 * wb_settings_is_muted:
 * @now_unix_s: the current time, seconds since the epoch
 *
 * Returns: %TRUE while a mute set with wb_settings_mute_for() has not run out.
 */
gboolean
wb_settings_is_muted (WbSettings *self,
                      gint64      now_unix_s)
{
  g_return_val_if_fail (WB_IS_SETTINGS (self), FALSE);
  return wb_settings_get_mute_until (self) > now_unix_s;
}

/**
 * wb_settings_mute_for:
 * @seconds: how long to stay muted from now; 0 unmutes
 */
void
wb_settings_mute_for (WbSettings *self,
                      guint       seconds)
{
  gint64 until = 0;

  g_return_if_fail (WB_IS_SETTINGS (self));

  if (seconds > 0)
    until = g_get_real_time () / G_USEC_PER_SEC + seconds;

  g_object_set (self, "mute-until", until, NULL);
}

guint
wb_settings_get_repeat_interval (WbSettings *self)
{
  g_return_val_if_fail (WB_IS_SETTINGS (self), 0);
  return g_value_get_uint (&self->values[PROP_REPEAT_INTERVAL]);
}

gboolean
wb_settings_get_do_not_disturb (WbSettings *self)
{
  return get_boolean (self, PROP_DO_NOT_DISTURB);
}

gboolean
wb_settings_get_urgent_pierces_dnd (WbSettings *self)
{
  return get_boolean (self, PROP_URGENT_PIERCES_DND);
}

gboolean
wb_settings_get_run_in_background (WbSettings *self)
{
  return get_boolean (self, PROP_RUN_IN_BACKGROUND);
}

const char *
wb_settings_get_dashboard_url (WbSettings *self)
{
  return get_string (self, PROP_DASHBOARD_URL);
}

guint
wb_settings_get_connection_alarm_after (WbSettings *self)
{
  g_return_val_if_fail (WB_IS_SETTINGS (self), 0);
  return g_value_get_uint (&self->values[PROP_CONNECTION_ALARM_AFTER]);
}

gboolean
wb_settings_get_start_at_login (WbSettings *self)
{
  return get_boolean (self, PROP_START_AT_LOGIN);
}
