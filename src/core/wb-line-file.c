/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-line-file.c: append-only files of one record per line (the alert log, the dedupe journal). */

#define G_LOG_DOMAIN "wb-line-file"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib/gstdio.h>

#include "wb-line-file.h"

/* Append-only line files: private to the user (0600 in a 0700 directory, whatever the umask),
 * one write(2) per record on an O_APPEND descriptor, and every record starts on a fresh line,
 * so a record torn by a full disk or a crash never swallows the next one. */

/* Returns a descriptor (O_APPEND, readable so the last byte can be checked), or -1. */
int
wb_line_file_open (const char  *path,
                   GError     **error)
{
  g_autofree char *dir = g_path_get_dirname (path);
  int fd;

  g_mkdir_with_parents (dir, 0700);
  fd = g_open (path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0)
    {
      int saved = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), "Cannot open %s: %s", path,
                   g_strerror (saved));
    }
  return fd;
}

/* Whether the file does not end with a newline (something was torn off mid-record). */
static gboolean
ends_mid_line (int fd)
{
  struct stat st;
  char last = '\n';

  if (fstat (fd, &st) != 0 || st.st_size == 0)
    return FALSE;
  if (pread (fd, &last, 1, st.st_size - 1) != 1)
    return FALSE;
  return last != '\n';
}

/* Appends @line (without its newline) as one record: one write, preceded by a newline when the
 * file ends mid-line, followed by fdatasync () when @sync. */
gboolean
wb_line_file_append (int          fd,
                     const char  *line,
                     gsize        len,
                     gboolean     sync,
                     GError     **error)
{
  g_autoptr(GString) record = g_string_sized_new (len + 2);
  gsize done = 0;

  if (ends_mid_line (fd))
    g_string_append_c (record, '\n');
  g_string_append_len (record, line, len);
  g_string_append_c (record, '\n');

  while (done < record->len)
    {
      gssize n = write (fd, record->str + done, record->len - done);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        {
          int saved = n < 0 ? errno : ENOSPC;

          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), "%s", g_strerror (saved));
          return FALSE;
        }
      done += n;
    }
  if (sync && fdatasync (fd) != 0)
    {
      int saved = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), "%s", g_strerror (saved));
      return FALSE;
    }
  return TRUE;
}
