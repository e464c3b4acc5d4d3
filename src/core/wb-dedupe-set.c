/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-dedupe-set.c: the storage of the dedupe state (records, journal, snapshot), not the dedupe
 * rules: those are in wb-event-merger.c. */
#define G_LOG_DOMAIN "wb-dedupe-set"

#include "config.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "wb-dedupe-codec-private.h"
#include "wb-dedupe-journal-private.h"
#include "wb-dedupe-set.h"
#include "wb-dedupe-snapshot-writer-private.h"
#include "wb-read-bounded.h"

/* The set keeps the records and orchestrates their storage: the text formats are in
 * wb-dedupe-codec.c, the write-ahead journal in wb-dedupe-journal.c, the snapshot writer thread
 * in wb-dedupe-snapshot-writer.c. */

struct _WbDedupeSet
{
  GObject     parent_instance;

  char       *path;          /* (nullable) NULL: never persisted */
  GHashTable *records;       /* id (owned) → WbDedupeRecord (owned) */
  guint       max_entries;
  gint64      max_age_us;
  gint64      last_now_us;
  gboolean    recovered_from_corruption;
  gboolean    dirty;
  gint64      last_write_mono_us;
  GSource    *save_source;
  WbDedupeWriter *writer;        /* (owned) (nullable) rc box */
  int         journal_fd;        /* -1 until the first change of this generation */
  gint64      journal_gen;       /* generation changes are appended to now */
  gint64      covered_gen;       /* journals up to this one are in the snapshot (-1: none) */
  gboolean    loading;           /* a load runs in a worker thread: no changes until it is done */
  GArray     *unsynced_fds;      /* int: journal descriptors written since their last fdatasync */
  gboolean    journal_queued;    /* a copy of journal_fd is in unsynced_fds */
  gboolean    syncing;           /* a worker thread runs fdatasync () on a copy of them */
  guint       n_journal_syncs;   /* sync rounds completed */
};

G_DEFINE_FINAL_TYPE (WbDedupeSet, wb_dedupe_set, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_PATH,
  PROP_RECOVERED_FROM_CORRUPTION,
  N_PROPS,
};

static GParamSpec *properties[N_PROPS];

/* Sticky: a later load of the (now absent) file must not hide that one was thrown away. */
static void
set_recovered (WbDedupeSet *self)
{
  if (self->recovered_from_corruption)
    return;
  self->recovered_from_corruption = TRUE;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RECOVERED_FROM_CORRUPTION]);
}

/* ---- journal durability ---- */

/* A journal line is written (write(2)) before whatever rings because of it, so it survives the
 * process dying. Making it survive a power cut as well (fdatasync ()) costs milliseconds of disk
 * wait: that runs in a worker thread, one call for everything written meanwhile, so a burst of
 * changes costs a few syncs and the main loop never waits for the disk. A power cut in that
 * window can only make the next run ring a request a second time, never lose one (the rule of
 * wb-pipeline-episodes.c: better twice than never). */

static void
sync_fds (GArray *fds)
{
  for (guint i = 0; i < fds->len; i++)
    {
      int fd = g_array_index (fds, int, i);

      if (fdatasync (fd) != 0)
        g_debug ("fdatasync of the dedupe journal failed: %s", g_strerror (errno));
      close (fd);
    }
}

static void
sync_thread (GTask        *task,
             gpointer      source,
             gpointer      task_data,
             GCancellable *cancellable)
{
  sync_fds (task_data);
  g_task_return_boolean (task, TRUE);
}

static void start_sync (WbDedupeSet *self);

static void
weak_ref_free (GWeakRef *ref)
{
  g_weak_ref_clear (ref);
  g_free (ref);
}

/* The worker does not keep the set alive: a set finalized meanwhile synced the rest itself. */
static void
sync_done_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(WbDedupeSet) self = g_weak_ref_get (user_data);

  weak_ref_free (user_data);
  if (self == NULL)
    return;
  self->syncing = FALSE;
  self->n_journal_syncs++;
  if (self->unsynced_fds != NULL && self->unsynced_fds->len > 0)
    start_sync (self);
}

/* Hands the worker a copy of every descriptor written since its last sync. */
static void
start_sync (WbDedupeSet *self)
{
  g_autoptr(GTask) task = NULL;
  GArray *fds = g_steal_pointer (&self->unsynced_fds);
  GWeakRef *ref = g_new0 (GWeakRef, 1);

  self->unsynced_fds = g_array_new (FALSE, FALSE, sizeof (int));
  self->journal_queued = FALSE;
  self->syncing = TRUE;
  g_weak_ref_init (ref, self);
  task = g_task_new (NULL, NULL, sync_done_cb, ref);
  g_task_set_source_tag (task, start_sync);
  g_task_set_task_data (task, fds, (GDestroyNotify) g_array_unref);
  g_task_run_in_thread (task, sync_thread);
}

static void
note_unsynced (WbDedupeSet *self,
               int          fd)
{
  if (self->unsynced_fds == NULL)
    self->unsynced_fds = g_array_new (FALSE, FALSE, sizeof (int));
  g_array_append_val (self->unsynced_fds, fd);
}

static void
journal_written (WbDedupeSet *self)
{
  if (self->journal_fd < 0)
    return;
  if (!self->journal_queued)
    {
      int fd = dup (self->journal_fd);

      if (fd < 0)
        {
          g_debug ("cannot copy the dedupe journal descriptor: %s", g_strerror (errno));
          return;
        }
      note_unsynced (self, fd);
      self->journal_queued = TRUE;
    }
  if (!self->syncing)
    start_sync (self);
}

/* The journal of this generation is done: close it (a copy waiting for its sync stays open). */
static void
retire_journal_fd (WbDedupeSet *self)
{
  if (self->journal_fd >= 0)
    {
      close (self->journal_fd);
      self->journal_fd = -1;
    }
  self->journal_queued = FALSE;
}

/* On the caller's thread: for quitting, where the journal must be on disk before we go. */
static void
sync_journals_now (WbDedupeSet *self)
{
  if (self->unsynced_fds == NULL || self->unsynced_fds->len == 0)
    return;
  sync_fds (self->unsynced_fds);
  g_array_set_size (self->unsynced_fds, 0);
}

/* ---- serialisation ---- */

char *
wb_dedupe_set_serialize (WbDedupeSet *self,
                         gsize       *len)
{
  g_return_val_if_fail (WB_IS_DEDUPE_SET (self), NULL);

  return _wb_dedupe_snapshot_serialize (self->records, self->covered_gen, len);
}

gboolean
wb_dedupe_set_load_from_data (WbDedupeSet  *self,
                              const char   *data,
                              gsize         len,
                              gint64        now_us,
                              GError      **error)
{
  GHashTable *records = NULL;
  gint64 covered = -1;

  g_return_val_if_fail (WB_IS_DEDUPE_SET (self), FALSE);

  if (!_wb_dedupe_snapshot_parse (data, len, now_us, &records, &covered, error))
    return FALSE;
  g_clear_pointer (&self->records, g_hash_table_unref);
  self->records = records;
  self->covered_gen = covered;
  self->last_now_us = MAX (self->last_now_us, now_us);
  wb_dedupe_set_prune (self, now_us);
  return TRUE;
}

/* ---- loading ---- */

/* What a load found on disk. Built in whatever thread loads, installed on the set's. */
typedef struct
{
  char       *path;
  gint64      now_us;
  GHashTable *records;         /* (owned) */
  gint64      covered_gen;
  gint64      next_journal_gen;
  guint       replayed;
  gboolean    corrupt;
} WbDedupeLoad;

static void
load_free (WbDedupeLoad *load)
{
  g_free (load->path);
  g_clear_pointer (&load->records, g_hash_table_unref);
  g_free (load);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (WbDedupeLoad, load_free)

static WbDedupeLoad *
load_new (WbDedupeSet *self,
          gint64       now_us)
{
  WbDedupeLoad *load = g_new0 (WbDedupeLoad, 1);

  load->path = g_strdup (self->path);
  load->now_us = now_us;
  load->records = _wb_dedupe_records_new ();
  load->covered_gen = -1;
  return load;
}

/* A corrupt or truncated file is moved aside (kept for a human), and the set starts empty. */
static void
move_aside (WbDedupeLoad *load,
            const char   *why)
{
  g_autofree char *aside = g_strconcat (load->path, ".corrupt", NULL);

  g_debug ("%s is unusable (%s): moved to %s, starting empty", load->path, why, aside);
  if (g_rename (load->path, aside) != 0)
    {
      int saved = errno;
      g_debug ("cannot move %s aside: %s; removing it", load->path, g_strerror (saved));
      g_unlink (load->path);
    }
  g_hash_table_remove_all (load->records);
  load->corrupt = TRUE;
}

static void
read_snapshot (WbDedupeLoad *load)
{
  g_autofree char *contents = NULL;
  g_autoptr(GError) error = NULL;
  GHashTable *records = NULL;
  gsize len = 0;

  if (!wb_read_file_bounded (load->path, WB_DEDUPE_MAX_FILE_BYTES, &contents, &len, &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE))
        move_aside (load, "too large");
      else if (g_error_matches (error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        g_debug ("no dedupe set at %s yet", load->path);
      else   /* Unreadable is not corrupt: leave it for a human, run with an empty set. */
        g_debug ("cannot read %s: %s", load->path, error->message);
      return;
    }
  if (!_wb_dedupe_snapshot_parse (contents, len, load->now_us, &records, &load->covered_gen,
                                  &error))
    {
      move_aside (load, error->message);
      return;
    }
  g_hash_table_unref (load->records);
  load->records = records;
  g_debug ("loaded %u assignments from %s", g_hash_table_size (records), load->path);
}

static void
replay_cb (const char           *assignment_id,
           const WbDedupeRecord *record,
           gpointer              user_data)
{
  WbDedupeLoad *load = user_data;

  g_hash_table_replace (load->records, g_strdup (assignment_id),
                        g_memdup2 (record, sizeof *record));
}

/* Changes made after the snapshot was taken (the app may have been killed before it saved). */
static void
replay_journals (WbDedupeLoad *load)
{
  g_autoptr(GArray) gens = _wb_dedupe_journal_list (load->path);
  gint64 newest = load->covered_gen;

  for (guint i = 0; i < gens->len; i++)
    {
      gint64 gen = g_array_index (gens, gint64, i);

      newest = MAX (newest, gen);
      if (gen > load->covered_gen)
        load->replayed += _wb_dedupe_journal_replay (load->path, gen, load->now_us, replay_cb, load);
    }
  load->next_journal_gen = newest + 1;
  if (load->replayed > 0)
    g_debug ("replayed %u changes from the journal", load->replayed);
}

/* File I/O and parsing only: safe in a worker thread. */
static void
load_run (WbDedupeLoad *load)
{
  if (load->path == NULL)
    return;
  read_snapshot (load);
  replay_journals (load);
}

static void schedule_save (WbDedupeSet *self);

static void
load_install (WbDedupeSet  *self,
              WbDedupeLoad *load)
{
  g_clear_pointer (&self->records, g_hash_table_unref);
  self->records = g_steal_pointer (&load->records);
  self->covered_gen = load->covered_gen;
  self->journal_gen = MAX (self->journal_gen, load->next_journal_gen);
  self->last_now_us = MAX (self->last_now_us, load->now_us);
  if (load->corrupt)
    set_recovered (self);
  wb_dedupe_set_prune (self, load->now_us);
  if (load->replayed > 0)
    schedule_save (self);
}

static void
close_journal (WbDedupeSet *self)
{
  retire_journal_fd (self);
}

void
wb_dedupe_set_load (WbDedupeSet *self,
                    gint64       now_us)
{
  g_autoptr(WbDedupeLoad) load = NULL;

  g_return_if_fail (WB_IS_DEDUPE_SET (self));
  g_return_if_fail (!self->loading);

  close_journal (self);
  load = load_new (self, now_us);
  load_run (load);
  load_install (self, load);
}

static void
load_thread (GTask        *task,
             gpointer      source,
             gpointer      task_data,
             GCancellable *cancellable)
{
  load_run (task_data);
  g_task_return_boolean (task, TRUE);
}

/* Loads the file in a worker thread (the main loop keeps running). Until the load has finished
 * (wb_dedupe_set_load_finish () installs what it found) the set must not be changed. */
void
wb_dedupe_set_load_async (WbDedupeSet         *self,
                          gint64               now_us,
                          GCancellable        *cancellable,
                          GAsyncReadyCallback  callback,
                          gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (WB_IS_DEDUPE_SET (self));
  g_return_if_fail (!self->loading);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, wb_dedupe_set_load_async);
  close_journal (self);
  self->loading = TRUE;
  g_task_set_task_data (task, load_new (self, now_us), (GDestroyNotify) load_free);
  g_task_run_in_thread (task, load_thread);
}

/* Installs what the load found. Never fails (like wb_dedupe_set_load ()). */
void
wb_dedupe_set_load_finish (WbDedupeSet  *self,
                           GAsyncResult *result)
{
  g_return_if_fail (WB_IS_DEDUPE_SET (self));
  g_return_if_fail (g_task_is_valid (result, self));
  g_return_if_fail (g_task_get_source_tag (G_TASK (result)) == wb_dedupe_set_load_async);

  self->loading = FALSE;
  g_task_propagate_boolean (G_TASK (result), NULL);
  load_install (self, g_task_get_task_data (G_TASK (result)));
}

gboolean
wb_dedupe_set_is_loading (WbDedupeSet *self)
{
  g_return_val_if_fail (WB_IS_DEDUPE_SET (self), FALSE);
  return self->loading;
}

gboolean
wb_dedupe_set_get_recovered_from_corruption (WbDedupeSet *self)
{
  g_return_val_if_fail (WB_IS_DEDUPE_SET (self), FALSE);
  return self->recovered_from_corruption;
}

/* ---- saving ---- */

/* Serialises the set as covering everything journalled so far, and starts the next journal. */
static char *
take_snapshot (WbDedupeSet *self,
               gsize       *len)
{
  char *contents;

  self->covered_gen = self->journal_gen;
  contents = wb_dedupe_set_serialize (self, len);
  retire_journal_fd (self);
  self->journal_gen++;
  return contents;
}

static void
save_now (WbDedupeSet *self)
{
  char *contents;
  gsize len;

  self->dirty = FALSE;
  self->last_write_mono_us = g_get_monotonic_time ();
  if (self->writer == NULL)
    return;
  wb_dedupe_set_prune (self, self->last_now_us);
  contents = take_snapshot (self, &len);
  _wb_dedupe_writer_submit (self->writer, contents, len, self->covered_gen);
}

static gboolean
save_timeout_cb (gpointer data)
{
  WbDedupeSet *self = data;

  g_clear_pointer (&self->save_source, g_source_unref);
  if (self->dirty)
    save_now (self);
  return G_SOURCE_REMOVE;
}

static void
schedule_save (WbDedupeSet *self)
{
  g_autoptr(GMainContext) context = NULL;
  gint64 since, delay_ms;

  self->dirty = TRUE;
  if (self->writer == NULL || self->save_source != NULL)
    return;

  /* Coalesced: at most one write per interval, the first one soon. */
  since = (g_get_monotonic_time () - self->last_write_mono_us) / 1000;
  delay_ms = CLAMP (WB_DEDUPE_SET_SAVE_INTERVAL_MS - since, 0, WB_DEDUPE_SET_SAVE_INTERVAL_MS);
  context = g_main_context_ref_thread_default ();
  self->save_source = g_timeout_source_new ((guint) delay_ms);
  g_source_set_static_name (self->save_source, "[wb] dedupe set save");
  g_source_set_callback (self->save_source, save_timeout_cb, self, NULL);
  g_source_attach (self->save_source, context);
}

gboolean
wb_dedupe_set_flush (WbDedupeSet  *self,
                     GError      **error)
{
  g_autofree char *contents = NULL;
  gsize len;

  g_return_val_if_fail (WB_IS_DEDUPE_SET (self), FALSE);

  sync_journals_now (self);
  if (self->save_source != NULL)
    {
      g_source_destroy (self->save_source);
      g_clear_pointer (&self->save_source, g_source_unref);
    }
  if (self->writer == NULL)
    {
      self->dirty = FALSE;
      return TRUE;
    }

  _wb_dedupe_writer_wait (self->writer);
  if (!self->dirty)
    return TRUE;

  self->dirty = FALSE;
  self->last_write_mono_us = g_get_monotonic_time ();
  wb_dedupe_set_prune (self, self->last_now_us);
  contents = take_snapshot (self, &len);
  if (!_wb_dedupe_writer_write (self->writer, contents, len, error))
    return FALSE;
  _wb_dedupe_journal_delete_upto (self->path, self->covered_gen);
  return TRUE;
}

guint
wb_dedupe_set_get_n_writes (WbDedupeSet *self)
{
  g_return_val_if_fail (WB_IS_DEDUPE_SET (self), 0);
  return self->writer ? _wb_dedupe_writer_get_n_writes (self->writer) : 0;
}

guint
wb_dedupe_set_get_n_journal_syncs (WbDedupeSet *self)
{
  g_return_val_if_fail (WB_IS_DEDUPE_SET (self), 0);
  return self->n_journal_syncs;
}

/* ---- records ---- */

const WbDedupeRecord *
wb_dedupe_set_lookup (WbDedupeSet *self,
                      const char  *assignment_id)
{
  g_return_val_if_fail (WB_IS_DEDUPE_SET (self), NULL);

  if (assignment_id == NULL)
    return NULL;
  return g_hash_table_lookup (self->records, assignment_id);
}

void
wb_dedupe_set_put (WbDedupeSet          *self,
                   const char           *assignment_id,
                   const WbDedupeRecord *record,
                   gint64                now_us)
{
  WbDedupeRecord *copy;

  g_return_if_fail (WB_IS_DEDUPE_SET (self));
  g_return_if_fail (assignment_id != NULL && *assignment_id != '\0');
  g_return_if_fail (record != NULL);
  g_return_if_fail (!self->loading);

  copy = g_memdup2 (record, sizeof *record);
  copy->touched_wall_us = now_us;
  g_hash_table_replace (self->records, g_strdup (assignment_id), copy);
  /* Write-ahead: in the kernel before whatever rings because of it (it survives the process
   * dying), and on the disk once the worker's fdatasync () runs, a few milliseconds later. */
  if (self->path != NULL)
    {
      _wb_dedupe_journal_append (&self->journal_fd, self->path, self->journal_gen, assignment_id, copy);
      journal_written (self);
    }
  self->last_now_us = MAX (self->last_now_us, now_us);

  /* Keep memory bounded between saves too. */
  if (g_hash_table_size (self->records) > self->max_entries + self->max_entries / 4 + 16)
    wb_dedupe_set_prune (self, now_us);
  schedule_save (self);
}

void
wb_dedupe_set_foreach (WbDedupeSet     *self,
                       WbDedupeSetFunc  func,
                       gpointer         user_data)
{
  GHashTableIter iter;
  gpointer key, value;

  g_return_if_fail (WB_IS_DEDUPE_SET (self));

  g_hash_table_iter_init (&iter, self->records);
  while (g_hash_table_iter_next (&iter, &key, &value))
    func (key, value, user_data);
}

guint
wb_dedupe_set_get_size (WbDedupeSet *self)
{
  g_return_val_if_fail (WB_IS_DEDUPE_SET (self), 0);
  return g_hash_table_size (self->records);
}

typedef struct
{
  const char           *id;
  const WbDedupeRecord *record;
} WbDedupeEntry;

static gint
compare_recent_first (gconstpointer a,
                      gconstpointer b)
{
  const WbDedupeEntry *ea = a, *eb = b;

  if (ea->record->touched_wall_us != eb->record->touched_wall_us)
    return ea->record->touched_wall_us > eb->record->touched_wall_us ? -1 : 1;
  return strcmp (ea->id, eb->id);
}

void
wb_dedupe_set_prune (WbDedupeSet *self,
                     gint64       now_us)
{
  GHashTableIter iter;
  gpointer key, value;
  g_autoptr(GArray) entries = NULL;
  g_autoptr(GPtrArray) doomed = NULL;
  guint before;

  g_return_if_fail (WB_IS_DEDUPE_SET (self));

  before = g_hash_table_size (self->records);
  g_hash_table_iter_init (&iter, self->records);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      const WbDedupeRecord *r = value;

      if (!r->open && now_us - r->touched_wall_us > self->max_age_us)
        g_hash_table_iter_remove (&iter);
    }

  if (g_hash_table_size (self->records) > self->max_entries)
    {
      entries = g_array_sized_new (FALSE, FALSE, sizeof (WbDedupeEntry),
                                   g_hash_table_size (self->records));
      g_hash_table_iter_init (&iter, self->records);
      while (g_hash_table_iter_next (&iter, &key, &value))
        {
          WbDedupeEntry e = { key, value };
          g_array_append_val (entries, e);
        }
      g_array_sort (entries, compare_recent_first);
      doomed = g_ptr_array_new_with_free_func (g_free);
      for (guint i = self->max_entries; i < entries->len; i++)
        g_ptr_array_add (doomed, g_strdup (g_array_index (entries, WbDedupeEntry, i).id));
      for (guint i = 0; i < doomed->len; i++)
        g_hash_table_remove (self->records, g_ptr_array_index (doomed, i));
    }

  if (g_hash_table_size (self->records) != before)
    {
      g_debug ("pruned %u assignments", before - g_hash_table_size (self->records));
      self->dirty = TRUE;
    }
}

/* ---- object ---- */

char *
wb_dedupe_set_default_path (void)
{
  return g_build_filename (g_get_user_state_dir (), "wrenchbell", "dedupe-set.json", NULL);
}

static WbDedupeSet *
new_unloaded (const char *path,
              guint       max_entries,
              gint64      max_age_us)
{
  WbDedupeSet *self = g_object_new (WB_TYPE_DEDUPE_SET, NULL);

  if (path == NULL)
    self->path = wb_dedupe_set_default_path ();
  else if (*path != '\0')
    self->path = g_strdup (path);

  if (self->path != NULL)
    self->writer = _wb_dedupe_writer_new (self->path);
  self->max_entries = MAX (max_entries, 1);
  self->max_age_us = max_age_us;
  return self;
}

WbDedupeSet *
wb_dedupe_set_new_full (const char *path,
                        guint       max_entries,
                        gint64      max_age_us,
                        gint64      now_us)
{
  WbDedupeSet *self = new_unloaded (path, max_entries, max_age_us);

  wb_dedupe_set_load (self, now_us);
  return self;
}

WbDedupeSet *
wb_dedupe_set_new (const char *path)
{
  return wb_dedupe_set_new_full (path, WB_DEDUPE_SET_DEFAULT_MAX_ENTRIES,
                                 WB_DEDUPE_SET_DEFAULT_MAX_AGE_US, g_get_real_time ());
}

/* An empty set for @path that has not read its file yet: call wb_dedupe_set_load_async (). */
WbDedupeSet *
wb_dedupe_set_new_unloaded (const char *path)
{
  return new_unloaded (path, WB_DEDUPE_SET_DEFAULT_MAX_ENTRIES, WB_DEDUPE_SET_DEFAULT_MAX_AGE_US);
}

const char *
wb_dedupe_set_get_path (WbDedupeSet *self)
{
  g_return_val_if_fail (WB_IS_DEDUPE_SET (self), NULL);
  return self->path;
}

static void
wb_dedupe_set_dispose (GObject *object)
{
  WbDedupeSet *self = (WbDedupeSet *) object;
  g_autoptr(GError) error = NULL;

  if (self->dirty && !wb_dedupe_set_flush (self, &error))
    g_debug ("saving the dedupe set at exit failed: %s", error->message);
  if (self->writer != NULL)
    _wb_dedupe_writer_wait (self->writer);

  G_OBJECT_CLASS (wb_dedupe_set_parent_class)->dispose (object);
}

static void
wb_dedupe_set_finalize (GObject *object)
{
  WbDedupeSet *self = (WbDedupeSet *) object;

  if (self->save_source != NULL)
    {
      g_source_destroy (self->save_source);
      g_clear_pointer (&self->save_source, g_source_unref);
    }
  if (self->journal_fd >= 0)
    close (self->journal_fd);
  sync_journals_now (self);
  g_clear_pointer (&self->unsynced_fds, g_array_unref);
  g_clear_pointer (&self->writer, _wb_dedupe_writer_release);
  g_clear_pointer (&self->records, g_hash_table_unref);
  g_clear_pointer (&self->path, g_free);

  G_OBJECT_CLASS (wb_dedupe_set_parent_class)->finalize (object);
}

static void
wb_dedupe_set_get_property (GObject    *object,
                            guint       prop_id,
                            GValue     *value,
                            GParamSpec *pspec)
{
  WbDedupeSet *self = WB_DEDUPE_SET (object);

  switch (prop_id)
    {
    case PROP_PATH:
      g_value_set_string (value, self->path);
      break;
    case PROP_RECOVERED_FROM_CORRUPTION:
      g_value_set_boolean (value, self->recovered_from_corruption);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
wb_dedupe_set_class_init (WbDedupeSetClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = wb_dedupe_set_dispose;
  object_class->finalize = wb_dedupe_set_finalize;
  object_class->get_property = wb_dedupe_set_get_property;

  properties[PROP_PATH] =
    g_param_spec_string ("path", NULL, NULL, NULL, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  /* TRUE once a load found an unusable file (moved to *.corrupt); stays TRUE. */
  properties[PROP_RECOVERED_FROM_CORRUPTION] =
    g_param_spec_boolean ("recovered-from-corruption", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
wb_dedupe_set_init (WbDedupeSet *self)
{
  self->records = _wb_dedupe_records_new ();
  self->journal_fd = -1;
  self->covered_gen = -1;
  self->max_entries = WB_DEDUPE_SET_DEFAULT_MAX_ENTRIES;
  self->max_age_us = WB_DEDUPE_SET_DEFAULT_MAX_AGE_US;
}
