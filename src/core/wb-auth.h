/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-auth.h: Supabase Auth session: password sign-in, refresh-token rotation ahead of expiry. */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "wb-rest-client.h"

G_BEGIN_DECLS

typedef enum
{
  WB_AUTH_STATE_SIGNED_OUT,
  WB_AUTH_STATE_SIGNING_IN,
  WB_AUTH_STATE_SIGNED_IN,
  WB_AUTH_STATE_REFRESHING,
} WbAuthState;

#define WB_TYPE_AUTH_STATE (wb_auth_state_get_type ())
GType wb_auth_state_get_type (void) G_GNUC_CONST;

#define WB_TYPE_AUTH (wb_auth_get_type ())

G_DECLARE_FINAL_TYPE (WbAuth, wb_auth, WB, AUTH, GObject)

WbAuth      *wb_auth_new                     (WbRestClient        *rest);
void         wb_auth_sign_in_password_async  (WbAuth              *self,
                                              const char          *email,
                                              const char          *password,
                                              GCancellable        *cancellable,
                                              GAsyncReadyCallback  callback,
                                              gpointer             user_data);
gboolean     wb_auth_sign_in_password_finish (WbAuth              *self,
                                              GAsyncResult        *result,
                                              GError             **error);
void         wb_auth_refresh_async           (WbAuth              *self,
                                              GCancellable        *cancellable,
                                              GAsyncReadyCallback  callback,
                                              gpointer             user_data);
gboolean     wb_auth_refresh_finish          (WbAuth              *self,
                                              GAsyncResult        *result,
                                              GError             **error);
void         wb_auth_refresh_soon            (WbAuth              *self,
                                              const char          *reason);
void         wb_auth_sign_out                (WbAuth              *self);
void         wb_auth_set_refresh_token       (WbAuth              *self,
                                              const char          *refresh_token);
void         wb_auth_set_retry_backoff       (WbAuth              *self,
                                              guint                base_ms,
                                              guint                max_ms,
                                              guint                attempts_before_failing);

WbAuthState  wb_auth_get_state               (WbAuth              *self);
const char  *wb_auth_get_access_token        (WbAuth              *self);
const char  *wb_auth_get_refresh_token       (WbAuth              *self);
gint64       wb_auth_get_expires_at          (WbAuth              *self);
const char  *wb_auth_get_user_id             (WbAuth              *self);
guint        wb_auth_get_refresh_requests    (WbAuth              *self);
gint64       wb_auth_get_next_refresh_in_ms  (WbAuth              *self);

G_END_DECLS
