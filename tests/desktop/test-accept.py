#!/usr/bin/python3
"""Taking requests in the window app, end to end on a real local stack, under Xvfb and a private
bus (see test-app.py, whose helpers this reuses): the popup's Accept through the mock notification
daemon (ActionInvoked), the row and the dashboard, standing down when another mechanic took it,
a lost accept, escalation to critical urgency, snooze, the connection alarm after a long outage
and none after a short one, and what another process on the bus may not do.

argv: WRENCHBELL_BINARY BUILD_ROOT
"""
import importlib.util
import json
import os
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location('wb_test_app', os.path.join(HERE, 'test-app.py'))
ta = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ta)      # re-execs without fatal warnings for this client, as test-app does
wd = ta.wd
check = ta.check

import gi  # noqa: E402
gi.require_version('Gio', '2.0')
from gi.repository import Gio, GLib  # noqa: E402

BOB = ('bob@example.com', 'bob-builder-pw', 'Bob Builder')
DASHBOARD = 'https://dash.example.test/mechanic/sessions/{session_id}'
OPENED = os.path.join(ta.TMP, 'browser-opened.txt')
ALERT_LOG = os.path.join(ta.TMP, 'alerts.jsonl')


class Stack(wd.Stack):
    def run(self, *args):
        return subprocess.run([self.stack, args[0], '--dir', self.dir, *args[1:]], check=True,
                              capture_output=True, text=True, timeout=120).stdout

    def request(self, *args):
        return [json.loads(line) for line in self.run('request', *args).splitlines() if line.strip()]

    def sql(self, query):
        return self.run('psql', '-At', '-c', query).strip()

    def standin_pid(self):
        with open(os.path.join(self.dir, 'state.json')) as f:
            return json.load(f)['pid']

    def rpc_accept_as(self, email, password, assignment_id):
        """Another mechanic takes it from their own workstation (the web dashboard, say)."""
        import urllib.request
        base, key = self.env['WRENCHBELL_URL'], self.env['WRENCHBELL_ANON_KEY']

        def post(path, body, token):
            req = urllib.request.Request(base + path, data=json.dumps(body).encode(), method='POST',
                                         headers={'apikey': key, 'Authorization': 'Bearer ' + token,
                                                  'Content-Type': 'application/json'})
            with urllib.request.urlopen(req, timeout=20) as r:
                return json.loads(r.read())
        token = post('/auth/v1/token?grant_type=password', {'email': email, 'password': password},
                     key)['access_token']
        return post('/rest/v1/rpc/accept_session_assignment', {'p_assignment_id': assignment_id}, token)


def install_fake_browser():
    """The desktop's default web browser, for this session: it writes down what it was asked to
    open (gtk_show_uri → GIO → the x-scheme-handler/https default)."""
    apps = os.path.join(os.environ['XDG_DATA_HOME'], 'applications')
    os.makedirs(apps, exist_ok=True)
    script = os.path.join(ta.TMP, 'fake-browser.py')
    with open(script, 'w') as f:
        f.write('import sys\nopen(%r, "a").write(sys.argv[1] + "\\n")\n' % OPENED)
    with open(os.path.join(apps, 'wb-test-browser.desktop'), 'w') as f:
        f.write('[Desktop Entry]\nType=Application\nName=Test Browser\n'
                'Exec=/usr/bin/python3 %s %%u\nMimeType=x-scheme-handler/https;x-scheme-handler/http;\n'
                'NoDisplay=true\n' % script)
    with open(os.path.join(os.environ['XDG_CONFIG_HOME'], 'mimeapps.list'), 'w') as f:
        f.write('[Default Applications]\nx-scheme-handler/https=wb-test-browser.desktop\n'
                'x-scheme-handler/http=wb-test-browser.desktop\n')


def popup_id(notify, pred):
    """The id the daemon gave the first popup @pred accepts (the mock hands out 1, 2, …)."""
    next_id = 0
    for args in notify.notify_calls():
        if args[1] == 0:
            next_id += 1
            if pred(args):
                return next_id
    return None


def notification_id(notify, text):
    """The id of the popup whose body mentions @text."""
    return popup_id(notify, lambda args: text in args[4])


def row_button(app, customer, name):
    """The button @name in the row of @customer (rows are list items whose subtree has the label)."""
    def look():
        for item in wd.find_all(app.main_window(), lambda n: n.getRoleName() == 'list item'):
            if wd.find_first(item, wd.by_name(customer, 'label')) is not None:
                return wd.find_first(item, lambda n: n.name == name and n.getRoleName() == 'push button')
        return None
    return wd.wait(look, 15, f'{name!r} in the row of {customer}')


def log_records(kind=None):
    try:
        with open(ALERT_LOG) as f:
            recs = [json.loads(line) for line in f if line.strip()]
    except FileNotFoundError:
        return []
    return [r for r in recs if kind is None or r['kind'] == kind]


def call_app(path, iface, method, args, signature):
    return wd.bus().call_sync(wd.APP_ID, path, iface, method, GLib.Variant(signature, args), None,
                              Gio.DBusCallFlags.NONE, 5000, None)


# ---- the main window app: default timings ----------------------------------------------------

def t_bus_cannot_act(app, stack, notify):
    req = stack.request('--customer', 'Ada Busproof')[0]
    aid = req['assignment_id']
    app.label('Ada Busproof')
    check(wd.exported_actions() == ['preferences', 'quit'], f'exported: {wd.exported_actions()}')
    for path in ('/io/github/wrenchbell/Wrenchbell/window/1',):
        acts = wd.exported_actions(path)
        check(not set(acts) & {'accept', 'sign-out', 'mute-hour', 'acknowledge-all', 'snooze', 'retry'},
              f'window actions on the bus: {acts}')
    refused = []
    for name, param in (('sign-out', None), ('accept', GLib.Variant('s', aid)), ('mute-hour', None),
                        ('acknowledge-all', None), ('snooze', GLib.Variant('s', aid))):
        try:
            wd.activate_action(name, param)
        except GLib.Error as e:
            refused.append(name)
            check('not found' in e.message.lower() or 'unknown' in e.message.lower()
                  or 'no such' in e.message.lower(), f'{name}: {e.message}')
    check(len(refused) == 5, f'refused only {refused}')
    # The tray menu's Event from a process that is not the host: no mute item to call.
    owner = wd.name_owner(wd.APP_ID)
    layout = wd.bus().call_sync(owner, '/MenuBar', 'com.canonical.dbusmenu', 'GetLayout',
                                GLib.Variant('(iias)', (0, -1, [])), None, Gio.DBusCallFlags.NONE,
                                3000, None).unpack()[1]
    labels = [c[1].get('label') for c in layout[2]]
    check(labels == ['Show Wrenchbell', None, 'Quit'], f'tray menu {labels}')
    wd.bus().call_sync(owner, '/MenuBar', 'com.canonical.dbusmenu', 'Event',
                       GLib.Variant('(isvu)', (2, 'clicked', GLib.Variant('s', ''), 0)), None,
                       Gio.DBusCallFlags.NONE, 3000, None)
    time.sleep(1)
    # Nothing happened: signed in, token kept, the request still ringing and still queued.
    app.label('Connected')
    check(ta.stored_token(stack), 'the keyring token is still there')
    check(wd.sni_prop('Status') == 'NeedsAttention', 'still asking for attention')
    check(stack.sql(f"select status from session_assignments where id = '{aid}'") == 'queued', 'still queued')
    check(not [n for n in wd.find_all(app.acc, lambda n: (n.name or '').startswith('Sounds muted'))],
          'not muted')
    app.menu('Acknowledge All')


def t_accept_from_popup(app, stack, notify):
    before = len(notify.notify_calls())
    req = stack.request('--customer', 'Erin Popup')[0]
    wd.wait(lambda: [c for c in notify.notify_calls()[before:] if 'Erin Popup' in c[4]], 15, 'the popup')
    nid = notification_id(notify, 'Erin Popup')
    args = [c for c in notify.notify_calls() if 'Erin Popup' in c[4]][0]
    check('accept' in args[5] and 'snooze' in args[5], f'popup actions {args[5]}')
    app.label('Erin Popup')
    ta.dismiss_toasts(app)
    # The mechanic clicks Accept on the popup: the daemon says so, the app takes it.
    notify.invoke(nid, 'accept')
    app.label('Taken by you', 15)
    mia = stack.sql(f"select m.name from session_assignments a join mechanics m on m.id = a.mechanic_id "
                    f"where a.id = '{req['assignment_id']}' and a.status = 'accepted'")
    check(mia == 'Mia Mechanic', f'the database says {mia!r}')
    ta.shot('accept-taken-by-you')
    # Open Dashboard on the row: the page of this session, in the browser.
    row_button(app, 'Erin Popup', 'Open Dashboard').queryAction().doAction(0)
    url = DASHBOARD.replace('{session_id}', req['session_id'])
    wd.wait(lambda: os.path.exists(OPENED) and url in open(OPENED).read(), 15, 'the dashboard opened')
    w = wd.wait(lambda: [r for r in log_records('withdraw') if r['assignment_id'] == req['assignment_id']],
                10, 'withdraw in the alert log')[0]
    check(w['reason'] == 'taken' and w['taken_by_me'] and w['taken_by'] == 'Mia Mechanic', f'{w}')
    wd.wait(lambda: not wd.find_all(app.main_window(), wd.by_name('Erin Popup', 'label')), 40,
            'the row gone after a while')


def t_taken_elsewhere(app, stack, notify):
    before = len(notify.notify_calls())
    req = stack.request('--customer', 'Frank Elsewhere')[0]
    wd.wait(lambda: [c for c in notify.notify_calls()[before:] if 'Frank Elsewhere' in c[4]], 15, 'popup')
    nid = notification_id(notify, 'Frank Elsewhere')
    wd.wait(lambda: wd.sni_prop('Status') == 'NeedsAttention', 10, 'tray asking for attention')
    app.label('Frank Elsewhere')
    ta.dismiss_toasts(app)
    stack.rpc_accept_as(BOB[0], BOB[1], req['assignment_id'])
    app.label('Taken by Bob Builder', 15)
    wd.wait(lambda: [c for c in notify.calls('CloseNotification') if c[0] == nid], 10, 'the popup closed')
    wd.wait(lambda: wd.sni_prop('Status') == 'Active', 10, 'the tray calm again')
    ta.shot('accept-taken-elsewhere')
    w = wd.wait(lambda: [r for r in log_records('withdraw') if r['assignment_id'] == req['assignment_id']],
                10, 'withdraw in the alert log')[0]
    check(w['reason'] == 'taken' and w['taken_by'] == 'Bob Builder' and not w['taken_by_me'], f'{w}')
    wd.wait(lambda: not wd.find_all(app.main_window(), wd.by_name('Frank Elsewhere', 'label')), 15,
            'the row gone after a few seconds')


def t_lost_accept(app, stack, notify):
    req = stack.request('--customer', 'Gina Lost')[0]
    app.label('Gina Lost')
    # This workstation does not hear about Bob (its socket is frozen) before the mechanic clicks.
    stack.run('fault', 'freeze')
    try:
        stack.rpc_accept_as(BOB[0], BOB[1], req['assignment_id'])
        row_button(app, 'Gina Lost', 'Accept').queryAction().doAction(0)
        app.label('Already taken by Bob Builder', 15)
        check(wd.find_all(app.acc, lambda n: n.name == 'Gina Lost'), 'the row is still there')
    finally:
        stack.run('fault', 'clear')


# ---- a second run: escalation, snooze, the connection alarm (short timings) -----------------

def t_escalation(app, stack, notify):
    before = len(notify.notify_calls())
    stack.request('--customer', 'Hank Escalate')
    first = wd.wait(lambda: [c for c in notify.notify_calls()[before:] if 'Hank Escalate' in c[4]], 15,
                    'the popup')[0]
    check(first[6]['urgency'] == 1, f'normal at first: {first[6]}')
    nid = notification_id(notify, 'Hank Escalate')
    esc = wd.wait(lambda: [c for c in notify.notify_calls() if c[1] == nid
                           and c[3] == 'Still waiting: nobody has taken this request'], 15,
                  'the escalation')[0]
    check(esc[6]['urgency'] == 2, f'critical when escalated: {esc[6]}')
    before = len(notify.notify_calls())
    stack.request('--customer', 'Ivy Urgent', '--urgent')
    urgent = wd.wait(lambda: [c for c in notify.notify_calls()[before:] if 'Ivy Urgent' in c[4]], 15,
                     'the urgent popup')[0]
    check(urgent[6]['urgency'] == 2, f'an urgent request is critical from the start: {urgent[6]}')
    status = json.loads(subprocess.run([ta.BINARY, '--status'], capture_output=True, text=True,
                                       timeout=20).stdout)
    check(status['escalations'] >= 1, f'escalations {status["escalations"]}')


def t_snooze(app, stack, notify):
    before = len(notify.notify_calls())
    stack.request('--customer', 'Jo Snooze')
    wd.wait(lambda: [c for c in notify.notify_calls()[before:] if 'Jo Snooze' in c[4]], 15, 'the popup')
    nid = notification_id(notify, 'Jo Snooze')
    row_button(app, 'Jo Snooze', 'Snooze 5 Minutes').queryAction().doAction(0)
    wd.wait(lambda: [c for c in notify.calls('CloseNotification') if c[0] == nid], 10, 'the popup closed')
    n = len([c for c in notify.notify_calls() if 'Jo Snooze' in c[4]])
    wd.wait(lambda: len([c for c in notify.notify_calls() if 'Jo Snooze' in c[4]]) > n, 15,
            'it rings again after the snooze')
    app.menu('Acknowledge All')


def status():
    r = subprocess.run([ta.BINARY, '--status'], capture_output=True, text=True, timeout=20)
    return json.loads(r.stdout) if r.returncode == 0 else {}


def alarm_notes(notify):
    return [c for c in notify.notify_calls() if c[3] == 'Wrenchbell is not receiving requests']


def pause_stack(stack, seconds):
    pid = stack.standin_pid()
    os.killpg(pid, signal.SIGSTOP)
    try:
        time.sleep(seconds)
    finally:
        os.killpg(pid, signal.SIGCONT)


def t_connection_alarm(app, stack, notify, alarm_s):
    app.label('Connected')
    # A brief outage, shorter than the alarm's delay: nothing said.
    pause_stack(stack, 2)
    app.label('Connected', 30)
    time.sleep(alarm_s + 2)
    check(not alarm_notes(notify), 'no alarm for a brief outage')
    check(status().get('connection_alarms') == 0, f'{status()}')
    # A long one: the distinct notification with the reason, the tray, the window banner.
    pid = stack.standin_pid()
    os.killpg(pid, signal.SIGSTOP)
    try:
        note = wd.wait(lambda: alarm_notes(notify), alarm_s + 30, 'the connection alarm')[0]
        check(note[4].startswith('Since ') and 'Connection lost' in note[4], f'body {note[4]!r}')
        wd.find(app.main_window(), wd.name_starts('Not receiving requests since', 'label'), 15, 'the banner')
        check(wd.sni_prop('ToolTip')[3].startswith('Not receiving requests since'), 'tray tooltip')
        st = status()
        check(st['not_receiving_since'] is not None and st['connection_alarm'] is True, f'{st}')
        ta.shot('connection-alarm')
    finally:
        os.killpg(pid, signal.SIGCONT)
    # Back: it clears itself.
    nid = popup_id(notify, lambda args: args[3] == 'Wrenchbell is not receiving requests')
    app.label('Connected', 40)
    wd.wait(lambda: [c for c in notify.calls('CloseNotification') if c[0] == nid], 10, 'the alarm closed')
    wd.wait(lambda: status().get('not_receiving_since', 'x') is None, 10, 'not_receiving_since cleared')
    check(status()['connection_alarms'] == 1, 'exactly one alarm')
    check(len(alarm_notes(notify)) == 1, 'one notification for the alarm')


def main():
    ta.unlock_keyring()
    gtk_conf = os.path.join(os.environ.get('XDG_CONFIG_HOME', ta.TMP), 'gtk-4.0')
    os.makedirs(gtk_conf, exist_ok=True)
    with open(os.path.join(gtk_conf, 'settings.ini'), 'w') as f:
        f.write('[Settings]\ngtk-cursor-blink=false\n')
    install_fake_browser()
    print('1..7', flush=True)
    stack = Stack()
    stack.run('mechanic', *BOB)
    notify = wd.NotifyDaemon()
    watcher = wd.Watcher()
    app = None
    try:
        app = ta.App(stack, 'accept-app', args=['--alert-log', ALERT_LOG],
                     extra={'WRENCHBELL_DASHBOARD_URL': DASHBOARD})
        ta.run('another process on the bus cannot sign out, accept, mute or acknowledge',
               t_bus_cannot_act, app, stack, notify)
        ta.run('Accept on the popup (ActionInvoked) takes it: the row says so, Open Dashboard opens it',
               t_accept_from_popup, app, stack, notify)
        ta.run('taken by another mechanic: popup closed, tray calm, "Taken by Bob Builder", row goes',
               t_taken_elsewhere, app, stack, notify)
        ta.run('a lost accept says "Already taken by Bob Builder" and changes nothing else',
               t_lost_accept, app, stack, notify)
        app.quit()
        alarm_s = 6
        app = ta.App(stack, 'accept-timed', extra={'WB_ESCALATE_MS': '3000', 'WB_SNOOZE_MS': '2500',
                                                   'WB_CONNECTION_ALARM_MS': str(alarm_s * 1000),
                                                   'WB_HEARTBEAT_MS': '1000'})
        ta.run('escalation rings critical; an urgent request is critical from the start',
               t_escalation, app, stack, notify)
        ta.run('Snooze on the row: popup closed, rings again after', t_snooze, app, stack, notify)
        ta.run('connection alarm after a long outage (notification, tray, banner, --status), none '
               'after a short one, cleared on resubscribe', t_connection_alarm, app, stack, notify, alarm_s)
        app.quit()
        app = None
    finally:
        if app is not None and app.p.poll() is None:
            app.p.kill()
        watcher.stop()
        notify.stop()
        stack.down()
    return 0 if all(ta.results) else 1


if __name__ == '__main__':
    sys.exit(main())
