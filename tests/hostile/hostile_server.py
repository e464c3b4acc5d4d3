#!/usr/bin/python3
"""A deliberately hostile Supabase look-alike, for tests only (not the stand-in: nothing here is
meant to be faithful). It signs anyone in, accepts any channel join and answers heartbeats, and
then attacks the client that joined, once per connection:

  deep-frame    a websocket frame nested 200,000 deep behind a single-quoted string
  big-message   a 100 MB text message in 1 MB continuation frames
  endless-rest  catch-up and details answers that never end
  deep-rest     catch-up and details answers nested 200,000 deep behind a single-quoted string
  hostile-text  customer text with ESC, OSC 52, CSI, C1 controls and bidi overrides, in a
                broadcast, in the details and in the catch-up rows
  all           every one of them at once

Listens on 127.0.0.1 only (--port 0 picks a free port, written to --ready-file), optionally with
TLS (--tls-cert/--tls-key). Every step is logged as a JSON line on stdout, for the test to follow.

Run with Debian's python3 (python3-aiohttp): /usr/bin/python3 tests/hostile/hostile_server.py
"""
import argparse
import asyncio
import json
import ssl
import struct
import sys
import time
import uuid

from aiohttp import web, WSMsgType

DEPTH = 200_000
# json-glib 1.6 accepts 'single-quoted' strings; a depth pre-scan that knows only double quotes
# takes the '"' for the start of a string and never sees the brackets after it.
DEEP_JSON = "{\"x\":'\"',\"y\":" + "[" * DEPTH + "]" * DEPTH + "}"
HOSTILE = ("Eve \x1b]52;c;ZXZpbCBjbGlwYm9hcmQ=\x07\x1b[2J\x1b[31m\u009b31m"
           "\u202emodnar\u202c \u2066x\u2069\u2067y\u2068z")
FRAGMENT = 1024 * 1024
BIG_FRAGMENTS = 100

ASSIGNMENT = str(uuid.UUID(int=0x11))
SESSION = str(uuid.UUID(int=0x22))


def log(event, **fields):
    fields["event"] = event
    fields["t"] = round(time.monotonic(), 3)
    print(json.dumps(fields), flush=True)


def encode(obj, v2):
    """A frame in the client's vsn: 1.0.0 JSON objects, 2.0.0 JSON arrays
    [join_ref, ref, topic, event, payload] (Phoenix's V2 JSON serializer)."""
    if v2:
        return json.dumps([obj.get("join_ref"), obj.get("ref"), obj["topic"], obj["event"], obj["payload"]])
    return json.dumps(obj)


def decode(text, v2):
    m = json.loads(text)
    if v2:
        if not isinstance(m, list) or len(m) != 5:
            raise ValueError("not a 2.0.0 frame")
        return {"join_ref": m[0], "ref": m[1], "topic": m[2], "event": m[3], "payload": m[4]}
    if not isinstance(m, dict):
        raise ValueError("not a 1.0.0 frame")
    return m


def token(sub="00000000-0000-0000-0000-0000000000aa"):
    # Never verified by the client beyond its shape: header.claims.signature.
    import base64

    def b64(obj):
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()
    return "%s.%s.c2ln" % (b64({"alg": "HS256", "typ": "JWT"}),
                           b64({"sub": sub, "role": "authenticated", "exp": int(time.time()) + 3600}))


class Hostile:
    def __init__(self, attack):
        self.attack = attack
        self.want = set(("deep-frame", "big-message", "endless-rest", "deep-rest", "hostile-text")
                        if attack == "all" else (attack,))

    # ---------------------------------------------------------------- auth
    async def token(self, request):
        grant = request.query.get("grant_type")
        log("token", grant=grant)
        return web.json_response({
            "access_token": token(), "token_type": "bearer", "expires_in": 3600,
            "expires_at": int(time.time()) + 3600, "refresh_token": uuid.uuid4().hex,
            "user": {"id": "00000000-0000-0000-0000-0000000000aa", "email": "anyone@example.com"}})

    # ---------------------------------------------------------------- REST
    async def endless(self, request, what):
        resp = web.StreamResponse(headers={"Content-Type": "application/json"})
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        chunk = b" " * 65536
        sent = 0
        log("endless-start", what=what)
        try:
            await resp.write(b"[")
            while True:
                await resp.write(chunk)
                sent += len(chunk)
        except (ConnectionResetError, ConnectionError, asyncio.CancelledError, RuntimeError):
            pass
        log("endless-stopped", what=what, sent=sent)
        return resp

    def deep(self, what):
        log("deep-rest", what=what)
        return web.Response(text=DEEP_JSON, content_type="application/json")

    async def rest(self, request):
        table = request.match_info["table"]
        if table == "feature_flags":
            return web.json_response([])
        what = {"session_assignments": "catchup", "sessions": "details",
                "intakes": "details"}.get(table, table)
        if "endless-rest" in self.want and what in ("catchup", "details"):
            return await self.endless(request, what)
        if "deep-rest" in self.want and what in ("catchup", "details"):
            return self.deep(what)
        if "hostile-text" in self.want and what == "catchup":
            log("hostile-rows", what=what)
            return web.json_response([{
                "id": str(uuid.UUID(int=0x33)), "session_id": str(uuid.UUID(int=0x44)),
                "status": "queued", "updated_at": "2026-01-01T00:00:00Z",
                "offered_at": "2026-01-01T00:00:00Z", "metadata": {"customerName": HOSTILE}}])
        if "hostile-text" in self.want and what == "details":
            log("hostile-details")
            row = {"id": request.query.get("id", "eq.x")[3:], "type": HOSTILE, "intake_id": "i1",
                   "intake": {"name": HOSTILE, "concern": HOSTILE, "vehicle_year": 2012,
                              "vehicle_make": HOSTILE, "vehicle_model": "\x1b[5m"}}
            return web.json_response(row if "pgrst.object" in request.headers.get("Accept", "")
                                     else [row])
        return web.json_response([])

    # ---------------------------------------------------------------- realtime
    async def websocket(self, request):
        ws = web.WebSocketResponse(max_msg_size=0, autoping=True)
        await ws.prepare(request)
        v2 = request.query.get("vsn") == "2.0.0"
        log("ws-open", vsn="2.0.0" if v2 else "1.0.0")
        lock = asyncio.Lock()
        attacked = False

        async def send(obj):
            async with lock:
                if not ws.closed:
                    await ws.send_str(obj if isinstance(obj, str) else encode(obj, v2))

        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                continue
            try:
                m = decode(msg.data, v2)
            except ValueError:
                continue
            topic, event, ref = m.get("topic"), m.get("event"), m.get("ref")
            if event == "heartbeat":
                await send({"topic": "phoenix", "event": "phx_reply", "ref": ref, "join_ref": None,
                            "payload": {"status": "ok", "response": {}}})
            elif event == "phx_join":
                config = (m.get("payload") or {}).get("config") or {}
                changes = [dict(c, id=1000 + i) for i, c in enumerate(config.get("postgres_changes") or [])]
                await send({"topic": topic, "event": "phx_reply", "ref": ref, "join_ref": m.get("join_ref"),
                            "payload": {"status": "ok", "response": {"postgres_changes": changes}}})
                await send({"topic": topic, "event": "system", "ref": None, "join_ref": m.get("join_ref"),
                            "payload": {"extension": "postgres_changes", "status": "ok",
                                        "message": "Subscribed to PostgreSQL", "channel": topic}})
                log("joined", topic=topic)
                if not attacked:
                    attacked = True
                    asyncio.ensure_future(self.attack_socket(request, ws, lock, topic, v2))
            elif event in ("access_token", "phx_leave"):
                await send({"topic": topic, "event": "phx_reply", "ref": ref, "join_ref": m.get("join_ref"),
                            "payload": {"status": "ok", "response": {}}})
        log("ws-closed", code=ws.close_code)
        return ws

    async def attack_socket(self, request, ws, lock, topic, v2):
        await asyncio.sleep(0.3)

        def broadcast(payload):
            return encode({"topic": topic, "event": "broadcast", "ref": None, "join_ref": None,
                           "payload": {"type": "broadcast", "event": "new_assignment",
                                       "payload": payload}}, v2)
        if "hostile-text" in self.want:
            async with lock:
                await ws.send_str(broadcast({
                    "assignmentId": str(uuid.UUID(int=0x55)), "sessionId": str(uuid.UUID(int=0x66)),
                    "customerName": HOSTILE, "vehicleSummary": HOSTILE, "concern": HOSTILE,
                    "urgent": True}))
            log("hostile-broadcast")
        if self.want & {"endless-rest", "deep-rest", "hostile-text"}:
            # Ids only: the client has to fetch the details.
            async with lock:
                await ws.send_str(broadcast({"assignmentId": ASSIGNMENT, "sessionId": SESSION}))
            log("details-bait")
        if "deep-frame" in self.want:
            body = '{"type":"broadcast","event":"new_assignment","payload":%s}' % DEEP_JSON
            if v2:
                frame = '[null,null,%s,"broadcast",%s]' % (json.dumps(topic), body)
            else:
                frame = '{"topic":%s,"event":"broadcast","ref":null,"payload":%s}' % (json.dumps(topic), body)
            async with lock:
                await ws.send_str(frame)
            log("deep-frame", bytes=len(frame))
        if "big-message" in self.want:
            await self.big_message(request, ws, lock)

    async def big_message(self, request, ws, lock):
        """100 MB of text in 1 MB continuation frames, written raw (aiohttp never fragments)."""
        transport = request.transport
        payload = b"x" * FRAGMENT
        sent = 0
        async with lock:
            for i in range(BIG_FRAGMENTS):
                if transport is None or transport.is_closing():
                    break
                opcode = 0x1 if i == 0 else 0x0
                fin = 0x80 if i == BIG_FRAGMENTS - 1 else 0x00
                transport.write(struct.pack("!BBQ", fin | opcode, 127, len(payload)) + payload)
                sent += 1
                while transport.get_write_buffer_size() > 4 * FRAGMENT and not transport.is_closing():
                    await asyncio.sleep(0.01)
        log("big-message", fragments_sent=sent,
            closed_by_client=transport is None or transport.is_closing())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--attack", required=True,
                    choices=["deep-frame", "big-message", "endless-rest", "deep-rest",
                             "hostile-text", "all", "none"])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--ready-file", required=True)
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    args = ap.parse_args()

    h = Hostile(args.attack)
    app = web.Application(client_max_size=1024 * 1024)
    app.router.add_post("/auth/v1/token", h.token)
    app.router.add_get("/rest/v1/{table}", h.rest)
    app.router.add_get("/realtime/v1/websocket", h.websocket)

    ctx = None
    if args.tls_cert:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)

    async def run():
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", args.port, ssl_context=ctx)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        with open(args.ready_file + ".tmp", "w") as f:
            f.write(str(port))
        import os
        os.rename(args.ready_file + ".tmp", args.ready_file)
        log("listening", port=port, tls=ctx is not None, attack=args.attack)
        await asyncio.Event().wait()

    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
