/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-dbus-object.h: one object exported on a D-Bus connection and taken off it again, and the
 * client side's one call to it — what the status and accept services share. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* The name a running instance (window or headless) owns on the session bus. */
#define WB_BUS_NAME "io.github.wrenchbell.Wrenchbell"

typedef struct
{
  GDBusConnection *connection;       /* (owned) (nullable) while exported */
  guint            registration_id;  /* 0 when not exported */
} WbDBusObject;

gboolean wb_dbus_object_export    (WbDBusObject                *object,
                                   GDBusConnection             *connection,
                                   const char                  *path,
                                   const char                  *introspection_xml,
                                   const GDBusInterfaceVTable  *vtable,
                                   gpointer                     user_data,
                                   GError                     **error);
void     wb_dbus_object_unexport  (WbDBusObject                *object);

/* Calls @method of the running instance's @interface at @path (never starting one) and returns
 * its one string answer, the JSON both services reply with. */
char    *wb_dbus_object_call_json (GDBusConnection             *connection,
                                   const char                  *path,
                                   const char                  *interface,
                                   const char                  *method,
                                   GVariant                    *parameters,
                                   int                          timeout_ms,
                                   GError                     **error);

G_END_DECLS
