"""Helpers for integration tests: a private D-Bus session with a mock notification daemon, and
`wrenchbell --headless` processes whose alert log the tests read."""
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_ROOT = os.environ.get("WB_SOURCE_ROOT", os.path.dirname(os.path.dirname(HERE)))
BUILD_ROOT = os.environ.get("WB_BUILD_ROOT", os.path.join(SOURCE_ROOT, "_build"))
WRENCHBELL = os.path.join(BUILD_ROOT, "src", "wrenchbell")
STACK_DIR = os.path.join(SOURCE_ROOT, "tests", "stack")
if STACK_DIR not in sys.path:
    sys.path.insert(0, STACK_DIR)


def wait_for(predicate, timeout, what, interval=0.05):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %.1f s waiting for %s" % (timeout, what))
        time.sleep(interval)


# A session bus any user may connect to (the default one admits only its own uid): to prove that
# the app itself refuses callers of another user.
OPEN_BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:tmpdir=/tmp</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""


class Bus:
    """A private session bus with python3-dbusmock's notification daemon on it. One per
    workstation: several apps on one stack each get their own."""

    config = None      # the bus configuration file, when the bus is opened to every user

    def __init__(self, open_to_all_users=False):
        self.config = None
        cmd = ["dbus-daemon", "--session", "--nofork", "--print-address=1"]
        if open_to_all_users:
            self.config = tempfile.NamedTemporaryFile("w", prefix="bus-", suffix=".conf", delete=False)
            self.config.write(OPEN_BUS_CONFIG)
            self.config.close()
            cmd = ["dbus-daemon", "--config-file=" + self.config.name, "--nofork", "--print-address=1"]
        self.daemon = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.address = self.daemon.stdout.readline().strip()
        env = dict(os.environ, DBUS_SESSION_BUS_ADDRESS=self.address)
        self.notifyd_log = tempfile.NamedTemporaryFile(prefix="notifyd-", suffix=".log", delete=False)
        self.notifyd = subprocess.Popen(
            ["/usr/bin/python3", "-m", "dbusmock", "--template", "notification_daemon", "-l",
             self.notifyd_log.name],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(self._notifyd_up, 15, "the mock notification daemon")

    def _notifyd_up(self):
        r = subprocess.run(["dbus-send", "--session", "--print-reply", "--dest=org.freedesktop.DBus",
                            "/org/freedesktop/DBus", "org.freedesktop.DBus.NameHasOwner",
                            "string:org.freedesktop.Notifications"],
                           env=dict(os.environ, DBUS_SESSION_BUS_ADDRESS=self.address),
                           capture_output=True, text=True)
        return "boolean true" in r.stdout

    def notify_calls(self):
        return self.calls("Notify")

    def calls(self, method):
        with open(self.notifyd_log.name, errors="replace") as f:
            return [line for line in f if " %s " % method in line or line.rstrip().endswith(" " + method)]

    def close(self):
        for p in (self.notifyd, self.daemon):
            p.terminate()
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
        os.unlink(self.notifyd_log.name)
        if self.config is not None:
            os.unlink(self.config.name)


KEY_VARIABLES = ("WRENCHBELL_ANON_KEY", "WRENCHBELL_PUBLISHABLE_KEY")


def key_env(stack):
    """The API-key variables a user of @stack would have set: the legacy anon key where the project
    still takes it, else the publishable key — with the refused legacy key beside it, as a shell
    that evaluated `stack up` has both (the publishable one must win)."""
    if getattr(stack, "legacy_keys", "on") == "off":
        return {"WRENCHBELL_PUBLISHABLE_KEY": stack.publishable_key,
                "WRENCHBELL_ANON_KEY": stack.anon_key}
    return {"WRENCHBELL_ANON_KEY": stack.anon_key}


def server_key(stack):
    """What the web backend authenticates with for server-side calls (REST broadcasts): the secret
    key, which every stack accepts, sent as the apikey alone."""
    return getattr(stack, "secret_key", None) or stack.service_key


class App:
    """One `wrenchbell --headless` process with its own state dir and alert log."""

    def __init__(self, stack, bus, state_dir, extra_env=None, email=None, password=None,
                 extra_args=None):
        self.stack = stack
        self.extra_args = list(extra_args or [])
        self.bus = bus
        self.state_dir = state_dir
        os.makedirs(state_dir, exist_ok=True)
        self.log_path = os.path.join(state_dir, "alerts.jsonl")
        self.stdout_path = os.path.join(state_dir, "stdout.txt")
        self.env = {k: v for k, v in os.environ.items() if k not in KEY_VARIABLES}
        self.env.update(key_env(stack))
        self.env.update({
            "WRENCHBELL_URL": stack.url,
            "WRENCHBELL_EMAIL": email or stack.email,
            "WRENCHBELL_PASSWORD": password or stack.password,
            "DBUS_SESSION_BUS_ADDRESS": bus.address,
            "WB_AUDIO_SINK": "fakesink",
            "WB_HEARTBEAT_MS": "1500",
            "G_DEBUG": "fatal-warnings",
            "XDG_STATE_HOME": state_dir,
        })
        if os.environ.get("WB_TEST_DEBUG"):
            self.env["G_MESSAGES_DEBUG"] = os.environ["WB_TEST_DEBUG"]
        self.env.update(extra_env or {})
        self.proc = None
        self.expected_rc = 0    # wrenchbell --headless exits 3 after it was signed out

    def start(self, wait_subscribed=True):
        out = open(self.stdout_path, "ab")
        self.proc = subprocess.Popen(
            [WRENCHBELL, "--headless", "--alert-log=" + self.log_path, "--state-dir=" + self.state_dir]
            + self.extra_args,
            env=self.env, stdout=out, stderr=subprocess.STDOUT)
        out.close()
        if wait_subscribed:
            wait_for(lambda: self.status().get("state") == "subscribed", 20, "the app to subscribe")
        return self

    def status(self):
        if self.proc is not None and self.proc.poll() is not None:
            raise AssertionError("wrenchbell exited with %s:\n%s" % (self.proc.returncode, self.output()))
        env = {k: v for k, v in self.env.items() if k != "G_MESSAGES_DEBUG"}
        r = subprocess.run([WRENCHBELL, "--status"], env=env, capture_output=True, text=True, timeout=10)
        if r.returncode != 0:
            return {}
        return json.loads(r.stdout)

    def accept(self, assignment_id, timeout=90):
        """`wrenchbell --accept ID` against this app's bus: (exit code, the JSON it printed)."""
        env = {k: v for k, v in self.env.items() if k != "G_MESSAGES_DEBUG"}
        r = subprocess.run([WRENCHBELL, "--accept", assignment_id], env=env, capture_output=True,
                           text=True, timeout=timeout)
        try:
            out = json.loads(r.stdout)
        except ValueError:
            raise AssertionError("--accept printed no JSON (%d): %r %r" % (r.returncode, r.stdout, r.stderr))
        return r.returncode, out

    def output(self):
        try:
            with open(self.stdout_path, errors="replace") as f:
                return f.read()[-6000:]
        except OSError:
            return ""

    def records(self, kind=None):
        try:
            with open(self.log_path) as f:
                recs = [json.loads(line) for line in f if line.strip()]
        except FileNotFoundError:
            recs = []
        return [r for r in recs if kind is None or r["kind"] == kind]

    def alerts_for(self, assignment_id, kind="alert"):
        return [r for r in self.records(kind) if r["assignment_id"] == assignment_id]

    def wait_alerts(self, ids, timeout=20, kind="alert"):
        ids = set(ids)
        return wait_for(lambda: ids <= {r["assignment_id"] for r in self.records(kind)} and self.records(kind),
                        timeout, "%s for %d requests (got %d)" % (kind, len(ids), len(self.records(kind))))

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        rc = self.proc.returncode
        self.proc = None
        assert rc in (0, -signal.SIGTERM, self.expected_rc), "wrenchbell exited with %s:\n%s" % (rc, self.output())
