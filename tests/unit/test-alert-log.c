#include "config.h"

#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <glib/gstdio.h>

#include "wb-alert-log.h"

static WbAlertRecord *
record_for (const char *id)
{
  WbAlertRecord *r = wb_alert_record_new (WB_ALERT_KIND_ALERT, id);

  r->source = "postgres_changes";
  r->customer = g_strdup ("Ana Lima");
  r->episode = 1;
  return r;
}

static char **
read_lines (const char *path)
{
  g_autofree char *text = NULL;

  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  return g_strsplit (text, "\n", -1);
}

static gboolean
parses (const char *line)
{
  g_autoptr(JsonParser) parser = json_parser_new ();

  return json_parser_load_from_data (parser, line, -1, NULL)
         && JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser));
}

/* The disk fills up in the middle of a record (here: a file size limit, so the write is really
 * cut short by the kernel). The broken record stays broken, but the next one, once there is room
 * again, starts on a line of its own instead of being glued onto it. */
static void
partial_write_child (void)
{
  g_autofree char *dir = g_dir_make_tmp ("wb-alert-log-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "alerts.jsonl", NULL);
  g_autoptr(WbAlertLog) log = NULL;
  g_autoptr(WbAlertRecord) first = record_for ("first");
  g_autoptr(WbAlertRecord) torn = record_for ("torn");
  g_autoptr(WbAlertRecord) after = record_for ("after");
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) lines = NULL;
  struct rlimit limit;
  GStatBuf st;

  log = wb_alert_log_new (path, &error);
  g_assert_no_error (error);
  g_assert_true (wb_alert_log_append (log, first, &error));
  g_assert_no_error (error);

  /* Room for 20 more bytes only: the next record is cut after 20 (EFBIG, no SIGXFSZ). */
  signal (SIGXFSZ, SIG_IGN);
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpint (getrlimit (RLIMIT_FSIZE, &limit), ==, 0);
  limit.rlim_cur = st.st_size + 20;
  g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &limit), ==, 0);
  g_assert_false (wb_alert_log_append (log, torn, &error));
  g_assert_nonnull (error);
  g_assert_true (error->domain == G_IO_ERROR);
  g_clear_error (&error);
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_size, ==, limit.rlim_cur);

  limit.rlim_cur = limit.rlim_max;
  g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &limit), ==, 0);
  g_assert_true (wb_alert_log_append (log, after, &error));
  g_assert_no_error (error);

  lines = read_lines (path);
  g_assert_cmpuint (g_strv_length (lines), ==, 4);    /* first, torn, after, "" */
  g_assert_true (parses (lines[0]));
  g_assert_nonnull (strstr (lines[0], "\"first\""));
  g_assert_false (parses (lines[1]));
  g_assert_cmpuint (strlen (lines[1]), ==, 20);
  g_assert_true (parses (lines[2]));
  g_assert_nonnull (strstr (lines[2], "\"after\""));
  g_assert_cmpstr (lines[3], ==, "");

  g_assert_cmpint (g_unlink (path), ==, 0);
  g_assert_cmpint (g_rmdir (dir), ==, 0);
}

static void
test_partial_write (void)
{
  if (g_test_subprocess ())
    {
      partial_write_child ();
      return;
    }
  /* In a child: the file size limit must not leak into other tests. */
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
}

/* The log is the user's alone, whatever the umask, and appends to what is there. */
static void
test_mode_and_append (void)
{
  g_autofree char *dir = g_dir_make_tmp ("wb-alert-log-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "sub", "alerts.jsonl", NULL);
  g_autofree char *sub = g_path_get_dirname (path);
  g_autoptr(WbAlertRecord) r = record_for ("a");
  g_auto(GStrv) lines = NULL;
  mode_t old = umask (0);
  GStatBuf st;

  for (int i = 0; i < 2; i++)
    {
      g_autoptr(WbAlertLog) log = wb_alert_log_new (path, NULL);

      g_assert_nonnull (log);
      g_assert_true (wb_alert_log_append (log, r, NULL));
    }
  umask (old);
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
  lines = read_lines (path);
  g_assert_cmpuint (g_strv_length (lines), ==, 3);
  g_assert_true (parses (lines[0]) && parses (lines[1]));
  g_assert_cmpint (g_unlink (path), ==, 0);
  g_assert_cmpint (g_rmdir (sub), ==, 0);
  g_assert_cmpint (g_rmdir (dir), ==, 0);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/wb/alert-log/partial-write", test_partial_write);
  g_test_add_func ("/wb/alert-log/mode-and-append", test_mode_and_append);
  return g_test_run ();
}
