"""Broadcast from Database and private channels at the wire level (issue 10): the realtime schema
objects (sql/realtime.sql), the session_assignments trigger and its policies (sql/db-broadcast.sql),
private joins and sends decided by policies on realtime.messages, broadcast replay, retention and
`stack db-broadcast`. Every socket test runs on both serializers."""
import asyncio
import json
import time
import uuid

import psycopg
import pytest

from standin import serializer as ser
from test_realtime import Client, bc_config, post_json, run, user_token

QUEUE = "session_assignments:queue"
CUSTOMER = ("customer@example.com", "wrenchbell-demo")
VSNS = ["1.0.0", "2.0.0"]
KEYS = {"id", "record", "old_record", "operation", "table", "schema"}
ROW_COLUMNS = {"id", "session_id", "mechanic_id", "status", "created_at", "updated_at", "offered_at",
               "accepted_at", "expired_at", "metadata"}
NO_READ = "Unauthorized: You do not have permissions to read from this Channel topic: %s"


def db(stack):
    return psycopg.connect(stack.database_url, autocommit=True)


@pytest.fixture
def policies(stack):
    """Creates test policies on realtime.messages (name -> DDL tail) and drops them afterwards."""
    made = []

    def create(name, ddl):
        with db(stack) as conn:
            conn.execute('drop policy if exists "%s" on realtime.messages' % name)
            conn.execute('create policy "%s" on realtime.messages %s' % (name, ddl))
        made.append(name)
    yield create
    with db(stack) as conn:
        for name in made:
            conn.execute('drop policy if exists "%s" on realtime.messages' % name)


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


def user_message(m):
    """(event, payload, meta) of a broadcast frame of either serializer."""
    if "binary" in m:
        _, event, meta, enc, data = m["binary"]
        return event, (json.loads(data) if enc == ser.ENC_JSON else bytes(data)), meta
    p = m["payload"]
    return p["event"], p["payload"], p.get("meta")


def is_broadcast(m):
    return "binary" in m or m["event"] == "broadcast"


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
            "select id::text, event, topic, private, extension, payload, binary_payload,"
            " inserted_at = ((payload -> 'record' ->> 'updated_at')::timestamptz at time zone 'utc')"
            " from realtime.messages"
            " where coalesce(payload -> 'record' ->> 'id', payload -> 'old_record' ->> 'id') = %s"
            " order by inserted_at, event desc", (aid,)).fetchall()
    assert [r[1] for r in rows] == ["INSERT", "UPDATE", "DELETE"]
    # what a client can use as replay `since`: inserted_at is the record's updated_at
    assert [r[7] for r in rows] == [True, True, None]
    for mid, event, topic, priv, ext, payload, binary, _ in rows:
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


# ------------------------------------------------------------------------------ private joins
@pytest.mark.parametrize("vsn", VSNS)
def test_private_join_by_policy(stack, vsn):
    tok = tokens(stack)

    async def go():
        c = await Client.connect(stack, vsn=vsn)
        for who in ("mechanic", "service"):
            jr, r = await c.join(QUEUE, private(), access_token=tok[who])
            assert r["payload"] == {"status": "ok", "response": {"postgres_changes": []}}
        for who in ("customer", "anon"):
            t0 = time.monotonic()
            ref, r = await c.join(QUEUE, private(), access_token=tok[who], expect_ok=False)
            assert time.monotonic() - t0 >= 0.1                 # CHANNEL_ERROR_BACKOFF
            assert r["payload"] == {"status": "error", "response": {"reason": NO_READ % QUEUE}}
            assert r["ref"] == ref and r["join_ref"] == (ref if vsn == "2.0.0" else None)
            assert r["topic"] == "realtime:" + QUEUE
            # the refused join left nothing joined
            p = await c.push("realtime:" + QUEUE, "broadcast", {"type": "broadcast", "event": "x", "payload": {}})
            assert (await c.reply(p))["payload"]["response"] == {"reason": "unmatched topic"}
        # the mechanic's policy is for this topic only
        _, r = await c.join("session_assignments:other", private(), access_token=tok["mechanic"], expect_ok=False)
        assert r["payload"]["response"]["reason"] == NO_READ % "session_assignments:other"
        await c.close()
    run(go())


@pytest.mark.parametrize("vsn", VSNS)
def test_trigger_messages_reach_mechanics_only_on_the_private_topic(stack, vsn):
    tok = tokens(stack)

    async def go():
        m = await Client.connect(stack, vsn=vsn)
        pub = await Client.connect(stack, vsn=vsn)
        await m.join(QUEUE, private(), access_token=tok["mechanic"])
        await pub.join(QUEUE, bc_config(), access_token=tok["mechanic"])       # public, same name
        row = stack.request("--no-broadcast")[0]
        stack.run("set-status", row["assignment_id"], "accepted")
        stack.sql("delete from public.session_assignments where id = '%s'" % row["assignment_id"])
        got = []
        aid = row["assignment_id"]

        def of_row(x, op):
            if not is_broadcast(x) or user_message(x)[0] != op:
                return False
            p = user_message(x)[1]
            return aid in ((p.get("record") or {}).get("id"), (p.get("old_record") or {}).get("id"))
        for op in ("INSERT", "UPDATE", "DELETE"):
            f = await m.expect(lambda x: of_row(x, op), what=op)
            got.append(f)
            event, payload, meta = user_message(f)
            assert set(payload) == KEYS and payload["operation"] == op
            assert meta == {"id": payload["id"]}
            if vsn == "2.0.0":
                topic, _, _, enc, _ = f["binary"]
                assert (topic, enc) == ("realtime:" + QUEUE, ser.ENC_JSON)       # kind 4
            else:
                assert f["ref"] is None and f["topic"] == "realtime:" + QUEUE
                assert set(f["payload"]) == {"type", "event", "payload", "meta"}
                assert f["payload"]["type"] == "broadcast"
        ins, upd, dele = (user_message(f)[1] for f in got)
        assert ins["record"]["id"] == row["assignment_id"] and ins["old_record"] is None
        assert (upd["old_record"]["status"], upd["record"]["status"]) == ("queued", "accepted")
        assert dele["record"] is None and dele["old_record"]["id"] == row["assignment_id"]
        await pub.nothing(is_broadcast, 0.3)
        await m.close()
        await pub.close()
    run(go())


@pytest.mark.parametrize("vsn", VSNS)
def test_socket_send_needs_an_insert_policy(stack, vsn, policies):
    tok = tokens(stack)
    chat = "dbcast-chat-" + vsn
    policies("dbcast test read", "for select to authenticated using ((select realtime.topic()) = '%s')" % chat)
    policies("dbcast test write", "for insert to authenticated with check ((select realtime.topic()) = '%s')" % chat)

    async def go():
        a = await Client.connect(stack, vsn=vsn)
        b = await Client.connect(stack, vsn=vsn)
        ja, _ = await a.join(QUEUE, private(ack=True), access_token=tok["mechanic"])
        await b.join(QUEUE, private(), access_token=tok["mechanic"])
        # no insert policy (and a restrictive one) on the queue: no reply even with ack, nothing sent
        ref = await a.push("realtime:" + QUEUE, "broadcast",
                           {"type": "broadcast", "event": "INSERT", "payload": {"forged": True}}, join_ref=ja)
        await a.nothing(lambda m: m["event"] == "phx_reply" and m["ref"] == ref, 0.5)
        if vsn == "2.0.0":
            await a.ws.send_bytes(ser.encode_user_broadcast_push(ja, "90", "realtime:" + QUEUE, "INSERT", b"{}"))
            await a.nothing(lambda m: m["event"] == "phx_reply" and m["ref"] == "90", 0.3)
        await b.nothing(is_broadcast, 0.2)
        # REST as the mechanic: single 403, batch 202 but skipped; the service role may send
        st, body = post_json(stack, "/realtime/v1/api/broadcast/%s/events/x?private=true" % QUEUE, None,
                             raw=b"{}", key=tok["mechanic"])
        assert (st, json.loads(body)) == (403, {"message": "Unauthorized"})
        st, _ = post_json(stack, "/realtime/v1/api/broadcast", {"messages": [
            {"topic": QUEUE, "event": "x", "payload": {}, "private": True}]}, key=tok["mechanic"])
        assert st == 202
        await b.nothing(is_broadcast, 0.3)
        st, _ = post_json(stack, "/realtime/v1/api/broadcast/%s/events/svc?private=true" % QUEUE, None, raw=b"{}")
        assert st == 202
        await b.expect(lambda m: is_broadcast(m) and user_message(m)[0] == "svc")
        # positive control: a topic with an insert policy
        jc, _ = await a.join(chat, private(ack=True), access_token=tok["mechanic"])
        await b.join(chat, private(), access_token=tok["mechanic"])
        ref = await a.push("realtime:" + chat, "broadcast", {"type": "broadcast", "event": "hi", "payload": {"n": 1}},
                           join_ref=jc)
        assert (await a.reply(ref))["payload"] == {"status": "ok", "response": {}}
        got = await b.expect(is_broadcast)
        assert user_message(got)[:2] == ("hi", {"n": 1})
        await a.close()
        await b.close()
    run(go())


@pytest.mark.parametrize("vsn", VSNS)
def test_presence_only_read(stack, vsn, policies):
    topic = "dbcast-presence-" + vsn
    policies("dbcast presence only", "for select to authenticated using "
             "((select realtime.topic()) = '%s' and extension = 'presence')" % topic)
    tok = tokens(stack)

    async def go():
        c = await Client.connect(stack, vsn=vsn)
        _, r = await c.join(topic, private(), access_token=tok["mechanic"], expect_ok=False)
        assert r["payload"]["response"]["reason"] == NO_READ % topic          # presence not asked for
        await c.join(topic, private(presence=True), access_token=tok["mechanic"])
        st, _ = post_json(stack, "/realtime/v1/api/broadcast/%s/events/e?private=true" % topic, None, raw=b"{}")
        assert st == 202
        await c.nothing(is_broadcast, 0.4)                                     # may not read broadcasts
        _, r = await c.join(topic, private(replay={"since": 0}, presence=True), access_token=tok["mechanic"],
                            expect_ok=False)
        assert r["payload"]["response"]["reason"] == NO_READ % topic
        await c.close()
    run(go())


def test_access_token_reevaluates_the_policies(stack, policies):
    topic = "dbcast-tiered"
    policies("dbcast tiered broadcast", "for select to authenticated using ((select realtime.topic()) = '%s'"
             " and extension = 'broadcast' and auth.jwt() ->> 'tier' = 'gold')" % topic)
    policies("dbcast tiered presence", "for select to authenticated using ((select realtime.topic()) = '%s'"
             " and extension = 'presence')" % topic)
    gold = user_token(tier="gold")

    async def go():
        c = await Client.connect(stack, vsn="2.0.0")
        j, _ = await c.join(topic, private(presence=True), access_token=gold)
        await c.push("realtime:" + topic, "access_token", {"access_token": user_token(tier="gold", ttl=100)},
                     join_ref=j)
        await c.push("realtime:" + topic, "access_token", {"access_token": user_token(tier="silver")}, join_ref=j)
        m = await c.expect(lambda m: m["event"] == "system")
        assert m["payload"] == {"extension": "system", "status": "error", "channel": topic,
                                "message": "You no longer have permission to read from this Channel topic: %s" % topic}
        await c.expect(lambda m: m["event"] == "phx_close" and m["ref"] == j)
        j, _ = await c.join(topic, private(presence=True), access_token=gold)
        await c.push("realtime:" + topic, "access_token", {"access_token": user_token(role="anon")}, join_ref=j)
        m = await c.expect(lambda m: m["event"] == "system")
        assert m["payload"]["message"] == "You do not have permissions to read from this Channel topic: %s" % topic
        await c.expect(lambda m: m["event"] == "phx_close" and m["ref"] == j)
        await c.close()
    run(go())


# ------------------------------------------------------------------------------ replay
def _now(conn):
    return float(conn.execute("select extract(epoch from now())").fetchone()[0])


def _store(conn, topic, rows, base=None):
    """rows: (event, payload, seconds after `base` (default: now)[, private, extension]); returns ids."""
    base = _now(conn) if base is None else base
    ids = []
    for r in rows:
        event, payload, offset = r[:3]
        priv = r[3] if len(r) > 3 else True
        ext = r[4] if len(r) > 4 else "broadcast"
        ids.append(conn.execute(
            "insert into realtime.messages (topic, extension, event, payload, private, inserted_at)"
            " values (%s, %s, %s, %s, %s, to_timestamp(%s) at time zone 'utc') returning id::text",
            (topic, ext, event, json.dumps(payload), priv, base + offset)).fetchone()[0])
    return ids


def _ms_ago(seconds, base=None):
    return int(((time.time() if base is None else base) - seconds) * 1000)


@pytest.fixture
def replay_topic(stack, policies):
    topic = "dbcast-replay-" + uuid.uuid4().hex[:8]
    policies("dbcast replay read " + topic, "for select to authenticated using ((select realtime.topic()) = '%s')"
             % topic)
    return topic


async def _collect(c, seconds):
    out = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            m = await c.recv(timeout=deadline - time.monotonic())
        except asyncio.TimeoutError:
            break
        if is_broadcast(m):
            out.append(m)
    return out


@pytest.mark.parametrize("vsn", VSNS)
def test_replay_since_and_limit(stack, vsn, replay_topic):
    topic = replay_topic
    tok = tokens(stack)
    with db(stack) as conn:
        # 30 messages one second apart, the newest 10 minutes ago, and what replay must skip
        base = _now(conn)
        ids = _store(conn, topic, [("n%d" % i, {"n": i}, -600 - (30 - i)) for i in range(1, 31)], base)
        _store(conn, topic, [("public", {}, -300, False), ("presence", {}, -300, True, "presence"),
                             ("future", {}, 120)], base)
        _store(conn, topic + "x", [("other topic", {}, -300)], base)
    since_n11 = _ms_ago(600 + 19.5, base)     # after n10, before n11

    async def join(replay):
        c = await Client.connect(stack, vsn=vsn)
        jr, r = await c.join(topic, private(replay=replay), access_token=tok["mechanic"])
        got = await _collect(c, 0.6)
        await c.close()
        return jr, got

    async def go():
        jr, got = await join({"since": since_n11, "limit": 5})
        assert [user_message(m)[0] for m in got] == ["n26", "n27", "n28", "n29", "n30"]   # newest 5, oldest first
        for m, mid in zip(got, ids[25:]):
            event, payload, meta = user_message(m)
            assert meta == {"replayed": True, "id": mid} and payload == {"n": int(event[1:])}
            assert "binary" not in m                  # replay is a text broadcast on both serializers
            assert m["ref"] is None and m["join_ref"] == (jr if vsn == "2.0.0" else None)
            assert m["payload"]["type"] == "broadcast"
        _, got = await join({"since": since_n11, "limit": 100})                 # capped at 25; 20 qualify
        assert [user_message(m)[0] for m in got] == ["n%d" % i for i in range(11, 31)]
        _, got = await join({"since": _ms_ago(3 * 86400)})                       # no limit: 25
        assert len(got) == 25 and user_message(got[-1])[0] == "n30"
        assert user_message(got[0])[0] == "n6"
        _, got = await join({"since": _ms_ago(3 * 86400), "limit": 0})          # at least 1
        assert [user_message(m)[0] for m in got] == ["n30"]
        _, got = await join({"since": _ms_ago(30)})                              # nothing that recent
        assert got == []
    run(go())


@pytest.mark.parametrize("vsn", VSNS)
def test_replay_keeps_three_days(stack, vsn, replay_topic):
    """Supabase drops the day partitions before the day of now - 72 h: a 5-day-old message is never
    replayed (even before the janitor deletes it), a 2-day-old one is."""
    tok = tokens(stack)
    with db(stack) as conn:
        _, kept = _store(conn, replay_topic, [("five days old", {}, -5 * 86400), ("two days old", {}, -2 * 86400)])

    async def go():
        c = await Client.connect(stack, vsn=vsn)
        await c.join(replay_topic, private(replay={"since": _ms_ago(6 * 86400)}), access_token=tok["mechanic"])
        got = await _collect(c, 0.6)
        assert [(user_message(m)[0], user_message(m)[2]) for m in got] == \
            [("two days old", {"replayed": True, "id": kept})]
        await c.close()
    run(go())


@pytest.mark.parametrize("vsn", VSNS)
def test_replay_refusals(stack, vsn, replay_topic):
    tok = tokens(stack)

    async def go():
        c = await Client.connect(stack, vsn=vsn)
        for replay in [{"limit": 5}, {"since": "0"}, {"since": 1.5}, {"since": 0, "limit": "5"},
                       {"since": 0, "limit": True}, {"since": 10 ** 16}]:
            _, r = await c.join(replay_topic, private(replay=replay), access_token=tok["mechanic"], expect_ok=False)
            assert r["payload"]["response"] == {"reason": "UnableToReplayMessages: Replay params are not valid"}, replay
        for replay in [{"since": 0}, None]:
            _, r = await c.join(replay_topic + "-public", bc_config() | {"broadcast": {"replay": replay}},
                                expect_ok=False)
            assert r["payload"]["response"] == {
                "reason": "UnableToReplayMessages: Replay is not allowed for public channels"}
        # no read policy: the policy check comes first
        _, r = await c.join(replay_topic, private(replay={"since": 0}), access_token=tok["anon"], expect_ok=False)
        assert r["payload"]["response"]["reason"] == NO_READ % replay_topic
        # a replay that is not a map: joined, nothing replayed
        await c.join(replay_topic, private(replay="yes"), access_token=tok["mechanic"])
        await c.close()
    run(go())


@pytest.mark.parametrize("vsn", VSNS)
def test_replay_and_live_deliver_each_message_once(stack, vsn, replay_topic):
    """Messages committed just before the join are replayed; their WAL broadcast, if it comes after
    the join, is not delivered again (Realtime skips ids it replayed)."""
    tok = tokens(stack)

    async def go():
        c = await Client.connect(stack, vsn=vsn)
        since = _ms_ago(1)
        with db(stack) as conn:
            for i in range(10):
                conn.execute("select realtime.send(%s::jsonb, 'tick', %s)", (json.dumps({"i": i}), replay_topic))
        await c.join(replay_topic, private(replay={"since": since}), access_token=tok["mechanic"])
        with db(stack) as conn:
            conn.execute("select realtime.send('{\"i\": 10}'::jsonb, 'tick', %s)", (replay_topic,))
        got = await _collect(c, 1.0)
        seen = [user_message(m)[1]["i"] for m in got]
        assert sorted(seen) == list(range(11)), seen
        live = [user_message(m)[1]["i"] for m in got if not (user_message(m)[2] or {}).get("replayed")]
        assert 10 in live
        await c.close()
    run(go())


def test_binary_payloads(stack, replay_topic):
    tok = tokens(stack)

    async def go():
        v2 = await Client.connect(stack, vsn="2.0.0")
        v1 = await Client.connect(stack, vsn="1.0.0")
        await v2.join(replay_topic, private(), access_token=tok["mechanic"])
        await v1.join(replay_topic, private(), access_token=tok["mechanic"])
        since = _ms_ago(1)
        with db(stack) as conn:
            conn.execute("select realtime.send_binary('\\x00ff01'::bytea, 'bin', %s)", (replay_topic,))
        m = await v2.expect(lambda m: "binary" in m)
        topic, event, meta, enc, data = m["binary"]
        assert (event, enc, bytes(data)) == ("bin", ser.ENC_BINARY, b"\x00\xff\x01") and set(meta) == {"id"}
        await v1.nothing(is_broadcast, 0.3)                           # 1.0.0 cannot carry binary
        r2 = await Client.connect(stack, vsn="2.0.0")
        r1 = await Client.connect(stack, vsn="1.0.0")
        await r2.join(replay_topic, private(replay={"since": since}), access_token=tok["mechanic"])
        await r1.join(replay_topic, private(replay={"since": since}), access_token=tok["mechanic"])
        m = await r2.expect(lambda m: "binary" in m)
        assert m["binary"][2] == {"replayed": True, "id": meta["id"]} and bytes(m["binary"][4]) == b"\x00\xff\x01"
        await r1.nothing(is_broadcast, 0.3)
        for c in (v1, v2, r1, r2):
            await c.close()
    run(go())


def test_retention_janitor_deletes_what_supabase_drops(stack):
    topic = "dbcast-janitor-" + uuid.uuid4().hex[:8]
    with db(stack) as conn:
        old, recent = _store(conn, topic, [("old", {}, -5 * 86400), ("recent", {}, -2 * 86400)])
    stack.run("restart")                                    # the janitor runs at start-up (then hourly)
    with db(stack) as conn:
        left = {r[0] for r in conn.execute("select id::text from realtime.messages where topic = %s", (topic,))}
    assert left == {recent}


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
