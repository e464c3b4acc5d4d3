/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-autostart.h: start Wrenchbell at login.
 *
 * Inside Flatpak the Background portal is asked (libportal: autostart with
 * `wrenchbell --background`); outside it an XDG autostart file is written to or removed from
 * $XDG_CONFIG_HOME/autostart/. A refused request ends in an error for the UI to show.
 */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define WB_TYPE_AUTOSTART (wb_autostart_get_type ())

G_DECLARE_FINAL_TYPE (WbAutostart, wb_autostart, WB, AUTOSTART, GObject)

WbAutostart *wb_autostart_new               (void);
gboolean     wb_autostart_sandboxed         (void);

gboolean     wb_autostart_uses_portal       (WbAutostart          *self);
char        *wb_autostart_get_file_path     (WbAutostart          *self);
gboolean     wb_autostart_is_enabled        (WbAutostart          *self);

void         wb_autostart_set_enabled_async (WbAutostart          *self,
                                             gboolean              enable,
                                             GtkWindow            *parent,
                                             GCancellable         *cancellable,
                                             GAsyncReadyCallback   callback,
                                             gpointer              user_data);
gboolean     wb_autostart_set_enabled_finish (WbAutostart         *self,
                                              GAsyncResult        *result,
                                              GError             **error);

G_END_DECLS
