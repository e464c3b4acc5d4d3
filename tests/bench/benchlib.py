"""Shared pieces of the benchmarks: a stack, a private bus, `wrenchbell --headless`, supabase-js,
percentiles and table printing. Benchmarks print figures; they never assert wall-clock times."""
import datetime
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(TOP, "tests", "integration"))
os.environ.setdefault("WB_SOURCE_ROOT", TOP)
if len(sys.argv) > 1 and os.path.isdir(sys.argv[1]):
    os.environ["WB_BUILD_ROOT"] = os.path.abspath(sys.argv[1])
    del sys.argv[1]
os.environ.setdefault("WB_BUILD_ROOT", os.path.join(TOP, "_build"))

import wbapp  # noqa: E402
from wbapp import App, Bus, wait_for  # noqa: E402,F401

_spec = importlib.util.spec_from_file_location("stack_conftest", os.path.join(TOP, "tests", "stack", "conftest.py"))
_stack = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_stack)


class Env:
    """A stack + bus for one benchmark run, torn down on exit. @up_args go to `stack up`
    (e.g. "--legacy-keys", "off": a project of 2026, every client on the publishable key)."""

    def __init__(self, *up_args):
        self.up_args = up_args

    def __enter__(self):
        self.tmp = tempfile.mkdtemp(prefix="wbbench.")
        self.stack = _stack.stack_up(os.path.join(self.tmp, "stack"), *self.up_args)
        self.bus = Bus()
        self.apps = []
        self.procs = []
        return self

    def app(self, name="app", **kw):
        a = App(self.stack, self.bus, os.path.join(self.tmp, name), **kw)
        self.apps.append(a)
        return a

    def sbjs(self, vsn=None):
        """supabase-js subscribed with the key the app gets (wbapp.key_env); @vsn: its Realtime
        protocol (None: supabase-js's default, 2.0.0)."""
        env = dict(os.environ)
        if vsn:
            env["SBJS_REALTIME_VSN"] = vsn
        p = subprocess.Popen(["node", os.path.join(HERE, "sbjs-subscriber.mjs"), self.stack.url,
                              self.stack.client_key, self.stack.email, self.stack.password],
                             stdout=subprocess.PIPE, text=True, env=env)
        self.procs.append(p)
        line = p.stdout.readline()
        ready = json.loads(line)
        assert ready.get("ready") and ready.get("vsn") == (vsn or "2.0.0"), line
        return p

    def __exit__(self, *exc):
        for a in self.apps:
            try:
                a.stop()
            except AssertionError as e:
                print("warning:", e, file=sys.stderr)
        for p in self.procs:
            p.terminate()
            p.wait()
        self.bus.close()
        _stack.stack_down(os.path.join(self.tmp, "stack"))
        subprocess.run(["rm", "-rf", self.tmp])


def parse_ts(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def percentile(values, p):
    if not values:
        return float("nan")
    v = sorted(values)
    k = (len(v) - 1) * p / 100.0
    lo, hi = int(k), min(int(k) + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


def table(title, header, rows):
    print("\n" + title)
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    fmt = "  ".join("{:<%d}" % w for w in widths)
    print(fmt.format(*header))
    print(fmt.format(*["-" * w for w in widths]))
    for r in rows:
        print(fmt.format(*r))
    sys.stdout.flush()


def stats_row(name, values):
    f = lambda x: "%.2f" % x  # noqa: E731
    return [name, len(values), f(percentile(values, 50)), f(percentile(values, 95)),
            f(percentile(values, 99)), f(max(values) if values else float("nan"))]


def machine_line():
    cpu = ""
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return "machine: %s, %d cores, %s" % (cpu, os.cpu_count(), time.strftime("%Y-%m-%d %H:%M %Z"))
