/* libFuzzer target: any bytes as a PostgREST / GoTrue response body must never crash the parsers
 * for detail rows, catch-up rows, feature flags (table and live change), auth token responses,
 * error bodies, Retry-After values and JWT claims; and any text as an API key is classified without
 * harm (a refused kind is always refused by the workstation check too). */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wb-api-key.h"
#include "wb-auth-tokens.h"
#include "wb-catchup.h"
#include "wb-detail-fetcher.h"
#include "wb-error.h"
#include "wb-flags.h"
#include "wb-rest-client.h"

int LLVMFuzzerTestOneInput (const uint8_t *data,
                            size_t         size);

static void
exercise_node (JsonNode *node)
{
  g_autoptr(WbDetails) details = NULL;
  g_autoptr(GPtrArray) rows = NULL;
  g_autoptr(WbFlags) flags = wb_flags_new (NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *message = NULL;
  g_autofree char *code = NULL;
  WbAuthTokens tokens;

  wb_rest_parse_error_body (node, &message, &code);
  if (message != NULL && !g_utf8_validate (message, -1, NULL))
    abort ();

  details = wb_details_parse (node, &error);
  if ((details == NULL) == (error == NULL))
    abort ();
  if (details != NULL && details->session_id == NULL)
    abort ();
  g_clear_error (&error);

  rows = wb_catchup_parse_rows (node, &error);
  if ((rows == NULL) == (error == NULL))
    abort ();
  for (guint i = 0; rows != NULL && i < rows->len; i++)
    if (!json_object_has_member (rows->pdata[i], "id"))
      abort ();
  g_clear_error (&error);

  if (!wb_flags_load_from_json (flags, node, &error) && error == NULL)
    abort ();
  g_clear_error (&error);
  if (JSON_NODE_HOLDS_OBJECT (node))
    wb_flags_apply_change (flags, json_node_get_object (node));
  for (guint t = 0; t < WB_N_TIERS; t++)
    wb_flags_tier_enabled (flags, t);

  if (wb_auth_parse_token_response (node, 1763636400, &tokens, &error))
    {
      if (tokens.access_token == NULL || tokens.refresh_token == NULL || tokens.expires_at <= 0)
        abort ();
      wb_auth_tokens_clear (&tokens);
    }
  else if (error == NULL)
    abort ();
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autoptr(JsonNode) node = NULL;
  g_autoptr(JsonNode) claims = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *text = g_strndup ((const char *) data, MIN (size, 4096));
  guint ms;

  ms = wb_rest_parse_retry_after (text, 1763636400);
  if (ms > 3600 * 1000)
    abort ();
  claims = wb_auth_decode_jwt_claims (text);
  if (claims != NULL && !JSON_NODE_HOLDS_OBJECT (claims))
    abort ();
  {
    WbApiKeyKind kind = wb_api_key_classify (text);
    g_autoptr(GError) key_error = NULL;

    if (wb_api_key_is_refused (kind) == wb_api_key_check_workstation (text, &key_error)
        || (key_error != NULL) != wb_api_key_is_refused (kind)
        || wb_api_key_kind_to_string (kind) == NULL)
      abort ();
    if (kind == WB_API_KEY_PUBLISHABLE && !g_str_has_prefix (text, "sb_publishable_"))
      abort ();
  }

  if (!wb_rest_parse_body ((const char *) data, size, &node, &error))
    {
      if (error == NULL || !g_error_matches (error, WB_ERROR, WB_ERROR_INVALID_DATA))
        abort ();
      return 0;
    }
  if (node != NULL)
    exercise_node (node);
  return 0;
}
