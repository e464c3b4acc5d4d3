#include "config.h"

#include "wb-fake-phoenix.h"
#include "wb-realtime-channel.h"

#define TOPIC "realtime:shop-1"

typedef struct
{
  FakePhoenix       *fake;
  WbRealtimeSocket  *socket;
  WbRealtimeChannel *channel;
  GPtrArray         *system_errors;
  GPtrArray         *closed_reasons;
  GPtrArray         *changes;      /* JsonNode (object) */
  GPtrArray         *broadcasts;   /* char * "event payload-json" */
  guint              n_live;
} Fixture;

static void
on_system_error_cb (WbRealtimeChannel *channel,
                    const char        *message,
                    Fixture           *f)
{
  g_ptr_array_add (f->system_errors, g_strdup (message));
}

static void
on_closed_cb (WbRealtimeChannel *channel,
              const char        *reason,
              Fixture           *f)
{
  g_ptr_array_add (f->closed_reasons, g_strdup (reason));
}

static void
on_live_cb (WbRealtimeChannel *channel,
            Fixture           *f)
{
  f->n_live++;
}

static void
on_postgres_change_cb (WbRealtimeChannel *channel,
                       JsonObject        *data,
                       Fixture           *f)
{
  JsonNode *node = json_node_new (JSON_NODE_OBJECT);

  json_node_set_object (node, data);
  g_ptr_array_add (f->changes, node);
}

static void
on_broadcast_cb (WbRealtimeChannel *channel,
                 const char        *event,
                 JsonNode          *payload,
                 Fixture           *f)
{
  g_autofree char *json = json_to_string (payload, FALSE);

  g_ptr_array_add (f->broadcasts, g_strdup_printf ("%s %s", event, json));
}

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  f->fake = fake_phoenix_new ();
  f->system_errors = g_ptr_array_new_with_free_func (g_free);
  f->closed_reasons = g_ptr_array_new_with_free_func (g_free);
  f->broadcasts = g_ptr_array_new_with_free_func (g_free);
  f->changes = g_ptr_array_new_with_free_func ((GDestroyNotify) json_node_unref);
  f->socket = wb_realtime_socket_new (f->fake->base_url, "anon-key");
  wb_realtime_socket_set_heartbeat_interval_ms (f->socket, 1000);
  wb_realtime_socket_set_backoff (f->socket, 20, 100);

  f->channel = wb_realtime_channel_new (f->socket, TOPIC, "token-1");
  wb_realtime_channel_set_timings (f->channel, 2000, 20);
  wb_realtime_channel_add_postgres_changes (f->channel, "*", "public", "assignments",
                                            "shop_id=eq.1");
  wb_realtime_channel_add_postgres_changes (f->channel, "INSERT", "public", "intakes", NULL);
  g_signal_connect (f->channel, "system-error", G_CALLBACK (on_system_error_cb), f);
  g_signal_connect (f->channel, "closed", G_CALLBACK (on_closed_cb), f);
  g_signal_connect (f->channel, "live", G_CALLBACK (on_live_cb), f);
  g_signal_connect (f->channel, "postgres-change", G_CALLBACK (on_postgres_change_cb), f);
  g_signal_connect (f->channel, "broadcast", G_CALLBACK (on_broadcast_cb), f);
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  g_assert_finalize_object (f->channel);
  wb_realtime_socket_disconnect (f->socket);
  g_assert_finalize_object (f->socket);
  fake_phoenix_free (f->fake);
  g_ptr_array_unref (f->system_errors);
  g_ptr_array_unref (f->closed_reasons);
  g_ptr_array_unref (f->changes);
  g_ptr_array_unref (f->broadcasts);
}

#define STATE(f) wb_realtime_channel_get_state ((f)->channel)

static void
connect_and_join (Fixture *f)
{
  wb_realtime_channel_subscribe (f->channel);
  g_assert_cmpint (STATE (f), ==, WB_CHANNEL_STATE_JOINING);
  wb_realtime_socket_connect (f->socket);
  WAIT_FOR (STATE (f) == WB_CHANNEL_STATE_JOINED, 5000);
}

static void
send_frame (Fixture    *f,
            const char *event,
            const char *payload,
            const char *ref,
            const char *join_ref)
{
  g_autoptr(JsonNode) node = json_from_string (payload, NULL);
  g_autoptr(WbPhoenixMessage) msg = wb_phoenix_message_new (TOPIC, event, node, ref, join_ref);

  g_assert_nonnull (node);
  fake_phoenix_send_msg (f->fake, msg);
}

static void
test_join_ok (Fixture       *f,
              gconstpointer  data)
{
  WbPhoenixMessage *join;
  g_autoptr(JsonNode) expected = NULL;

  f->fake->send_system_ok = TRUE;
  connect_and_join (f);
  WAIT_FOR (wb_realtime_channel_get_live (f->channel), 5000);
  g_assert_cmpuint (f->n_live, ==, 1);

  join = fake_phoenix_last (f->fake, "phx_join");
  g_assert_cmpstr (join->topic, ==, TOPIC);
  g_assert_nonnull (join->ref);
  g_assert_cmpstr (join->ref, ==, join->join_ref);
  g_assert_cmpstr (join->join_ref, ==, wb_realtime_channel_get_join_ref (f->channel));
  expected = json_from_string (
    "{\"config\":{\"broadcast\":{\"self\":false,\"ack\":false},"
    "\"presence\":{\"key\":\"\",\"enabled\":false},"
    "\"postgres_changes\":[{\"event\":\"*\",\"schema\":\"public\",\"table\":\"assignments\","
    "\"filter\":\"shop_id=eq.1\"},{\"event\":\"INSERT\",\"schema\":\"public\",\"table\":\"intakes\"}],"
    "\"private\":false},\"access_token\":\"token-1\"}", NULL);
  g_assert_true (json_node_equal (join->payload, expected));
  g_assert_cmpuint (f->system_errors->len, ==, 0);
}

static void
test_join_error_rejoins (Fixture       *f,
                         gconstpointer  data)
{
  g_autofree char *first_ref = NULL;

  f->fake->join_mode = FAKE_JOIN_ERROR;
  wb_realtime_channel_subscribe (f->channel);
  wb_realtime_socket_connect (f->socket);
  WAIT_FOR (f->system_errors->len >= 1, 5000);
  g_assert_cmpint (STATE (f), ==, WB_CHANNEL_STATE_ERRORED);
  g_assert_nonnull (strstr (g_ptr_array_index (f->system_errors, 0), "expired"));
  first_ref = g_strdup (wb_realtime_channel_get_join_ref (f->channel));

  f->fake->join_mode = FAKE_JOIN_OK;
  WAIT_FOR (STATE (f) == WB_CHANNEL_STATE_JOINED, 5000);
  g_assert_cmpuint (fake_phoenix_count (f->fake, "phx_join"), >=, 2);
  g_assert_cmpstr (first_ref, !=, wb_realtime_channel_get_join_ref (f->channel));
  g_assert_cmpuint (f->closed_reasons->len, ==, 0);
}

static void
test_join_timeout (Fixture       *f,
                   gconstpointer  data)
{
  wb_realtime_channel_set_timings (f->channel, 60, 20);
  f->fake->join_mode = FAKE_JOIN_SILENT;
  wb_realtime_channel_subscribe (f->channel);
  wb_realtime_socket_connect (f->socket);
  WAIT_FOR (fake_phoenix_count (f->fake, "phx_leave") >= 1, 5000);
  g_assert_cmpint (STATE (f), !=, WB_CHANNEL_STATE_JOINED);
  g_assert_cmpstr (fake_phoenix_last (f->fake, "phx_leave")->join_ref, ==,
                   fake_phoenix_last (f->fake, "phx_join")->join_ref);

  f->fake->join_mode = FAKE_JOIN_OK;
  WAIT_FOR (STATE (f) == WB_CHANNEL_STATE_JOINED, 5000);
  g_assert_cmpuint (fake_phoenix_count (f->fake, "phx_join"), >=, 2);
}

static void
test_binding_mismatch (Fixture       *f,
                       gconstpointer  data)
{
  f->fake->join_mode = FAKE_JOIN_MISMATCH;
  wb_realtime_channel_subscribe (f->channel);
  wb_realtime_socket_connect (f->socket);
  WAIT_FOR (f->system_errors->len >= 1, 5000);
  g_assert_cmpstr (g_ptr_array_index (f->system_errors, 0), ==,
                   "mismatch between server and client bindings for postgres changes");
  g_assert_cmpint (STATE (f), ==, WB_CHANNEL_STATE_ERRORED);
  WAIT_FOR (fake_phoenix_count (f->fake, "phx_leave") >= 1, 5000);
  g_assert_false (wb_realtime_channel_get_live (f->channel));
}

static void
test_system_messages (Fixture       *f,
                      gconstpointer  data)
{
  const char *join_ref;

  connect_and_join (f);
  join_ref = wb_realtime_channel_get_join_ref (f->channel);
  g_assert_false (wb_realtime_channel_get_live (f->channel));

  /* A system frame with a stale join_ref is outdated. */
  send_frame (f, "system", "{\"extension\":\"postgres_changes\",\"status\":\"ok\","
              "\"message\":\"Subscribed to PostgreSQL\"}", NULL, "9999");
  run_for (100);
  g_assert_false (wb_realtime_channel_get_live (f->channel));

  send_frame (f, "SYSTEM", "{\"extension\":\"postgres_changes\",\"status\":\"ok\","
              "\"message\":\"Subscribed to PostgreSQL\"}", NULL, NULL);
  WAIT_FOR (wb_realtime_channel_get_live (f->channel), 5000);
  g_assert_cmpuint (f->n_live, ==, 1);

  /* Token expired: system error, then phx_close. A stale phx_close is ignored first. */
  send_frame (f, "system", "{\"extension\":\"system\",\"status\":\"error\","
              "\"message\":\"Token has expired 3 seconds ago\"}", NULL, join_ref);
  send_frame (f, "phx_close", "{}", "12345", NULL);
  WAIT_FOR (f->system_errors->len == 1, 5000);
  run_for (100);
  g_assert_cmpint (STATE (f), ==, WB_CHANNEL_STATE_JOINED);
  g_assert_cmpuint (f->closed_reasons->len, ==, 0);

  send_frame (f, "phx_close", "{}", join_ref, NULL);
  WAIT_FOR (f->closed_reasons->len == 1, 5000);
  g_assert_cmpstr (g_ptr_array_index (f->closed_reasons, 0), ==, "Token has expired 3 seconds ago");
  g_assert_cmpint (STATE (f), ==, WB_CHANNEL_STATE_CLOSED);
  g_assert_false (wb_realtime_channel_get_live (f->channel));

  /* No automatic rejoin after phx_close; the owner resubscribes. */
  run_for (100);
  g_assert_cmpuint (fake_phoenix_count (f->fake, "phx_join"), ==, 1);
  wb_realtime_channel_subscribe (f->channel);
  WAIT_FOR (STATE (f) == WB_CHANNEL_STATE_JOINED, 5000);
}

static void
test_phx_error_rejoins (Fixture       *f,
                        gconstpointer  data)
{
  g_autofree char *first_ref = NULL;

  connect_and_join (f);
  first_ref = g_strdup (wb_realtime_channel_get_join_ref (f->channel));

  send_frame (f, "phx_error", "{}", "777", "777");  /* stale: ignored */
  run_for (100);
  g_assert_cmpint (STATE (f), ==, WB_CHANNEL_STATE_JOINED);

  send_frame (f, "phx_error", "{}", first_ref, NULL);
  WAIT_FOR (STATE (f) == WB_CHANNEL_STATE_ERRORED, 5000);
  WAIT_FOR (STATE (f) == WB_CHANNEL_STATE_JOINED, 5000);
  g_assert_cmpstr (first_ref, !=, wb_realtime_channel_get_join_ref (f->channel));
  g_assert_cmpuint (fake_phoenix_count (f->fake, "phx_join"), ==, 2);
}

static void
test_access_token (Fixture       *f,
                   gconstpointer  data)
{
  WbPhoenixMessage *push;
  WbPhoenixMessage *join;

  connect_and_join (f);
  wb_realtime_channel_set_access_token (f->channel, "token-2");
  WAIT_FOR (fake_phoenix_count (f->fake, "access_token") == 1, 5000);
  push = fake_phoenix_last (f->fake, "access_token");
  g_assert_cmpstr (push->topic, ==, TOPIC);
  g_assert_cmpstr (push->join_ref, ==, wb_realtime_channel_get_join_ref (f->channel));
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (push->payload),
                                                  "access_token"), ==, "token-2");

  /* Same token again: no push. */
  wb_realtime_channel_set_access_token (f->channel, "token-2");

  /* The socket drops; the rejoin carries the new token and a new join ref. */
  fake_phoenix_close_current (f->fake);
  WAIT_FOR (STATE (f) == WB_CHANNEL_STATE_ERRORED, 5000);
  WAIT_FOR (STATE (f) == WB_CHANNEL_STATE_JOINED && f->fake->n_connections == 2, 5000);
  join = fake_phoenix_last (f->fake, "phx_join");
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (join->payload),
                                                  "access_token"), ==, "token-2");
  g_assert_cmpstr (join->ref, ==, join->join_ref);
  g_assert_cmpuint (fake_phoenix_count (f->fake, "access_token"), ==, 1);

  /* Set while not joined: stored, not pushed. */
  wb_realtime_channel_unsubscribe (f->channel);
  WAIT_FOR (STATE (f) == WB_CHANNEL_STATE_CLOSED, 5000);
  wb_realtime_channel_set_access_token (f->channel, "token-3");
  run_for (50);
  g_assert_cmpuint (fake_phoenix_count (f->fake, "access_token"), ==, 1);
}

static void
test_token_changed_during_join (Fixture       *f,
                                gconstpointer  data)
{
  WbPhoenixMessage *push;

  f->fake->join_mode = FAKE_JOIN_SILENT;
  wb_realtime_channel_subscribe (f->channel);
  wb_realtime_socket_connect (f->socket);
  WAIT_FOR (fake_phoenix_count (f->fake, "phx_join") == 1, 5000);
  wb_realtime_channel_set_access_token (f->channel, "token-2");
  run_for (50);
  g_assert_cmpuint (fake_phoenix_count (f->fake, "access_token"), ==, 0);

  /* The join (with token-1) succeeds: the newer token follows at once. */
  f->fake->join_mode = FAKE_JOIN_OK;
  fake_phoenix_answer_join (f->fake, fake_phoenix_last (f->fake, "phx_join"));
  WAIT_FOR (fake_phoenix_count (f->fake, "access_token") == 1, 5000);
  g_assert_cmpint (STATE (f), ==, WB_CHANNEL_STATE_JOINED);
  push = fake_phoenix_last (f->fake, "access_token");
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (push->payload),
                                                  "access_token"), ==, "token-2");
}

static void
test_postgres_changes_routing (Fixture       *f,
                               gconstpointer  data)
{
  connect_and_join (f);

  /* id 1000 = "*" on assignments; id 1001 = INSERT on intakes. */
  send_frame (f, "postgres_changes", "{\"ids\":[1000],\"data\":{\"type\":\"UPDATE\",\"table\":"
              "\"assignments\",\"record\":{\"id\":\"a1\",\"status\":\"queued\"}}}", NULL, NULL);
  send_frame (f, "postgres_changes", "{\"ids\":[999],\"data\":{\"type\":\"INSERT\"}}", NULL, NULL);
  send_frame (f, "postgres_changes", "{\"ids\":[1001],\"data\":{\"type\":\"UPDATE\"}}", NULL, NULL);
  send_frame (f, "POSTGRES_CHANGES", "{\"ids\":[1001,1000],\"data\":{\"type\":\"insert\","
              "\"table\":\"intakes\"}}", NULL, NULL);
  send_frame (f, "postgres_changes", "{\"ids\":\"bogus\",\"data\":{}}", NULL, NULL);
  send_frame (f, "postgres_changes", "{\"ids\":[1000],\"data\":{\"type\":\"DELETE\","
              "\"table\":\"assignments\"}}", NULL, NULL);
  WAIT_FOR (f->changes->len >= 3, 5000);
  run_for (100);
  g_assert_cmpuint (f->changes->len, ==, 3);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (g_ptr_array_index (f->changes, 0)), "type"), ==, "UPDATE");
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (g_ptr_array_index (f->changes, 1)), "type"), ==, "insert");
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (g_ptr_array_index (f->changes, 2)), "type"), ==, "DELETE");
}

static void
test_broadcast (Fixture       *f,
                gconstpointer  data)
{
  connect_and_join (f);

  send_frame (f, "broadcast", "{\"type\":\"broadcast\",\"event\":\"assignment_queued\","
              "\"payload\":{\"assignment_id\":\"a1\",\"urgent\":true}}", NULL, NULL);
  send_frame (f, "Broadcast", "{\"type\":\"broadcast\",\"event\":\"ping\"}", NULL, NULL);
  send_frame (f, "broadcast", "{\"type\":\"broadcast\"}", NULL, NULL);  /* no event: dropped */
  send_frame (f, "broadcast", "{\"type\":\"broadcast\",\"event\":\"x\",\"payload\":{}}", NULL, "42");
  WAIT_FOR (f->broadcasts->len >= 2, 5000);
  run_for (100);
  g_assert_cmpuint (f->broadcasts->len, ==, 2);
  g_assert_cmpstr (g_ptr_array_index (f->broadcasts, 0), ==,
                   "assignment_queued {\"assignment_id\":\"a1\",\"urgent\":true}");
  g_assert_cmpstr (g_ptr_array_index (f->broadcasts, 1), ==, "ping null");
}

static void
test_reopen_rejoins (Fixture       *f,
                     gconstpointer  data)
{
  f->fake->send_system_ok = TRUE;
  connect_and_join (f);
  WAIT_FOR (f->n_live == 1, 5000);

  wb_realtime_socket_reconnect_now (f->socket, "resumed");
  g_assert_cmpint (STATE (f), ==, WB_CHANNEL_STATE_ERRORED);
  g_assert_false (wb_realtime_channel_get_live (f->channel));
  WAIT_FOR (f->n_live == 2, 5000);
  g_assert_cmpint (STATE (f), ==, WB_CHANNEL_STATE_JOINED);
  g_assert_cmpuint (fake_phoenix_count (f->fake, "phx_join"), ==, 2);
  g_assert_cmpuint (f->fake->n_connections, ==, 2);
}

int
main (int   argc,
      char *argv[])
{
  /* Loopback only; also keeps libproxy (C++, throws) out of sanitizer builds. */
  g_setenv ("GIO_USE_PROXY_RESOLVER", "dummy", TRUE);
  g_test_init (&argc, &argv, NULL);

#define ADD(path, fn) g_test_add (path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
  ADD ("/ma/realtime-channel/join-ok", test_join_ok);
  ADD ("/ma/realtime-channel/join-error-rejoins", test_join_error_rejoins);
  ADD ("/ma/realtime-channel/join-timeout", test_join_timeout);
  ADD ("/ma/realtime-channel/binding-mismatch", test_binding_mismatch);
  ADD ("/ma/realtime-channel/system-messages", test_system_messages);
  ADD ("/ma/realtime-channel/phx-error-rejoins", test_phx_error_rejoins);
  ADD ("/ma/realtime-channel/access-token", test_access_token);
  ADD ("/ma/realtime-channel/token-changed-during-join", test_token_changed_during_join);
  ADD ("/ma/realtime-channel/postgres-changes-routing", test_postgres_changes_routing);
  ADD ("/ma/realtime-channel/broadcast", test_broadcast);
  ADD ("/ma/realtime-channel/reopen-rejoins", test_reopen_rejoins);
#undef ADD

  return g_test_run ();
}
