/* wb-autostart-tool: drives WbAutostart for tests/desktop/test-autostart.py.
 *
 *   wb-autostart-tool enable|disable   exit 0, or exit 1 with the user-facing error on stdout
 *   wb-autostart-tool is-enabled       prints "true" or "false"
 *   wb-autostart-tool path             prints the autostart file path
 *   wb-autostart-tool uses-portal      prints "true" or "false"
 */
#include "config.h"

#include <locale.h>

#include "wb-autostart.h"

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

int
main (int   argc,
      char *argv[])
{
  g_autoptr(WbAutostart) autostart = NULL;
  const char *cmd;

  setlocale (LC_ALL, "");

  if (argc != 2)
    {
      g_printerr ("usage: %s enable|disable|is-enabled|path|uses-portal\n", argv[0]);
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
