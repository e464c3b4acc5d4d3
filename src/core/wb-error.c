/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-error.c: the single error domain of Wrenchbell's core. */

#define G_LOG_DOMAIN "wb-error"

#include "config.h"

#include <gio/gio.h>

#include "wb-error.h"

G_DEFINE_QUARK (wb-error-quark, wb_error)

/* Whether an operation that failed with @error may succeed if simply tried again later. */
gboolean
wb_error_is_retryable (const GError *error)
{
  if (error == NULL)
    return FALSE;

  if (error->domain == WB_ERROR)
    {
      switch ((WbError) error->code)
        {
        case WB_ERROR_RATE_LIMITED:
        case WB_ERROR_SERVER:
        case WB_ERROR_TIMEOUT:
        case WB_ERROR_TRANSPORT:
        case WB_ERROR_CLOSED:
        /* Retried like any unreachable server: a captive portal or a clock that is off comes and
         * goes, and nothing was sent (the handshake failed first). */
        case WB_ERROR_CERTIFICATE:
          return TRUE;
        case WB_ERROR_FAILED:
        case WB_ERROR_INVALID_DATA:
        case WB_ERROR_UNAUTHORIZED:
        case WB_ERROR_SIGNED_OUT:
        case WB_ERROR_FORBIDDEN:
        case WB_ERROR_NOT_FOUND:
        case WB_ERROR_INSECURE_URL:
        default:
          return FALSE;
        }
    }

  if (error->domain == G_IO_ERROR)
    return !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);

  /* GResolver, TLS and Soup transport failures. */
  return error->domain == G_RESOLVER_ERROR || error->domain == G_TLS_ERROR;
}

static const char *
describe_tls_errors (GTlsCertificateFlags flags)
{
  if (flags & G_TLS_CERTIFICATE_UNKNOWN_CA)
    return "signed by an unknown authority";
  if (flags & G_TLS_CERTIFICATE_BAD_IDENTITY)
    return "issued for another name";
  if (flags & G_TLS_CERTIFICATE_EXPIRED)
    return "expired";
  if (flags & G_TLS_CERTIFICATE_NOT_ACTIVATED)
    return "not valid yet";
  if (flags & G_TLS_CERTIFICATE_REVOKED)
    return "revoked";
  if (flags & G_TLS_CERTIFICATE_INSECURE)
    return "using an insecure algorithm";
  return NULL;
}

/* Maps a libsoup/GIO failure to reach the server (@what failed) into WB_ERROR: a rejected
 * certificate (G_TLS_ERROR_BAD_CERTIFICATE, or @tls_errors — GTlsCertificateFlags seen in the
 * handshake) is WB_ERROR_CERTIFICATE, named as such; anything else WB_ERROR_TRANSPORT. */
GError *
wb_error_from_transport (const GError *error,
                         guint         tls_errors,
                         const char   *what)
{
  if (g_error_matches (error, G_TLS_ERROR, G_TLS_ERROR_BAD_CERTIFICATE)
      || (error->domain == G_TLS_ERROR && tls_errors != 0))
    {
      const char *why = describe_tls_errors (tls_errors);

      return g_error_new (WB_ERROR, WB_ERROR_CERTIFICATE, "%s: " WB_ERROR_CERTIFICATE_TEXT "%s%s%s",
                          what, why != NULL ? " (" : "", why != NULL ? why : "",
                          why != NULL ? ")" : "");
    }
  return g_error_new (WB_ERROR, WB_ERROR_TRANSPORT, "%s: %s", what, error->message);
}
