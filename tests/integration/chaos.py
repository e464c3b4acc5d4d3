#!/usr/bin/python3
"""Chaos soak: N customer requests while a driver injects faults, then exactly-once accounting
against the database.

    tests/integration/chaos.py [--build DIR] [--requests N] [--duration S] [--seed SEED]

Importable: `run_soak(stack, bus, workdir, seed=…, requests=…, duration=…)` returns a Report.

What the driver does, all chosen by one `random.Random(seed)` (the seed is printed; `--seed`
replays the same choices — timing still differs run to run, so a replay is the same *plan*, not
the same interleaving):

- requests (`stack request`): normal, --no-broadcast, --legacy, --urgent; once an episode has
  rung, a mechanic may decline it and the backend re-queue it (a new episode) or accept it (the
  app withdraws the alert);
- faults, one window at a time: `stack restart` (stand-in SIGKILLed), `fault drop`,
  `fault freeze` (cleared after a few seconds; detection time measured), `fault rest-503 0.2`,
  `fault rest-timeout 0.2`, `fault expire-tokens 3`, suspend/resume (logind mock on a private
  "system" bus, WB_SYSTEM_BUS_ADDRESS), app restart (SIGTERM, same --state-dir), once an app
  SIGKILL (the persisted dedupe set must survive a crash), and forged `new_assignment` broadcasts
  with invented ids sent with the public API key (none may ring).

All three realtime sources are on: the public broadcast, postgres_changes, and Broadcast from
Database on the private channel (the stack's schema installs the trigger).

Not simulated: GNetworkMonitor network-change signals (the netlink monitor watches the root
namespace's routes, which other tests on this machine share; tests/integration/test_partition.py
exercises a real link going away instead).

Accounting: an episode is each time an assignment entered 'queued' (each insert = 1, each re-queue
+1), counted from what the driver did and cross-checked with `session_assignments`. The alert log
is appended by every app process that ran with the same --state-dir; the union of its lines is
what counts. An episode with no `alert` line is MISSED, one with two or more is DUPLICATED.
"""
import argparse
import collections
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

KINDS = [("normal", [], 45), ("no-broadcast", ["--no-broadcast"], 20),
         ("legacy", ["--legacy"], 15), ("urgent", ["--urgent"], 20)]
FAULTS = [("restart", 12), ("drop", 12), ("freeze", 14), ("rest-503", 12), ("rest-timeout", 10),
          ("expire-tokens", 10), ("suspend", 12), ("app-restart", 10), ("forged", 12)]
FORGED_CUSTOMER = "Mallory Forged"


def parse_ts(text):
    import datetime
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def weighted(rng, items):
    total = sum(w for *_, w in items)
    x = rng.uniform(0, total)
    for item in items:
        x -= item[-1]
        if x <= 0:
            return item
    return items[-1]


class Logind:
    """A private bus standing in for the system bus, with python3-dbusmock's logind on it."""

    def __init__(self):
        self.daemon = subprocess.Popen(["dbus-daemon", "--session", "--nofork", "--print-address=1"],
                                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.address = self.daemon.stdout.readline().strip()
        env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=self.address)
        self.mock = subprocess.Popen(["/usr/bin/python3", "-m", "dbusmock", "--template", "logind"],
                                     env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 15
        while not self._up():
            if time.monotonic() > deadline:
                self.close()
                raise AssertionError("the logind mock did not come up")
            time.sleep(0.1)

    def _up(self):
        r = subprocess.run(["dbus-send", "--bus=" + self.address, "--print-reply", "--dest=org.freedesktop.DBus",
                            "/org/freedesktop/DBus", "org.freedesktop.DBus.NameHasOwner",
                            "string:org.freedesktop.login1"], capture_output=True, text=True)
        return "boolean true" in r.stdout

    def prepare_for_sleep(self, start):
        # Emitted by the mock itself, so the sender is org.freedesktop.login1's owner.
        subprocess.run(["gdbus", "call", "--address", self.address, "--dest", "org.freedesktop.login1",
                        "--object-path", "/org/freedesktop/login1",
                        "--method", "org.freedesktop.DBus.Mock.EmitSignal",
                        "org.freedesktop.login1.Manager", "PrepareForSleep", "b",
                        "[<%s>]" % ("true" if start else "false")],
                       check=True, capture_output=True, timeout=10)

    def close(self):
        for p in (self.mock, self.daemon):
            p.terminate()
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


class Report:
    def __init__(self):
        self.seed = None
        self.requests = 0
        self.by_kind = collections.Counter()
        self.requeues = 0
        self.accepts = 0
        self.episodes = 0
        self.alerts = 0
        self.missed = []
        self.duplicated = []
        self.fallbacks = 0
        self.fallbacks_updated = 0
        self.fallbacks_unresolved = []
        self.fallbacks_orphaned = []
        self.fallbacks_ended = []
        self.withdraws_missing = []
        self.db_mismatch = []
        self.forged_sent = 0
        self.forged_alerts = []
        self.faults = collections.Counter()
        self.freeze_detect_ms = []
        self.freeze_undetected = 0
        self.app_processes = 0
        self.wall_s = 0.0
        self.notes = []

    @property
    def ok(self):
        return not (self.missed or self.duplicated or self.db_mismatch or self.fallbacks_unresolved
                    or self.forged_alerts)

    def rows(self):
        worst = "%.0f" % max(self.freeze_detect_ms) if self.freeze_detect_ms else "n/a"
        rows = [
            ("seed", self.seed),
            ("requests", "%d (%s)" % (self.requests, ", ".join("%s %d" % kv for kv in sorted(self.by_kind.items())))),
            ("re-queues / accepts", "%d / %d" % (self.requeues, self.accepts)),
            ("episodes (driver = database)", self.episodes),
            ("alerts (union of the log)", self.alerts),
            ("missed", len(self.missed)),
            ("duplicated", len(self.duplicated)),
            ("fallback alerts / later updated to full", "%d / %d" % (self.fallbacks, self.fallbacks_updated)),
            ("fallbacks never updated", len(self.fallbacks_unresolved)),
            ("fallbacks not updated: app restarted first (info)", len(self.fallbacks_orphaned)),
            ("fallbacks not updated: episode ended first (info)", len(self.fallbacks_ended)),
            ("accepted without a withdraw line (info)", len(self.withdraws_missing)),
            ("database mismatches", len(self.db_mismatch)),
            ("forged broadcasts sent / rung", "%d / %d" % (self.forged_sent, len(self.forged_alerts))),
            ("faults injected", ", ".join("%s %d" % kv for kv in sorted(self.faults.items())) or "none"),
            ("frozen-socket detections", "%d (%d not seen leaving subscribed)" % (len(self.freeze_detect_ms),
                                                                                  self.freeze_undetected)),
            ("worst frozen-socket detection ms", worst),
            ("app processes (same state dir)", self.app_processes),
            ("wall time s", "%.1f" % self.wall_s),
        ]
        return rows

    def print(self, out=sys.stdout):
        rows = self.rows()
        w = max(len(k) for k, _ in rows)
        print("\nchaos soak accounting", file=out)
        print("-" * (w + 30), file=out)
        for k, v in rows:
            print("%-*s  %s" % (w, k, v), file=out)
        for label, items in (("MISSED", self.missed), ("DUPLICATED", self.duplicated),
                             ("FALLBACK NEVER UPDATED", self.fallbacks_unresolved),
                             ("FALLBACK ORPHANED BY APP RESTART", self.fallbacks_orphaned),
                             ("DB MISMATCH", self.db_mismatch), ("FORGED ALERT", self.forged_alerts)):
            for item in items[:20]:
                print("%s: %s" % (label, item), file=out)
        for n in self.notes:
            print("note: %s" % n, file=out)
        out.flush()


class Soak:
    def __init__(self, stack, bus, workdir, seed, requests, duration, heartbeat_ms=1000, log=None):
        from wbapp import App
        self.stack = stack
        self.bus = bus
        self.workdir = workdir
        self.seed = seed
        self.rng = random.Random(seed)
        self.n = requests
        self.duration = duration
        self.log = log or (lambda msg: print("[chaos %6.1f] %s" % (time.monotonic() - self.t0, msg), flush=True))
        self.t0 = time.monotonic()
        self.logind = Logind()
        self.app = App(stack, bus, os.path.join(workdir, "app"), extra_env={
            "WB_HEARTBEAT_MS": str(heartbeat_ms),
            "WB_SYSTEM_BUS_ADDRESS": self.logind.address,
            "WB_DETAIL_BUDGET_MS": "4000",
            "WB_SAFETY_POLL_S": "15",
            "G_MESSAGES_DEBUG": "all",
        })
        self.lock = threading.RLock()   # app lifecycle + fault state
        self.episodes = {}              # assignment id → episodes the driver made
        self.status = {}                # assignment id → what the driver last set
        self.forged = set()             # ids of forged public broadcasts (must never ring)
        self.report = Report()
        self.report.seed = seed
        self.done_requests = threading.Event()
        self.stop_all = threading.Event()
        self.errors = []
        self.app_starts = []
        self.history = collections.defaultdict(list)   # assignment id → driver actions (t, what)
        self.fault_log = []                              # (t start, t end, kind)

    # ------------------------------------------------------------------ app lifecycle
    def start_app(self):
        self.app_starts.append(time.time())
        self.app.start(wait_subscribed=False)
        self.report.app_processes += 1

    def app_state(self):
        try:
            return self.app.status().get("state")
        except (AssertionError, subprocess.TimeoutExpired, ValueError):
            return None

    def restart_app(self, hard):
        with self.lock:
            p = self.app.proc
            if hard:
                p.kill()
                p.wait()
                self.app.proc = None
            else:
                self.app.stop()
            self.start_app()

    def alert_count(self, aid):
        return len(self.app.alerts_for(aid))

    # ------------------------------------------------------------------ threads
    def requester(self):
        spacing = self.duration / max(self.n, 1)
        made = 0
        try:
            while made < self.n and not self.stop_all.is_set():
                name, args, _ = weighted(self.rng, KINDS)
                count = min(self.n - made, self.rng.choice([1, 1, 1, 2, 3, 5]))
                t = time.monotonic()
                reqs = self.stack.request("--count", str(count), "--rate", "20", *args)
                with self.lock:
                    for r in reqs:
                        self.episodes[r["assignment_id"]] = 1
                        self.status[r["assignment_id"]] = "queued"
                made += len(reqs)
                self.report.by_kind[name] += len(reqs)
                if made % 50 < len(reqs):
                    self.log("%d/%d requests" % (made, self.n))
                time.sleep(max(0.0, spacing * count - (time.monotonic() - t)) * self.rng.uniform(0.5, 1.5))
        except Exception as e:  # noqa: BLE001
            self.errors.append("requester: %r" % e)
        finally:
            self.report.requests = made
            self.done_requests.set()

    def mechanic(self):
        """Decline + re-queue or accept episodes that have rung (what a mechanic would see)."""
        try:
            while not self.done_requests.is_set() and not self.stop_all.is_set():
                time.sleep(self.rng.uniform(0.3, 1.2))
                with self.lock:
                    candidates = sorted(a for a, s in self.status.items() if s == "queued")
                if not candidates:
                    continue
                aid = self.rng.choice(candidates)
                action = self.rng.random()
                if action > 0.5:
                    continue
                if self.alert_count(aid) < self.episodes[aid]:
                    continue  # not rung yet: a mechanic cannot act on it
                if action < 0.3:
                    self.log("decline + re-queue %s" % aid)
                    self.stack.run("set-status", aid, "declined")
                    self.history[aid].append((self.now(), "declined"))
                    time.sleep(self.rng.uniform(0.1, 2.5))
                    self.stack.run("set-status", aid, "queued")
                    self.history[aid].append((self.now(), "re-queued"))
                    with self.lock:
                        self.episodes[aid] += 1
                    self.report.requeues += 1
                else:
                    self.stack.run("set-status", aid, "accepted")
                    with self.lock:
                        self.status[aid] = "accepted"
                    self.report.accepts += 1
        except Exception as e:  # noqa: BLE001
            self.errors.append("mechanic: %r" % e)

    def measure_freeze(self, t_freeze):
        """Poll --status until the app leaves 'subscribed' (bounded)."""
        deadline = t_freeze + 15
        while time.monotonic() < deadline:
            st = self.app_state()
            if st is not None and st != "subscribed":
                ms = (time.monotonic() - t_freeze) * 1000
                self.report.freeze_detect_ms.append(ms)
                self.log("frozen socket noticed after %.0f ms (state %s)" % (ms, st))
                return
            time.sleep(0.05)
        self.report.freeze_undetected += 1

    def faulter(self):
        """First every kind once (shuffled, the app SIGKILL exactly once), then weighted at random."""
        plan = [k for k, _ in FAULTS] + ["app-kill"]
        self.rng.shuffle(plan)
        try:
            while not self.done_requests.is_set() and not self.stop_all.is_set():
                time.sleep(self.rng.uniform(1.5, 4.0))
                if self.done_requests.is_set():
                    break
                self.inject(plan.pop(0) if plan else weighted(self.rng, FAULTS)[0])
            if "app-kill" in plan and not self.stop_all.is_set():
                self.inject("app-kill")
        except Exception as e:  # noqa: BLE001
            self.errors.append("faulter: %r" % e)

    def now(self):
        return time.monotonic() - self.t0

    def inject(self, kind):
        t = self.now()
        try:
            self._inject(kind)
        finally:
            self.fault_log.append((t, self.now(), kind))

    def _inject(self, kind):
        self.report.faults[kind] += 1
        self.log("fault: %s" % kind)
        rng = self.rng
        if kind == "restart":
            self.stack.run("restart")
        elif kind == "drop":
            self.stack.fault("drop")
        elif kind == "freeze":
            subscribed = self.app_state() == "subscribed"
            t = time.monotonic()
            self.stack.fault("freeze")
            hold = rng.uniform(2.5, 5.0)
            if subscribed:
                self.measure_freeze(t)
            time.sleep(max(0.0, t + hold - time.monotonic()))
            self.stack.fault("clear")
        elif kind in ("rest-503", "rest-timeout"):
            self.stack.fault(kind, "0.2")
            time.sleep(rng.uniform(4.0, 8.0))
            self.stack.fault("clear")
        elif kind == "expire-tokens":
            self.stack.fault("expire-tokens", "3")
            time.sleep(rng.uniform(6.0, 10.0))
            self.stack.fault("clear")
        elif kind == "suspend":
            self.logind.prepare_for_sleep(True)
            time.sleep(rng.uniform(1.0, 4.0))
            self.logind.prepare_for_sleep(False)
        elif kind == "forged":
            # Anyone holding the public API key: new_assignment broadcasts with invented ids.
            for _ in range(rng.randint(5, 30)):
                aid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
                self.forged.add(aid)
                r = self.stack.http("POST", "/realtime/v1/api/broadcast", {"messages": [{
                    "topic": "session_requests_feed", "event": "new_assignment",
                    "payload": {"assignmentId": aid, "sessionId": str(uuid.uuid4()),
                                "customerName": FORGED_CUSTOMER, "vehicleSummary": "Prank",
                                "concern": "Ring every workstation"}}]},
                    token=self.stack.client_key if self.stack.client_key.startswith("ey") else None)
                if r.status == 202:
                    self.report.forged_sent += 1
        elif kind == "app-restart":
            self.restart_app(hard=False)
        elif kind == "app-kill":
            self.restart_app(hard=True)
        else:
            raise ValueError(kind)

    # ------------------------------------------------------------------ run + check
    def run(self, settle_timeout=90):
        t_start = time.monotonic()
        self.log("seed %s: %d requests over ~%.0f s" % (self.seed, self.n, self.duration))
        self.baseline = set(self.db_assignments().keys())
        self.start_app()
        from wbapp import wait_for
        wait_for(lambda: self.app_state() == "subscribed", 30, "the app to subscribe")
        threads = [threading.Thread(target=f, name=f.__name__, daemon=True)
                   for f in (self.requester, self.mechanic, self.faulter)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(self.duration * 4 + 300)
            if t.is_alive():
                self.stop_all.set()
                self.errors.append("thread %s did not finish" % t.name)
        self.stack.fault("clear")
        if self.app.proc is None or self.app.proc.poll() is not None:
            self.errors.append("the app was not running at the end: %s" % self.app.output()[-2000:])
            self.start_app()
        self.log("requests done; waiting for every episode to ring")
        deadline = time.monotonic() + settle_timeout
        while time.monotonic() < deadline:
            if all(self.alert_count(a) >= e for a, e in self.episodes.items()):
                break
            time.sleep(0.5)
        # A fallback alert near the end waits for its details behind the detail fetcher's retry
        # backoff (longer on a loaded machine): give the updates the same settle bound.
        while time.monotonic() < deadline and self.fallbacks_pending():
            time.sleep(0.5)
        time.sleep(3.0)  # late duplicates, withdraws and updates
        self.report.wall_s = time.monotonic() - t_start
        self.check()
        if self.errors:
            self.report.notes.extend(self.errors)
        return self.report

    def fallbacks_pending(self):
        """Fallback alerts of this process with neither a full update nor a withdraw yet."""
        recs = self.app.records()
        done = {(r["assignment_id"], r["episode"]) for r in recs
                if (r["kind"] == "update" and r["details"] == "full") or r["kind"] == "withdraw"}
        return [r for r in recs if r["kind"] == "alert" and r["details"] != "full"
                and (r["assignment_id"], r["episode"]) not in done
                and not any(t > parse_ts(r["alerted_at"]) for t in self.app_starts)]

    def db_assignments(self):
        out = self.stack.sql("select id, status from public.session_assignments")
        return dict(line.split("|", 1) for line in out.splitlines() if "|" in line)

    def check(self):
        rep = self.report
        db = self.db_assignments()
        for aid, want in self.status.items():
            if db.get(aid) != want:
                rep.db_mismatch.append("%s: driver %s, database %s" % (aid, want, db.get(aid)))
        new_in_db = set(db) - self.baseline
        if new_in_db != set(self.episodes):
            rep.db_mismatch.append("database has %d new assignments, driver made %d"
                                   % (len(new_in_db), len(self.episodes)))
        recs = self.app.records()
        by_aid = collections.defaultdict(list)
        for r in recs:
            by_aid[r["assignment_id"]].append(r)
        rep.episodes = sum(self.episodes.values())
        for aid, want in sorted(self.episodes.items()):
            rs = by_aid.get(aid, [])
            alerts = [r for r in rs if r["kind"] == "alert"]
            rep.alerts += len(alerts)
            per_ep = collections.Counter(r["episode"] for r in alerts)
            if len(alerts) < want:
                rep.missed.append("%s: %d episode(s), %d alert(s) (episodes %s) [%s]; driver: %s; faults then: %s"
                                  % (aid, want, len(alerts), sorted(per_ep), self.kind_of(aid),
                                     ", ".join("%.1fs %s" % h for h in self.history[aid]),
                                     self.faults_near(self.history[aid])))
            elif len(alerts) > want or any(c > 1 for c in per_ep.values()):
                rep.duplicated.append("%s: %d episode(s), %d alert(s): %s"
                                      % (aid, want, len(alerts),
                                         [(r["episode"], r["source"], r["alerted_at"]) for r in alerts]))
            for a in alerts:
                if a["details"] != "full":
                    rep.fallbacks += 1
                    if any(r["kind"] == "update" and r["episode"] == a["episode"] and r["details"] == "full"
                           for r in rs):
                        rep.fallbacks_updated += 1
                    elif any(r["kind"] == "withdraw" and r["episode"] == a["episode"] for r in rs):
                        # Taken or declined before the details could be had: nothing left to update.
                        rep.fallbacks_ended.append("%s episode %s (%s)" % (aid, a["episode"], a["source"]))
                    elif any(t > parse_ts(a["alerted_at"]) for t in self.app_starts):
                        # The process that rang it was restarted before the details came; the next
                        # one knows the episode has rung (dedupe set) and fetches nothing for it.
                        rep.fallbacks_orphaned.append("%s episode %s (%s)" % (aid, a["episode"], a["source"]))
                    else:
                        rep.fallbacks_unresolved.append("%s episode %s (%s)" % (aid, a["episode"], a["source"]))
            if self.status[aid] == "accepted" and not any(r["kind"] == "withdraw" for r in rs):
                rep.withdraws_missing.append(aid)
        rep.forged_alerts = ["%s (%s)" % (r["assignment_id"], r["source"]) for r in recs
                             if r["assignment_id"] in self.forged or r.get("customer") == FORGED_CUSTOMER]
        foreign = [r for r in recs if r["kind"] == "alert" and r["assignment_id"] not in self.episodes
                   and r["assignment_id"] not in self.baseline]
        if foreign:
            rep.notes.append("%d alert(s) for assignments the driver did not make: %s"
                             % (len(foreign), [r["assignment_id"] for r in foreign][:5]))

    def faults_near(self, history):
        if not history:
            return "-"
        lo, hi = history[0][0] - 3, history[-1][0] + 1
        return ", ".join("%s %.1f-%.1fs" % (k, a, b) for a, b, k in self.fault_log if b >= lo and a <= hi) or "none"

    def kind_of(self, aid):
        return "status %s" % self.status.get(aid)

    def close(self):
        self.stop_all.set()
        try:
            if self.app.proc is not None:
                self.app.stop()
        except AssertionError as e:
            print("warning:", e, file=sys.stderr)
        finally:
            self.logind.close()


def run_soak(stack, bus, workdir, seed=None, requests=80, duration=60.0, heartbeat_ms=1000):
    if seed is None:
        seed = random.SystemRandom().randrange(1, 2 ** 31)
    print("chaos soak seed: %d  (replay with --seed %d)" % (seed, seed), flush=True)
    soak = Soak(stack, bus, workdir, seed, requests, duration, heartbeat_ms)
    try:
        rep = soak.run()
    finally:
        soak.close()
    rep.print()
    if not rep.ok:
        print("app output tail:\n" + soak.app.output()[-3000:], flush=True)
    return rep


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=None, help="build dir (default $WB_BUILD_ROOT or _build)")
    ap.add_argument("--requests", type=int, default=1000)
    ap.add_argument("--duration", type=float, default=None, help="seconds to spread the requests over")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--keep", action="store_true", help="keep the work dir (alert log, app output)")
    a = ap.parse_args(argv)
    if a.build:
        os.environ["WB_BUILD_ROOT"] = os.path.abspath(a.build)
    import importlib.util
    import wbapp
    if a.build:
        wbapp.BUILD_ROOT = os.environ["WB_BUILD_ROOT"]
        wbapp.WRENCHBELL = os.path.join(wbapp.BUILD_ROOT, "src", "wrenchbell")
    spec = importlib.util.spec_from_file_location(
        "stack_conftest", os.path.join(os.path.dirname(HERE), "stack", "conftest.py"))
    sc = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(sc)
    tmp = tempfile.mkdtemp(prefix="wbchaos.")
    stack = sc.stack_up(os.path.join(tmp, "stack"))
    bus = wbapp.Bus()
    duration = a.duration if a.duration is not None else max(30.0, a.requests * 0.6)
    try:
        rep = run_soak(stack, bus, os.path.join(tmp, "work"), seed=a.seed, requests=a.requests,
                       duration=duration)
    finally:
        bus.close()
        sc.stack_down(os.path.join(tmp, "stack"))
        if a.keep:
            print("work dir kept: %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0 if rep.ok else 1


if __name__ == "__main__":
    sys.exit(main())
