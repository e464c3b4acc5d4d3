#!/usr/bin/python3
"""The window app end to end on a real local stack (tests/stack), under Xvfb and a private bus.

Run inside `xvfb-run -a dbus-run-session -- tests/wb-test-env` (tests/alerts/run-session):
python3-dbusmock's notification daemon, a StatusNotifierWatcher, gnome-keyring unlocked, the
chime to fakesink. The widget tree is read over AT-SPI (pyatspi). Screenshots of the main states
go to the test's artefact dir (WB_ARTEFACT_DIR, default the build dir's
meson-logs/screenshots) and, with WB_UPDATE_SCREENSHOTS=1, to data/screenshots/.

argv: WRENCHBELL_BINARY BUILD_ROOT
"""
import os
import re
import shutil
import subprocess
import sys
import time

# Warnings are fatal for the app (App sets G_DEBUG=fatal-warnings for it), not for this client:
# libatspi warns here when a node goes away while it is read ("Object does not exist at path
# /org/a11y/atspi/cache"). GLib reads G_DEBUG when it loads, so start again without it first.
if 'fatal-warnings' in os.environ.get('G_DEBUG', ''):
    os.environ['G_DEBUG'] = 'gc-friendly'
    os.execv(sys.executable, [sys.executable] + sys.argv)

import gi
gi.require_version('Secret', '1')
from gi.repository import Secret  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wbdesktop as wd  # noqa: E402

BINARY, BUILD = sys.argv[1], sys.argv[2]
SRC = wd.SRC
TMP = os.environ.get('WB_TEST_TMP') or '/tmp'
ART = os.environ.get('WB_ARTEFACT_DIR') or os.path.join(BUILD, 'meson-logs', 'screenshots')
LONG_NAME = '<b>Bob & Co</b> ' + 'W' * 5000
# Nothing is filtered today. (GTK 4.8 answers GetChildAtIndex about a window that is being
# destroyed with a NULL object path, a critical and then a crash; the test avoids walking such
# windows rather than filtering that.)
KNOWN_NOISE = ()
SCHEMA = Secret.Schema.new(wd.APP_ID, Secret.SchemaFlags.NONE,
                           {'kind': Secret.SchemaAttributeType.STRING,
                            'backend': Secret.SchemaAttributeType.STRING})
results = []


def tap(ok, name, detail=''):
    results.append(ok)
    print(f'{"ok" if ok else "not ok"} {len(results)} - {name}' + (f' # {detail}' if detail else ''),
          flush=True)


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


class App:
    def __init__(self, stack, name, password=True, extra=None, args=(), accessible=True):
        unlock_keyring()
        env = dict(os.environ)
        for k in ('NO_AT_BRIDGE', 'GTK_A11Y', 'WRENCHBELL_EMAIL', 'WRENCHBELL_PASSWORD'):
            env.pop(k, None)
        env.update({
            'WRENCHBELL_URL': stack.env['WRENCHBELL_URL'],
            'WRENCHBELL_ANON_KEY': stack.env['WRENCHBELL_ANON_KEY'],
            'WB_AUDIO_SINK': 'fakesink',
            'GSK_RENDERER': 'cairo',
            # Warnings and criticals end the app, and check_log() fails the test on any that
            # were only logged (e.g. from a process the app started).
            'G_DEBUG': 'fatal-warnings',
        })
        if password:
            env['WRENCHBELL_EMAIL'] = stack.env['WRENCHBELL_EMAIL']
            env['WRENCHBELL_PASSWORD'] = stack.env['WRENCHBELL_PASSWORD']
        env.update(extra or {})
        if accessible:
            wd.atspi_ready()
        self.log = os.path.join(TMP, name + '.log')
        wrapper = os.environ.get('WB_APP_WRAPPER', '').split()   # e.g. a gdb command, to debug
        self.p = subprocess.Popen([*wrapper, BINARY, '--state-dir', os.path.join(TMP, 'state'), *args],
                                  env=env, stdout=open(self.log, 'w'), stderr=subprocess.STDOUT)
        self.stack = stack
        if accessible:
            try:
                self.acc = wd.find_app()
                wd.frame(self.acc, lambda name: name.endswith('Wrenchbell'), 20, 'main window')
            except AssertionError:
                print(f'--- {name}.log (last lines)\n' + open(self.log).read()[-3000:], file=sys.stderr)
                raise
        else:
            self.acc = None

    def main_window(self):
        return wd.frame(self.acc, lambda name: name.endswith('Wrenchbell'), 10, 'main window',
                        settle=0)

    def label(self, text, timeout=20):
        try:
            return wd.find(self.main_window(), wd.by_name(text, 'label'), timeout,
                           f'label {text!r}')
        except AssertionError as e:
            seen = [n.name[:60] for n in wd.find_all(self.acc, lambda n: n.getRoleName() == 'label')]
            raise AssertionError(f'{e}; labels: {seen[:40]}') from None

    def menu(self, label):
        wd.menu(self.acc, label)

    def quit(self):
        if self.p.poll() is None:
            wd.activate_action('quit')
            try:
                self.p.wait(15)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        check(self.p.returncode == 0, f'app exited with {self.p.returncode}: '
              + open(self.log).read()[-2000:])
        self.check_log()

    def check_log(self):
        bad = [line for line in open(self.log).read().splitlines()
               if re.search(r'-(WARNING|CRITICAL) \*\*', line)
               and not any(k in line for k in KNOWN_NOISE)]
        check(not bad, 'warnings in the app log: ' + ' | '.join(bad[:5]))


def unlock_keyring():
    """An unlocked login keyring (build-notes §2.7), started again if it went away: here
    gnome-keyring-daemon sometimes exits between two app runs, and one activated by the bus
    would be locked and prompt."""
    if wd.has_owner('org.freedesktop.secrets'):
        return
    keyring = subprocess.run(['gnome-keyring-daemon', '--unlock', '--components=secrets'],
                             input=b'test', capture_output=True)
    for line in keyring.stdout.decode().splitlines():
        if '=' in line:
            k, v = line.split('=', 1)
            os.environ[k] = v
    wd.wait(lambda: wd.has_owner('org.freedesktop.secrets'), 10, 'the keyring daemon')


def shot(name):
    os.makedirs(ART, exist_ok=True)
    time.sleep(0.8)   # let the frame clock draw the last change
    trimmed = wd.screenshot(os.path.join(ART, name + '.png'))
    if os.environ.get('WB_UPDATE_SCREENSHOTS') == '1':
        dest = os.path.join(SRC, 'data', 'screenshots')
        os.makedirs(dest, exist_ok=True)
        shutil.copy(trimmed, os.path.join(dest, name + '.png'))


def stored_token(stack):
    return Secret.password_lookup_sync(SCHEMA, {'kind': 'refresh-token',
                                                'backend': stack.env['WRENCHBELL_URL']}, None)


def run(name, fn, *args):
    try:
        fn(*args)
        tap(True, name)
    except Exception as e:  # noqa: BLE001
        tap(False, name, str(e).replace('\n', ' ')[:500])
        for log in sorted(f for f in os.listdir(TMP) if f.endswith('.log')):
            print(f'--- {log} (last lines)', file=sys.stderr)
            print(open(os.path.join(TMP, log)).read()[-3000:], file=sys.stderr)


def dismiss_toasts(app):
    """Close the toasts still on screen with their own close buttons, as a user would (never
    their action button: a toast's Accept takes the request; AT-SPI names it "Accept Accept")."""
    def close_buttons():
        out = []
        for t in wd.find_all(app.acc, lambda n: n.name == 'AdwToastWidget'):
            out += wd.find_all_in(t, lambda b: b.getRoleName() == 'push button'
                                  and not any(label in (b.name or '') for label in
                                              ('Accept', 'Open Dashboard', 'View')), toasts=True)
        return out

    for _ in range(10):
        try:
            buttons = close_buttons()
            if not buttons:
                return
            for b in buttons:
                b.queryAction().doAction(0)
        except Exception:  # noqa: BLE001 (a toast went away while we looked)
            pass
        time.sleep(0.4)


def t_empty_state(app):
    app.label('Connected')
    app.label('No Waiting Requests')
    shot('empty-state')


def t_queued_request(app, notify):
    before = len(notify.notify_calls())
    app.stack.request('--customer', 'Alice Example')
    # The customer's name is isolated (FSI … PDI) from the fields joined after it.
    toast = wd.wait(lambda: wd.under_toast(app.acc, 'New request — \u2068Alice Example\u2069 · '), 15,
                    'toast text in the widget tree')
    check(toast, 'toast')
    app.label('Alice Example')
    app.label('1 request waiting')
    calls = wd.wait(lambda: [c for c in notify.notify_calls()[before:] if 'Alice Example' in c[4]],
                    10, 'Notify call')
    check(len(calls) == 1, f'{len(calls)} Notify calls for the request')
    wd.wait(lambda: wd.sni_prop('Status') == 'NeedsAttention', 10, 'SNI NeedsAttention')
    wd.wait(lambda: wd.find_all(app.acc, lambda n: n.getRoleName() == 'frame'
                                and n.name.startswith('(1)')), 10, 'title count "(1) Wrenchbell"')
    shot('window-with-requests')
    app.menu('Acknowledge All')


def t_diagnostics(app):
    tab = wd.find(app.acc, lambda n: n.name == 'Diagnostics' and n.getRoleName() in
                  ('toggle button', 'push button', 'radio button', 'page tab'), 10, 'Diagnostics tab')
    tab.queryAction().doAction(0)
    # Down from the row, never up: asking GTK 4.8 for some parents is a GLib critical.
    row = wd.find(app.acc, wd.by_name('Requests alerted', 'list item'), 10, 'figures')
    value = wd.wait(lambda: [n.name for n in wd.walk(row) if n.getRoleName() == 'label'
                             and n.name.isdigit()], 10, 'alert count')
    check(int(value[0]) >= 1, f'alerts figure {value}')
    shot('diagnostics')
    queue = wd.find(app.acc, lambda n: n.name == 'Queue' and n.getRoleName() == tab.getRoleName(),
                    10, 'Queue tab')
    queue.queryAction().doAction(0)


def t_markup_and_long_name(app, notify):
    before = len(notify.notify_calls())
    app.stack.request('--customer', LONG_NAME, '--urgent')
    row = wd.find(app.acc, wd.name_starts('<b>Bob & Co</b> WWW', 'label'), 15, 'row label')
    check(row.name.endswith('…'), f'row text not cut: …{row.name[-20:]!r}')
    check(len(row.name) <= 161, f'row text {len(row.name)} characters long')
    # The name is isolated (FSI … PDI) from the vehicle and concern joined after it.
    toast = wd.wait(lambda: wd.under_toast(app.acc, 'Urgent request — \u2068<b>Bob & Co</b> W'), 15,
                    'toast with the literal name')[0]
    check(toast.name.endswith('…\u2069') and len(toast.name) <= 125,
          f'toast text not cut cleanly ({len(toast.name)} chars)')
    check(wd.find_all(app.acc, wd.by_name('Urgent', 'label')), 'urgent badge')
    calls = wd.wait(lambda: [c for c in notify.notify_calls()[before:] if 'Bob' in c[4]], 10,
                    'Notify call')
    body = calls[0][4]
    check('&lt;b&gt;Bob &amp; Co&lt;/b&gt;' in body and '<b>' not in body,
          f'Notify body not escaped: {body[:80]!r}')
    check(len(body) < 1000, f'Notify body {len(body)} characters long')
    shot('window-urgent-long-name')
    app.menu('Acknowledge All')


def t_preferences_switch_tier_off(app, notify):
    wd.activate_action('preferences')
    prefs = wd.frame(app.acc, lambda name: name == 'Preferences', 10, 'preferences window')
    # GtkSwitch is a "check box" on AT-SPI, named by its AdwActionRow.
    switch = wd.find(prefs, lambda n: n.name == 'Desktop Notifications'
                     and n.getRoleName() in ('check box', 'switch', 'toggle button'), 15,
                     'notifications switch')
    shot('preferences')
    action = switch.queryAction()
    action.doAction(0)
    wd.wait(lambda: not switch.getState().contains(__import__('pyatspi').STATE_CHECKED), 5,
            'switch off')
    before = len(notify.notify_calls())
    app.stack.request('--customer', 'Carol Quiet')
    app.label('Carol Quiet')
    time.sleep(2)
    calls = [c for c in notify.notify_calls()[before:] if 'Carol' in c[4]]
    check(not calls, f'notification tier still fired: {len(calls)} Notify calls')
    # The other tiers still ring: the tray is asked to flash again.
    check(wd.sni_prop('Status') == 'NeedsAttention', 'tray not flashing')
    # The API key is asked for as what a project of 2026 has: its publishable key.
    general = wd.find(prefs, lambda n: n.name == 'General'
                      and n.getRoleName() in ('toggle button', 'push button', 'page tab'), 5,
                      'the General page')
    general.queryAction().doAction(0)
    wd.find(prefs, lambda n: n.name == 'Publishable Key'
            and n.getRoleName() in ('text', 'password text', 'entry'), 10, 'the publishable key entry')
    close = wd.find(prefs, wd.by_name('Close', 'push button'), 5, 'its close button')
    close.queryAction().doAction(0)
    # Only the top-level list: walking into a window that is being destroyed is what makes
    # GTK 4.8 answer with a NULL object path (and crash).
    wd.wait(lambda: not [i for i in range(app.acc.childCount)
                         if (app.acc.getChildAtIndex(i).name or '') == 'Preferences'], 5,
            'preferences closed')
    time.sleep(0.5)
    app.menu('Acknowledge All')


def t_sign_in(app, stack):
    check(wd.wait(lambda: stored_token(stack), 10, 'refresh token in the keyring'), 'no token')
    app.menu('Sign Out')
    app.label('Signed out')
    # Signed out, it still listens on the API key alone, and says what that means.
    app.label('Sign in for a lasting connection. Without an account only the requests the '
              'backend announces ring, and the server ends the connection every 24 hours.')
    wd.wait(lambda: stored_token(stack) is None, 10, 'keyring cleared on sign-out')
    email = wd.find(app.acc, wd.by_name('E-mail', 'text'), 10, 'e-mail entry')
    password = wd.find(app.acc, lambda n: n.name == 'Password'
                       and n.getRoleName() in ('text', 'password text'), 10, 'password entry')
    email.queryEditableText().setTextContents(stack.env['WRENCHBELL_EMAIL'])
    password.queryEditableText().setTextContents('not-the-password')
    button = wd.find(app.acc, wd.by_name('Sign In', 'push button'), 10, 'Sign In button')
    button.queryAction().doAction(0)
    app.label('Wrong e-mail or password')
    dismiss_toasts(app)
    shot('sign-in')
    password.queryEditableText().setTextContents(stack.env['WRENCHBELL_PASSWORD'])
    button.queryAction().doAction(0)
    app.label('Connected', 20)
    check(wd.wait(lambda: stored_token(stack), 10, 'new token in the keyring'), 'no token')


def t_restart_with_stored_token(stack):
    app = App(stack, 'app-restart', password=False)
    try:
        app.label('Connected', 30)
    finally:
        app.quit()


def t_german(stack):
    app = App(stack, 'app-de', extra={'LANGUAGE': 'de', 'LANG': 'C.UTF-8', 'LC_ALL': '',
                                      'WB_LOCALEDIR': os.path.join(BUILD, 'po')})
    try:
        app.label('Verbunden', 30)
        wd.find(app.acc, lambda n: n.name in ('Warteschlange',), 10, 'German page title')
        shot('window-german')
    finally:
        app.quit()


def t_background(stack, notify):
    app = App(stack, 'app-background', args=['--background'], accessible=False)
    try:
        wd.wait(lambda: wd.has_owner(wd.APP_ID), 20, 'the app on the bus')
        wd.wait(lambda: wd.sni_prop('Status') in ('Active', 'NeedsAttention'), 20, 'tray item')
        status = subprocess.run([BINARY, '--status'], capture_output=True, text=True, timeout=20)
        check(status.returncode == 0 and '"state"' in status.stdout,
              f'--status: {status.returncode} {status.stdout[:200]} {status.stderr[:200]}')
        time.sleep(2)
        before = len(notify.notify_calls())
        stack.request('--customer', 'Dana Hidden')
        wd.wait(lambda: [c for c in notify.notify_calls()[before:] if 'Dana Hidden' in c[4]], 15,
                'a notification while no window is shown')
        wd.activate_app()
        app.acc = wd.find_app()
        frame = wd.frame(app.acc, lambda name: name.endswith('Wrenchbell'), 10, 'main window')
        app.label('Dana Hidden')
        wd.find(frame, wd.by_name('Close', 'push button'), 5, 'close button').queryAction().doAction(0)
        time.sleep(1.5)
        check(app.p.poll() is None and wd.has_owner(wd.APP_ID),
              'closing the window ended the app (run in background is on by default)')
        wd.activate_app()
        app.label('Dana Hidden')
        app.menu('Acknowledge All')
        # Quitting with no window shown is what GNOME's Background Apps list does (app.quit
        # over D-Bus): it warns that alerts stop. (From a shown window it does not: main().)
        frame = wd.frame(app.acc, lambda name: name.endswith('Wrenchbell'), 10, 'main window')
        wd.find(frame, wd.by_name('Close', 'push button'), 5, 'close button').queryAction().doAction(0)
        time.sleep(1.5)
        before = len(notify.notify_calls())
        app.quit()
        stopped = [c for c in notify.notify_calls()[before:] if c[3] == 'Wrenchbell has stopped']
        check(len(stopped) == 1, f'{len(stopped)} "stopped" notifications when quitting hidden')
    finally:
        app.quit()


def t_refusals_named(stack):
    """An untrusted certificate and a refused http:// address are named in the window, not shown
    as "could not be reached". Both stay on this machine: a local TLS server with a certificate
    made for this run (tests/hostile), and a name under .invalid that is never looked up."""
    tmp = os.path.join(TMP, 'tls')
    os.makedirs(tmp, exist_ok=True)
    key, cert, ready = (os.path.join(tmp, n) for n in ('key.pem', 'cert.pem', 'port'))
    subprocess.run(['openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key,
                    '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1',
                    '-addext', 'subjectAltName=IP:127.0.0.1'], check=True, capture_output=True)
    server = subprocess.Popen(['/usr/bin/python3', os.path.join(SRC, 'tests', 'hostile', 'hostile_server.py'),
                               '--attack', 'none', '--ready-file', ready, '--tls-cert', cert,
                               '--tls-key', key], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wd.wait(lambda: os.path.exists(ready), 20, 'the TLS server')
        url = 'https://127.0.0.1:%s' % open(ready).read().strip()
        app = App(stack, 'app-tls', extra={'WRENCHBELL_URL': url})
        try:
            app.label('Certificate not trusted', 30)
            wd.find(app.main_window(), lambda n: n.getRoleName() == 'label'
                    and n.name.startswith('The server’s certificate is not trusted'), 10,
                    'the certificate explained')
        finally:
            app.quit()
    finally:
        server.terminate()
        server.wait(10)
    app = App(stack, 'app-http', extra={'WRENCHBELL_URL': 'http://wrenchbell-test.invalid:54321'})
    try:
        app.label('Unencrypted address refused', 30)
    finally:
        app.quit()


def main():
    unlock_keyring()
    # GTK 4.8 warns from its cursor-blink timeout when a focused entry's window loses focus
    # without a focus-out event, which happens under Xvfb with no window manager. With fatal
    # warnings that would end the app, so the throw-away config turns blinking off.
    gtk_conf = os.path.join(os.environ.get('XDG_CONFIG_HOME', TMP), 'gtk-4.0')
    os.makedirs(gtk_conf, exist_ok=True)
    with open(os.path.join(gtk_conf, 'settings.ini'), 'w') as f:
        f.write('[Settings]\ngtk-cursor-blink=false\n')
    print('1..11', flush=True)
    stack = wd.Stack()
    notify = wd.NotifyDaemon()
    watcher = wd.Watcher()
    app = None
    try:
        app = App(stack, 'app')
        app.stack = stack
        run('empty state shown when nothing is queued', t_empty_state, app)
        run('queued request: toast, row, one Notify, NeedsAttention', t_queued_request, app, notify)
        run('diagnostics page shows the health figures', t_diagnostics, app)
        run('markup and a 5,000-character name shown literally and cut cleanly',
            t_markup_and_long_name, app, notify)
        run('preferences switch the notification tier off live', t_preferences_switch_tier_off,
            app, notify)
        run('sign-in failure shown, sign-out clears the keyring, sign-in stores a token',
            t_sign_in, app, stack)
        before = len(notify.notify_calls())
        app.quit()
        app = None
        run('quitting from the window does not warn that alerts stop',
            lambda: check(not [c for c in notify.notify_calls()[before:]
                               if c[3] == 'Wrenchbell has stopped'], 'warned'))
        run('restart with the stored refresh token signs in without a password',
            t_restart_with_stored_token, stack)
        run('LANGUAGE=de shows German strings', t_german, stack)
        run('an untrusted certificate and a refused http:// address are named in the window',
            t_refusals_named, stack)
        run('--background starts hidden and still alerts, --status answers; closing the window '
            'keeps it running; quitting then warns that alerts stop',
            t_background, stack, notify)
    finally:
        if app is not None and app.p.poll() is None:
            app.p.kill()
        watcher.stop()
        notify.stop()
        stack.down()
    return 0 if all(results) else 1


if __name__ == '__main__':
    sys.exit(main())
