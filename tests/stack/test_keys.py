"""The 2026 key model of the stand-in: publishable / secret keys at the API gateway, ES256 user
tokens verified through the JWKS, `stack up --legacy-keys off`, Realtime's tenant limits as faults,
the handshake counter and the time limit of API-key-only Realtime connections."""
import asyncio
import base64
import datetime
import json
import os
import re
import stat
import subprocess
import time
import uuid

import aiohttp
import jwt as pyjwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

from conftest import STACK
from standin import config, jwtutil
from test_realtime import Client, bc_config, run

KEY_FORMAT = re.compile(r"^sb_(publishable|secret)_[A-Za-z0-9_-]{22}_[A-Za-z0-9_-]{8}$")
MECHANIC = "11111111-1111-4111-8111-111111111111"
CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0 Safari/537.36"
POWERSHELL = "Mozilla/5.0 (Windows NT 10.0; Microsoft Windows 10.0.19045; en-US) PowerShell/7.4.6"
NO_KEY_BODY = {"message": "No API key found in request", "hint": "No `apikey` request header or url param was found."}
INVALID_KEY_BODY = {"message": "Invalid API key", "hint": "Double check your Supabase `anon` or `service_role` API key."}
NOT_A_JWT = {"code": "PGRST301", "details": None, "hint": None, "message": "Expected 3 parts in JWT; got 1"}
NO_SUITABLE_KEY = {"code": "PGRST301", "details": "None of the keys was able to decode the JWT", "hint": None,
                   "message": "No suitable key or wrong key type"}


def whoami(stack, apikey, bearer=None, headers=None):
    h = {"Authorization": "Bearer " + bearer} if bearer else {}
    h.update(headers or {})
    return stack.http("POST", "/rest/v1/rpc/whoami", {}, apikey=apikey, headers=h)


def user_claims(ttl=3600, sub=MECHANIC):
    now = int(time.time())
    return {"sub": sub, "role": "authenticated", "aud": "authenticated", "iat": now, "exp": now + ttl,
            "email": "mechanic@example.com"}


def foreign_es256(kid):
    """A token signed by a key that is not the project's."""
    return pyjwt.encode(user_claims(), ec.generate_private_key(ec.SECP256R1()), algorithm="ES256",
                        headers={"kid": kid, "typ": "JWT"})


def ws_base(stack):
    return stack.url.replace("http://", "ws://") + "/realtime/v1/websocket"


async def handshake(stack, apikey=None, headers=None, vsn="1.0.0"):
    """One websocket handshake attempt: (status, JSON body or None)."""
    url = stack.url + "/realtime/v1/websocket?vsn=" + vsn + ("&apikey=" + apikey if apikey else "")
    h = {"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
         "Sec-WebSocket-Key": base64.b64encode(os.urandom(16)).decode()}
    h.update(headers or {})
    async with aiohttp.ClientSession() as s:
        async with s.get(url, headers=h) as r:
            if r.status == 101:
                return 101, None
            return r.status, await r.json(content_type=None)


async def connect(stack, apikey, vsn="1.0.0"):
    session = aiohttp.ClientSession()
    ws = await session.ws_connect(ws_base(stack) + "?apikey=%s&vsn=%s" % (apikey, vsn), max_msg_size=0)
    return Client(session, ws, vsn)


async def closed(c, timeout=10):
    """Wait for the server's close; returns its close code."""
    m = await c.expect(lambda m: "closed" in m, timeout, "the server closing the socket")
    assert m["closed"] in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING), m
    return c.ws.close_code


def stats(stack, key=None):
    r = stack.http("GET", "/_stack/stats", apikey=key or stack.secret_key)
    assert r.status == 200, r
    return r.json()


# ------------------------------------------------------------------------------- stack up
def test_up_prints_the_new_keys(stack):
    for name in ("WRENCHBELL_PUBLISHABLE_KEY", "SECRET_KEY"):
        assert KEY_FORMAT.match(stack.env[name]), stack.env[name]
    assert stack.publishable_key.startswith("sb_publishable_") and stack.secret_key.startswith("sb_secret_")
    assert stack.anon_key == config.ANON_KEY and stack.service_key == config.SERVICE_ROLE_KEY
    assert stack.legacy_keys == "on"
    with open(os.path.join(stack.dir, "env")) as f:
        text = f.read()
    for name in ("WRENCHBELL_PUBLISHABLE_KEY", "SECRET_KEY", "WRENCHBELL_ANON_KEY", "SERVICE_ROLE_KEY"):
        assert "\n%s=%s\n" % (name, stack.env[name]) in text
    mode = os.stat(os.path.join(stack.dir, "keys.json")).st_mode
    assert stat.S_IMODE(mode) == 0o600
    # `up` on the running stack prints the same keys; asking for another legacy mode is an error.
    r = subprocess.run([STACK, "up", "--dir", stack.dir], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "SECRET_KEY=" + stack.secret_key in r.stdout
    r = subprocess.run([STACK, "up", "--dir", stack.dir, "--legacy-keys", "off"], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 2 and "--legacy-keys on" in r.stderr


def test_restart_keeps_keys_and_signing_key(stack):
    s = stack.sign_in()
    kid = stack.http("GET", "/auth/v1/.well-known/jwks.json", apikey=stack.publishable_key).json()["keys"][0]["kid"]
    stack.run("restart")
    assert stack.http("GET", "/auth/v1/.well-known/jwks.json",
                      apikey=stack.publishable_key).json()["keys"][0]["kid"] == kid
    r = whoami(stack, stack.publishable_key, s["access_token"])
    assert r.status == 200 and r.json()["uid"] == MECHANIC
    assert whoami(stack, stack.secret_key).json()["role"] == "service_role"


# ------------------------------------------------------------------------------- gateway rules
@pytest.mark.parametrize("apikey,bearer,role", [
    ("publishable", None, "anon"),
    ("publishable", "publishable", "anon"),
    ("secret", None, "service_role"),
    ("secret", "secret", "service_role"),
    ("anon", "anon", "anon"),
    ("anon", None, "anon"),
    ("service", "service", "service_role"),
    ("publishable", "user", "authenticated"),
    ("secret", "user", "authenticated"),
])
def test_key_maps_to_role(stack, apikey, bearer, role):
    keys = {"publishable": stack.publishable_key, "secret": stack.secret_key, "anon": stack.anon_key,
            "service": stack.service_key, "user": stack.keys.sign(user_claims())}
    r = whoami(stack, keys[apikey], keys.get(bearer))
    assert r.status == 200, r
    assert r.json()["role"] == role and r.json()["current_user"] == role
    assert r.json()["uid"] == (MECHANIC if bearer == "user" else None)


def test_key_in_the_query_string(stack):
    r = stack.http("POST", "/rest/v1/rpc/whoami?apikey=" + stack.secret_key, {}, apikey=False)
    assert r.status == 200 and r.json()["role"] == "service_role"


def test_bearer_must_be_a_jwt_unless_it_equals_the_apikey(stack):
    for apikey, bearer in ((stack.publishable_key, stack.secret_key), (stack.secret_key, stack.publishable_key),
                           (stack.publishable_key, stack.publishable_key + "x"), (stack.anon_key, stack.secret_key)):
        r = whoami(stack, apikey, bearer)
        assert (r.status, r.json()) == (401, NOT_A_JWT), (apikey[:20], bearer[:20], r)
    # Auth: the same rule; an equal bearer becomes the role's token, which has no user.
    r = stack.http("GET", "/auth/v1/user", apikey=stack.publishable_key, token=stack.secret_key,
                   headers={"X-Supabase-Api-Version": "2024-01-01"})
    assert r.status == 403 and r.json() == {
        "code": "bad_jwt", "message": "invalid JWT: unable to parse or verify signature, "
                                      "token is malformed: token contains an invalid number of segments"}
    r = stack.http("GET", "/auth/v1/user", apikey=stack.publishable_key, token=stack.publishable_key,
                   headers={"X-Supabase-Api-Version": "2024-01-01"})
    assert r.status == 403 and r.json() == {"code": "bad_jwt", "message": "invalid claim: missing sub claim"}


def test_missing_and_unknown_keys(stack):
    for path in ("/rest/v1/feature_flags", "/auth/v1/settings", "/realtime/v1/api/broadcast"):
        r = stack.http("GET" if "broadcast" not in path else "POST", path, apikey=False)
        assert (r.status, r.json()) == (401, NO_KEY_BODY), path
    for bad in ("sb_publishable_" + "A" * 22 + "_" + "B" * 8, "sb_secret_nope", "sb_temp_x", "not-a-key",
                jwtutil.sign({"role": "anon", "exp": int(time.time()) + 60})):
        r = stack.http("GET", "/rest/v1/feature_flags", apikey=bad)
        assert (r.status, r.json()) == (401, INVALID_KEY_BODY), bad
        assert r.headers["sb-error-code"] == "UNAUTHORIZED_INVALID_API_KEY"
    assert run(handshake(stack, "sb_publishable_nope")) == (401, INVALID_KEY_BODY)


@pytest.mark.parametrize("ua,browser", [
    (CHROME, True),
    ("Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0", True),
    (POWERSHELL, True),
    ("mozilla/4.0 (compatible)", True),
    ("curl/8.5.0", False),
    ("node", False),
    ("Python-urllib/3.11", False),
    ("Wrenchbell/1.0 (Mozilla compatible)", False),
])
def test_secret_key_from_a_browser_is_refused(stack, ua, browser):
    r = whoami(stack, stack.secret_key, headers={"User-Agent": ua})
    if browser:
        assert r.status == 401 and r.json() == {
            "message": "Forbidden use of secret API key in browser",
            "hint": "Secret API keys can only be used in a protected environment and should never be used in "
                    "a browser. Delete this secret API key immediately!"}
        assert r.headers["sb-error-code"] == "UNAUTHORIZED_INVALID_API_KEY_TYPE"
        assert run(handshake(stack, stack.secret_key, {"User-Agent": ua}))[0] == 401
    else:
        assert r.status == 200 and r.json()["role"] == "service_role"
    # The publishable key and the legacy service key are not checked.
    assert whoami(stack, stack.publishable_key, headers={"User-Agent": ua}).status == 200
    assert whoami(stack, stack.service_key, headers={"User-Agent": ua}).status == 200


def test_realtime_with_the_new_keys(stack):
    async def go():
        pub = await connect(stack, stack.publishable_key)
        await pub.join("keys-rt", bc_config(), access_token=stack.publishable_key)
        sec = await connect(stack, stack.secret_key, vsn="2.0.0")
        await sec.join("keys-rt", bc_config())
        await sec.push("realtime:keys-rt", "broadcast", {"type": "broadcast", "event": "e", "payload": {"n": 1}},
                       join_ref="1")
        m = await pub.expect(lambda m: m["event"] == "broadcast")
        assert m["payload"]["payload"] == {"n": 1}
        # A user token on the join: the channel runs as the user (REST broadcast reaches it too).
        _, r = await pub.join("keys-rt-user", bc_config(), access_token=stack.keys.sign(user_claims()))
        assert r["payload"]["status"] == "ok"
        r = stack.http("POST", "/realtime/v1/api/broadcast",
                       {"messages": [{"topic": "keys-rt-user", "event": "x", "payload": {"k": 2}}]},
                       apikey=stack.secret_key)
        assert r.status == 202
        m = await pub.expect(lambda m: m["event"] == "broadcast" and m["topic"] == "realtime:keys-rt-user")
        assert m["payload"]["payload"] == {"k": 2}
        await pub.close()
        await sec.close()
    run(go())


# ------------------------------------------------------------------------------- JWKS
def test_jwks_and_es256_user_tokens(stack):
    r = stack.http("GET", "/auth/v1/.well-known/jwks.json", apikey=stack.publishable_key)
    assert r.status == 200
    (jwk,) = r.json()["keys"]
    assert {k: jwk[k] for k in ("kty", "crv", "alg", "use")} == {"kty": "EC", "crv": "P-256", "alg": "ES256",
                                                                  "use": "sig"}
    assert jwk["key_ops"] == ["verify"] and "d" not in jwk
    uuid.UUID(jwk["kid"])
    token = stack.sign_in()["access_token"]
    header = pyjwt.get_unverified_header(token)
    assert header == {"alg": "ES256", "kid": jwk["kid"], "typ": "JWT"}
    claims = pyjwt.decode(token, ECAlgorithm.from_jwk(json.dumps(jwk)), algorithms=["ES256"],
                          options={"verify_aud": False})
    assert claims["sub"] == MECHANIC and claims["role"] == "authenticated"
    assert whoami(stack, stack.publishable_key, token).json()["uid"] == MECHANIC


@pytest.mark.parametrize("case", ["wrong kid", "wrong key", "forged HS256", "no kid"])
def test_tokens_the_jwks_does_not_vouch_for(stack, case):
    kid = stack.keys.kid
    other_kid = str(uuid.uuid4())
    token = {"wrong kid": lambda: foreign_es256(other_kid),
             "wrong key": lambda: foreign_es256(kid),
             "forged HS256": lambda: pyjwt.encode(user_claims(), "z" * 40, algorithm="HS256"),
             "no kid": lambda: pyjwt.encode(user_claims(), ec.generate_private_key(ec.SECP256R1()),
                                            algorithm="ES256")}[case]()
    r = whoami(stack, stack.publishable_key, token)
    assert (r.status, r.json()) == (401, NO_SUITABLE_KEY)
    assert r.headers["www-authenticate"] == \
        'Bearer error="invalid_token", error_description="No suitable key or wrong key type"'
    r = stack.http("GET", "/auth/v1/user", apikey=stack.publishable_key, token=token,
                   headers={"X-Supabase-Api-Version": "2024-01-01"})
    assert r.status == 403 and r.json()["code"] == "bad_jwt"
    assert r.json()["message"].startswith("invalid JWT: unable to parse or verify signature, ")
    reason = {"wrong kid": "JwtSignerError: Failed to generate JWT signer for key ID (kid) \"%s\", check your JWT "
                           "secret or JWKS configuration" % other_kid,
              "no kid": "JwtSignerError: Failed to generate JWT signer, check your JWT secret or JWKS configuration",
              }.get(case, "JwtSignatureError: Failed to validate JWT signature")

    async def go():
        c = await connect(stack, stack.publishable_key)
        _, rep = await c.join("jwks-" + case.replace(" ", "-"), bc_config(), access_token=token, expect_ok=False)
        assert rep["payload"] == {"status": "error", "response": {"reason": reason}}
        await c.close()
        assert await handshake(stack, token) == (401, {"error": reason.split(": ", 1)[1]})
    run(go())


def test_legacy_hs256_tokens_still_verify(stack):
    """The legacy JWT secret stays a verification key: hand-made HS256 user tokens work."""
    token = jwtutil.sign(user_claims())
    assert whoami(stack, stack.publishable_key, token).json()["uid"] == MECHANIC


# ------------------------------------------------------------------------------- legacy keys off
@pytest.fixture(scope="module")
def off_stack(make_stack):
    return make_stack("--legacy-keys", "off")


def assert_legacy_refused(r):
    assert r.status == 401, r
    body = r.json()
    assert body["message"] == "Legacy API keys are disabled"
    m = re.fullmatch(r"Your legacy API keys \(anon, service_role\) were disabled on (\S+)\. Re-enable them in the "
                     r"Supabase dashboard, or use the new publishable and secret API keys\.", body["hint"])
    assert m, body["hint"]
    when = datetime.datetime.fromisoformat(m.group(1))
    assert when.tzinfo is not None and abs(when.timestamp() - time.time()) < 3600
    assert set(body) == {"message", "hint"}


def test_legacy_off_refuses_the_legacy_keys_everywhere(off_stack):
    s = off_stack
    assert s.legacy_keys == "off" and s.anon_key == config.ANON_KEY
    creds = {"email": s.email, "password": s.password}
    for key in (s.anon_key, s.service_key):
        assert_legacy_refused(s.http("GET", "/rest/v1/feature_flags", apikey=key, token=key))
        assert_legacy_refused(s.http("POST", "/auth/v1/token?grant_type=password", creds, apikey=key))
        assert_legacy_refused(s.http("POST", "/realtime/v1/api/broadcast",
                                     {"messages": [{"topic": "t", "event": "e", "payload": {}}]}, apikey=key))
        assert_legacy_refused(s.http("GET", "/_stack/stats", apikey=key))
        status, body = run(handshake(s, key))
        assert status == 401 and body["message"] == "Legacy API keys are disabled"
    # ... also as the bearer next to a valid key.
    assert_legacy_refused(whoami(s, s.publishable_key, s.service_key))
    # The new keys work.
    tok = s.sign_in()
    assert whoami(s, s.publishable_key, tok["access_token"]).json()["uid"] == MECHANIC
    assert whoami(s, s.secret_key).json()["role"] == "service_role"
    assert run(handshake(s, s.publishable_key)) == (101, None)


def test_legacy_off_cli_uses_the_secret_key(off_stack):
    s = off_stack
    out = json.loads(s.run("fault", "rest-slow", "0.5", "10").stdout)
    assert out["state"]["rest_delay_share"] == 0.5
    assert json.loads(s.run("fault", "clear").stdout)["state"]["rest_delay_share"] == 0

    async def go():
        c = await connect(s, s.publishable_key)
        await c.join(config.BROADCAST_TOPIC, bc_config())
        r = s.run("request")
        assert r.returncode == 0 and "failed" not in r.stderr, r.stderr
        aid = json.loads(r.stdout)["assignment_id"]
        m = await c.expect(lambda m: m["event"] == "broadcast")
        assert m["payload"]["payload"]["assignmentId"] == aid
        await c.close()
    run(go())
    old = s.state()["pid"]
    s.run("restart")
    assert s.state()["pid"] != old
    assert_legacy_refused(s.http("GET", "/rest/v1/feature_flags", apikey=s.anon_key))
    assert s.http("GET", "/rest/v1/feature_flags", apikey=s.publishable_key).status == 200


# ------------------------------------------------------------------------------- tenant limits
def test_join_rate_limit(stack, clear_faults):
    async def go():
        c = await connect(stack, stack.publishable_key)
        await c.join("jrl-before", bc_config())
        out = json.loads(stack.run("fault", "join-rate-limit").stdout)
        assert out["state"]["join_rate_limit"] is True
        _, r = await c.join("jrl-after", bc_config(), expect_ok=False)
        assert r["payload"] == {"status": "error",
                                "response": {"reason": "ClientJoinRateLimitReached: Too many joins per second"}}
        assert await closed(c) == 1000
        await c.session.close()
        assert await handshake(stack, stack.publishable_key) == (429, {"error": "Too many joins per second"})
        stack.fault("clear")
        c = await connect(stack, stack.publishable_key)
        await c.join("jrl-cleared", bc_config())
        await c.close()
    run(go())


def test_connection_rate_limit_and_the_handshake_counter(stack, clear_faults):
    async def go():
        joined = await connect(stack, stack.publishable_key)
        await joined.join("crl-1", bc_config())
        idle = await connect(stack, stack.publishable_key, vsn="2.0.0")
        before = stats(stack)["websocket"]
        stack.fault("connection-rate-limit")
        for _ in range(3):
            assert await handshake(stack, stack.anon_key) == (429, {"error": "Too many connected users"})
        after = stats(stack)["websocket"]
        assert after["attempts"] - before["attempts"] == 3
        assert after["refused"]["429"] - before["refused"].get("429", 0) == 3
        assert after["upgraded"] == before["upgraded"]
        # A socket that already joined is a counted user: it may join more.
        await joined.join("crl-2", bc_config())
        # A socket that never joined is not: its join is refused, the socket stays.
        _, r = await idle.join("crl-3", bc_config(), expect_ok=False)
        assert r["payload"]["response"] == {"reason": "ConnectionRateLimitReached: Too many connected users"}
        assert (await idle.heartbeat())["payload"]["status"] == "ok"
        stack.fault("clear")
        await idle.join("crl-3", bc_config())
        assert stats(stack)["websocket"]["upgraded"] == after["upgraded"]
        assert await handshake(stack, stack.publishable_key) == (101, None)
        final = stats(stack)["websocket"]
        assert (final["attempts"], final["upgraded"]) == (after["attempts"] + 1, after["upgraded"] + 1)
        await joined.close()
        await idle.close()
    run(go())


def test_stats_needs_the_service_role(stack):
    assert stack.http("GET", "/_stack/stats", apikey=stack.publishable_key).status == 403
    assert stack.http("GET", "/_stack/stats", apikey=False).status == 401
    assert stats(stack, stack.service_key)["http"]["/rest/v1"] > 0


def test_tenant_disabled(stack, clear_faults):
    async def go():
        c = await connect(stack, stack.publishable_key, vsn="2.0.0")
        await c.join("td", bc_config())
        stack.fault("tenant-disabled")
        m = await c.expect(lambda m: m["event"] == "system")
        assert (m["join_ref"], m["ref"], m["topic"]) == (None, None, "realtime:td")
        assert m["payload"] == {"extension": "system", "status": "ok", "message": "Server requested disconnect"}
        assert await closed(c) == 1012
        await c.session.close()
        assert await handshake(stack, stack.publishable_key) == (403, {"error": "Realtime was disabled for this tenant"})
        r = stack.http("POST", "/realtime/v1/api/broadcast", {"messages": [{"topic": "td", "event": "e", "payload": {}}]},
                       apikey=stack.secret_key)
        assert (r.status, r.json()) == (403, {"message": "Tenant is suspended"})
        stack.fault("clear")
        c = await connect(stack, stack.publishable_key)
        await c.join("td", bc_config())
        await c.close()
    run(go())


def test_tenant_limit_order():
    """Which refusal wins when several limits are on (Realtime's order), and a join racing the drain
    of a disabled tenant (refused after the token check)."""
    from standin import tenant_limits
    from standin.faults import Faults
    f = Faults()
    assert tenant_limits.handshake_before_token(f) is None and tenant_limits.handshake_after_token(f) is None
    assert tenant_limits.join_before_token(f, False) is None and tenant_limits.join_after_token(f) is None
    for kind in ("tenant-disabled", "join-rate-limit", "connection-rate-limit"):
        f.apply(kind)
    assert tenant_limits.handshake_before_token(f) == (403, "Realtime was disabled for this tenant")
    assert tenant_limits.handshake_after_token(f) == (429, "Too many connected users")
    assert tenant_limits.join_before_token(f, False) == ("ConnectionRateLimitReached: Too many connected users", False)
    assert tenant_limits.join_before_token(f, True) == ("ClientJoinRateLimitReached: Too many joins per second", True)
    assert tenant_limits.join_after_token(f) == "RealtimeDisabledForTenant: Realtime disabled for this tenant"
    f.apply("clear")
    assert not (f.tenant_disabled or f.join_rate_limit or f.connection_rate_limit)


# ------------------------------------------------------------------------------- public connections
@pytest.fixture(scope="module")
def short_stack(make_stack):
    return make_stack(env={"STANDIN_PUBLIC_CONNECTION_MAX_S": "2"})


def test_api_key_only_connection_ends_at_the_limit(short_stack):
    s = short_stack

    async def go():
        t0 = time.monotonic()
        c = await connect(s, s.publishable_key, vsn="2.0.0")
        joins = {}
        for name in ("pub", "pub2"):
            joins[name], _ = await c.join(name, bc_config(), access_token=s.publishable_key)
        for name, jr in joins.items():           # every channel is told before the socket closes
            m = await c.expect(lambda m: m["event"] == "system" and m["topic"] == "realtime:" + name, timeout=6)
            assert time.monotonic() - t0 >= 1.9
            assert m["payload"]["status"] == "error" and m["payload"]["channel"] == name
            assert re.fullmatch(r"Token has expired \d+ seconds ago", m["payload"]["message"])
            close = await c.expect(lambda m: m["event"] == "phx_close" and m["topic"] == "realtime:" + name)
            assert close["join_ref"] == jr
        assert await closed(c) == 1000
        await c.session.close()
    run(go())


def test_a_user_token_keeps_the_connection(short_stack):
    s = short_stack

    async def go():
        c = await connect(s, s.publishable_key)
        user, _ = await c.join("user", bc_config(), access_token=s.keys.sign(user_claims()))
        key, _ = await c.join("key", bc_config())
        # The channel on the key's token ends at the limit; the socket and the user's channel stay.
        m = await c.expect(lambda m: m["event"] == "system", timeout=6)
        assert m["topic"] == "realtime:key" and m["payload"]["status"] == "error"
        await asyncio.sleep(1.0)
        assert (await c.heartbeat())["payload"]["status"] == "ok"
        # Once the last user channel is gone the connection is public again, and over its limit.
        ref = await c.push("realtime:user", "phx_leave", {}, join_ref=user)
        await c.reply(ref)
        assert await closed(c) == 1000
        await c.session.close()
        # A token pushed before the limit upgrades a channel joined on the key.
        c = await connect(s, s.publishable_key)
        jr, _ = await c.join("upgraded", bc_config())
        await c.push("realtime:upgraded", "access_token", {"access_token": s.keys.sign(user_claims())}, join_ref=jr)
        await c.nothing(lambda m: m["event"] in ("system", "phx_close") or "closed" in m, 3.0)
        assert (await c.heartbeat())["payload"]["status"] == "ok"
        await c.close()
    run(go())


def test_legacy_jwt_keys_are_not_time_limited(short_stack):
    """The limit comes from the gateway's minted token; the anon JWT is passed through."""
    s = short_stack

    async def go():
        c = await connect(s, s.anon_key)
        await c.join("legacy", bc_config())
        await c.nothing(lambda m: m["event"] in ("system", "phx_close") or "closed" in m, 3.0)
        assert (await c.heartbeat())["payload"]["status"] == "ok"
        await c.close()
    run(go())
