"""PostgREST subset of the stand-in: queries, embedding, RLS, errors, faults."""
import time
import urllib.parse

import pytest

from standin import jwtutil

OBJ = {"Accept": "application/vnd.pgrst.object+json"}


@pytest.fixture(scope="module")
def tokens(stack):
    return {who: stack.sign_in(who + "@example.com")["access_token"]
            for who in ("mechanic", "workshop", "customer")}


@pytest.fixture(scope="module")
def open_req(stack):
    return stack.request("--no-broadcast", "--customer", "Open <b>Request</b> & Co")[0]


@pytest.fixture(scope="module")
def targeted_req(stack):
    return stack.request("--no-broadcast", "--for-mechanic", "workshop@example.com")[0]


def get(stack, path, token=None, headers=None):
    return stack.http("GET", "/rest/v1/" + path, token=token, headers=headers)


def q(s):
    return urllib.parse.quote(s, safe="=&,.():*!>-_?/")


def test_select_with_embedding(stack, tokens, open_req):
    aid = open_req["assignment_id"]
    r = get(stack, q("session_assignments?select=id,status,session:sessions(id,intake_id)&id=eq." + aid),
            tokens["mechanic"])
    assert r.status == 200, r
    assert r.headers["content-range"] == "0-0/*"
    assert r.json() == [{"id": aid, "status": "queued",
                         "session": {"id": open_req["session_id"], "intake_id": open_req["intake_id"]}}]
    r = get(stack, q("sessions?select=id,intakes(name,concern,vehicle_year)&id=eq." + open_req["session_id"]),
            tokens["mechanic"])
    row = r.json()[0]
    assert row["intakes"]["name"] == "Open <b>Request</b> & Co"
    assert row["intakes"]["concern"] == open_req["concern"]
    # Nested and reverse (one-to-many) embedding.
    r = get(stack, q("session_assignments?select=id,metadata,session:sessions(status,intake:intakes(name))"
                     "&id=eq." + aid), tokens["mechanic"])
    assert r.json()[0]["session"]["intake"]["name"] == "Open <b>Request</b> & Co"
    r = get(stack, q("sessions?select=id,session_assignments(id,status)&id=eq." + open_req["session_id"]),
            tokens["mechanic"])
    assert r.json()[0]["session_assignments"] == [{"id": aid, "status": "queued"}]


def test_filters_order_limit(stack, tokens):
    stack.request("--no-broadcast", "--count", "3")
    r = get(stack, "session_assignments?select=id,created_at&status=eq.queued&order=created_at.desc&limit=2",
            tokens["mechanic"])
    rows = r.json()
    assert len(rows) == 2 and rows[0]["created_at"] >= rows[1]["created_at"]
    r2 = get(stack, "session_assignments?select=id&status=eq.queued&order=created_at.desc&limit=1&offset=1",
             tokens["mechanic"])
    assert r2.json() == [{"id": rows[1]["id"]}]
    assert r2.headers["content-range"].startswith("1-1/")
    r = get(stack, "session_assignments?select=id&status=in.(queued,offered)&mechanic_id=is.null",
            tokens["mechanic"], headers={"Prefer": "count=exact"})
    total = int(r.headers["content-range"].split("/")[1])
    assert total == len(r.json()) >= 3
    r = get(stack, "feature_flags?select=key&key=neq.mech_audio_alerts&order=key.asc", tokens["mechanic"])
    assert [x["key"] for x in r.json()] == ["mech_browser_notifications", "mech_new_request_alerts",
                                            "mech_visual_indicators"]
    r = get(stack, "feature_flags?select=key&key=like.mech_*_alerts&enabled=is.true", tokens["mechanic"])
    assert {x["key"] for x in r.json()} == {"mech_audio_alerts", "mech_new_request_alerts"}
    r = get(stack, "session_assignments?select=id&status=not.in.(queued,offered,accepted,declined,completed)",
            tokens["mechanic"])
    assert r.status == 200


def test_rls_non_mechanic(stack, tokens, open_req):
    r = get(stack, "session_assignments?select=id&status=eq.queued", tokens["customer"])
    assert r.status == 200 and r.json() == []
    r = get(stack, "intakes?select=name", tokens["customer"])
    assert [x["name"] for x in r.json()] == ["Casey Customer"]   # only their own
    r = get(stack, "sessions?select=id&id=eq." + open_req["session_id"], tokens["customer"])
    assert r.json() == []
    # anon sees nothing, flags included
    assert get(stack, "feature_flags").json() == []
    assert get(stack, "session_assignments").json() == []
    assert len(get(stack, "feature_flags", tokens["customer"]).json()) == 4


def test_rls_targeted_assignment(stack, tokens, targeted_req):
    aid = targeted_req["assignment_id"]
    path = q("session_assignments?select=id,mechanic_id,session:sessions(id,intake:intakes(name))&id=eq." + aid)
    other = get(stack, path, tokens["mechanic"]).json()
    assert other == [{"id": aid, "mechanic_id": targeted_req["mechanic_id"], "session": None}]
    assert get(stack, "intakes?id=eq." + targeted_req["intake_id"], tokens["mechanic"]).json() == []
    mine = get(stack, path, tokens["workshop"]).json()
    assert mine[0]["session"]["intake"]["name"] == targeted_req["customer"]


def test_single_object(stack, tokens):
    r = get(stack, "feature_flags?key=eq.mech_audio_alerts&select=key,enabled", tokens["mechanic"], OBJ)
    assert r.status == 200 and r.json() == {"key": "mech_audio_alerts", "enabled": True}
    assert r.headers["content-type"].startswith("application/vnd.pgrst.object+json")
    r = get(stack, "feature_flags?key=eq.nope", tokens["mechanic"], OBJ)
    assert r.status == 406
    assert r.json() == {"code": "PGRST116", "details": "The result contains 0 rows", "hint": None,
                        "message": "Cannot coerce the result to a single JSON object"}
    r = get(stack, "feature_flags", tokens["mechanic"], OBJ)
    assert r.status == 406 and r.json()["details"] == "The result contains 4 rows"


@pytest.mark.parametrize("path,status,code", [
    ("session_assignments?status=zz.queued", 400, "PGRST100"),
    ("session_assignments?status=queued", 400, "PGRST100"),
    ("session_assignments?status=in.queued", 400, "PGRST100"),
    ("session_assignments?select=id,(", 400, "PGRST100"),
    ("session_assignments?order=created_at.sideways", 400, "PGRST100"),
    ("session_assignments?limit=ten", 400, "PGRST100"),
    ("session_assignments?or=(status.eq.queued)", 400, "PGRST100"),
    ("session_assignments?bogus=eq.1", 400, "42703"),
    ("session_assignments?select=id,bogus", 400, "42703"),
    ("session_assignments?order=bogus", 400, "42703"),
    ("session_assignments?id=eq.not-a-uuid", 400, "22P02"),
    ("session_assignments?select=id,nothing(id)", 400, "PGRST200"),
    ("no_such_table", 404, "PGRST205"),
    ("rpc/no_such_fn", 404, "PGRST202"),
])
def test_bad_requests(stack, tokens, path, status, code):
    r = get(stack, q(path), tokens["mechanic"])
    assert r.status == status, r
    body = r.json()
    assert body["code"] == code and set(body) == {"code", "message", "details", "hint"}


def test_unknown_column_message(stack, tokens):
    r = get(stack, "session_assignments?select=nope", tokens["mechanic"])
    assert r.json()["message"] == "column session_assignments.nope does not exist"


def test_jwt_errors(stack):
    expired = jwtutil.sign({"role": "authenticated", "sub": "11111111-1111-4111-8111-111111111111",
                            "exp": int(time.time()) - 60})
    r = get(stack, "feature_flags", expired)
    assert r.status == 401
    assert r.json() == {"code": "PGRST303", "details": None, "hint": None, "message": "JWT expired"}
    assert r.headers["www-authenticate"] == 'Bearer error="invalid_token", error_description="JWT expired"'
    r = get(stack, "feature_flags", "a.b")
    assert r.status == 401 and r.json()["code"] == "PGRST301"
    r = get(stack, "feature_flags", jwtutil.sign({"role": "authenticated"}, secret="y" * 40))
    assert r.status == 401 and r.json()["code"] == "PGRST301"
    r = get(stack, "feature_flags", jwtutil.sign({"role": "no_such_role", "exp": int(time.time()) + 60}))
    assert r.status == 401


def test_writes(stack, tokens):
    svc = stack.service_key
    r = stack.http("POST", "/rest/v1/intakes?select=id,name", [{"name": "A", "vehicle_year": 2001},
                                                                {"name": "B"}],
                   token=svc, headers={"Prefer": "return=representation"})
    assert r.status == 201 and [x["name"] for x in r.json()] == ["A", "B"]
    ids = [x["id"] for x in r.json()]
    r = stack.http("POST", "/rest/v1/intakes", {"name": "C"}, token=svc)
    assert r.status == 201 and r.body == b""
    r = stack.http("PATCH", "/rest/v1/intakes?id=eq." + ids[0], {"concern": "Noisy"}, token=svc,
                   headers={"Prefer": "return=representation", **OBJ})
    assert r.status == 200 and r.json()["concern"] == "Noisy" and r.json()["name"] == "A"
    r = stack.http("DELETE", "/rest/v1/intakes?name=in.(A,B,C)", token=svc,
                   headers={"Prefer": "return=representation"})
    assert r.status == 200 and len(r.json()) == 3
    # Constraint violations.
    r = stack.http("POST", "/rest/v1/feature_flags", {"key": "mech_audio_alerts"}, token=svc)
    assert r.status == 409 and r.json()["code"] == "23505"
    r = stack.http("POST", "/rest/v1/session_assignments",
                   {"session_id": "eeeeeeee-eeee-4eee-8eee-eeeeeeeeeeee", "status": "bogus"}, token=svc)
    assert r.status == 400 and r.json()["code"] == "23514"
    r = stack.http("POST", "/rest/v1/intakes", {"nope": 1}, token=svc)
    assert r.status == 400 and r.json()["code"] == "PGRST204"
    # RLS on writes: a customer may not insert assignments; anon gets 401.
    r = stack.http("POST", "/rest/v1/session_assignments",
                   {"session_id": "eeeeeeee-eeee-4eee-8eee-eeeeeeeeeeee"}, token=tokens["customer"])
    assert r.status == 403 and r.json()["code"] == "42501"
    r = stack.http("POST", "/rest/v1/session_assignments", {"session_id": "eeeeeeee-eeee-4eee-8eee-eeeeeeeeeeee"})
    assert r.status == 401 and r.json()["code"] == "42501"
    # Upsert.
    r = stack.http("POST", "/rest/v1/feature_flags?on_conflict=key", {"key": "mech_audio_alerts", "enabled": True},
                   token=svc, headers={"Prefer": "resolution=merge-duplicates,return=representation"})
    assert r.status == 201 and r.json()[0]["enabled"] is True


@pytest.mark.parametrize("raw", [b"{not json", b"", b"\xff\xfe", b"[1, 2]", b'"str"'])
def test_malformed_bodies(stack, raw):
    r = stack.http("POST", "/rest/v1/intakes", raw=raw, token=stack.service_key)
    assert r.status == 400 and r.json()["code"] == "PGRST102"
    r = stack.http("PATCH", "/rest/v1/intakes?id=eq.00000000-0000-4000-8000-000000000000", raw=raw,
                   token=stack.service_key)
    assert r.status == 400
    r = stack.http("POST", "/rest/v1/rpc/accept_assignment", raw=raw or b"x", token=stack.service_key)
    assert r.status in (400, 404)


def test_rpc_accept(stack, tokens):
    a = stack.request("--no-broadcast")[0]
    t = stack.request("--no-broadcast", "--for-mechanic", "workshop@example.com")[0]
    r = stack.http("POST", "/rest/v1/rpc/accept_assignment", {"p_id": t["assignment_id"]}, token=tokens["mechanic"])
    assert r.status == 400 and r.json()["code"] == "P0001"
    r = stack.http("POST", "/rest/v1/rpc/accept_assignment", {"p_id": a["assignment_id"]}, token=tokens["mechanic"])
    assert r.status == 200, r
    assert r.json()["status"] == "accepted" and r.json()["mechanic_id"] == "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
    r = stack.http("POST", "/rest/v1/rpc/accept_assignment", {"p_id": a["assignment_id"]}, token=tokens["workshop"])
    assert r.status == 400
    r = stack.http("POST", "/rest/v1/rpc/accept_assignment", {"wrong": 1}, token=tokens["mechanic"])
    assert r.status == 404 and r.json()["code"] == "PGRST202"
    r = stack.http("POST", "/rest/v1/rpc/accept_assignment", {"p_id": "x"}, token=tokens["mechanic"])
    assert r.status == 400 and r.json()["code"] == "22P02"
    r = stack.http("GET", "/rest/v1/rpc/queued_assignments", token=tokens["mechanic"])
    assert r.status == 200 and all(x["status"] == "queued" for x in r.json())
    r = stack.http("POST", "/rest/v1/rpc/whoami", {}, token=tokens["customer"])
    assert r.json()["role"] == "authenticated" and r.json()["mechanic_id"] is None
    # A mechanic's own PATCH (the accept path used by the app) goes through RLS too.
    b = stack.request("--no-broadcast")[0]
    r = stack.http("PATCH", "/rest/v1/session_assignments?id=eq." + b["assignment_id"],
                   {"status": "declined"}, token=tokens["customer"], headers={"Prefer": "return=representation"})
    assert r.status == 200 and r.json() == []


def test_rest_503_fault(stack, tokens, clear_faults):
    stack.fault("rest-503", "1")
    r = get(stack, "feature_flags", tokens["mechanic"])
    assert r.status == 503 and r.json()["code"].startswith("PGRST")
    stack.fault("rest-503", "0.5")
    statuses = [get(stack, "feature_flags", tokens["mechanic"]).status for _ in range(60)]
    assert statuses.count(503) > 5 and statuses.count(200) > 5
    assert set(statuses) <= {200, 503}
    stack.fault("clear")
    assert get(stack, "feature_flags", tokens["mechanic"]).status == 200


def test_rest_slow_and_timeout_faults(stack, tokens, clear_faults):
    stack.fault("rest-slow", "1", "300")
    t = time.monotonic()
    assert get(stack, "feature_flags", tokens["mechanic"]).status == 200
    assert time.monotonic() - t >= 0.29
    stack.fault("clear")
    stack.fault("rest-timeout", "1")
    with pytest.raises(OSError):
        stack.http("GET", "/rest/v1/feature_flags", token=tokens["mechanic"], timeout=0.5)
    stack.fault("clear")
    assert get(stack, "feature_flags", tokens["mechanic"]).status == 200


def test_server_survives_garbage(stack, tokens):
    for path in ["session_assignments?select=" + "a(" * 50, "session_assignments?id=eq." + "x" * 10000,
                 "session_assignments?select=id::evil;drop", "session_assignments?select=%22id%22",
                 "session_assignments?metadata->>urgent=eq.true", "x%00y", "rpc/%00"]:
        r = get(stack, path, tokens["mechanic"])
        assert 200 <= r.status < 500, (path, r)
    assert get(stack, "feature_flags", tokens["mechanic"]).status == 200
