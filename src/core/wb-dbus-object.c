/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-dbus-object.c: one object exported on a D-Bus connection and taken off it again, and the
 * client side's one call to it. */

#define G_LOG_DOMAIN "wb-dbus-object"

#include "config.h"

#include "wb-dbus-object.h"

/* Exports the first interface of @introspection_xml at @path on @connection, replacing an earlier
 * export of @object. */
gboolean
wb_dbus_object_export (WbDBusObject                *object,
                       GDBusConnection             *connection,
                       const char                  *path,
                       const char                  *introspection_xml,
                       const GDBusInterfaceVTable  *vtable,
                       gpointer                     user_data,
                       GError                     **error)
{
  g_autoptr(GDBusNodeInfo) node = NULL;

  g_return_val_if_fail (G_IS_DBUS_CONNECTION (connection), FALSE);

  wb_dbus_object_unexport (object);
  node = g_dbus_node_info_new_for_xml (introspection_xml, error);
  if (node == NULL)
    return FALSE;
  g_return_val_if_fail (node->interfaces != NULL && node->interfaces[0] != NULL, FALSE);
  /* The connection keeps its own reference to the interface's description. */
  object->registration_id = g_dbus_connection_register_object (connection, path, node->interfaces[0],
                                                               vtable, user_data, NULL, error);
  if (object->registration_id == 0)
    return FALSE;
  object->connection = g_object_ref (connection);
  return TRUE;
}

void
wb_dbus_object_unexport (WbDBusObject *object)
{
  if (object->registration_id != 0 && object->connection != NULL)
    g_dbus_connection_unregister_object (object->connection, object->registration_id);
  object->registration_id = 0;
  g_clear_object (&object->connection);
}

char *
wb_dbus_object_call_json (GDBusConnection  *connection,
                          const char       *path,
                          const char       *interface,
                          const char       *method,
                          GVariant         *parameters,
                          int               timeout_ms,
                          GError          **error)
{
  g_autoptr(GVariant) reply = NULL;
  char *json = NULL;

  g_return_val_if_fail (G_IS_DBUS_CONNECTION (connection), NULL);

  reply = g_dbus_connection_call_sync (connection, WB_BUS_NAME, path, interface, method,
                                       parameters, G_VARIANT_TYPE ("(s)"),
                                       G_DBUS_CALL_FLAGS_NO_AUTO_START, timeout_ms, NULL, error);
  if (reply == NULL)
    return NULL;
  g_variant_get (reply, "(s)", &json);
  return json;
}
