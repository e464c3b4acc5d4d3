/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-alert-tray-menu.c: the tray's fixed com.canonical.dbusmenu menu (Show, Quit). */

#define G_LOG_DOMAIN "wb-alert-tray"

#include "config.h"

#include "wb-alert-tray-menu.h"
#include "wb-dbusmenu-generated.h"

/* A fixed menu; AppIndicator hosts render only com.canonical.dbusmenu menus and drop items without
 * one (field notes B1).
 *
 * Who may click: the host (GNOME's AppIndicator extension, KDE's plasmashell, …) calls Event on
 * behalf of the user, from its own bus connection, and nothing tells that call apart from the same
 * call made by any other process of the session. So the menu holds only what is harmless or what
 * the desktop may do anyway: Show (the window) and Quit (which GNOME's Background Apps asks for
 * through app.quit, exported for that reason). Muting — silencing the workstation for an hour —
 * is not in it: another process must not be able to do that without the user, so it stays in the
 * window's menu and the preferences, which only the user's own input reaches. */

typedef struct
{
  int         id;
  const char *item;    /* what menu-activated reports; NULL for a separator */
  const char *label;
} WbTrayMenuItem;

static const WbTrayMenuItem menu_items[] = {
  { 1, "show",    "Show Wrenchbell" },
  { 3, NULL,      NULL },
  { 4, "quit",    "Quit" },
};

struct _WbAlertTrayMenu
{
  WbDbusmenu               *skeleton;
  WbAlertTrayMenuActivated  activated;
  gpointer                  user_data;
};

static const WbTrayMenuItem *
find_item (int id)
{
  for (guint i = 0; i < G_N_ELEMENTS (menu_items); i++)
    if (menu_items[i].id == id)
      return &menu_items[i];
  return NULL;
}

static GVariant *
item_properties (const WbTrayMenuItem *item)
{
  GVariantBuilder b;

  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  if (item == NULL)
    g_variant_builder_add (&b, "{sv}", "children-display", g_variant_new_string ("submenu"));
  else if (item->item == NULL)
    g_variant_builder_add (&b, "{sv}", "type", g_variant_new_string ("separator"));
  else
    {
      g_variant_builder_add (&b, "{sv}", "label", g_variant_new_string (item->label));
      g_variant_builder_add (&b, "{sv}", "enabled", g_variant_new_boolean (TRUE));
      g_variant_builder_add (&b, "{sv}", "visible", g_variant_new_boolean (TRUE));
    }
  return g_variant_builder_end (&b);
}

static GVariant *
item_layout (const WbTrayMenuItem *item,
             gboolean        with_children)
{
  GVariantBuilder children;

  g_variant_builder_init (&children, G_VARIANT_TYPE ("av"));
  if (item == NULL && with_children)
    for (guint i = 0; i < G_N_ELEMENTS (menu_items); i++)
      g_variant_builder_add (&children, "v", item_layout (&menu_items[i], FALSE));
  return g_variant_new ("(i@a{sv}av)", item ? item->id : 0, item_properties (item), &children);
}

static gboolean
on_get_layout_cb (WbDbusmenu            *skeleton,
                  GDBusMethodInvocation *invocation,
                  int                    parent_id,
                  int                    depth,
                  const char * const    *names,
                  gpointer               user_data)
{
  const WbTrayMenuItem *item = parent_id == 0 ? NULL : find_item (parent_id);

  if (parent_id != 0 && item == NULL)
    g_dbus_method_invocation_return_error (invocation, G_DBUS_ERROR, G_DBUS_ERROR_INVALID_ARGS,
                                           "no menu item %d", parent_id);
  else
    wb_dbusmenu_complete_get_layout (skeleton, invocation, 1, item_layout (item, depth != 0));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
on_get_group_properties_cb (WbDbusmenu            *skeleton,
                            GDBusMethodInvocation *invocation,
                            GVariant              *ids,
                            const char * const    *names,
                            gpointer               user_data)
{
  GVariantBuilder b;
  GVariantIter iter;
  int id;

  g_variant_builder_init (&b, G_VARIANT_TYPE ("a(ia{sv})"));
  g_variant_iter_init (&iter, ids);
  while (g_variant_iter_next (&iter, "i", &id))
    if (id == 0 || find_item (id) != NULL)
      g_variant_builder_add (&b, "(i@a{sv})", id, item_properties (id == 0 ? NULL : find_item (id)));
  wb_dbusmenu_complete_get_group_properties (skeleton, invocation, g_variant_builder_end (&b));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
on_get_property_cb (WbDbusmenu            *skeleton,
                    GDBusMethodInvocation *invocation,
                    int                    id,
                    const char            *name,
                    gpointer               user_data)
{
  g_autoptr(GVariant) props = g_variant_ref_sink (item_properties (id == 0 ? NULL : find_item (id)));
  g_autoptr(GVariant) value = g_variant_lookup_value (props, name, NULL);

  if (value == NULL)
    g_dbus_method_invocation_return_error (invocation, G_DBUS_ERROR, G_DBUS_ERROR_INVALID_ARGS,
                                           "no property %s on item %d", name, id);
  else
    wb_dbusmenu_complete_get_property (skeleton, invocation, g_variant_new_variant (value));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static void
handle_event (WbAlertTrayMenu *self,
              int              id,
              const char      *event_id)
{
  const WbTrayMenuItem *item = find_item (id);

  if (item != NULL && item->item != NULL && g_str_equal (event_id, "clicked"))
    self->activated (item->item, self->user_data);
}

static gboolean
on_event_cb (WbDbusmenu            *skeleton,
             GDBusMethodInvocation *invocation,
             int                    id,
             const char            *event_id,
             GVariant              *data,
             guint                  timestamp,
             gpointer               user_data)
{
  /* Answer first: "quit" may tear everything down. */
  wb_dbusmenu_complete_event (skeleton, invocation);
  handle_event (user_data, id, event_id);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
on_event_group_cb (WbDbusmenu            *skeleton,
                   GDBusMethodInvocation *invocation,
                   GVariant              *events,
                   gpointer               user_data)
{
  GVariantBuilder errors;
  GVariantIter iter;
  const char *event_id;
  GVariant *data;
  guint timestamp;
  int id;
  g_autoptr(GArray) ids = g_array_new (FALSE, FALSE, sizeof (int));
  g_autoptr(GPtrArray) event_ids = g_ptr_array_new_with_free_func (g_free);

  g_variant_builder_init (&errors, G_VARIANT_TYPE ("ai"));
  g_variant_iter_init (&iter, events);
  while (g_variant_iter_next (&iter, "(i&svu)", &id, &event_id, &data, &timestamp))
    {
      if (find_item (id) == NULL)
        g_variant_builder_add (&errors, "i", id);
      g_array_append_val (ids, id);
      g_ptr_array_add (event_ids, g_strdup (event_id));
      g_variant_unref (data);
    }
  wb_dbusmenu_complete_event_group (skeleton, invocation, g_variant_builder_end (&errors));
  for (guint i = 0; i < ids->len; i++)
    handle_event (user_data, g_array_index (ids, int, i), g_ptr_array_index (event_ids, i));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
on_about_to_show_cb (WbDbusmenu            *skeleton,
                     GDBusMethodInvocation *invocation,
                     int                    id,
                     gpointer               user_data)
{
  wb_dbusmenu_complete_about_to_show (skeleton, invocation, FALSE);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
on_about_to_show_group_cb (WbDbusmenu            *skeleton,
                           GDBusMethodInvocation *invocation,
                           GVariant              *ids,
                           gpointer               user_data)
{
  wb_dbusmenu_complete_about_to_show_group (skeleton, invocation,
                                            g_variant_new_array (G_VARIANT_TYPE_INT32, NULL, 0),
                                            g_variant_new_array (G_VARIANT_TYPE_INT32, NULL, 0));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

WbAlertTrayMenu *
wb_alert_tray_menu_new (GDBusConnection           *connection,
                        const char                *object_path,
                        WbAlertTrayMenuActivated   activated,
                        gpointer                   user_data,
                        GError                   **error)
{
  g_autoptr(WbAlertTrayMenu) self = g_new0 (WbAlertTrayMenu, 1);
  const char *no_paths[] = { NULL };

  self->activated = activated;
  self->user_data = user_data;
  self->skeleton = wb_dbusmenu_skeleton_new ();
  wb_dbusmenu_set_version (self->skeleton, 3);
  wb_dbusmenu_set_text_direction (self->skeleton, "ltr");
  wb_dbusmenu_set_status (self->skeleton, "normal");
  wb_dbusmenu_set_icon_theme_path (self->skeleton, no_paths);

  g_signal_connect (self->skeleton, "handle-get-layout", G_CALLBACK (on_get_layout_cb), self);
  g_signal_connect (self->skeleton, "handle-get-group-properties",
                    G_CALLBACK (on_get_group_properties_cb), self);
  g_signal_connect (self->skeleton, "handle-get-property", G_CALLBACK (on_get_property_cb), self);
  g_signal_connect (self->skeleton, "handle-event", G_CALLBACK (on_event_cb), self);
  g_signal_connect (self->skeleton, "handle-event-group", G_CALLBACK (on_event_group_cb), self);
  g_signal_connect (self->skeleton, "handle-about-to-show", G_CALLBACK (on_about_to_show_cb), self);
  g_signal_connect (self->skeleton, "handle-about-to-show-group",
                    G_CALLBACK (on_about_to_show_group_cb), self);

  if (!g_dbus_interface_skeleton_export (G_DBUS_INTERFACE_SKELETON (self->skeleton), connection,
                                         object_path, error))
    return NULL;
  return g_steal_pointer (&self);
}

void
wb_alert_tray_menu_free (WbAlertTrayMenu *self)
{
  if (self == NULL)
    return;

  if (self->skeleton != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->skeleton, self);
      if (g_dbus_interface_skeleton_get_connection (G_DBUS_INTERFACE_SKELETON (self->skeleton)))
        g_dbus_interface_skeleton_unexport (G_DBUS_INTERFACE_SKELETON (self->skeleton));
      g_clear_object (&self->skeleton);
    }
  g_free (self);
}
