/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-status-service.h: the health figures of a running instance over D-Bus, and `wrenchbell
 * --status`. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define WB_STATUS_OBJECT_PATH "/io/github/wrenchbell/Wrenchbell/Status"
#define WB_STATUS_INTERFACE   "io.github.wrenchbell.Wrenchbell.Status"

/* Returns a newly allocated JSON text of the current figures. */
typedef char *(*WbStatusFunc) (gpointer user_data);

#define WB_TYPE_STATUS_SERVICE (wb_status_service_get_type ())
G_DECLARE_FINAL_TYPE (WbStatusService, wb_status_service, WB, STATUS_SERVICE, GObject)

WbStatusService *wb_status_service_new      (WbStatusFunc      func,
                                             gpointer          user_data);
gboolean         wb_status_service_export   (WbStatusService  *self,
                                             GDBusConnection  *connection,
                                             GError          **error);
void             wb_status_service_unexport (WbStatusService  *self);

/* For the `--status` command-line client: not for use on a main loop that must stay responsive. */
char            *wb_status_query            (GDBusConnection  *connection,
                                             GError          **error);

G_END_DECLS
