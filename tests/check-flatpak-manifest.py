#!/usr/bin/python3
'''Checks flatpak/io.github.wrenchbell.Wrenchbell.json without the network (issue 5).

- it parses; id, command and runtime are right; the SDK matches the runtime;
- finish-args are exactly the allowed list (no own-name of org.kde.*, no notification hole);
- libportal is a module, built from a pinned release archive with a sha256;
- the app module is the last one, builds the local tree ({"type": "dir", "path": ".."}) with
  meson, builddir and run-tests, and installs COPYING through license-files;
- every local path the manifest names exists;
- if flatpak-builder is installed, `flatpak-builder --show-manifest` accepts it.

Usage: check-flatpak-manifest.py SOURCE_ROOT
'''
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

APP_ID = 'io.github.wrenchbell.Wrenchbell'
ALLOWED_FINISH_ARGS = [
    '--share=network',
    '--share=ipc',
    '--socket=wayland',
    '--socket=fallback-x11',
    '--device=dri',
    '--socket=pulseaudio',
    '--talk-name=org.kde.StatusNotifierWatcher',
    # logind's PrepareForSleep, so a resume reconnects at once (WbSleepMonitor); without it the
    # sandbox has no system bus and a resume is only noticed by the clock check, up to 10 s
    # later (found by build-aux/run flatpak-check, issue 15).
    '--system-talk-name=org.freedesktop.login1',
]
LOCAL_SOURCE_TYPES = {'dir', 'file', 'patch', 'script', 'shell', 'inline'}

failures = []


def check(cond, msg):
    if not cond:
        failures.append(msg)


def walk_modules(modules, base_dir, found):
    for m in modules:
        if isinstance(m, str):
            # A module given as a path to another JSON file.
            path = os.path.normpath(os.path.join(base_dir, m))
            check(os.path.isfile(path), f'module file {m} does not exist ({path})')
            if os.path.isfile(path):
                with open(path, encoding='utf-8') as f:
                    sub = json.load(f)
                found.append(sub)
                walk_modules(sub.get('modules', []), os.path.dirname(path), found)
            continue
        found.append(m)
        for src in m.get('sources', []):
            if isinstance(src, str):
                path = os.path.normpath(os.path.join(base_dir, src))
                check(os.path.isfile(path), f'source file {src} does not exist ({path})')
                continue
            if 'path' in src:
                path = os.path.normpath(os.path.join(base_dir, src['path']))
                check(os.path.exists(path),
                      f'module {m.get("name")}: local path {src["path"]} does not exist ({path})')
            for p in src.get('paths', []):
                path = os.path.normpath(os.path.join(base_dir, p))
                check(os.path.exists(path),
                      f'module {m.get("name")}: local path {p} does not exist ({path})')
            if src.get('type') in ('archive', 'file') and 'url' in src:
                check(re.fullmatch(r'[0-9a-f]{64}', src.get('sha256', '')) is not None,
                      f'module {m.get("name")}: {src["url"]} has no pinned sha256')
            if src.get('type') not in LOCAL_SOURCE_TYPES | {'archive', 'git', 'extra-data'}:
                failures.append(f'module {m.get("name")}: unexpected source type {src.get("type")}')
        walk_modules(m.get('modules', []), base_dir, found)


def main():
    top = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), '..')
    manifest_path = os.path.join(top, 'flatpak', APP_ID + '.json')
    base_dir = os.path.dirname(os.path.abspath(manifest_path))

    with open(manifest_path, encoding='utf-8') as f:
        manifest = json.load(f)

    check(manifest.get('id', manifest.get('app-id')) == APP_ID, f'id is not {APP_ID}')
    check(manifest.get('command') == 'wrenchbell', 'command is not wrenchbell')
    check(manifest.get('runtime') == 'org.gnome.Platform', 'runtime is not org.gnome.Platform')
    check(manifest.get('sdk') == 'org.gnome.Sdk', 'sdk is not org.gnome.Sdk')
    version = str(manifest.get('runtime-version', ''))
    check(re.fullmatch(r'[0-9]+', version) is not None,
          f'runtime-version {version!r} is not a stable branch number (not master/nightly)')

    finish_args = manifest.get('finish-args', [])
    check(finish_args == ALLOWED_FINISH_ARGS,
          'finish-args differ from the allowed list:\n  got      %s\n  expected %s'
          % (finish_args, ALLOWED_FINISH_ARGS))
    for a in finish_args:
        check(not a.startswith('--own-name=org.kde.'), f'{a}: the Flathub linter rejects it')
        check('org.freedesktop.Notifications' not in a,
              f'{a}: libnotify uses the notification portal inside the sandbox')

    modules = []
    walk_modules(manifest.get('modules', []), base_dir, modules)
    names = [m.get('name') for m in modules]
    check('libportal' in names, 'libportal is not a module (the GNOME 49 runtime lacks it)')
    for m in modules:
        if m.get('name') == 'libportal':
            check(m.get('buildsystem') == 'meson', 'libportal: buildsystem is not meson')
            opts = m.get('config-opts', [])
            check('-Dbackend-gtk4=enabled' in opts, 'libportal: GTK 4 backend not enabled')
            urls = [s.get('url', '') for s in m.get('sources', []) if isinstance(s, dict)]
            check(any(re.search(r'/libportal-[0-9.]+\.tar\.xz$', u) for u in urls),
                  'libportal: not built from a release archive')

    app = manifest.get('modules', [{}])[-1]
    check(isinstance(app, dict) and app.get('name') == 'wrenchbell',
          'the app module (wrenchbell) is not the last module')
    if isinstance(app, dict):
        check(app.get('buildsystem') == 'meson', 'app module: buildsystem is not meson')
        check(app.get('builddir') is True, 'app module: builddir is not true')
        check(app.get('run-tests') is True, 'app module: run-tests is not true')
        # The metainfo declares GPL-3.0-or-later: the licence text ships in the app.
        # flatpak-builder >= 1.4.5 copies license-files to share/licenses/$FLATPAK_ID/wrenchbell/
        # (older ones warn about the key and rely on meson's install_data of COPYING).
        license_files = app.get('license-files', [])
        check(isinstance(license_files, list) and 'COPYING' in license_files,
              'app module: license-files does not include COPYING')
        for lf in license_files if isinstance(license_files, list) else []:
            check(os.path.isfile(os.path.join(base_dir, '..', lf)),
                  f'app module: license file {lf} does not exist')
        # The tests run in the build: only those needing what org.gnome.Sdk lacks are left out.
        opts = app.get('config-opts', [])
        check('-Dtests=true' in opts, 'app module: -Dtests=true missing (run-tests runs nothing)')
        check([o for o in opts if 'test' in o] == ['-Dtests=true', '-Dhost_tests=false'],
              f'app module: test options {[o for o in opts if "test" in o]} are not exactly '
              '-Dtests=true -Dhost_tests=false')
        check({'type': 'dir', 'path': '..'} in app.get('sources', []),
              'app module: sources do not include {"type": "dir", "path": ".."}')
        app_dir = os.path.normpath(os.path.join(base_dir, '..'))
        check(os.path.isfile(os.path.join(app_dir, 'meson.build')),
              f'app module: {app_dir} is not the meson project')
    libportal_index = names.index('libportal') if 'libportal' in names else -1
    check(libportal_index < names.index('wrenchbell') if 'wrenchbell' in names else False,
          'libportal must be built before the app')

    builder = shutil.which('flatpak-builder')
    if builder:
        # In a directory of its own: flatpak-builder leaves a .flatpak-builder/ where it runs.
        with tempfile.TemporaryDirectory() as cwd:
            p = subprocess.run([builder, '--show-manifest', os.path.abspath(manifest_path)],
                               capture_output=True, text=True, timeout=60, cwd=cwd)
        check(p.returncode == 0, f'flatpak-builder --show-manifest failed: {p.stderr.strip()}')
        print('flatpak-builder --show-manifest: ok' if p.returncode == 0 else '')
    else:
        print('flatpak-builder not installed: syntax check by the json module only')

    for f in failures:
        print('FAIL:', f, file=sys.stderr)
    if not failures:
        print(f'{os.path.relpath(manifest_path, top)}: ok ({len(modules)} modules, '
              f'{len(finish_args)} finish-args)')
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
