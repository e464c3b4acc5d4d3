"""Text a customer typed, end to end: `wrenchbell --headless` against the local stack.

Issue 11: a customer named `Eve ESC]52;c;…BEL ESC[2J` reached the terminal of `--headless` as raw
escape sequences (on a real terminal: write the clipboard, clear the screen), and a U+202E in the
concern reordered what came after it. The name and concern come in through every door the app
has — the broadcast payload, postgres_changes followed by the details fetch, and the catch-up
query followed by the details fetch — and what the app prints must carry no ESC, BEL or C1
control, no bidi control, and the alert log must hold the cleaned text as valid JSON."""
import json
import uuid

from wbapp import wait_for

EVE = "Eve \x1b]52;c;ZXZpbA==\x07\x1b[2J"
EVE_CLEAN = "Eve ]52;c;ZXZpbA==[2J"
CONCERN = "Brakes squeal \u202eesrever ni\u2066 \x9b31m when cold"
CONCERN_CLEAN = "Brakes squeal esrever ni 31m when cold"


def assert_terminal_safe(app):
    with open(app.stdout_path, "rb") as f:
        raw = f.read()
    assert b"\x1b" not in raw and b"\x07" not in raw, raw[-2000:]
    text = raw.decode("utf-8")       # valid UTF-8, or this raises
    bad = [c for c in text if (ord(c) < 0x20 and c not in "\n") or 0x7f <= ord(c) <= 0x9f
           or 0x202a <= ord(c) <= 0x202e or 0x2066 <= ord(c) <= 0x2069]
    assert not bad, [hex(ord(c)) for c in bad]
    return text


def one_alert(app, aid):
    recs = app.alerts_for(aid)
    assert len(recs) == 1, json.dumps(recs, indent=1)
    return recs[0]


def check_log_lines(app):
    with open(app.log_path, "rb") as f:
        for line in f.read().decode("utf-8").splitlines():
            rec = json.loads(line)
            for key in ("customer", "vehicle", "concern"):
                value = rec.get(key) or ""
                assert not [c for c in value if ord(c) < 0x20 or 0x7f <= ord(c) <= 0x9f
                            or 0x202a <= ord(c) <= 0x202e or 0x2066 <= ord(c) <= 0x2069], rec


def test_postgres_changes_and_details(make_app, stack):
    app = make_app().start()
    req = stack.request("--no-broadcast", "--customer", EVE, "--concern", CONCERN)[0]
    assert req["customer"] == EVE and req["concern"] == CONCERN
    app.wait_alerts([req["assignment_id"]])
    rec = one_alert(app, req["assignment_id"])
    assert rec["source"] == "postgres_changes" and rec["details"] == "full"
    assert rec["customer"] == EVE_CLEAN
    assert rec["concern"] == CONCERN_CLEAN
    check_log_lines(app)
    text = assert_terminal_safe(app)
    assert EVE_CLEAN in text and CONCERN_CLEAN in text


def test_broadcast_payload(make_app, stack):
    app = make_app().start()
    aid, sid = str(uuid.uuid4()), str(uuid.uuid4())
    r = stack.http("POST", "/realtime/v1/api/broadcast", {"messages": [{
        "topic": "session_requests_feed", "event": "new_assignment",
        "payload": {"assignmentId": aid, "sessionId": sid, "customerName": EVE,
                    "vehicleSummary": "2011 Ford\u2028Focus\x1b[0m", "concern": CONCERN}}]},
        token=stack.service_key)
    assert r.status == 202, r
    app.wait_alerts([aid])
    rec = one_alert(app, aid)
    assert rec["source"] == "broadcast"
    assert rec["customer"] == EVE_CLEAN
    assert rec["vehicle"] == "2011 Ford Focus[0m"
    assert rec["concern"] == CONCERN_CLEAN
    # A request through the default path too: broadcast and row, whichever comes first.
    req = stack.request("--customer", EVE, "--concern", CONCERN)[0]
    app.wait_alerts([req["assignment_id"]])
    wait_for(lambda: [r for r in app.records() if r["assignment_id"] == req["assignment_id"]
                      and r["details"] == "full"], 20, "the details of the second request")
    for r in app.records():
        if r["assignment_id"] == req["assignment_id"] and r["kind"] in ("alert", "update"):
            assert r["customer"] == EVE_CLEAN and r["concern"] == CONCERN_CLEAN, r
    check_log_lines(app)
    text = assert_terminal_safe(app)
    assert EVE_CLEAN in text


def test_catchup_and_details(make_app, stack):
    # Queued while the app was not running: only the catch-up query finds it.
    req = stack.request("--no-broadcast", "--customer", EVE, "--concern", CONCERN)[0]
    app = make_app().start()
    app.wait_alerts([req["assignment_id"]], timeout=30)
    rec = one_alert(app, req["assignment_id"])
    assert rec["source"] == "catchup"
    assert rec["customer"] == EVE_CLEAN and rec["concern"] == CONCERN_CLEAN
    check_log_lines(app)
    assert_terminal_safe(app)
    st = app.status()
    assert st["state"] == "subscribed"
