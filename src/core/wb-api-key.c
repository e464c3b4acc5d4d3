/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-api-key.c: which kind of Supabase API key the app was given — the one place that tells.
 *
 * Everything else treats the API key as an opaque string: it goes in the `apikey` header and
 * query parameter, and as the bearer only where it equals the `apikey` value (wb-rest-client.c).
 * Nothing reads an expiry or a role out of it; the classifier looks inside a legacy JWT key only
 * to refuse a service_role key. Pure, fuzzed (tests/fuzz/fuzz-rest-response.c). */

#define G_LOG_DOMAIN "wb-api-key"

#include "config.h"

#include <string.h>

#include "wb-api-key.h"
#include "wb-auth-tokens.h"
#include "wb-error.h"
#include "wb-json.h"

#define PUBLISHABLE_PREFIX "sb_publishable_"
#define SECRET_PREFIX      "sb_secret_"

/* Printable ASCII without space: what an HTTP header value and a URL query can carry as is. */
static gboolean
key_chars_ok (const char *key,
              gsize      *out_len)
{
  gsize len = 0;

  for (const char *p = key; *p != '\0'; p++, len++)
    {
      if (len >= WB_API_KEY_MAX_LENGTH || (guchar) *p < 0x21 || (guchar) *p > 0x7e)
        return FALSE;
    }
  *out_len = len;
  return len > 0;
}

/* Three non-empty dot-separated parts: the shape of a JWT. */
static gboolean
jwt_shaped (const char *key)
{
  const char *dot1 = strchr (key, '.');
  const char *dot2 = dot1 != NULL ? strchr (dot1 + 1, '.') : NULL;

  return dot1 != NULL && dot2 != NULL && dot1 > key && dot2 > dot1 + 1 && dot2[1] != '\0'
         && strchr (dot2 + 1, '.') == NULL;
}

/* Tells the kind of @key by its form alone; never verifies anything and never fails. */
WbApiKeyKind
wb_api_key_classify (const char *key)
{
  g_autoptr(JsonNode) claims = NULL;
  const char *role;
  gsize len = 0;

  if (key == NULL || !key_chars_ok (key, &len))
    return WB_API_KEY_INVALID;
  if (g_str_has_prefix (key, PUBLISHABLE_PREFIX) && len > strlen (PUBLISHABLE_PREFIX))
    return WB_API_KEY_PUBLISHABLE;
  /* Even a malformed secret key is somebody's secret: refused the same. */
  if (g_str_has_prefix (key, SECRET_PREFIX))
    return WB_API_KEY_SECRET;
  if (!jwt_shaped (key))
    return WB_API_KEY_OTHER;

  /* A legacy key: only its role is read, to keep a service_role key off the workstation. */
  claims = wb_auth_decode_jwt_claims (key);
  role = claims != NULL ? wb_json_get_string (json_node_get_object (claims), "role") : NULL;
  if (g_strcmp0 (role, "service_role") == 0)
    return WB_API_KEY_LEGACY_SERVICE_ROLE;
  if (g_strcmp0 (role, "anon") == 0)
    return WB_API_KEY_LEGACY_ANON;
  return WB_API_KEY_OTHER;
}

/* The name `--status` reports (the key itself never appears anywhere). */
const char *
wb_api_key_kind_to_string (WbApiKeyKind kind)
{
  switch (kind)
    {
    case WB_API_KEY_PUBLISHABLE:
      return "publishable";
    case WB_API_KEY_SECRET:
      return "secret";
    case WB_API_KEY_LEGACY_ANON:
      return "legacy_anon";
    case WB_API_KEY_LEGACY_SERVICE_ROLE:
      return "legacy_service_role";
    case WB_API_KEY_OTHER:
      return "other";
    case WB_API_KEY_INVALID:
    default:
      return "invalid";
    }
}

/* Keys no workstation may hold, or that cannot be sent at all. */
gboolean
wb_api_key_is_refused (WbApiKeyKind kind)
{
  return kind == WB_API_KEY_INVALID || kind == WB_API_KEY_SECRET
         || kind == WB_API_KEY_LEGACY_SERVICE_ROLE;
}

/* Returns %FALSE, with a message a user can act on (never containing the key), for a key the app
 * refuses to start with. */
gboolean
wb_api_key_check_workstation (const char  *key,
                              GError     **error)
{
  switch (wb_api_key_classify (key))
    {
    case WB_API_KEY_SECRET:
      g_set_error_literal (error, WB_ERROR, WB_ERROR_FORBIDDEN,
                           "This is a secret API key (sb_secret_…). It gives full access to the "
                           "project's data and must never be kept on a workstation. Use the "
                           "project's publishable key (sb_publishable_…) instead, and consider "
                           "rotating the secret key in the Supabase dashboard.");
      return FALSE;
    case WB_API_KEY_LEGACY_SERVICE_ROLE:
      g_set_error_literal (error, WB_ERROR, WB_ERROR_FORBIDDEN,
                           "This is the project's legacy service_role key. It bypasses Row Level "
                           "Security and must never be kept on a workstation. Use the project's "
                           "publishable key (sb_publishable_…) instead, and consider rotating "
                           "the JWT secret in the Supabase dashboard.");
      return FALSE;
    case WB_API_KEY_INVALID:
      g_set_error_literal (error, WB_ERROR, WB_ERROR_INVALID_DATA,
                           "The API key is empty, too long, or contains spaces or control "
                           "characters. Copy the project's publishable key (sb_publishable_…) "
                           "again from the Supabase dashboard.");
      return FALSE;
    case WB_API_KEY_PUBLISHABLE:
    case WB_API_KEY_LEGACY_ANON:
    case WB_API_KEY_OTHER:
    default:
      return TRUE;
    }
}
