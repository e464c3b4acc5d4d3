#include "config.h"

#include "wb-fake-phoenix.h"
#include "wb-realtime-socket.h"

typedef struct
{
  FakePhoenix      *fake;
  WbRealtimeSocket *socket;
  GPtrArray        *closed_reasons;
  guint             n_opened;
  guint             n_messages;
} Fixture;

static void
on_opened_cb (WbRealtimeSocket *socket,
              Fixture          *f)
{
  f->n_opened++;
}

static void
on_closed_cb (WbRealtimeSocket *socket,
              const char       *reason,
              Fixture          *f)
{
  g_ptr_array_add (f->closed_reasons, g_strdup (reason));
}

static void
on_message_cb (WbRealtimeSocket *socket,
               WbPhoenixMessage *msg,
               Fixture          *f)
{
  f->n_messages++;
}

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  f->fake = fake_phoenix_new ();
  f->closed_reasons = g_ptr_array_new_with_free_func (g_free);
  f->socket = wb_realtime_socket_new (f->fake->base_url, "test-key");
  wb_realtime_socket_set_heartbeat_interval_ms (f->socket, 40);
  wb_realtime_socket_set_heartbeat_timeout_ms (f->socket, 300);
  wb_realtime_socket_set_backoff (f->socket, 20, 100);
  g_signal_connect (f->socket, "opened", G_CALLBACK (on_opened_cb), f);
  g_signal_connect (f->socket, "closed", G_CALLBACK (on_closed_cb), f);
  g_signal_connect (f->socket, "message", G_CALLBACK (on_message_cb), f);
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  wb_realtime_socket_disconnect (f->socket);
  g_assert_finalize_object (f->socket);
  fake_phoenix_free (f->fake);
  g_ptr_array_unref (f->closed_reasons);
}

static gboolean
has_reason (Fixture    *f,
            const char *reason)
{
  for (guint i = 0; i < f->closed_reasons->len; i++)
    if (g_str_has_prefix (g_ptr_array_index (f->closed_reasons, i), reason))
      return TRUE;
  return FALSE;
}

static void
test_heartbeat (Fixture       *f,
                gconstpointer  data)
{
  WbPhoenixMessage *hb;
  g_autofree char *ref = NULL;

  g_assert_cmpint (wb_realtime_socket_get_state (f->socket), ==, WB_SOCKET_STATE_DISCONNECTED);
  wb_realtime_socket_connect (f->socket);
  g_assert_cmpint (wb_realtime_socket_get_state (f->socket), ==, WB_SOCKET_STATE_CONNECTING);
  WAIT_FOR (wb_realtime_socket_get_state (f->socket) == WB_SOCKET_STATE_CONNECTED, 5000);
  g_assert_cmpuint (f->n_opened, ==, 1);
  g_assert_cmpstr (f->fake->last_query, ==, "apikey=test-key&vsn=1.0.0");

  WAIT_FOR (f->fake->n_heartbeats >= 4, 5000);
  g_assert_cmpuint (f->fake->n_connections, ==, 1);
  g_assert_cmpuint (f->closed_reasons->len, ==, 0);
  g_assert_cmpuint (f->n_messages, >=, 3);   /* the replies came back through "message" */

  /* Frames well above libsoup's default 128 KiB limit arrive intact. */
  {
    g_autoptr(GString) big = g_string_new ("{\"topic\":\"realtime:x\",\"event\":\"broadcast\","
                                           "\"payload\":{\"blob\":\"");
    guint before = f->n_messages;

    while (big->len < 1024 * 1024)
      g_string_append (big, "0123456789abcdef");
    g_string_append (big, "\"},\"ref\":null}");
    fake_phoenix_send (f->fake, big->str);
    WAIT_FOR (f->n_messages > before + 1, 5000);   /* the big one and a heartbeat reply after it */
    g_assert_cmpint (wb_realtime_socket_get_state (f->socket), ==, WB_SOCKET_STATE_CONNECTED);
    g_assert_cmpuint (f->closed_reasons->len, ==, 0);
  }

  hb = fake_phoenix_last (f->fake, "heartbeat");
  g_assert_cmpstr (hb->topic, ==, "phoenix");
  g_assert_nonnull (hb->ref);
  g_assert_null (hb->join_ref);
  g_assert_cmpuint (json_object_get_size (json_node_get_object (hb->payload)), ==, 0);

  /* Refs are unique decimal strings. */
  ref = wb_realtime_socket_make_ref (f->socket);
  g_assert_cmpuint (g_ascii_strtoull (ref, NULL, 10), >, g_ascii_strtoull (hb->ref, NULL, 10));
}

static void
test_heartbeat_deadline (Fixture       *f,
                         gconstpointer  data)
{
  /* A server that keeps TCP open but stops answering heartbeats. */
  wb_realtime_socket_set_heartbeat_timeout_ms (f->socket, 80);
  f->fake->answer_heartbeats = FALSE;
  wb_realtime_socket_connect (f->socket);
  WAIT_FOR (f->fake->n_connections >= 2, 5000);
  g_assert_true (has_reason (f, "heartbeat timeout"));
  WAIT_FOR (wb_realtime_socket_get_state (f->socket) == WB_SOCKET_STATE_CONNECTED, 5000);

  /* Answering again keeps the next connection up. */
  f->fake->answer_heartbeats = TRUE;
  wb_realtime_socket_reconnect_now (f->socket, "test");
  WAIT_FOR (wb_realtime_socket_get_state (f->socket) == WB_SOCKET_STATE_CONNECTED, 5000);
  g_ptr_array_set_size (f->closed_reasons, 0);
  f->fake->n_heartbeats = 0;
  WAIT_FOR (f->fake->n_heartbeats >= 5, 5000);
  g_assert_cmpuint (f->closed_reasons->len, ==, 0);
}

static void
test_server_close_backoff (Fixture       *f,
                           gconstpointer  data)
{
  gint64 in_ms = -2;

  wb_realtime_socket_set_backoff (f->socket, 200, 400);
  wb_realtime_socket_connect (f->socket);
  WAIT_FOR (wb_realtime_socket_get_state (f->socket) == WB_SOCKET_STATE_CONNECTED, 5000);
  g_assert_cmpint (wb_realtime_socket_get_reconnect_in_ms (f->socket), ==, -1);

  fake_phoenix_close_current (f->fake);
  WAIT_FOR (wb_realtime_socket_get_state (f->socket) == WB_SOCKET_STATE_DISCONNECTED, 5000);
  g_assert_true (has_reason (f, "closed by server"));
  g_object_get (f->socket, "reconnect-in-ms", &in_ms, NULL);
  g_assert_cmpint (in_ms, >, 0);
  g_assert_cmpint (in_ms, <=, 200);

  WAIT_FOR (f->fake->n_connections == 2
            && wb_realtime_socket_get_state (f->socket) == WB_SOCKET_STATE_CONNECTED, 5000);
  g_assert_cmpuint (f->n_opened, ==, 2);
}

static gint64
close_and_get_delay (Fixture *f)
{
  guint n = f->fake->n_connections;
  gint64 in_ms;

  fake_phoenix_close_current (f->fake);
  WAIT_FOR (wb_realtime_socket_get_state (f->socket) == WB_SOCKET_STATE_DISCONNECTED, 5000);
  in_ms = wb_realtime_socket_get_reconnect_in_ms (f->socket);
  WAIT_FOR (f->fake->n_connections == n + 1
            && wb_realtime_socket_get_state (f->socket) == WB_SOCKET_STATE_CONNECTED, 5000);
  return in_ms;
}

static void
test_backoff_grows_then_resets (Fixture       *f,
                                gconstpointer  data)
{
  gint64 first, second, after_stable;

  /* Attempt 0 (the first after a drop) in [50, 200], attempt 1 jittered down to half: [200, 400]. */
  wb_realtime_socket_set_backoff (f->socket, 200, 10000);
  wb_realtime_socket_set_stable_after_ms (f->socket, 60000);
  wb_realtime_socket_connect (f->socket);
  WAIT_FOR (wb_realtime_socket_get_state (f->socket) == WB_SOCKET_STATE_CONNECTED, 5000);

  first = close_and_get_delay (f);
  second = close_and_get_delay (f);
  g_assert_cmpint (first, <=, 200);
  g_assert_cmpint (second, >, 150);

  /* A connection that stays up long enough starts the backoff over. */
  wb_realtime_socket_set_stable_after_ms (f->socket, 20);
  wb_realtime_socket_reconnect_now (f->socket, "test");
  WAIT_FOR (wb_realtime_socket_get_state (f->socket) == WB_SOCKET_STATE_CONNECTED, 5000);
  run_for (100);
  close_and_get_delay (f);
  run_for (100);
  after_stable = close_and_get_delay (f);
  g_assert_cmpint (after_stable, <=, 200);
}

/* Fifty workstations lose the server at the same instant: their first reconnects must spread over
 * [base / 4, base], not bunch in [base / 2, base]. The figure read is what remains of the delay
 * (a little less than it); 30 drops of [50, 200] all at or above 90 by chance: (11/15)^30 ≈ 1e-4,
 * while [100, 200] reads below 90 only if the look took 10 ms. */
static void
test_first_reconnect_spread (Fixture       *f,
                             gconstpointer  data)
{
  gint64 lowest = G_MAXINT64;

  /* No heartbeats in flight: the fake answers on its newest connection, which a reconnect after
   * 0 ms may already have replaced or closed. */
  wb_realtime_socket_set_heartbeat_interval_ms (f->socket, 60000);
  wb_realtime_socket_set_backoff (f->socket, 200, 10000);
  wb_realtime_socket_set_stable_after_ms (f->socket, 20);
  wb_realtime_socket_connect (f->socket);
  WAIT_FOR (wb_realtime_socket_get_state (f->socket) == WB_SOCKET_STATE_CONNECTED, 5000);
  for (guint i = 0; i < 30; i++)
    {
      gint64 delay;

      run_for (50);   /* stable: the next drop is a first reconnect again */
      delay = close_and_get_delay (f);
      g_assert_cmpint (delay, <=, 200);
      g_assert_cmpint (delay, >, 0);
      lowest = MIN (lowest, delay);
    }
  g_assert_cmpint (lowest, <, 90);
}

static void
test_reconnect_now (Fixture       *f,
                    gconstpointer  data)
{
  gint64 start;

  /* A long backoff proves reconnect_now() does not wait for it. */
  wb_realtime_socket_set_backoff (f->socket, 10000, 20000);
  wb_realtime_socket_connect (f->socket);
  WAIT_FOR (wb_realtime_socket_get_state (f->socket) == WB_SOCKET_STATE_CONNECTED, 5000);

  start = g_get_monotonic_time ();
  wb_realtime_socket_reconnect_now (f->socket, "resumed");
  g_assert_true (has_reason (f, "resumed"));
  g_assert_cmpint (wb_realtime_socket_get_state (f->socket), ==, WB_SOCKET_STATE_CONNECTING);
  WAIT_FOR (f->fake->n_connections == 2
            && wb_realtime_socket_get_state (f->socket) == WB_SOCKET_STATE_CONNECTED, 5000);
  g_assert_cmpint (g_get_monotonic_time () - start, <, 5000 * 1000);
  g_assert_cmpuint (f->n_opened, ==, 2);
}

static void
test_disconnect (Fixture       *f,
                 gconstpointer  data)
{
  g_autoptr(WbPhoenixMessage) msg = wb_phoenix_message_new ("phoenix", "heartbeat", NULL, "1", NULL);

  g_assert_false (wb_realtime_socket_send (f->socket, msg));
  wb_realtime_socket_connect (f->socket);
  WAIT_FOR (wb_realtime_socket_get_state (f->socket) == WB_SOCKET_STATE_CONNECTED, 5000);
  g_assert_true (wb_realtime_socket_send (f->socket, msg));

  wb_realtime_socket_disconnect (f->socket);
  g_assert_cmpint (wb_realtime_socket_get_state (f->socket), ==, WB_SOCKET_STATE_DISCONNECTED);
  g_assert_true (has_reason (f, "disconnect"));
  g_assert_cmpint (wb_realtime_socket_get_reconnect_in_ms (f->socket), ==, -1);
  g_assert_false (wb_realtime_socket_send (f->socket, msg));
  WAIT_FOR (f->fake->current == NULL, 5000);   /* the close reached the server */
  run_for (200);
  g_assert_cmpuint (f->fake->n_connections, ==, 1);
}

static void
test_connect_refused (Fixture       *f,
                      gconstpointer  data)
{
  g_autoptr(WbRealtimeSocket) socket = NULL;
  g_autoptr(GSocket) probe = NULL;
  g_autoptr(GSocketAddress) bound = NULL;
  g_autoptr(GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) any = g_inet_socket_address_new (lo, 0);
  g_autofree char *url = NULL;

  /* A port that was free a moment ago: nobody listens there. */
  probe = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL);
  g_assert_true (g_socket_bind (probe, any, TRUE, NULL));
  bound = g_socket_get_local_address (probe, NULL);
  url = g_strdup_printf ("http://127.0.0.1:%u/",
                         g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound)));
  g_socket_close (probe, NULL);

  socket = wb_realtime_socket_new (url, "k");
  /* The trailing slash is dropped from the base URL. */
  g_assert_true (g_str_has_prefix (url, wb_realtime_socket_get_base_url (socket)));
  g_assert_false (g_str_has_suffix (wb_realtime_socket_get_base_url (socket), "/"));
  wb_realtime_socket_set_backoff (socket, 50, 100);
  wb_realtime_socket_connect (socket);
  WAIT_FOR (wb_realtime_socket_get_reconnect_in_ms (socket) > 0, 5000);
  g_assert_cmpint (wb_realtime_socket_get_state (socket), ==, WB_SOCKET_STATE_DISCONNECTED);
  wb_realtime_socket_disconnect (socket);
  g_assert_cmpint (wb_realtime_socket_get_reconnect_in_ms (socket), ==, -1);
}

int
main (int   argc,
      char *argv[])
{
  /* Loopback only; also keeps libproxy (C++, throws) out of sanitizer builds. */
  g_setenv ("GIO_USE_PROXY_RESOLVER", "dummy", TRUE);
  g_test_init (&argc, &argv, NULL);

#define ADD(path, fn) g_test_add (path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
  ADD ("/ma/realtime-socket/heartbeat", test_heartbeat);
  ADD ("/ma/realtime-socket/heartbeat-deadline", test_heartbeat_deadline);
  ADD ("/ma/realtime-socket/server-close-backoff", test_server_close_backoff);
  ADD ("/ma/realtime-socket/backoff-grows-then-resets", test_backoff_grows_then_resets);
  ADD ("/ma/realtime-socket/first-reconnect-spread", test_first_reconnect_spread);
  ADD ("/ma/realtime-socket/reconnect-now", test_reconnect_now);
  ADD ("/ma/realtime-socket/disconnect", test_disconnect);
  ADD ("/ma/realtime-socket/connect-refused", test_connect_refused);
#undef ADD

  return g_test_run ();
}
