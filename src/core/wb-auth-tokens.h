/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-auth-tokens.h: pure parsing of GoTrue token responses and JWT claims (wb-auth-tokens.c). */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* One parsed GoTrue token response (pure; fuzzed). */
typedef struct
{
  char   *access_token;
  char   *refresh_token;
  char   *user_id;       /* (nullable) user.id, else the token's "sub" */
  gint64  expires_at;    /* unix seconds */
  gint64  expires_in;    /* seconds of lifetime at issue */
} WbAuthTokens;

gboolean wb_auth_parse_token_response (JsonNode     *node,
                                       gint64        now_unix,
                                       WbAuthTokens *out,
                                       GError      **error);
void     wb_auth_tokens_clear         (WbAuthTokens *tokens);
JsonNode *wb_auth_decode_jwt_claims   (const char   *jwt);

G_END_DECLS
