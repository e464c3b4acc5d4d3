"""postgres_changes of the stand-in (supabase-protocol.md §3): real WAL streaming, typed values,
filters, per-subscriber RLS in PostgreSQL, no replay after a restart, latency."""
import asyncio
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import time

import psycopg
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from test_realtime import Client, bc_config, post_json, run, user_token, STACK  # noqa: E402

ALICE = "00000000-0000-0000-0000-0000000000a1"
BOB = "00000000-0000-0000-0000-0000000000b0"

DDL = """
drop table if exists public.rt_types, public.rt_plain, public.rt_f, public.rt_rls, public.rt_bomb,
  public.rt_cols, public.rt_nopk, public.rt_unpublished cascade;
create table public.rt_types (id int8 primary key, i int4, n numeric, f float8, b bool, t text, v varchar(20),
  j jsonb, js json, ts timestamptz, tsn timestamp, d date, u uuid, arr int4[], tarr text[], nul text);
alter table public.rt_types replica identity full;
create table public.rt_plain (id int4 primary key, name text);
create table public.rt_f (id int4 primary key, n int4, s text);
alter table public.rt_f replica identity full;
create table public.rt_rls (id int4 primary key, owner text, note text);
alter table public.rt_rls replica identity full;
alter table public.rt_rls enable row level security;
create policy rt_rls_owner on public.rt_rls for select to authenticated using (owner = auth.jwt() ->> 'sub');
create or replace function public.rt_boom() returns boolean language plpgsql volatile as $$
begin raise exception 'policy exploded for %', auth.jwt() ->> 'sub'; end $$;
create table public.rt_bomb (id int4 primary key, v text);
alter table public.rt_bomb enable row level security;
create policy rt_bomb_p on public.rt_bomb for select to authenticated
  using (case when (auth.jwt() ->> 'sub') = 'bomb' then public.rt_boom() else true end);
create table public.rt_cols (id int4 primary key, public_c text, secret text);
create table public.rt_nopk (v text);
create table public.rt_unpublished (id int4 primary key);
grant select, insert, update, delete on public.rt_types, public.rt_plain, public.rt_f, public.rt_rls,
  public.rt_bomb, public.rt_nopk, public.rt_unpublished to anon, authenticated, service_role;
revoke all on public.rt_cols from anon, authenticated;
grant select (id, public_c) on public.rt_cols to authenticated;
alter publication supabase_realtime add table public.rt_types, public.rt_plain, public.rt_f, public.rt_rls,
  public.rt_bomb, public.rt_cols, public.rt_nopk;
"""


@pytest.fixture(scope="module")
def db(stack):
    conn = psycopg.connect(stack.database_url, autocommit=True)
    conn.execute(DDL)
    yield conn
    conn.close()


def run_logged(stack, coro):
    """run(coro); on failure print the stand-in's log tail (shown by pytest with the failure)."""
    try:
        return run(coro)
    except BaseException:
        try:
            with open(os.path.join(stack.dir, "standin.log"), errors="replace") as f:
                print("---- standin.log (tail) ----\n" + "".join(f.readlines()[-60:]))
        except OSError:
            pass
        raise


def binding(table, event="*", filter=None):
    b = {"event": event, "schema": "public", "table": table}
    if filter is not None:
        b["filter"] = filter
    return b


async def subscribe(stack, bindings, token=None, vsn="2.0.0", name="cdc", expect="ok"):
    c = await Client.connect(stack, vsn=vsn)
    cfg = bc_config(self_=True)
    cfg["postgres_changes"] = bindings
    jr, r = await c.join(name, cfg, access_token=token or stack.service_key)
    ids = [p["id"] for p in r["payload"]["response"]["postgres_changes"]]
    m = await c.expect(lambda m: m["event"] == "system", timeout=10, what="system message")
    assert m["payload"]["extension"] == "postgres_changes"
    if expect:
        assert m["payload"]["status"] == expect, m
    c.jr, c.ids, c.system = jr, ids, m["payload"]
    return c


def change(m):
    return m["event"] == "postgres_changes"


TS_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


@pytest.mark.parametrize("vsn", ["1.0.0", "2.0.0"])
def test_insert_update_delete_shapes(stack, db, vsn):
    uid = "6f1c1f0e-8d2b-4a53-9a55-0d1f0b2c3d4e"
    rid = 1 if vsn == "1.0.0" else 2

    async def go():
        c = await subscribe(stack, [binding("rt_types")], vsn=vsn)
        db.execute("insert into rt_types values (%s, 42, 1.25, 2.5, true, 'he said \"hi\"', 'vc',"
                   " '{\"a\": [1, 2, {\"b\": null}]}', '{\"x\": 1}', '2026-11-20 10:00:00.120431+00',"
                   " '2026-11-20 10:00:00', '2026-11-20', %s, '{1,2,3}', '{a,\"b c\"}', null)", (rid, uid))
        m = await c.expect(change)
        assert m["ref"] is None and m["join_ref"] is None
        assert m["payload"]["ids"] == c.ids
        d = m["payload"]["data"]
        assert set(d) == {"schema", "table", "type", "commit_timestamp", "columns", "record", "errors"}
        assert (d["schema"], d["table"], d["type"], d["errors"]) == ("public", "rt_types", "INSERT", None)
        assert TS_RE.match(d["commit_timestamp"]), d["commit_timestamp"]
        assert d["columns"] == [{"name": n, "type": t} for n, t in [
            ("id", "int8"), ("i", "int4"), ("n", "numeric"), ("f", "float8"), ("b", "bool"), ("t", "text"),
            ("v", "varchar"), ("j", "jsonb"), ("js", "json"), ("ts", "timestamptz"), ("tsn", "timestamp"),
            ("d", "date"), ("u", "uuid"), ("arr", "_int4"), ("tarr", "_text"), ("nul", "text")]]
        rec = {"id": rid, "i": 42, "n": 1.25, "f": 2.5, "b": True, "t": 'he said "hi"', "v": "vc",
               "j": {"a": [1, 2, {"b": None}]}, "js": {"x": 1}, "ts": "2026-11-20T10:00:00.120431+00:00",
               "tsn": "2026-11-20T10:00:00", "d": "2026-11-20", "u": uid, "arr": [1, 2, 3],
               "tarr": ["a", "b c"], "nul": None}
        assert d["record"] == rec
        db.execute("update rt_types set i = 43, b = false where id = %s", (rid,))
        d = (await c.expect(change))["payload"]["data"]
        assert d["type"] == "UPDATE"
        assert d["record"] == dict(rec, i=43, b=False)
        assert d["old_record"] == rec                  # REPLICA IDENTITY FULL, no RLS
        db.execute("delete from rt_types where id = %s", (rid,))
        d = (await c.expect(change))["payload"]["data"]
        assert d["type"] == "DELETE" and "record" not in d
        assert d["old_record"] == dict(rec, i=43, b=False)
        await c.close()
    run_logged(stack, go())


def test_default_replica_identity_and_event_filter_and_ids(stack, db):
    async def go():
        c = await subscribe(stack, [binding("rt_plain"), binding("rt_plain", event="insert"),
                                    binding("rt_plain", event="DELETE")])
        star, ins, dele = c.ids
        db.execute("insert into rt_plain values (1, 'a')")
        m = await c.expect(change)
        assert sorted(m["payload"]["ids"]) == sorted([star, ins])        # one frame, both ids
        db.execute("update rt_plain set name = 'b' where id = 1")
        m = await c.expect(change)
        assert m["payload"]["ids"] == [star]
        assert m["payload"]["data"]["old_record"] == {"id": 1}           # REPLICA IDENTITY DEFAULT
        db.execute("delete from rt_plain where id = 1")
        m = await c.expect(change)
        assert sorted(m["payload"]["ids"]) == sorted([star, dele])
        assert m["payload"]["data"]["old_record"] == {"id": 1}
        await c.nothing(change, 0.3)                                       # exactly one frame each
        await c.close()
    run_logged(stack, go())


def test_unchanged_toast_value_is_in_the_update_record(stack, db):
    big = "".join("%08x" % (i * 2654435761 % 2 ** 32) for i in range(4000))     # ~32 kB, poorly compressible

    async def go():
        c = await subscribe(stack, [binding("rt_types", "UPDATE")])
        db.execute("insert into rt_types (id, t, i) values (50, %s, 1)", (big,))
        db.execute("update rt_types set i = 2 where id = 50")
        d = (await c.expect(change))["payload"]["data"]
        assert d["record"]["i"] == 2 and d["record"]["t"] == big
        db.execute("delete from rt_types where id = 50")
        await c.close()
    run_logged(stack, go())


def test_filters(stack, db):
    filters = {"eq": "n=eq.5", "neq": "s=neq.x", "lt": "n=lt.3", "lte": "n=lte.3", "gt": "n=gt.7",
               "gte": "n=gte.7", "in": "s=in.(a,b)", "eqs": "s=eq.hello world"}
    preds = {"eq": lambda n, s: n == 5, "neq": lambda n, s: s != "x", "lt": lambda n, s: n < 3,
             "lte": lambda n, s: n <= 3, "gt": lambda n, s: n > 7, "gte": lambda n, s: n >= 7,
             "in": lambda n, s: s in ("a", "b"), "eqs": lambda n, s: s == "hello world"}
    names = list(filters)

    async def go():
        c = await subscribe(stack, [binding("rt_f", filter=filters[k]) for k in names])
        idmap = dict(zip(c.ids, names))
        rows = [(1, 5, "x"), (2, 3, "a"), (3, 7, "q"), (4, 8, "b"), (5, 1, "x"), (6, 6, "x"),
                (7, 10, "hello world"), (8, 2, None)]
        for i, n, s in rows:
            db.execute("insert into rt_f values (%s, %s, %s)", (i, n, s))
        got = {}
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            try:
                m = await c.expect(change, timeout=deadline - time.monotonic())
            except AssertionError:
                break
            got[m["payload"]["data"]["record"]["id"]] = sorted(idmap[i] for i in m["payload"]["ids"])
        want = {}
        for i, n, s in rows:
            # a NULL column never passes a filter on that column
            match = sorted(k for k in names
                           if (s is not None or k not in ("neq", "in", "eqs")) and preds[k](n, s or ""))
            if match:
                want[i] = match
        assert got == want
        # DELETE filters look at old_record (REPLICA IDENTITY FULL here)
        db.execute("delete from rt_f where id = 1")
        m = await c.expect(change)
        assert [idmap[i] for i in m["payload"]["ids"]] == ["eq"]
        await c.close()
    run_logged(stack, go())


def test_bad_subscriptions_give_system_errors_and_keep_the_channel(stack, db):
    cases = [
        (binding("rt_f", filter="n=eqq.5"), "Error parsing `filter` params"),
        (binding("rt_f", filter="nope=eq.5"), "invalid column for filter nope"),
        (binding("rt_f", filter="n=eq.abc"), 'invalid input syntax for type integer: "abc"'),
        (binding("rt_f", filter="n=in.(%s)" % ",".join(str(i) for i in range(101))), "Error parsing `filter`"),
        (binding("rt_unpublished"), "Unable to subscribe to changes with given parameters. Please check "
                                    "Realtime is enabled for the given connect parameters: [event: *, "
                                    "schema: public, table: rt_unpublished, filters: [], select: nil]"),
        (binding("rt_cols", filter="secret=eq.x"), "invalid column for filter secret"),
    ]

    async def go():
        for b, text in cases:
            tok = user_token() if "secret" in b.get("filter", "") else None
            c = await subscribe(stack, [b], token=tok, expect="error")
            assert text in c.system["message"], c.system
            assert c.system["channel"] == "cdc"
            # the channel stays open: broadcast (self) still works
            await c.push("realtime:cdc", "broadcast", {"type": "broadcast", "event": "e", "payload": {}},
                         join_ref=c.jr)
            await c.expect(lambda m: m["event"] == "broadcast" or "binary" in m)
            await c.close()
    run_logged(stack, go())


def test_column_privileges_and_error_rows(stack, db):
    async def go():
        u = await subscribe(stack, [binding("rt_cols"), binding("rt_nopk")], token=user_token())
        db.execute("insert into rt_cols values (1, 'pub', 'hidden')")
        d = (await u.expect(change))["payload"]["data"]
        assert d["columns"] == [{"name": "id", "type": "int4"}, {"name": "public_c", "type": "text"}]
        assert d["record"] == {"id": 1, "public_c": "pub"}
        db.execute("insert into rt_nopk values ('x')")
        d = (await u.expect(change))["payload"]["data"]
        assert d == {"schema": "public", "table": "rt_nopk", "type": "INSERT", "commit_timestamp": None,
                     "columns": [], "record": {}, "errors": ["Error 400: Bad Request, no primary key"]}
        await u.close()
    run_logged(stack, go())


def test_rls_per_subscriber(stack, db):
    async def go():
        a = await subscribe(stack, [binding("rt_rls")], token=user_token(ALICE), name="a")
        b = await subscribe(stack, [binding("rt_rls")], token=user_token(BOB), vsn="1.0.0", name="b")
        s = await subscribe(stack, [binding("rt_rls")], name="s")                 # service_role
        n = await subscribe(stack, [binding("rt_rls")], token=stack.anon_key, name="n")   # anon: no policy
        db.execute("insert into rt_rls values (1, %s, 'for alice')", (ALICE,))
        assert (await a.expect(change))["payload"]["data"]["record"]["owner"] == ALICE
        assert (await s.expect(change))["payload"]["data"]["record"]["id"] == 1
        db.execute("update rt_rls set note = 'still alice' where id = 1")
        assert (await a.expect(change))["payload"]["data"]["type"] == "UPDATE"
        db.execute("insert into rt_rls values (2, %s, 'for bob')", (BOB,))
        assert (await b.expect(change))["payload"]["data"]["record"]["id"] == 2
        assert (await a.nothing(change, 0.3)) is None
        await b.nothing(lambda m: change(m) and m["payload"]["data"]["record"]["id"] == 1, 0.1)
        await n.nothing(lambda m: change(m) and m["payload"]["data"]["type"] != "DELETE", 0.2)
        # DELETE is not RLS-checked; old_record is cut to the primary key on an RLS table
        db.execute("delete from rt_rls where id = 1")
        for x in (a, b, s, n):
            d = (await x.expect(lambda m: change(m) and m["payload"]["data"]["type"] == "DELETE"))["payload"]["data"]
            assert d["old_record"] == {"id": 1}
        for x in (a, b, s, n):
            await x.close()
    run_logged(stack, go())


def test_access_token_push_changes_the_rls_identity(stack, db):
    async def go():
        c = await subscribe(stack, [binding("rt_rls", "INSERT")], token=user_token(BOB), name="swap")
        db.execute("insert into rt_rls values (30, %s, 'alice only')", (ALICE,))
        await c.nothing(change, 0.3)
        await c.push("realtime:swap", "access_token",
                     {"access_token": user_token(ALICE)}, join_ref=c.jr)
        m = await c.expect(lambda m: m["event"] == "system")
        assert m["payload"]["status"] == "ok"
        db.execute("insert into rt_rls values (31, %s, 'alice again')", (ALICE,))
        assert (await c.expect(change))["payload"]["data"]["record"]["id"] == 31
        db.execute("insert into rt_rls values (32, %s, 'bob')", (BOB,))
        await c.nothing(change, 0.3)
        await c.close()
    run_logged(stack, go())


def test_rls_policy_raising_for_one_subscriber_does_not_lose_the_change(stack, db):
    """supabase/realtime#2093: a policy error for one subscriber must not drop the change for all."""
    async def go():
        bomb = await subscribe(stack, [binding("rt_bomb")], token=user_token("bomb"), name="bomb")
        a = await subscribe(stack, [binding("rt_bomb")], token=user_token(ALICE), name="a")
        b = await subscribe(stack, [binding("rt_bomb")], token=user_token(BOB), vsn="1.0.0", name="b")
        for i in range(3):
            db.execute("insert into rt_bomb values (%s, 'v')", (i,))
        for x in (a, b):
            for i in range(3):
                m = await x.expect(change)
                assert m["payload"]["data"]["record"] == {"id": i, "v": "v"}
        await bomb.nothing(change, 0.3)
        # the server is fine afterwards
        await bomb.heartbeat()
        for x in (bomb, a, b):
            await x.close()
    run_logged(stack, go())


def test_rls_hides_assignments_from_non_mechanics(stack, db):
    mech_user = db.execute("select user_id from public.mechanics where user_id is not null limit 1").fetchone()
    assert mech_user, "demo data has a mechanic"

    async def go():
        mech = await subscribe(stack, [binding("session_assignments", "INSERT")],
                               token=user_token(str(mech_user[0]), email=stack.email), name="m")
        cust = await subscribe(stack, [binding("session_assignments", "INSERT")],
                               token=user_token("00000000-0000-0000-0000-00000000c0c0"), name="c")
        out = subprocess.run([STACK, "request", "--dir", stack.dir, "--no-broadcast", "--json"],
                             capture_output=True, text=True, timeout=30)
        assert out.returncode == 0, out.stderr
        aid = json.loads(out.stdout.strip().splitlines()[-1])["assignment_id"]
        m = await mech.expect(change)
        assert m["payload"]["data"]["record"]["id"] == aid
        assert m["payload"]["data"]["record"]["status"] == "queued"
        await cust.nothing(change, 0.5)
        await mech.close()
        await cust.close()
    run_logged(stack, go())


def test_changes_before_system_ok_are_not_delivered(stack, db):
    st, _ = post_json(stack, "/_stack/realtime", {"subscribe_delay": 1.0})
    assert st == 200
    try:
        async def go():
            c = await Client.connect(stack, vsn="2.0.0")
            cfg = bc_config()
            cfg["postgres_changes"] = [binding("rt_plain", "INSERT")]
            await c.join("gap", cfg, access_token=stack.service_key)
            db.execute("insert into rt_plain values (100, 'in the gap')")
            m = await c.expect(lambda m: m["event"] == "system" or change(m), timeout=5)
            assert m["event"] == "system" and m["payload"]["status"] == "ok"
            db.execute("insert into rt_plain values (101, 'after')")
            m = await c.expect(change)
            assert m["payload"]["data"]["record"]["id"] == 101
            await c.close()
        run_logged(stack, go())
    finally:
        post_json(stack, "/_stack/realtime", {"subscribe_delay": 0})


def test_latency_commit_to_frame(stack, db):
    async def go():
        c = await subscribe(stack, [binding("rt_plain", "INSERT")])
        lat = []
        loop_db = await psycopg.AsyncConnection.connect(stack.database_url, autocommit=True)
        for i in range(60):
            t0 = time.perf_counter()
            await loop_db.execute("insert into rt_plain values (%s, 'lat')", (1000 + i,))
            t1 = time.perf_counter()
            m = await c.expect(change)
            t2 = time.perf_counter()
            assert m["payload"]["data"]["record"]["id"] == 1000 + i
            lat.append((t2 - t1) * 1000)          # from commit acknowledged to frame received
            await asyncio.sleep(0.01)
        await loop_db.close()
        await c.close()
        return lat
    lat = sorted(run_logged(stack, go()))
    p50, p99 = statistics.median(lat), lat[int(len(lat) * 0.99) - 1]
    print("commit->frame latency ms: p50 %.2f p99 %.2f max %.2f" % (p50, p99, lat[-1]))
    assert p50 < 10 and p99 < 50


def test_restart_does_not_replay(stack, db):
    async def go():
        c = await subscribe(stack, [binding("rt_plain", "INSERT")])
        with open(os.path.join(stack.dir, "state.json")) as f:
            pid = json.load(f)["pid"]
        os.kill(pid, signal.SIGKILL)
        await c.expect(lambda m: "closed" in m, timeout=5, what="socket closed by the kill")
        await c.session.close()
        db.execute("insert into rt_plain values (200, 'while down')")
        out = subprocess.run([STACK, "restart", "--dir", stack.dir], capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        c = await subscribe(stack, [binding("rt_plain", "INSERT")])
        db.execute("insert into rt_plain values (201, 'after restart')")
        m = await c.expect(change)
        assert m["payload"]["data"]["record"]["id"] == 201
        await c.nothing(change, 0.5)
        await c.close()
        slots = db.execute("select slot_name from pg_replication_slots").fetchall()
        assert len(slots) == 1, slots                 # the killed process's slot is gone
    run_logged(stack, go())
