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
          return TRUE;
        case WB_ERROR_FAILED:
        case WB_ERROR_INVALID_DATA:
        case WB_ERROR_UNAUTHORIZED:
        case WB_ERROR_SIGNED_OUT:
        case WB_ERROR_FORBIDDEN:
        case WB_ERROR_NOT_FOUND:
        default:
          return FALSE;
        }
    }

  if (error->domain == G_IO_ERROR)
    return !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);

  /* GResolver, TLS and Soup transport failures. */
  return error->domain == G_RESOLVER_ERROR || error->domain == G_TLS_ERROR;
}
