"""Auth (GoTrue subset) of the stand-in."""
import time

import jwt as pyjwt
import pytest

from standin import config, jwtutil


def claims(token):
    return pyjwt.decode(token, options={"verify_signature": False})


def test_keys_verify():
    assert jwtutil.verify(config.ANON_KEY)["role"] == "anon"
    assert jwtutil.verify(config.SERVICE_ROLE_KEY)["role"] == "service_role"


def test_jwt_errors():
    expired = jwtutil.sign({"role": "authenticated", "exp": int(time.time()) - 12})
    with pytest.raises(jwtutil.JwtError) as e:
        jwtutil.verify(expired)
    assert e.value.kind == "expired"
    assert e.value.reason.startswith("InvalidJWTToken: Token has expired ")
    assert e.value.reason.endswith(" seconds ago")
    assert e.value.pgrst_code == "PGRST303"
    with pytest.raises(jwtutil.JwtError) as e:
        jwtutil.verify("not-a-jwt")
    assert e.value.reason.startswith("MalformedJWT") and e.value.pgrst_code == "PGRST301"
    forged = jwtutil.sign({"role": "service_role", "exp": 2000000000}, secret="x" * 40)
    with pytest.raises(jwtutil.JwtError) as e:
        jwtutil.verify(forged)
    assert e.value.reason.startswith("JwtSignatureError")
    with pytest.raises(jwtutil.JwtError) as e:
        jwtutil.verify(jwtutil.sign({"sub": "x"}))
    assert "`role` and `exp`" in e.value.reason
    assert jwtutil.verify(jwtutil.sign({"sub": "x"}), require=())["sub"] == "x"


def test_password_grant_shape(stack):
    r = stack.http("POST", "/auth/v1/token?grant_type=password",
                   {"email": stack.email, "password": stack.password},
                   headers={"X-Supabase-Api-Version": "2024-01-01"})
    assert r.status == 200, r
    body = r.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 3600
    assert abs(body["expires_at"] - (time.time() + 3600)) < 10
    assert isinstance(body["refresh_token"], str) and body["refresh_token"]
    user = body["user"]
    assert user["email"] == stack.email and user["aud"] == "authenticated" and user["role"] == "authenticated"
    assert user["app_metadata"]["provider"] == "email"
    assert user["identities"][0]["provider"] == "email"
    c = jwtutil.verify(body["access_token"], keys=stack.keys)
    assert c["sub"] == user["id"] and c["role"] == "authenticated" and c["aud"] == "authenticated"
    assert c["exp"] - c["iat"] == 3600 and c["session_id"]
    assert c["email"] == stack.email and c["amr"][0]["method"] == "password"


@pytest.mark.parametrize("email,password", [("mechanic@example.com", "wrong"), ("nobody@example.com", "x")])
def test_wrong_password(stack, email, password):
    r = stack.http("POST", "/auth/v1/token?grant_type=password", {"email": email, "password": password},
                   headers={"X-Supabase-Api-Version": "2024-01-01"})
    assert r.status == 400
    assert r.json() == {"code": "invalid_credentials", "message": "Invalid login credentials"}
    assert r.headers["x-sb-error-code"] == "invalid_credentials"
    # Legacy shape without the API version header.
    r = stack.http("POST", "/auth/v1/token?grant_type=password", {"email": email, "password": password})
    assert r.status == 400
    assert r.json() == {"code": 400, "error_code": "invalid_credentials", "msg": "Invalid login credentials"}
    assert r.headers["x-sb-error-code"] == "invalid_credentials"


def test_bad_requests(stack):
    r = stack.http("POST", "/auth/v1/token?grant_type=magic", {})
    assert r.status == 400 and r.json()["msg"] == "unsupported_grant_type"
    r = stack.http("POST", "/auth/v1/token?grant_type=password", raw=b"{not json")
    assert r.status == 400 and r.headers["x-sb-error-code"] == "bad_json"
    r = stack.http("POST", "/auth/v1/token?grant_type=password", raw=b"[1,2]")
    assert r.status == 400
    r = stack.refresh("")
    assert r.status == 400 and r.json()["code"] == "validation_failed"
    r = stack.refresh("doesnotexist")
    assert r.status == 400
    assert r.json() == {"code": "refresh_token_not_found",
                        "message": "Invalid Refresh Token: Refresh Token Not Found"}


def test_refresh_rotation_and_reuse_detection(stack):
    s0 = stack.sign_in()
    rt0 = s0["refresh_token"]
    r1 = stack.refresh(rt0)
    assert r1.status == 200, r1
    s1 = r1.json()
    rt1 = s1["refresh_token"]
    assert rt1 != rt0
    assert claims(s1["access_token"])["session_id"] == claims(s0["access_token"])["session_id"]
    # Within the 10 s reuse interval the old token hands out the current one again.
    r = stack.refresh(rt0)
    assert r.status == 200 and r.json()["refresh_token"] == rt1
    time.sleep(config.REFRESH_REUSE_INTERVAL + 0.8)
    # Outside it: reuse detected, the whole session is revoked.
    r = stack.refresh(rt0)
    assert r.status == 400
    assert r.json() == {"code": "refresh_token_already_used", "message": "Invalid Refresh Token: Already Used"}
    assert r.headers["x-sb-error-code"] == "refresh_token_already_used"
    r = stack.refresh(rt1)
    assert r.status == 400 and r.json()["code"] == "refresh_token_already_used"


def test_user_logout_and_revoke(stack):
    s = stack.sign_in()
    r = stack.http("GET", "/auth/v1/user", token=s["access_token"])
    assert r.status == 200 and r.json()["email"] == stack.email
    r = stack.http("POST", "/auth/v1/logout?scope=local", token=s["access_token"])
    assert r.status == 204
    r = stack.http("GET", "/auth/v1/user", token=s["access_token"],
                   headers={"X-Supabase-Api-Version": "2024-01-01"})
    assert r.status == 403 and r.json()["code"] == "session_not_found"
    r = stack.refresh(s["refresh_token"])
    assert r.status == 400 and r.json()["code"] == "refresh_token_not_found"
    # `stack revoke EMAIL` kills every session of the user.
    a = stack.sign_in("workshop@example.com")
    b = stack.sign_in("workshop@example.com")
    out = stack.run("revoke", "workshop@example.com")
    assert '"sessions_revoked": 2' in out.stdout
    for t in (a, b):
        assert stack.refresh(t["refresh_token"]).status == 400
    r = stack.http("GET", "/auth/v1/user", token="garbage")
    assert r.status in (401, 403)
    r = stack.http("GET", "/auth/v1/user")
    assert r.status == 401


def test_expire_tokens_fault(stack, clear_faults):
    stack.fault("expire-tokens", "2")
    s = stack.sign_in()
    assert s["expires_in"] == 2
    c = claims(s["access_token"])
    assert c["exp"] - c["iat"] == 2
    time.sleep(2.2)
    with pytest.raises(jwtutil.JwtError) as e:
        jwtutil.verify(s["access_token"], keys=stack.keys)
    assert e.value.kind == "expired"
    r = stack.http("GET", "/rest/v1/feature_flags", token=s["access_token"])
    assert r.status == 401 and r.json()["code"] == "PGRST303"
    # A refresh gives a new (again short) token; after clear the TTL is back to 3600.
    r = stack.refresh(s["refresh_token"])
    assert r.status == 200 and r.json()["expires_in"] == 2
    stack.fault("clear")
    assert stack.sign_in()["expires_in"] == 3600


def test_auth_503_fault(stack, clear_faults):
    stack.fault("rest-503", "1")
    r = stack.http("POST", "/auth/v1/token?grant_type=password", {"email": stack.email, "password": stack.password})
    assert r.status == 503
    stack.fault("clear")
    stack.sign_in()
