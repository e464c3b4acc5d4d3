#include "config.h"

#include "wb-fake-phoenix.h"
#include "wb-json.h"
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
  guint              n_token_needed;
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
on_token_needed_cb (WbRealtimeChannel *channel,
                    Fixture           *f)
{
  f->n_token_needed++;
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
  wb_realtime_socket_set_vsn (f->socket, GPOINTER_TO_INT (data));
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
  g_signal_connect (f->channel, "token-needed", G_CALLBACK (on_token_needed_cb), f);
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

static const char *
join_token (WbPhoenixMessage *join)
{
  return wb_json_get_string (json_node_get_object (join->payload), "access_token");
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

/* A private channel (Broadcast from Database): config.private, and replay since the newest
 * message seen on every later join; never replay on a public channel (the server refuses it). */
static void
test_private_join_asks_for_replay (Fixture       *f,
                                   gconstpointer  data)
{
  g_autoptr(JsonNode) expected = NULL;
  g_autoptr(JsonNode) first = NULL;
  g_autoptr(JsonNode) again = NULL;
  g_autoptr(JsonNode) public_ = NULL;
  JsonObject *config;

  wb_realtime_channel_set_private (f->channel, TRUE);
  first = wb_realtime_channel_build_join_payload (f->channel);
  config = json_object_get_object_member (json_node_get_object (first), "config");
  g_assert_true (json_object_get_boolean_member (config, "private"));
  g_assert_false (json_object_has_member (json_object_get_object_member (config, "broadcast"), "replay"));

  wb_realtime_channel_set_replay_since (f->channel, G_GINT64_CONSTANT (1795168800120));
  connect_and_join (f);
  expected = json_from_string (
    "{\"config\":{\"broadcast\":{\"self\":false,\"ack\":false,\"replay\":{\"since\":1795168800120,\"limit\":25}},"
    "\"presence\":{\"key\":\"\",\"enabled\":false},"
    "\"postgres_changes\":[{\"event\":\"*\",\"schema\":\"public\",\"table\":\"assignments\","
    "\"filter\":\"shop_id=eq.1\"},{\"event\":\"INSERT\",\"schema\":\"public\",\"table\":\"intakes\"}],"
    "\"private\":true},\"access_token\":\"token-1\"}", NULL);
  g_assert_true (json_node_equal (fake_phoenix_last (f->fake, "phx_join")->payload, expected));

  wb_realtime_channel_set_private (f->channel, FALSE);
  public_ = wb_realtime_channel_build_join_payload (f->channel);
  config = json_object_get_object_member (json_node_get_object (public_), "config");
  g_assert_false (json_object_get_boolean_member (config, "private"));
  g_assert_false (json_object_has_member (json_object_get_object_member (config, "broadcast"), "replay"));
  wb_realtime_channel_set_private (f->channel, TRUE);
  wb_realtime_channel_set_replay_since (f->channel, -5);
  again = wb_realtime_channel_build_join_payload (f->channel);
  config = json_object_get_object_member (json_node_get_object (again), "config");
  g_assert_false (json_object_has_member (json_object_get_object_member (config, "broadcast"), "replay"));
}

static void
test_join_error_rejoins (Fixture       *f,
                         gconstpointer  data)
{
  g_autofree char *first_ref = NULL;

  /* A server-side problem (not the token): errored, and the same join again on the schedule. */
  f->fake->join_mode = FAKE_JOIN_ERROR;
  f->fake->join_error_reason = "UnableToConnectToProject: Realtime was unable to connect to the "
                               "project database";
  wb_realtime_channel_subscribe (f->channel);
  wb_realtime_socket_connect (f->socket);
  WAIT_FOR (f->system_errors->len >= 1, 5000);
  g_assert_cmpint (STATE (f), ==, WB_CHANNEL_STATE_ERRORED);
  g_assert_nonnull (strstr (g_ptr_array_index (f->system_errors, 0), "unable to connect"));
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

  /* No automatic rejoin with the token the server just shut down; the owner is asked for a
   * fresh one and the channel joins with it. */
  run_for (100);
  g_assert_cmpuint (fake_phoenix_count (f->fake, "phx_join"), ==, 1);
  g_assert_cmpuint (f->n_token_needed, ==, 1);
  wb_realtime_channel_subscribe (f->channel);
  run_for (100);
  g_assert_cmpuint (fake_phoenix_count (f->fake, "phx_join"), ==, 1);
  wb_realtime_channel_set_access_token (f->channel, "token-2");
  WAIT_FOR (STATE (f) == WB_CHANNEL_STATE_JOINED, 5000);
  g_assert_cmpstr (join_token (fake_phoenix_last (f->fake, "phx_join")), ==, "token-2");
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

/* supabase-js #2613/#2614: a rejoin after a reconnect must not carry the cached token once it has
 * expired (or is about to): the channel asks for a fresh one and joins with that. */
static void
test_no_rejoin_with_expired_token (Fixture       *f,
                                   gconstpointer  data)
{
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;

  /* A token that lives one more second: fine for the first join. */
  wb_realtime_channel_set_access_token_full (f->channel, "short-lived", now + 1);
  connect_and_join (f);
  g_assert_cmpstr (join_token (fake_phoenix_last (f->fake, "phx_join")), ==, "short-lived");

  /* It expires while the connection is up; then the connection drops. */
  run_for (1500);
  fake_phoenix_close_current (f->fake);
  WAIT_FOR (f->fake->n_connections == 2 && f->n_token_needed == 1, 5000);
  run_for (200);
  g_assert_cmpuint (fake_phoenix_count (f->fake, "phx_join"), ==, 1);
  g_assert_true (wb_realtime_channel_get_awaiting_token (f->channel));
  g_assert_cmpint (STATE (f), ==, WB_CHANNEL_STATE_JOINING);

  /* The same token again does not end the wait; a fresh one joins at once. */
  wb_realtime_channel_set_access_token_full (f->channel, "short-lived", now + 1);
  run_for (100);
  g_assert_cmpuint (fake_phoenix_count (f->fake, "phx_join"), ==, 1);
  wb_realtime_channel_set_access_token_full (f->channel, "fresh", now + 3600);
  WAIT_FOR (STATE (f) == WB_CHANNEL_STATE_JOINED, 5000);
  g_assert_cmpuint (fake_phoenix_count (f->fake, "phx_join"), ==, 2);
  g_assert_cmpstr (join_token (fake_phoenix_last (f->fake, "phx_join")), ==, "fresh");
  g_assert_cmpuint (f->n_token_needed, ==, 1);
  g_assert_false (wb_realtime_channel_get_awaiting_token (f->channel));

  /* A token within 30 s of its expiry (a quarter of its lifetime when shorter) is not joined
   * with either. */
  wb_realtime_channel_set_access_token_full (f->channel, "expired", now - 5);
  fake_phoenix_close_current (f->fake);
  WAIT_FOR (f->fake->n_connections == 3 && f->n_token_needed == 2, 5000);
  run_for (100);
  g_assert_cmpuint (fake_phoenix_count (f->fake, "phx_join"), ==, 2);
}

/* A join refused for its token is not repeated with that token. */
static void
test_join_refused_token_waits_for_new_token (Fixture       *f,
                                             gconstpointer  data)
{
  f->fake->join_mode = FAKE_JOIN_ERROR;
  wb_realtime_channel_subscribe (f->channel);
  wb_realtime_socket_connect (f->socket);
  WAIT_FOR (f->n_token_needed == 1, 5000);
  g_assert_nonnull (strstr (g_ptr_array_index (f->system_errors, 0), "expired"));
  run_for (300);
  g_assert_cmpuint (fake_phoenix_count (f->fake, "phx_join"), ==, 1);

  f->fake->join_mode = FAKE_JOIN_OK;
  wb_realtime_channel_set_access_token (f->channel, "token-2");
  WAIT_FOR (STATE (f) == WB_CHANNEL_STATE_JOINED, 5000);
  g_assert_cmpstr (join_token (fake_phoenix_last (f->fake, "phx_join")), ==, "token-2");
}

static guint
joins_within (Fixture *f,
              guint    ms)
{
  guint before = fake_phoenix_count (f->fake, "phx_join");

  run_for (ms);
  return fake_phoenix_count (f->fake, "phx_join") - before;
}

/* ClientJoinRateLimitReached, then the server closes the socket (as Realtime does): neither the
 * reconnect nor the rejoin comes before the floor (200, 400, 800 ms + jitter here), where the
 * plain schedules (20 ms rejoin unit, 20–100 ms reconnect) would have made dozens. */
static void
test_join_rate_limited_backs_off (Fixture       *f,
                                  gconstpointer  data)
{
  guint joins, handshakes;

  wb_realtime_channel_set_refusal_base_ms (f->channel, 200);
  f->fake->join_mode = FAKE_JOIN_ERROR;
  f->fake->join_error_reason = "ClientJoinRateLimitReached: Too many joins per second";
  f->fake->close_after_join_error = TRUE;
  wb_realtime_channel_subscribe (f->channel);
  wb_realtime_socket_connect (f->socket);
  WAIT_FOR (f->system_errors->len >= 1, 5000);
  g_assert_cmpstr (g_ptr_array_index (f->system_errors, 0), ==,
                   "ClientJoinRateLimitReached: Too many joins per second");
  handshakes = f->fake->n_handshakes;
  joins = joins_within (f, 1200);
  g_assert_cmpuint (joins, >=, 1);
  g_assert_cmpuint (joins, <=, 3);
  g_assert_cmpuint (f->fake->n_handshakes - handshakes, <=, 3);
  g_assert_cmpuint (f->n_token_needed, ==, 0);

  /* Allowed again: the channel is back by itself. */
  f->fake->join_mode = FAKE_JOIN_OK;
  WAIT_FOR (STATE (f) == WB_CHANNEL_STATE_JOINED, 5000);
}

/* ConnectionRateLimitReached at join (the socket stays) and RealtimeDisabledForTenant: the rejoin
 * waits the floor (rate limit 50 ms doubling, tenant 6 × 50 ms doubling with each refusal in a
 * row, here the third: 1.2 s), never the 20 ms schedule. */
static void
test_join_refusal_floors (Fixture       *f,
                          gconstpointer  data)
{
  gint64 start;

  wb_realtime_channel_set_refusal_base_ms (f->channel, 50);
  f->fake->join_mode = FAKE_JOIN_ERROR;
  f->fake->join_error_reason = "ConnectionRateLimitReached: Too many connected users";
  wb_realtime_channel_subscribe (f->channel);
  wb_realtime_socket_connect (f->socket);
  WAIT_FOR (fake_phoenix_count (f->fake, "phx_join") == 1, 5000);
  start = g_get_monotonic_time ();
  WAIT_FOR (fake_phoenix_count (f->fake, "phx_join") == 2, 5000);
  g_assert_cmpint ((g_get_monotonic_time () - start) / 1000, >=, 50);
  g_assert_cmpuint (f->fake->n_connections, ==, 1);

  /* Join 3 is refused for the tenant; join 4 (allowed) waits at least 1.2 s. */
  f->fake->join_error_reason = "RealtimeDisabledForTenant: Realtime disabled for this tenant";
  WAIT_FOR (fake_phoenix_count (f->fake, "phx_join") == 3, 5000);
  f->fake->join_mode = FAKE_JOIN_OK;
  start = g_get_monotonic_time ();
  WAIT_FOR (STATE (f) == WB_CHANNEL_STATE_JOINED, 5000);
  g_assert_cmpint ((g_get_monotonic_time () - start) / 1000, >=, 1200);
  g_assert_cmpuint (fake_phoenix_count (f->fake, "phx_join"), ==, 4);
}

/* A rate-limit shutdown of a joined channel (system error + phx_close): the channel comes back by
 * itself after the floor, with its token (which was not the problem). */
static void
test_rate_limit_shutdown_rejoins (Fixture       *f,
                                  gconstpointer  data)
{
  const char *join_ref;
  gint64 start;

  wb_realtime_channel_set_refusal_base_ms (f->channel, 150);
  connect_and_join (f);
  join_ref = wb_realtime_channel_get_join_ref (f->channel);
  send_frame (f, "system", "{\"extension\":\"system\",\"status\":\"error\","
              "\"message\":\"Too many messages per second\"}", NULL, join_ref);
  send_frame (f, "phx_close", "{}", join_ref, NULL);
  WAIT_FOR (f->closed_reasons->len == 1, 5000);
  start = g_get_monotonic_time ();
  WAIT_FOR (STATE (f) == WB_CHANNEL_STATE_JOINED, 5000);
  g_assert_cmpint ((g_get_monotonic_time () - start) / 1000, >=, 150);
  g_assert_cmpuint (f->n_token_needed, ==, 0);
  g_assert_cmpstr (join_token (fake_phoenix_last (f->fake, "phx_join")), ==, "token-1");
}

/* A channel without a token joins on the socket's (the API key's): when the server ends that
 * one, the channel asks for a new handshake ("token-needed") and joins again once it is made. */
static void
test_tokenless_channel_after_key_expiry (Fixture       *f,
                                         gconstpointer  data)
{
  const char *join_ref;

  wb_realtime_channel_set_access_token (f->channel, NULL);
  connect_and_join (f);
  g_assert_null (join_token (fake_phoenix_last (f->fake, "phx_join")));
  join_ref = wb_realtime_channel_get_join_ref (f->channel);
  send_frame (f, "system", "{\"extension\":\"system\",\"status\":\"error\","
              "\"message\":\"Token has expired 0 seconds ago\"}", NULL, join_ref);
  send_frame (f, "phx_close", "{}", join_ref, NULL);
  WAIT_FOR (f->n_token_needed == 1, 5000);
  run_for (100);
  g_assert_cmpuint (fake_phoenix_count (f->fake, "phx_join"), ==, 1);

  wb_realtime_socket_restart (f->socket, "new handshake");
  WAIT_FOR (f->fake->n_connections == 2 && STATE (f) == WB_CHANNEL_STATE_JOINED, 5000);
  g_assert_cmpuint (fake_phoenix_count (f->fake, "phx_join"), ==, 2);
}

int
main (int   argc,
      char *argv[])
{
  /* Loopback only; also keeps libproxy (C++, throws) out of sanitizer builds. */
  g_setenv ("GIO_USE_PROXY_RESOLVER", "dummy", TRUE);
  g_test_init (&argc, &argv, NULL);

#define ADD(path, fn) G_STMT_START { \
    g_test_add ("/ma/realtime-channel/v2/" path, Fixture, GINT_TO_POINTER (WB_PHOENIX_VSN_2_0_0), \
                fixture_setup, fn, fixture_teardown); \
    g_test_add ("/ma/realtime-channel/v1/" path, Fixture, GINT_TO_POINTER (WB_PHOENIX_VSN_1_0_0), \
                fixture_setup, fn, fixture_teardown); \
  } G_STMT_END
  ADD ("join-ok", test_join_ok);
  ADD ("private-join-replay", test_private_join_asks_for_replay);
  ADD ("join-error-rejoins", test_join_error_rejoins);
  ADD ("join-timeout", test_join_timeout);
  ADD ("binding-mismatch", test_binding_mismatch);
  ADD ("system-messages", test_system_messages);
  ADD ("phx-error-rejoins", test_phx_error_rejoins);
  ADD ("access-token", test_access_token);
  ADD ("token-changed-during-join", test_token_changed_during_join);
  ADD ("postgres-changes-routing", test_postgres_changes_routing);
  ADD ("broadcast", test_broadcast);
  ADD ("reopen-rejoins", test_reopen_rejoins);
  ADD ("no-rejoin-with-expired-token", test_no_rejoin_with_expired_token);
  ADD ("join-refused-token-waits-for-new-token", test_join_refused_token_waits_for_new_token);
  ADD ("join-rate-limited-backs-off", test_join_rate_limited_backs_off);
  ADD ("join-refusal-floors", test_join_refusal_floors);
  ADD ("rate-limit-shutdown-rejoins", test_rate_limit_shutdown_rejoins);
  ADD ("tokenless-channel-after-key-expiry", test_tokenless_channel_after_key_expiry);
#undef ADD

  return g_test_run ();
}
