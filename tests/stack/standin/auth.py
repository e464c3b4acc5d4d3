"""Supabase Auth (GoTrue) subset (supabase-protocol.md §6).

POST /auth/v1/token?grant_type=password        {"email","password"}
POST /auth/v1/token?grant_type=refresh_token   {"refresh_token"}   rotation, 10 s reuse interval,
                                                reuse outside it revokes the session family
GET  /auth/v1/user                             the caller's user (Bearer access token)
POST /auth/v1/logout?scope=local|global|others revokes the session(s); 204
GET  /auth/v1/health, /auth/v1/settings
GET  /auth/v1/.well-known/jwks.json            the public key access tokens are signed with (ES256, kid)

Access tokens are ES256 JWTs signed with the stack's key (keys.py), `kid` in the header.

Sessions and refresh tokens live in PostgreSQL (auth.sessions / auth.refresh_tokens), so they
survive `stack restart`. Error bodies follow X-Supabase-Api-Version (2024-01-01: {code, message};
otherwise legacy {code: <status>, error_code, msg}); x-sb-error-code is always set.
"""
import datetime
import json
import logging
import secrets
import time
import uuid

import psycopg
from aiohttp import web

from . import config, jwtutil

log = logging.getLogger("standin.auth")

API_VERSION_2024 = "2024-01-01"
_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"


class AuthError(Exception):
    def __init__(self, status, error_code, message):
        super().__init__(message)
        self.status = status
        self.error_code = error_code
        self.message = message


def _api_version(request):
    v = request.headers.get("X-Supabase-Api-Version", "").strip()
    try:
        if v and datetime.date.fromisoformat(v) >= datetime.date(2024, 1, 1):
            return API_VERSION_2024
    except ValueError:
        pass
    return None


def error_response(request, status, error_code, message):
    headers = {"x-sb-error-code": error_code}
    if _api_version(request):
        headers["X-Supabase-Api-Version"] = API_VERSION_2024
        body = {"code": error_code, "message": message}
    else:
        body = {"code": status, "error_code": error_code, "msg": message}
        if status >= 500:
            body["error_id"] = str(uuid.uuid4())
    return web.json_response(body, status=status, headers=headers)


def _ts(dt):
    if dt is None:
        return None
    if isinstance(dt, str):
        return dt
    return dt.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


USER_COLUMNS = ("id::text, aud, role, email, phone, email_confirmed_at, last_sign_in_at, "
                "raw_app_meta_data, raw_user_meta_data, created_at, updated_at, is_anonymous, banned_until")


def _user_dict(row):
    (uid, aud, role, email, phone, confirmed, last_sign_in, app_meta, user_meta,
     created, updated, is_anon, _banned) = row
    identity = {"identity_id": str(uuid.uuid5(uuid.NAMESPACE_URL, "identity:" + uid)),
                "id": uid, "user_id": uid,
                "identity_data": {"email": email, "email_verified": confirmed is not None,
                                  "phone_verified": False, "sub": uid},
                "provider": "email", "last_sign_in_at": _ts(last_sign_in),
                "created_at": _ts(created), "updated_at": _ts(updated), "email": email}
    return {"id": uid, "aud": aud, "role": role, "email": email or "",
            "email_confirmed_at": _ts(confirmed), "phone": phone or "",
            "confirmed_at": _ts(confirmed), "last_sign_in_at": _ts(last_sign_in),
            "app_metadata": app_meta or {}, "user_metadata": user_meta or {},
            "identities": [identity], "created_at": _ts(created), "updated_at": _ts(updated),
            "is_anonymous": bool(is_anon)}


def _new_refresh_token():
    return "".join(secrets.choice(_ALPHABET) for _ in range(16))


def _access_token(ctx, user, session_id, amr_method, amr_ts):
    now = int(time.time())
    ttl = ctx.faults.token_ttl if ctx.faults.token_ttl is not None else config.ACCESS_TOKEN_TTL
    ttl = max(1, int(ttl))
    exp = now + ttl
    claims = {"iss": "http://127.0.0.1:%d/auth/v1" % ctx.port, "sub": user["id"],
              "aud": user["aud"] or "authenticated", "exp": exp, "iat": now,
              "email": user["email"], "phone": user["phone"],
              "app_metadata": user["app_metadata"], "user_metadata": user["user_metadata"],
              "role": user["role"] or "authenticated", "aal": "aal1",
              "amr": [{"method": amr_method, "timestamp": amr_ts}],
              "session_id": session_id, "is_anonymous": user["is_anonymous"]}
    return ctx.keys.sign(claims), ttl, exp


def _token_response(ctx, user, session_id, refresh_token, amr_method, amr_ts):
    token, ttl, exp = _access_token(ctx, user, session_id, amr_method, amr_ts)
    return {"access_token": token, "token_type": "bearer", "expires_in": ttl, "expires_at": exp,
            "refresh_token": refresh_token, "user": user}


async def _read_json(request):
    try:
        raw = await request.read()
        body = json.loads(raw.decode("utf-8")) if raw else {}
    except (ValueError, UnicodeDecodeError) as e:
        raise AuthError(400, "bad_json", "Could not parse request body as JSON: %s" % e)
    if not isinstance(body, dict):
        raise AuthError(400, "bad_json", "Could not parse request body as JSON: expected an object")
    return body


async def _password_grant(request, ctx, body):
    email = body.get("email")
    phone = body.get("phone")
    password = body.get("password")
    if email and phone:
        raise AuthError(400, "validation_failed", "Only an email address or phone number should be provided on login.")
    if phone and not email:
        raise AuthError(400, "phone_provider_disabled", "Phone logins are disabled")
    if not isinstance(email, str) or not email:
        raise AuthError(400, "validation_failed", "A valid email or phone is required")
    if not isinstance(password, str) or not password:
        raise AuthError(400, "invalid_credentials", "Invalid login credentials")
    async with ctx.db.service() as cur:
        await cur.execute("select " + USER_COLUMNS + ", encrypted_password = crypt(%s, encrypted_password)"
                          " from auth.users where email = lower(%s)", (password, email))
        row = await cur.fetchone()
        if row is None or not row[-1]:
            raise AuthError(400, "invalid_credentials", "Invalid login credentials")
        row = row[:-1]
        if row[-1] is not None and row[-1] > datetime.datetime.now(datetime.timezone.utc):
            raise AuthError(400, "user_banned", "User is banned")
        if row[5] is None:
            raise AuthError(400, "email_not_confirmed", "Email not confirmed")
        await cur.execute("update auth.users set last_sign_in_at = now() where id = %s"
                          " returning last_sign_in_at", (row[0],))
        last = (await cur.fetchone())[0]
        row = row[:6] + (last,) + row[7:]
        await cur.execute("insert into auth.sessions (user_id) values (%s) returning id::text", (row[0],))
        session_id = (await cur.fetchone())[0]
        rt = _new_refresh_token()
        await cur.execute("insert into auth.refresh_tokens (token, user_id, session_id) values (%s, %s, %s)",
                          (rt, row[0], session_id))
    user = _user_dict(row)
    return _token_response(ctx, user, session_id, rt, "password", int(time.time()))


async def _refresh_grant(request, ctx, body):
    token = body.get("refresh_token")
    if not isinstance(token, str) or not token.strip():
        raise AuthError(400, "validation_failed", "Refresh token is not valid")
    reuse = config.REFRESH_REUSE_INTERVAL
    async with ctx.db.service() as cur:
        await cur.execute(
            "select t.id, t.revoked, extract(epoch from now() - t.updated_at)::float8, t.session_id::text,"
            " s.revoked_at is not null, extract(epoch from s.created_at)::bigint, t.user_id::text"
            " from auth.refresh_tokens t join auth.sessions s on s.id = t.session_id"
            " where t.token = %s for update of t, s", (token,))
        row = await cur.fetchone()
        if row is None:
            raise AuthError(400, "refresh_token_not_found", "Invalid Refresh Token: Refresh Token Not Found")
        tid, revoked, age, session_id, session_revoked, session_created, user_id = row
        if session_revoked:
            raise AuthError(400, "refresh_token_already_used", "Invalid Refresh Token: Already Used")
        if revoked:
            # Within the reuse interval a rotated token hands out the session's current token again.
            await cur.execute("select token from auth.refresh_tokens where session_id = %s and not revoked"
                              " order by id desc limit 1", (session_id,))
            active = await cur.fetchone()
            if age is not None and age <= reuse and active is not None:
                new_token = active[0]
            else:
                # Reuse detected: the whole session (token family) is revoked.
                await cur.execute("update auth.refresh_tokens set revoked = true, updated_at = now()"
                                  " where session_id = %s and not revoked", (session_id,))
                await cur.execute("update auth.sessions set revoked_at = now() where id = %s", (session_id,))
                log.info("refresh token reuse detected; session revoked")
                # Commit the revocation, then fail.
                return AuthError(400, "refresh_token_already_used", "Invalid Refresh Token: Already Used")
        else:
            new_token = _new_refresh_token()
            await cur.execute("update auth.refresh_tokens set revoked = true, updated_at = now() where id = %s",
                              (tid,))
            await cur.execute("insert into auth.refresh_tokens (token, user_id, session_id, parent)"
                              " values (%s, %s, %s, %s)", (new_token, user_id, session_id, token))
            await cur.execute("update auth.sessions set updated_at = now() where id = %s", (session_id,))
        await cur.execute("select " + USER_COLUMNS + " from auth.users where id = %s", (user_id,))
        urow = await cur.fetchone()
    if urow is None:
        raise AuthError(400, "user_not_found", "User from sub claim in JWT does not exist")
    user = _user_dict(urow)
    return _token_response(ctx, user, session_id, new_token, "password", int(session_created))


async def handle_token(request):
    ctx = request.app["ctx"]
    grant = request.query.get("grant_type", "")
    try:
        body = await _read_json(request)
        if grant == "password":
            result = await _password_grant(request, ctx, body)
        elif grant == "refresh_token":
            result = await _refresh_grant(request, ctx, body)
        else:
            raise AuthError(400, "invalid_credentials", "unsupported_grant_type")
        if isinstance(result, AuthError):
            raise result
    except AuthError as e:
        return error_response(request, e.status, e.error_code, e.message)
    except psycopg.Error as e:
        log.error("auth database error: %s", e)
        return error_response(request, 500, "unexpected_failure", "Database error")
    headers = {}
    if _api_version(request):
        headers["X-Supabase-Api-Version"] = API_VERSION_2024
    return web.json_response(result, headers=headers)


async def _caller(request):
    """Verifies the bearer token and that its session still exists; returns claims."""
    auth = request.headers.get("Authorization", "")
    token = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
    if not token:
        raise AuthError(401, "no_authorization", "This endpoint requires a valid Bearer token")
    try:
        claims = jwtutil.verify(token, require=())
    except jwtutil.JwtError as e:
        raise AuthError(403, "bad_jwt", "invalid JWT: unable to parse or verify signature, " + e.gotrue)
    sub = claims.get("sub")
    try:
        uuid.UUID(str(sub))
    except ValueError:
        raise AuthError(403, "bad_jwt", "invalid claim: missing sub claim")
    return claims


async def handle_user(request):
    ctx = request.app["ctx"]
    try:
        claims = await _caller(request)
        async with ctx.db.service() as cur:
            sid = claims.get("session_id")
            if sid:
                await cur.execute("select 1 from auth.sessions where id::text = %s and revoked_at is null", (sid,))
                if await cur.fetchone() is None:
                    raise AuthError(403, "session_not_found", "Session from session_id claim in JWT does not exist")
            await cur.execute("select " + USER_COLUMNS + " from auth.users where id::text = %s", (claims["sub"],))
            row = await cur.fetchone()
        if row is None:
            raise AuthError(403, "user_not_found", "User from sub claim in JWT does not exist")
    except AuthError as e:
        return error_response(request, e.status, e.error_code, e.message)
    return web.json_response(_user_dict(row))


async def handle_logout(request):
    ctx = request.app["ctx"]
    scope = request.query.get("scope", "global")
    if scope not in ("global", "local", "others"):
        return error_response(request, 400, "validation_failed", "Unsupported logout scope %r" % scope)
    try:
        claims = await _caller(request)
    except AuthError as e:
        return error_response(request, e.status, e.error_code, e.message)
    sid = str(claims.get("session_id") or "")
    async with ctx.db.service() as cur:
        if scope == "global":
            await cur.execute("delete from auth.sessions where user_id::text = %s", (claims["sub"],))
        elif scope == "local":
            await cur.execute("delete from auth.sessions where id::text = %s", (sid,))
        else:
            await cur.execute("delete from auth.sessions where user_id::text = %s and id::text <> %s",
                              (claims["sub"], sid))
    return web.Response(status=204)


async def handle_health(request):
    return web.json_response({"version": "v2.189.0-standin", "name": "GoTrue",
                              "description": "GoTrue is a user registration and authentication API"})


async def handle_jwks(request):
    """The public half of the key Auth signs access tokens with (never the HS256 secret)."""
    return web.json_response(request.app["ctx"].keys.jwks(), headers={"Cache-Control": "public, max-age=600"})


async def handle_settings(request):
    return web.json_response({"external": {"email": True, "phone": False}, "disable_signup": True,
                              "mailer_autoconfirm": True, "phone_autoconfirm": False,
                              "sms_provider": "", "saml_enabled": False})


def setup(app):
    app.router.add_post("/auth/v1/token", handle_token)
    app.router.add_get("/auth/v1/user", handle_user)
    app.router.add_post("/auth/v1/logout", handle_logout)
    app.router.add_get("/auth/v1/health", handle_health)
    app.router.add_get("/auth/v1/settings", handle_settings)
    app.router.add_get("/auth/v1/.well-known/jwks.json", handle_jwks)
