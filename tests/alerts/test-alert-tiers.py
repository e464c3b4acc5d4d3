#!/usr/bin/python3
"""The real alert tiers on a real (private) session bus, driven through wb-alerts-probe.

Run inside `xvfb-run -a dbus-run-session -- tests/wb-test-env` (tests/alerts/run-session).
Fakes: python3-dbusmock's notification_daemon template, an in-process
org.kde.StatusNotifierWatcher, WAV-file and PulseAudio null-sink audio capture.
"""
import json
import os
import queue
import re
import shutil
import subprocess
import sys
import threading
import time

import gi
gi.require_version('Gio', '2.0')
from gi.repository import Gio, GLib  # noqa: E402

PROBE = sys.argv[1]
SRC = os.environ.get('WB_SOURCE_ROOT', os.path.join(os.path.dirname(__file__), '..', '..'))
TMP = os.environ.get('WB_TEST_TMP') or GLib.Dir.make_tmp('wbalerts-XXXXXX')
BUS = Gio.bus_get_sync(Gio.BusType.SESSION, None)
CTX = GLib.MainContext.default()
CUSTOMER = '<b>Bob & "Co"</b>'
ESCAPED = '&lt;b&gt;Bob &amp; &quot;Co&quot;&lt;/b&gt;'
FSI, PDI = '\u2068', '\u2069'   # each customer field is isolated in the joined text
passed, failed = [], []


def pump(seconds=0.0):
    end = time.monotonic() + seconds
    while True:
        while CTX.iteration(False):
            pass
        if time.monotonic() >= end:
            return
        time.sleep(0.01)


def wait(pred, timeout=5.0, what='condition'):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        pump()
        v = pred()
        if v:
            return v
        time.sleep(0.01)
    raise AssertionError(f'timed out waiting for {what}')


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


# What a test started and has not stopped yet: stopped by the runner after each test, so a test
# that failed half-way does not leave its watcher or daemon on the bus for the next one.
LIVE = []


def stop_leftovers():
    while LIVE:
        thing = LIVE.pop()
        try:
            thing.p.kill() if isinstance(thing, Probe) else thing.stop()
        except Exception:  # noqa: BLE001
            pass


class Probe:
    def __init__(self, *args, env=None, name='probe'):
        e = dict(os.environ)
        # The chimes come from the library's GResource: no data directory, installed or not.
        e.pop('WB_DATADIR', None)
        e.setdefault('NO_AT_BRIDGE', '1')
        e['GTK_A11Y'] = 'none'
        e.update(env or {})
        self.p = subprocess.Popen([PROBE, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=open(os.path.join(TMP, name + '.stderr'), 'w'),
                                  text=True, env=e)
        self.q = queue.Queue()
        self.lines = []
        threading.Thread(target=self._read, daemon=True).start()
        LIVE.append(self)
        # Start-up includes a GStreamer plugin scan (the throw-away HOME has no registry cache),
        # seconds on a loaded machine: a liveness bound, not a timing assertion.
        self.ready_line = self.expect('READY', timeout=30.0)
        self.unique = self.ready_line.split()[1]

    def _read(self):
        for line in self.p.stdout:
            self.q.put(line.rstrip('\n'))

    def _drain(self):
        while True:
            try:
                self.lines.append(self.q.get_nowait())
            except queue.Empty:
                return

    def send(self, **cmd):
        self.p.stdin.write(json.dumps(cmd) + '\n')
        self.p.stdin.flush()

    def expect(self, prefix, timeout=6.0, start=0):
        def find():
            self._drain()
            for line in self.lines[start:]:
                if line.startswith(prefix):
                    return line
            return None
        return wait(find, timeout, f'probe line {prefix!r}')

    def results(self, kind=None):
        self._drain()
        out = [json.loads(line[7:]) for line in self.lines if line.startswith('RESULT ')]
        return [r for r in out if kind is None or r['kind'] == kind]

    def result(self, aid, kind='alert', timeout=6.0):
        return wait(lambda: next((r for r in self.results(kind) if r['assignment_id'] == aid),
                                 None), timeout, f'{kind} result for {aid}')

    def quit(self):
        if self in LIVE:
            LIVE.remove(self)
        try:
            self.send(cmd='quit')
            self.p.wait(10)
        except Exception:
            self.p.kill()
            self.p.wait()
        check(self.p.returncode == 0, f'probe exited with {self.p.returncode}')


def cleanup(*fns):
    """Run every cleanup even if one fails; raise the first failure afterwards."""
    first = None
    for fn in fns:
        try:
            fn()
        except Exception as e:  # noqa: BLE001
            first = first or e
    if first:
        raise first


class NotifyDaemon:
    def __init__(self):
        self.p = subprocess.Popen(['/usr/bin/python3', '-m', 'dbusmock', '--template',
                                   'notification_daemon'],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        LIVE.append(self)
        wait(lambda: has_owner('org.freedesktop.Notifications'), 10, 'mock notification daemon')

    def calls(self, method=None):
        v = BUS.call_sync('org.freedesktop.Notifications', '/org/freedesktop/Notifications',
                          'org.freedesktop.DBus.Mock', 'GetCalls', None, None,
                          Gio.DBusCallFlags.NONE, 5000, None).unpack()[0]
        return [(name, args) for (_t, name, args) in v if method is None or name == method]

    def stop(self):
        if self in LIVE:
            LIVE.remove(self)
        self.p.terminate()
        self.p.wait()
        wait(lambda: not has_owner('org.freedesktop.Notifications'), 5, 'daemon gone')


def has_owner(name):
    return BUS.call_sync('org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus',
                         'NameHasOwner', GLib.Variant('(s)', (name,)), None,
                         Gio.DBusCallFlags.NONE, 2000, None).unpack()[0]


class Watcher:
    """A minimal org.kde.StatusNotifierWatcher that records registrations."""

    def __init__(self):
        xml = open(os.path.join(SRC, 'data', 'org.kde.StatusNotifierItem.xml')).read()
        iface = Gio.DBusNodeInfo.new_for_xml(xml).lookup_interface('org.kde.StatusNotifierWatcher')
        self.items = []
        self.reg = BUS.register_object('/StatusNotifierWatcher', iface, self._call, self._get, None)
        LIVE.append(self)
        self.own = Gio.bus_own_name_on_connection(BUS, 'org.kde.StatusNotifierWatcher',
                                                  Gio.BusNameOwnerFlags.NONE, None, None)
        wait(lambda: has_owner('org.kde.StatusNotifierWatcher'), 5, 'watcher name')

    def _call(self, conn, sender, path, iface, method, params, inv):
        if method == 'RegisterStatusNotifierItem':
            self.items.append((sender, params.unpack()[0]))
        inv.return_value(None)

    def _get(self, conn, sender, path, iface, prop):
        return {'RegisteredStatusNotifierItems': GLib.Variant('as', [i[1] for i in self.items]),
                'IsStatusNotifierHostRegistered': GLib.Variant('b', True),
                'ProtocolVersion': GLib.Variant('i', 0)}[prop]

    def stop(self):
        if self in LIVE:
            LIVE.remove(self)
        Gio.bus_unown_name(self.own)
        BUS.unregister_object(self.reg)
        wait(lambda: not has_owner('org.kde.StatusNotifierWatcher'), 5, 'watcher gone')


def sni_prop(unique, prop):
    return BUS.call_sync(unique, '/StatusNotifierItem', 'org.freedesktop.DBus.Properties', 'Get',
                         GLib.Variant('(ss)', ('org.kde.StatusNotifierItem', prop)), None,
                         Gio.DBusCallFlags.NONE, 3000, None).unpack()[0]


def rms(path):
    out = subprocess.run(['sox', path, '-n', 'stat'], capture_output=True, text=True).stderr
    m = re.search(r'RMS\s+amplitude:\s+([0-9.]+)', out)
    return float(m.group(1)) if m else 0.0


def wav_env(name):
    path = os.path.join(TMP, name + '.wav')
    return path, {'WB_AUDIO_SINK': f'wavenc ! filesink location={path}'}


def tier(res, name):
    t = res['tiers'][name]
    return t['result'] + (f': {t["reason"]}' if t['reason'] else '')


# --------------------------------------------------------------------------------------------

def test_all_tiers_fire():
    daemon, watcher = NotifyDaemon(), Watcher()
    launcher = []
    sub = BUS.signal_subscribe(None, 'com.canonical.Unity.LauncherEntry', 'Update', None, None,
                               Gio.DBusSignalFlags.NONE,
                               lambda *a: launcher.append((a[2], a[5].unpack())))
    wav, env = wav_env('all')
    probe = Probe('--toast', env=env, name='all')
    try:
        wait(lambda: watcher.items, 5, 'registration with the watcher')
        check(watcher.items[0] == (probe.unique, probe.unique), f'registered {watcher.items}')
        check(sni_prop(probe.unique, 'Status') == 'Active', 'idle status is Active')

        probe.send(cmd='dispatch', kind='alert', id='a1', customer=CUSTOMER,
                   vehicle='2019 Honda Civic', concern='brake noise')
        res = probe.result('a1')
        for t in ('toast', 'sound', 'notification', 'tray'):
            check(tier(res, t) == 'ok', f'{t}: {tier(res, t)}')
        notifies = daemon.calls('Notify')
        check(len(notifies) == 1, f'{len(notifies)} Notify calls')
        args = notifies[0][1]
        body = args[4]
        print(f'# Notify body seen: {body!r}')
        check(body == f'{FSI}{ESCAPED}{PDI} · {FSI}2019 Honda Civic{PDI} · {FSI}brake noise{PDI}',
              f'body {body!r}')
        check(args[3] == 'New session request', args[3])
        hints = args[6]
        check(hints.get('suppress-sound') is True, f'hints {hints}')
        check(hints.get('desktop-entry') == 'io.github.wrenchbell.Wrenchbell', f'hints {hints}')
        check(hints.get('category') == 'im.received' and hints.get('urgency') == 1, f'hints {hints}')
        actions = dict(zip(args[5][0::2], args[5][1::2]))
        check(actions == {'default': 'View', 'accept': 'Accept', 'snooze': 'Snooze 5 min'},
              f'actions {args[5]}')

        check(sni_prop(probe.unique, 'Status') == 'NeedsAttention', 'status NeedsAttention')
        check(sni_prop(probe.unique, 'Menu') == '/MenuBar', 'menu path')
        check(sni_prop(probe.unique, 'Id') == 'io.github.wrenchbell.Wrenchbell', 'id')
        check(sni_prop(probe.unique, 'Category') == 'ApplicationStatus', 'category')
        tip = sni_prop(probe.unique, 'ToolTip')
        check(tip[3] == '1 request waiting', f'tooltip {tip}')
        wait(lambda: launcher, 3, 'LauncherEntry.Update')
        path, (uri, props) = launcher[-1]
        print(f'# LauncherEntry {path} {uri} {props}')
        check(path == '/io/github/wrenchbell/Wrenchbell/LauncherEntry', path)
        check(uri == 'application://io.github.wrenchbell.Wrenchbell.desktop', uri)
        check(props['count'] == 1 and props['count-visible'] and props['urgent'], f'{props}')
        probe.send(cmd='state')
        check('"(1) Wrenchbell"' in probe.expect('STATE'), 'title count')

        layout = BUS.call_sync(probe.unique, '/MenuBar', 'com.canonical.dbusmenu', 'GetLayout',
                               GLib.Variant('(iias)', (0, -1, [])), None,
                               Gio.DBusCallFlags.NONE, 3000, None).unpack()[1]
        labels = [c[1].get('label') for c in layout[2]]
        # Only what is harmless or the desktop may do anyway (wb-alert-tray-menu.c): no mute.
        check(labels == ['Show Wrenchbell', None, 'Quit'], f'menu {labels}')
        BUS.call_sync(probe.unique, '/MenuBar', 'com.canonical.dbusmenu', 'Event',
                      GLib.Variant('(isvu)', (1, 'clicked', GLib.Variant('s', ''), 0)), None,
                      Gio.DBusCallFlags.NONE, 3000, None)
        probe.expect('MENU show')
        n_menu = len([line for line in probe.lines if line.startswith('MENU ')])
        BUS.call_sync(probe.unique, '/MenuBar', 'com.canonical.dbusmenu', 'Event',
                      GLib.Variant('(isvu)', (2, 'clicked', GLib.Variant('s', ''), 0)), None,
                      Gio.DBusCallFlags.NONE, 3000, None)
        pump(0.3)
        probe._drain()
        check(len([line for line in probe.lines if line.startswith('MENU ')]) == n_menu,
              'the old mute item (id 2) does nothing')

        # The sound: the chime, non-silent, whole (the WAV is finalised at EOS).
        wait(lambda: os.path.exists(wav) and os.path.getsize(wav) > 100000, 5, 'chime WAV')
        time.sleep(0.3)
        level = rms(wav)
        print(f'# chime RMS via WAV sink: {level:.4f}')
        check(level > 0.01, f'RMS {level}')

        # A hidden window: the toast is skipped, the rest still ring.
        probe.send(cmd='hide')
        probe.send(cmd='dispatch', kind='alert', id='a3', customer='Hidden')
        res = probe.result('a3')
        check(tier(res, 'toast') == 'skipped: window not shown', tier(res, 'toast'))
        check(tier(res, 'notification') == 'ok' and tier(res, 'tray') == 'ok', str(res['tiers']))
        # The user dismissing its popup is reported (reason 2 = dismissed).
        a3_id = len(daemon.calls('Notify'))
        BUS.call_sync('org.freedesktop.Notifications', '/org/freedesktop/Notifications',
                      'org.freedesktop.DBus.Mock', 'EmitSignal',
                      GLib.Variant('(sssav)', ('org.freedesktop.Notifications',
                                               'NotificationClosed', 'uu',
                                               [GLib.Variant('u', a3_id), GLib.Variant('u', 2)])),
                      None, Gio.DBusCallFlags.NONE, 3000, None)
        probe.expect('DISMISSED a3')
        probe.send(cmd='acknowledge', id='a3')

        # A 5,000-character name is cut cleanly at a character boundary.
        long_name = 'Zoë ' + 'é' * 4996
        probe.send(cmd='dispatch', kind='alert', id='a2', customer=long_name)
        res = probe.result('a2')
        check(tier(res, 'notification') == 'ok', tier(res, 'notification'))
        body = daemon.calls('Notify')[-1][1][4]
        print(f'# long body: {len(body)} chars, ends {body[-3:]!r}')
        check(len(body) == 200 and body.endswith(f'é…{PDI}') and body.startswith(f'{FSI}Zoë é'),
              body[:20])

        # The daemon's signals reach us on the main loop although libnotify runs on a worker.
        BUS.call_sync('org.freedesktop.Notifications', '/org/freedesktop/Notifications',
                      'org.freedesktop.DBus.Mock', 'EmitSignal',
                      GLib.Variant('(sssav)', ('org.freedesktop.Notifications', 'ActionInvoked',
                                               'us', [GLib.Variant('u', 1),
                                                      GLib.Variant('s', 'default')])),
                      None, Gio.DBusCallFlags.NONE, 3000, None)
        probe.expect('ACTION a1 view')

        # UPDATE replaces the same notification (replaces_id = the first id, 1).
        probe.send(cmd='dispatch', kind='update', id='a1', customer='Bob Smith',
                   vehicle='2019 Honda Civic', concern='brake noise, grinding')
        res = probe.result('a1', 'update')
        check(tier(res, 'notification') == 'ok', tier(res, 'notification'))
        upd = daemon.calls('Notify')[-1][1]
        check(upd[1] == 1 and 'grinding' in upd[4], f'update replaces_id {upd[1]} body {upd[4]}')

        # Withdraw closes it; acknowledging the rest returns the tray to Active.
        probe.send(cmd='dispatch', kind='withdraw', id='a1')
        probe.result('a1', 'withdraw')
        wait(lambda: [c for c in daemon.calls('CloseNotification') if c[1][0] == 1], 3,
             'CloseNotification(1)')
        probe.send(cmd='acknowledge', id='a2')
        wait(lambda: sni_prop(probe.unique, 'Status') == 'Active', 3, 'Active after ack')
        wait(lambda: launcher[-1][1][1]['count'] == 0, 3, f'badge 0 after ack ({launcher[-1]})')
    finally:
        BUS.signal_unsubscribe(sub)
        cleanup(probe.quit, watcher.stop, daemon.stop)


def test_no_notification_daemon():
    watcher = Watcher()
    wav, env = wav_env('nodaemon')
    probe = Probe(env=env, name='nodaemon')
    try:
        wait(lambda: watcher.items, 5, 'registration')
        probe.send(cmd='dispatch', kind='alert', id='n1', customer='Ann')
        res = probe.result('n1')
        print(f'# no daemon: notification {tier(res, "notification")!r}')
        check(tier(res, 'notification').startswith('failed: ') and
              'org.freedesktop.Notifications' in tier(res, 'notification'), tier(res, 'notification'))
        check(tier(res, 'sound') == 'ok' and tier(res, 'tray') == 'ok', str(res['tiers']))
        check(tier(res, 'toast') == 'skipped: no window', tier(res, 'toast'))
        check('"notification":"failed: ' in res['log_line'], res['log_line'])
    finally:
        cleanup(probe.quit, watcher.stop)


def test_no_watcher():
    daemon = NotifyDaemon()
    wav, env = wav_env('nowatcher')
    probe = Probe(env=env, name='nowatcher')
    try:
        probe.send(cmd='dispatch', kind='alert', id='w1', customer='Ann')
        res = probe.result('w1')
        check(tier(res, 'tray') == 'skipped: no StatusNotifierWatcher', tier(res, 'tray'))
        check(tier(res, 'sound') == 'ok' and tier(res, 'notification') == 'ok', str(res['tiers']))
        # A watcher appearing later gets us registered, and the next ring reports ok.
        watcher = Watcher()
        try:
            wait(lambda: watcher.items, 5, 'late registration')
            probe.send(cmd='dispatch', kind='alert', id='w2', customer='Ann')
            check(tier(probe.result('w2'), 'tray') == 'ok', 'tray after watcher appeared')
        finally:
            watcher.stop()
    finally:
        cleanup(probe.quit, daemon.stop)


def test_ring_before_sound_prepared():
    """The window app initialises GStreamer only after its first frame: an alert that comes
    before must still ring (the sound tier initialises it itself)."""
    daemon, watcher = NotifyDaemon(), Watcher()
    wav, env = wav_env('early')
    probe = Probe(env=env, name='early')
    try:
        check(probe.ready_line.endswith('sound-prepared=0'), probe.ready_line)
        probe.send(cmd='dispatch', kind='alert', id='e1', customer='Ann')
        res = probe.result('e1')
        check(tier(res, 'sound') == 'ok', tier(res, 'sound'))
        wait(lambda: os.path.exists(wav) and rms(wav) > 0.01, 10, 'the chime in the wav file')
    finally:
        cleanup(probe.quit, watcher.stop, daemon.stop)


def test_invalid_audio_sink():
    daemon, watcher = NotifyDaemon(), Watcher()
    probe = Probe(env={'WB_AUDIO_SINK': 'pulsesink server=unix:/nonexistent/pulse'}, name='badsink')
    try:
        wait(lambda: watcher.items, 5, 'registration')
        t0 = time.monotonic()
        probe.send(cmd='dispatch', kind='alert', id='s1', customer='Ann')
        res = probe.result('s1')
        took = time.monotonic() - t0
        print(f'# bad sink: sound {tier(res, "sound")!r} after {took:.2f} s')
        check(tier(res, 'sound').startswith('failed: '), tier(res, 'sound'))
        check(tier(res, 'notification') == 'ok' and tier(res, 'tray') == 'ok', str(res['tiers']))
        check(len(daemon.calls('Notify')) == 1, 'notified despite the broken sound')
        check(took < 2.5, f'took {took}')
    finally:
        cleanup(probe.quit, watcher.stop, daemon.stop)


def test_broken_tiers():
    daemon, watcher = NotifyDaemon(), Watcher()
    try:
        for mode, expect in (('hang', 'failed: timeout'), ('error', 'failed: test tier broke')):
            for broken in ('sound', 'notification', 'tray'):
                wav, env = wav_env(f'broken-{broken}-{mode}')
                probe = Probe('--tier-timeout', '500', '--broken', f'{broken}:{mode}', env=env,
                              name=f'broken-{broken}-{mode}')
                try:
                    probe.send(cmd='dispatch', kind='alert', id=f'{broken}-{mode}', customer='Ann')
                    res = probe.result(f'{broken}-{mode}')
                    check(tier(res, broken) == expect, f'{broken}/{mode}: {tier(res, broken)}')
                    for other in ('sound', 'notification', 'tray'):
                        if other != broken:
                            check(tier(res, other) == 'ok', f'{other} with {broken} {mode}: '
                                                            f'{tier(res, other)}')
                finally:
                    probe.quit()
    finally:
        cleanup(watcher.stop, daemon.stop)


def test_dnd_and_urgent():
    daemon = NotifyDaemon()
    wav, env = wav_env('dnd')
    probe = Probe(env=env, name='dnd')
    try:
        probe.send(cmd='set', dnd=True)
        probe.send(cmd='dispatch', kind='alert', id='d1', customer='Ann')
        res = probe.result('d1')
        check(tier(res, 'sound') == 'skipped: do not disturb', tier(res, 'sound'))
        check(tier(res, 'notification') == 'skipped: do not disturb', tier(res, 'notification'))
        check(not daemon.calls('Notify') and not os.path.exists(wav), 'nothing rang under DND')
        probe.send(cmd='dispatch', kind='alert', id='d2', customer='Ann', urgent=True)
        res = probe.result('d2')
        check(tier(res, 'sound') == 'ok' and tier(res, 'notification') == 'ok', str(res['tiers']))
        args = daemon.calls('Notify')[-1][1]
        check(args[3] == 'Urgent session request' and args[6]['urgency'] == 2, f'{args[3]} {args[6]}')
        wait(lambda: os.path.exists(wav) and os.path.getsize(wav) > 50000, 5, 'urgent WAV')
        time.sleep(0.3)
        level = rms(wav)
        print(f'# urgent beep RMS via WAV sink: {level:.4f}')
        check(level > 0.01, f'urgent RMS {level}')
    finally:
        cleanup(probe.quit, daemon.stop)


def test_repeat_until_acknowledged():
    daemon = NotifyDaemon()
    wav, env = wav_env('repeat')
    probe = Probe('--repeat-ms', '400', env=env, name='repeat')
    try:
        probe.send(cmd='dispatch', kind='alert', id='r1', customer='Ann')
        probe.result('r1')
        wait(lambda: len(probe.results('repeat')) >= 2, 3, 'two reminders')
        check(all(tier(r, 'notification') == 'ok' for r in probe.results('repeat')), 'repeat ok')
        probe.send(cmd='acknowledge', id='r1')
        pump(0.2)
        n = len(probe.results('repeat'))
        pump(1.2)
        check(len(probe.results('repeat')) == n, 'no reminder after acknowledge')
        print(f'# reminders before acknowledge: {n}; Notify calls: {len(daemon.calls("Notify"))}')
    finally:
        cleanup(probe.quit, daemon.stop)


def test_burst_coalesced():
    daemon = NotifyDaemon()
    wav, env = wav_env('burst')
    probe = Probe(env=env, name='burst')
    try:
        for i in range(20):
            probe.send(cmd='dispatch', kind='alert', id=f'b{i}', customer=f'Customer {i}')
        wait(lambda: len(probe.results('alert')) == 20, 5, '20 results')
        check(all(tier(r, 'notification') == 'ok' for r in probe.results('alert')), 'all ok')
        notifies = daemon.calls('Notify')
        summaries = [a[3] for _, a in notifies]
        print(f'# burst of 20: {len(notifies)} Notify calls: {summaries}')
        check(len(notifies) <= 5, f'{len(notifies)} popups')
        check(summaries[-1] == '20 new requests', summaries[-1])
    finally:
        cleanup(probe.quit, daemon.stop)


def test_pulseaudio_capture():
    if not shutil.which('pulseaudio') or not shutil.which('parec'):
        print('# SKIP pulseaudio capture: pulseaudio/parec missing')
        return
    pa = subprocess.Popen(['pulseaudio', '-n', '--daemonize=no', '--exit-idle-time=-1',
                           '--disallow-exit', '-L', 'module-native-protocol-unix',
                           '-L', 'module-null-sink sink_name=capture'],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    cap = os.path.join(TMP, 'pulse-capture.wav')
    rec = None
    try:
        wait(lambda: subprocess.run(['pactl', 'info'], capture_output=True).returncode == 0, 10,
             'pulseaudio')
        rec = subprocess.Popen(['parec', '-d', 'capture.monitor', '--file-format=wav', cap])
        time.sleep(0.5)
        probe = Probe(env={'WB_AUDIO_SINK': ''}, name='pulse')   # default: autoaudiosink
        try:
            probe.send(cmd='dispatch', kind='alert', id='p1', customer='Ann')
            res = probe.result('p1')
            check(tier(res, 'sound') == 'ok', tier(res, 'sound'))
            time.sleep(1.5)
        finally:
            probe.quit()
        rec.terminate()
        rec.wait()
        level = rms(cap)
        print(f'# chime RMS captured from the PulseAudio null sink: {level:.4f}')
        check(level > 0.01, f'pulse RMS {level}')
    finally:
        if rec and rec.poll() is None:
            rec.kill()
        pa.terminate()
        pa.wait()


def wav_seconds(path):
    out = subprocess.run(['soxi', '-D', path], capture_output=True, text=True).stdout.strip()
    return float(out) if out else 0.0


def test_escalation():
    """Nobody took it in time: it rings again as urgent (critical notification in place, the
    urgent chime), even after an acknowledgement; reminders after that stay urgent."""
    daemon = NotifyDaemon()
    watcher = Watcher()
    wav, env = wav_env('escalate')
    probe = Probe('--escalate-ms', '1500', env=env, name='escalate')
    try:
        probe.send(cmd='dispatch', kind='alert', id='e1', customer='Ann', vehicle='2019 Honda Civic')
        check(tier(probe.result('e1'), 'notification') == 'ok', 'first ring')
        first = daemon.calls('Notify')[-1][1]
        check(first[6]['urgency'] == 1 and first[3] == 'New session request', f'{first[3]} {first[6]}')
        wait(lambda: os.path.exists(wav) and wav_seconds(wav) > 0.7, 5, 'the normal chime, whole')
        res = probe.result('e1', kind='escalate', timeout=6)
        for t in ('sound', 'notification', 'tray'):
            check(tier(res, t) == 'ok', f'escalate {t}: {tier(res, t)}')
        check(res['urgent'] is True, 'the escalation is urgent')
        calls = daemon.calls('Notify')
        esc = calls[-1][1]
        check(esc[1] != 0 and esc[3] == 'Still waiting: nobody has taken this request',
              f'replaces_id {esc[1]} summary {esc[3]}')
        check(esc[6]['urgency'] == 2, f'critical urgency: {esc[6]}')
        wait(lambda: 0.5 < wav_seconds(wav) < 0.7, 5, 'the urgent chime (0.61 s, not the 0.8 s one)')
        check(sni_prop(probe.unique, 'Status') == 'NeedsAttention', 'tray asks for attention')

        # Acknowledged (seen) but not taken: it still escalates.
        probe.send(cmd='dispatch', kind='alert', id='e2', customer='Bo')
        probe.result('e2')
        probe.send(cmd='acknowledge', id='e2')
        check(tier(probe.result('e2', kind='escalate', timeout=6), 'notification') == 'ok', 'e2 escalated')
        # Withdrawn before it was due: never escalates.
        probe.send(cmd='dispatch', kind='alert', id='e3', customer='Cy')
        probe.result('e3')
        probe.send(cmd='dispatch', kind='withdraw', id='e3')
        pump(2.5)
        check(not [r for r in probe.results('escalate') if r['assignment_id'] == 'e3'], 'e3 withdrawn first')
        check(len([r for r in probe.results('escalate') if r['assignment_id'] == 'e1']) == 1, 'once only')
    finally:
        cleanup(probe.quit, watcher.stop, daemon.stop)


def test_snooze():
    """Snooze: the popup closes and the tray calms at once, nothing rings meanwhile, then it
    rings again."""
    daemon = NotifyDaemon()
    watcher = Watcher()
    probe = Probe('--repeat-ms', '300', env={'WB_AUDIO_SINK': 'fakesink'}, name='snooze')
    try:
        probe.send(cmd='dispatch', kind='alert', id='s1', customer='Ann')
        probe.result('s1')
        nid = daemon.calls('Notify')[-1][1]
        wait(lambda: len(probe.results('repeat')) >= 1, 3, 'a reminder before the snooze')
        probe.send(cmd='snooze', id='s1', ms=1500)
        probe.expect('SNOOZED yes')
        wait(lambda: daemon.calls('CloseNotification'), 3, 'the popup closed')
        wait(lambda: sni_prop(probe.unique, 'Status') == 'Active', 3, 'the tray calm')
        n = len(probe.results('repeat'))
        pump(1.0)
        check(len(probe.results('repeat')) == n, 'no reminder while snoozed')
        wait(lambda: len(probe.results('repeat')) > n, 3, 'it rings again after the snooze')
        check(tier(probe.results('repeat')[n], 'notification') == 'ok', 'shown again')
        check(len(daemon.calls('Notify')) > 1 and nid == daemon.calls('Notify')[0][1], 'notified again')
        wait(lambda: sni_prop(probe.unique, 'Status') == 'NeedsAttention', 3, 'the tray again')
        probe.send(cmd='snooze', id='nothing-ringing', ms=100)
        probe.expect('SNOOZED no')
    finally:
        cleanup(probe.quit, watcher.stop, daemon.stop)


def test_notes_and_problem():
    """The app's own notes (the connection alarm, an accept's outcome) and the tray's
    not-receiving state: plain text escaped for the daemon, replaced in place, closed on demand."""
    daemon = NotifyDaemon()
    watcher = Watcher()
    probe = Probe(env={'WB_AUDIO_SINK': 'fakesink'}, name='notes')
    try:
        probe.send(cmd='note', key='connection', summary='Wrenchbell is not receiving requests',
                   body='Since 10:42: connection lost: <refused> & gone')
        wait(lambda: daemon.calls('Notify'), 3, 'the note')
        args = daemon.calls('Notify')[-1][1]
        check(args[3] == 'Wrenchbell is not receiving requests', args[3])
        check(args[4] == 'Since 10:42: connection lost: &lt;refused&gt; &amp; gone', args[4])
        check(args[5] == ['default', 'Show'], f'actions {args[5]}')
        probe.send(cmd='note', key='connection', summary='Wrenchbell is not receiving requests',
                   body='Since 10:42: still', id='a1', action='open-dashboard', label='Open Dashboard')
        wait(lambda: len(daemon.calls('Notify')) == 2, 3, 'the note replaced')
        args = daemon.calls('Notify')[-1][1]
        check(args[1] == daemon.calls('Notify')[0][1] or args[1] != 0, f'replaces_id {args[1]}')
        check(args[5] == ['default', 'Show', 'open-dashboard', 'Open Dashboard'], f'actions {args[5]}')
        probe.send(cmd='note-close', key='connection')
        wait(lambda: daemon.calls('CloseNotification'), 3, 'the note closed')

        probe.send(cmd='problem', text='Not receiving requests since 10:42')
        wait(lambda: sni_prop(probe.unique, 'Status') == 'NeedsAttention', 3, 'attention')
        check(sni_prop(probe.unique, 'AttentionIconName') == 'network-offline-symbolic', 'offline icon')
        tip = sni_prop(probe.unique, 'ToolTip')
        check(tip[3].startswith('Not receiving requests since 10:42'), f'tooltip {tip}')
        probe.send(cmd='problem', text=None)
        wait(lambda: sni_prop(probe.unique, 'Status') == 'Active', 3, 'calm again')
    finally:
        cleanup(probe.quit, watcher.stop, daemon.stop)


TESTS = [test_all_tiers_fire, test_no_notification_daemon, test_no_watcher, test_ring_before_sound_prepared,
         test_invalid_audio_sink, test_broken_tiers, test_dnd_and_urgent,
         test_repeat_until_acknowledged, test_burst_coalesced, test_pulseaudio_capture,
         test_escalation, test_snooze, test_notes_and_problem]

if __name__ == '__main__':
    only = sys.argv[2:]
    for t in TESTS:
        if only and t.__name__ not in only:
            continue
        try:
            t()
            passed.append(t.__name__)
            print(f'ok - {t.__name__}', flush=True)
        except Exception as e:  # noqa: BLE001
            failed.append(t.__name__)
            print(f'not ok - {t.__name__}: {e}', flush=True)
        stop_leftovers()
    print(f'{len(passed)} passed, {len(failed)} failed')
    sys.exit(1 if failed else 0)
