/* Key-kind detection (wb-api-key.c): the one place that tells a publishable key from a secret
 * one, and keeps secret and service_role keys off the workstation. */
#include "config.h"

#include <string.h>

#include "wb-api-key.h"
#include "wb-error.h"

/* The local-development keys every `supabase start` serves (public, documented values). */
#define LEGACY_ANON "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJzdXBhYmFzZS1kZW1vIiwicm9sZSI6ImFub24iLCJleHAiOjE5ODM4MTI5OTZ9.CRXP1A7WOeoJeXxjNni43kdQwgnWNReilDMblYTn_I0"
#define LEGACY_SERVICE "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJzdXBhYmFzZS1kZW1vIiwicm9sZSI6InNlcnZpY2Vfcm9sZSIsImV4cCI6MTk4MzgxMjk5Nn0.EGIM96RAZx35lJzdJsyH-qQwv8Hdp7fsn3W0YpN81IU"

static char *
jwt_with_claims (const char *claims)
{
  g_autofree char *b64 = g_base64_encode ((const guchar *) claims, strlen (claims));

  for (char *p = b64; *p != '\0'; p++)
    *p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
  g_strdelimit (b64, "=", '\0');
  return g_strdup_printf ("eyJhbGciOiJFUzI1NiIsImtpZCI6ImsxIn0.%s.sig", b64);
}

static void
test_classify (void)
{
  g_autofree char *es256_anon = jwt_with_claims ("{\"role\":\"anon\",\"iss\":\"supabase\"}");
  g_autofree char *es256_service = jwt_with_claims ("{\"role\":\"service_role\"}");
  g_autofree char *authenticated = jwt_with_claims ("{\"role\":\"authenticated\",\"exp\":1}");
  g_autofree char *too_long = g_strnfill (WB_API_KEY_MAX_LENGTH + 1, 'a');
  static const struct
  {
    const char   *key;
    WbApiKeyKind  kind;
  } cases[] = {
    { "sb_publishable_ACJWlzQHlZjBrEguHvfOxg_3BJgxAaH", WB_API_KEY_PUBLISHABLE },
    { "sb_secret_N7UND0UgjKTVK-Uodkm0Hg_xSvEMPvz", WB_API_KEY_SECRET },
    { "sb_secret_", WB_API_KEY_SECRET },              /* even a cut-off secret */
    { "sb_publishable_", WB_API_KEY_OTHER },          /* a prefix alone is no key */
    { "sb_temp_abc", WB_API_KEY_OTHER },              /* an sb_ kind we do not know: sent as is */
    { "SB_SECRET_x", WB_API_KEY_OTHER },              /* keys are case-sensitive */
    { LEGACY_ANON, WB_API_KEY_LEGACY_ANON },
    { LEGACY_SERVICE, WB_API_KEY_LEGACY_SERVICE_ROLE },
    { "eyJ.e30.x", WB_API_KEY_OTHER },                /* a JWT without a role */
    { "a.!!!.c", WB_API_KEY_OTHER },
    { "a.b.c.d", WB_API_KEY_OTHER },
    { "anything-else", WB_API_KEY_OTHER },
    { "", WB_API_KEY_INVALID },
    { "sb_publishable_abc def", WB_API_KEY_INVALID },
    { "sb_publishable_abc\n", WB_API_KEY_INVALID },
    { "sb_publishable_abc\r\nX-Injected: 1", WB_API_KEY_INVALID },
    { "sb_publishable_\xc3\xa9", WB_API_KEY_INVALID },
    { "key\x7f", WB_API_KEY_INVALID },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    if (wb_api_key_classify (cases[i].key) != cases[i].kind)
      g_error ("case %u (%s): %s, expected %s", i, cases[i].key,
               wb_api_key_kind_to_string (wb_api_key_classify (cases[i].key)),
               wb_api_key_kind_to_string (cases[i].kind));
  g_assert_cmpint (wb_api_key_classify (NULL), ==, WB_API_KEY_INVALID);
  g_assert_cmpint (wb_api_key_classify (too_long), ==, WB_API_KEY_INVALID);
  /* User-token-shaped keys (ES256, with a kid) are read for their role only, never verified. */
  g_assert_cmpint (wb_api_key_classify (es256_anon), ==, WB_API_KEY_LEGACY_ANON);
  g_assert_cmpint (wb_api_key_classify (es256_service), ==, WB_API_KEY_LEGACY_SERVICE_ROLE);
  g_assert_cmpint (wb_api_key_classify (authenticated), ==, WB_API_KEY_OTHER);
}

static void
test_workstation_check (void)
{
  static const char *accepted[] = {
    "sb_publishable_ACJWlzQHlZjBrEguHvfOxg_3BJgxAaH", LEGACY_ANON, "sb_temp_abc", "custom",
  };
  static const struct
  {
    const char *key;
    gint        code;
    const char *says;
  } refused[] = {
    { "sb_secret_N7UND0UgjKTVK-Uodkm0Hg_xSvEMPvz", WB_ERROR_FORBIDDEN, "secret API key" },
    { LEGACY_SERVICE, WB_ERROR_FORBIDDEN, "service_role key" },
    { "", WB_ERROR_INVALID_DATA, "empty" },
    { "sb_publishable_a b", WB_ERROR_INVALID_DATA, "spaces" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (accepted); i++)
    {
      g_autoptr(GError) error = NULL;

      g_assert_true (wb_api_key_check_workstation (accepted[i], &error));
      g_assert_no_error (error);
      g_assert_false (wb_api_key_is_refused (wb_api_key_classify (accepted[i])));
    }
  for (guint i = 0; i < G_N_ELEMENTS (refused); i++)
    {
      g_autoptr(GError) error = NULL;

      g_assert_false (wb_api_key_check_workstation (refused[i].key, &error));
      g_assert_error (error, WB_ERROR, refused[i].code);
      g_assert_nonnull (strstr (error->message, refused[i].says));
      /* The message tells what to use instead, and never repeats the key. */
      g_assert_nonnull (strstr (error->message, "publishable key"));
      if (*refused[i].key != '\0')
        g_assert_null (strstr (error->message, refused[i].key));
      g_assert_true (wb_api_key_is_refused (wb_api_key_classify (refused[i].key)));
    }
}

static void
test_kind_names (void)
{
  g_assert_cmpstr (wb_api_key_kind_to_string (WB_API_KEY_PUBLISHABLE), ==, "publishable");
  g_assert_cmpstr (wb_api_key_kind_to_string (WB_API_KEY_SECRET), ==, "secret");
  g_assert_cmpstr (wb_api_key_kind_to_string (WB_API_KEY_LEGACY_ANON), ==, "legacy_anon");
  g_assert_cmpstr (wb_api_key_kind_to_string (WB_API_KEY_LEGACY_SERVICE_ROLE), ==,
                   "legacy_service_role");
  g_assert_cmpstr (wb_api_key_kind_to_string (WB_API_KEY_OTHER), ==, "other");
  g_assert_cmpstr (wb_api_key_kind_to_string (WB_API_KEY_INVALID), ==, "invalid");
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/wb/api-key/classify", test_classify);
  g_test_add_func ("/wb/api-key/workstation-check", test_workstation_check);
  g_test_add_func ("/wb/api-key/kind-names", test_kind_names);

  return g_test_run ();
}
