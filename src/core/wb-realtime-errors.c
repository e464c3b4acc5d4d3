/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-realtime-errors.c: Realtime's error codes (supabase.com/docs/guides/realtime/error_codes)
 * and handshake refusals — what each one means for the client, and how long to stay away.
 *
 * Where they come from: a refused websocket handshake (HTTP status; libsoup does not hand us the
 * body), the `reason` of a phx_reply error ("ClientJoinRateLimitReached: Too many joins per
 * second"), and the `message` of a `system` error ("Token has expired 3 seconds ago"). Pure. */

#define G_LOG_DOMAIN "wb-realtime-errors"

#include "config.h"

#include <string.h>

#include "wb-realtime-errors.h"

/* Realtime's codes a client can meet (lib/realtime_web/channels/ in supabase/realtime and the
 * error-codes guide), by what the client has to do about them. Anything else is transient. */
static const struct
{
  const char          *code;
  WbRealtimeErrorKind  kind;
} known_codes[] = {
  { "ConnectionRateLimitReached", WB_REALTIME_ERROR_RATE_LIMIT },
  { "ClientJoinRateLimitReached", WB_REALTIME_ERROR_RATE_LIMIT },
  { "JoinsRateLimitReached", WB_REALTIME_ERROR_RATE_LIMIT },
  { "ChannelRateLimitReached", WB_REALTIME_ERROR_RATE_LIMIT },
  { "TooManyChannels", WB_REALTIME_ERROR_RATE_LIMIT },
  { "TooManyConnections", WB_REALTIME_ERROR_RATE_LIMIT },
  { "TooManyJoins", WB_REALTIME_ERROR_RATE_LIMIT },
  { "TooManyConnectAttempts", WB_REALTIME_ERROR_RATE_LIMIT },
  { "MessagePerSecondRateLimitReached", WB_REALTIME_ERROR_RATE_LIMIT },
  { "DatabaseConnectionRateLimitReached", WB_REALTIME_ERROR_RATE_LIMIT },
  { "ClientPresenceRateLimitReached", WB_REALTIME_ERROR_RATE_LIMIT },
  { "RealtimeDisabledForTenant", WB_REALTIME_ERROR_TENANT },
  { "TenantNotFound", WB_REALTIME_ERROR_TENANT },
  { "PrivateOnly", WB_REALTIME_ERROR_TENANT },
  { "InvalidJWTToken", WB_REALTIME_ERROR_TOKEN },
  { "InvalidJWTExpiration", WB_REALTIME_ERROR_TOKEN },
  { "JwtSignatureError", WB_REALTIME_ERROR_TOKEN },
  { "JwtSignerError", WB_REALTIME_ERROR_TOKEN },
  { "MalformedJWT", WB_REALTIME_ERROR_TOKEN },
  { "Unauthorized", WB_REALTIME_ERROR_TOKEN },
  { "ErrorAuthorizingWebsocket", WB_REALTIME_ERROR_TOKEN },
};

/* Messages that come without a code (channel shutdowns), by what they say. */
static const struct
{
  const char          *words;
  WbRealtimeErrorKind  kind;
} known_words[] = {
  { "token has expired", WB_REALTIME_ERROR_TOKEN },
  { "jwt", WB_REALTIME_ERROR_TOKEN },
  { "no longer have permission", WB_REALTIME_ERROR_TOKEN },
  { "too many", WB_REALTIME_ERROR_RATE_LIMIT },
  { "rate limit", WB_REALTIME_ERROR_RATE_LIMIT },
  { "disabled for this tenant", WB_REALTIME_ERROR_TENANT },
};

void
wb_realtime_error_clear (WbRealtimeError *error)
{
  g_clear_pointer (&error->code, g_free);
  g_clear_pointer (&error->message, g_free);
  error->kind = WB_REALTIME_ERROR_TRANSIENT;
}

const char *
wb_realtime_error_kind_to_string (WbRealtimeErrorKind kind)
{
  switch (kind)
    {
    case WB_REALTIME_ERROR_RATE_LIMIT:
      return "rate_limit";
    case WB_REALTIME_ERROR_TENANT:
      return "tenant";
    case WB_REALTIME_ERROR_API_KEY:
      return "api_key";
    case WB_REALTIME_ERROR_TOKEN:
      return "token";
    case WB_REALTIME_ERROR_TRANSIENT:
    default:
      return "transient";
    }
}

/* Returns: (transfer full): @text as one printable line a window, a log or a terminal can show:
 * valid UTF-8, control and format characters (bidi overrides too) turned into spaces, at most
 * WB_REALTIME_MESSAGE_MAX_CHARS characters. */
char *
wb_realtime_error_printable (const char *text)
{
  g_autofree char *valid = g_utf8_make_valid (text != NULL ? text : "", -1);
  GString *out = g_string_new (NULL);
  guint n = 0;

  for (const char *p = valid; *p != '\0' && n < WB_REALTIME_MESSAGE_MAX_CHARS;
       p = g_utf8_next_char (p), n++)
    {
      gunichar c = g_utf8_get_char (p);
      GUnicodeType type = g_unichar_type (c);

      if (type == G_UNICODE_CONTROL || type == G_UNICODE_FORMAT || type == G_UNICODE_LINE_SEPARATOR
          || type == G_UNICODE_PARAGRAPH_SEPARATOR)
        g_string_append_c (out, ' ');
      else
        g_string_append_unichar (out, c);
    }
  if (g_utf8_strlen (valid, -1) > WB_REALTIME_MESSAGE_MAX_CHARS)
    g_string_append (out, "…");
  return g_strstrip (g_string_free (out, FALSE));
}

/* A code is a leading CamelCase word followed by ": " (Realtime's build_msg). */
static char *
leading_code (const char *reason)
{
  gsize n = 0;

  if (reason == NULL || !g_ascii_isupper (reason[0]))
    return NULL;
  while (g_ascii_isalnum (reason[n]) && n < 64)
    n++;
  if (reason[n] != ':')
    return NULL;
  return g_strndup (reason, n);
}

/* Reads a phx_reply error reason or a system error message. */
void
wb_realtime_error_from_reason (WbRealtimeError *out,
                               const char      *reason)
{
  g_autofree char *lower = NULL;
  const char *rest = reason != NULL ? reason : "";

  memset (out, 0, sizeof *out);
  out->kind = WB_REALTIME_ERROR_TRANSIENT;
  out->code = leading_code (reason);
  if (out->code != NULL)
    {
      rest = reason + strlen (out->code) + 1;
      while (*rest == ' ')
        rest++;
      for (guint i = 0; i < G_N_ELEMENTS (known_codes); i++)
        if (strcmp (out->code, known_codes[i].code) == 0)
          out->kind = known_codes[i].kind;
    }
  else
    {
      lower = g_utf8_strdown (rest, -1);
      for (guint i = 0; i < G_N_ELEMENTS (known_words); i++)
        if (strstr (lower, known_words[i].words) != NULL)
          {
            out->kind = known_words[i].kind;
            break;
          }
    }
  out->message = wb_realtime_error_printable (*rest != '\0' ? rest : "(no reason given)");
}

/* Reads a refused websocket handshake: Realtime answers 403 when the project's Realtime is
 * disabled, 404 for an unknown project, 429 for too many connected users or joins per second, 401
 * for a key it does not accept (its JSON body says which; libsoup keeps only the status). */
void
wb_realtime_error_from_handshake (WbRealtimeError *out,
                                  guint            status)
{
  memset (out, 0, sizeof *out);
  switch (status)
    {
    case 401:
      out->kind = WB_REALTIME_ERROR_API_KEY;
      out->code = g_strdup ("HTTP 401");
      out->message = g_strdup ("Realtime refused the API key");
      break;
    case 403:
      out->kind = WB_REALTIME_ERROR_TENANT;
      out->code = g_strdup ("RealtimeDisabledForTenant");
      out->message = g_strdup ("Realtime is disabled for this project");
      break;
    case 404:
      out->kind = WB_REALTIME_ERROR_TENANT;
      out->code = g_strdup ("TenantNotFound");
      out->message = g_strdup ("Realtime does not know this project");
      break;
    case 429:
      out->kind = WB_REALTIME_ERROR_RATE_LIMIT;
      out->code = g_strdup ("HTTP 429");
      out->message = g_strdup ("Realtime refused the connection: too many connected users or "
                               "joins per second");
      break;
    default:
      out->kind = WB_REALTIME_ERROR_TRANSIENT;
      out->code = g_strdup_printf ("HTTP %u", status);
      out->message = g_strdup ("Realtime refused the connection");
      break;
    }
}

/* The least time to stay away after the (@repeats + 1)-th refusal in a row of @kind, before any
 * jitter: rate limits @base_ms doubling to 2 minutes, tenant and API-key refusals 6 × @base_ms
 * doubling to 5 minutes, 0 for the rest (their usual schedule applies). */
guint
wb_realtime_error_floor_ms (WbRealtimeErrorKind kind,
                            guint               base_ms,
                            guint               repeats)
{
  guint64 floor;

  switch (kind)
    {
    case WB_REALTIME_ERROR_RATE_LIMIT:
      floor = (guint64) base_ms << MIN (repeats, 5);
      return (guint) MIN (floor, WB_REALTIME_RATE_LIMIT_MAX_MS);
    case WB_REALTIME_ERROR_TENANT:
    case WB_REALTIME_ERROR_API_KEY:
      floor = ((guint64) base_ms * 6) << MIN (repeats, 4);
      return (guint) MIN (floor, WB_REALTIME_TENANT_MAX_MS);
    case WB_REALTIME_ERROR_TRANSIENT:
    case WB_REALTIME_ERROR_TOKEN:
    default:
      return 0;
    }
}

/* The floor with up to half of it again as jitter, so that workstations refused together do not
 * come back together. Never below the floor. */
guint
wb_realtime_error_delay_ms (WbRealtimeErrorKind kind,
                            guint               base_ms,
                            guint               repeats)
{
  guint floor = wb_realtime_error_floor_ms (kind, base_ms, repeats);

  if (floor == 0)
    return 0;
  return floor + (guint) g_random_int_range (0, (gint32) MAX (floor / 2, 1));
}
