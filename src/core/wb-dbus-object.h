/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-dbus-object.h: one object exported on a D-Bus connection, and taken off it again — what the
 * status and accept services share. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct
{
  GDBusConnection *connection;       /* (owned) (nullable) while exported */
  guint            registration_id;  /* 0 when not exported */
} WbDBusObject;

gboolean wb_dbus_object_export   (WbDBusObject                *object,
                                  GDBusConnection             *connection,
                                  const char                  *path,
                                  GDBusInterfaceInfo          *interface_info,
                                  const GDBusInterfaceVTable  *vtable,
                                  gpointer                     user_data,
                                  GError                     **error);
void     wb_dbus_object_unexport (WbDBusObject                *object);

G_END_DECLS
