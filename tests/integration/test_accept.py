"""First mechanic wins, every workstation stands down: `wrenchbell --headless` stations as different
mechanics on one stack, each on its own session bus (its own desktop), accepting through
`wrenchbell --accept` as a user would."""
import concurrent.futures
import json
import os
import shutil
import subprocess
import tempfile
import threading
import uuid

import pytest

from wbapp import WRENCHBELL, App, Bus, wait_for

NAMES = {"mia": "Mia Mechanic", "bob": "Bob Builder", "cho": "Cho Okafor-Silva"}


@pytest.fixture(scope="module")
def crew(stack):
    """Mia is the stack's demo mechanic; Bob and Cho get accounts of their own."""
    tag = uuid.uuid4().hex[:6]
    accounts = {"mia": (stack.email, stack.password)}
    for who in ("bob", "cho"):
        email, password = "%s.%s@example.com" % (who, tag), "pw-%s-%s" % (who, tag)
        stack.run("mechanic", email, password, NAMES[who])
        accounts[who] = (email, password)
    return accounts


@pytest.fixture
def station(stack, crew, tmp_path):
    """station(who) → a subscribed `wrenchbell --headless` signed in as @who, on its own bus."""
    made = []

    def make(who, extra_env=None, open_bus=False):
        bus = Bus(open_to_all_users=open_bus)
        email, password = crew[who]
        app = App(stack, bus, str(tmp_path / ("%s-%d" % (who, len(made)))), extra_env=extra_env,
                  email=email, password=password)
        made.append((app, bus))
        return app.start()

    try:
        yield make
    finally:
        for app, bus in made:
            try:
                app.stop()
            finally:
                bus.close()
        stack.fault("clear")


def db(stack, query):
    return stack.sql(query)


def mechanic_of(stack, assignment_id):
    return db(stack, "select a.status || '|' || coalesce(m.name, '') from session_assignments a"
                     " left join mechanics m on m.id = a.mechanic_id where a.id = '%s'" % assignment_id)


def test_three_workstations_first_mechanic_wins(stack, station):
    mia, bob, cho = station("mia"), station("bob"), station("cho")
    req = stack.request("--customer", "Dana Three-Stations")[0]
    aid = req["assignment_id"]
    for app in (mia, bob, cho):
        app.wait_alerts([aid])
        assert len(app.alerts_for(aid)) == 1, app.records()

    rc, out = bob.accept(aid)
    assert rc == 0, out
    assert out["outcome"] == "won" and out["assignment_id"] == aid
    assert out["session_id"] == req["session_id"] and out["taken_by"] is None
    assert out["dashboard_url"] is None   # no dashboard-url set

    for app in (mia, bob, cho):
        app.wait_alerts([aid], kind="withdraw")
        w = app.alerts_for(aid, "withdraw")
        assert len(w) == 1, w
        assert w[0]["reason"] == "taken"
        assert w[0]["taken_by"] == "Bob Builder", w[0]
        assert w[0]["taken_by_me"] is (app is bob)
    # The others' own accept now loses, naming the winner: exit 3.
    for app in (mia, cho):
        rc, out = app.accept(aid)
        assert rc == 3, out
        assert out["outcome"] == "taken" and out["taken_by"] == "Bob Builder"
    # Nobody rings any more: popups closed, nothing open, nothing waiting.
    for app in (mia, bob, cho):
        wait_for(lambda: app.bus.calls("CloseNotification"), 10, "the popup closed")
        st = app.status()
        assert st["ringing"] == 0 and st["waiting"] == 0 and st["unacknowledged"] == 0, st
        assert len(app.alerts_for(aid)) == 1    # rang once, never again
    assert bob.status()["accepts_won"] == 1
    assert mia.status()["accepts_lost"] == 1 and cho.status()["accepts_lost"] == 1
    # The database agrees.
    assert mechanic_of(stack, aid) == "accepted|Bob Builder"


def test_fifty_requests_two_stations_accept_at_once(stack, station):
    mia, bob = station("mia"), station("bob")
    reqs = stack.request("--count", "50", "--rate", "50")
    ids = [r["assignment_id"] for r in reqs]
    for app in (mia, bob):
        app.wait_alerts(ids, timeout=60)

    def both_at_once(aid):
        gate = threading.Barrier(2)
        answers = {}

        def one(name, app):
            gate.wait()
            answers[name] = app.accept(aid)

        threads = [threading.Thread(target=one, args=(n, a)) for n, a in (("mia", mia), ("bob", bob))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        return aid, answers

    with concurrent.futures.ThreadPoolExecutor(max_workers=10) as pool:
        results = dict(pool.map(both_at_once, ids))

    winners = {}
    for aid, answers in results.items():
        won = [n for n, (rc, out) in answers.items() if rc == 0 and out["outcome"] == "won"]
        lost = [n for n, (rc, out) in answers.items() if rc == 3 and out["outcome"] == "taken"]
        assert len(won) == 1 and len(lost) == 1, (aid, answers)   # exactly one winner, no double accept
        winners[aid] = won[0]
        assert answers[lost[0]][1]["taken_by"] == NAMES[won[0]], answers
    for aid, who in winners.items():
        assert mechanic_of(stack, aid) == "accepted|" + NAMES[who]
    print("# fifty requests: mia won %d, bob won %d" % (sum(w == "mia" for w in winners.values()),
                                                        sum(w == "bob" for w in winners.values())))

    for app, me in ((mia, "mia"), (bob, "bob")):
        app.wait_alerts(ids, kind="withdraw", timeout=60)
        for aid in ids:
            w = app.alerts_for(aid, "withdraw")
            assert len(w) == 1, w
            assert w[0]["reason"] == "taken" and w[0]["taken_by"] == NAMES[winners[aid]], w[0]
            assert w[0]["taken_by_me"] is (winners[aid] == me)
            assert len(app.alerts_for(aid)) == 1
        wait_for(lambda: app.status()["ringing"] == 0, 10, "no station still ringing")
        st = app.status()
        assert st["waiting"] == 0 and st["unacknowledged"] == 0, st


def test_taken_elsewhere_is_withdrawn_with_the_name_even_via_catchup(stack, crew, station):
    """Realtime missed the change (socket frozen): the catch-up finds the request gone and the
    withdraw still says who took it (the row read with its mechanic's name)."""
    mia = station("mia", extra_env={"WB_SAFETY_POLL_S": "2"})
    aid = stack.request("--no-broadcast")[0]["assignment_id"]
    mia.wait_alerts([aid])
    stack.fault("freeze")
    cho = stack.sign_in(*crew["cho"])["access_token"]
    r = stack.http("POST", "/rest/v1/rpc/accept_session_assignment", {"p_assignment_id": aid}, token=cho)
    assert r.status == 200, r
    mia.wait_alerts([aid], kind="withdraw", timeout=40)
    w = mia.alerts_for(aid, "withdraw")[0]
    assert w["reason"] == "taken" and w["taken_by"] == "Cho Okafor-Silva", w


def test_cancelled_and_expired_say_so(stack, station):
    mia = station("mia")
    a, b = [r["assignment_id"] for r in stack.request("--count", "2")]
    mia.wait_alerts([a, b])
    stack.run("set-status", a, "cancelled")
    stack.run("set-status", b, "expired")
    mia.wait_alerts([a, b], kind="withdraw")
    assert mia.alerts_for(a, "withdraw")[0]["reason"] == "cancelled"
    assert mia.alerts_for(b, "withdraw")[0]["reason"] == "expired"
    assert mia.alerts_for(a, "withdraw")[0]["taken_by"] is None
    rc, out = mia.accept(a)
    assert rc == 4 and out["outcome"] == "gone" and out["status"] == "cancelled", out


def test_accept_answers_for_unknown_ids_and_no_instance(stack, station, tmp_path):
    mia = station("mia")
    rc, out = mia.accept(str(uuid.uuid4()))
    assert rc == 1 and out["outcome"] == "failed" and out["code"] == "PT404", out
    rc, out = mia.accept("not-an-id\x1b[2J")
    assert rc == 1 and out["message"] == "not an assignment id", out
    assert "\x1b" not in json.dumps(out, ensure_ascii=False)
    # No instance on the bus: exit 1, still one JSON object.
    lonely = Bus()
    try:
        env = dict(mia.env, DBUS_SESSION_BUS_ADDRESS=lonely.address)
        r = subprocess.run([WRENCHBELL, "--accept", str(uuid.uuid4())], env=env, capture_output=True,
                           text=True, timeout=30)
        assert r.returncode == 1 and json.loads(r.stdout)["outcome"] == "failed", r
    finally:
        lonely.close()


def test_dashboard_url_for_the_winner(stack, station):
    mia = station("mia", extra_env={"WRENCHBELL_DASHBOARD_URL":
                                    "https://dash.example.com/mechanic/sessions/{session_id}?a={assignment_id}"})
    req = stack.request()[0]
    mia.wait_alerts([req["assignment_id"]])
    rc, out = mia.accept(req["assignment_id"])
    assert rc == 0, out
    assert out["dashboard_url"] == "https://dash.example.com/mechanic/sessions/%s?a=%s" % (
        req["session_id"], req["assignment_id"])


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run a process as another user")
def test_accept_refused_to_another_user(stack, station):
    """A session bus another user can reach: the app checks the caller's uid itself."""
    mia = station("mia", open_bus=True)
    aid = stack.request()[0]["assignment_id"]
    mia.wait_alerts([aid])
    env = {"DBUS_SESSION_BUS_ADDRESS": mia.bus.address, "PATH": "/usr/bin:/bin", "HOME": "/nonexistent",
           "LANG": "C.UTF-8"}
    runuser = shutil.which("runuser", path="/usr/sbin:/usr/bin:/sbin:/bin")
    # The build may sit in a directory only root can enter (a fresh clone under mktemp -d): the
    # other user runs a copy of the same binary from a directory anyone can read.
    shared = tempfile.mkdtemp(prefix="wb-accept-other-user-")
    try:
        os.chmod(shared, 0o755)
        binary = os.path.join(shared, "wrenchbell")
        shutil.copy2(WRENCHBELL, binary)
        os.chmod(binary, 0o755)
        r = subprocess.run([runuser, "-u", "nobody", "--", binary, "--accept", aid], env=env,
                           capture_output=True, text=True, timeout=60)
    finally:
        shutil.rmtree(shared, ignore_errors=True)
    assert r.returncode == 1, (r.stdout, r.stderr)
    out = json.loads(r.stdout)
    assert out["outcome"] == "failed" and "Only the user running Wrenchbell" in out["message"], out
    assert db(stack, "select status from session_assignments where id = '%s'" % aid) == "queued"
    assert mia.status()["accepts_won"] == 0
    # The same user on the same bus may.
    rc, out = mia.accept(aid)
    assert rc == 0 and out["outcome"] == "won", out
