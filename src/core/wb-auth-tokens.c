#define G_LOG_DOMAIN "wb-auth-tokens"

#include "config.h"

#include <string.h>

#include "wb-auth.h"
#include "wb-error.h"
#include "wb-secret.h"

#define DEFAULT_LIFETIME_S 3600

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
  g_autoptr(JsonParser) parser = NULL;
  g_autofree char *b64 = NULL;
  g_autofree guchar *raw = NULL;
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
  parser = json_parser_new_immutable ();
  if (raw == NULL || !g_utf8_validate_len ((const char *) raw, raw_len, NULL)
      || !json_parser_load_from_data (parser, (const char *) raw, (gssize) raw_len, NULL)
      || json_parser_get_root (parser) == NULL
      || !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    return NULL;
  return json_node_ref (json_parser_get_root (parser));
}

static const char *
get_string (JsonObject *obj,
            const char *member)
{
  JsonNode *n = obj != NULL ? json_object_get_member (obj, member) : NULL;

  if (n == NULL || !JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (n);
}

static gboolean
get_int (JsonObject *obj,
         const char *member,
         gint64     *out)
{
  JsonNode *n = obj != NULL ? json_object_get_member (obj, member) : NULL;

  if (n == NULL || !JSON_NODE_HOLDS_VALUE (n))
    return FALSE;
  if (json_node_get_value_type (n) == G_TYPE_INT64)
    *out = json_node_get_int (n);
  else if (json_node_get_value_type (n) == G_TYPE_DOUBLE)
    *out = (gint64) CLAMP (json_node_get_double (n), -1e15, 1e15);
  else
    return FALSE;
  return TRUE;
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
  JsonNode *user;
  const char *access;
  const char *refresh;
  const char *uid = NULL;
  gint64 v = 0;

  memset (out, 0, sizeof *out);
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    goto invalid;
  obj = json_node_get_object (node);
  access = get_string (obj, "access_token");
  refresh = get_string (obj, "refresh_token");
  if (access == NULL || access[0] == '\0' || refresh == NULL || refresh[0] == '\0')
    goto invalid;

  claims = wb_auth_decode_jwt_claims (access);
  if (claims != NULL)
    claims_obj = json_node_get_object (claims);
  user = json_object_get_member (obj, "user");
  if (user != NULL && JSON_NODE_HOLDS_OBJECT (user))
    uid = get_string (json_node_get_object (user), "id");
  if (uid == NULL)
    uid = get_string (claims_obj, "sub");

  if (get_int (obj, "expires_in", &v) && v > 0 && v < G_MAXINT32)
    {
      out->expires_in = v;
      out->expires_at = now_unix + v;
    }
  else if ((get_int (obj, "expires_at", &v) || get_int (claims_obj, "exp", &v)) && v > 0)
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
