#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
'''Checks that src/DESIGN.md, the source map, matches the tree (issue 13).

Fails, naming each one, when
- a source file under src/ is not named in src/DESIGN.md, or
- src/DESIGN.md names a file (or folder) that does not exist.

Source files: every *.c, *.h, *.ui, *.blp, *.css and *.gresource.xml under src/ (not meson.build:
every folder has one, and the map is about the code).

What counts as naming a file in DESIGN.md, anywhere in the text (backticks or not):
- its basename (`wb-json.c`) or a path to it (`core/wb-json.c`, `src/core/wb-json.c`,
  `../src/core/wb-json.c`), with braces expanded (`wb-json.{c,h}` names both);
- a suffix written after a sibling, as the map does for split files (`wb-alert-dispatcher.{c,h}`
  (+ `-settings.c`)): the one source file whose name ends so, or, if several do, the one that
  starts with the nearest `wb-…` name before it on the same line;
- a module's bare name (`wb-queue-view`): every source file with that stem (.c, .h, .ui).

How a name in DESIGN.md is judged:
- with a folder (`tests/bench/cold-start`, `core/wb-json.h`, `data/sounds/`): it must exist
  relative to the repository root or to src/;
- a bare basename (`wb-json.h`): some file under src/ (or docs/) has it, or a meson.build
  under src/ generates it (`wb-sni-generated.h`);
- a bare `wb-…` module name: some source file under src/ has that stem;
- runtime paths (`$XDG_STATE_HOME/…`), URLs and globs are not files of the tree and are skipped.

Usage: check-design-map.py SOURCE_ROOT
'''
import os
import re
import sys

SOURCE_EXTS = ('.gresource.xml', '.c', '.h', '.ui', '.blp', '.css')
# Extensions of names DESIGN.md may mention that are files of the repository.
NAMED_EXTS = r'(?:gresource\.xml|c|h|ui|blp|css|xml|py|sh|md|json|sql|mjs|js|build|in|oga|ogg|svg|png|txt)'
TOP_DIRS = ('src', 'tests', 'docs', 'data', 'build-aux', 'po', 'flatpak')

# A name: optional folders, then a basename with an extension or a {a,b} group; or a suffix
# starting with '-'. It may not start inside a longer word or path ($VAR/…, https://…).
NAME_RE = re.compile(r'(?<![\w$/.{}*-])'
                     r'((?:\.\./|\./)*(?:[\w.-]+/)*-?[\w.-]*?(?:\.\{[\w,.]+\}|\.' + NAMED_EXTS + r'))'
                     r'(?![\w/{-]|\.\w)')
# A folder path ending in '/', e.g. `data/sounds/`, `ui/`, `src/core/`.
DIR_RE = re.compile(r'(?<![\w$/.*-])((?:[\w.-]+/)+)(?![\w.*-])')
# A path without an extension under a top-level folder, e.g. tests/bench/cold-start.
TOPPATH_RE = re.compile(r'(?<![\w$/.*-])((?:' + '|'.join(map(re.escape, TOP_DIRS)) +
                        r')/[\w.-]+(?:/[\w.-]+)*)(?![\w/*-])')
# A module's bare name: wb-foo-bar, not followed by an extension, a brace or a path.
STEM_RE = re.compile(r'(?<![\w$/.*-])(wb-[a-z0-9]+(?:-[a-z0-9]+)*)(?![\w.{/-])')
BRACE_RE = re.compile(r'^(.*)\{([^{}]*)\}(.*)$')


def stem_of(name):
    for ext in SOURCE_EXTS:
        if name.endswith(ext):
            return name[:-len(ext)]
    return os.path.splitext(name)[0]


def expand(token):
    m = BRACE_RE.match(token)
    if not m:
        return [token]
    out = []
    for alt in m.group(2).split(','):
        out.extend(expand(m.group(1) + alt + m.group(3)))
    return out


def main(argv):
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    root = os.path.abspath(argv[1])
    src = os.path.join(root, 'src')
    design_path = os.path.join(src, 'DESIGN.md')
    with open(design_path, encoding='utf-8') as f:
        lines = f.read().splitlines()

    # Everything under src/: source files to map, and every file a bare basename may mean.
    sources = []            # paths relative to the repository root
    by_basename = {}        # basename -> [relative paths], under src/ and docs/
    for top in ('src', 'docs'):
        for dirpath, dirnames, filenames in os.walk(os.path.join(root, top)):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith('.'))
            for fn in sorted(filenames):
                rel = os.path.relpath(os.path.join(dirpath, fn), root)
                by_basename.setdefault(fn, []).append(rel)
                if top == 'src' and fn.endswith(SOURCE_EXTS):
                    sources.append(rel)
    by_stem = {}
    for rel in sources:
        by_stem.setdefault(stem_of(os.path.basename(rel)), []).append(rel)
    generated = ''
    for dirpath, dirnames, filenames in os.walk(src):
        if 'meson.build' in filenames:
            with open(os.path.join(dirpath, 'meson.build'), encoding='utf-8') as f:
                generated += f.read()

    def resolve_path(name):
        '''A name with a folder: relative to the root, to src/, or to DESIGN.md's folder.'''
        for base in (root, src):
            p = os.path.normpath(os.path.join(base, name))
            if os.path.exists(p) and (p == root or p.startswith(root + os.sep)):
                return os.path.relpath(p, root)
        return None

    mapped = set()
    unknown = []            # (line number, name, why)

    for lineno, line in enumerate(lines, 1):
        spans = []          # character spans already taken by a name on this line
        last_stem = None    # the nearest wb-… name before, for '-suffix.c'

        def taken(m):
            return any(a < m.end(1) and m.start(1) < b for a, b in spans)

        events = []
        for m in NAME_RE.finditer(line):
            events.append((m.start(1), 'name', m))
        for m in TOPPATH_RE.finditer(line):
            events.append((m.start(1), 'toppath', m))
        for m in DIR_RE.finditer(line):
            events.append((m.start(1), 'dir', m))
        for m in STEM_RE.finditer(line):
            events.append((m.start(1), 'stem', m))
        order = {'name': 0, 'toppath': 1, 'dir': 2, 'stem': 3}
        events.sort(key=lambda e: (e[0], order[e[1]]))

        for _, kind, m in events:
            if taken(m):
                continue
            token = m.group(1)
            if kind == 'name':
                spans.append(m.span(1))
                for name in expand(token):
                    base = os.path.basename(name)
                    if name.startswith('-'):
                        cands = [r for r in sources if os.path.basename(r).endswith(name)]
                        if len(cands) > 1 and last_stem:
                            def shared(r):
                                return len(os.path.commonprefix([os.path.basename(r), last_stem]))
                            best = max(shared(r) for r in cands)
                            cands = [r for r in cands if shared(r) == best]
                        if cands:
                            mapped.update(cands)
                        else:
                            unknown.append((lineno, name, 'no source file ends so'))
                        continue
                    if '/' in name:
                        rel = resolve_path(name)
                        if rel:
                            mapped.add(rel)
                        else:
                            unknown.append((lineno, name, 'no such path from the root or src/'))
                    elif base in by_basename:
                        mapped.update(by_basename[base])
                    elif re.search(r"['\"]" + re.escape(stem_of(base)) + r"['\".]", generated):
                        pass        # generated by a meson.build under src/ ('wb-sni-generated')
                    else:
                        unknown.append((lineno, name, 'no file of that name under src/ or docs/'))
                    if base.startswith('wb-'):
                        last_stem = stem_of(base)
            elif kind in ('toppath', 'dir'):
                spans.append(m.span(1))
                rel = resolve_path(token)
                if rel is None:
                    unknown.append((lineno, token, 'no such path from the root or src/'))
                elif os.path.isfile(os.path.join(root, rel)):
                    mapped.add(rel)
            else:   # stem
                spans.append(m.span(1))
                if token in by_stem:
                    mapped.update(by_stem[token])
                else:
                    unknown.append((lineno, token, 'no source file under src/ has that name'))
                last_stem = token

    missing = [r for r in sources if r not in mapped]
    rel_design = os.path.relpath(design_path, root)
    if missing:
        print('%s does not name %d source file(s):' % (rel_design, len(missing)))
        for r in missing:
            print('  missing: %s' % r)
    if unknown:
        print('%s names %d file(s) that do not exist:' % (rel_design, len(unknown)))
        for lineno, name, why in unknown:
            print('  unknown: %s:%d: %s (%s)' % (rel_design, lineno, name, why))
    if missing or unknown:
        return 1
    print('%s names every one of the %d source files under src/, and nothing else'
          % (rel_design, len(sources)))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
