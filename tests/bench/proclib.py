"""Helpers for idle-memory and cold-start (a module, not a benchmark: keep it non-executable):
figures summed over a program's process tree (PSS, CPU time, context switches), an Xvfb of our
own, the window app under it, and headless Chromium showing the dashboard page (dashboard/)."""
import os
import shutil
import subprocess
import tempfile
import time

from benchlib import Bus, TOP, wait_for

TICK = os.sysconf("SC_CLK_TCK")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def _ppid_map():
    m = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open("/proc/%s/stat" % d) as f:
                    m[int(d)] = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                pass
    return m


def process_tree(root, marker=None):
    """root and every descendant; with marker, also any process whose command line contains it
    (Chromium's crashpad handler is reparented away from the browser)."""
    m = _ppid_map()
    pids, todo = {root}, [root]
    while todo:
        p = todo.pop()
        for c, pp in m.items():
            if pp == p and c not in pids:
                pids.add(c)
                todo.append(c)
    if marker:
        for p in m:
            try:
                with open("/proc/%d/cmdline" % p, "rb") as f:
                    if marker.encode() in f.read():
                        pids.add(p)
            except OSError:
                pass
    return sorted(pids)


def _read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def pss_kb(pid):
    for line in _read("/proc/%d/smaps_rollup" % pid).splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    return 0


def rss_kb(pid):
    for line in _read("/proc/%d/status" % pid).splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def cpu_s(pid):
    s = _read("/proc/%d/stat" % pid)
    if not s:
        return 0.0
    fields = s.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def thread_switches(pid):
    """{tid: voluntary + involuntary context switches} for every thread of pid."""
    out = {}
    try:
        tids = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return out
    for tid in tids:
        n = 0
        for line in _read("/proc/%d/task/%s/status" % (pid, tid)).splitlines():
            if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                n += int(line.split()[1])
        out[tid] = n
    return out


def switches(pid):
    return sum(thread_switches(pid).values())


def threads(pid):
    try:
        return len(os.listdir("/proc/%d/task" % pid))
    except OSError:
        return 0


class Program:
    """Something measured as a whole: a name, a root pid and optionally a cmdline marker."""

    def __init__(self, name, pid, marker=None, note=""):
        self.name, self.pid, self.marker, self.note = name, pid, marker, note

    def pids(self):
        return process_tree(self.pid, self.marker)

    def snapshot(self):
        pids = self.pids()
        return {"t": time.monotonic(), "pids": pids,
                "cpu": {p: cpu_s(p) for p in pids}, "sw": {p: thread_switches(p) for p in pids}}

    def figures(self, s0, s1):
        """PSS/RSS now; CPU % (processes present at both ends) and wake-ups/min (threads present
        at the end) between two snapshots."""
        dt = s1["t"] - s0["t"]
        common = set(s0["pids"]) & set(s1["pids"])
        cpu = sum(s1["cpu"][p] - s0["cpu"][p] for p in common)
        # per thread: a thread that ended in the window takes its count with it (so it is not
        # counted); one that started in it counts from 0.
        sw = sum(n - s0["sw"].get(p, {}).get(tid, 0)
                 for p in s1["sw"] for tid, n in s1["sw"][p].items())
        pids = self.pids()
        return {"pss_mb": sum(pss_kb(p) for p in pids) / 1024.0,
                "rss_mb": sum(rss_kb(p) for p in pids) / 1024.0,
                "cpu_pct": 100.0 * cpu / dt, "wakeups_min": 60.0 * sw / dt,
                "procs": len(pids), "threads": sum(threads(p) for p in pids)}


def gl_renderer_in_use(pid):
    """What GL the process has mapped: llvmpipe (Mesa's swrast/llvmpipe) or none."""
    maps = _read("/proc/%d/maps" % pid)
    if "swrast_dri" in maps or "llvmpipe" in maps or "libgallium" in maps:
        return "GL on llvmpipe (Mesa software)"
    if "_dri.so" in maps:
        return "GL (hardware DRI)"
    if "libGLX_mesa" in maps or "libEGL_mesa" in maps:
        return "GL (Mesa)"
    return "no GL driver mapped"


class Xvfb:
    """An X server of our own on a high display number (away from :0 and xvfb-run's :99, which
    other programs on a shared machine may use or assume)."""

    def __init__(self, first=150):
        for n in range(first, first + 100):
            if os.path.exists("/tmp/.X%d-lock" % n) or os.path.exists("/tmp/.X11-unix/X%d" % n):
                continue
            # -displayfd: the server writes its display number once it accepts clients (the
            # socket file appears earlier, and a client that connects then can fail).
            rfd, wfd = os.pipe()
            self.proc = subprocess.Popen(["Xvfb", ":%d" % n, "-screen", "0", "1280x800x24", "-nolisten", "tcp",
                                          "-displayfd", str(wfd)], pass_fds=(wfd,),
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            os.close(wfd)
            with os.fdopen(rfd) as r:
                ready = r.readline().strip()
            if ready == str(n) and self.proc.poll() is None:
                self.display = ":%d" % n
                return
            if self.proc.poll() is None:
                self.proc.kill()
            self.proc.wait()
        raise RuntimeError("could not start Xvfb")

    def close(self):
        self.proc.terminate()
        self.proc.wait()


def xdg_env(tmp):
    env = {"HOME": os.path.join(tmp, "home"), "XDG_CONFIG_HOME": os.path.join(tmp, "config"),
           "XDG_CACHE_HOME": os.path.join(tmp, "cache"), "XDG_DATA_HOME": os.path.join(tmp, "data"),
           "XDG_STATE_HOME": os.path.join(tmp, "state"), "XDG_RUNTIME_DIR": os.path.join(tmp, "run")}
    for d in env.values():
        os.makedirs(d, exist_ok=True)
    os.chmod(env["XDG_RUNTIME_DIR"], 0o700)
    return env


class WindowApp:
    """`wrenchbell` with its window, under an X server, on a private bus of its own (its bus name
    is the application id, so it can't share a bus with another instance), throw-away HOME/XDG."""

    def __init__(self, stack, display, tmp, renderer=None, extra_env=None):
        self.tmp = tmp
        os.makedirs(tmp, exist_ok=True)
        self.bus = Bus()
        build = os.environ["WB_BUILD_ROOT"]
        self.binary = os.path.join(build, "src", "wrenchbell")
        self.env = dict(os.environ)
        for k in ("G_MESSAGES_DEBUG", "GSK_RENDERER", "WAYLAND_DISPLAY"):
            self.env.pop(k, None)
        self.env.update(xdg_env(tmp))
        self.env.update({
            "DISPLAY": display,
            "WRENCHBELL_URL": stack.url, "WRENCHBELL_ANON_KEY": stack.anon_key,
            "WRENCHBELL_EMAIL": stack.email, "WRENCHBELL_PASSWORD": stack.password,
            "DBUS_SESSION_BUS_ADDRESS": self.bus.address,
            "GSETTINGS_SCHEMA_DIR": os.path.join(build, "data"),
            "WB_DATADIR": os.path.join(TOP, "data"),
            "WB_AUDIO_SINK": "fakesink",
            "WB_HEARTBEAT_MS": "25000",
        })
        if renderer:
            self.env["GSK_RENDERER"] = renderer
        self.env.update(extra_env or {})
        self.proc = None
        self.log = os.path.join(tmp, "app.log")

    def start(self, argv=None):
        """argv: another command line (the cold-start floor) instead of the app's own."""
        self.t_launch = time.monotonic()
        self.proc = subprocess.Popen(argv or [self.binary, "--state-dir", os.path.join(self.tmp, "wbstate")],
                                     env=self.env, stdout=open(self.log, "w"), stderr=subprocess.STDOUT)
        return self

    def status(self):
        import json
        if self.proc.poll() is not None:
            raise AssertionError("wrenchbell (window) exited with %s:\n%s" % (self.proc.returncode, self.output()))
        r = subprocess.run([self.binary, "--status"], env=self.env, capture_output=True, text=True, timeout=10)
        try:
            return json.loads(r.stdout) if r.returncode == 0 else {}
        except ValueError:
            return {}

    def status_fast(self):
        """GetStatus straight over the app's bus from this process (no `wrenchbell --status`
        process per poll, which costs ~100 ms here); {} while the name isn't owned yet."""
        import json
        from gi.repository import Gio, GLib
        if self.proc.poll() is not None:
            raise AssertionError("wrenchbell (window) exited with %s:\n%s" % (self.proc.returncode, self.output()))
        if getattr(self, "_conn", None) is None:
            self._conn = Gio.DBusConnection.new_for_address_sync(
                self.bus.address, Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT
                | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION, None, None)
        try:
            v = self._conn.call_sync("io.github.wrenchbell.Wrenchbell", "/io/github/wrenchbell/Wrenchbell/Status",
                                     "io.github.wrenchbell.Wrenchbell.Status", "GetStatus", None,
                                     GLib.VariantType.new("(s)"), Gio.DBusCallFlags.NO_AUTO_START, 2000, None)
            return json.loads(v.unpack()[0])
        except GLib.Error:
            return {}

    def wait_subscribed(self, timeout=30, interval=0.02):
        wait_for(lambda: self.status().get("state") == "subscribed", timeout, "the window app to subscribe",
                 interval=interval)
        return time.monotonic()

    def window_shown(self, title="Wrenchbell"):
        r = subprocess.run(["xwininfo", "-display", self.env["DISPLAY"], "-name", title],
                           capture_output=True, text=True)
        return r.returncode == 0 and "IsViewable" in r.stdout

    def output(self):
        return _read(self.log)[-4000:]

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if getattr(self, "_conn", None) is not None:
            self._conn.close_sync(None)
            self._conn = None
        self.bus.close()


class Chromium:
    """Headless Chromium showing the dashboard page. --disable-web-security: the stand-in sends no
    CORS headers and the page is served from another port; it changes nothing we measure."""

    FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--disable-web-security"]

    def __init__(self, url, tmp):
        self.profile = tempfile.mkdtemp(prefix="wbchromium.", dir=tmp)
        self.log = os.path.join(tmp, "chromium.log")
        env = dict(os.environ)
        env.update(xdg_env(os.path.join(tmp, "chromium-home")))
        env.pop("DISPLAY", None)
        self.proc = subprocess.Popen([CHROMIUM, *self.FLAGS, "--user-data-dir=" + self.profile, url],
                                     env=env, stdout=open(self.log, "w"), stderr=subprocess.STDOUT)

    def program(self):
        return Program("headless Chromium + supabase-js page", self.proc.pid, marker=self.profile)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def build_floor(tmp):
    """Compiles tests/bench/floor/floor-window.c (a bare libadwaita window) into @tmp."""
    out = os.path.join(tmp, "floor-window")
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", "libadwaita-1"], check=True,
                           capture_output=True, text=True).stdout.split()
    subprocess.run(["cc", "-O2", "-o", out, os.path.join(os.path.dirname(os.path.abspath(__file__)), "floor", "floor-window.c")] + flags, check=True)
    return out
