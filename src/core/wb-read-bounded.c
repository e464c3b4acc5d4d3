/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-read-bounded.c: reading a whole file that must not be larger than a bound. */
#define G_LOG_DOMAIN "wb-read-bounded"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib/gstdio.h>

#include "wb-read-bounded.h"

/* Reads @path whole, but never more than @max bytes: a larger file fails with
 * G_IO_ERROR_MESSAGE_TOO_LARGE without being read (or growing memory while it grows). */
gboolean
wb_read_file_bounded (const char  *path,
                      gsize        max,
                      char       **contents,
                      gsize       *len,
                      GError     **error)
{
  g_autoptr(GByteArray) buf = NULL;
  struct stat st;
  int fd, saved;

  *contents = NULL;
  *len = 0;
  fd = g_open (path, O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0)
    goto failed;
  if (fstat (fd, &st) != 0)
    goto failed;
  if (st.st_size < 0 || (guint64) st.st_size > max)
    goto too_large;

  buf = g_byte_array_sized_new ((guint) st.st_size + 1);
  for (;;)
    {
      guint8 chunk[16 * 1024];
      gssize n = read (fd, chunk, MIN (sizeof chunk, max + 1 - buf->len));

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        goto failed;
      if (n == 0)
        break;
      g_byte_array_append (buf, chunk, (guint) n);
      if (buf->len > max)
        goto too_large;   /* it grew while we read it */
    }
  close (fd);
  *len = buf->len;
  g_byte_array_append (buf, (const guint8 *) "", 1);
  *contents = (char *) g_byte_array_free (g_steal_pointer (&buf), FALSE);
  return TRUE;

failed:
  saved = errno;
  if (fd >= 0)
    close (fd);
  g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved), "%s: %s", path,
               g_strerror (saved));
  return FALSE;

too_large:
  close (fd);
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE, "%s is larger than %" G_GSIZE_FORMAT
               " bytes", path, max);
  return FALSE;
}
