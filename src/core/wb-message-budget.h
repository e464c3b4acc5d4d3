/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-message-budget.h: a byte budget per websocket message for libsoup without
 * max-total-message-size (before 3.7.1). See wb-message-budget.c. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct _WbMessageBudget WbMessageBudget;

typedef void (*WbMessageBudgetFunc) (gpointer user_data);

WbMessageBudget *wb_message_budget_new  (GSocket             *socket,
                                         guint64              limit,
                                         WbMessageBudgetFunc  exceeded,
                                         gpointer             user_data);
void             wb_message_budget_mark (WbMessageBudget     *self);
gboolean         wb_message_budget_exceeded (WbMessageBudget *self);
void             wb_message_budget_free (WbMessageBudget     *self);

G_END_DECLS
