/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-window.h: the main window — connection state, the live queue, diagnostics, sign-in. */
#pragma once

#include <adwaita.h>

#include "wb-alert-tray.h"
#include "wb-pipeline.h"
#include "wb-settings.h"

G_BEGIN_DECLS

#define WB_TYPE_WINDOW (wb_window_get_type ())

G_DECLARE_FINAL_TYPE (WbWindow, wb_window, WB, WINDOW, AdwApplicationWindow)

WbWindow        *wb_window_new               (AdwApplication *application,
                                              WbPipeline     *pipeline,
                                              WbAlertTray    *tray,      /* (nullable) */
                                              WbSettings     *settings); /* (nullable) */
AdwToastOverlay *wb_window_get_toast_overlay (WbWindow       *self);
/* A plain-text (never markup) toast with the app's own messages. */
void             wb_window_show_message      (WbWindow       *self,
                                              const char     *text);
/* Brings the queue page up and focuses the row of @assignment_id if it is still queued. */
void             wb_window_show_assignment   (WbWindow       *self,
                                              const char     *assignment_id);
void             wb_window_show_page         (WbWindow       *self,
                                              const char     *page);

G_END_DECLS
