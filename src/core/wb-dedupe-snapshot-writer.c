/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-dedupe-snapshot-writer.c: writes the dedupe set's snapshot atomically and durably, off the
 * main thread, then deletes the journals it covers. */
#define G_LOG_DOMAIN "wb-dedupe-set"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib/gstdio.h>

#include "wb-dedupe-journal-private.h"
#include "wb-dedupe-snapshot-writer-private.h"

/* The file is written off the main thread: the main loop hands the newest serialised text to a
 * short-lived writer thread, which writes until nothing newer is pending. */
struct _WbDedupeWriter
{
  GMutex   lock;
  GCond    cond;
  char    *path;
  char    *pending;      /* (owned) (nullable) newest text not yet written */
  gsize    pending_len;
  gint64   pending_covered;   /* journals up to this generation are in the pending text */
  gboolean running;
  guint    n_writes;
};

WbDedupeWriter *
_wb_dedupe_writer_new (const char *path)
{
  WbDedupeWriter *w = g_atomic_rc_box_new0 (WbDedupeWriter);

  g_mutex_init (&w->lock);
  g_cond_init (&w->cond);
  w->path = g_strdup (path);
  return w;
}

guint
_wb_dedupe_writer_get_n_writes (WbDedupeWriter *w)
{
  return (guint) g_atomic_int_get (&w->n_writes);
}

static void
writer_clear (gpointer data)
{
  WbDedupeWriter *w = data;

  g_mutex_clear (&w->lock);
  g_cond_clear (&w->cond);
  g_free (w->path);
  g_free (w->pending);
}

/* Makes a rename in @dir survive a power loss. */
static void
sync_dir (const char *dir)
{
  int fd = g_open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);

  if (fd < 0)
    return;
  if (fsync (fd) != 0)
    g_debug ("fsync of %s failed: %s", dir, g_strerror (errno));
  close (fd);
}

/* Atomically and durably: a temporary file (0600, like the journal, whatever the umask), written
 * and synced, renamed over the snapshot, then the directory synced so the rename itself lasts. */
gboolean
_wb_dedupe_writer_write (WbDedupeWriter  *w,
                         const char      *contents,
                         gsize            len,
                         GError         **error)
{
  g_autofree char *dir = g_path_get_dirname (w->path);

  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      int saved = errno;
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved),
                   "cannot create %s: %s", dir, g_strerror (saved));
      return FALSE;
    }
  if (!g_file_set_contents_full (w->path, contents, len,
                                 G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE,
                                 0600, error))
    return FALSE;
  sync_dir (dir);
  g_atomic_int_inc (&w->n_writes);
  return TRUE;
}

void
_wb_dedupe_writer_release (WbDedupeWriter *w)
{
  g_atomic_rc_box_release_full (w, writer_clear);
}

static gpointer
writer_thread (gpointer data)
{
  WbDedupeWriter *w = data;

  for (;;)
    {
      g_autofree char *contents = NULL;
      g_autoptr(GError) error = NULL;
      gsize len;
      gint64 covered;

      g_mutex_lock (&w->lock);
      contents = g_steal_pointer (&w->pending);
      len = w->pending_len;
      covered = w->pending_covered;
      if (contents == NULL)
        {
          w->running = FALSE;
          g_cond_broadcast (&w->cond);
          g_mutex_unlock (&w->lock);
          break;
        }
      g_mutex_unlock (&w->lock);

      if (!_wb_dedupe_writer_write (w, contents, len, &error))
        g_debug ("saving the dedupe set failed: %s", error->message);
      else
        _wb_dedupe_journal_delete_upto (w->path, covered);
    }

  _wb_dedupe_writer_release (w);
  return NULL;
}

/* The text and the generation it covers are handed over together, under one lock: a writer that
 * paired an older text with a newer generation would delete journals that text lacks. */
void
_wb_dedupe_writer_submit (WbDedupeWriter *w,
                          char           *contents,
                          gsize           len,
                          gint64          covered)
{
  g_mutex_lock (&w->lock);
  g_free (w->pending);
  w->pending = contents;
  w->pending_len = len;
  w->pending_covered = covered;
  if (!w->running)
    {
      GThread *thread;

      w->running = TRUE;
      thread = g_thread_try_new ("wb-dedupe-save", writer_thread,
                                 g_atomic_rc_box_acquire (w), NULL);
      if (thread == NULL)
        {
          /* No thread: write here, the file is small. */
          g_autoptr(GError) error = NULL;

          _wb_dedupe_writer_release (w);
          contents = g_steal_pointer (&w->pending);
          w->running = FALSE;
          if (!_wb_dedupe_writer_write (w, contents, len, &error))
            g_debug ("saving the dedupe set failed: %s", error->message);
          else
            _wb_dedupe_journal_delete_upto (w->path, w->pending_covered);
          g_free (contents);
        }
      else
        g_thread_unref (thread);
    }
  g_mutex_unlock (&w->lock);
}

void
_wb_dedupe_writer_wait (WbDedupeWriter *w)
{
  g_mutex_lock (&w->lock);
  while (w->running)
    g_cond_wait (&w->cond, &w->lock);
  g_mutex_unlock (&w->lock);
}

