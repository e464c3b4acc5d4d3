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
    """A stack + bus for one benchmark run, torn down on exit."""

    def __enter__(self):
        self.tmp = tempfile.mkdtemp(prefix="wbbench.")
        self.stack = _stack.stack_up(os.path.join(self.tmp, "stack"))
        self.bus = Bus()
        self.apps = []
        self.procs = []
        return self

    def app(self, name="app", **kw):
        a = App(self.stack, self.bus, os.path.join(self.tmp, name), **kw)
        self.apps.append(a)
        return a

    def sbjs(self):
        p = subprocess.Popen(["node", os.path.join(HERE, "sbjs-subscriber.mjs"), self.stack.url,
                              self.stack.anon_key, self.stack.email, self.stack.password],
                             stdout=subprocess.PIPE, text=True)
        self.procs.append(p)
        line = p.stdout.readline()
        assert json.loads(line).get("ready"), line
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
