"""Supabase Realtime stand-in: /realtime/v1/websocket (Phoenix vsn 1.0.0 and 2.0.0), channels,
broadcast (socket + REST), presence (minimal), postgres_changes (via cdc.py), token expiry and
socket faults, Realtime's tenant limits (tenant_limits.py) and the platform's 24 h limit on
connections authorised only by an API key. See supabase-protocol.md §2, §3, §4.1, §4.2.

Environment knobs (seconds):
  STANDIN_IDLE_TIMEOUT            idle drop of a socket that sent nothing (Phoenix: 60)
  STANDIN_CONNECT_ERROR_BACKOFF   sleep before a handshake rejection (Realtime: 2)
  STANDIN_CHANNEL_ERROR_BACKOFF   sleep before a join error reply (Realtime: 5)
  STANDIN_CDC_SUBSCRIBE_DELAY     extra delay between join reply and CDC "Subscribed" (0)
  STANDIN_PUBLIC_CONNECTION_MAX_S life of a socket opened with an sb_ key and no user token (86400; config.py)
"""
import asyncio
import hashlib
import json
import logging
import time
import uuid

from aiohttp import web, WSMsgType

from . import jwtutil
from . import serializer as ser
from .cdc import Cdc
from . import tenant_limits

log = logging.getLogger("standin.realtime")

IDLE_TIMEOUT = float(__import__("os").environ.get("STANDIN_IDLE_TIMEOUT", "60"))
CONNECT_ERROR_BACKOFF = float(__import__("os").environ.get("STANDIN_CONNECT_ERROR_BACKOFF", "0.2"))
CHANNEL_ERROR_BACKOFF = float(__import__("os").environ.get("STANDIN_CHANNEL_ERROR_BACKOFF", "0.2"))
CDC_SUBSCRIBE_DELAY = float(__import__("os").environ.get("STANDIN_CDC_SUBSCRIBE_DELAY", "0"))
MAX_FRAME_SIZE = 5_000_000
MAX_CHANNELS_PER_SOCKET = 100
MAX_PAYLOAD_SIZE = 3_000 * 1024 + 500
EXPIRY_CHECK_MAX = 3600.0
PUBLIC_LIMIT_CLOSE = 1000        # close code when an API-key-only socket reaches its time limit


def binding_id(params):
    """Stable small integer (0..2^27-1) per binding params map (Realtime: erlang:phash2)."""
    canon = json.dumps(params, sort_keys=True, separators=(",", ":"), default=str)
    return int.from_bytes(hashlib.sha256(canon.encode()).digest()[:8], "big") % (1 << 27)


def _bool(v, default=False):
    if isinstance(v, bool):
        return v
    if isinstance(v, str) and v.lower() in ("true", "false"):
        return v.lower() == "true"
    return default


class _RollbackProbe(Exception):
    pass


class Hub:
    def __init__(self, ctx):
        self.ctx = ctx
        self.sockets = set()
        self.topics = {}                 # (private, name) -> set(Channel)
        self.cdc = None
        self.subscribe_delay = CDC_SUBSCRIBE_DELAY
        self.no_heartbeat = False
        self.expire_at = None            # fault: tokens issued before expire_since expire here
        self.expire_since = None

    @property
    def heartbeat_replies(self):
        return getattr(self.ctx.faults, "heartbeat_replies", True) and not self.no_heartbeat

    def effective_exp(self, claims):
        exp = claims.get("exp")
        exp = float(exp) if isinstance(exp, (int, float)) and not isinstance(exp, bool) else None
        # The fault shortens user sessions' tokens, not the project's API keys (no `sub`).
        if self.expire_at is not None and claims.get("sub"):
            iat = claims.get("iat")
            if not (isinstance(iat, (int, float)) and iat >= self.expire_since):
                exp = self.expire_at if exp is None else min(exp, self.expire_at)
        return exp

    def verify(self, token):
        """claims, or raises JwtError; applies the expire-tokens fault."""
        claims = jwtutil.verify(token)
        exp = self.effective_exp(claims)
        if exp is not None and time.time() >= exp:
            raise jwtutil.expired(int(time.time() - exp))
        return claims

    # -------------------------------------------------------------- private channels
    async def authorize(self, claims, name):
        """(can_read, can_write) for a private channel topic, decided by the RLS policies on
        realtime.messages exactly like Realtime does: in a rolled-back transaction, probe rows
        for this topic as the token's role with its claims and realtime.topic set (§4.3)."""
        db = getattr(self.ctx, "db", None)
        if db is None:
            return True, True
        role = (claims or {}).get("role") or "anon"
        result = [False, False]
        try:
            async with db.connection() as conn:
                cur = await conn.execute("select to_regclass('realtime.messages') is not null")
                if not (await cur.fetchone())[0]:
                    return True, True
                try:
                    async with conn.transaction():
                        cur = await conn.execute(
                            "insert into realtime.messages (topic, extension, event, payload, private)"
                            " values (%s, 'broadcast', 'authz', '{}', true),"
                            " (%s, 'presence', 'authz', '{}', true) returning id", (name, name))
                        ids = [r[0] for r in await cur.fetchall()]
                        await conn.execute(
                            "select set_config('role', %s, true), set_config('request.jwt.claims', %s, true),"
                            " set_config('request.jwt.claim.sub', %s, true),"
                            " set_config('request.jwt.claim.role', %s, true),"
                            " set_config('realtime.topic', %s, true)",
                            (role, json.dumps(claims or {}), str((claims or {}).get("sub") or ""), role, name))
                        cur = await conn.execute(
                            "select exists(select 1 from realtime.messages where id = any(%s) and topic = %s)",
                            (ids, name))
                        result[0] = bool((await cur.fetchone())[0])
                        try:
                            async with conn.transaction():
                                await conn.execute(
                                    "insert into realtime.messages (topic, extension, event, payload, private)"
                                    " values (%s, 'broadcast', 'authz', '{}', true)", (name,))
                                result[1] = True
                        except Exception:
                            result[1] = False
                        raise _RollbackProbe()
                except _RollbackProbe:
                    pass
        except Exception as e:
            log.warning("private channel authorization failed: %s", e)
        return result[0], result[1]

    # -------------------------------------------------------------- fan-out
    def fanout(self, private, name, sender, make_frame):
        """make_frame(vsn, topic) -> frame or None. sender: Channel excluded unless self."""
        for ch in list(self.topics.get((private, name), ())):
            if ch is sender and not ch.self_broadcast:
                continue
            frame = make_frame(ch.socket.vsn, ch.topic)
            if frame is not None:
                ch.socket.send_frame(frame)

    def fanout_message(self, private, name, sender, payload):
        def mk(vsn, topic):
            return ser.encode(vsn, ser.Message(None, None, topic, "broadcast", payload))
        self.fanout(private, name, sender, mk)

    def fanout_user(self, private, name, sender, ub):
        def mk(vsn, topic):
            return ser.encode_user_broadcast(vsn, topic, ub)
        self.fanout(private, name, sender, mk)

    # -------------------------------------------------------------- faults
    def on_fault(self, kind, args):
        args = args or {}
        if kind == "drop":
            for s in list(self.sockets):
                s.abort()
        elif kind == "freeze":
            secs = args.get("seconds")
            for s in list(self.sockets):
                s.freeze(secs)
        elif kind == "no-heartbeat":
            self.no_heartbeat = True
        elif kind == "expire-tokens":
            ttl = args.get("ttl")
            ttl = 5.0 if ttl is None else float(ttl)
            now = time.time()
            self.expire_since = now
            self.expire_at = now + ttl
            self._rearm_all()
        elif kind == "malformed":
            for s in list(self.sockets):
                s.send_malformed()
        elif kind == "oversized":
            for s in list(self.sockets):
                s.send_oversized()
        elif kind == "tenant-disabled":
            for s in list(self.sockets):
                s.drain()
        elif kind == "subscribe-delay":
            self.subscribe_delay = float(args.get("seconds") or 0)
        elif kind == "clear":
            self.no_heartbeat = False
            self.expire_at = self.expire_since = None
            self.subscribe_delay = CDC_SUBSCRIBE_DELAY
            for s in list(self.sockets):
                s.unfreeze()
            self._rearm_all()

    def _rearm_all(self):
        for s in list(self.sockets):
            for ch in list(s.channels.values()):
                ch.arm_expiry()


class Socket:
    def __init__(self, hub, ws, request, vsn, claims):
        self.hub = hub
        self.ws = ws
        self.request = request
        self.vsn = vsn
        self.claims = claims
        self.token = None
        self.channels = {}               # topic -> Channel
        self.queue = asyncio.Queue()
        self.frozen = False
        self.unfreeze_handle = None
        self.closed = False
        self.writer_task = None
        self.closing = False             # a close frame waits behind the frames queued before it
        self.counted = False             # has joined a channel (Realtime counts it as a user)
        self.public_handle = None        # timer of the public-connection limit (sb_ key sockets)
        self.public_expired = False

    # -------------------------------------------------------------- output
    def send(self, msg):
        self.send_frame(ser.encode(self.vsn, msg))

    def send_frame(self, frame):
        if self.closed or self.frozen or self.closing:
            return
        self.queue.put_nowait(frame)

    async def writer(self):
        try:
            while True:
                frame = await self.queue.get()
                if frame is None:
                    return
                if isinstance(frame, _Close):
                    await self.ws.close(code=frame.code)
                    return
                if self.frozen:
                    continue
                if isinstance(frame, (bytes, bytearray)):
                    await self.ws.send_bytes(bytes(frame))
                else:
                    await self.ws.send_str(frame)
        except (ConnectionError, RuntimeError, asyncio.CancelledError):
            pass
        except Exception:
            log.exception("socket writer failed")

    def reply(self, m, status, response, join_ref=None):
        self.send(ser.Message(join_ref, m.ref, m.topic, "phx_reply",
                              {"status": status, "response": response}))

    # -------------------------------------------------------------- the server ends the socket
    def close_after_pending(self, code):
        """Send a close frame (`code`) once the frames queued so far are out; nothing after it."""
        if self.closed or self.closing:
            return
        self.closing = True
        self.queue.put_nowait(_Close(code))

    def drain(self):
        """The tenant was disabled: each channel is told, then the socket is drained."""
        for ch in list(self.channels.values()):
            ch.send(ser.Message(None, None, ch.topic, "system", dict(tenant_limits.DISCONNECT_MESSAGE)))
        self.close_after_pending(tenant_limits.CLOSE_DRAINED)

    def arm_public_limit(self, seconds):
        self.public_handle = asyncio.get_running_loop().call_later(seconds, self._public_limit_reached)

    def _public_limit_reached(self):
        """The API key's token ends: channels still on it are shut down (Realtime's token expiry),
        then the socket closes unless a channel carries a user token."""
        self.public_handle = None
        now = time.time()
        for ch in list(self.channels.values()):
            if not ch.user_authorised:
                exp = self.hub.effective_exp(ch.claims) or now
                ch.shutdown("Token has expired %d seconds ago" % max(0, int(now - exp)))
        self.public_expired = True       # only now: every channel above got its shutdown first
        self.check_public_limit()

    def check_public_limit(self):
        if self.public_expired and not any(ch.user_authorised for ch in self.channels.values()):
            self.close_after_pending(PUBLIC_LIMIT_CLOSE)

    # -------------------------------------------------------------- faults
    def abort(self):
        tr = self.request.transport
        self.closed = True
        if tr is not None:
            tr.abort()

    def freeze(self, seconds=None):
        self.frozen = True
        tr = self.request.transport
        if tr is not None:
            try:
                tr.pause_reading()
            except Exception:
                pass
        while not self.queue.empty():
            self.queue.get_nowait()
        if self.unfreeze_handle:
            self.unfreeze_handle.cancel()
            self.unfreeze_handle = None
        if seconds:
            self.unfreeze_handle = asyncio.get_running_loop().call_later(float(seconds), self.unfreeze)

    def unfreeze(self):
        if not self.frozen:
            return
        self.frozen = False
        tr = self.request.transport
        if tr is not None:
            try:
                tr.resume_reading()
            except Exception:
                pass

    def send_malformed(self):
        if self.vsn == ser.V2:
            frames = ["{not json", '["only","three",3]', '{"topic":"x"}',
                      ser.dumps([None, None, "realtime:__no_such_topic__", "phx_reply",
                                 {"status": "ok", "response": {}}]),
                      bytes([9, 1, 2, 3]), bytes([4, 200, 1])]
        else:
            frames = ["{not json", '["a","b"]', '{"topic":"x","event":5}',
                      ser.dumps({"topic": "realtime:__no_such_topic__", "event": "phx_reply",
                                 "payload": {"status": "ok", "response": {}}, "ref": "x"})]
        for f in frames:
            self.send_frame(f)

    def send_oversized(self):
        pad = "x" * (1024 * 1024 + 4096)
        self.send(ser.Message(None, None, "realtime:__oversized__", "broadcast",
                              {"type": "broadcast", "event": "oversized", "payload": {"pad": pad}}))

    # -------------------------------------------------------------- input
    async def handle_frame(self, data):
        try:
            m = ser.decode(self.vsn, data)
        except ser.DecodeError as e:
            log.info("MalformedWebSocketMessage dropped: %s", e)
            return
        if m.topic == "phoenix" and m.event == "heartbeat":
            if self.hub.heartbeat_replies:
                self.reply(m, "ok", {})
            return
        ch = self.channels.get(m.topic)
        if m.event == "phx_join":
            await self.join(m)
            return
        if ch is None:
            self.reply(m, "error", {"reason": "unmatched topic"})
            return
        if m.join_ref is not None and m.join_ref != ch.join_ref:
            log.info("stale join_ref on %s ignored", m.topic)
            return
        try:
            await ch.handle(m)
        except Exception:
            log.exception("channel %s crashed on %s", m.topic, m.event)
            ch.send(ser.Message(ch.join_ref, ch.join_ref, ch.topic, "phx_error", {}))
            ch.close(send_close=False)

    async def join(self, m):
        topic = m.topic
        payload = m.payload if isinstance(m.payload, dict) else {}
        if not topic.startswith("realtime:"):
            self.reply(m, "error", {"reason": "unmatched topic"})
            return
        name = topic[len("realtime:"):]

        async def error(reason):
            await asyncio.sleep(CHANNEL_ERROR_BACKOFF)
            self.reply(m, "error", {"reason": reason}, join_ref=m.join_ref)

        limited = tenant_limits.join_before_token(self.hub.ctx.faults, self.counted) if name else None
        if limited is not None:
            await error(limited[0])
            if limited[1]:
                self.close_after_pending(tenant_limits.CLOSE_DISCONNECTED)
            return
        old = self.channels.get(topic)
        if old is not None:
            old.close(send_close=True)
        elif len(self.channels) >= MAX_CHANNELS_PER_SOCKET:
            await error("ChannelRateLimitReached: Too many channels")
            return
        if not name:
            await error("TopicNameRequired: You must provide a topic name")
            return
        config = payload.get("config")
        config = config if isinstance(config, dict) else {}
        token = payload.get("user_token") or payload.get("access_token")
        if not isinstance(token, str) or token.startswith("sb_") or not token:
            token = self.token
        try:
            claims = self.hub.verify(token)
        except jwtutil.JwtError as e:
            await error(e.reason)
            return
        disabled = tenant_limits.join_after_token(self.hub.ctx.faults)
        if disabled is not None:
            await error(disabled)
            return
        bc = config.get("broadcast") if isinstance(config.get("broadcast"), dict) else {}
        pres = config.get("presence") if isinstance(config.get("presence"), dict) else {}
        pcs = config.get("postgres_changes")
        pcs = [b for b in pcs if isinstance(b, dict)] if isinstance(pcs, list) else []
        bindings = [(binding_id(b), b) for b in pcs]
        private = _bool(config.get("private"))
        can_read = can_write = True
        if private:
            can_read, can_write = await self.hub.authorize(claims, name)
            if not can_read:
                await error("Unauthorized: You do not have permissions to read from this Channel "
                            "topic: %s" % name)
                return
        ch = Channel(self, topic, name, m.join_ref or m.ref, claims, token)
        ch.private = private
        ch.can_write = can_write
        ch.self_broadcast = _bool(bc.get("self"))
        ch.ack = _bool(bc.get("ack"))
        ch.presence_enabled = _bool(pres.get("enabled"))
        key = pres.get("key")
        ch.presence_key = key if isinstance(key, str) and key else str(uuid.uuid4())
        ch.bindings = bindings
        self.channels[topic] = ch
        self.counted = True
        self.hub.topics.setdefault(ch.key, set()).add(ch)
        self.reply(m, "ok", {"postgres_changes": [dict(b, id=i) for i, b in bindings]},
                   join_ref=m.join_ref)
        if ch.presence_enabled:
            ch.send(ser.Message(ch.join_ref, None, topic, "presence_state",
                                self.hub_presence_state(ch.key)))
        if _bool(bc.get("replication_ready")):
            ch.system("system", "ok", "Replication connection established")
        ch.arm_expiry()
        if bindings:
            ch.start_cdc()

    def hub_presence_state(self, key):
        state = {}
        for ch in self.hub.topics.get(key, ()):
            for k, metas in ch.presence.items():
                state.setdefault(k, {"metas": []})["metas"].extend(metas)
        return state

    def close_all(self):
        self.closed = True
        for ch in list(self.channels.values()):
            ch.close(send_close=False)
        self.queue.put_nowait(None)


class Channel:
    def __init__(self, socket, topic, name, join_ref, claims, token):
        self.socket = socket
        self.hub = socket.hub
        self.topic = topic
        self.name = name
        self.join_ref = join_ref
        self.claims = claims
        self.token = token
        self.private = False
        self.can_write = True
        self.self_broadcast = False
        self.ack = False
        self.presence_enabled = False
        self.presence_key = None
        self.presence = {}               # key -> [meta]
        self.bindings = []
        self.expiry_handle = None
        self.cdc_task = None
        self.closed = False

    @property
    def key(self):
        return (self.private, self.name)

    def send(self, msg):
        if not self.closed:
            self.socket.send(msg)

    def system(self, extension, status, message):
        self.send(ser.Message(self.join_ref, None, self.topic, "system",
                              {"extension": extension, "status": status, "message": message,
                               "channel": self.name}))

    def close(self, send_close=True):
        if self.closed:
            return
        if send_close:
            self.send(ser.Message(self.join_ref, self.join_ref, self.topic, "phx_close", {}))
        self.closed = True
        if self.socket.channels.get(self.topic) is self:
            del self.socket.channels[self.topic]
        peers = self.hub.topics.get(self.key)
        if peers is not None:
            peers.discard(self)
            if not peers:
                del self.hub.topics[self.key]
        if self.expiry_handle:
            self.expiry_handle.cancel()
        if self.cdc_task:
            self.cdc_task.cancel()
        if self.hub.cdc:
            self.hub.cdc.unsubscribe(self)
        if self.presence:
            leaves = {k: {"metas": v} for k, v in self.presence.items()}
            self.presence = {}
            self._presence_diff({}, leaves)
        self.socket.check_public_limit()

    @property
    def user_authorised(self):
        """Open and on a user's token (not the project's API key): keeps a public socket alive."""
        return not self.closed and bool((self.claims or {}).get("sub"))

    def shutdown(self, message):
        """`system` error + phx_close (Realtime's shutdown_response)."""
        self.system("system", "error", message)
        self.close(send_close=True)

    # -------------------------------------------------------------- token expiry
    def arm_expiry(self):
        if self.expiry_handle:
            self.expiry_handle.cancel()
            self.expiry_handle = None
        if self.closed:
            return
        exp = self.hub.effective_exp(self.claims)
        if exp is None:
            return
        delay = min(max(exp - time.time(), 0.0), EXPIRY_CHECK_MAX)
        self.expiry_handle = asyncio.get_running_loop().call_later(delay, self._expiry_check)

    def _expiry_check(self):
        self.expiry_handle = None
        if self.closed:
            return
        exp = self.hub.effective_exp(self.claims)
        now = time.time()
        if exp is not None and now >= exp:
            self.shutdown("Token has expired %d seconds ago" % int(now - exp))
        else:
            self.arm_expiry()

    # -------------------------------------------------------------- CDC
    def start_cdc(self):
        if self.cdc_task:
            self.cdc_task.cancel()
        self.cdc_task = asyncio.ensure_future(self._subscribe_cdc())

    async def _subscribe_cdc(self):
        try:
            if self.hub.subscribe_delay:
                await asyncio.sleep(self.hub.subscribe_delay)
            cdc = self.hub.cdc
            if cdc is None:
                self.system("postgres_changes", "error", "Unable to connect to the database")
                return
            await cdc.ready.wait()
            # shielded: cancelling mid-query would leave the shared catalog connection busy
            err = await asyncio.shield(cdc.subscribe(self, self.bindings, self.claims))
        except asyncio.CancelledError:
            return
        except Exception as e:
            log.exception("CDC subscribe failed")
            err = "Unable to subscribe to changes with given parameters. An exception happened: %s" % e
        if self.closed:
            if self.hub.cdc:
                self.hub.cdc.unsubscribe(self)
            return
        if err:
            self.system("postgres_changes", "error", err)
        else:
            self.system("postgres_changes", "ok", "Subscribed to PostgreSQL")

    def deliver_postgres_change(self, ids, data):
        self.send(ser.Message(None, None, self.topic, "postgres_changes", {"ids": ids, "data": data}))

    # -------------------------------------------------------------- inbound events
    async def handle(self, m):
        ev = m.event
        if ev == "phx_leave":
            self.socket.reply(m, "ok", {}, join_ref=self.join_ref)
            self.close(send_close=True)
        elif ev == "broadcast":
            self._broadcast(m)
        elif ev == "access_token":
            self._access_token(m)
        elif ev == "presence":
            self._presence(m)
        else:
            log.info("unhandled event %s on %s", ev, self.topic)

    def _broadcast(self, m):
        if self.private and not self.can_write:
            return                       # denial is always silent, even with ack
        ub = m.user_broadcast
        size = len(ub.data) if ub is not None else len(ser.dumps(m.payload))
        if size > MAX_PAYLOAD_SIZE:
            if self.ack:
                self.socket.reply(m, "error", "payload_size_exceeded", join_ref=self.join_ref)
            return
        if ub is not None:
            self.hub.fanout_user(self.private, self.name, self, ub)
        else:
            p = m.payload if isinstance(m.payload, dict) else {}
            out = {"type": "broadcast", "event": p.get("event"), "payload": p.get("payload")}
            for k, v in p.items():
                if k not in out:
                    out[k] = v
            self.hub.fanout_message(self.private, self.name, self, out)
        if self.ack:
            self.socket.reply(m, "ok", {}, join_ref=self.join_ref)

    def _access_token(self, m):
        p = m.payload if isinstance(m.payload, dict) else {}
        token = p.get("access_token")
        if not isinstance(token, str) or not token or token.startswith("sb_") or token == self.token:
            return
        try:
            claims = self.hub.verify(token)
        except jwtutil.JwtError as e:
            msg = e.reason.split(": ", 1)[1] if ": " in e.reason else e.reason
            self.shutdown(msg)
            return
        if self.private:
            asyncio.ensure_future(self._reauthorize(token, claims))
            return
        self._apply_token(token, claims)

    async def _reauthorize(self, token, claims):
        can_read, can_write = await self.hub.authorize(claims, self.name)
        if self.closed:
            return
        if not can_read:
            self.shutdown("You no longer have permission to read from this Channel topic: %s" % self.name)
            return
        self.can_write = can_write
        self._apply_token(token, claims)

    def _apply_token(self, token, claims):
        self.token = token
        self.claims = claims
        self.arm_expiry()
        if self.bindings:
            if self.hub.cdc:
                self.hub.cdc.update_claims(self, claims)
            self.start_cdc()

    def _presence(self, m):
        p = m.payload if isinstance(m.payload, dict) else {}
        ev = p.get("event")
        if ev == "track":
            meta = p.get("payload")
            if not isinstance(meta, dict):
                self.socket.reply(m, "error", {"reason": "Presence track payload must be a map"},
                                  join_ref=self.join_ref)
                return
            leaves = {}
            if self.presence:
                leaves = {k: {"metas": v} for k, v in self.presence.items()}
            meta = dict(meta, phx_ref=uuid.uuid4().hex[:20])
            self.presence = {self.presence_key: [meta]}
            self.socket.reply(m, "ok", {}, join_ref=self.join_ref)
            self._presence_diff({self.presence_key: {"metas": [meta]}}, leaves)
        elif ev == "untrack":
            leaves = {k: {"metas": v} for k, v in self.presence.items()}
            self.presence = {}
            self.socket.reply(m, "ok", {}, join_ref=self.join_ref)
            if leaves:
                self._presence_diff({}, leaves)
        else:
            self.socket.reply(m, "ok", {}, join_ref=self.join_ref)

    def _presence_diff(self, joins, leaves):
        for ch in list(self.hub.topics.get(self.key, ())):
            if ch.presence_enabled:
                ch.send(ser.Message(None, None, ch.topic, "presence_diff",
                                    {"joins": joins, "leaves": leaves}))


# ------------------------------------------------------------------ HTTP handlers

async def handle_websocket(request):
    hub = request.app["realtime"]
    vsn = ser.valid_vsn(request.query.get("vsn"))

    async def reject(status, text):
        await asyncio.sleep(CONNECT_ERROR_BACKOFF)
        return web.json_response({"error": text}, status=status)

    refused = tenant_limits.handshake_before_token(hub.ctx.faults)
    if refused is not None:
        return await reject(*refused)
    token = request.headers.get("x-api-key") or request.query.get("apikey")
    if not token:
        return await reject(401, "API key is missing")
    if vsn is None:
        return await reject(400, "Unsupported serializer version")
    try:
        claims = hub.verify(token)
    except jwtutil.JwtError as e:
        return await reject(401, e.handshake)
    refused = tenant_limits.handshake_after_token(hub.ctx.faults)
    if refused is not None:
        return await reject(*refused)
    # autoping off: a ping is a frame from the client and resets the idle timer (as in Cowboy)
    ws = web.WebSocketResponse(max_msg_size=MAX_FRAME_SIZE, autoping=False, compress=False)
    if not ws.can_prepare(request).ok:
        return await reject(400, "Not a websocket upgrade")
    await ws.prepare(request)
    hub.ctx.stats.ws_upgraded += 1
    sock = Socket(hub, ws, request, vsn, claims)
    sock.token = token
    if request.get("public_connection_max_s") is not None:
        sock.arm_public_limit(request["public_connection_max_s"])
    hub.sockets.add(sock)
    sock.writer_task = asyncio.ensure_future(sock.writer())
    loop = asyncio.get_running_loop()
    last = loop.time()
    try:
        while True:
            remaining = last + IDLE_TIMEOUT - loop.time()
            if remaining <= 0:
                if sock.frozen:
                    last = loop.time()
                    continue
                log.info("idle socket closed after %.1f s", IDLE_TIMEOUT)
                break
            try:
                msg = await ws.receive(timeout=remaining)
            except asyncio.TimeoutError:
                continue
            if msg.type in (WSMsgType.TEXT, WSMsgType.BINARY):
                if sock.frozen or sock.closed:
                    continue
                last = loop.time()
                try:
                    await sock.handle_frame(msg.data)
                except Exception:
                    log.exception("frame handling failed")
            elif msg.type in (WSMsgType.PING, WSMsgType.PONG):
                if sock.frozen or sock.closed:
                    continue
                last = loop.time()
                if msg.type == WSMsgType.PING:
                    try:
                        await ws.pong(msg.data)
                    except Exception:
                        pass
            elif msg.type == WSMsgType.ERROR:
                log.info("websocket error: %s", ws.exception())
                break
            elif msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED):
                break
    except (asyncio.CancelledError, ConnectionError):
        pass
    finally:
        hub.sockets.discard(sock)
        if sock.public_handle:
            sock.public_handle.cancel()
        sock.close_all()
        if sock.writer_task:
            try:
                await asyncio.wait_for(sock.writer_task, 1.0)
            except Exception:
                sock.writer_task.cancel()
        if not ws.closed and not sock.frozen:
            try:
                await ws.close()
            except Exception:
                pass
    return ws


class _Close:
    """Queued on a socket's writer: send a close frame with this code, then stop."""
    __slots__ = ("code",)

    def __init__(self, code):
        self.code = code


def _rest_claims(request):
    auth = request.headers.get("Authorization", "")
    token = auth[7:].strip() if auth.lower().startswith("bearer ") else None
    if not token:
        token = request.headers.get("apikey")
    return jwtutil.verify(token)


async def handle_broadcast_batch(request):
    hub = request.app["realtime"]
    try:
        claims = _rest_claims(request)
    except jwtutil.JwtError:
        return web.json_response({"message": "Unauthorized"}, status=401)
    if hub.ctx.faults.tenant_disabled:
        return web.json_response({"message": tenant_limits.REST_SUSPENDED}, status=403)
    try:
        body = await request.json()
    except Exception:
        return web.json_response({"errors": {"messages": ["can't be blank"]}}, status=422)
    msgs = body.get("messages") if isinstance(body, dict) else None
    if not isinstance(msgs, list) or not msgs:
        return web.json_response({"errors": {"messages": ["can't be blank"]}}, status=422)
    errors, ok = [], True
    for mm in msgs:
        e = {}
        if not isinstance(mm, dict):
            errors.append({"message": ["is invalid"]})
            ok = False
            continue
        if not isinstance(mm.get("topic"), str) or not mm.get("topic"):
            e["topic"] = ["can't be blank"]
        if not isinstance(mm.get("event"), str) or not mm.get("event"):
            e["event"] = ["can't be blank"]
        if not isinstance(mm.get("payload"), dict):
            e["payload"] = ["can't be blank"] if mm.get("payload") is None else ["is invalid"]
        elif len(ser.dumps(mm["payload"])) > MAX_PAYLOAD_SIZE:
            e["payload"] = ["Payload size exceeds tenant limit"]
        if "private" in mm and not isinstance(mm["private"], bool):
            e["private"] = ["is invalid"]
        errors.append(e)
        ok = ok and not e
    if not ok:
        return web.json_response({"errors": {"messages": errors}}, status=422)
    allowed = {}
    for mm in msgs:
        if mm.get("private") is True:
            if mm["topic"] not in allowed:
                allowed[mm["topic"]] = (await hub.authorize(claims, mm["topic"]))[1]
            if not allowed[mm["topic"]]:
                continue                 # private messages failing the write policy: skipped
        out = {"type": "broadcast", "event": mm["event"], "payload": mm["payload"]}
        if isinstance(mm.get("id"), str):
            out["meta"] = {"id": mm["id"]}
        hub.fanout_message(bool(mm.get("private")), mm["topic"], None, out)
    return web.Response(status=202)


async def handle_broadcast_single(request):
    hub = request.app["realtime"]
    try:
        claims = _rest_claims(request)
    except jwtutil.JwtError:
        return web.json_response({"message": "Unauthorized"}, status=401)
    if hub.ctx.faults.tenant_disabled:
        return web.json_response({"message": tenant_limits.REST_SUSPENDED}, status=403)
    topic = request.match_info["topic"]
    event = request.match_info["event"]
    private = request.query.get("private", "false").lower() == "true"
    ctype = (request.content_type or "").lower()
    data = await request.read()
    if ctype == "application/json":
        try:
            json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return web.json_response({"errors": {"payload": ["is invalid"]}}, status=422)
        enc = ser.ENC_JSON
    elif ctype == "application/octet-stream":
        enc = ser.ENC_BINARY
    else:
        return web.json_response(
            {"error": "Unsupported Media Type. Use application/json or application/octet-stream"},
            status=415)
    if len(data) > MAX_PAYLOAD_SIZE:
        return web.json_response({"errors": {"payload": ["Payload size exceeds tenant limit"]}},
                                 status=422)
    if private and not (await hub.authorize(claims, topic))[1]:
        return web.json_response({"message": "Unauthorized"}, status=403)
    hub.fanout_user(private, topic, None, ser.UserBroadcast(event, data, enc, None))
    return web.Response(status=202)


async def handle_knobs(request):
    """POST /_stack/realtime {"subscribe_delay": seconds} (service_role): realtime-only test knobs.
    GET returns them plus the CDC slot name."""
    hub = request.app["realtime"]
    if request.method == "POST":
        try:
            claims = _rest_claims(request)
        except jwtutil.JwtError:
            return web.json_response({"message": "Unauthorized"}, status=401)
        if claims.get("role") != "service_role":
            return web.json_response({"message": "service_role key required"}, status=403)
        try:
            body = await request.json()
            if "subscribe_delay" in body:
                hub.subscribe_delay = max(0.0, float(body["subscribe_delay"]))
        except Exception:
            return web.json_response({"message": "body must be {\"subscribe_delay\": seconds}"},
                                     status=400)
    return web.json_response({"subscribe_delay": hub.subscribe_delay,
                              "slot": hub.cdc.slot if hub.cdc else None,
                              "sockets": len(hub.sockets)})


async def _on_startup(app):
    hub = app["realtime"]
    ctx = app["ctx"]
    cdc = Cdc(ctx.dsn, getattr(ctx, "db", None))
    hub.cdc = cdc

    def db_broadcast(private, topic, event, data, mid):
        meta = {"id": mid} if mid else None
        hub.fanout_user(private, topic, None, ser.UserBroadcast(event, data, ser.ENC_JSON, meta))
    cdc.on_broadcast = db_broadcast

    async def start():
        for attempt in range(20):
            try:
                await cdc.start()
                log.info("CDC streaming from slot %s", cdc.slot)
                return
            except Exception as e:
                log.warning("CDC start failed (%s); retrying", e)
                await asyncio.sleep(0.5)
        log.error("CDC could not start")
    # Block startup until CDC streams so that `stack up` returning means changes are delivered.
    try:
        await asyncio.wait_for(start(), 15)
    except asyncio.TimeoutError:
        log.error("CDC start timed out")


async def _on_shutdown(app):
    hub = app["realtime"]
    for s in list(hub.sockets):
        try:
            await s.ws.close(code=1001, message=b"server shutting down")
        except Exception:
            pass


async def _on_cleanup(app):
    hub = app["realtime"]
    if hub.cdc:
        await hub.cdc.stop()


def setup(app):
    ctx = app["ctx"]
    hub = Hub(ctx)
    app["realtime"] = hub
    app.router.add_get("/realtime/v1/websocket", handle_websocket)
    app.router.add_get("/socket/websocket", handle_websocket)
    app.router.add_post("/realtime/v1/api/broadcast", handle_broadcast_batch)
    app.router.add_post("/realtime/v1/api/broadcast/{topic}/events/{event}", handle_broadcast_single)
    app.router.add_post("/_stack/realtime", handle_knobs)
    app.router.add_get("/_stack/realtime", handle_knobs)
    app.on_startup.append(_on_startup)
    app.on_shutdown.append(_on_shutdown)
    app.on_cleanup.append(_on_cleanup)
    if getattr(ctx, "faults", None) is not None:
        ctx.faults.add_listener(hub.on_fault)
