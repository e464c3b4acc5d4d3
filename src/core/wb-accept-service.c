/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-accept-service.c: `wrenchbell --accept ASSIGNMENT_ID` — the running instance (window or
 * headless) takes the request for whoever asks over D-Bus, if they run as the same user. */

#define G_LOG_DOMAIN "wb-accept-service"

#include "config.h"

#include <unistd.h>

#include "wb-accept-service.h"
#include "wb-dbus-object.h"
#include "wb-status-service.h"

/* Taking a request is a write in the backend done with the mechanic's own session, so only the
 * mechanic may ask for it: the service asks the bus daemon for the caller's credentials and
 * serves only callers of the same uid (a session bus can be reachable by others: TCP, a shared
 * X11 session, a misconfigured policy). The app's exported GActions are not a way in either:
 * accept lives in an action group that is not on the bus (see wb-application-actions.c). */

#define CALL_TIMEOUT_MS 60000   /* an accept retries briefly; never leave the caller hanging */

struct _WbAcceptService
{
  GObject             parent_instance;
  WbDashboardUrlFunc  dashboard_func;
  gpointer            user_data;
  WbPipeline         *pipeline;       /* (owned) (nullable) */
  WbDBusObject        exported;       /* the bus object while exported */
};

G_DEFINE_FINAL_TYPE (WbAcceptService, wb_accept_service, G_TYPE_OBJECT)

static const char introspection_xml[] =
  "<node>"
  "  <interface name='" WB_ACCEPT_INTERFACE "'>"
  "    <method name='Accept'>"
  "      <arg type='s' name='assignment_id' direction='in'/>"
  "      <arg type='s' name='json' direction='out'/>"
  "    </method>"
  "  </interface>"
  "</node>";

typedef struct
{
  WbAcceptService       *self;        /* (owned) */
  GDBusMethodInvocation *invocation;  /* (owned) */
  char                  *assignment_id;
} WbAcceptRequest;

static void
request_free (WbAcceptRequest *req)
{
  g_clear_object (&req->self);
  g_clear_object (&req->invocation);
  g_free (req->assignment_id);
  g_free (req);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (WbAcceptRequest, request_free)

static void
return_json (GDBusMethodInvocation *invocation,
             JsonNode              *node)
{
  g_autofree char *json = json_to_string (node, FALSE);

  g_dbus_method_invocation_return_value (invocation, g_variant_new ("(s)", json));
}

static void
return_failed (GDBusMethodInvocation *invocation,
               const char            *assignment_id,
               const char            *message)
{
  g_autoptr(WbAcceptOutcome) o = g_new0 (WbAcceptOutcome, 1);
  g_autoptr(JsonNode) node = NULL;

  o->result = WB_ACCEPT_FAILED;
  o->assignment_id = g_strdup (assignment_id);
  o->message = g_strdup (message);
  node = wb_accept_outcome_to_json (o);
  return_json (invocation, node);
}

static void
accepted_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr(WbAcceptRequest) req = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(WbAcceptOutcome) outcome = wb_pipeline_accept_finish (WB_PIPELINE (source), result, &error);
  g_autoptr(JsonNode) node = NULL;
  g_autofree char *template_ = NULL;
  g_autofree char *url = NULL;

  if (outcome == NULL)
    {
      return_failed (req->invocation, req->assignment_id, error->message);
      return;
    }
  node = wb_accept_outcome_to_json (outcome);
  if (outcome->result == WB_ACCEPT_WON && req->self->dashboard_func != NULL)
    {
      template_ = req->self->dashboard_func (req->self->user_data);
      url = wb_accept_dashboard_url (template_, outcome->session_id, outcome->assignment_id);
    }
  if (url != NULL)
    json_object_set_string_member (json_node_get_object (node), "dashboard_url", url);
  else
    json_object_set_null_member (json_node_get_object (node), "dashboard_url");
  return_json (req->invocation, node);
}

static void
credentials_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(WbAcceptRequest) req = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &error);
  g_autoptr(GVariant) credentials = NULL;
  guint32 uid = 0;

  if (reply != NULL)
    credentials = g_variant_get_child_value (reply, 0);
  if (credentials == NULL || !g_variant_lookup (credentials, "UnixUserID", "u", &uid) || uid != getuid ())
    {
      g_debug ("refused an accept from %s: %s", g_dbus_method_invocation_get_sender (req->invocation),
               error != NULL ? error->message : "another user");
      g_dbus_method_invocation_return_dbus_error (req->invocation, WB_ACCEPT_ERROR_ACCESS_DENIED,
                                                  "Only the user running Wrenchbell may take requests");
      return;
    }
  if (req->self->pipeline == NULL)
    {
      return_failed (req->invocation, req->assignment_id, "Wrenchbell is still starting");
      return;
    }
  {
    WbPipeline *pipeline = req->self->pipeline;
    const char *id = req->assignment_id;

    wb_pipeline_accept_async (pipeline, id, NULL, accepted_cb, g_steal_pointer (&req));
  }
}

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
  WbAcceptService *self = user_data;
  WbAcceptRequest *req;

  if (g_strcmp0 (method_name, "Accept") != 0)
    {
      g_dbus_method_invocation_return_error (invocation, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_METHOD,
                                             "No such method %s", method_name);
      return;
    }
  if (sender == NULL)
    {
      g_dbus_method_invocation_return_dbus_error (invocation, WB_ACCEPT_ERROR_ACCESS_DENIED,
                                                  "Only callers on the session bus");
      return;
    }

  req = g_new0 (WbAcceptRequest, 1);
  req->self = g_object_ref (self);
  req->invocation = g_object_ref (invocation);
  g_variant_get (parameters, "(s)", &req->assignment_id);
  /* Who is asking: the bus daemon knows, the message itself proves nothing. */
  g_dbus_connection_call (connection, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                          "org.freedesktop.DBus", "GetConnectionCredentials",
                          g_variant_new ("(s)", sender), G_VARIANT_TYPE ("(a{sv})"),
                          G_DBUS_CALL_FLAGS_NONE, 5000, NULL, credentials_cb, req);
}

static const GDBusInterfaceVTable vtable = { method_call_cb, NULL, NULL, { 0 } };

void
wb_accept_service_set_pipeline (WbAcceptService *self,
                                WbPipeline      *pipeline)
{
  g_return_if_fail (WB_IS_ACCEPT_SERVICE (self));

  g_set_object (&self->pipeline, pipeline);
}

gboolean
wb_accept_service_export (WbAcceptService  *self,
                          GDBusConnection  *connection,
                          GError          **error)
{
  g_return_val_if_fail (WB_IS_ACCEPT_SERVICE (self), FALSE);

  return wb_dbus_object_export (&self->exported, connection, WB_ACCEPT_OBJECT_PATH,
                                introspection_xml, &vtable, self, error);
}

void
wb_accept_service_unexport (WbAcceptService *self)
{
  wb_dbus_object_unexport (&self->exported);
}

char *
wb_accept_service_call (GDBusConnection  *connection,
                        const char       *assignment_id,
                        GError          **error)
{
  return wb_dbus_object_call_json (connection, WB_ACCEPT_OBJECT_PATH, WB_ACCEPT_INTERFACE, "Accept",
                                   g_variant_new ("(s)", assignment_id), CALL_TIMEOUT_MS, error);
}

static void
wb_accept_service_dispose (GObject *object)
{
  WbAcceptService *self = WB_ACCEPT_SERVICE (object);

  wb_accept_service_unexport (self);
  g_clear_object (&self->pipeline);
  G_OBJECT_CLASS (wb_accept_service_parent_class)->dispose (object);
}

static void
wb_accept_service_class_init (WbAcceptServiceClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = wb_accept_service_dispose;
}

static void
wb_accept_service_init (WbAcceptService *self)
{
}

WbAcceptService *
wb_accept_service_new (WbDashboardUrlFunc dashboard_func,
                       gpointer           user_data)
{
  WbAcceptService *self = g_object_new (WB_TYPE_ACCEPT_SERVICE, NULL);

  self->dashboard_func = dashboard_func;
  self->user_data = user_data;
  return self;
}
