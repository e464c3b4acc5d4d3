/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-alert-toast.c: the in-window toast tier (AdwToast, with Accept). */

#define G_LOG_DOMAIN "wb-alert-toast"

#include "config.h"

#include "wb-alert-toast.h"

struct _WbAlertToast
{
  GObject          parent_instance;

  AdwToastOverlay *overlay;   /* (weak) (nullable) */
  GHashTable      *toasts;    /* assignment id → AdwToast (owned) while shown */
};

static void wb_alert_toast_tier_iface_init (WbAlertTierInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (WbAlertToast, wb_alert_toast, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (WB_TYPE_ALERT_TIER,
                                                      wb_alert_toast_tier_iface_init))

char *
wb_alert_toast_build_title (const WbAlertRecord *record)
{
  g_autofree char *plain = wb_alert_tier_describe (record);
  g_autofree char *text = NULL;
  g_autofree char *cut = NULL;

  text = g_strdup_printf ("%s — %s", record->urgent ? "Urgent request" : "New request", plain);
  cut = wb_alert_tier_clean_text (text, WB_ALERT_TOAST_MAX_CHARS);
  /* AdwToast titles are Pango markup: customer text must never be parsed as such. */
  return g_markup_escape_text (cut, -1);
}

static void
on_toast_dismissed_cb (AdwToast     *toast,
                       WbAlertToast *self)
{
  const char *id = g_object_get_data (G_OBJECT (toast), "wb-assignment-id");

  if (id != NULL && g_hash_table_lookup (self->toasts, id) == toast)
    g_hash_table_remove (self->toasts, id);
}

static gboolean
overlay_is_showing (AdwToastOverlay *overlay)
{
  GtkRoot *root;

  if (overlay == NULL || !gtk_widget_get_mapped (GTK_WIDGET (overlay)))
    return FALSE;
  root = gtk_widget_get_root (GTK_WIDGET (overlay));
  return root != NULL && gtk_widget_get_visible (GTK_WIDGET (root));
}

static void
wb_alert_toast_fire (WbAlertTier         *tier,
                     const WbAlertRecord *record,
                     GTask               *task)
{
  WbAlertToast *self = WB_ALERT_TOAST (tier);
  g_autofree char *title = NULL;
  AdwToast *toast;

  if (self->overlay == NULL)
    {
      wb_alert_tier_task_return (task, WB_TIER_RESULT_SKIPPED, "no window");
      return;
    }
  if (!overlay_is_showing (self->overlay))
    {
      wb_alert_tier_task_return (task, WB_TIER_RESULT_SKIPPED, "window not shown");
      return;
    }

  title = wb_alert_toast_build_title (record);
  toast = g_hash_table_lookup (self->toasts, record->assignment_id);
  if (toast != NULL && record->kind == WB_ALERT_KIND_UPDATE)
    {
      /* Still on screen: better text in place rather than a second toast. */
      adw_toast_set_title (toast, title);
      wb_alert_tier_task_return (task, WB_TIER_RESULT_OK, NULL);
      return;
    }
  if (toast != NULL)
    adw_toast_dismiss (toast);

  toast = adw_toast_new (title);
  adw_toast_set_priority (toast, record->urgent ? ADW_TOAST_PRIORITY_HIGH : ADW_TOAST_PRIORITY_NORMAL);
  adw_toast_set_timeout (toast, 10);
  /* The window's own action group (never on the bus): the mechanic takes the request from here.
   * A test alert is no request: nothing to take. */
  if (g_strcmp0 (record->source, "test") != 0)
    {
      adw_toast_set_button_label (toast, "Accept");
      adw_toast_set_action_name (toast, "wb.accept");
      adw_toast_set_action_target_value (toast, g_variant_new_string (record->assignment_id));
    }
  g_object_set_data_full (G_OBJECT (toast), "wb-assignment-id",
                          g_strdup (record->assignment_id), g_free);
  g_signal_connect_object (toast, "dismissed", G_CALLBACK (on_toast_dismissed_cb), self, 0);
  g_hash_table_replace (self->toasts, g_strdup (record->assignment_id), g_object_ref (toast));
  adw_toast_overlay_add_toast (self->overlay, toast);   /* (transfer full) */

  wb_alert_tier_task_return (task, WB_TIER_RESULT_OK, NULL);
}

static void
wb_alert_toast_withdraw (WbAlertTier *tier,
                         const char  *assignment_id)
{
  WbAlertToast *self = WB_ALERT_TOAST (tier);
  g_autoptr(AdwToast) toast = NULL;
  gpointer key = NULL;

  if (g_hash_table_steal_extended (self->toasts, assignment_id, &key, (gpointer *) &toast))
    {
      g_free (key);
      adw_toast_dismiss (toast);
    }
}

static WbTier
wb_alert_toast_get_tier (WbAlertTier *tier)
{
  return WB_TIER_TOAST;
}

static void
wb_alert_toast_tier_iface_init (WbAlertTierInterface *iface)
{
  iface->get_tier = wb_alert_toast_get_tier;
  iface->fire = wb_alert_toast_fire;
  iface->withdraw = wb_alert_toast_withdraw;
}

void
wb_alert_toast_set_overlay (WbAlertToast    *self,
                            AdwToastOverlay *overlay)
{
  g_return_if_fail (WB_IS_ALERT_TOAST (self));
  g_return_if_fail (overlay == NULL || ADW_IS_TOAST_OVERLAY (overlay));

  g_set_weak_pointer (&self->overlay, overlay);
}

AdwToastOverlay *
wb_alert_toast_get_overlay (WbAlertToast *self)
{
  g_return_val_if_fail (WB_IS_ALERT_TOAST (self), NULL);

  return self->overlay;
}

WbAlertToast *
wb_alert_toast_new (void)
{
  return g_object_new (WB_TYPE_ALERT_TOAST, NULL);
}

static void
wb_alert_toast_dispose (GObject *object)
{
  WbAlertToast *self = WB_ALERT_TOAST (object);

  g_clear_weak_pointer (&self->overlay);
  g_hash_table_remove_all (self->toasts);

  G_OBJECT_CLASS (wb_alert_toast_parent_class)->dispose (object);
}

static void
wb_alert_toast_finalize (GObject *object)
{
  WbAlertToast *self = WB_ALERT_TOAST (object);

  g_hash_table_unref (self->toasts);

  G_OBJECT_CLASS (wb_alert_toast_parent_class)->finalize (object);
}

static void
wb_alert_toast_class_init (WbAlertToastClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = wb_alert_toast_dispose;
  object_class->finalize = wb_alert_toast_finalize;
}

static void
wb_alert_toast_init (WbAlertToast *self)
{
  self->toasts = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
}
