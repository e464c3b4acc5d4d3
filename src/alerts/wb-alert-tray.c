/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-alert-tray.c: the tray tier: our StatusNotifierItem, the launcher badge, the title count. */

#define G_LOG_DOMAIN "wb-alert-tray"

#include "config.h"

#include "wb-alert-tray.h"
#include "wb-alert-tray-menu.h"
#include "wb-sni-generated.h"

/* Hand-rolled StatusNotifierItem (field notes B1): exported on our *unique* name (Flathub
 * forbids owning org.kde.StatusNotifierItem-*), registered with the watcher whenever one
 * appears, Status Active when idle (Passive hides the icon on GNOME's AppIndicator host) and
 * NeedsAttention while requests are unacknowledged. "Flash" toggles the attention icon. */

#define ICON_NAME           APP_ID "-symbolic"
#define ATTENTION_ICON_NAME APP_ID "-attention-symbolic"
#define OFFLINE_ICON_NAME   "network-offline-symbolic"
#define FLASH_INTERVAL_MS   800

struct _WbAlertTray
{
  GObject               parent_instance;

  GDBusConnection      *connection;   /* (owned) (nullable) */
  WbStatusNotifierItem *item;         /* (owned) exported skeleton */
  WbAlertTrayMenu      *menu;         /* (owned) */
  GError               *export_error; /* (owned) (nullable) */
  guint                 watch_id;
  gboolean              watch_known;    /* the name watch has answered at least once */
  gboolean              watcher_present;
  gboolean              registered;
  GError               *register_error; /* (owned) (nullable) */
  GCancellable         *register_cancellable;
  GPtrArray            *waiting;      /* fire GTasks waiting for the registration */

  GHashTable           *pending;      /* set of unacknowledged assignment ids */
  char                 *title_count;
  char                 *launcher_path;
  char                 *problem;      /* (nullable) not receiving requests: why, since when */
  gboolean              flash;
  gboolean              flash_on;
  guint                 flash_id;
};

static void wb_alert_tray_tier_iface_init (WbAlertTierInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (WbAlertTray, wb_alert_tray, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (WB_TYPE_ALERT_TIER,
                                                      wb_alert_tray_tier_iface_init))

enum {
  PROP_0,
  PROP_PENDING_COUNT,
  PROP_TITLE_COUNT,
  PROP_FLASH,
  N_PROPS,
};

enum {
  SIGNAL_MENU_ACTIVATED,
  N_SIGNALS,
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

static void
emit_launcher_entry (WbAlertTray *self,
                     guint        count)
{
  GVariantBuilder props;

  if (self->connection == NULL)
    return;

  g_variant_builder_init (&props, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&props, "{sv}", "count", g_variant_new_int64 (count));
  g_variant_builder_add (&props, "{sv}", "count-visible", g_variant_new_boolean (count > 0));
  g_variant_builder_add (&props, "{sv}", "urgent", g_variant_new_boolean (count > 0));
  g_dbus_connection_emit_signal (self->connection, NULL, self->launcher_path,
                                 "com.canonical.Unity.LauncherEntry", "Update",
                                 g_variant_new ("(sa{sv})", "application://" APP_ID ".desktop",
                                                &props),
                                 NULL);
}

static gboolean
flash_cb (gpointer user_data)
{
  WbAlertTray *self = WB_ALERT_TRAY (user_data);

  self->flash_on = !self->flash_on;
  wb_status_notifier_item_set_attention_icon_name (self->item,
                                                   self->flash_on ? ATTENTION_ICON_NAME : ICON_NAME);
  wb_status_notifier_item_emit_new_attention_icon (self->item);
  return G_SOURCE_CONTINUE;
}

static void
update_state (WbAlertTray *self)
{
  guint count = g_hash_table_size (self->pending);
  /* Not receiving requests is worth the attention state too, without the flashing. */
  const char *status = count > 0 || self->problem != NULL ? "NeedsAttention" : "Active";
  g_autofree char *tip = NULL;
  g_autofree char *title = NULL;

  if (count > 0)
    tip = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u request waiting",
                                        "%u requests waiting", count), count);
  else
    tip = g_strdup ("No requests waiting");
  if (self->problem != NULL)
    {
      g_autofree char *both = g_strdup_printf ("%s\n%s", self->problem, tip);

      g_free (tip);
      tip = g_steal_pointer (&both);
    }
  wb_status_notifier_item_set_tool_tip (self->item,
                                        g_variant_new ("(s@a(iiay)ss)", ICON_NAME,
                                                       g_variant_new_array (G_VARIANT_TYPE ("(iiay)"), NULL, 0),
                                                       "Wrenchbell", tip));
  wb_status_notifier_item_emit_new_tool_tip (self->item);

  if (g_strcmp0 (wb_status_notifier_item_get_status (self->item), status) != 0)
    {
      wb_status_notifier_item_set_status (self->item, status);
      wb_status_notifier_item_emit_new_status (self->item, status);
    }

  if (count > 0 && self->flash && self->flash_id == 0)
    self->flash_id = g_timeout_add (FLASH_INTERVAL_MS, flash_cb, self);
  else if (count == 0 || !self->flash)
    {
      g_clear_handle_id (&self->flash_id, g_source_remove);
      self->flash_on = TRUE;
      wb_status_notifier_item_set_attention_icon_name (self->item, count == 0 && self->problem != NULL
                                                                   ? OFFLINE_ICON_NAME : ATTENTION_ICON_NAME);
      wb_status_notifier_item_emit_new_attention_icon (self->item);
    }

  emit_launcher_entry (self, count);

  title = count > 0 ? g_strdup_printf ("(%u) Wrenchbell", count) : g_strdup ("Wrenchbell");
  if (g_strcmp0 (self->title_count, title) != 0)
    {
      g_free (self->title_count);
      self->title_count = g_steal_pointer (&title);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TITLE_COUNT]);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PENDING_COUNT]);
    }
}

static void
complete_waiting (WbAlertTray *self)
{
  g_autoptr(GPtrArray) waiting = g_steal_pointer (&self->waiting);

  self->waiting = g_ptr_array_new_with_free_func (g_object_unref);
  if (self->registered)
    wb_alert_tier_tasks_return (waiting, NULL, WB_TIER_RESULT_OK, NULL);
  else
    wb_alert_tier_tasks_return (waiting, self->register_error,
                                WB_TIER_RESULT_SKIPPED, "no StatusNotifierWatcher");
}

static void
register_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr(WbAlertTray) self = user_data;
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GError) error = NULL;

  reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  g_clear_object (&self->register_cancellable);
  g_clear_error (&self->register_error);
  if (reply == NULL)
    {
      g_dbus_error_strip_remote_error (error);
      g_debug ("RegisterStatusNotifierItem failed: %s", error->message);
      g_prefix_error (&error, "StatusNotifierWatcher: ");
      self->register_error = g_steal_pointer (&error);
    }
  self->registered = reply != NULL;
  complete_waiting (self);
}

static void
on_watcher_appeared_cb (GDBusConnection *connection,
                        const char      *name,
                        const char      *owner,
                        gpointer         user_data)
{
  WbAlertTray *self = WB_ALERT_TRAY (user_data);

  /* A new watcher (host restarted, extension toggled) knows nothing of us: register again. */
  self->watch_known = TRUE;
  self->watcher_present = TRUE;
  self->registered = FALSE;
  g_cancellable_cancel (self->register_cancellable);
  g_clear_object (&self->register_cancellable);
  self->register_cancellable = g_cancellable_new ();
  g_dbus_connection_call (connection, name, "/StatusNotifierWatcher", WB_ALERT_TRAY_WATCHER,
                          "RegisterStatusNotifierItem",
                          g_variant_new ("(s)", g_dbus_connection_get_unique_name (connection)),
                          NULL, G_DBUS_CALL_FLAGS_NONE, 5000, self->register_cancellable,
                          register_cb, g_object_ref (self));
}

static void
on_watcher_vanished_cb (GDBusConnection *connection,
                        const char      *name,
                        gpointer         user_data)
{
  WbAlertTray *self = WB_ALERT_TRAY (user_data);

  self->watch_known = TRUE;
  self->watcher_present = FALSE;
  self->registered = FALSE;
  g_cancellable_cancel (self->register_cancellable);
  g_clear_object (&self->register_cancellable);
  g_clear_error (&self->register_error);
  complete_waiting (self);
}

static void
menu_activated_cb (const char *item,
                   gpointer    user_data)
{
  g_signal_emit (user_data, signals[SIGNAL_MENU_ACTIVATED], 0, item);
}

static gboolean
on_item_activate_cb (WbStatusNotifierItem  *item,
                     GDBusMethodInvocation *invocation,
                     int                    x,
                     int                    y,
                     WbAlertTray           *self)
{
  wb_status_notifier_item_complete_activate (item, invocation);
  g_signal_emit (self, signals[SIGNAL_MENU_ACTIVATED], 0, "show");
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
on_item_ignored_cb (WbStatusNotifierItem  *item,
                    GDBusMethodInvocation *invocation)
{
  /* SecondaryActivate, ContextMenu (the host uses our Menu), Scroll: nothing to do. */
  g_dbus_method_invocation_return_value (invocation, NULL);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static void
wb_alert_tray_fire (WbAlertTier         *tier,
                    const WbAlertRecord *record,
                    GTask               *task)
{
  WbAlertTray *self = WB_ALERT_TRAY (tier);

  /* Badge and title count work without any tray host, so update them first. An update only
   * changes text: it does not bring back an alert the mechanic already acknowledged. */
  if (record->kind != WB_ALERT_KIND_UPDATE)
    g_hash_table_add (self->pending, g_strdup (record->assignment_id));
  update_state (self);

  if (self->connection == NULL)
    wb_alert_tier_task_return (task, WB_TIER_RESULT_SKIPPED, "no session bus");
  else if (self->export_error != NULL)
    g_task_return_error (task, g_error_copy (self->export_error));
  else if (!self->watch_known)
    g_ptr_array_add (self->waiting, g_object_ref (task));   /* just started: ask first */
  else if (!self->watcher_present)
    wb_alert_tier_task_return (task, WB_TIER_RESULT_SKIPPED, "no StatusNotifierWatcher");
  else if (self->registered)
    wb_alert_tier_task_return (task, WB_TIER_RESULT_OK, NULL);
  else if (self->register_cancellable != NULL)
    g_ptr_array_add (self->waiting, g_object_ref (task));
  else if (self->register_error != NULL)
    g_task_return_error (task, g_error_copy (self->register_error));
  else
    wb_alert_tier_task_return (task, WB_TIER_RESULT_SKIPPED, "no StatusNotifierWatcher");
}

static void
wb_alert_tray_forget (WbAlertTier *tier,
                      const char  *assignment_id)
{
  WbAlertTray *self = WB_ALERT_TRAY (tier);

  if (g_hash_table_remove (self->pending, assignment_id))
    update_state (self);
}

static void
wb_alert_tray_acknowledge_all (WbAlertTier *tier)
{
  WbAlertTray *self = WB_ALERT_TRAY (tier);

  g_hash_table_remove_all (self->pending);
  update_state (self);
}

static WbTier
wb_alert_tray_get_tier (WbAlertTier *tier)
{
  return WB_TIER_TRAY;
}

static void
wb_alert_tray_tier_iface_init (WbAlertTierInterface *iface)
{
  iface->get_tier = wb_alert_tray_get_tier;
  iface->fire = wb_alert_tray_fire;
  iface->withdraw = wb_alert_tray_forget;
  iface->acknowledge = wb_alert_tray_forget;
  iface->acknowledge_all = wb_alert_tray_acknowledge_all;
}

guint
wb_alert_tray_get_pending_count (WbAlertTray *self)
{
  g_return_val_if_fail (WB_IS_ALERT_TRAY (self), 0);
  return g_hash_table_size (self->pending);
}

const char *
wb_alert_tray_get_title_count (WbAlertTray *self)
{
  g_return_val_if_fail (WB_IS_ALERT_TRAY (self), NULL);
  return self->title_count;
}

gboolean
wb_alert_tray_get_registered (WbAlertTray *self)
{
  g_return_val_if_fail (WB_IS_ALERT_TRAY (self), FALSE);
  return self->registered;
}

void
wb_alert_tray_set_problem (WbAlertTray *self,
                           const char  *problem)
{
  g_return_if_fail (WB_IS_ALERT_TRAY (self));

  if (g_strcmp0 (self->problem, problem) == 0)
    return;
  g_free (self->problem);
  self->problem = problem != NULL ? wb_alert_tier_clean_text (problem, 200) : NULL;
  update_state (self);
}

void
wb_alert_tray_set_flash (WbAlertTray *self,
                         gboolean     flash)
{
  g_return_if_fail (WB_IS_ALERT_TRAY (self));

  if (self->flash == !!flash)
    return;
  self->flash = !!flash;
  update_state (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_FLASH]);
}

WbAlertTray *
wb_alert_tray_new (GDBusConnection *connection)
{
  g_return_val_if_fail (connection == NULL || G_IS_DBUS_CONNECTION (connection), NULL);

  return g_object_new (WB_TYPE_ALERT_TRAY, "connection", connection, NULL);
}

static void
wb_alert_tray_constructed (GObject *object)
{
  WbAlertTray *self = WB_ALERT_TRAY (object);

  G_OBJECT_CLASS (wb_alert_tray_parent_class)->constructed (object);

  update_state (self);
  if (self->connection == NULL)
    return;

  if (!g_dbus_interface_skeleton_export (G_DBUS_INTERFACE_SKELETON (self->item), self->connection,
                                         WB_ALERT_TRAY_ITEM_PATH, &self->export_error))
    return;
  self->menu = wb_alert_tray_menu_new (self->connection, WB_ALERT_TRAY_MENU_PATH,
                                       menu_activated_cb, self, &self->export_error);
  if (self->menu == NULL)
    return;
  self->watch_id = g_bus_watch_name_on_connection (self->connection, WB_ALERT_TRAY_WATCHER,
                                                   G_BUS_NAME_WATCHER_FLAGS_NONE,
                                                   on_watcher_appeared_cb, on_watcher_vanished_cb,
                                                   self, NULL);
}

static void
wb_alert_tray_get_property (GObject    *object,
                            guint       prop_id,
                            GValue     *value,
                            GParamSpec *pspec)
{
  WbAlertTray *self = WB_ALERT_TRAY (object);

  switch (prop_id)
    {
    case PROP_PENDING_COUNT:
      g_value_set_uint (value, g_hash_table_size (self->pending));
      break;
    case PROP_TITLE_COUNT:
      g_value_set_string (value, self->title_count);
      break;
    case PROP_FLASH:
      g_value_set_boolean (value, self->flash);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
wb_alert_tray_set_property (GObject      *object,
                            guint         prop_id,
                            const GValue *value,
                            GParamSpec   *pspec)
{
  WbAlertTray *self = WB_ALERT_TRAY (object);

  switch (prop_id)
    {
    case PROP_FLASH:
      wb_alert_tray_set_flash (self, g_value_get_boolean (value));
      break;
    case N_PROPS:   /* construct-only "connection", see class_init */
      self->connection = g_value_dup_object (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
wb_alert_tray_dispose (GObject *object)
{
  WbAlertTray *self = WB_ALERT_TRAY (object);

  g_clear_handle_id (&self->watch_id, g_bus_unwatch_name);
  g_clear_handle_id (&self->flash_id, g_source_remove);
  g_cancellable_cancel (self->register_cancellable);
  g_clear_object (&self->register_cancellable);
  if (self->waiting != NULL)
    complete_waiting (self);
  g_clear_pointer (&self->menu, wb_alert_tray_menu_free);
  if (self->item != NULL
      && g_dbus_interface_skeleton_get_connection (G_DBUS_INTERFACE_SKELETON (self->item)) != NULL)
    g_dbus_interface_skeleton_unexport (G_DBUS_INTERFACE_SKELETON (self->item));
  if (self->connection != NULL && g_hash_table_size (self->pending) > 0)
    emit_launcher_entry (self, 0);
  g_clear_object (&self->item);
  g_clear_object (&self->connection);

  G_OBJECT_CLASS (wb_alert_tray_parent_class)->dispose (object);
}

static void
wb_alert_tray_finalize (GObject *object)
{
  WbAlertTray *self = WB_ALERT_TRAY (object);

  g_clear_error (&self->export_error);
  g_clear_error (&self->register_error);
  g_clear_pointer (&self->waiting, g_ptr_array_unref);
  g_hash_table_unref (self->pending);
  g_free (self->title_count);
  g_free (self->launcher_path);
  g_free (self->problem);

  G_OBJECT_CLASS (wb_alert_tray_parent_class)->finalize (object);
}

static void
wb_alert_tray_class_init (WbAlertTrayClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->constructed = wb_alert_tray_constructed;
  object_class->get_property = wb_alert_tray_get_property;
  object_class->set_property = wb_alert_tray_set_property;
  object_class->dispose = wb_alert_tray_dispose;
  object_class->finalize = wb_alert_tray_finalize;

  properties[PROP_PENDING_COUNT] =
    g_param_spec_uint ("pending-count", NULL, NULL, 0, G_MAXUINT, 0,
                       G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_TITLE_COUNT] =
    g_param_spec_string ("title-count", NULL, NULL, "Wrenchbell",
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_FLASH] =
    g_param_spec_boolean ("flash", NULL, NULL, TRUE,
                          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);
  g_object_class_install_property (object_class, N_PROPS,
                                   g_param_spec_object ("connection", NULL, NULL,
                                                        G_TYPE_DBUS_CONNECTION,
                                                        G_PARAM_WRITABLE | G_PARAM_CONSTRUCT_ONLY |
                                                        G_PARAM_STATIC_STRINGS));

  signals[SIGNAL_MENU_ACTIVATED] =
    g_signal_new ("menu-activated", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
}

static void
wb_alert_tray_init (WbAlertTray *self)
{
  g_autofree char *app_path = g_strdelimit (g_strdup ("/" APP_ID), ".", '/');

  self->flash = TRUE;
  self->flash_on = TRUE;
  self->pending = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->waiting = g_ptr_array_new_with_free_func (g_object_unref);
  self->launcher_path = g_strconcat (app_path, "/LauncherEntry", NULL);
  self->title_count = g_strdup ("Wrenchbell");

  self->item = wb_status_notifier_item_skeleton_new ();
  wb_status_notifier_item_set_category (self->item, "ApplicationStatus");
  wb_status_notifier_item_set_id (self->item, APP_ID);
  wb_status_notifier_item_set_title (self->item, "Wrenchbell");
  wb_status_notifier_item_set_status (self->item, "Active");
  wb_status_notifier_item_set_icon_name (self->item, ICON_NAME);
  wb_status_notifier_item_set_attention_icon_name (self->item, ATTENTION_ICON_NAME);
  wb_status_notifier_item_set_icon_theme_path (self->item, "");
  wb_status_notifier_item_set_overlay_icon_name (self->item, "");
  wb_status_notifier_item_set_attention_movie_name (self->item, "");
  wb_status_notifier_item_set_item_is_menu (self->item, FALSE);
  wb_status_notifier_item_set_menu (self->item, WB_ALERT_TRAY_MENU_PATH);
  wb_status_notifier_item_set_window_id (self->item, 0);
  {
    GVariant *empty = g_variant_new_array (G_VARIANT_TYPE ("(iiay)"), NULL, 0);

    g_variant_ref_sink (empty);
    wb_status_notifier_item_set_icon_pixmap (self->item, empty);
    wb_status_notifier_item_set_overlay_icon_pixmap (self->item, empty);
    wb_status_notifier_item_set_attention_icon_pixmap (self->item, empty);
    g_variant_unref (empty);
  }
  g_signal_connect_object (self->item, "handle-activate", G_CALLBACK (on_item_activate_cb), self, 0);
  g_signal_connect (self->item, "handle-secondary-activate", G_CALLBACK (on_item_ignored_cb), NULL);
  g_signal_connect (self->item, "handle-context-menu", G_CALLBACK (on_item_ignored_cb), NULL);
  g_signal_connect (self->item, "handle-scroll", G_CALLBACK (on_item_ignored_cb), NULL);
}
