#!/usr/bin/python3
"""Helpers for the window app's desktop tests (tests/desktop/test-app.py).

Run with /usr/bin/python3 (Debian's, which has gi and pyatspi). `wbdesktop.py watcher` runs a
minimal org.kde.StatusNotifierWatcher on the session bus (the same shape as the one in
tests/alerts/test-alert-tiers.py) in its own process, so the test process can block in AT-SPI
calls without starving it.
"""
import json
import os
import subprocess
import sys
import time

import gi
gi.require_version('Gio', '2.0')
from gi.repository import Gio, GLib  # noqa: E402

APP_ID = 'io.github.wrenchbell.Wrenchbell'
APP_PATH = '/io/github/wrenchbell/Wrenchbell'
SRC = os.environ.get('WB_SOURCE_ROOT', os.path.join(os.path.dirname(__file__), '..', '..'))


def bus():
    return Gio.bus_get_sync(Gio.BusType.SESSION, None)


def wait(pred, timeout=10.0, what='condition', step=0.1):
    end = time.monotonic() + timeout
    last_exc = None
    while time.monotonic() < end:
        try:
            v = pred()
            if v:
                return v
        except Exception as e:  # noqa: BLE001 (AT-SPI nodes vanish while we look)
            last_exc = e
        time.sleep(step)
    raise AssertionError(f'timed out waiting for {what}' + (f' ({last_exc})' if last_exc else ''))


def has_owner(name):
    return bus().call_sync('org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus',
                           'NameHasOwner', GLib.Variant('(s)', (name,)), None,
                           Gio.DBusCallFlags.NONE, 2000, None).unpack()[0]


def name_owner(name):
    return bus().call_sync('org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus',
                           'GetNameOwner', GLib.Variant('(s)', (name,)), None,
                           Gio.DBusCallFlags.NONE, 2000, None).unpack()[0]


def activate_action(name, param=None):
    """app.<name> over the application's org.gtk.Actions, as a remote instance would (only quit
    and preferences are there: see wb-application-actions.c)."""
    params = [param] if param is not None else []
    bus().call_sync(APP_ID, APP_PATH, 'org.gtk.Actions', 'Activate',
                    GLib.Variant('(sava{sv})', (name, params, {})), None,
                    Gio.DBusCallFlags.NONE, 5000, None)


def activate_app():
    """org.freedesktop.Application.Activate: what a second launch or the desktop does."""
    bus().call_sync(APP_ID, APP_PATH, 'org.freedesktop.Application', 'Activate',
                    GLib.Variant('(a{sv})', ({},)), None, Gio.DBusCallFlags.NONE, 5000, None)


def exported_actions(path=APP_PATH):
    return sorted(bus().call_sync(APP_ID, path, 'org.gtk.Actions', 'List', None, None,
                                  Gio.DBusCallFlags.NONE, 5000, None).unpack()[0])


def menu(app_acc, label, timeout=10):
    """Click @label in the window's main menu, as the user would."""
    button = wait(lambda: [b for b in find_all(app_acc, lambda n: n.name == 'Main Menu')
                           if b.queryAction().nActions > 0], timeout, 'the main menu button')[0]
    button.queryAction().doAction(0)
    item = find(app_acc, lambda n: n.name == label and n.getRoleName() == 'menu item', timeout,
                f'menu item {label!r}')
    item.queryAction().doAction(0)
    time.sleep(0.5)


def sni_prop(prop):
    return bus().call_sync(name_owner(APP_ID), '/StatusNotifierItem',
                           'org.freedesktop.DBus.Properties', 'Get',
                           GLib.Variant('(ss)', ('org.kde.StatusNotifierItem', prop)), None,
                           Gio.DBusCallFlags.NONE, 3000, None).unpack()[0]


class Stack:
    """tests/stack on loopback (`stack up --port 0`) in the test's throw-away directory."""

    def __init__(self):
        self.stack = os.path.join(SRC, 'tests', 'stack', 'stack')
        self.dir = os.path.join(os.environ.get('WB_TEST_TMP') or '/tmp', 'stack')
        out = subprocess.run([self.stack, 'up', '--dir', self.dir, '--port', '0'], check=True,
                             capture_output=True, text=True, timeout=180).stdout
        self.env = dict(line.split('=', 1) for line in out.splitlines() if '=' in line)

    def request(self, *args):
        """A queued request, as the web backend makes it; returns its JSON line."""
        out = subprocess.run([self.stack, 'request', '--dir', self.dir, '--json', *args],
                             check=True, capture_output=True, text=True, timeout=60).stdout
        return json.loads(out.splitlines()[-1])

    def down(self):
        subprocess.run([self.stack, 'down', '--dir', self.dir], capture_output=True, timeout=60)


class NotifyDaemon:
    """python3-dbusmock's notification daemon, in its own process."""

    def __init__(self):
        self.p = subprocess.Popen(['/usr/bin/python3', '-m', 'dbusmock', '--template',
                                   'notification_daemon'],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait(lambda: has_owner('org.freedesktop.Notifications'), 10, 'mock notification daemon')

    def calls(self, method):
        v = bus().call_sync('org.freedesktop.Notifications', '/org/freedesktop/Notifications',
                            'org.freedesktop.DBus.Mock', 'GetCalls', None, None,
                            Gio.DBusCallFlags.NONE, 5000, None).unpack()[0]
        return [args for (_t, name, args) in v if name == method]

    def notify_calls(self):
        return self.calls('Notify')

    def invoke(self, notification_id, action):
        """The user clicks @action on a popup: the daemon emits ActionInvoked."""
        bus().call_sync('org.freedesktop.Notifications', '/org/freedesktop/Notifications',
                        'org.freedesktop.DBus.Mock', 'EmitSignal',
                        GLib.Variant('(sssav)', ('org.freedesktop.Notifications', 'ActionInvoked', 'us',
                                                 [GLib.Variant('u', notification_id),
                                                  GLib.Variant('s', action)])),
                        None, Gio.DBusCallFlags.NONE, 5000, None)

    def stop(self):
        self.p.terminate()
        self.p.wait()


class Watcher:
    """A StatusNotifierWatcher in a child process; registrations are printed on its stdout."""

    def __init__(self):
        self.p = subprocess.Popen(['/usr/bin/python3', os.path.abspath(__file__), 'watcher'],
                                  stdout=subprocess.DEVNULL)
        wait(lambda: has_owner('org.kde.StatusNotifierWatcher'), 10, 'watcher name')

    def stop(self):
        self.p.terminate()
        self.p.wait()


def run_watcher():
    conn = bus()
    xml = open(os.path.join(SRC, 'data', 'org.kde.StatusNotifierItem.xml')).read()
    iface = Gio.DBusNodeInfo.new_for_xml(xml).lookup_interface('org.kde.StatusNotifierWatcher')
    items = []

    def call(c, sender, path, iface_name, method, params, inv):
        if method == 'RegisterStatusNotifierItem':
            items.append(params.unpack()[0])
        inv.return_value(None)

    def get(c, sender, path, iface_name, prop):
        return {'RegisteredStatusNotifierItems': GLib.Variant('as', items),
                'IsStatusNotifierHostRegistered': GLib.Variant('b', True),
                'ProtocolVersion': GLib.Variant('i', 0)}[prop]

    conn.register_object('/StatusNotifierWatcher', iface, call, get, None)
    Gio.bus_own_name_on_connection(conn, 'org.kde.StatusNotifierWatcher',
                                   Gio.BusNameOwnerFlags.NONE, None, None)
    GLib.MainLoop().run()


# ---- AT-SPI --------------------------------------------------------------------------------

def _atspi():
    import pyatspi
    return pyatspi


def atspi_ready(timeout=20):
    """The accessibility bus and its registry up, as in a desktop session at login: an app started
    while the test's own first AT-SPI call is still activating them may never be listed."""
    pyatspi = _atspi()
    return wait(lambda: pyatspi.Registry.getDesktop(0).childCount >= 0, timeout, 'the AT-SPI registry', 0.2)


def find_app(name='wrenchbell', timeout=20):
    pyatspi = _atspi()

    def look():
        desk = pyatspi.Registry.getDesktop(0)
        for i in range(desk.childCount):
            a = desk.getChildAtIndex(i)
            if a is not None and a.name == name:
                return a
        return None
    return wait(look, timeout, f'{name} on the accessibility bus', 0.2)


def walk(node, depth=0, limit=60, toasts=False):
    """Every descendant (and node), depth first; tolerant of nodes that vanish.

    Toasts are not entered unless asked for: GTK 4.8 answers GetChildAtIndex about a toast that
    is going away with a NULL object path (a critical, then a crash), so the fewer walks through
    them the better."""
    if node is None or depth > limit:
        return
    yield node
    try:
        if not toasts and node.name == 'AdwToastWidget':
            return
        n = node.childCount
    except Exception:  # noqa: BLE001
        return
    for i in range(n):
        try:
            child = node.getChildAtIndex(i)
        except Exception:  # noqa: BLE001
            continue
        yield from walk(child, depth + 1, limit, toasts)


def find_all(app, pred):
    return find_all_in(app, pred)


def find_all_in(root, pred, toasts=False):
    out = []
    for n in walk(root, toasts=toasts):
        try:
            if pred(n):
                out.append(n)
        except Exception:  # noqa: BLE001
            pass
    return out


def frame(app, pred, timeout=10, what='window', settle=1.0):
    """A top-level window, looked up among the application's direct children only. @settle:
    seconds to leave a window that just appeared before its contents are walked (GTK 4.8 can
    answer GetChildAtIndex about a widget that is still being mapped with a NULL object path,
    which crashes it)."""
    def look():
        for i in range(app.childCount):
            c = app.getChildAtIndex(i)
            if c is not None and c.getRoleName() == 'frame' and pred(c.name or ''):
                return c
        return None
    f = wait(look, timeout, what, 0.2)
    time.sleep(settle)
    return f


def find_first(root, pred, toasts=False):
    """The first match, depth first; stops walking there (less to ask GTK about)."""
    for n in walk(root, toasts=toasts):
        try:
            if pred(n):
                return n
        except Exception:  # noqa: BLE001
            pass
    return None


def find(app, pred, timeout=10, what='node'):
    return wait(lambda: find_first(app, pred), timeout, what, 0.2)


def by_name(name, role=None):
    return lambda n: n.name == name and (role is None or n.getRoleName() == role)


def name_starts(prefix, role=None):
    return lambda n: (n.name or '').startswith(prefix) and (role is None or n.getRoleName() == role)


def under_toast(app, prefix):
    """Labels inside an AdwToastWidget whose text starts with @prefix (SHOWING is not reliable)."""
    out = []
    for t in find_all(app, lambda n: n.name == 'AdwToastWidget'):
        out += find_all_in(t, lambda n: n.getRoleName() == 'label'
                           and (n.name or '').startswith(prefix), toasts=True)
    return out


def screenshot(path):
    subprocess.run(['import', '-window', 'root', path], check=True)
    # The root window is larger than the app; keep a trimmed copy beside it.
    trimmed = path[:-4] + '-trimmed.png'
    subprocess.run(['/usr/bin/convert', path, '-trim', '+repage', trimmed], check=True)
    return trimmed


if __name__ == '__main__' and len(sys.argv) > 1 and sys.argv[1] == 'watcher':
    run_watcher()
