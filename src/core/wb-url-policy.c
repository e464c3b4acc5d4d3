/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-url-policy.c: which backend addresses may carry the password and tokens. */

#define G_LOG_DOMAIN "wb-url-policy"

#include "config.h"

#include <gio/gio.h>

#include "wb-error.h"
#include "wb-url-policy.h"

/* The password, the access token and the refresh token travel in every request. Over http:// (and
 * so ws://) anyone on the path reads them, so plain http is only for this machine: loopback
 * addresses (127.0.0.0/8, ::1) and the name localhost, written as such. Anything else needs
 * https://, or the user saying explicitly that they accept it (--allow-insecure-http, the
 * WRENCHBELL_ALLOW_INSECURE_HTTP environment variable or the Preferences switch). Short or odd
 * spellings of loopback ("127.1", "0x7f000001", "localhost.") are refused rather than guessed. */

gboolean
wb_url_host_is_loopback (const char *host)
{
  g_autoptr(GInetAddress) address = NULL;

  if (host == NULL || *host == '\0')
    return FALSE;
  if (g_ascii_strcasecmp (host, "localhost") == 0)
    return TRUE;
  address = g_inet_address_new_from_string (host);
  return address != NULL && g_inet_address_get_is_loopback (address);
}

/* Returns FALSE (WB_ERROR_INSECURE_URL, or WB_ERROR_FAILED for what is not an http(s) address)
 * when nothing may be sent to @url. The message names the address without credentials. */
gboolean
wb_url_policy_check (const char  *url,
                     gboolean     allow_insecure_http,
                     GError     **error)
{
  g_autoptr(GUri) uri = NULL;
  g_autofree char *shown = NULL;
  const char *scheme;
  const char *host;

  uri = url != NULL ? g_uri_parse (url, G_URI_FLAGS_NONE, NULL) : NULL;
  scheme = uri != NULL ? g_uri_get_scheme (uri) : NULL;
  host = uri != NULL ? g_uri_get_host (uri) : NULL;
  if (uri == NULL || host == NULL || *host == '\0'
      || (g_ascii_strcasecmp (scheme, "https") != 0 && g_ascii_strcasecmp (scheme, "http") != 0))
    {
      g_set_error_literal (error, WB_ERROR, WB_ERROR_FAILED,
                           "The backend address is not an http:// or https:// address");
      return FALSE;
    }
  if (g_ascii_strcasecmp (scheme, "https") == 0 || allow_insecure_http
      || wb_url_host_is_loopback (host))
    return TRUE;

  shown = g_uri_join (G_URI_FLAGS_NONE, scheme, NULL, host, g_uri_get_port (uri), "", NULL, NULL);
  g_set_error (error, WB_ERROR, WB_ERROR_INSECURE_URL,
               "Refusing to send the password and tokens unencrypted to %s: use an https:// "
               "address, or allow unencrypted connections (--allow-insecure-http)", shown);
  return FALSE;
}
