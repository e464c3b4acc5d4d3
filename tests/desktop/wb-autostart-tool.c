/* wb-autostart-tool: drives WbAutostart for tests/desktop/test-autostart.py.
 *
 *   wb-autostart-tool enable|disable   exit 0, or exit 1 with the user-facing error on stdout
 *   wb-autostart-tool is-enabled       prints "true" or "false"
 *   wb-autostart-tool path             prints the autostart file path
 *   wb-autostart-tool uses-portal      prints "true" or "false"
 *   wb-autostart-tool status WAITING STATE
 *                                      WbBackgroundStatus: prints "message: …", "can-send: true|
 *                                      false" and, once the portal answered (or after 10 s),
 *                                      "sent: N"
 */
#include "config.h"

#include <locale.h>

#include "wb-autostart.h"
#include "wb-background-status.h"

typedef struct {
  GMainLoop *loop;
  gboolean   ok;
  GError    *error;
} Result;

static void
set_enabled_cb (GObject      *object,
                GAsyncResult *result,
                gpointer      user_data)
{
  Result *r = user_data;

  r->ok = wb_autostart_set_enabled_finish (WB_AUTOSTART (object), result, &r->error);
  g_main_loop_quit (r->loop);
}

static gboolean
give_up_cb (gpointer user_data)
{
  gboolean *timed_out = user_data;

  *timed_out = TRUE;
  return G_SOURCE_REMOVE;
}

static int
background_status (const char *waiting,
                   const char *state)
{
  g_autoptr(WbBackgroundStatus) status = wb_background_status_new ();
  gboolean timed_out = FALSE;
  guint timeout_id;

  wb_background_status_update (status, (guint) g_ascii_strtoull (waiting, NULL, 10), state);
  g_print ("message: %s\n", wb_background_status_get_message (status));
  g_print ("can-send: %s\n", wb_background_status_can_send () ? "true" : "false");
  if (!wb_background_status_can_send ())
    return 0;
  timeout_id = g_timeout_add_seconds (10, give_up_cb, &timed_out);
  while (!timed_out && wb_background_status_get_sent (status) == 0)
    g_main_context_iteration (NULL, TRUE);
  if (!timed_out)
    g_source_remove (timeout_id);
  g_print ("sent: %u\n", wb_background_status_get_sent (status));
  return 0;
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(WbAutostart) autostart = NULL;
  const char *cmd;

  setlocale (LC_ALL, "");

  if (argc == 4 && g_str_equal (argv[1], "status"))
    return background_status (argv[2], argv[3]);
  if (argc != 2)
    {
      g_printerr ("usage: %s enable|disable|is-enabled|path|uses-portal|status WAITING STATE\n",
                  argv[0]);
      return 2;
    }
  cmd = argv[1];
  autostart = wb_autostart_new ();

  if (g_str_equal (cmd, "enable") || g_str_equal (cmd, "disable"))
    {
      Result r = { g_main_loop_new (NULL, FALSE), FALSE, NULL };

      wb_autostart_set_enabled_async (autostart, g_str_equal (cmd, "enable"), NULL, NULL,
                                      set_enabled_cb, &r);
      g_main_loop_run (r.loop);
      g_main_loop_unref (r.loop);
      if (!r.ok)
        {
          g_assert (r.error != NULL);
          g_print ("error: %s: %d: %s\n", g_quark_to_string (r.error->domain), r.error->code,
                   r.error->message);
          g_error_free (r.error);
          return 1;
        }
      g_assert (r.error == NULL);
      g_print ("ok\n");
      return 0;
    }
  if (g_str_equal (cmd, "is-enabled"))
    {
      g_print ("%s\n", wb_autostart_is_enabled (autostart) ? "true" : "false");
      return 0;
    }
  if (g_str_equal (cmd, "path"))
    {
      g_autofree char *path = wb_autostart_get_file_path (autostart);

      g_print ("%s\n", path);
      return 0;
    }
  if (g_str_equal (cmd, "uses-portal"))
    {
      g_print ("%s\n", wb_autostart_uses_portal (autostart) ? "true" : "false");
      return 0;
    }

  g_printerr ("unknown command %s\n", cmd);
  return 2;
}
