#include "config.h"

#include <stdio.h>

#include <string.h>
#include <unistd.h>

#include <fcntl.h>
#include <sys/stat.h>

#include <glib/gstdio.h>

#include "wb-dedupe-codec-private.h"
#include "wb-dedupe-journal-private.h"
#include "wb-dedupe-set.h"
#include "wb-dedupe-snapshot-writer-private.h"
#include "wb-read-bounded.h"

#define NOW G_GINT64_CONSTANT (1795168800000000)
#define A1 "0b9e8a5c-1f2d-4c3b-9a8e-7d6c5b4a3f21"
#define A2 "1b9e8a5c-1f2d-4c3b-9a8e-7d6c5b4a3f21"

typedef struct
{
  char *dir;
  char *path;
} Fixture;

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  f->dir = g_dir_make_tmp ("wb-dedupe-XXXXXX", &error);
  g_assert_no_error (error);
  f->path = g_build_filename (f->dir, "sub", "dedupe-set.json", NULL);
}

static void
remove_if_exists (const char *path)
{
  if (g_file_test (path, G_FILE_TEST_EXISTS))
    g_assert_cmpint (g_unlink (path), ==, 0);
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  g_autofree char *corrupt = g_strconcat (f->path, ".corrupt", NULL);
  g_autofree char *sub = g_path_get_dirname (f->path);

  remove_if_exists (f->path);
  remove_if_exists (corrupt);
  for (int gen = 0; gen < 16; gen++)
    {
      g_autofree char *journal = g_strdup_printf ("%s.journal.%d", f->path, gen);

      remove_if_exists (journal);
    }
  g_rmdir (sub);
  g_assert_cmpint (g_rmdir (f->dir), ==, 0);
  g_free (f->path);
  g_free (f->dir);
}

static WbDedupeSet *
open_set (Fixture *f,
          gint64   now)
{
  return wb_dedupe_set_new_full (f->path, WB_DEDUPE_SET_DEFAULT_MAX_ENTRIES,
                                 WB_DEDUPE_SET_DEFAULT_MAX_AGE_US, now);
}

static void
put (WbDedupeSet *set,
     const char  *id,
     guint        episode,
     gboolean     open,
     gint64       updated,
     gint64       now)
{
  WbDedupeRecord r = { episode, open, updated, 0, open ? now : 0 };

  wb_dedupe_set_put (set, id, &r, now);
}

static void
write_file (Fixture    *f,
            const char *data,
            gssize      len)
{
  g_autofree char *dir = g_path_get_dirname (f->path);
  g_autoptr(GError) error = NULL;

  g_mkdir_with_parents (dir, 0700);
  g_file_set_contents (f->path, data, len, &error);
  g_assert_no_error (error);
}

/* The app is killed right after an alert rang, before the snapshot was written: the journal
 * still knows, so the next run does not ring again. */
static void
test_journal_survives_a_crash (Fixture       *f,
                               gconstpointer  data)
{
  g_autoptr(WbDedupeSet) set = open_set (f, NOW);
  g_autoptr(WbDedupeSet) after_crash = NULL;
  g_autoptr(WbDedupeSet) after_flush = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *journal = NULL;
  const WbDedupeRecord *r;
  FILE *fp;

  put (set, A1, 1, TRUE, 10, NOW);
  put (set, A1, 1, FALSE, 20, NOW + 1);
  put (set, A2, 3, TRUE, 30, NOW + 2);

  /* A second process opens the same file while the first never saved (no flush, no dispose). */
  after_crash = open_set (f, NOW + 5);
  g_assert_cmpuint (wb_dedupe_set_get_size (after_crash), ==, 2);
  r = wb_dedupe_set_lookup (after_crash, A1);
  g_assert_nonnull (r);
  g_assert_false (r->open);
  g_assert_cmpint (r->last_updated_at_us, ==, 20);
  r = wb_dedupe_set_lookup (after_crash, A2);
  g_assert_nonnull (r);
  g_assert_true (r->open);
  g_assert_cmpuint (r->episode, ==, 3);

  /* A torn last line (killed mid-write) is skipped, not fatal. */
  journal = g_strdup_printf ("%s.journal.%d", f->path, 0);
  fp = fopen (journal, "a");
  g_assert_nonnull (fp);
  fputs ("{\"id\":\"torn", fp);
  fclose (fp);
  g_clear_object (&after_crash);
  after_crash = open_set (f, NOW + 6);
  g_assert_cmpuint (wb_dedupe_set_get_size (after_crash), ==, 2);
  g_assert_false (wb_dedupe_set_get_recovered_from_corruption (after_crash));

  /* Once a snapshot is written, the journals it covers are gone. */
  g_assert_true (wb_dedupe_set_flush (set, &error));
  g_assert_no_error (error);
  g_assert_false (g_file_test (journal, G_FILE_TEST_EXISTS));
  after_flush = open_set (f, NOW + 7);
  g_assert_cmpuint (wb_dedupe_set_get_size (after_flush), ==, 2);
}

static void
test_round_trip (Fixture       *f,
                 gconstpointer  data)
{
  g_autoptr(WbDedupeSet) set = open_set (f, NOW);
  g_autoptr(WbDedupeSet) again = NULL;
  g_autoptr(GError) error = NULL;
  const WbDedupeRecord *r;

  g_assert_cmpuint (wb_dedupe_set_get_size (set), ==, 0);
  g_assert_false (wb_dedupe_set_get_recovered_from_corruption (set));
  put (set, A1, 2, TRUE, 1234, NOW);
  put (set, A2, 1, FALSE, 99, NOW + 1);
  put (set, "weird \"id\"\n\\", 3, FALSE, 0, NOW + 2);
  g_assert_true (wb_dedupe_set_flush (set, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_test (f->path, G_FILE_TEST_IS_REGULAR));

  again = open_set (f, NOW + 10);
  g_assert_false (wb_dedupe_set_get_recovered_from_corruption (again));
  g_assert_cmpuint (wb_dedupe_set_get_size (again), ==, 3);
  r = wb_dedupe_set_lookup (again, A1);
  g_assert_nonnull (r);
  g_assert_cmpuint (r->episode, ==, 2);
  g_assert_true (r->open);
  g_assert_cmpint (r->last_updated_at_us, ==, 1234);
  g_assert_cmpint (r->touched_wall_us, ==, NOW);
  g_assert_cmpint (r->opened_wall_us, ==, NOW);
  r = wb_dedupe_set_lookup (again, A2);
  g_assert_false (r->open);
  g_assert_cmpint (r->touched_wall_us, ==, NOW + 1);
  r = wb_dedupe_set_lookup (again, "weird \"id\"\n\\");
  g_assert_nonnull (r);
  g_assert_cmpuint (r->episode, ==, 3);
  g_assert_null (wb_dedupe_set_lookup (again, "nope"));
  g_assert_null (wb_dedupe_set_lookup (again, NULL));

  /* Nothing changed: no write. */
  g_assert_true (wb_dedupe_set_flush (again, NULL));
  g_assert_cmpuint (wb_dedupe_set_get_n_writes (again), ==, 0);
}

static void
test_missing_file (Fixture       *f,
                   gconstpointer  data)
{
  g_autoptr(WbDedupeSet) set = open_set (f, NOW);

  g_assert_cmpuint (wb_dedupe_set_get_size (set), ==, 0);
  g_assert_false (wb_dedupe_set_get_recovered_from_corruption (set));
  g_assert_false (g_file_test (f->path, G_FILE_TEST_EXISTS));
}

static const char *corrupt_files[] = {
  "",
  "   \n",
  "garbage \x01\x02 not json",
  "{\"version\":1,\"assignments\":{\"" A1 "\":{\"episode\":1,\"open\":tr",   /* truncated */
  "[]",
  "null",
  "42",
  "{}",
  "{\"version\":2,\"assignments\":{}}",
  "{\"version\":\"1\",\"assignments\":{}}",
  "{\"version\":1,\"assignments\":[]}",
  "{\"version\":1,\"assignments\":{\"" A1 "\":[]}}",
  "{\"version\":1,\"assignments\":{\"" A1 "\":{\"episode\":\"1\",\"open\":true}}}",
  "{\"version\":1,\"assignments\":{\"" A1 "\":{\"episode\":1,\"open\":1}}}",
  "{\"version\":1,\"assignments\":{\"" A1 "\":{\"episode\":1}}}",
  "{\"version\":1,\"assignments\":{\"" A1 "\":{\"episode\":-1,\"open\":false}}}",
  "{\"version\":1,\"assignments\":{\"" A1 "\":{\"episode\":0,\"open\":true}}}",
  "{\"version\":1,\"assignments\":{\"" A1 "\":{\"episode\":1.5,\"open\":false}}}",
  "{\"version\":1,\"assignments\":{\"" A1 "\":{\"episode\":1e400,\"open\":false}}}",
  "{\"version\":1,\"assignments\":{\"" A1 "\":{\"episode\":99999999999999999999999999,\"open\":false}}}",
  "{\"version\":1,\"assignments\":{\"" A1 "\":{\"episode\":4294967296,\"open\":false}}}",
  "{\"version\":1,\"assignments\":{\"" A1 "\":{\"episode\":1,\"open\":false,\"touched_wall_us\":-5}}}",
  "{\"version\":1,\"assignments\":{\"" A1 "\":{\"episode\":1,\"open\":false,\"last_updated_at_us\":null}}}",
  "{\"version\":1,\"assignments\":{\"\":{\"episode\":1,\"open\":false}}}",
  "{\"version\":1,\"assignments\":{\"\xff\xfe\":{\"episode\":1,\"open\":false}}}",
  "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]",
};

static void
test_corruption (Fixture       *f,
                 gconstpointer  data)
{
  g_autofree char *aside = g_strconcat (f->path, ".corrupt", NULL);

  for (guint i = 0; i < G_N_ELEMENTS (corrupt_files); i++)
    {
      g_autoptr(WbDedupeSet) set = NULL;
      g_autoptr(GError) error = NULL;
      g_autofree char *moved = NULL;

      g_test_message ("corrupt file %u", i);
      write_file (f, corrupt_files[i], -1);
      set = open_set (f, NOW);
      g_assert_true (wb_dedupe_set_get_recovered_from_corruption (set));
      {
        gboolean flag = FALSE;
        g_object_get (set, "recovered-from-corruption", &flag, NULL);
        g_assert_true (flag);
      }
      g_assert_cmpuint (wb_dedupe_set_get_size (set), ==, 0);
      g_assert_false (g_file_test (f->path, G_FILE_TEST_EXISTS));
      /* Loading again (the file is gone now) keeps the report. */
      wb_dedupe_set_load (set, NOW);
      g_assert_true (wb_dedupe_set_get_recovered_from_corruption (set));
      g_assert_true (g_file_get_contents (aside, &moved, NULL, NULL));
      g_assert_cmpstr (moved, ==, corrupt_files[i]);

      /* And it keeps working afterwards. */
      put (set, A1, 1, TRUE, 5, NOW);
      g_assert_true (wb_dedupe_set_flush (set, &error));
      g_assert_no_error (error);
      g_clear_object (&set);
      set = open_set (f, NOW);
      g_assert_false (wb_dedupe_set_get_recovered_from_corruption (set));
      g_assert_cmpuint (wb_dedupe_set_get_size (set), ==, 1);
      g_assert_cmpint (g_unlink (f->path), ==, 0);
    }
}

static void
test_truncated_real_file (Fixture       *f,
                          gconstpointer  data)
{
  g_autoptr(WbDedupeSet) set = open_set (f, NOW);
  g_autoptr(WbDedupeSet) again = NULL;
  g_autofree char *text = NULL;
  gsize len;

  for (guint i = 0; i < 20; i++)
    {
      g_autofree char *id = g_strdup_printf ("id-%u", i);
      put (set, id, 1, i % 2, i, NOW);
    }
  text = wb_dedupe_set_serialize (set, &len);
  for (gsize cut = 1; cut < len - 3; cut += 7)
    {
      g_autoptr(WbDedupeSet) partial = wb_dedupe_set_new_full ("", 10, G_TIME_SPAN_DAY, NOW);

      g_assert_false (wb_dedupe_set_load_from_data (partial, text, cut, NOW, NULL));
    }
  write_file (f, text, len / 2);
  again = open_set (f, NOW);
  g_assert_true (wb_dedupe_set_get_recovered_from_corruption (again));
  /* The snapshot is unusable, but the journal still holds every change made since it. */
  g_assert_cmpuint (wb_dedupe_set_get_size (again), ==, 20);
  g_clear_object (&again);

  /* Without a journal, a truncated snapshot means starting empty (the catch-up then rings). */
  for (int gen = 0; gen < 16; gen++)
    {
      g_autofree char *journal = g_strdup_printf ("%s.journal.%d", f->path, gen);

      g_unlink (journal);
    }
  write_file (f, text, len / 2);
  again = open_set (f, NOW);
  g_assert_true (wb_dedupe_set_get_recovered_from_corruption (again));
  g_assert_cmpuint (wb_dedupe_set_get_size (again), ==, 0);
}

static void
test_huge_but_valid (Fixture       *f,
                     gconstpointer  data)
{
  g_autoptr(WbDedupeSet) set = NULL;
  const WbDedupeRecord *r;

  write_file (f, "{\"version\":1,\"assignments\":{\"" A1 "\":{\"episode\":2147483647,\"open\":true,"
              "\"last_updated_at_us\":9223372036854775807,\"touched_wall_us\":9223372036854775807,"
              "\"opened_wall_us\":9223372036854775807}}}", -1);
  set = open_set (f, NOW);
  g_assert_false (wb_dedupe_set_get_recovered_from_corruption (set));
  r = wb_dedupe_set_lookup (set, A1);
  g_assert_nonnull (r);
  g_assert_cmpuint (r->episode, ==, G_MAXINT32);
  g_assert_cmpint (r->last_updated_at_us, ==, G_MAXINT64);
  /* A clock that ran ahead is clamped to now. */
  g_assert_cmpint (r->touched_wall_us, ==, NOW);
  g_assert_cmpint (r->opened_wall_us, ==, NOW);
}

static void
test_bound (Fixture       *f,
            gconstpointer  data)
{
  g_autoptr(WbDedupeSet) set = wb_dedupe_set_new_full (f->path, 10, WB_DEDUPE_SET_DEFAULT_MAX_AGE_US, NOW);
  g_autoptr(WbDedupeSet) again = NULL;

  for (guint i = 0; i < 100; i++)
    {
      g_autofree char *id = g_strdup_printf ("id-%03u", i);
      put (set, id, 1, TRUE, i, NOW + i);
      /* Never far beyond the bound, even between saves. */
      g_assert_cmpuint (wb_dedupe_set_get_size (set), <=, 10 + 10 / 4 + 16 + 1);
    }
  wb_dedupe_set_prune (set, NOW + 100);
  g_assert_cmpuint (wb_dedupe_set_get_size (set), ==, 10);
  for (guint i = 0; i < 100; i++)
    {
      g_autofree char *id = g_strdup_printf ("id-%03u", i);
      g_assert_true ((wb_dedupe_set_lookup (set, id) != NULL) == (i >= 90));
    }
  g_assert_true (wb_dedupe_set_flush (set, NULL));

  again = wb_dedupe_set_new_full (f->path, 5, WB_DEDUPE_SET_DEFAULT_MAX_AGE_US, NOW + 200);
  g_assert_cmpuint (wb_dedupe_set_get_size (again), ==, 5);
  g_assert_nonnull (wb_dedupe_set_lookup (again, "id-099"));
  g_assert_null (wb_dedupe_set_lookup (again, "id-094"));
}

static void
test_expiry (Fixture       *f,
             gconstpointer  data)
{
  g_autoptr(WbDedupeSet) set = open_set (f, NOW);
  g_autoptr(WbDedupeSet) again = NULL;
  gint64 day = G_TIME_SPAN_DAY;

  put (set, "closed-old", 1, FALSE, 1, NOW - 8 * day);
  put (set, "open-old", 1, TRUE, 1, NOW - 8 * day);
  put (set, "closed-recent", 1, FALSE, 1, NOW - 6 * day);
  g_assert_cmpuint (wb_dedupe_set_get_size (set), ==, 3);
  wb_dedupe_set_prune (set, NOW);
  g_assert_null (wb_dedupe_set_lookup (set, "closed-old"));
  g_assert_nonnull (wb_dedupe_set_lookup (set, "open-old"));
  g_assert_nonnull (wb_dedupe_set_lookup (set, "closed-recent"));
  g_assert_true (wb_dedupe_set_flush (set, NULL));

  /* Expiry applies on load as well. */
  again = open_set (f, NOW + 2 * day);
  g_assert_cmpuint (wb_dedupe_set_get_size (again), ==, 1);
  g_assert_nonnull (wb_dedupe_set_lookup (again, "open-old"));
}

static gboolean
quit_cb (gpointer data)
{
  g_main_loop_quit (data);
  return G_SOURCE_REMOVE;
}

static void
test_coalesced_writes (Fixture       *f,
                       gconstpointer  data)
{
  g_autoptr(WbDedupeSet) set = open_set (f, NOW);
  g_autoptr(WbDedupeSet) again = NULL;
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  gint64 start = g_get_monotonic_time ();
  guint writes;

  /* A burst spread over ~300 ms: at most one write per 200 ms (+ the first one). */
  while (g_get_monotonic_time () - start < 300 * 1000)
    {
      static guint n = 0;
      g_autofree char *id = g_strdup_printf ("id-%u", n++);

      put (set, id, 1, TRUE, n, NOW + n);
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }
  g_timeout_add (450, quit_cb, loop);
  g_main_loop_run (loop);
  g_assert_true (wb_dedupe_set_flush (set, NULL));
  writes = wb_dedupe_set_get_n_writes (set);
  g_test_message ("%u writes", writes);
  g_assert_cmpuint (writes, >=, 1);
  g_assert_cmpuint (writes, <=, 4);

  again = open_set (f, NOW + 100000);
  g_assert_cmpuint (wb_dedupe_set_get_size (again), ==, wb_dedupe_set_get_size (set));
}

/* A burst of changes between two main-loop iterations: every line is in the journal at once
 * (another process reads all of them), and a worker makes them durable in a round or two, not
 * one fdatasync () each on the main loop. */
static void
test_journal_sync_coalesced (Fixture       *f,
                             gconstpointer  data)
{
  g_autoptr(WbDedupeSet) set = open_set (f, NOW);
  g_autoptr(WbDedupeSet) other = NULL;
  guint syncs;

  for (guint n = 0; n < 100; n++)
    {
      g_autofree char *id = g_strdup_printf ("id-%u", n);

      put (set, id, 1, TRUE, n, NOW + n);
    }
  other = open_set (f, NOW + 200);
  g_assert_cmpuint (wb_dedupe_set_get_size (other), ==, 100);

  while (wb_dedupe_set_get_n_journal_syncs (set) == 0)
    g_main_context_iteration (NULL, TRUE);
  /* Let a second round, if one was queued behind the first, finish. */
  {
    g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);

    g_timeout_add (300, quit_cb, loop);
    g_main_loop_run (loop);
  }
  syncs = wb_dedupe_set_get_n_journal_syncs (set);
  g_test_message ("%u journal syncs for 100 changes", syncs);
  g_assert_cmpuint (syncs, >=, 1);
  g_assert_cmpuint (syncs, <=, 2);
}

/* ---- the writer hands over text and generation together ---- */

#define STRESS_IDS  16
#define STRESS_PUTS 2000

typedef struct
{
  const char *path;
  guint       n_put;       /* (atomic) changes whose put() has returned */
  gint        done;        /* (atomic) */
  gint        failed;      /* (atomic) */
  guint       checks;
  char       *failure;     /* (owned) (nullable) */
} Stress;

static char *
read_or_null (const char *path)
{
  char *contents = NULL;

  if (!g_file_get_contents (path, &contents, NULL, NULL))
    return NULL;
  return contents;
}

/* The largest last_updated_at_us recorded for @id in @text (snapshot or journal lines). */
static gint64
newest_in (const char *text,
           guint       id)
{
  g_autofree char *key = g_strdup_printf ("\"s-%02u\"", id);
  gint64 newest = -1;

  for (const char *p = text != NULL ? strstr (text, key) : NULL; p != NULL; p = strstr (p + 1, key))
    {
      const char *v = strstr (p, "\"last_updated_at_us\":");
      const char *eol = strchr (p, '\n');

      if (v != NULL && (eol == NULL || v < eol))
        newest = MAX (newest, g_ascii_strtoll (v + strlen ("\"last_updated_at_us\":"), NULL, 10));
    }
  return newest;
}

/* What a restart would find if the process died now: the journals are read first, then the
 * snapshot (a snapshot only gets newer, so this order never misses a change that is there). A
 * restart replays only the journals newer than the generation the snapshot says it covers. */
static gboolean
check_disk (Stress *st,
            guint   n)
{
  g_autofree char *dir = g_path_get_dirname (st->path);
  g_autofree char *base = g_path_get_basename (st->path);
  g_autofree char *prefix = g_strconcat (base, ".journal.", NULL);
  g_autoptr(GHashTable) journals = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, g_free);
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  g_autofree char *snapshot = NULL;
  const char *name, *gen_at;
  gint64 covered = -1;

  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *jpath = NULL;
      char *text;
      gint64 gen;

      if (!g_str_has_prefix (name, prefix))
        continue;
      gen = g_ascii_strtoll (name + strlen (prefix), NULL, 10);
      jpath = g_build_filename (dir, name, NULL);
      text = read_or_null (jpath);
      if (text != NULL)
        g_hash_table_insert (journals, g_memdup2 (&gen, sizeof gen), text);
    }
  snapshot = read_or_null (st->path);
  if (snapshot != NULL && (gen_at = strstr (snapshot, "\"journal_gen\":")) != NULL)
    covered = g_ascii_strtoll (gen_at + strlen ("\"journal_gen\":"), NULL, 10);

  for (guint id = 0; id < STRESS_IDS && id < n; id++)
    {
      /* Put number i wrote last_updated_at_us = i + 1 for id i % STRESS_IDS. */
      gint64 expected = (gint64) ((n - 1 - id) / STRESS_IDS * STRESS_IDS + id) + 1;
      gint64 seen = newest_in (snapshot, id);
      GHashTableIter iter;
      gpointer key, value;

      g_hash_table_iter_init (&iter, journals);
      while (g_hash_table_iter_next (&iter, &key, &value))
        if (*(gint64 *) key > covered)
          seen = MAX (seen, newest_in (value, id));
      if (seen < expected)
        {
          st->failure = g_strdup_printf ("s-%02u was last put with %" G_GINT64_FORMAT ", a restart "
                                         "would see %" G_GINT64_FORMAT " (snapshot covers journals "
                                         "up to %" G_GINT64_FORMAT "; the newer one is gone)",
                                         id, expected, seen, covered);
          return FALSE;
        }
    }
  return TRUE;
}

static gpointer
checker_thread (gpointer data)
{
  Stress *st = data;

  while (!g_atomic_int_get (&st->done))
    {
      if (!check_disk (st, g_atomic_int_get (&st->n_put)))
        {
          g_atomic_int_set (&st->failed, 1);
          break;
        }
      st->checks++;
    }
  return NULL;
}

static void
remove_tree (const char *dir)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;

  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *child = g_build_filename (dir, name, NULL);

      if (g_file_test (child, G_FILE_TEST_IS_DIR))
        remove_tree (child);
      else
        g_unlink (child);
    }
  g_rmdir (dir);
}

/* Saves handed to the writer thread while it is still writing an older one: the snapshot that
 * reaches the disk must never claim to cover a journal whose changes it lacks, or the journal is
 * ignored (and deleted) and a restart loses what it held. */
/* What save_now () does: the newest snapshot text and the journal generation it covers go to the
 * writer thread (together), which writes the text and then deletes the journals it covers. The
 * pause stands for the main thread being preempted between two hand-overs (a busy machine); when
 * the text and the generation went over in two calls, it sat between them and the test failed. */
static void
hand_over (WbDedupeWriter *w,
           char           *text,
           gsize           len,
           gint64          covered)
{
  _wb_dedupe_writer_submit (w, text, len, covered);
  g_usleep (50);
}

/* Snapshots handed to the writer thread back to back, while it is still writing an older one,
 * and a checker that looks at the disk as a restart after a kill would: the writer must never
 * delete a journal that the snapshot it wrote does not hold. (Before the text and the generation
 * were handed over under one lock, the writer could pair an older text with a newer generation.) */
static void
test_writer_hand_over_stress (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("wb-dedupe-stress-XXXXXX", &error);
  g_autofree char *path = NULL;
  WbDedupeWriter *w;
  Stress st = { 0 };
  GThread *checker;
  gint64 values[STRESS_IDS] = { 0 };

  g_assert_no_error (error);
  path = g_build_filename (dir, "dedupe-set.json", NULL);
  w = _wb_dedupe_writer_new (path);
  st.path = path;
  checker = g_thread_new ("stress-checker", checker_thread, &st);

  /* Generation g: one change journalled, then the snapshot covering it handed over, as the set
   * does when it saves after every change. */
  for (guint i = 0; i < STRESS_PUTS && !g_atomic_int_get (&st.failed); i++)
    {
      g_autofree char *id = g_strdup_printf ("s-%02u", i % STRESS_IDS);
      WbDedupeRecord r = { 1, TRUE, i + 1, NOW, NOW, 0, FALSE };
      g_autoptr(GString) text = g_string_new (NULL);
      int fd = -1;

      _wb_dedupe_journal_append (&fd, path, i, id, &r);
      g_assert_cmpint (fd, >=, 0);
      close (fd);
      values[i % STRESS_IDS] = i + 1;
      g_atomic_int_set (&st.n_put, i + 1);

      g_string_append_printf (text, "{\"version\":1,\"journal_gen\":%u,\"assignments\":{", i);
      for (guint k = 0; k < STRESS_IDS && k <= i; k++)
        {
          WbDedupeRecord rk = { 1, TRUE, values[k], NOW, NOW, 0, FALSE };

          g_string_append_printf (text, "%s\n\"s-%02u\":", k > 0 ? "," : "", k);
          _wb_dedupe_record_append (text, &rk);
        }
      g_string_append (text, "\n}}\n");
      hand_over (w, g_strdup (text->str), text->len, i);
    }
  _wb_dedupe_writer_wait (w);
  g_atomic_int_set (&st.done, 1);
  g_thread_join (checker);
  g_test_message ("%u disk checks, %u snapshot writes", st.checks, _wb_dedupe_writer_get_n_writes (w));
  if (st.failure != NULL)
    g_test_fail_printf ("%s", st.failure);
  g_clear_pointer (&st.failure, g_free);
  g_assert_true (check_disk (&st, g_atomic_int_get (&st.n_put)));
  _wb_dedupe_writer_release (w);
  remove_tree (dir);
}

/* Both files are the user's alone, whatever the umask. */
static void
test_file_modes (Fixture       *f,
                 gconstpointer  data)
{
  g_autoptr(WbDedupeSet) set = open_set (f, NOW);
  g_autofree char *journal = g_strdup_printf ("%s.journal.0", f->path);
  GStatBuf st;
  mode_t old = umask (0);

  put (set, A1, 1, TRUE, 10, NOW);
  g_assert_cmpint (g_stat (journal, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
  g_assert_true (wb_dedupe_set_flush (set, NULL));
  g_assert_cmpint (g_stat (f->path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
  umask (old);
}

/* A journal line torn off (full disk, crash) must not swallow the next change. */
static void
test_journal_after_torn_line (Fixture       *f,
                              gconstpointer  data)
{
  g_autoptr(WbDedupeSet) set = open_set (f, NOW);
  g_autoptr(WbDedupeSet) again = NULL;
  g_autofree char *journal = g_strdup_printf ("%s.journal.0", f->path);
  FILE *fp;

  put (set, A1, 1, TRUE, 10, NOW);
  fp = fopen (journal, "a");
  g_assert_nonnull (fp);
  fputs ("{\"id\":\"torn\",\"record\":{\"episode\":1,\"op", fp);
  fclose (fp);
  put (set, A2, 1, TRUE, 20, NOW + 1);

  again = open_set (f, NOW + 2);
  g_assert_nonnull (wb_dedupe_set_lookup (again, A1));
  g_assert_nonnull (wb_dedupe_set_lookup (again, A2));
  g_assert_null (wb_dedupe_set_lookup (again, "torn"));
}

/* A journal (or snapshot) far larger than the set can be is not read: a sparse 4 GB file would
 * otherwise be read into memory whole. */
static void
test_oversized_files_not_read (Fixture       *f,
                               gconstpointer  data)
{
  g_autoptr(WbDedupeSet) set = open_set (f, NOW);
  g_autoptr(WbDedupeSet) again = NULL;
  g_autofree char *journal = g_strdup_printf ("%s.journal.1", f->path);
  g_autofree char *contents = NULL;
  g_autoptr(GError) error = NULL;
  gsize len = 0;
  int fd;

  put (set, A1, 1, TRUE, 10, NOW);
  g_assert_true (wb_dedupe_set_flush (set, NULL));
  fd = g_open (journal, O_WRONLY | O_CREAT, 0600);
  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (ftruncate (fd, G_GINT64_CONSTANT (4) << 30), ==, 0);
  close (fd);

  g_assert_false (wb_read_file_bounded (journal, WB_DEDUPE_MAX_FILE_BYTES, &contents, &len, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE);
  g_assert_null (contents);

  again = open_set (f, NOW + 1);
  g_assert_cmpuint (wb_dedupe_set_get_size (again), ==, 1);
  g_assert_nonnull (wb_dedupe_set_lookup (again, A1));
  g_assert_cmpint (g_unlink (journal), ==, 0);

  /* Under the bound it is read whole. */
  g_clear_error (&error);
  g_assert_true (wb_read_file_bounded (f->path, WB_DEDUPE_MAX_FILE_BYTES, &contents, &len, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (len, ==, strlen (contents));
  g_assert_nonnull (strstr (contents, A1));
}

static void
load_done_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  gboolean *done = user_data;

  wb_dedupe_set_load_finish (WB_DEDUPE_SET (source), result);
  *done = TRUE;
}

/* Loading in a worker thread finds what a synchronous load finds (snapshot + journals), and the
 * set goes on journalling after the newest journal. */
static void
test_load_async (Fixture       *f,
                 gconstpointer  data)
{
  g_autoptr(WbDedupeSet) set = open_set (f, NOW);
  g_autoptr(WbDedupeSet) loaded = NULL;
  g_autoptr(WbDedupeSet) again = NULL;
  gboolean done = FALSE;

  put (set, A1, 1, TRUE, 10, NOW);
  g_assert_true (wb_dedupe_set_flush (set, NULL));
  put (set, A2, 2, TRUE, 20, NOW + 1);   /* only in the journal */

  loaded = wb_dedupe_set_new_unloaded (f->path);
  g_assert_cmpuint (wb_dedupe_set_get_size (loaded), ==, 0);
  wb_dedupe_set_load_async (loaded, NOW + 2, NULL, load_done_cb, &done);
  g_assert_true (wb_dedupe_set_is_loading (loaded));
  while (!done)
    g_main_context_iteration (NULL, TRUE);
  g_assert_false (wb_dedupe_set_is_loading (loaded));
  g_assert_cmpuint (wb_dedupe_set_get_size (loaded), ==, 2);
  g_assert_cmpuint (wb_dedupe_set_lookup (loaded, A2)->episode, ==, 2);

  put (loaded, A2, 2, FALSE, 30, NOW + 3);
  g_clear_object (&set);
  again = open_set (f, NOW + 4);
  g_assert_false (wb_dedupe_set_lookup (again, A2)->open);
}

static void
test_default_path (void)
{
  g_autofree char *path = wb_dedupe_set_default_path ();
  g_autofree char *expected = g_build_filename (g_get_user_state_dir (), "wrenchbell", "dedupe-set.json", NULL);
  g_autoptr(WbDedupeSet) memory = wb_dedupe_set_new ("");

  g_assert_cmpstr (path, ==, expected);
  g_assert_null (wb_dedupe_set_get_path (memory));
  put (memory, A1, 1, TRUE, 1, NOW);
  g_assert_true (wb_dedupe_set_flush (memory, NULL));
  g_assert_cmpuint (wb_dedupe_set_get_n_writes (memory), ==, 0);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
#define ADD(path, fn) g_test_add (path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
  ADD ("/wb/dedupe-set/journal-sync-coalesced", test_journal_sync_coalesced);
  ADD ("/wb/dedupe-set/round-trip", test_round_trip);
  ADD ("/wb/dedupe-set/journal-survives-a-crash", test_journal_survives_a_crash);
  ADD ("/wb/dedupe-set/missing-file", test_missing_file);
  ADD ("/wb/dedupe-set/corruption", test_corruption);
  ADD ("/wb/dedupe-set/truncated", test_truncated_real_file);
  ADD ("/wb/dedupe-set/huge-but-valid", test_huge_but_valid);
  ADD ("/wb/dedupe-set/bound", test_bound);
  ADD ("/wb/dedupe-set/expiry", test_expiry);
  ADD ("/wb/dedupe-set/coalesced-writes", test_coalesced_writes);
  ADD ("/wb/dedupe-set/file-modes", test_file_modes);
  ADD ("/wb/dedupe-set/journal-after-torn-line", test_journal_after_torn_line);
  ADD ("/wb/dedupe-set/oversized-files-not-read", test_oversized_files_not_read);
  ADD ("/wb/dedupe-set/load-async", test_load_async);
  g_test_add_func ("/wb/dedupe-set/default-path", test_default_path);
  g_test_add_func ("/wb/dedupe-set/writer-hand-over-stress", test_writer_hand_over_stress);
  return g_test_run ();
}
