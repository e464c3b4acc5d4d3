/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-alert-log.c: the --alert-log file: one JSON object per line, appended and flushed as it
 * happens. */

#define G_LOG_DOMAIN "wb-alert-log"

#include "config.h"

#include <string.h>
#include <unistd.h>

#include "wb-alert-log.h"
#include "wb-line-file.h"

struct _WbAlertLog
{
  GObject  parent_instance;
  int      fd;
  char    *path;
};

G_DEFINE_FINAL_TYPE (WbAlertLog, wb_alert_log, G_TYPE_OBJECT)

static void
wb_alert_log_finalize (GObject *object)
{
  WbAlertLog *self = WB_ALERT_LOG (object);

  if (self->fd >= 0)
    close (self->fd);
  g_free (self->path);
  G_OBJECT_CLASS (wb_alert_log_parent_class)->finalize (object);
}

static void
wb_alert_log_class_init (WbAlertLogClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = wb_alert_log_finalize;
}

static void
wb_alert_log_init (WbAlertLog *self)
{
  self->fd = -1;
}

WbAlertLog *
wb_alert_log_new (const char  *path,
                  GError     **error)
{
  g_autoptr(WbAlertLog) self = NULL;

  g_return_val_if_fail (path != NULL, NULL);

  self = g_object_new (WB_TYPE_ALERT_LOG, NULL);
  self->path = g_strdup (path);
  /* Each line goes out in one write() and starts on a fresh line (see wb-line-file.c). */
  self->fd = wb_line_file_open (path, error);
  if (self->fd < 0)
    {
      g_prefix_error (error, "Alert log: ");
      return NULL;
    }

  return g_steal_pointer (&self);
}

gboolean
wb_alert_log_append (WbAlertLog          *self,
                     const WbAlertRecord *record,
                     GError             **error)
{
  g_autofree char *json = NULL;

  g_return_val_if_fail (WB_IS_ALERT_LOG (self), FALSE);

  json = wb_alert_record_to_json_line (record);
  if (!wb_line_file_append (self->fd, json, strlen (json), FALSE, error))
    {
      g_prefix_error (error, "Cannot write alert log %s: ", self->path);
      return FALSE;
    }
  return TRUE;
}
