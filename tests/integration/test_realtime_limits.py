"""Realtime's limits and the 2026 key model, end to end: `wrenchbell --headless` against the stand-in
with its tenant faults (Realtime's own refusals, in the real server's shapes) and its limit on
connections made with an API key alone. Run once against a stack that accepts the legacy keys and
once against one that refuses them (conftest.KEY_MODES), except where a test needs its own stack."""
import os
import time

import pytest

from conftest import stack_down, stack_up
from wbapp import App, server_key, wait_for


def one(records):
    assert len(records) == 1, records
    return records[0]


def ws_attempts(stack):
    """Every websocket handshake the stand-in saw (accepted or refused)."""
    r = stack.http("GET", "/_stack/stats", apikey=server_key(stack))
    assert r.status == 200, r
    return r.json()["websocket"]["attempts"]


def handshake_times(stack, seconds, interval=0.05):
    """The times (monotonic, ±interval) of the handshakes made during the next @seconds."""
    times, last, end = [], ws_attempts(stack), time.monotonic() + seconds
    while time.monotonic() < end:
        time.sleep(interval)
        now = ws_attempts(stack)
        times += [time.monotonic()] * (now - last)
        last = now
    return times


def error_of(app):
    return app.status().get("last_server_error") or {}


def test_status_says_protocol_key_kind_and_connection(make_app, stack):
    app = make_app().start()
    st = app.status()
    assert st["realtime_vsn"] == "2.0.0"
    assert st["api_key"] == ("legacy_anon" if stack.legacy_keys == "on" else "publishable")
    assert stack.publishable_key not in str(st) and stack.anon_key not in str(st)
    assert st["connection"] == "user" and st["realtime"] == "subscribed"
    assert st["last_server_error"] is None
    assert st["frames_dropped"] == 0


def test_protocol_1_0_0_stays_selectable(make_app, stack):
    app = make_app(extra_env={"WRENCHBELL_REALTIME_VSN": "1.0.0"}).start()
    assert app.status()["realtime_vsn"] == "1.0.0"
    reqs = stack.request("--count", "3", "--rate", "20")
    app.wait_alerts([r["assignment_id"] for r in reqs])
    time.sleep(1.0)
    for r in reqs:
        one(app.alerts_for(r["assignment_id"]))
    assert app.status()["duplicates_suppressed"] >= 3


def test_malformed_frames_are_dropped_and_counted(make_app, stack):
    app = make_app().start()
    stack.fault("malformed")
    wait_for(lambda: app.status()["frames_dropped"] >= 1, 10, "the malformed frames counted")
    stack.fault("clear")
    req = stack.request()[0]
    app.wait_alerts([req["assignment_id"]])
    one(app.alerts_for(req["assignment_id"]))
    assert app.status()["state"] == "subscribed"


def test_connection_rate_limit_is_paced_not_stormed(make_app, stack):
    """ConnectionRateLimitReached: handshakes refused with 429. The app comes back through them at
    the refusal floor (here 2 s, doubling), never at its 1 s reconnect backoff, and by itself
    once the server allows; a request made meanwhile rings once after."""
    app = make_app(extra_env={"WB_REFUSAL_BACKOFF_MS": "2000"}).start()
    stack.fault("connection-rate-limit")
    stack.fault("drop")
    times = handshake_times(stack, 14.0)
    err = error_of(app)
    assert (err.get("code"), err.get("kind"), err.get("active")) == ("HTTP 429", "rate_limit", True), err
    assert app.status()["realtime"] != "subscribed"
    gaps = [b - a for a, b in zip(times, times[1:])]
    print("handshakes during the fault: %d, gaps %s" % (len(times), ["%.2f" % g for g in gaps]))
    # 2 s, 4 s, 8 s floors after the 1st, 2nd and 3rd refusal (sampling costs up to 0.1 s).
    for i, gap in enumerate(gaps):
        assert gap >= 2.0 * 2 ** i - 0.1, "handshake %d came %.2f s after the one before" % (i + 2, gap)
    assert 2 <= len(times) <= 4, times

    missed = stack.request()[0]
    stack.fault("clear")
    wait_for(lambda: app.status().get("state") == "subscribed", 40, "recovery after the fault")
    assert error_of(app)["active"] is False
    app.wait_alerts([missed["assignment_id"]], timeout=30)
    one(app.alerts_for(missed["assignment_id"]))


def test_join_rate_limit_recovers(make_app, stack):
    """ClientJoinRateLimitReached (handshakes 429, joins refused and the socket closed): the app
    shows it, stays away, and recovers by itself; nothing is missed or rung twice."""
    app = make_app(extra_env={"WB_REFUSAL_BACKOFF_MS": "500"}).start()
    before = stack.request()[0]
    app.wait_alerts([before["assignment_id"]])
    stack.fault("join-rate-limit")
    stack.fault("drop")
    wait_for(lambda: error_of(app).get("kind") == "rate_limit" and error_of(app).get("active"), 15,
             "the refusal in --status")
    attempts = len(handshake_times(stack, 5.0))
    assert attempts <= 4, attempts
    during = stack.request()[0]
    stack.fault("clear")
    wait_for(lambda: app.status().get("state") == "subscribed", 30, "recovery after the fault")
    app.wait_alerts([during["assignment_id"]], timeout=30)
    for r in (before, during):
        one(app.alerts_for(r["assignment_id"]))


def test_tenant_disabled_recovers(make_app, stack):
    """RealtimeDisabledForTenant: the server drains the sockets, then refuses handshakes with 403.
    The app waits six times the rate-limit floor, says why, and comes back when Realtime is
    enabled again; the requests of the outage ring once, found by the catch-up (or the replay)."""
    app = make_app(extra_env={"WB_REFUSAL_BACKOFF_MS": "500"}).start()
    stack.fault("tenant-disabled")
    wait_for(lambda: error_of(app).get("code") == "RealtimeDisabledForTenant", 15,
             "RealtimeDisabledForTenant in --status")
    assert error_of(app)["kind"] == "tenant" and error_of(app)["active"]
    attempts = len(handshake_times(stack, 4.0))
    assert attempts <= 2, attempts      # floors of 3 s and 6 s
    during = stack.request("--count", "2")
    stack.fault("clear")
    wait_for(lambda: app.status().get("state") == "subscribed", 40, "recovery after the fault")
    app.wait_alerts([r["assignment_id"] for r in during], timeout=30)
    # Found after the outage, never live: by the catch-up, or by the private channel's replay on
    # its rejoin (issue 10) — once either way.
    for r in during:
        assert one(app.alerts_for(r["assignment_id"]))["source"] in ("catchup", "db_broadcast")
    assert error_of(app)["active"] is False


# ---- a workstation without an account, and the server's limit on such connections ------------

PUBLIC_LIMIT_S = 5


@pytest.fixture(scope="module")
def limited_stack(tmp_path_factory):
    """A project after the legacy keys' retirement whose Realtime ends connections made with an API
    key alone after PUBLIC_LIMIT_S seconds (24 h on the platform)."""
    d = str(tmp_path_factory.mktemp("limited-stack"))
    s = stack_up(d, "--legacy-keys", "off",
                 env={"STANDIN_PUBLIC_CONNECTION_MAX_S": str(PUBLIC_LIMIT_S)})
    try:
        yield s
    finally:
        stack_down(d)


def signed_out_app(stack, bus, tmp_path, name, **extra):
    app = App(stack, bus, str(tmp_path / name), extra_env=dict(extra))
    for k in ("WRENCHBELL_EMAIL", "WRENCHBELL_PASSWORD"):
        app.env.pop(k, None)
    app.start(wait_subscribed=False)
    wait_for(lambda: app.status().get("realtime") == "subscribed", 20, "the public subscription")
    st = app.status()
    assert st["state"] == "signed_out" and st["connection"] == "public", st
    return app


def test_signed_out_workstation_outlives_the_public_connection_limit(limited_stack, bus, tmp_path):
    """Signed out, the app listens on the publishable key alone. Told the server's limit, it renews
    the connection before it (make-before-break): requests booked every 0.3 s across two limits
    each ring exactly once, through the broadcast."""
    stack = limited_stack
    app = signed_out_app(stack, bus, tmp_path, "renewing",
                         WB_PUBLIC_CONNECTION_MAX_S=str(PUBLIC_LIMIT_S))
    try:
        reqs = []
        end = time.monotonic() + 2.2 * PUBLIC_LIMIT_S
        while time.monotonic() < end:
            reqs += stack.request()
            time.sleep(0.3)
        app.wait_alerts([r["assignment_id"] for r in reqs], timeout=30)
        time.sleep(1.0)
        for r in reqs:
            rec = one(app.alerts_for(r["assignment_id"]))
            assert rec["source"] == "broadcast" and rec["customer"] == r["customer"]
        st = app.status()
        assert st["connection_renewals"] >= 2, st
        assert st["state"] == "signed_out" and st["realtime"] == "subscribed", st
    finally:
        app.stop()


def test_signed_out_workstation_reconnects_when_the_server_ends_it(limited_stack, bus, tmp_path):
    """Not told the limit (it assumes the platform's 24 h), the app is cut off by the server: the
    channel's key token expires, the app makes a new handshake by itself and listens again; a
    request booked across the forced reconnect rings exactly once (its broadcast on the new
    connection), the ones after it too."""
    stack = limited_stack
    app = signed_out_app(stack, bus, tmp_path, "reconnecting")
    try:
        wait_for(lambda: (error_of(app).get("message") or "").startswith("Token has expired"),
                 PUBLIC_LIMIT_S + 10, "the server ending the public connection")
        across = stack.request()[0]
        wait_for(lambda: app.status().get("realtime") == "subscribed", 20, "the new connection")
        after = stack.request("--count", "2")
        app.wait_alerts([r["assignment_id"] for r in [across] + after], timeout=30)
        time.sleep(1.0)
        for r in [across] + after:
            one(app.alerts_for(r["assignment_id"]))
        assert app.status()["reconnects"] >= 1
    finally:
        app.stop()


def test_signed_in_workstation_is_not_limited(limited_stack, bus, tmp_path):
    """A user token on the channel upgrades the connection: past the limit nothing is renewed or
    reconnected, and requests keep ringing once."""
    stack = limited_stack
    app = App(stack, bus, str(tmp_path / "signed-in")).start()
    try:
        time.sleep(PUBLIC_LIMIT_S + 2)
        req = stack.request()[0]
        app.wait_alerts([req["assignment_id"]])
        one(app.alerts_for(req["assignment_id"]))
        st = app.status()
        assert st["connection"] == "user" and st["reconnects"] == 0 and st["connection_renewals"] == 0, st
    finally:
        app.stop()
