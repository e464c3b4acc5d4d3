/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-dedupe-journal.c: the dedupe set's write-ahead journal files: append, list, replay, delete. */
#define G_LOG_DOMAIN "wb-dedupe-set"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "wb-dedupe-codec-private.h"
#include "wb-dedupe-journal-private.h"
#include "wb-line-file.h"
#include "wb-read-bounded.h"

/* The dedupe set's write-ahead journal.
 *
 * The snapshot file is rewritten off the main thread, at most every 200 ms, so a crash (SIGKILL,
 * power loss of the session) right after an alert could forget that the alert rang, and the next
 * run would ring it again. So every change is also appended, before the alert fires, as one line
 * to `<path>.journal.<gen>` (one write(2) on an O_APPEND descriptor: it survives the process
 * dying; a worker thread's fdatasync () a moment later makes it survive the machine losing
 * power, without the main loop waiting for the disk). Each snapshot records the generation
 * it covers; taking one starts the next generation, and once a snapshot is on disk the journals
 * it covers are deleted. Loading replays the journals newer than the snapshot, in order; a torn
 * line is skipped, and the next record starts on a line of its own (wb-line-file.c). A journal
 * larger than the snapshot may be (a bug or tampering) is not read at all. */

char *
_wb_dedupe_journal_path (const char *path,
                         gint64      gen)
{
  return g_strdup_printf ("%s.journal.%" G_GINT64_FORMAT, path, gen);
}

void
_wb_dedupe_journal_append (int                  *fd,
                           const char           *path,
                           gint64                gen,
                           const char           *assignment_id,
                           const WbDedupeRecord *r)
{
  g_autoptr(GString) line = g_string_new (NULL);
  g_autoptr(GError) error = NULL;

  if (*fd < 0)
    {
      g_autofree char *jpath = _wb_dedupe_journal_path (path, gen);

      *fd = wb_line_file_open (jpath, &error);
      if (*fd < 0)
        {
          g_debug ("dedupe journal: %s", error->message);
          return;
        }
    }

  _wb_dedupe_journal_line_append (line, assignment_id, r);
  /* Written now; made durable by the set's worker (wb-dedupe-set.c, "journal durability"). */
  if (!wb_line_file_append (*fd, line->str, line->len, FALSE, &error))
    g_debug ("appending to the dedupe journal failed: %s", error->message);
}

static gint
compare_gen (gconstpointer a,
             gconstpointer b)
{
  gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;

  return (x > y) - (x < y);
}

/* The generations of the journals beside @path, ascending. */
GArray *
_wb_dedupe_journal_list (const char *path)
{
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *base = g_path_get_basename (path);
  g_autofree char *prefix = g_strconcat (base, ".journal.", NULL);
  GArray *gens = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;

  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    {
      guint64 gen;

      if (g_str_has_prefix (name, prefix)
          && g_ascii_string_to_unsigned (name + strlen (prefix), 10, 0, G_MAXINT64, &gen, NULL))
        {
          gint64 g = (gint64) gen;

          g_array_append_val (gens, g);
        }
    }
  g_array_sort (gens, compare_gen);
  return gens;
}

/* Replays one journal through @apply; returns the number of lines applied. */
guint
_wb_dedupe_journal_replay (const char         *path,
                           gint64              gen,
                           gint64              now_us,
                           WbDedupeJournalFunc apply,
                           gpointer            user_data)
{
  g_autofree char *jpath = _wb_dedupe_journal_path (path, gen);
  g_autofree char *contents = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) lines = NULL;
  gsize len = 0;
  guint n = 0;

  if (!wb_read_file_bounded (jpath, WB_DEDUPE_MAX_FILE_BYTES, &contents, &len, &error))
    {
      if (!g_error_matches (error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        g_debug ("dedupe journal %s not replayed: %s", jpath, error->message);
      return 0;
    }
  lines = g_strsplit (contents, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_autofree char *id = NULL;
      WbDedupeRecord r = { 0 };

      id = _wb_dedupe_journal_line_parse (lines[i], now_us, &r);
      if (id == NULL)
        continue;   /* empty, or a torn line from a crash mid-write */
      apply (id, &r, user_data);
      n++;
    }
  return n;
}

/* Deletes the journals beside @path up to and including generation @upto. */
void
_wb_dedupe_journal_delete_upto (const char *path,
                                gint64      upto)
{
  g_autoptr(GArray) gens = _wb_dedupe_journal_list (path);

  for (guint i = 0; i < gens->len; i++)
    {
      gint64 gen = g_array_index (gens, gint64, i);

      if (gen <= upto)
        {
          g_autofree char *jpath = _wb_dedupe_journal_path (path, gen);

          g_unlink (jpath);
        }
    }
}
