/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-accept-service.h: `wrenchbell --accept ASSIGNMENT_ID` — the running instance (window or
 * headless) takes the request for whoever asks over D-Bus, if they run as the same user. */
#pragma once

#include <gio/gio.h>

#include "wb-pipeline.h"

G_BEGIN_DECLS

#define WB_ACCEPT_OBJECT_PATH "/io/github/wrenchbell/Wrenchbell/Accept"
#define WB_ACCEPT_INTERFACE   "io.github.wrenchbell.Wrenchbell.Accept"
/* The D-Bus error for a caller of another user. */
#define WB_ACCEPT_ERROR_ACCESS_DENIED "org.freedesktop.DBus.Error.AccessDenied"

/* Where the dashboard URL template comes from (the dashboard-url setting or the environment):
 * returns a newly allocated template or NULL. */
typedef char *(*WbDashboardUrlFunc) (gpointer user_data);

#define WB_TYPE_ACCEPT_SERVICE (wb_accept_service_get_type ())
G_DECLARE_FINAL_TYPE (WbAcceptService, wb_accept_service, WB, ACCEPT_SERVICE, GObject)

WbAcceptService *wb_accept_service_new          (WbDashboardUrlFunc  dashboard_func,
                                                 gpointer            user_data);
/* (nullable) the window app builds its pipeline after the bus name is taken: "not ready" till then. */
void             wb_accept_service_set_pipeline (WbAcceptService    *self,
                                                 WbPipeline         *pipeline);
gboolean         wb_accept_service_export       (WbAcceptService    *self,
                                                 GDBusConnection    *connection,
                                                 GError            **error);
void             wb_accept_service_unexport     (WbAcceptService    *self);

/* For the `--accept` command-line client: the outcome as JSON text (see WbAcceptOutcome, plus
 * "dashboard_url"). Blocks up to a minute: not for a main loop that must stay responsive. */
char            *wb_accept_service_call         (GDBusConnection    *connection,
                                                 const char         *assignment_id,
                                                 GError            **error);

G_END_DECLS
