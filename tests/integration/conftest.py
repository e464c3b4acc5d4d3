import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "stack"))

import importlib.util  # noqa: E402

_spec = importlib.util.spec_from_file_location(
    "stack_conftest", os.path.join(os.path.dirname(HERE), "stack", "conftest.py"))
_stack_conftest = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_stack_conftest)
stack_up, stack_down = _stack_conftest.stack_up, _stack_conftest.stack_down
from wbapp import App, Bus  # noqa: E402


# Every test of a module runs against a project that still accepts its legacy JWT keys (the app
# given the legacy anon key), then against one after their retirement (`stack up --legacy-keys
# off`, the app given the publishable key and, as `eval "$(stack up)"` leaves it, the refused
# legacy key beside it: the publishable one has to win). See wbapp.key_env().
KEY_MODES = {"legacy-keys": [], "publishable-key": ["--legacy-keys", "off"]}


@pytest.fixture(scope="module", params=list(KEY_MODES))
def stack(request, tmp_path_factory):
    d = str(tmp_path_factory.mktemp("stack"))
    s = stack_up(d, *KEY_MODES[request.param])
    assert s.legacy_keys == ("on" if request.param == "legacy-keys" else "off"), s.env
    try:
        yield s
    finally:
        stack_down(d)


@pytest.fixture(scope="module")
def bus():
    b = Bus()
    try:
        yield b
    finally:
        b.close()


@pytest.fixture
def make_app(stack, bus, tmp_path):
    apps = []

    def make(name="app", **kw):
        a = App(stack, bus, str(tmp_path / name), **kw)
        apps.append(a)
        return a

    try:
        yield make
    finally:
        for a in apps:
            a.stop()
        stack.fault("clear")
