/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-error.h: the single error domain of Wrenchbell's core. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define WB_ERROR (wb_error_quark ())

typedef enum
{
  WB_ERROR_FAILED,          /* anything else */
  WB_ERROR_INVALID_DATA,    /* a frame, payload or file that does not parse or has the wrong shape */
  WB_ERROR_UNAUTHORIZED,    /* 401 / expired or rejected token: refresh and retry once */
  WB_ERROR_SIGNED_OUT,      /* refresh token revoked or missing: needs the user */
  WB_ERROR_FORBIDDEN,       /* 403 */
  WB_ERROR_NOT_FOUND,       /* 404 / 406 PGRST116 / row hidden by RLS */
  WB_ERROR_RATE_LIMITED,    /* 429 */
  WB_ERROR_SERVER,          /* 5xx */
  WB_ERROR_TIMEOUT,         /* our own deadline passed */
  WB_ERROR_TRANSPORT,       /* connection refused/reset, DNS, TLS */
  WB_ERROR_CLOSED,          /* socket or channel closed */
  WB_ERROR_INSECURE_URL,    /* plain http:// to a machine other than this one, not allowed: nothing sent */
  WB_ERROR_CERTIFICATE,     /* the server's TLS certificate is not trusted */
} WbError;

#define WB_ERROR_CERTIFICATE_TEXT "the server's certificate is not trusted"

GQuark   wb_error_quark          (void);
gboolean wb_error_is_retryable   (const GError *error);
GError  *wb_error_from_transport (const GError *error,
                                  guint         tls_errors,
                                  const char   *what);

G_END_DECLS
