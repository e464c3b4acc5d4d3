/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-alert-log.h: the --alert-log file: one JSON object per line, appended and flushed as it
 * happens. */
#pragma once

#include <gio/gio.h>

#include "wb-alert-record.h"

G_BEGIN_DECLS

#define WB_TYPE_ALERT_LOG (wb_alert_log_get_type ())
G_DECLARE_FINAL_TYPE (WbAlertLog, wb_alert_log, WB, ALERT_LOG, GObject)

WbAlertLog *wb_alert_log_new    (const char          *path,
                                 GError             **error);
gboolean    wb_alert_log_append (WbAlertLog          *self,
                                 const WbAlertRecord *record,
                                 GError             **error);

G_END_DECLS
