#define G_LOG_DOMAIN "wb-alert-log"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "wb-alert-log.h"

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
  g_autofree char *dir = NULL;

  g_return_val_if_fail (path != NULL, NULL);

  dir = g_path_get_dirname (path);
  g_mkdir_with_parents (dir, 0700);

  self = g_object_new (WB_TYPE_ALERT_LOG, NULL);
  self->path = g_strdup (path);
  /* O_APPEND: each line goes out in one write(), so readers never see half a record. */
  self->fd = g_open (path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (self->fd < 0)
    {
      int saved = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   "Cannot open alert log %s: %s", path, g_strerror (saved));
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
  g_autofree char *line = NULL;
  gsize len, done = 0;

  g_return_val_if_fail (WB_IS_ALERT_LOG (self), FALSE);

  json = wb_alert_record_to_json_line (record);
  line = g_strconcat (json, "\n", NULL);
  len = strlen (line);
  while (done < len)
    {
      gssize n = write (self->fd, line + done, len - done);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          int saved = errno;

          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                       "Cannot write alert log: %s", g_strerror (saved));
          return FALSE;
        }
      done += n;
    }
  return TRUE;
}
