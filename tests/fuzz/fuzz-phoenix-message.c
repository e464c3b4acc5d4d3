/* libFuzzer target: Phoenix vsn 1.0.0 frame decoding must never crash, and whatever decodes
 * must survive an encode/decode round trip unchanged. */

/* The core library is built without coverage instrumentation, so the decoder is compiled into
 * this target itself (the archive's copy is then never pulled in) to give libFuzzer feedback. */
#include "wb-phoenix-message.c"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput (const uint8_t *data,
                            size_t         size);

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autoptr(WbPhoenixMessage) msg = NULL;
  g_autoptr(WbPhoenixMessage) again = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *encoded = NULL;

  msg = wb_phoenix_message_decode ((const char *) data, size, &error);
  if (msg == NULL)
    {
      if (error == NULL)
        abort ();
      return 0;
    }

  if (msg->topic == NULL || msg->event == NULL || msg->payload == NULL
      || !JSON_NODE_HOLDS_OBJECT (msg->payload))
    abort ();

  encoded = wb_phoenix_message_encode (msg);
  again = wb_phoenix_message_decode (encoded, strlen (encoded), &error);
  if (again == NULL || !wb_phoenix_message_equal (msg, again))
    abort ();

  return 0;
}
