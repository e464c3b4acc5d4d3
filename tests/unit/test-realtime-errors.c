/* Realtime's error codes (wb-realtime-errors.c): what each means, how long to stay away. */
#include "config.h"

#include <string.h>

#include "wb-realtime-errors.h"

static void
test_reasons (void)
{
  static const struct
  {
    const char          *reason;
    WbRealtimeErrorKind  kind;
    const char          *code;     /* NULL: none */
    const char          *message;
  } cases[] = {
    /* phx_reply reasons, as RealtimeChannel.join answers them */
    { "ClientJoinRateLimitReached: Too many joins per second", WB_REALTIME_ERROR_RATE_LIMIT,
      "ClientJoinRateLimitReached", "Too many joins per second" },
    { "ConnectionRateLimitReached: Too many connected users", WB_REALTIME_ERROR_RATE_LIMIT,
      "ConnectionRateLimitReached", "Too many connected users" },
    { "ChannelRateLimitReached: Too many channels", WB_REALTIME_ERROR_RATE_LIMIT,
      "ChannelRateLimitReached", "Too many channels" },
    { "TooManyChannels: Too many channels", WB_REALTIME_ERROR_RATE_LIMIT, "TooManyChannels",
      "Too many channels" },
    { "DatabaseConnectionRateLimitReached: Too many database connections attempts per second",
      WB_REALTIME_ERROR_RATE_LIMIT, "DatabaseConnectionRateLimitReached",
      "Too many database connections attempts per second" },
    { "RealtimeDisabledForTenant: Realtime disabled for this tenant", WB_REALTIME_ERROR_TENANT,
      "RealtimeDisabledForTenant", "Realtime disabled for this tenant" },
    { "TenantNotFound: Tenant with the given ID does not exist", WB_REALTIME_ERROR_TENANT,
      "TenantNotFound", "Tenant with the given ID does not exist" },
    { "PrivateOnly: This project only allows private channels", WB_REALTIME_ERROR_TENANT,
      "PrivateOnly", "This project only allows private channels" },
    { "InvalidJWTToken: Token has expired 12 seconds ago", WB_REALTIME_ERROR_TOKEN,
      "InvalidJWTToken", "Token has expired 12 seconds ago" },
    { "JwtSignatureError: Failed to validate JWT signature", WB_REALTIME_ERROR_TOKEN,
      "JwtSignatureError", "Failed to validate JWT signature" },
    { "JwtSignerError: Failed to generate JWT signer for key ID (kid) \"k\"", WB_REALTIME_ERROR_TOKEN,
      "JwtSignerError", "Failed to generate JWT signer for key ID (kid) \"k\"" },
    { "UnableToConnectToProject: Realtime was unable to connect to the project database",
      WB_REALTIME_ERROR_TRANSIENT, "UnableToConnectToProject",
      "Realtime was unable to connect to the project database" },
    { "RealtimeRestarting: Realtime is restarting, please standby", WB_REALTIME_ERROR_TRANSIENT,
      "RealtimeRestarting", "Realtime is restarting, please standby" },
    /* system messages of a channel shutdown: no code */
    { "Token has expired 3 seconds ago", WB_REALTIME_ERROR_TOKEN, NULL, "Token has expired 3 seconds ago" },
    { "Too many messages per second", WB_REALTIME_ERROR_RATE_LIMIT, NULL, "Too many messages per second" },
    { "Fields `role` and `exp` are required in JWT", WB_REALTIME_ERROR_TOKEN, NULL,
      "Fields `role` and `exp` are required in JWT" },
    { "You no longer have permission to read from this Channel topic: t", WB_REALTIME_ERROR_TOKEN,
      NULL, "You no longer have permission to read from this Channel topic: t" },
    { "Unknown Error on Channel", WB_REALTIME_ERROR_TRANSIENT, NULL, "Unknown Error on Channel" },
    { "", WB_REALTIME_ERROR_TRANSIENT, NULL, "(no reason given)" },
    { "lowercase: is no code", WB_REALTIME_ERROR_TRANSIENT, NULL, "lowercase: is no code" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      WbRealtimeError err;

      wb_realtime_error_from_reason (&err, cases[i].reason);
      if (err.kind != cases[i].kind)
        g_error ("%s: %s", cases[i].reason, wb_realtime_error_kind_to_string (err.kind));
      g_assert_cmpstr (err.code, ==, cases[i].code);
      g_assert_cmpstr (err.message, ==, cases[i].message);
      wb_realtime_error_clear (&err);
    }
}

static void
test_handshakes (void)
{
  static const struct
  {
    guint                status;
    WbRealtimeErrorKind  kind;
    const char          *code;
  } cases[] = {
    { 429, WB_REALTIME_ERROR_RATE_LIMIT, "HTTP 429" },
    { 403, WB_REALTIME_ERROR_TENANT, "RealtimeDisabledForTenant" },
    { 404, WB_REALTIME_ERROR_TENANT, "TenantNotFound" },
    { 401, WB_REALTIME_ERROR_API_KEY, "HTTP 401" },
    { 500, WB_REALTIME_ERROR_TRANSIENT, "HTTP 500" },
    { 503, WB_REALTIME_ERROR_TRANSIENT, "HTTP 503" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      WbRealtimeError err;

      wb_realtime_error_from_handshake (&err, cases[i].status);
      g_assert_cmpint (err.kind, ==, cases[i].kind);
      g_assert_cmpstr (err.code, ==, cases[i].code);
      g_assert_nonnull (err.message);
      wb_realtime_error_clear (&err);
    }
}

static void
test_floors (void)
{
  /* Rate limits: base, doubling, capped at 2 minutes. */
  g_assert_cmpuint (wb_realtime_error_floor_ms (WB_REALTIME_ERROR_RATE_LIMIT, 5000, 0), ==, 5000);
  g_assert_cmpuint (wb_realtime_error_floor_ms (WB_REALTIME_ERROR_RATE_LIMIT, 5000, 1), ==, 10000);
  g_assert_cmpuint (wb_realtime_error_floor_ms (WB_REALTIME_ERROR_RATE_LIMIT, 5000, 4), ==, 80000);
  g_assert_cmpuint (wb_realtime_error_floor_ms (WB_REALTIME_ERROR_RATE_LIMIT, 5000, 50), ==, 120000);
  /* Tenant and API key: 6 × base, doubling, capped at 5 minutes. */
  g_assert_cmpuint (wb_realtime_error_floor_ms (WB_REALTIME_ERROR_TENANT, 5000, 0), ==, 30000);
  g_assert_cmpuint (wb_realtime_error_floor_ms (WB_REALTIME_ERROR_API_KEY, 5000, 1), ==, 60000);
  g_assert_cmpuint (wb_realtime_error_floor_ms (WB_REALTIME_ERROR_TENANT, 5000, 99), ==, 300000);
  g_assert_cmpuint (wb_realtime_error_floor_ms (WB_REALTIME_ERROR_TENANT, G_MAXUINT, 99), ==, 300000);
  /* No floor of their own: the usual schedule (and a fresh token) decide. */
  g_assert_cmpuint (wb_realtime_error_floor_ms (WB_REALTIME_ERROR_TRANSIENT, 5000, 3), ==, 0);
  g_assert_cmpuint (wb_realtime_error_floor_ms (WB_REALTIME_ERROR_TOKEN, 5000, 3), ==, 0);

  /* Jitter only upwards, at most half the floor. */
  for (guint i = 0; i < 1000; i++)
    {
      guint d = wb_realtime_error_delay_ms (WB_REALTIME_ERROR_RATE_LIMIT, 1000, 1);

      g_assert_cmpuint (d, >=, 2000);
      g_assert_cmpuint (d, <, 3000);
    }
  g_assert_cmpuint (wb_realtime_error_delay_ms (WB_REALTIME_ERROR_TRANSIENT, 1000, 1), ==, 0);
}

/* The server's words reach a window, a log and a terminal: one printable, bounded line. */
static void
test_printable (void)
{
  g_autofree char *ctl = wb_realtime_error_printable ("a\x1b]52;c;eA==\x07 b\nc\xe2\x80\xae" "d");
  g_autofree char *invalid = wb_realtime_error_printable ("bad \xff utf8");
  g_autofree char *nul = wb_realtime_error_printable (NULL);
  g_autoptr(GString) long_text = g_string_new (NULL);
  g_autofree char *cut = NULL;

  g_assert_cmpstr (ctl, ==, "a ]52;c;eA==  b c d");
  g_assert_true (g_utf8_validate (invalid, -1, NULL));
  g_assert_null (strchr (invalid, '\xff'));
  g_assert_cmpstr (nul, ==, "");
  while (long_text->len < 1000)
    g_string_append (long_text, "\xc3\xa9");
  cut = wb_realtime_error_printable (long_text->str);
  g_assert_cmpint (g_utf8_strlen (cut, -1), ==, WB_REALTIME_MESSAGE_MAX_CHARS + 1);
  g_assert_true (g_str_has_suffix (cut, "…"));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/wb/realtime-errors/reasons", test_reasons);
  g_test_add_func ("/wb/realtime-errors/handshakes", test_handshakes);
  g_test_add_func ("/wb/realtime-errors/floors", test_floors);
  g_test_add_func ("/wb/realtime-errors/printable", test_printable);

  return g_test_run ();
}
