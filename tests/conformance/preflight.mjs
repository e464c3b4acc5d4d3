// Loaded with `node --import` before the test runner starts: fail at once, with the fix, when
// the pinned official clients are not installed.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const modules = fileURLToPath(new URL('node_modules/@supabase/supabase-js/package.json', import.meta.url));
if (!existsSync(modules) || !existsSync(fileURLToPath(new URL('node_modules/ws/package.json', import.meta.url)))) {
  process.stderr.write('conformance: tests/conformance/node_modules is missing (the pinned supabase-js and ws).\n' +
                       'conformance: run `build-aux/run deps` (it runs `npm ci` in tests/conformance), then retry.\n');
  process.exit(1);
}
