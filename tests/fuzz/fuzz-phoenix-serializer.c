/* libFuzzer target: both Phoenix codecs (vsn 1.0.0 and 2.0.0), text and binary, both directions.
 * The first byte picks the version, the direction and the frame type; the rest is the frame.
 * Decoding never crashes and fails only with WB_ERROR_INVALID_DATA; whatever decodes survives
 * encode → decode: unchanged for every frame but the broadcasts a binary frame carries (those
 * settle after one round: a binary frame keeps only the broadcast's own members), and the
 * reasons and messages a frame carries are read as Realtime error codes without harm. */

/* The core library is built without coverage instrumentation, so the codecs are compiled into
 * this target itself (the archive's copies are then never pulled in) to give libFuzzer feedback. */
#include "wb-phoenix-message.c"
#undef G_LOG_DOMAIN
#include "wb-phoenix-serializer.c"
#undef G_LOG_DOMAIN
#include "wb-realtime-errors.c"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput (const uint8_t *data,
                            size_t         size);

static WbPhoenixMessage *
round_trip (WbPhoenixVsn            vsn,
            WbPhoenixDirection      direction,
            const WbPhoenixMessage *msg)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) frame = NULL;
  WbPhoenixMessage *again;
  gboolean binary = FALSE;

  frame = wb_phoenix_serializer_encode (vsn, direction, msg, &binary);
  if (frame == NULL || (binary && vsn != WB_PHOENIX_VSN_2_0_0))
    abort ();
  again = wb_phoenix_serializer_decode (vsn, direction, binary, g_bytes_get_data (frame, NULL),
                                        g_bytes_get_size (frame), &error);
  if (again == NULL)
    abort ();
  return again;
}

static void
classify (JsonObject *object,
          const char *member)
{
  const char *text = wb_json_get_string (object, member);
  WbRealtimeError err;

  if (text == NULL)
    return;
  wb_realtime_error_from_reason (&err, text);
  if (err.message == NULL || !g_utf8_validate (err.message, -1, NULL)
      || g_utf8_strlen (err.message, -1) > WB_REALTIME_MESSAGE_MAX_CHARS + 1
      || (err.code != NULL && strchr (err.code, ':') != NULL))
    abort ();
  for (const char *p = err.message; *p != '\0'; p++)
    if ((guchar) *p < 0x20)
      abort ();
  wb_realtime_error_clear (&err);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autoptr(WbPhoenixMessage) msg = NULL;
  g_autoptr(WbPhoenixMessage) once = NULL;
  g_autoptr(WbPhoenixMessage) twice = NULL;
  g_autoptr(GError) error = NULL;
  WbPhoenixVsn vsn;
  WbPhoenixDirection direction;
  gboolean binary;
  JsonObject *payload;

  if (size < 1)
    return 0;
  vsn = (data[0] & 1) ? WB_PHOENIX_VSN_2_0_0 : WB_PHOENIX_VSN_1_0_0;
  direction = (data[0] & 2) ? WB_PHOENIX_TO_SERVER : WB_PHOENIX_TO_CLIENT;
  binary = (data[0] & 4) != 0;

  msg = wb_phoenix_serializer_decode (vsn, direction, binary, (const char *) data + 1, size - 1,
                                      &error);
  if (msg == NULL)
    {
      if (!g_error_matches (error, WB_ERROR, WB_ERROR_INVALID_DATA))
        abort ();
      return 0;
    }
  if (msg->topic == NULL || msg->event == NULL || msg->payload == NULL
      || !JSON_NODE_HOLDS_OBJECT (msg->payload)
      || (binary && (vsn != WB_PHOENIX_VSN_2_0_0 || g_strcmp0 (msg->event, "broadcast") != 0)))
    abort ();

  payload = wb_phoenix_message_get_payload_object (msg);
  classify (payload, "message");
  classify (wb_json_get_object (payload, "response"), "reason");

  once = round_trip (vsn, direction, msg);
  if (!binary && !(vsn == WB_PHOENIX_VSN_2_0_0 && g_strcmp0 (msg->event, "broadcast") == 0)
      && !wb_phoenix_message_equal (msg, once))
    abort ();
  twice = round_trip (vsn, direction, once);
  if (!wb_phoenix_message_equal (once, twice))
    abort ();
  return 0;
}
