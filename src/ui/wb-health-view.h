/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-health-view.h: the diagnostics page, the core's health figures while it is shown. */
#pragma once

#include <adwaita.h>

#include "wb-pipeline.h"

G_BEGIN_DECLS

#define WB_TYPE_HEALTH_VIEW (wb_health_view_get_type ())

G_DECLARE_FINAL_TYPE (WbHealthView, wb_health_view, WB, HEALTH_VIEW, GtkBox)

GtkWidget *wb_health_view_new            (WbPipeline   *pipeline);
/* The connection state as the window words it. */
void       wb_health_view_set_state_text (WbHealthView *self,
                                          const char   *text);

G_END_DECLS
