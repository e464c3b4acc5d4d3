/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-status-service.c: the health figures of a running instance over D-Bus, and `wrenchbell
 * --status`. */

#define G_LOG_DOMAIN "wb-status-service"

#include "config.h"

#include "wb-status-service.h"
#include "wb-dbus-object.h"

struct _WbStatusService
{
  GObject          parent_instance;
  WbStatusFunc     func;
  gpointer         user_data;
  WbDBusObject     exported;
};

G_DEFINE_FINAL_TYPE (WbStatusService, wb_status_service, G_TYPE_OBJECT)

static const char introspection_xml[] =
  "<node>"
  "  <interface name='" WB_STATUS_INTERFACE "'>"
  "    <method name='GetStatus'>"
  "      <arg type='s' name='json' direction='out'/>"
  "    </method>"
  "  </interface>"
  "</node>";

static void
method_call_cb (GDBusConnection       *connection,
                const char            *sender,
                const char            *object_path,
                const char            *interface_name,
                const char            *method_name,
                GVariant              *parameters,
                GDBusMethodInvocation *invocation,
                gpointer               user_data)
{
  WbStatusService *self = user_data;

  if (g_strcmp0 (method_name, "GetStatus") == 0)
    {
      g_autofree char *json = self->func (self->user_data);

      g_dbus_method_invocation_return_value (invocation, g_variant_new ("(s)", json ? json : "{}"));
      return;
    }

  g_dbus_method_invocation_return_error (invocation, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_METHOD,
                                         "No such method %s", method_name);
}

static const GDBusInterfaceVTable vtable = { method_call_cb, NULL, NULL, { 0 } };

static void
wb_status_service_dispose (GObject *object)
{
  wb_status_service_unexport (WB_STATUS_SERVICE (object));
  G_OBJECT_CLASS (wb_status_service_parent_class)->dispose (object);
}

static void
wb_status_service_class_init (WbStatusServiceClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = wb_status_service_dispose;
}

static void
wb_status_service_init (WbStatusService *self)
{
}

WbStatusService *
wb_status_service_new (WbStatusFunc func,
                       gpointer     user_data)
{
  WbStatusService *self;

  g_return_val_if_fail (func != NULL, NULL);

  self = g_object_new (WB_TYPE_STATUS_SERVICE, NULL);
  self->func = func;
  self->user_data = user_data;
  return self;
}

gboolean
wb_status_service_export (WbStatusService  *self,
                          GDBusConnection  *connection,
                          GError          **error)
{
  g_return_val_if_fail (WB_IS_STATUS_SERVICE (self), FALSE);

  return wb_dbus_object_export (&self->exported, connection, WB_STATUS_OBJECT_PATH,
                                introspection_xml, &vtable, self, error);
}

void
wb_status_service_unexport (WbStatusService *self)
{
  wb_dbus_object_unexport (&self->exported);
}

char *
wb_status_query (GDBusConnection  *connection,
                 GError          **error)
{
  return wb_dbus_object_call_json (connection, WB_STATUS_OBJECT_PATH, WB_STATUS_INTERFACE, "GetStatus",
                                   NULL, 5000, error);
}
