/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-phoenix-serializer.h: Phoenix messages on the wire, in the protocol version the socket
 * negotiated (`vsn` in the websocket URL).
 *
 * vsn 1.0.0  JSON object text frames (wb_phoenix_message_encode/decode).
 * vsn 2.0.0  JSON array text frames `[join_ref, ref, topic, event, payload]`, and binary frames
 *            for user broadcasts, every length one unsigned byte:
 *            kind 3, client → server ("user broadcast push"):
 *              3 join_ref_len ref_len topic_len event_len meta_len encoding
 *              join_ref ref topic event meta payload
 *            kind 4, server → client ("user broadcast"):
 *              4 topic_len event_len meta_len encoding topic event meta payload
 *            encoding 1: the payload is JSON text; 0: raw bytes. meta: empty or JSON text.
 *
 * A decoded binary broadcast is the message a JSON broadcast would have been: event "broadcast",
 * payload {"type":"broadcast","event":…,"payload":…[,"meta":…]}, refs null except for kind 3's;
 * a raw-bytes payload (encoding 0) decodes as JSON null (the app reads JSON only).
 * Encoding picks a binary frame exactly where realtime-js does (event "broadcast" whose payload has
 * a string "event"), unless a field does not fit its length byte or a ref is the empty string
 * (which a binary frame cannot tell from an absent one): then the text form, which the server
 * also accepts.
 *
 * Pure functions; decode never crashes on hostile input (fuzzed: tests/fuzz). */
#pragma once

#include "wb-phoenix-message.h"

G_BEGIN_DECLS

typedef enum
{
  WB_PHOENIX_VSN_1_0_0 = 1,
  WB_PHOENIX_VSN_2_0_0 = 2,
} WbPhoenixVsn;

#define WB_PHOENIX_VSN_DEFAULT WB_PHOENIX_VSN_2_0_0

/* Which way a frame travels: it decides the binary kind (3 to the server, 4 to the client). */
typedef enum
{
  WB_PHOENIX_TO_SERVER,
  WB_PHOENIX_TO_CLIENT,
} WbPhoenixDirection;

#define WB_PHOENIX_KIND_USER_BROADCAST_PUSH 3
#define WB_PHOENIX_KIND_USER_BROADCAST      4
#define WB_PHOENIX_ENCODING_BINARY          0
#define WB_PHOENIX_ENCODING_JSON            1

const char       *wb_phoenix_vsn_to_string        (WbPhoenixVsn             vsn);
gboolean          wb_phoenix_vsn_from_string      (const char              *text,
                                                   WbPhoenixVsn            *out);

/* Returns: (transfer full): the frame; *out_binary says whether it goes as a binary or a text
 * frame (text frames hold UTF-8 without a NUL). */
GBytes           *wb_phoenix_serializer_encode    (WbPhoenixVsn             vsn,
                                                   WbPhoenixDirection       direction,
                                                   const WbPhoenixMessage  *msg,
                                                   gboolean                *out_binary);
/* Returns: (transfer full) (nullable): the message, or %NULL and WB_ERROR_INVALID_DATA. */
WbPhoenixMessage *wb_phoenix_serializer_decode    (WbPhoenixVsn             vsn,
                                                   WbPhoenixDirection       direction,
                                                   gboolean                 binary,
                                                   const char              *data,
                                                   gsize                    len,
                                                   GError                 **error);

G_END_DECLS
