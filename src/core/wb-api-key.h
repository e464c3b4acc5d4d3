/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-api-key.h: which kind of Supabase API key the app was given — the one place that tells.
 *
 * Everything else treats the API key as an opaque string: it goes in the `apikey` header and
 * query parameter, and as the bearer only where it equals the `apikey` value (wb-rest-client.c).
 * Nothing reads an expiry or a role out of it; the classifier looks inside a legacy JWT key only
 * to refuse a service_role key. Pure, fuzzed (tests/fuzz/fuzz-rest-response.c). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Longer than any key Supabase issues (a legacy JWT key is ~200 characters). */
#define WB_API_KEY_MAX_LENGTH 4096

typedef enum
{
  WB_API_KEY_INVALID,              /* empty, too long, or a character no HTTP header can carry */
  WB_API_KEY_PUBLISHABLE,          /* sb_publishable_… : the anon role, safe on a workstation */
  WB_API_KEY_SECRET,               /* sb_secret_… : service_role, refused */
  WB_API_KEY_LEGACY_ANON,          /* a JWT whose role is anon (the legacy anon key) */
  WB_API_KEY_LEGACY_SERVICE_ROLE,  /* a JWT whose role is service_role: refused */
  WB_API_KEY_OTHER,                /* any other key (an sb_ kind we do not know, a custom JWT):
                                    * sent as it is, the server decides */
} WbApiKeyKind;

WbApiKeyKind  wb_api_key_classify          (const char   *key);
const char   *wb_api_key_kind_to_string    (WbApiKeyKind  kind);
gboolean      wb_api_key_is_refused        (WbApiKeyKind  kind);
gboolean      wb_api_key_check_workstation (const char   *key,
                                            GError      **error);

G_END_DECLS
