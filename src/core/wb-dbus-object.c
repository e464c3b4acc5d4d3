/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-dbus-object.c: one object exported on a D-Bus connection, and taken off it again. */
#define G_LOG_DOMAIN "wb-dbus-object"

#include "config.h"

#include "wb-dbus-object.h"

/* Exports @vtable at @path on @connection, replacing an earlier export of @object. */
gboolean
wb_dbus_object_export (WbDBusObject                *object,
                       GDBusConnection             *connection,
                       const char                  *path,
                       GDBusInterfaceInfo          *interface_info,
                       const GDBusInterfaceVTable  *vtable,
                       gpointer                     user_data,
                       GError                     **error)
{
  g_return_val_if_fail (G_IS_DBUS_CONNECTION (connection), FALSE);

  wb_dbus_object_unexport (object);
  object->registration_id = g_dbus_connection_register_object (connection, path, interface_info,
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
