"""The platform's API gateway in front of REST (/rest/v1), Auth (/auth/v1) and Realtime
(/realtime/v1, the websocket included), as Supabase's API-keys guide describes it:

- The API key comes in the `apikey` header or `apikey` query parameter (the websocket: query
  parameter, or Realtime's own `x-api-key` header). An HTTP request without one:
  401 {"message":"No API key found in request","hint":...}.
- `sb_publishable_…` maps to the `anon` role, `sb_secret_…` to `service_role`: the gateway mints a
  short-lived ES256 JWT for the role (keys.ProjectKeys.mint) and hands it to the service in place
  of the key (apikey header / query parameter, and Authorization when that was absent or exactly
  equal to the apikey). Any other `Authorization: Bearer` value goes to the service unchanged, so
  a publishable or secret key there that differs from the apikey is refused as "not a JWT".
- A secret key from a browser (User-Agent starting with `Mozilla/`, the platform's heuristic)
  and an `sb_` key that is not this project's: 401 with the platform's bodies and sb-error-code.
- HTTP API keys must be this project's (publishable, secret, legacy anon / service_role):
  anything else is `Invalid API key`. The websocket passes a non-`sb_` apikey on to Realtime,
  which answers with its own handshake texts (as `supabase start` does).
- `stack up --legacy-keys off`: the legacy anon / service_role keys, as apikey or as bearer, are
  refused everywhere: 401 {"message":"Legacy API keys are disabled","hint":...}.

The stand-in's own /_stack/* endpoints get the same key handling when a key is present (so the
secret key works there), and GET /_stack/stats (service role) reports what the gateway counted:
websocket handshake attempts (upgraded / refused by status) and HTTP requests per service.
"""
import collections
import re
import time

from aiohttp import web

from . import config, faults, keys as keymod

SERVICE_PREFIXES = ("/rest/v1", "/auth/v1", "/realtime/v1")
WEBSOCKET_PATHS = ("/realtime/v1/websocket", "/socket/websocket")
ADMIN_PREFIX = "/_stack/"
BROWSER = re.compile(r"^mozilla/", re.IGNORECASE)
MINTED_HTTP_TTL = 300           # seconds a minted HTTP token lives; renewed when half is gone

NO_API_KEY = ("No API key found in request", "No `apikey` request header or url param was found.", None)
INVALID_API_KEY = ("Invalid API key", "Double check your Supabase `anon` or `service_role` API key.",
                   "UNAUTHORIZED_INVALID_API_KEY")
SECRET_IN_BROWSER = ("Forbidden use of secret API key in browser",
                     "Secret API keys can only be used in a protected environment and should never be "
                     "used in a browser. Delete this secret API key immediately!",
                     "UNAUTHORIZED_INVALID_API_KEY_TYPE")
LEGACY_DISABLED = "Legacy API keys are disabled"
LEGACY_HINT = ("Your legacy API keys (anon, service_role) were disabled on %s. Re-enable them in the "
               "Supabase dashboard, or use the new publishable and secret API keys.")


class Stats:
    """What the gateway saw: websocket handshakes and HTTP requests per service."""

    def __init__(self):
        self.started_at = time.time()
        self.ws_attempts = 0
        self.ws_upgraded = 0
        self.ws_refused = collections.Counter()
        self.http = collections.Counter()

    def snapshot(self, open_sockets=None):
        ws = {"attempts": self.ws_attempts, "upgraded": self.ws_upgraded,
              "refused": {str(k): v for k, v in sorted(self.ws_refused.items())},
              "refused_total": sum(self.ws_refused.values())}
        if open_sockets is not None:
            ws["open"] = open_sockets
        return {"since": self.started_at, "websocket": ws, "http": dict(sorted(self.http.items()))}


def refusal(status, message, hint=None, code=None):
    body = {"message": message}
    if hint is not None:
        body["hint"] = hint
    headers = {"sb-error-code": code} if code else None
    return web.json_response(body, status=status, headers=headers)


def legacy_refusal(keys):
    return refusal(401, LEGACY_DISABLED, LEGACY_HINT % keys.legacy_disabled_at)


def _bearer(request):
    auth = request.headers.get("Authorization")
    if auth is None:
        return None
    scheme, _, rest = auth.strip().partition(" ")
    return rest.strip() if scheme.lower() == "bearer" else None


class _Minter:
    """Minted HTTP tokens per role, reused while more than half of their life is left."""

    def __init__(self):
        self.cache = {}

    def token(self, keys, role):
        tok, until = self.cache.get(role, (None, 0.0))
        now = time.time()
        if tok is None or now > until:
            tok = keys.mint(role, MINTED_HTTP_TTL)
            self.cache[role] = (tok, now + MINTED_HTTP_TTL / 2)
        return tok


def _apikey(request, websocket):
    key = request.headers.get("apikey") or request.query.get("apikey")
    if websocket and not key:
        key = request.headers.get("x-api-key")
    return key


async def _through_gateway(request, handler, websocket):
    ctx = request.app["ctx"]
    keys = ctx.keys
    apikey = _apikey(request, websocket)
    bearer = _bearer(request)
    if not keys.legacy and (keys.is_legacy_key(apikey) or keys.is_legacy_key(bearer)):
        return legacy_refusal(keys)
    if not apikey:
        if websocket or request.path.startswith(ADMIN_PREFIX):
            return await handler(request)      # Realtime / the stand-in answer for themselves
        return refusal(401, *NO_API_KEY)
    if not keymod.is_new_api_key(apikey):
        if websocket or request.path.startswith(ADMIN_PREFIX) or keys.is_legacy_key(apikey):
            return await handler(request)
        return refusal(401, *INVALID_API_KEY)
    role = keys.api_key_role(apikey)
    if role is None:
        return refusal(401, *INVALID_API_KEY)
    if role == "service_role" and BROWSER.match(request.headers.get("User-Agent", "")):
        return refusal(401, *SECRET_IN_BROWSER)
    if websocket:
        max_s = config.PUBLIC_CONNECTION_MAX_S
        minted = keys.mint(role, max_s)
        url = request.rel_url
        headers = request.headers.copy()
        if request.query.get("apikey"):
            url = url.update_query(apikey=minted)
        if "x-api-key" in headers:
            headers["x-api-key"] = minted
        new = request.clone(rel_url=url, headers=headers)
        new["public_connection_max_s"] = max_s      # Realtime ends API-key-only sockets then
    else:
        minted = ctx.minter.token(keys, role)
        headers = request.headers.copy()
        headers["apikey"] = minted
        if bearer is None or bearer == apikey:
            headers["Authorization"] = "Bearer " + minted
        url = request.rel_url
        if request.query.get("apikey"):
            url = url.update_query(apikey=minted)
        new = request.clone(rel_url=url, headers=headers)
    new["api_key_role"] = role
    return await handler(new)


@web.middleware
async def middleware(request, handler):
    path = request.path
    stats = request.app["ctx"].stats
    websocket = path in WEBSOCKET_PATHS
    if websocket:
        stats.ws_attempts += 1
        response = await _through_gateway(request, handler, True)
        if not isinstance(response, web.WebSocketResponse) or response.status != 101:
            stats.ws_refused[response.status] += 1
        return response
    for prefix in SERVICE_PREFIXES:
        if path.startswith(prefix):
            stats.http[prefix] += 1
            return await _through_gateway(request, handler, False)
    if path.startswith(ADMIN_PREFIX) and path != "/_stack/health":
        return await _through_gateway(request, handler, False)
    return await handler(request)


async def handle_stats(request):
    """GET /_stack/stats (service role: the secret key, or the legacy service_role key)."""
    ctx = request.app["ctx"]
    try:
        claims = faults.bearer_claims(request)
    except faults.jwtutil.JwtError:
        return web.json_response({"message": "Unauthorized"}, status=401)
    if claims.get("role") != "service_role":
        return web.json_response({"message": "service_role key required"}, status=403)
    hub = request.app.get("realtime")
    return web.json_response(ctx.stats.snapshot(len(hub.sockets) if hub is not None else None))


def setup(app):
    ctx = app["ctx"]
    ctx.stats = Stats()
    ctx.minter = _Minter()
    app.middlewares.append(middleware)
    app.router.add_get("/_stack/stats", handle_stats)
