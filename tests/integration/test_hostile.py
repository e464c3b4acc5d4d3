"""`wrenchbell --headless` against a deliberately hostile server (tests/hostile/hostile_server.py,
on 127.0.0.1): one run per attack, and one with all of them at once. Whatever the server sends,
the app stays up, `wrenchbell --status` answers, its memory stays bounded (the peak resident size,
VmHWM, is printed per attack and must stay under 200 MB), nothing raw reaches its stdout (no ESC,
BEL, C1 control or bidirectional control) and the alert log stays JSON lines."""
import json
import os
import subprocess
import time
from types import SimpleNamespace

import pytest

from wbapp import App, SOURCE_ROOT, wait_for

HOSTILE = os.path.join(SOURCE_ROOT, "tests", "hostile", "hostile_server.py")
PEAK_LIMIT_MB = 200
# What must never reach a terminal raw.
FORBIDDEN = {"ESC": b"\x1b", "BEL": b"\x07", "CSI (C1)": "\u009b".encode(),
             "RLO": "\u202e".encode(), "LRI": "\u2066".encode(), "RLI": "\u2067".encode(),
             "FSI": "\u2068".encode(), "PDI": "\u2069".encode(), "PDF": "\u202c".encode()}


class Server:
    def __init__(self, directory, attack):
        self.ready = os.path.join(directory, "port")
        self.log_path = os.path.join(directory, "hostile.log")
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(["/usr/bin/python3", HOSTILE, "--attack", attack,
                                      "--ready-file", self.ready],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        wait_for(lambda: os.path.exists(self.ready), 20, "the hostile server")
        self.url = "http://127.0.0.1:%s" % open(self.ready).read().strip()

    def events(self, name=None):
        out = []
        with open(self.log_path) as f:
            for line in f:
                try:
                    e = json.loads(line)
                except ValueError:
                    continue
                if name is None or e.get("event") == name:
                    out.append(e)
        return out

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def vm_hwm_mb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    raise AssertionError("no VmHWM for %d" % pid)


# attack → the server event that shows it was carried out
ATTACKS = {
    "deep-frame": "deep-frame",
    "big-message": "big-message",
    "endless-rest": "endless-stopped",
    "deep-rest": "deep-rest",
    "hostile-text": "hostile-broadcast",
    "all": "big-message",
}


@pytest.mark.parametrize("attack", list(ATTACKS))
def test_hostile_server(bus, tmp_path, attack):
    server = Server(str(tmp_path), attack)
    stack = SimpleNamespace(url=server.url, anon_key="anon", email="anyone@example.com",
                            password="anything-goes")
    app = App(stack, bus, str(tmp_path / "app"), extra_env={"WB_DETAIL_BUDGET_MS": "500"})
    try:
        app.start(wait_subscribed=False)
        wait_for(lambda: server.events("joined"), 20, "the app to join the hostile channel")
        # The attack happens, the app keeps answering all along.
        wait_for(lambda: app.status() and server.events(ATTACKS[attack]), 60,
                 "the %s attack" % attack, interval=0.2)
        deadline = time.monotonic() + 4
        while time.monotonic() < deadline:
            assert app.status(), "--status did not answer"
            time.sleep(0.2)

        st = app.status()
        assert st, "--status did not answer"
        peak = vm_hwm_mb(app.proc.pid)
        print("\nhostile %-13s peak VmHWM %6.1f MB (state %s, catchup_failures %s, fetch_failures %s, "
              "reconnects %s)" % (attack, peak, st.get("state"), st.get("catchup_failures"),
                                  st.get("fetch_failures"), st.get("reconnects")))
        assert peak < PEAK_LIMIT_MB, "%s: peak %.1f MB" % (attack, peak)

        if attack in ("big-message", "all"):
            big = server.events("big-message")[0]
            assert big["closed_by_client"] and big["fragments_sent"] < 100, big
        if attack in ("endless-rest", "all"):
            # The client stopped reading at its cap (32 MB catch-up, 1 MB details).
            for e in server.events("endless-stopped"):
                assert e["sent"] < 64 * 1024 * 1024, e
        if attack in ("endless-rest", "deep-rest"):
            wait_for(lambda: app.status().get("catchup_failures", 0) >= 1, 20, "a failed catch-up")
        if attack == "hostile-text":
            wait_for(lambda: app.records("alert"), 20, "the hostile alert")

        with open(app.stdout_path, "rb") as f:
            out = f.read()
        raw = [name for name, seq in FORBIDDEN.items() if seq in out]
        assert not raw, "raw %s reached stdout:\n%r" % (", ".join(raw), out[-2000:])
        for line in open(app.log_path, "rb").read().splitlines():
            if line.strip():
                json.loads(line)                      # every record is one JSON line
    finally:
        app.stop()
        server.stop()
