/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-auth-tokens.c: pure parsing of GoTrue token responses and JWT claims. */

#define G_LOG_DOMAIN "wb-auth"

#include "config.h"

#include <string.h>

#include "wb-auth-tokens.h"
#include "wb-error.h"
#include "wb-json.h"
#include "wb-secret.h"

#define DEFAULT_LIFETIME_S 3600
#define MAX_CLAIMS_DEPTH   32   /* claims nest a few levels (app_metadata, amr) */

/* Pure parsing of GoTrue token responses and JWT claims (fuzzed). */

void
wb_auth_tokens_clear (WbAuthTokens *tokens)
{
  wb_secret_clear (&tokens->access_token);
  wb_secret_clear (&tokens->refresh_token);
  g_clear_pointer (&tokens->user_id, g_free);
  tokens->expires_at = 0;
  tokens->expires_in = 0;
}

/* Decodes the claims (middle part) of a JWT without verifying it; NULL if malformed. */
JsonNode *
wb_auth_decode_jwt_claims (const char *jwt)
{
  g_autofree char *b64 = NULL;
  g_autofree guchar *raw = NULL;
  g_autoptr(JsonNode) claims = NULL;
  const char *dot1;
  const char *dot2;
  gsize len;
  gsize raw_len = 0;
  gsize i;

  if (jwt == NULL || (dot1 = strchr (jwt, '.')) == NULL || (dot2 = strchr (dot1 + 1, '.')) == NULL)
    return NULL;
  len = (gsize) (dot2 - dot1 - 1);
  if (len == 0 || len > 64 * 1024)
    return NULL;
  b64 = g_malloc (len + 4);
  for (i = 0; i < len; i++)
    {
      char c = dot1[1 + i];

      if (!g_ascii_isalnum (c) && c != '-' && c != '_')
        return NULL;
      b64[i] = c == '-' ? '+' : c == '_' ? '/' : c;
    }
  while (i % 4 != 0)
    b64[i++] = '=';
  b64[i] = '\0';
  raw = g_base64_decode (b64, &raw_len);
  if (raw == NULL)
    return NULL;
  claims = wb_json_parse ((const char *) raw, raw_len, MAX_CLAIMS_DEPTH, NULL);
  if (claims == NULL || !JSON_NODE_HOLDS_OBJECT (claims))
    return NULL;
  return g_steal_pointer (&claims);
}

/* Parses a 200 response of /auth/v1/token (password or refresh_token grant). */
gboolean
wb_auth_parse_token_response (JsonNode      *node,
                              gint64         now_unix,
                              WbAuthTokens  *out,
                              GError       **error)
{
  g_autoptr(JsonNode) claims = NULL;
  JsonObject *obj;
  JsonObject *claims_obj = NULL;
  JsonObject *user;
  const char *access;
  const char *refresh;
  const char *uid = NULL;
  gint64 v = 0;

  memset (out, 0, sizeof *out);
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    goto invalid;
  obj = json_node_get_object (node);
  access = wb_json_get_string (obj, "access_token");
  refresh = wb_json_get_string (obj, "refresh_token");
  if (access == NULL || access[0] == '\0' || refresh == NULL || refresh[0] == '\0')
    goto invalid;

  claims = wb_auth_decode_jwt_claims (access);
  if (claims != NULL)
    claims_obj = json_node_get_object (claims);
  user = wb_json_get_object (obj, "user");
  uid = wb_json_get_string (user, "id");
  if (uid == NULL)
    uid = wb_json_get_string (claims_obj, "sub");

  if (wb_json_get_number (obj, "expires_in", &v) && v > 0 && v < G_MAXINT32)
    {
      out->expires_in = v;
      out->expires_at = now_unix + v;
    }
  else if ((wb_json_get_number (obj, "expires_at", &v)
            || wb_json_get_number (claims_obj, "exp", &v)) && v > 0)
    {
      out->expires_at = v;
      out->expires_in = MAX (v - now_unix, 0);
    }
  else
    {
      out->expires_in = DEFAULT_LIFETIME_S;
      out->expires_at = now_unix + DEFAULT_LIFETIME_S;
    }

  out->access_token = g_strdup (access);
  out->refresh_token = g_strdup (refresh);
  out->user_id = g_strdup (uid);
  return TRUE;

invalid:
  g_set_error_literal (error, WB_ERROR, WB_ERROR_INVALID_DATA,
                       "Auth response has no access or refresh token");
  return FALSE;
}
