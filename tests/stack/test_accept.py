"""`stack mechanic` and the accept RPC the app calls: `accept_session_assignment(p_assignment_id)`.

First mechanic wins, race-safe in the database; the losers get PT409 "already taken by NAME" (the
name also in `details`), an assignment that left the queue otherwise PT410 (its status in
`details`), an unknown one PT404 — exactly as PostgREST passes a raised SQLSTATE through."""
import json
import threading
import uuid

import pytest

RPC = "/rest/v1/rpc/accept_session_assignment"


@pytest.fixture(scope="module")
def crew(stack):
    """Three mechanics: the demo one and two made with `stack mechanic`, each with a token."""
    tag = uuid.uuid4().hex[:8]
    people = {"mia": (stack.email, stack.password, None)}
    for who, name in (("bob", "Bob Builder"), ("cho", "Cho Okafor-Silva")):
        email = "%s.%s@example.com" % (who, tag)
        out = json.loads(stack.run("mechanic", email, "pw-" + who + "-1234", name).stdout)
        assert out["email"] == email and out["name"] == name
        assert uuid.UUID(out["user_id"]) and uuid.UUID(out["mechanic_id"])
        people[who] = (email, "pw-" + who + "-1234", out)
    tokens = {who: stack.sign_in(email, password)["access_token"] for who, (email, password, _) in people.items()}
    return people, tokens


def accept(stack, token, assignment_id):
    return stack.http("POST", RPC, {"p_assignment_id": assignment_id}, token=token)


def test_mechanic_command_makes_a_working_account(stack, crew):
    people, tokens = crew
    r = stack.http("POST", "/rest/v1/rpc/whoami", {}, token=tokens["bob"])
    assert r.status == 200, r
    assert r.json()["mechanic_id"] == people["bob"][2]["mechanic_id"]
    row = stack.sql("select m.name || '|' || u.email || '|' || (u.email_confirmed_at is not null)"
                    " from mechanics m join auth.users u on u.id = m.user_id where m.id = '%s'"
                    % people["bob"][2]["mechanic_id"])
    assert row == "Bob Builder|%s|true" % people["bob"][0]
    # Mechanics may read each other's names (the app shows who took a request).
    r = stack.http("GET", "/rest/v1/mechanics?select=name&id=eq." + people["cho"][2]["mechanic_id"],
                   token=tokens["mia"])
    assert r.status == 200 and r.json() == [{"name": "Cho Okafor-Silva"}], r


def test_mechanic_command_refuses_bad_input(stack, crew):
    people, _ = crew
    again = stack.run("mechanic", people["bob"][0], "another-password", "Bob Again", check=False)
    assert again.returncode != 0 and "exists already" in again.stderr
    assert stack.run("mechanic", "not-an-email", "long-enough", "X", check=False).returncode == 2
    assert stack.run("mechanic", "short@example.com", "12345", "X", check=False).returncode == 2
    assert stack.run("mechanic", "blank@example.com", "long-enough", "  ", check=False).returncode == 2
    assert stack.sql("select count(*) from auth.users where email in"
                     " ('short@example.com', 'blank@example.com')") == "0"


def test_accept_won_is_idempotent_for_the_winner(stack, crew):
    people, tokens = crew
    aid = stack.request("--no-broadcast")[0]["assignment_id"]
    r = accept(stack, tokens["bob"], aid)
    assert r.status == 200, r
    row = r.json()
    assert row["id"] == aid and row["status"] == "accepted" and row["accepted_at"]
    assert row["mechanic_id"] == people["bob"][2]["mechanic_id"]
    # A retry whose first answer was lost is still the winner's, and changes nothing.
    again = accept(stack, tokens["bob"], aid)
    assert again.status == 200 and again.json() == row, again


def test_accept_lost_names_the_winner(stack, crew):
    _, tokens = crew
    aid = stack.request("--no-broadcast")[0]["assignment_id"]
    assert accept(stack, tokens["cho"], aid).status == 200
    r = accept(stack, tokens["mia"], aid)
    assert r.status == 409, r
    body = r.json()
    assert body["code"] == "PT409"
    assert body["message"] == "already taken by Cho Okafor-Silva"
    assert body["details"] == "Cho Okafor-Silva"


def test_accept_after_the_queue_and_unknown_ids(stack, crew):
    _, tokens = crew
    aid = stack.request("--no-broadcast")[0]["assignment_id"]
    for status in ("expired", "cancelled"):
        stack.run("set-status", aid, status)
        r = accept(stack, tokens["mia"], aid)
        assert r.status == 410, r
        assert r.json()["code"] == "PT410"
        assert r.json()["message"] == "no longer queued (%s)" % status
        assert r.json()["details"] == status
    assert stack.sql("select status from session_assignments where id = '%s'" % aid) == "cancelled"
    r = accept(stack, tokens["mia"], str(uuid.uuid4()))
    assert r.status == 404 and r.json()["code"] == "PT404", r


def test_accept_refused_to_non_mechanics(stack, crew):
    aid = stack.request("--no-broadcast")[0]["assignment_id"]
    r = stack.http("POST", RPC, {"p_assignment_id": aid})   # anon: no EXECUTE
    assert r.status == 401 and r.json()["code"] == "42501", r
    customer = stack.sign_in("customer@example.com")["access_token"]
    r = accept(stack, customer, aid)
    assert r.status == 403 and r.json()["code"] == "42501", r
    # A request offered to one mechanic is not the others' to take.
    _, tokens = crew
    targeted = stack.request("--no-broadcast", "--for-mechanic", "workshop@example.com")[0]["assignment_id"]
    r = accept(stack, tokens["bob"], targeted)
    assert r.status == 403 and r.json()["code"] == "42501", r
    assert stack.sql("select status from session_assignments where id in ('%s', '%s') order by 1"
                     % (aid, targeted)) == "queued\nqueued"


def test_concurrent_accepts_have_exactly_one_winner(stack, crew):
    """Twenty requests, each accepted by the three mechanics at the same instant."""
    people, tokens = crew
    ids = [r["assignment_id"] for r in stack.request("--no-broadcast", "--count", "20")]
    results = {aid: {} for aid in ids}
    barrier = threading.Barrier(3)

    def worker(who):
        barrier.wait()
        for aid in ids:
            r = accept(stack, tokens[who], aid)
            results[aid][who] = (r.status, r.json())

    threads = [threading.Thread(target=worker, args=(w,)) for w in ("mia", "bob", "cho")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    names = {"mia": "Mia Mechanic", "bob": "Bob Builder", "cho": "Cho Okafor-Silva"}
    for aid, by in results.items():
        winners = [w for w, (status, _) in by.items() if status == 200]
        assert len(winners) == 1, (aid, by)
        for who, (status, body) in by.items():
            if who != winners[0]:
                assert status == 409 and body["details"] == names[winners[0]], (aid, by)
        mech = stack.sql("select m.name from session_assignments a join mechanics m on m.id = a.mechanic_id"
                         " where a.id = '%s' and a.status = 'accepted'" % aid)
        assert mech == names[winners[0]]
