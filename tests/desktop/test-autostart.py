#!/usr/bin/python3
'''Start at login, both paths (issue 5).

Run as: wb-test-env dbus-run-session -- python3 test-autostart.py WB_AUTOSTART_TOOL
(wb-test-env gives a throw-away XDG_CONFIG_HOME; dbus-run-session a private session bus on which
the Background portal is a python-dbusmock template.)

Prints TAP.
'''
import configparser
import json
import os
import shutil
import subprocess
import sys
import time

import dbus

APP_ID = 'io.github.wrenchbell.Wrenchbell'
HERE = os.path.dirname(os.path.abspath(__file__))
TOOL = sys.argv[1]
TEMPLATE = os.path.join(HERE, 'portal_background_mock.py')

results = []


def check(name, cond, detail=''):
    results.append((name, bool(cond), detail))
    if not cond:
        print(f'# FAILED {name}: {detail}', flush=True)


def tool(*args, portal=False, extra_env=None):
    env = dict(os.environ)
    env.pop('WB_FORCE_PORTAL', None)
    if portal:
        env['WB_FORCE_PORTAL'] = '1'
    env.update(extra_env or {})
    p = subprocess.run([TOOL, *args], env=env, capture_output=True, text=True, timeout=30)
    return p.returncode, p.stdout.strip(), p.stderr.strip()


def test_file_path():
    config = os.environ['XDG_CONFIG_HOME']
    path = os.path.join(config, 'autostart', APP_ID + '.desktop')

    rc, out, _ = tool('uses-portal')
    check('file: outside Flatpak the file is used', rc == 0 and out == 'false', out)
    rc, out, _ = tool('path')
    check('file: path is $XDG_CONFIG_HOME/autostart/<app-id>.desktop', out == path, out)
    rc, out, _ = tool('is-enabled')
    check('file: disabled at first', out == 'false', out)

    rc, out, err = tool('enable')
    check('file: enable succeeds', rc == 0, out + err)
    check('file: autostart file created', os.path.isfile(path), path)
    if os.path.isfile(path):
        cp = configparser.RawConfigParser(strict=True)
        cp.optionxform = str
        cp.read(path)
        entry = cp['Desktop Entry'] if cp.has_section('Desktop Entry') else {}
        check('file: Exec=wrenchbell --background', entry.get('Exec') == 'wrenchbell --background',
              entry.get('Exec'))
        check('file: X-GNOME-Autostart-enabled=true',
              entry.get('X-GNOME-Autostart-enabled') == 'true', str(dict(entry)))
        check('file: Type=Application', entry.get('Type') == 'Application')
        check('file: Icon is the app id', entry.get('Icon') == APP_ID)
        dfv = shutil.which('desktop-file-validate')
        if dfv:
            p = subprocess.run([dfv, path], capture_output=True, text=True)
            check('file: desktop-file-validate accepts it', p.returncode == 0 and not p.stdout.strip(),
                  p.stdout + p.stderr)
        leftovers = [f for f in os.listdir(os.path.dirname(path)) if f != APP_ID + '.desktop']
        check('file: written atomically (no temporary files left)', not leftovers, str(leftovers))

    rc, out, _ = tool('is-enabled')
    check('file: is-enabled after enable', out == 'true', out)

    rc, out, err = tool('enable')
    check('file: enabling twice is fine', rc == 0 and os.path.isfile(path), out + err)

    # A file the user disabled by hand is reported as disabled.
    with open(path, 'a', encoding='utf-8') as f:
        f.write('Hidden=true\n')
    rc, out, _ = tool('is-enabled')
    check('file: Hidden=true counts as disabled', out == 'false', out)

    rc, out, err = tool('disable')
    check('file: disable succeeds', rc == 0, out + err)
    check('file: autostart file removed', not os.path.exists(path))
    rc, out, _ = tool('is-enabled')
    check('file: is-enabled after disable', out == 'false', out)
    rc, out, err = tool('disable')
    check('file: disabling twice is fine', rc == 0, out + err)

    # The folder cannot be created: the error reaches the caller with a message.
    autostart_dir = os.path.dirname(path)
    os.rmdir(autostart_dir)
    with open(autostart_dir, 'w', encoding='utf-8') as f:
        f.write('not a folder')
    rc, out, err = tool('enable')
    check('file: a write failure is reported, not swallowed',
          rc == 1 and out.startswith('error: ') and len(out) > len('error: g-io-error-quark: 0: '),
          out + err)
    os.unlink(autostart_dir)


class Portal:
    '''The dbusmock Background portal on the private session bus.'''

    def __init__(self, outcome):
        self.proc = subprocess.Popen(
            [sys.executable, '-m', 'dbusmock', '--session', '--template', TEMPLATE,
             '--parameters', json.dumps({'outcome': outcome})],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        bus = dbus.SessionBus()
        deadline = time.monotonic() + 10
        while not bus.name_has_owner('org.freedesktop.portal.Desktop'):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError('dbusmock portal did not start')
            time.sleep(0.05)
        self.mock = dbus.Interface(bus.get_object('org.freedesktop.portal.Desktop',
                                                  '/org/freedesktop/portal/desktop'),
                                   'org.freedesktop.DBus.Mock')

    def calls(self):
        return self.mock.GetMethodCalls('RequestBackground')

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)
        bus = dbus.SessionBus()
        deadline = time.monotonic() + 10
        while bus.name_has_owner('org.freedesktop.portal.Desktop') and time.monotonic() < deadline:
            time.sleep(0.05)


def test_portal_path():
    config = os.environ['XDG_CONFIG_HOME']
    path = os.path.join(config, 'autostart', APP_ID + '.desktop')

    rc, out, _ = tool('uses-portal', portal=True)
    check('portal: WB_FORCE_PORTAL=1 selects the portal', out == 'true', out)

    portal = Portal('grant')
    try:
        rc, out, err = tool('enable', portal=True)
        check('portal: granted request succeeds', rc == 0 and out == 'ok', out + err)
        calls = portal.calls()
        check('portal: RequestBackground called once', len(calls) == 1, str(calls))
        if calls:
            _, args = calls[0]
            options = args[1]
            check('portal: autostart requested', bool(options.get('autostart')) is True,
                  str(options))
            check('portal: commandline is wrenchbell --background',
                  [str(s) for s in options.get('commandline', [])] == ['wrenchbell', '--background'],
                  str(options.get('commandline')))
            check('portal: a reason is given', len(str(options.get('reason', ''))) > 10,
                  str(options.get('reason')))
            check('portal: no parent window given', str(args[0]) == '', str(args[0]))
        check('portal: no autostart file written by the app itself', not os.path.exists(path))

        rc, out, err = tool('disable', portal=True)
        check('portal: disable succeeds', rc == 0, out + err)
        calls = portal.calls()
        if len(calls) == 2:
            options = calls[1][1][1]
            check('portal: disable asks with autostart=false',
                  bool(options.get('autostart')) is False, str(options))
        else:
            check('portal: disable calls RequestBackground', False, str(calls))
    finally:
        portal.stop()

    for outcome, what in (('deny', 'autostart=false in the results'),
                          ('cancel', 'the user said no (Response 1)')):
        portal = Portal(outcome)
        try:
            rc, out, err = tool('enable', portal=True)
            check(f'portal: refusal is an error ({what})',
                  rc == 1 and 'g-io-error-quark: 14:' in out and 'not allowed' in out,
                  out + err)
        finally:
            portal.stop()

    portal = Portal('fail')
    try:
        rc, out, err = tool('enable', portal=True)
        check('portal: a failed request is an error', rc == 1 and out.startswith('error: '),
              out + err)
    finally:
        portal.stop()

    # No portal on the bus at all (e.g. xdg-desktop-portal missing): an error, not a hang. On a
    # bus of its own with no service directories, so an installed xdg-desktop-portal cannot be
    # activated instead.
    with BareBus() as address:
        rc, out, err = tool('enable', portal=True,
                            extra_env={'DBUS_SESSION_BUS_ADDRESS': address})
    check('portal: no portal service is an error', rc == 1 and out.startswith('error: '),
          out + err)


class BareBus:
    '''A session bus that can activate nothing (no service directories).'''

    def __enter__(self):
        self.conf = os.path.join(os.environ.get('XDG_RUNTIME_DIR', '/tmp'), 'bare-bus.conf')
        with open(self.conf, 'w') as f:
            f.write('<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"'
                    ' "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">\n'
                    '<busconfig><type>session</type><listen>unix:tmpdir=/tmp</listen>'
                    '<auth>EXTERNAL</auth><policy context="default">'
                    '<allow send_destination="*" eavesdrop="true"/><allow eavesdrop="true"/>'
                    '<allow own="*"/></policy></busconfig>\n')
        self.proc = subprocess.Popen(['dbus-daemon', '--nofork', '--config-file', self.conf,
                                      '--print-address=1'], stdout=subprocess.PIPE, text=True)
        return self.proc.stdout.readline().strip()

    def __exit__(self, *exc):
        self.proc.terminate()
        self.proc.wait(10)
        os.unlink(self.conf)


def test_background_status():
    '''The Background Apps status line (WbBackgroundStatus) and its SetStatus call.'''
    utf8 = {'LC_ALL': 'C.UTF-8', 'LANGUAGE': ''}

    def fields(out):
        return dict(line.split(': ', 1) for line in out.splitlines() if ': ' in line)

    for waiting, state, want in (('3', 'subscribed', '3 requests waiting'),
                                 ('1', 'disconnected', '1 request waiting'),
                                 ('0', 'subscribed', 'Listening'),
                                 ('0', 'signed_out', 'Signed out'),
                                 ('0', 'disconnected', 'Connecting…')):
        rc, out, err = tool('status', waiting, state, extra_env=utf8)
        check(f'status: {waiting} waiting, {state}: {want!r}',
              rc == 0 and fields(out).get('message') == want, out + err)
    rc, out, err = tool('status', '3', 'subscribed', extra_env=utf8)
    check('status: outside Flatpak nothing is sent', fields(out).get('can-send') == 'false',
          out + err)

    portal = Portal('grant')
    try:
        rc, out, err = tool('status', '3', 'subscribed', portal=True, extra_env=utf8)
        calls = portal.mock.GetMethodCalls('SetStatus')
        if fields(out).get('can-send') == 'true':
            check('status: SetStatus carries the line',
                  len(calls) == 1 and str(calls[0][1][0].get('message')) == '3 requests waiting',
                  str(calls))
            check('status: the portal took it', fields(out).get('sent') == '1', out + err)
        else:
            # Built against libportal < 0.7 (Debian 12): SetStatus is compiled out; the
            # Flatpak (libportal 0.9) is checked by build-aux/run flatpak-check.
            check('status: without libportal 0.7 nothing is sent', rc == 0 and not calls,
                  str(calls) + out + err)
    finally:
        portal.stop()


def main():
    if 'DBUS_SESSION_BUS_ADDRESS' not in os.environ:
        print('1..0 # SKIP needs a session bus (run under dbus-run-session)')
        return 0
    try:
        test_file_path()
        test_portal_path()
        test_background_status()
    except Exception as e:  # pylint: disable=broad-except
        check('no exception', False, repr(e))

    print(f'1..{len(results)}')
    for i, (name, ok, detail) in enumerate(results, 1):
        print(f'{"ok" if ok else "not ok"} {i} - {name}')
        if not ok and detail:
            for line in str(detail).splitlines():
                print(f'#   {line}')
    return 0 if all(ok for _, ok, _ in results) else 1


if __name__ == '__main__':
    sys.exit(main())
