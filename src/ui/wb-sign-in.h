/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-sign-in.h: the e-mail + password page shown while signed out (Supabase Auth). */
#pragma once

#include <adwaita.h>

#include "wb-auth.h"

G_BEGIN_DECLS

#define WB_TYPE_SIGN_IN (wb_sign_in_get_type ())

G_DECLARE_FINAL_TYPE (WbSignIn, wb_sign_in, WB, SIGN_IN, AdwBin)

/* Properties: auth (WbAuth, construct), email (string).
 * Signal: signed-in (const char *email) after a successful password sign-in. */
GtkWidget  *wb_sign_in_new            (WbAuth       *auth);
void        wb_sign_in_set_email      (WbSignIn     *self,
                                       const char   *email);
const char *wb_sign_in_get_email      (WbSignIn     *self);
/* The plain sentence shown for a failed sign-in. */
char       *wb_sign_in_describe_error (const GError *error);

G_END_DECLS
