/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-token-store.h: the Supabase refresh token in the keyring (libsecret), never in a file. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define WB_TYPE_TOKEN_STORE (wb_token_store_get_type ())

G_DECLARE_FINAL_TYPE (WbTokenStore, wb_token_store, WB, TOKEN_STORE, GObject)

WbTokenStore *wb_token_store_new           (const char           *backend_url);

void          wb_token_store_lookup_async  (WbTokenStore         *self,
                                            GCancellable         *cancellable,
                                            GAsyncReadyCallback   callback,
                                            gpointer              user_data);
/* Returns the stored refresh token, or NULL (with no error) when there is none. */
char         *wb_token_store_lookup_finish (WbTokenStore         *self,
                                            GAsyncResult         *result,
                                            GError              **error);
/* Fire and forget: failures are logged at debug level, without the token. */
void          wb_token_store_save          (WbTokenStore         *self,
                                            const char           *refresh_token);
void          wb_token_store_clear         (WbTokenStore         *self);

G_END_DECLS
