/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-queue-view.h: the queue page — waiting requests, how each one ended, Accept's progress. */
#pragma once

#include <adwaita.h>

#include "wb-pipeline.h"
#include "wb-settings.h"

G_BEGIN_DECLS

#define WB_TYPE_QUEUE_VIEW (wb_queue_view_get_type ())

G_DECLARE_FINAL_TYPE (WbQueueView, wb_queue_view, WB, QUEUE_VIEW, GtkBox)

/* Follows @pipeline from now on; @settings (nullable) for the dashboard URL. Once. */
void wb_queue_view_set_pipeline      (WbQueueView *self,
                                      WbPipeline  *pipeline,
                                      WbSettings  *settings);
/* Focuses the row of @assignment_id if it is there. */
void wb_queue_view_show_assignment   (WbQueueView *self,
                                      const char  *assignment_id);

G_END_DECLS
