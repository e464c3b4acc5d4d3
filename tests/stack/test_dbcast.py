"""Broadcast from Database (issue 10): the realtime schema objects (sql/realtime.sql), the
session_assignments trigger and its policies (sql/db-broadcast.sql), `stack db-broadcast`."""
import json
import uuid

import psycopg
import pytest

from test_realtime import Client, bc_config, run

QUEUE = "session_assignments:queue"
CUSTOMER = ("customer@example.com", "wrenchbell-demo")
KEYS = {"id", "record", "old_record", "operation", "table", "schema"}
ROW_COLUMNS = {"id", "session_id", "mechanic_id", "status", "created_at", "updated_at", "offered_at",
               "accepted_at", "expired_at", "metadata"}


def db(stack):
    return psycopg.connect(stack.database_url, autocommit=True)


def tokens(stack):
    return {"mechanic": stack.sign_in()["access_token"],
            "customer": stack.sign_in(*CUSTOMER)["access_token"],
            "anon": stack.anon_key, "service": stack.service_key}


def private(replay=None, ack=False, presence=False):
    c = bc_config(ack=ack, private=True)
    if replay is not None:
        c["broadcast"]["replay"] = replay
    c["presence"]["enabled"] = presence
    return c


# ------------------------------------------------------------------------------ the SQL objects
def test_realtime_schema_objects_are_supabases(stack):
    with db(stack) as conn:
        cols = conn.execute(
            "select column_name, data_type, is_nullable, column_default from information_schema.columns"
            " where table_schema = 'realtime' and table_name = 'messages' order by ordinal_position").fetchall()
        assert [(c[0], c[1], c[2]) for c in cols] == [
            ("topic", "text", "NO"), ("extension", "text", "NO"), ("payload", "jsonb", "YES"),
            ("event", "text", "YES"), ("private", "boolean", "YES"),
            ("updated_at", "timestamp without time zone", "NO"),
            ("inserted_at", "timestamp without time zone", "NO"), ("id", "uuid", "NO"),
            ("binary_payload", "bytea", "YES")]
        defaults = {c[0]: c[3] for c in cols}
        assert defaults["private"] == "false" and defaults["extension"] is None
        assert defaults["id"] == "gen_random_uuid()" and defaults["inserted_at"] == "now()"
        pk = conn.execute("select array_agg(a.attname order by a.attname) from pg_index i"
                          " join pg_attribute a on a.attrelid = i.indrelid and a.attnum = any(i.indkey)"
                          " where i.indrelid = 'realtime.messages'::regclass and i.indisprimary").fetchone()[0]
        assert pk == ["id", "inserted_at"]
        assert conn.execute("select relrowsecurity from pg_class where oid = 'realtime.messages'::regclass"
                            ).fetchone()[0] is True
        for role in ("anon", "authenticated", "service_role"):
            for priv in ("SELECT", "INSERT", "UPDATE"):
                assert conn.execute("select has_table_privilege(%s, 'realtime.messages', %s)",
                                    (role, priv)).fetchone()[0], (role, priv)
        sigs = {r[0]: r[1] for r in conn.execute(
            "select p.proname, pg_get_function_arguments(p.oid) from pg_proc p"
            " join pg_namespace n on n.oid = p.pronamespace where n.nspname = 'realtime'")}
        assert sigs["send"] == "payload jsonb, event text, topic text, private boolean DEFAULT true"
        assert sigs["send_binary"] == "payload bytea, event text, topic text, private boolean DEFAULT true"
        assert sigs["broadcast_changes"] == ("topic_name text, event_name text, operation text, table_name text,"
                                             " table_schema text, new record, old record,"
                                             " level text DEFAULT 'ROW'::text")
        assert sigs["topic"] == ""
        conn.execute("begin")
        conn.execute("select set_config('realtime.topic', 'abc', true)")
        assert conn.execute("select realtime.topic()").fetchone()[0] == "abc"
        conn.execute("rollback")
        assert conn.execute("select realtime.topic()").fetchone()[0] is None


def test_trigger_payload_for_insert_update_delete(stack):
    """The row the trigger stores per change: event = operation, private, payload exactly
    {id, record, old_record, operation, table, schema} with id = the message id."""
    row = stack.request("--no-broadcast")[0]
    aid = row["assignment_id"]
    stack.run("set-status", aid, "accepted")
    stack.sql("delete from public.session_assignments where id = '%s'" % aid)
    with db(stack) as conn:
        rows = conn.execute(
            "select id::text, event, topic, private, extension, payload, binary_payload from realtime.messages"
            " where coalesce(payload -> 'record' ->> 'id', payload -> 'old_record' ->> 'id') = %s"
            " order by inserted_at, event desc", (aid,)).fetchall()
    assert [r[1] for r in rows] == ["INSERT", "UPDATE", "DELETE"]
    for mid, event, topic, priv, ext, payload, binary in rows:
        assert (topic, priv, ext, binary) == (QUEUE, True, "broadcast", None)
        assert set(payload) == KEYS and payload["id"] == mid
        assert payload["operation"] == event
        assert (payload["table"], payload["schema"]) == ("session_assignments", "public")
    ins, upd, dele = (r[5] for r in rows)
    assert ins["old_record"] is None and set(ins["record"]) == ROW_COLUMNS
    assert ins["record"]["status"] == "queued" and ins["record"]["session_id"] == row["session_id"]
    assert upd["record"]["status"] == "accepted" and upd["old_record"]["status"] == "queued"
    assert set(upd["old_record"]) == ROW_COLUMNS
    assert dele["record"] is None and dele["old_record"]["status"] == "accepted"
    assert set(dele["old_record"]) == ROW_COLUMNS
    assert isinstance(ins["record"]["metadata"], dict)          # jsonb stays JSON


def test_send_never_aborts_the_callers_transaction(stack):
    notices = []
    topic = "nosend-%s" % uuid.uuid4().hex[:8]
    with db(stack) as conn:
        conn.add_notice_handler(lambda d: notices.append((d.severity_nonlocalized, d.message_primary)))
        conn.execute("delete from public.feature_flags where key like 'dbcast_test_%'")
        with conn.transaction():
            conn.execute("insert into public.feature_flags (key) values ('dbcast_test_a')")
            conn.execute("select realtime.send('5'::jsonb, 'e', %s)", (topic,))          # not an object
            # as a signed-in user (no insert policy): refused by RLS, only a warning
            conn.execute("select set_config('role', 'authenticated', true)")
            conn.execute("select realtime.send('{\"a\": 1}'::jsonb, 'e', %s)", (topic,))
            conn.execute("select set_config('role', 'postgres', true)")
            conn.execute("insert into public.feature_flags (key) values ('dbcast_test_b')")
        assert conn.execute("select count(*) from public.feature_flags where key like 'dbcast_test_%'"
                            ).fetchone()[0] == 2
        assert conn.execute("select count(*) from realtime.messages where topic = %s", (topic,)).fetchone()[0] == 0
        assert [n[0] for n in notices] == ["WARNING", "WARNING"]
        assert all(n[1].startswith("WarnSendingBroadcastMessage: ") for n in notices)
        assert "row-level security" in notices[1][1]
        # an id in the payload is kept; without one the message id is added
        conn.execute("select realtime.send('{\"id\": 7}'::jsonb, 'e', %s, false)", (topic,))
        conn.execute("select realtime.send('{}'::jsonb, 'e', %s)", (topic,))
        got = conn.execute("select id::text, payload, private from realtime.messages where topic = %s"
                           " order by inserted_at", (topic,)).fetchall()
        assert got[0][1] == {"id": 7} and got[0][2] is False
        assert got[1][1] == {"id": got[1][0]} and got[1][2] is True
        # broadcast_changes raises (aborting the statement) only for what it cannot do
        for args, text in [("'STATEMENT'", "Failed to process the row: function can only be triggered for each "
                                          "row, not for each statement"),
                           (None, "Failed to process the row: Unexpected operation type: TRUNCATE")]:
            op = "INSERT" if args else "TRUNCATE"
            extra = ", " + args if args else ""
            with pytest.raises(psycopg.errors.RaiseException) as e:
                conn.execute("select realtime.broadcast_changes(%%s, 'e', '%s', 't', 's', null, null%s)"
                             % (op, extra), (topic,))
            assert e.value.diag.message_primary == text
        conn.execute("delete from public.feature_flags where key like 'dbcast_test_%'")


# ------------------------------------------------------------------------------ stack db-broadcast
def test_stack_db_broadcast_off_and_on(stack):
    tok = tokens(stack)
    both = ["Mechanics can receive the assignment queue", "Nobody sends to the assignment queue from a client"]

    def status(*args):
        return json.loads(stack.run("db-broadcast", *args).stdout)

    def stored(aid):
        return int(stack.sql("select count(*) from realtime.messages where payload -> 'record' ->> 'id' = '%s'" % aid))

    try:
        assert status("status") == {"trigger": True, "policies": both}
        assert status("off") == {"trigger": False, "policies": both}
        aid = stack.request("--no-broadcast")[0]["assignment_id"]
        assert stored(aid) == 0                                      # postgres_changes only

        async def join_ok():
            c = await Client.connect(stack, vsn="2.0.0")
            _, r = await c.join(QUEUE, private(), access_token=tok["mechanic"], expect_ok=False)
            await c.close()
            return r["payload"]["status"] == "ok"
        assert run(join_ok()) is True
        assert status("off", "--policies") == {"trigger": False, "policies": []}
        assert run(join_ok()) is False
        assert status("on") == {"trigger": True, "policies": both}
        assert run(join_ok()) is True
        aid = stack.request("--no-broadcast")[0]["assignment_id"]
        assert stored(aid) == 1
    finally:
        stack.run("db-broadcast", "on")
