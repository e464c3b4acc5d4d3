/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-ui.c: the window app's entry point (main.c hands over everything but --headless, --status and
 * --accept). */
#define G_LOG_DOMAIN "wb-ui"

#include "config.h"

#include <glib/gi18n.h>

#include "wb-application.h"
#include "wb-ui.h"

int
wb_ui_main (int    argc,
            char **argv)
{
  g_autoptr(WbApplication) app = NULL;
  const char *localedir = g_getenv ("WB_LOCALEDIR");

  /* Tests and uninstalled runs point at the build tree's compiled translations. */
  if (localedir != NULL && *localedir != '\0')
    bindtextdomain (GETTEXT_PACKAGE, localedir);

  /* GStreamer is initialised after the first frame (WbApplication, wb_alert_sound_prepare_async). */
  app = wb_application_new ();
  return g_application_run (G_APPLICATION (app), argc, argv);
}
