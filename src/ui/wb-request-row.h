/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-request-row.h: one queued request in the window's list. Text is shown literally. */
#pragma once

#include <gtk/gtk.h>

#include "wb-alert-record.h"

G_BEGIN_DECLS

#define WB_REQUEST_ROW_MAX_CHARS 160

#define WB_TYPE_REQUEST_ROW (wb_request_row_get_type ())

G_DECLARE_FINAL_TYPE (WbRequestRow, wb_request_row, WB, REQUEST_ROW, GtkListBoxRow)

GtkWidget  *wb_request_row_new            (const WbAlertRecord *record);
const char *wb_request_row_get_assignment_id (WbRequestRow     *self);
/* Shows @record (the same assignment, e.g. with details that arrived later). */
void        wb_request_row_update         (WbRequestRow        *self,
                                           const WbAlertRecord *record);
/* The Accept button shows progress and takes no click while the backend decides. */
void        wb_request_row_set_accepting  (WbRequestRow        *self,
                                           gboolean             accepting);
gboolean    wb_request_row_get_accepting  (WbRequestRow        *self);
/* One line under the details ("Already taken by Bob"); NULL hides it. Plain text, cleaned here. */
void        wb_request_row_set_note       (WbRequestRow        *self,
                                           const char          *text);
/* The request left the queue: @text says how ("Taken by Bob"), the buttons go, and
 * @offer_dashboard shows Open Dashboard (a request we took). */
void        wb_request_row_set_ended      (WbRequestRow        *self,
                                           const char          *text,
                                           gboolean             offer_dashboard);
gboolean    wb_request_row_get_ended      (WbRequestRow        *self);
/* Refreshes "waiting N min" against @now_us (wall clock, µs). */
void        wb_request_row_update_waiting (WbRequestRow        *self,
                                           gint64               now_us);
/* "5 s", "3 min", "2 h 5 min": how long a request has been waiting (translated). */
char       *wb_request_row_format_waiting (gint64               waited_us);
/* @text without control characters, cut to @max_chars characters with "…" (never mid-character). */
char       *wb_request_row_clean_text     (const char          *text,
                                           guint                max_chars);

G_END_DECLS
