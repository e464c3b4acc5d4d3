"""Fault injection state, the REST fault middleware and POST /_stack/fault.

POST /_stack/fault  (Authorization: Bearer <service_role key> or apikey header)
    {"kind": "<kind>", "args": {...}}
kinds: drop, freeze {seconds?}, no-heartbeat, rest-503 {share, status?}, rest-slow {share, ms},
       rest-timeout {share}, expire-tokens {ttl?=5}, malformed, oversized,
       join-rate-limit, connection-rate-limit, tenant-disabled (Realtime's tenant limits), clear
GET /_stack/fault returns the current state.

Socket-level kinds (drop, freeze, no-heartbeat, expire-tokens, malformed, oversized, tenant-disabled,
clear) are passed to listeners: faults.add_listener(cb) with cb(kind: str, args: dict); cb may
return an awaitable. The tenant limits are read from the state by realtime.py at each handshake
and join.
"""
import asyncio
import inspect
import json
import logging
import random

from aiohttp import web

from . import jwtutil

log = logging.getLogger("standin.faults")

SOCKET_KINDS = {"drop", "freeze", "no-heartbeat", "expire-tokens", "malformed", "oversized",
                "tenant-disabled", "clear"}
TENANT_KINDS = {"join-rate-limit": "join_rate_limit", "connection-rate-limit": "connection_rate_limit",
                "tenant-disabled": "tenant_disabled"}
REST_PREFIXES = ("/rest/v1", "/auth/v1", "/realtime/v1/api")


class Faults:
    def __init__(self):
        self._listeners = []
        self.reset()

    def reset(self):
        self.rest_error_share = 0.0
        self.rest_error_status = 503
        self.rest_delay_share = 0.0
        self.rest_delay_ms = 0
        self.rest_timeout_share = 0.0
        self.heartbeat_replies = True
        self.token_ttl = None           # None or seconds for newly issued access tokens
        self.frozen = False
        self.freeze_seconds = None
        self.join_rate_limit = False        # Realtime: ClientJoinRateLimitReached
        self.connection_rate_limit = False  # Realtime: ConnectionRateLimitReached
        self.tenant_disabled = False        # Realtime: RealtimeDisabledForTenant
        self.random = random.Random()

    def add_listener(self, callback):
        self._listeners.append(callback)

    def remove_listener(self, callback):
        if callback in self._listeners:
            self._listeners.remove(callback)

    def state(self):
        return {"rest_error_share": self.rest_error_share,
                "rest_error_status": self.rest_error_status,
                "rest_delay_share": self.rest_delay_share,
                "rest_delay_ms": self.rest_delay_ms,
                "rest_timeout_share": self.rest_timeout_share,
                "heartbeat_replies": self.heartbeat_replies,
                "token_ttl": self.token_ttl,
                "frozen": self.frozen,
                "join_rate_limit": self.join_rate_limit,
                "connection_rate_limit": self.connection_rate_limit,
                "tenant_disabled": self.tenant_disabled}

    def apply(self, kind, args=None):
        """Change the state for kind; notify listeners. Raises ValueError on bad input."""
        args = dict(args or {})

        def share(name="share"):
            try:
                v = float(args.get(name, 1.0))
            except (TypeError, ValueError):
                raise ValueError("%s must be a number between 0 and 1" % name)
            if not 0.0 <= v <= 1.0:
                raise ValueError("%s must be a number between 0 and 1" % name)
            return v

        def number(name, default):
            v = args.get(name, default)
            if v is None:
                return None
            try:
                v = float(v)
            except (TypeError, ValueError):
                raise ValueError("%s must be a number" % name)
            if v < 0:
                raise ValueError("%s must not be negative" % name)
            return v

        if kind == "clear":
            self.reset()
        elif kind == "rest-503":
            self.rest_error_share = share()
            if "status" in args:
                self.rest_error_status = int(number("status", 503))
        elif kind == "rest-slow":
            self.rest_delay_share = share()
            self.rest_delay_ms = number("ms", 1000)
        elif kind == "rest-timeout":
            self.rest_timeout_share = share()
        elif kind == "no-heartbeat":
            self.heartbeat_replies = False
        elif kind == "expire-tokens":
            self.token_ttl = number("ttl", 5)
            args["ttl"] = self.token_ttl
        elif kind == "freeze":
            self.frozen = True
            self.freeze_seconds = number("seconds", None)
            args["seconds"] = self.freeze_seconds
        elif kind in TENANT_KINDS:
            setattr(self, TENANT_KINDS[kind], True)
        elif kind in ("drop", "malformed", "oversized"):
            pass
        else:
            raise ValueError("unknown fault kind: %s" % kind)
        if kind in SOCKET_KINDS:
            self._notify(kind, args)
        return self.state()

    def _notify(self, kind, args):
        for cb in list(self._listeners):
            try:
                res = cb(kind, dict(args))
                if inspect.isawaitable(res):
                    task = asyncio.ensure_future(res)
                    task.add_done_callback(_log_task_error)
            except Exception:
                log.exception("fault listener failed for %s", kind)


def _log_task_error(task):
    if not task.cancelled() and task.exception() is not None:
        log.error("fault listener task failed: %r", task.exception())


def _error_response(path, status):
    if path.startswith("/auth/v1"):
        body = {"code": "unexpected_failure", "message": "Service unavailable (injected fault)"}
        return web.json_response(body, status=status, headers={"x-sb-error-code": "unexpected_failure"})
    if path.startswith("/rest/v1"):
        body = {"code": "PGRST001", "details": "injected fault", "hint": None,
                "message": "Database client error. Retrying the connection."}
        return web.json_response(body, status=status)
    return web.json_response({"message": "Service unavailable (injected fault)"}, status=status)


@web.middleware
async def fault_middleware(request, handler):
    faults = request.app["ctx"].faults
    path = request.path
    if path.startswith(REST_PREFIXES):
        rnd = faults.random.random
        if faults.rest_timeout_share and rnd() < faults.rest_timeout_share:
            # Never answer; the client gives up (aiohttp cancels us when it disconnects).
            await asyncio.sleep(24 * 3600)
        if faults.rest_delay_share and faults.rest_delay_ms and rnd() < faults.rest_delay_share:
            await asyncio.sleep(faults.rest_delay_ms / 1000.0)
        if faults.rest_error_share and rnd() < faults.rest_error_share:
            return _error_response(path, faults.rest_error_status)
    return await handler(request)


def bearer_claims(request):
    """Claims of the request's token (Authorization Bearer, else apikey header/param); raises JwtError.
    With an sb_ key the gateway has put the JWT it minted for the key's role there."""
    auth = request.headers.get("Authorization", "")
    token = None
    if auth.lower().startswith("bearer "):
        token = auth[7:].strip()
    if not token:
        token = request.headers.get("apikey") or request.query.get("apikey")
    return jwtutil.verify(token, require=())


async def handle_fault(request):
    faults = request.app["ctx"].faults
    try:
        claims = bearer_claims(request)
    except jwtutil.JwtError:
        return web.json_response({"message": "Unauthorized"}, status=401)
    if claims.get("role") != "service_role":
        return web.json_response({"message": "service_role key required"}, status=403)
    try:
        body = await request.json()
        if not isinstance(body, dict):
            raise ValueError
    except (ValueError, json.JSONDecodeError):
        return web.json_response({"message": "body must be a JSON object {kind, args}"}, status=400)
    kind = body.get("kind")
    args = body.get("args") or {}
    if not isinstance(kind, str) or not isinstance(args, dict):
        return web.json_response({"message": "kind must be a string, args an object"}, status=400)
    try:
        state = faults.apply(kind, args)
    except ValueError as e:
        return web.json_response({"message": str(e)}, status=400)
    log.info("fault %s %s", kind, args)
    return web.json_response({"kind": kind, "state": state})


async def handle_fault_state(request):
    return web.json_response(request.app["ctx"].faults.state())


def setup(app):
    app.router.add_post("/_stack/fault", handle_fault)
    app.router.add_get("/_stack/fault", handle_fault_state)
