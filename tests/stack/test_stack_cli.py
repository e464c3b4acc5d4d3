"""The `stack` command line: request, set-status, flag, fault, restart, down, several stacks."""
import json
import os
import signal
import subprocess
import time

import pytest

from conftest import STACK


def test_env_lines(stack):
    assert stack.url.startswith("http://127.0.0.1:")
    assert stack.email == "mechanic@example.com" and stack.password == "wrenchbell-demo"
    with open(os.path.join(stack.dir, "env")) as f:
        assert "WRENCHBELL_URL=" + stack.url in f.read()
    st = stack.state()
    assert st["port"] == stack.port and st["pg_port"] and st["pid"]
    assert os.path.exists(os.path.join(stack.dir, "pg", "s", ".s.PGSQL.%d" % st["pg_port"]))
    assert stack.http("GET", "/_stack/health").json()["db"] is True
    assert stack.sql("select count(*) from public.feature_flags where enabled") == "4"
    assert stack.sql("select relreplident from pg_class where relname = 'session_assignments'") == "f"
    published = stack.sql("select string_agg(tablename, ',' order by tablename) from pg_publication_tables"
                          " where pubname = 'supabase_realtime'").split(",")
    assert {"feature_flags", "session_assignments"} <= set(published)   # other tests may add tables
    assert stack.sql("show wal_level") == "logical"


def test_request_rows(stack):
    recs = stack.request("--no-broadcast", "--count", "3", "--urgent", "--customer", "<b>Zed</b> & Sons")
    assert len(recs) == 3
    for r in recs:
        assert r["customer"] == "<b>Zed</b> & Sons" and r["urgent"] is True
        row = stack.sql("select a.status || '|' || a.metadata::text || '|' || i.name from session_assignments a"
                        " join sessions s on s.id = a.session_id join intakes i on i.id = s.intake_id"
                        " where a.id = '%s'" % r["assignment_id"])
        assert row == 'queued|{"urgent": true}|<b>Zed</b> & Sons'
        assert r["session_id"] and r["intake_id"] and r["vehicle"] and r["concern"]
    r = stack.request("--no-broadcast", "--concern", "Brakes \u202e squeal")[0]
    assert r["concern"] == "Brakes \u202e squeal"
    assert stack.sql("select i.concern from intakes i where i.id = '%s'" % r["intake_id"]) == "Brakes \u202e squeal"
    r = stack.request("--no-broadcast", "--for-mechanic", "workshop@example.com")[0]
    assert r["mechanic_id"] == "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb"
    bad = stack.run("request", "--for-mechanic", "nobody@example.com", check=False)
    assert bad.returncode != 0


def test_request_broadcast_shapes(stack):
    r = stack.run("request", "--count", "2")
    assert r.returncode == 0 and "failed" not in r.stderr
    assert all(json.loads(x)["broadcast"] == "new_assignment" for x in r.stdout.splitlines())
    r = stack.run("request", "--count", "2", "--legacy")
    assert r.returncode == 0 and "failed" not in r.stderr


def test_burst(stack):
    t = time.monotonic()
    recs = stack.request("--count", "300", "--rate", "1000")
    assert len(recs) == 300 and len({r["assignment_id"] for r in recs}) == 300
    assert time.monotonic() - t < 10


def test_set_status_and_flag(stack):
    a = stack.request("--no-broadcast")[0]["assignment_id"]
    out = json.loads(stack.run("set-status", a, "accepted").stdout)
    assert out["status"] == "accepted" and out["accepted_at"]
    out = json.loads(stack.run("set-status", a, "queued").stdout)
    assert out["status"] == "queued"
    assert stack.run("set-status", a, "nonsense", check=False).returncode != 0
    assert stack.run("set-status", "not-a-uuid", "queued", check=False).returncode != 0
    try:
        assert json.loads(stack.run("flag", "mech_audio_alerts", "off").stdout)["enabled"] is False
        assert stack.sql("select enabled from feature_flags where key = 'mech_audio_alerts'") == "f"
    finally:
        stack.run("flag", "mech_audio_alerts", "on")
    assert stack.run("flag", "no_such_flag", "on", check=False).returncode != 0


def test_fault_cli(stack, clear_faults):
    assert stack.run("fault", "no-such-kind", check=False).returncode != 0
    assert stack.run("fault", "rest-503", "2", check=False).returncode != 0
    assert stack.run("fault", "rest-503", "abc", check=False).returncode != 0
    out = json.loads(stack.run("fault", "rest-slow", "0.5", "100").stdout)
    assert out["state"]["rest_delay_share"] == 0.5 and out["state"]["rest_delay_ms"] == 100
    r = stack.http("POST", "/_stack/fault", {"kind": "clear"})          # anon key: refused
    assert r.status == 403
    out = json.loads(stack.run("fault", "clear").stdout)
    assert out["state"]["rest_delay_share"] == 0


def test_restart_keeps_data_and_sessions(stack):
    s = stack.sign_in()
    a = stack.request("--no-broadcast")[0]
    old_pid = stack.state()["pid"]
    stack.run("restart")
    assert stack.state()["pid"] != old_pid
    assert not os.path.exists("/proc/%d" % old_pid) or open("/proc/%d/stat" % old_pid).read().split()[2] == "Z"
    r = stack.http("GET", "/rest/v1/session_assignments?select=id&id=eq." + a["assignment_id"],
                   token=s["access_token"])
    assert r.status == 200 and r.json() == [{"id": a["assignment_id"]}]
    r = stack.refresh(s["refresh_token"])
    assert r.status == 200, r


def test_request_while_standin_down(stack):
    pid = stack.state()["pid"]
    os.killpg(pid, signal.SIGKILL)
    deadline = time.time() + 5
    while time.time() < deadline and stack.http_ok():
        time.sleep(0.05)
    try:
        r = stack.run("request", "--count", "2")
        assert r.returncode == 0
        assert "broadcast failed" in r.stderr
        recs = [json.loads(x) for x in r.stdout.splitlines()]
        ids = ",".join("'%s'" % x["assignment_id"] for x in recs)
        assert stack.sql("select count(*) from session_assignments where id in (%s)" % ids) == "2"
    finally:
        stack.run("restart")
    assert stack.http("GET", "/_stack/health").status == 200


def test_two_stacks_and_down(stack, make_stack):
    other = make_stack()
    assert other.port != stack.port and other.database_url != stack.database_url
    a = other.request("--no-broadcast")[0]["assignment_id"]
    assert stack.sql("select count(*) from session_assignments where id = '%s'" % a) == "0"
    s = other.sign_in()
    assert other.http("GET", "/rest/v1/feature_flags", token=s["access_token"]).status == 200
    # `up` again on a running dir is idempotent.
    r = subprocess.run([STACK, "up", "--dir", other.dir, "--port", "0"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and ("WRENCHBELL_URL=" + other.url) in r.stdout
    pg_root = other.state()["pg_root"]
    pid = other.state()["pid"]
    other.run("down")
    assert not os.path.exists(pg_root)
    assert not os.path.exists(os.path.join(other.dir, "state.json"))
    assert not os.path.exists("/proc/%d" % pid) or open("/proc/%d/stat" % pid).read().split()[2] == "Z"
    # ... and a second round in the same directory works.
    r = subprocess.run([STACK, "up", "--dir", other.dir, "--port", "0"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    r = subprocess.run([STACK, "down", "--dir", other.dir], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0
    assert subprocess.run([STACK, "down", "--dir", other.dir, "--quiet"]).returncode == 0


def test_default_port_busy(tmp_path, stack):
    r = subprocess.run([STACK, "up", "--dir", str(tmp_path / "busy"), "--port", str(stack.port)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode != 0 and "in use" in r.stderr
