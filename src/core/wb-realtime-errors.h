/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-realtime-errors.h: Realtime's error codes (supabase.com/docs/guides/realtime/error_codes)
 * and handshake refusals — what each one means for the client, and how long to stay away.
 *
 * Where they come from: a refused websocket handshake (HTTP status; libsoup does not hand us the
 * body), the `reason` of a phx_reply error ("ClientJoinRateLimitReached: Too many joins per
 * second"), and the `message` of a `system` error ("Token has expired 3 seconds ago"). Pure. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum
{
  WB_REALTIME_ERROR_TRANSIENT,   /* the server had a problem: retry on the usual schedule */
  WB_REALTIME_ERROR_RATE_LIMIT,  /* a rate or size limit: stay away at least the floor, growing */
  WB_REALTIME_ERROR_TENANT,      /* Realtime disabled or unknown for the project: a long floor */
  WB_REALTIME_ERROR_API_KEY,     /* the handshake refused the API key: a long floor */
  WB_REALTIME_ERROR_TOKEN,       /* the token was refused or expired: a fresh one before joining */
} WbRealtimeErrorKind;

typedef struct
{
  WbRealtimeErrorKind  kind;
  char                *code;     /* (nullable) Realtime's code, or "HTTP 429" for a handshake */
  char                *message;  /* the server's words: printable, one line, bounded */
} WbRealtimeError;

/* The first floor of a rate limit; tenant and API-key refusals start at 6 times it. */
#define WB_REALTIME_REFUSAL_BASE_MS 5000
#define WB_REALTIME_RATE_LIMIT_MAX_MS (120 * 1000)
#define WB_REALTIME_TENANT_MAX_MS     (300 * 1000)
#define WB_REALTIME_MESSAGE_MAX_CHARS 200

void        wb_realtime_error_from_reason    (WbRealtimeError     *out,
                                              const char          *reason);
void        wb_realtime_error_from_handshake (WbRealtimeError     *out,
                                              guint                status);
void        wb_realtime_error_clear          (WbRealtimeError     *error);
const char *wb_realtime_error_kind_to_string (WbRealtimeErrorKind  kind);
guint       wb_realtime_error_floor_ms       (WbRealtimeErrorKind  kind,
                                              guint                base_ms,
                                              guint                repeats);
guint       wb_realtime_error_delay_ms       (WbRealtimeErrorKind  kind,
                                              guint                base_ms,
                                              guint                repeats);
char       *wb_realtime_error_printable      (const char          *text);

G_END_DECLS
