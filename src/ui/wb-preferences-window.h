/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-preferences-window.h: the preferences, bound to GSettings. */
#pragma once

#include <adwaita.h>

#include "wb-settings.h"

G_BEGIN_DECLS

#define WB_TYPE_PREFERENCES_WINDOW (wb_preferences_window_get_type ())

G_DECLARE_FINAL_TYPE (WbPreferencesWindow, wb_preferences_window, WB, PREFERENCES_WINDOW,
                      AdwPreferencesWindow)

GtkWidget *wb_preferences_window_new (GtkWindow  *parent,    /* (nullable) */
                                      WbSettings *settings);

G_END_DECLS
