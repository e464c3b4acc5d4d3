"""Realtime websocket protocol of the stand-in (supabase-protocol.md §2, §4), spoken with aiohttp's
websocket client against a real stack (the `stack` fixture of conftest.py)."""
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

import aiohttp
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from standin import jwtutil, serializer as ser  # noqa: E402

STACK = os.path.join(HERE, "stack")


def run(coro, timeout=60):
    return asyncio.run(asyncio.wait_for(coro, timeout))


def ws_url(stack, key=None, vsn="1.0.0"):
    url = stack.url.replace("http://", "ws://") + "/realtime/v1/websocket?apikey=" + (key or stack.anon_key)
    if vsn:
        url += "&vsn=" + vsn
    return url


def user_token(sub="00000000-0000-0000-0000-000000000001", ttl=3600, role="authenticated", **extra):
    now = int(time.time())
    claims = {"sub": sub, "role": role, "aud": "authenticated", "iat": now, "exp": now + ttl}
    claims.update(extra)
    return jwtutil.sign(claims)


def post_json(stack, path, body, key=None, headers=None, raw=None, ctype="application/json"):
    data = raw if raw is not None else json.dumps(body).encode()
    h = {"Content-Type": ctype, "apikey": stack.anon_key}
    if key is not False:
        h["Authorization"] = "Bearer " + (key or stack.service_key)
    h.update(headers or {})
    req = urllib.request.Request(stack.url + path, data=data, headers=h, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def fault(stack, kind, **args):
    status, body = post_json(stack, "/_stack/fault", {"kind": kind, "args": args})
    assert status == 200, body


class Client:
    """A raw Phoenix client. Received frames are normalised to dicts
    {join_ref, ref, topic, event, payload} or {"binary": (topic, event, meta, enc, data)}."""

    def __init__(self, session, ws, vsn):
        self.session, self.ws, self.vsn = session, ws, vsn
        self.ref = 0
        self.raw = []
        self.backlog = []

    @classmethod
    async def connect(cls, stack, key=None, vsn="1.0.0"):
        session = aiohttp.ClientSession()
        ws = await session.ws_connect(ws_url(stack, key, vsn), max_msg_size=0, autoping=True)
        return cls(session, ws, vsn if vsn else "1.0.0")

    async def close(self):
        await self.ws.close()
        await self.session.close()

    def next_ref(self):
        self.ref += 1
        return str(self.ref)

    async def push(self, topic, event, payload, join_ref=None, ref=None):
        ref = ref or self.next_ref()
        if self.vsn == "2.0.0":
            await self.ws.send_str(json.dumps([join_ref, ref, topic, event, payload]))
        else:
            m = {"topic": topic, "event": event, "payload": payload, "ref": ref}
            if join_ref is not None:
                m["join_ref"] = join_ref
            await self.ws.send_str(json.dumps(m))
        return ref

    async def recv(self, timeout=5):
        msg = await self.ws.receive(timeout=timeout)
        if msg.type == aiohttp.WSMsgType.TEXT:
            self.raw.append(msg.data)
            o = json.loads(msg.data)
            if self.vsn == "2.0.0":
                assert isinstance(o, list) and len(o) == 5, msg.data
                return {"join_ref": o[0], "ref": o[1], "topic": o[2], "event": o[3], "payload": o[4]}
            assert set(o) == {"topic", "event", "payload", "ref"}, msg.data
            return dict(o, join_ref=None)
        if msg.type == aiohttp.WSMsgType.BINARY:
            return {"binary": ser.decode_server_binary(msg.data), "event": None, "topic": None}
        return {"closed": msg.type, "event": None, "topic": None}

    async def expect(self, pred, timeout=5, what="frame"):
        """The first frame (already seen and skipped, or new) matching pred; others are kept."""
        for i, m in enumerate(self.backlog):
            if pred(m):
                return self.backlog.pop(i)
        deadline = time.monotonic() + timeout
        seen = []
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("no %s within %ss; saw %r" % (what, timeout, seen[-10:]))
            try:
                m = await self.recv(timeout=left)
            except asyncio.TimeoutError:
                continue
            seen.append(m)
            if pred(m):
                return m
            self.backlog.append(m)
            if "closed" in m:
                raise AssertionError("socket closed while waiting for %s; saw %r" % (what, seen[-10:]))

    async def nothing(self, pred, timeout):
        """Assert no frame matching pred arrives within timeout (nor is in the backlog)."""
        for m in self.backlog:
            assert not pred(m), "unexpected %r" % (m,)
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            try:
                m = await self.recv(timeout=left)
            except asyncio.TimeoutError:
                return
            assert not pred(m), "unexpected %r" % (m,)
            if "closed" in m:
                return

    async def reply(self, ref, timeout=5):
        return await self.expect(lambda m: m["event"] == "phx_reply" and m["ref"] == ref, timeout,
                                 "reply to ref %s" % ref)

    async def join(self, name, config=None, access_token=None, expect_ok=True):
        topic = "realtime:" + name
        ref = self.next_ref()
        payload = {"config": config if config is not None else
                   {"broadcast": {"ack": False, "self": False}, "presence": {"key": "", "enabled": False},
                    "postgres_changes": [], "private": False}}
        if access_token:
            payload["access_token"] = access_token
        await self.push(topic, "phx_join", payload, join_ref=ref, ref=ref)
        r = await self.reply(ref)
        if expect_ok:
            assert r["payload"]["status"] == "ok", r
        return ref, r

    async def heartbeat(self, timeout=3):
        ref = await self.push("phoenix", "heartbeat", {})
        return await self.reply(ref, timeout)


def bc_config(self_=False, ack=False, private=False):
    return {"broadcast": {"ack": ack, "self": self_}, "presence": {"key": "", "enabled": False},
            "postgres_changes": [], "private": private}


# ------------------------------------------------------------------------------- handshake
def _handshake(stack, query, headers=None):
    async def go():
        async with aiohttp.ClientSession() as s:
            url = stack.url.replace("http://", "ws://") + "/realtime/v1/websocket" + query
            try:
                ws = await s.ws_connect(url, headers=headers or {})
                await ws.close()
                return 101, None
            except aiohttp.WSServerHandshakeError as e:
                async with s.get(stack.url + "/realtime/v1/websocket" + query, headers=dict(
                        headers or {}, Connection="Upgrade", Upgrade="websocket",
                        **{"Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="})) as r:
                    return e.status, await r.json()
    return run(go())


def test_handshake_rejections(stack):
    expired = jwtutil.sign({"role": "anon", "exp": int(time.time()) - 10})
    bad_sig = jwtutil.sign({"role": "anon", "exp": int(time.time()) + 100}, secret="x" * 40)
    no_role = jwtutil.sign({"exp": int(time.time()) + 100})
    assert _handshake(stack, "?vsn=2.0.0") == (401, {"error": "API key is missing"})
    assert _handshake(stack, "?apikey=abc&vsn=2.0.0") == (401, {"error": "The token provided is not a valid JWT"})
    assert _handshake(stack, "?apikey=%s&vsn=2.0.0" % expired) == (401, {"error": "Token has expired"})
    assert _handshake(stack, "?apikey=%s&vsn=2.0.0" % bad_sig) == (401, {"error": "Failed to validate JWT signature"})
    assert _handshake(stack, "?apikey=%s&vsn=1.0.0" % no_role) == \
        (401, {"error": "Fields `role` and `exp` are required in JWT"})
    assert _handshake(stack, "?apikey=%s&vsn=3.0.0" % stack.anon_key)[0] == 400
    # x-api-key header instead of the query parameter; vsn absent means 1.0.0
    assert _handshake(stack, "", headers={"x-api-key": stack.anon_key}) == (101, None)
    assert _handshake(stack, "?apikey=%s&vsn=2.0.1" % stack.anon_key) == (101, None)


# ------------------------------------------------------------------------------- framing
@pytest.mark.parametrize("vsn", ["1.0.0", "2.0.0", None])
def test_heartbeat_and_unmatched_topic(stack, vsn):
    async def go():
        c = await Client.connect(stack, vsn=vsn)
        r = await c.heartbeat()
        assert r["topic"] == "phoenix" and r["payload"] == {"status": "ok", "response": {}}
        assert r["join_ref"] is None
        if c.vsn == "2.0.0":
            assert c.raw[-1] == '[null,"%s","phoenix","phx_reply",{"status":"ok","response":{}}]' % r["ref"]
        else:
            assert json.loads(c.raw[-1]) == {"topic": "phoenix", "event": "phx_reply", "ref": r["ref"],
                                             "payload": {"status": "ok", "response": {}}}
        ref = await c.push("realtime:nobody", "broadcast", {"type": "broadcast", "event": "x", "payload": {}},
                           join_ref="77")
        r = await c.reply(ref)
        assert r["payload"] == {"status": "error", "response": {"reason": "unmatched topic"}}
        assert r["join_ref"] is None
        await c.close()
    run(go())


@pytest.mark.parametrize("vsn", ["1.0.0", "2.0.0"])
def test_malformed_frames_are_dropped(stack, vsn):
    async def go():
        c = await Client.connect(stack, vsn=vsn)
        for f in ["not json", "[1,2", "{}", "[]", '["1","2","t"]', '{"topic":"phoenix","event":"heartbeat"}',
                  '{"topic":5,"event":"x","payload":{},"ref":"1"}', "null", '"str"', "1e999999",
                  "[" * 10000 + "]" * 10000, json.dumps([None, "1", "phoenix", "heartbeat"])]:
            await c.ws.send_str(f)
        for b in [b"", b"\x03", b"\x03\xff\xff\xff\xff\xff\x01abc", b"\x09\x00", b"\x03\x00\x00\x01\x01\x00\x07tx",
                  b"\x00\x05\x05\x05\x05"]:
            await c.ws.send_bytes(b)
        if vsn == "1.0.0":
            # binary frames on 1.0.0 are dropped too; the socket must survive
            pass
        r = await c.heartbeat()
        assert r["payload"]["status"] == "ok"
        await c.close()
    run(go())


def test_frame_size_limit(stack):
    async def go():
        c = await Client.connect(stack, vsn="2.0.0")
        await c.join("big", bc_config(self_=True, ack=True))
        # 2 MB is fine (below max_frame_size 5,000,000)...
        ref = await c.push("realtime:big", "broadcast",
                           {"type": "broadcast", "event": "e", "payload": {"p": "x" * 2_000_000}}, join_ref="1")
        r = await c.reply(ref, timeout=10)
        assert r["payload"]["status"] == "ok"
        # ...above it the connection is closed (1009)
        try:
            await c.ws.send_str("x" * 5_100_000)
            await c.expect(lambda m: "closed" in m, timeout=10, what="close")
            assert c.ws.close_code in (1009, 1006), c.ws.close_code
        except (aiohttp.ClientOSError, ConnectionResetError):
            pass                             # closed while we were still writing
        # the server itself is fine
        c2 = await Client.connect(stack, vsn="2.0.0")
        await c2.heartbeat()
        await c2.close()
        await c.session.close()
    run(go())


# ------------------------------------------------------------------------------- joins
@pytest.mark.parametrize("vsn", ["1.0.0", "2.0.0"])
def test_join_reply_ids_and_system_ok(stack, vsn):
    b1 = {"event": "*", "schema": "public", "table": "session_assignments"}
    b2 = {"event": "INSERT", "schema": "public", "table": "session_assignments", "filter": "status=eq.queued"}

    async def go():
        c = await Client.connect(stack, vsn=vsn)
        cfg = bc_config()
        cfg["postgres_changes"] = [b1, b2, dict(b1)]
        ref, r = await c.join("feed", cfg, access_token=stack.service_key)
        assert r["join_ref"] == (ref if vsn == "2.0.0" else None)
        pcs = r["payload"]["response"]["postgres_changes"]
        assert [{k: v for k, v in p.items() if k != "id"} for p in pcs] == [b1, b2, b1]
        ids = [p["id"] for p in pcs]
        assert all(isinstance(i, int) and 0 <= i < 2 ** 27 for i in ids)
        assert ids[0] == ids[2] and ids[0] != ids[1]
        m = await c.expect(lambda m: m["event"] == "system", what="system")
        assert m["payload"] == {"extension": "postgres_changes", "status": "ok",
                                "message": "Subscribed to PostgreSQL", "channel": "feed"}
        assert m["ref"] is None and m["join_ref"] == (ref if vsn == "2.0.0" else None)
        # no bindings: empty list and no system message
        ref2, r2 = await c.join("plain", bc_config())
        assert r2["payload"]["response"] == {"postgres_changes": []}
        await c.nothing(lambda m: m["event"] == "system" and m["topic"] == "realtime:plain", 0.5)
        # the same bindings in another connection get the same ids
        c2 = await Client.connect(stack, vsn=vsn)
        _, r3 = await c2.join("other", cfg, access_token=stack.service_key)
        assert [p["id"] for p in r3["payload"]["response"]["postgres_changes"]] == ids
        await c.close()
        await c2.close()
    run(go())


@pytest.mark.parametrize("vsn", ["1.0.0", "2.0.0"])
def test_join_token_errors(stack, vsn):
    expired = user_token(ttl=-12)
    bad_sig = jwtutil.sign({"role": "authenticated", "exp": int(time.time()) + 100}, secret="y" * 40)

    async def go():
        c = await Client.connect(stack, vsn=vsn)
        t0 = time.monotonic()
        _, r = await c.join("t1", bc_config(), access_token=expired, expect_ok=False)
        assert r["payload"]["status"] == "error"
        reason = r["payload"]["response"]["reason"]
        assert reason.startswith("InvalidJWTToken: Token has expired ") and reason.endswith(" seconds ago"), reason
        assert 11 <= int(reason.split()[-3]) <= 20
        assert time.monotonic() - t0 >= 0.1          # CHANNEL_ERROR_BACKOFF (short in tests)
        _, r = await c.join("t2", bc_config(), access_token=bad_sig, expect_ok=False)
        assert r["payload"]["response"]["reason"] == "JwtSignatureError: Failed to validate JWT signature"
        _, r = await c.join("t3", bc_config(), access_token="a.b.c", expect_ok=False)
        assert r["payload"]["response"]["reason"] == "MalformedJWT: The token provided is not a valid JWT"
        _, r = await c.join("", bc_config(), expect_ok=False)
        assert r["payload"]["response"]["reason"].startswith("TopicNameRequired")
        # the failed topics are not joined
        ref = await c.push("realtime:t1", "broadcast", {"type": "broadcast", "event": "x", "payload": {}})
        assert (await c.reply(ref))["payload"]["response"] == {"reason": "unmatched topic"}
        # an sb_ token falls back to the socket's key
        _, r = await c.join("t4", bc_config(), access_token="sb_publishable_xyz")
        await c.close()
    run(go())


@pytest.mark.parametrize("vsn", ["1.0.0", "2.0.0"])
def test_leave_and_duplicate_join(stack, vsn):
    async def go():
        c = await Client.connect(stack, vsn=vsn)
        jr, _ = await c.join("dup", bc_config())
        jr2, _ = await c.join("dup", bc_config())
        close = await c.expect(lambda m: m["event"] == "phx_close", what="phx_close of the old channel")
        assert close["ref"] == jr and close["payload"] == {}
        assert close["join_ref"] == (jr if vsn == "2.0.0" else None)
        ref = await c.push("realtime:dup", "phx_leave", {}, join_ref=jr2)
        r = await c.reply(ref)
        assert r["payload"] == {"status": "ok", "response": {}}
        close = await c.expect(lambda m: m["event"] == "phx_close")
        assert close["ref"] == jr2
        ref = await c.push("realtime:dup", "broadcast", {"type": "broadcast", "event": "x", "payload": {}})
        assert (await c.reply(ref))["payload"]["response"] == {"reason": "unmatched topic"}
        await c.close()
    run(go())


# ------------------------------------------------------------------------------- broadcast
def test_broadcast_binary_and_json_fanout(stack):
    async def go():
        a = await Client.connect(stack, vsn="2.0.0")   # sender, self + ack
        b = await Client.connect(stack, vsn="2.0.0")   # 2.0.0 receiver
        c = await Client.connect(stack, vsn="1.0.0")   # 1.0.0 receiver
        p = await Client.connect(stack, vsn="2.0.0")   # private channel of the same name
        ja, _ = await a.join("room1", bc_config(self_=True, ack=True))
        jb, _ = await b.join("room1", bc_config())
        await c.join("room1", bc_config())
        await p.join("room1", bc_config(private=True), access_token=stack.service_key)
        # kind 3 → kind 4 (2.0.0) / JSON text (1.0.0); ack reply to the sender
        frame = ser.encode_user_broadcast_push(ja, "12", "realtime:room1", "cursor", b'{"x":1,"y":2}')
        assert frame[:7] == bytes([3, len(ja), 2, 14, 6, 0, 1])
        await a.ws.send_bytes(frame)
        r = await a.reply("12")
        assert r["payload"] == {"status": "ok", "response": {}} and r["join_ref"] == ja
        mine = await a.expect(lambda m: "binary" in m)
        assert mine["binary"] == ("realtime:room1", "cursor", None, 1, b'{"x":1,"y":2}')
        mb = await b.expect(lambda m: "binary" in m)
        assert mb["binary"] == ("realtime:room1", "cursor", None, 1, b'{"x":1,"y":2}')
        mc = await c.expect(lambda m: m["event"] == "broadcast")
        assert mc["payload"] == {"type": "broadcast", "event": "cursor", "payload": {"x": 1, "y": 2}}
        assert mc["ref"] is None
        # binary payload (encoding 0): 2.0.0 only
        await a.ws.send_bytes(ser.encode_user_broadcast_push(ja, "13", "realtime:room1", "blob", b"\x00\xff", 0))
        mb = await b.expect(lambda m: "binary" in m)
        assert mb["binary"] == ("realtime:room1", "blob", None, 0, b"\x00\xff")
        await c.nothing(lambda m: m["event"] == "broadcast", 0.3)
        # text push → JSON text frames for everyone
        await a.push("realtime:room1", "broadcast", {"type": "broadcast", "event": "note", "payload": {"t": "hi"}},
                     join_ref=ja)
        mb = await b.expect(lambda m: m["event"] == "broadcast")
        assert mb["payload"] == {"type": "broadcast", "event": "note", "payload": {"t": "hi"}}
        assert b.raw[-1] == '[null,null,"realtime:room1","broadcast",{"type":"broadcast","event":"note","payload":{"t":"hi"}}]'
        mc = await c.expect(lambda m: m["event"] == "broadcast")
        assert mc["payload"]["event"] == "note"
        # the private channel heard nothing of the public topic
        await p.nothing(lambda m: m["event"] == "broadcast" or "binary" in m, 0.3)
        # self false: b sends, b does not receive its own; no ack → no reply
        await b.push("realtime:room1", "broadcast", {"type": "broadcast", "event": "fromb", "payload": {}},
                     join_ref="stale", ref="98")
        await b.nothing(lambda m: m["event"] == "phx_reply", 0.2)      # stale join_ref: ignored
        await a.nothing(lambda m: m["event"] == "broadcast" and m["payload"]["event"] == "fromb", 0.2)
        await b.push("realtime:room1", "broadcast", {"type": "broadcast", "event": "fromb", "payload": {}},
                     join_ref=jb, ref="99")
        await a.expect(lambda m: m["event"] == "broadcast" and m["payload"]["event"] == "fromb")
        await b.nothing(lambda m: m["event"] in ("broadcast", "phx_reply"), 0.3)
        for x in (a, b, c, p):
            await x.close()
    run(go())


def test_rest_broadcast(stack):
    async def go():
        b = await Client.connect(stack, vsn="2.0.0")
        c = await Client.connect(stack, vsn="1.0.0")
        await b.join("feedx", bc_config())
        await c.join("feedx", bc_config())
        st, body = post_json(stack, "/realtime/v1/api/broadcast",
                             {"messages": [{"topic": "feedx", "event": "new_assignment", "payload": {"a": 1},
                                            "id": "8f0c0000-0000-0000-0000-000000000000"},
                                           {"topic": "feedx", "event": "priv", "payload": {}, "private": True}]})
        assert (st, body) == (202, b"")
        mb = await b.expect(lambda m: m["event"] == "broadcast")
        assert mb["payload"] == {"type": "broadcast", "event": "new_assignment", "payload": {"a": 1},
                                 "meta": {"id": "8f0c0000-0000-0000-0000-000000000000"}}
        mc = await c.expect(lambda m: m["event"] == "broadcast")
        assert mc["payload"]["payload"] == {"a": 1}
        await b.nothing(lambda m: m["event"] == "broadcast", 0.3)     # private one went elsewhere
        # single-message endpoint: kind 4 for 2.0.0, JSON for 1.0.0; binary only to 2.0.0
        st, _ = post_json(stack, "/realtime/v1/api/broadcast/feedx/events/ping", None, raw=b'{"n":2}')
        assert st == 202
        mb = await b.expect(lambda m: "binary" in m)
        assert mb["binary"] == ("realtime:feedx", "ping", None, 1, b'{"n":2}')
        mc = await c.expect(lambda m: m["event"] == "broadcast")
        assert mc["payload"] == {"type": "broadcast", "event": "ping", "payload": {"n": 2}}
        st, _ = post_json(stack, "/realtime/v1/api/broadcast/feedx/events/bin", None, raw=b"\x01\x02",
                          ctype="application/octet-stream")
        assert st == 202
        mb = await b.expect(lambda m: "binary" in m)
        assert mb["binary"][3:] == (0, b"\x01\x02")
        await c.nothing(lambda m: m["event"] == "broadcast", 0.3)
        await b.close()
        await c.close()
    run(go())
    st, body = post_json(stack, "/realtime/v1/api/broadcast", {"messages": [{"topic": "a", "event": "b",
                                                                               "payload": {}}]}, key="nope")
    assert (st, json.loads(body)) == (401, {"message": "Unauthorized"})
    st, body = post_json(stack, "/realtime/v1/api/broadcast",
                         {"messages": [{"topic": "a", "event": "b", "payload": {}}, {"topic": "a", "event": "b"}]})
    assert st == 422 and json.loads(body) == {"errors": {"messages": [{}, {"payload": ["can't be blank"]}]}}
    st, body = post_json(stack, "/realtime/v1/api/broadcast/a/events/b", None, raw=b"x", ctype="text/plain")
    assert st == 415 and json.loads(body)["error"].startswith("Unsupported Media Type")


# ------------------------------------------------------------------------------- tokens
@pytest.mark.parametrize("vsn", ["1.0.0", "2.0.0"])
def test_token_expiry_closes_channel(stack, vsn):
    async def go():
        c = await Client.connect(stack, vsn=vsn)
        tok = user_token(ttl=2)
        cfg = bc_config()
        cfg["postgres_changes"] = [{"event": "*", "schema": "public", "table": "feature_flags"}]
        jr, _ = await c.join("exp", cfg, access_token=tok)
        await c.expect(lambda m: m["event"] == "system" and m["payload"]["status"] == "ok")
        exp = jwtutil.verify(tok)["exp"]
        m = await c.expect(lambda m: m["event"] == "system", timeout=5)
        assert time.time() >= exp - 0.05
        assert m["payload"]["status"] == "error" and m["payload"]["channel"] == "exp"
        assert m["payload"]["message"].startswith("Token has expired") and "seconds ago" in m["payload"]["message"]
        close = await c.expect(lambda m: m["event"] == "phx_close")
        assert close["ref"] == jr
        await c.close()
    run(go())


@pytest.mark.parametrize("vsn", ["1.0.0", "2.0.0"])
def test_access_token_push(stack, vsn):
    async def go():
        c = await Client.connect(stack, vsn=vsn)
        cfg = bc_config()
        cfg["postgres_changes"] = [{"event": "*", "schema": "public", "table": "feature_flags"}]
        jr, _ = await c.join("tok", cfg, access_token=user_token(ttl=2))
        await c.expect(lambda m: m["event"] == "system")
        await c.push("realtime:tok", "access_token", {"access_token": user_token(ttl=60)}, join_ref=jr)
        m = await c.expect(lambda m: m["event"] == "system", what="system ok after access_token")
        assert m["payload"]["status"] == "ok" and m["payload"]["message"] == "Subscribed to PostgreSQL"
        # the old token's expiry no longer closes the channel
        await c.nothing(lambda m: m["event"] in ("phx_close", "system"), 2.5)
        # sb_ / null tokens are ignored
        await c.push("realtime:tok", "access_token", {"access_token": "sb_publishable_x"}, join_ref=jr)
        await c.push("realtime:tok", "access_token", {"access_token": None}, join_ref=jr)
        await c.nothing(lambda m: m["event"] in ("phx_close", "system"), 0.3)
        # an invalid token: system error + phx_close
        await c.push("realtime:tok", "access_token", {"access_token": user_token(ttl=-5)}, join_ref=jr)
        m = await c.expect(lambda m: m["event"] == "system")
        assert m["payload"]["status"] == "error" and "expired" in m["payload"]["message"]
        close = await c.expect(lambda m: m["event"] == "phx_close")
        assert close["ref"] == jr
        await c.close()
    run(go())


def test_expire_tokens_fault_closes_current_channels(stack):
    async def go():
        c = await Client.connect(stack, vsn="2.0.0")
        jr, _ = await c.join("fx", bc_config(), access_token=user_token(ttl=3600))
        try:
            fault(stack, "expire-tokens", ttl=1)
            t0 = time.monotonic()
            m = await c.expect(lambda m: m["event"] == "system", timeout=4)
            assert 0.8 <= time.monotonic() - t0 <= 3
            assert "expired" in m["payload"]["message"]
            await c.expect(lambda m: m["event"] == "phx_close" and m["ref"] == jr)
        finally:
            fault(stack, "clear")
        # after clear the same (long) token works again
        await c.join("fx2", bc_config(), access_token=user_token(ttl=3600))
        await c.close()
    run(go())


# ------------------------------------------------------------------------------- faults
def test_fault_drop(stack):
    async def go():
        c = await Client.connect(stack, vsn="2.0.0")
        await c.join("d", bc_config())
        fault(stack, "drop")
        m = await c.expect(lambda m: "closed" in m, timeout=5, what="connection drop")
        assert c.ws.close_code != 1000      # no close frame from the server
        await c.session.close()
        c2 = await Client.connect(stack, vsn="2.0.0")    # new connections work
        await c2.heartbeat()
        await c2.close()
    run(go())


def test_fault_freeze_and_no_heartbeat(stack):
    async def go():
        c = await Client.connect(stack, vsn="1.0.0")
        await c.join("f", bc_config())
        fault(stack, "freeze")
        try:
            with pytest.raises(AssertionError):
                await c.heartbeat(timeout=1.0)
            assert not c.ws.closed
            c2 = await Client.connect(stack, vsn="1.0.0")  # a new socket is not frozen
            await c2.heartbeat()
            await c2.close()
        finally:
            fault(stack, "clear")
        await c.expect(lambda m: m["event"] == "phx_reply", what="reply after thaw")
        await c.heartbeat()
        fault(stack, "freeze", seconds=0.5)
        await asyncio.sleep(1.0)
        await c.heartbeat()
        fault(stack, "no-heartbeat")
        try:
            with pytest.raises(AssertionError):
                await c.heartbeat(timeout=1.0)
            await c.join("still-works", bc_config())
        finally:
            fault(stack, "clear")
        await c.heartbeat()
        await c.close()
    run(go())


@pytest.mark.parametrize("vsn", ["1.0.0", "2.0.0"])
def test_fault_malformed_and_oversized(stack, vsn):
    async def go():
        c = await Client.connect(stack, vsn=vsn)
        fault(stack, "malformed")
        bad = 0
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            try:
                msg = await c.ws.receive(timeout=deadline - time.monotonic())
            except asyncio.TimeoutError:
                break
            bad += 1
        assert bad >= 3
        fault(stack, "oversized")
        msg = await c.ws.receive(timeout=5)
        assert len(msg.data) > 1024 * 1024
        await c.heartbeat()
        await c.close()
    run(go())


@pytest.fixture(scope="module")
def idle_stack():
    """A second stack whose stand-in drops idle sockets after 1.5 s."""
    d = tempfile.mkdtemp(prefix="rtidle")
    env = dict(os.environ, STANDIN_IDLE_TIMEOUT="1.5")
    out = subprocess.run([STACK, "up", "--dir", d, "--port", "0"], env=env, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    lines = dict(l.split("=", 1) for l in out.stdout.split() if "=" in l)

    class S:
        url = lines["WRENCHBELL_URL"]
        anon_key = lines["WRENCHBELL_ANON_KEY"]
        service_key = lines["SERVICE_ROLE_KEY"]
    yield S
    subprocess.run([STACK, "down", "--dir", d], capture_output=True, timeout=60)
    shutil.rmtree(d, ignore_errors=True)


def test_idle_socket_is_dropped(idle_stack):
    async def go():
        c = await Client.connect(idle_stack, vsn="2.0.0")
        k = await Client.connect(idle_stack, vsn="2.0.0")
        t0 = time.monotonic()
        for _ in range(4):                   # k keeps talking, c says nothing
            await asyncio.sleep(0.6)
            await k.heartbeat()
        m = await c.expect(lambda m: "closed" in m, timeout=3, what="idle close")
        assert 1.4 <= time.monotonic() - t0 <= 3.5
        await k.heartbeat()
        await c.session.close()
        await k.close()
    run(go())


def test_broadcast_from_database(stack):
    import psycopg

    async def go():
        b = await Client.connect(stack, vsn="2.0.0")
        c = await Client.connect(stack, vsn="1.0.0")
        p = await Client.connect(stack, vsn="2.0.0")
        await b.join("dbroom", bc_config())
        await c.join("dbroom", bc_config())
        await p.join("dbroom", bc_config(private=True), access_token=stack.service_key)
        with psycopg.connect(stack.database_url, autocommit=True) as db:
            db.execute("select realtime.send('{\"a\": 1}'::jsonb, 'dbev', 'dbroom', false)")
            mb = await b.expect(lambda m: "binary" in m)
            topic, event, meta, enc, data = mb["binary"]
            assert set(meta) == {"id"}
            # realtime.send adds the message id to a payload that has none
            assert (topic, event, enc, json.loads(data)) == ("realtime:dbroom", "dbev", 1, {"a": 1, "id": meta["id"]})
            mc = await c.expect(lambda m: m["event"] == "broadcast")
            assert mc["payload"] == {"type": "broadcast", "event": "dbev", "payload": {"a": 1, "id": meta["id"]},
                                     "meta": meta}
            await p.nothing(lambda m: "binary" in m, 0.3)
            db.execute("select realtime.send('{\"b\": 2}'::jsonb, 'secret', 'dbroom')")      # private
            mp = await p.expect(lambda m: "binary" in m)
            assert mp["binary"][1] == "secret"
            await b.nothing(lambda m: "binary" in m, 0.3)
        for x in (b, c, p):
            await x.close()
    run(go())


@pytest.mark.parametrize("vsn", ["1.0.0", "2.0.0"])
def test_odd_join_payloads_do_not_break_the_server(stack, vsn):
    odd = [None, [], "x", {"config": []}, {"config": {"postgres_changes": {"a": 1}}},
           {"config": {"broadcast": "yes", "presence": 5, "private": "true",
                       "postgres_changes": [None, 5, {"event": 5, "schema": None, "table": ["x"], "filter": {"a": 1}}]}},
           {"config": {"postgres_changes": [{"event": "*", "schema": "*", "table": "*"}]}, "access_token": 123},
           {"config": {"postgres_changes": [{"event": "*", "schema": "public", "table": "feature_flags",
                                             "filter": "key=eq.'; drop table feature_flags; --"}]}}]

    async def go():
        c = await Client.connect(stack, vsn=vsn)
        for i, payload in enumerate(odd):
            ref = c.next_ref()
            await c.push("realtime:odd%d" % i, "phx_join", payload, join_ref=ref, ref=ref)
            r = await c.reply(ref)
            assert r["payload"]["status"] in ("ok", "error")
        await c.ws.send_str(json.dumps([None, None, "realtime:odd1", "presence", "x"]) if vsn == "2.0.0" else
                            json.dumps({"topic": "realtime:odd1", "event": "presence", "payload": "x", "ref": None}))
        await c.heartbeat()
        await c.ws.ping()
        await c.heartbeat()
        await c.close()
    run(go())
    import psycopg
    with psycopg.connect(stack.database_url, autocommit=True) as db:
        assert db.execute("select count(*) from feature_flags").fetchone()[0] >= 1


@pytest.mark.parametrize("vsn", ["1.0.0", "2.0.0"])
def test_presence_minimal(stack, vsn):
    def cfg(key):
        c = bc_config()
        c["presence"] = {"key": key, "enabled": True}
        return c

    async def go():
        a = await Client.connect(stack, vsn=vsn)
        b = await Client.connect(stack, vsn=vsn)
        ja, _ = await a.join("lobby", cfg("alice"))
        st = await a.expect(lambda m: m["event"] == "presence_state")
        assert st["payload"] == {} and st["ref"] is None
        jb, _ = await b.join("lobby", cfg(""))
        await b.expect(lambda m: m["event"] == "presence_state")
        ref = await a.push("realtime:lobby", "presence", {"type": "presence", "event": "track",
                                                          "payload": {"online_at": 1}}, join_ref=ja)
        assert (await a.reply(ref))["payload"]["status"] == "ok"
        for x in (a, b):
            d = await x.expect(lambda m: m["event"] == "presence_diff")
            metas = d["payload"]["joins"]["alice"]["metas"]
            assert metas[0]["online_at"] == 1 and "phx_ref" in metas[0]
            assert d["payload"]["leaves"] == {}
        ref = await a.push("realtime:lobby", "presence", {"type": "presence", "event": "track",
                                                          "payload": "nope"}, join_ref=ja)
        assert (await a.reply(ref))["payload"] == {"status": "error", "response": {
            "reason": "Presence track payload must be a map"}}
        await a.close()
        d = await b.expect(lambda m: m["event"] == "presence_diff")
        assert list(d["payload"]["leaves"]) == ["alice"]
        await b.close()
    run(go())


def test_private_channels_follow_realtime_messages_policies(stack):
    import psycopg
    alice, bob = "00000000-0000-0000-0000-0000000000a1", "00000000-0000-0000-0000-0000000000b0"
    db = psycopg.connect(stack.database_url, autocommit=True)
    db.execute("drop policy if exists rt_test_read on realtime.messages;"
               "drop policy if exists rt_test_write on realtime.messages;"
               "create policy rt_test_read on realtime.messages for select to authenticated"
               "  using (realtime.topic() = 'vip');"
               "create policy rt_test_write on realtime.messages for insert to authenticated"
               "  with check (realtime.topic() = 'vip' and auth.jwt() ->> 'sub' = '%s')" % alice)

    async def go():
        a = await Client.connect(stack, vsn="2.0.0")
        b = await Client.connect(stack, vsn="1.0.0")
        ja, _ = await a.join("vip", bc_config(ack=True, private=True), access_token=user_token(alice))
        jb, _ = await b.join("vip", bc_config(ack=True, private=True), access_token=user_token(bob))
        _, r = await b.join("other", bc_config(private=True), access_token=user_token(bob), expect_ok=False)
        assert r["payload"]["response"]["reason"] == \
            "Unauthorized: You do not have permissions to read from this Channel topic: other"
        _, r = await b.join("vip2", bc_config(private=True), expect_ok=False)       # anon key
        assert r["payload"]["response"]["reason"].startswith("Unauthorized")
        await b.join("vip", bc_config(private=False), access_token=user_token(bob))  # public: no policy
        await b.expect(lambda m: m["event"] == "phx_close")                          # replaced the private one
        jb, _ = await b.join("vip", bc_config(ack=True, private=True), access_token=user_token(bob))
        # bob may read but not write: his broadcast is dropped silently, even with ack
        ref = await b.push("realtime:vip", "broadcast", {"type": "broadcast", "event": "x", "payload": {}},
                           join_ref=jb)
        await b.nothing(lambda m: m["event"] == "phx_reply" and m["ref"] == ref, 0.4)
        await a.nothing(lambda m: "binary" in m or m["event"] == "broadcast", 0.1)
        # alice may write
        await a.ws.send_bytes(ser.encode_user_broadcast_push(ja, "50", "realtime:vip", "hello", b'{"v":1}'))
        assert (await a.reply("50"))["payload"]["status"] == "ok"
        mb = await b.expect(lambda m: m["event"] == "broadcast")
        assert mb["payload"] == {"type": "broadcast", "event": "hello", "payload": {"v": 1}}
        # REST single, private: 403 for bob, 202 for the service role
        st, body = post_json(stack, "/realtime/v1/api/broadcast/vip/events/e?private=true", None, raw=b"{}",
                             key=user_token(bob))
        assert (st, json.loads(body)) == (403, {"message": "Unauthorized"})
        st, _ = post_json(stack, "/realtime/v1/api/broadcast/vip/events/e?private=true", None, raw=b"{}")
        assert st == 202
        await b.expect(lambda m: m["event"] == "broadcast" and m["payload"]["event"] == "e")
        # a token that may read nothing there: system error + phx_close (test_dbcast.py has the
        # "no longer" case: a read the old token had and the new one has not)
        await b.push("realtime:vip", "access_token", {"access_token": user_token(bob, role="anon")}, join_ref=jb)
        m = await b.expect(lambda m: m["event"] == "system")
        assert m["payload"]["message"] == "You do not have permissions to read from this Channel topic: vip"
        await b.expect(lambda m: m["event"] == "phx_close" and m["ref"] == jb)
        await a.close()
        await b.close()
    try:
        run(go())
    finally:
        db.execute("drop policy if exists rt_test_read on realtime.messages;"
                   "drop policy if exists rt_test_write on realtime.messages")
        db.close()


def test_channel_limit_and_replication_ready(stack):
    async def go():
        c = await Client.connect(stack, vsn="2.0.0")
        cfg = bc_config()
        cfg["broadcast"]["replication_ready"] = True
        jr, _ = await c.join("repl", cfg)
        m = await c.expect(lambda m: m["event"] == "system")
        assert m["payload"] == {"extension": "system", "status": "ok",
                                "message": "Replication connection established", "channel": "repl"}
        for i in range(99):
            await c.join("many%d" % i, bc_config())
        _, r = await c.join("one-too-many", bc_config(), expect_ok=False)
        assert r["payload"]["response"]["reason"] == "ChannelRateLimitReached: Too many channels"
        await c.join("many0", bc_config())            # re-joining an existing topic is fine
        await c.close()
    run(go())
