// Shared helpers for the conformance suite: start/stop a private stand-in stack, drive it with
// `tests/stack/stack`, build official supabase-js clients and collect what they receive.
//
// Every test file starts its own stack in a temporary directory (`stack up --dir D --port 0`)
// and tears it down in `after()` (plus a synchronous `stack down` on process exit, so a crash or
// a test-runner timeout never leaves PostgreSQL clusters behind).

import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const here = fileURLToPath(new URL('.', import.meta.url));
export const STACK = fileURLToPath(new URL('../stack/stack', import.meta.url));

if (!existsSync(join(here, 'node_modules', '@supabase', 'supabase-js'))) {
  console.error('tests/conformance/node_modules is missing: run `build-aux/run deps` ' +
                '(it runs `npm ci` in tests/conformance) first.');
  process.exit(1);
}

const require = createRequire(import.meta.url);
export const { createClient } = require('@supabase/supabase-js');
export const WebSocket = require('ws');

export const CUSTOMER_EMAIL = 'customer@example.com';
export const CUSTOMER_PASSWORD = 'wrenchbell-demo';

// The realtime protocol versions every realtime test runs with: supabase-js's default (2.0.0)
// and the JSON-object serializer the C client uses.
export const VSNS = [
  { name: 'vsn default (2.0.0)', vsn: undefined },
  { name: 'vsn 1.0.0', vsn: '1.0.0' },
];

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// The key profile of this run (meson runs the suite once per registered profile, through
// WB_CONFORMANCE_PROFILE): the stack's legacy-key mode, and which keys `client()` uses by
// default ('anon': the low-privilege key; 'service': the elevated one).
export const PROFILES = {
  legacy: { legacyKeys: 'on', anon: 'WRENCHBELL_ANON_KEY', service: 'SERVICE_ROLE_KEY' },
  publishable: { legacyKeys: 'on', anon: 'WRENCHBELL_PUBLISHABLE_KEY', service: 'SECRET_KEY' },
  'publishable-legacy-off': { legacyKeys: 'off', anon: 'WRENCHBELL_PUBLISHABLE_KEY', service: 'SECRET_KEY' },
};
export const PROFILE_NAME = process.env.WB_CONFORMANCE_PROFILE || 'legacy';
export const PROFILE = PROFILES[PROFILE_NAME];
if (!PROFILE) {
  console.error(`WB_CONFORMANCE_PROFILE=${PROFILE_NAME}: not one of ${Object.keys(PROFILES).join(', ')}`);
  process.exit(1);
}

function run(args, { timeout = 60000, input, env } = {}) {
  return new Promise((resolve, reject) => {
    const child = execFile(STACK, args, { timeout, maxBuffer: 64 << 20, killSignal: 'SIGKILL',
                                          env: env ? { ...process.env, ...env } : process.env },
      (err, stdout, stderr) => {
        if (err) {
          err.message = `stack ${args.join(' ')} failed (${err.code ?? err.signal}): ${stderr.trim()}`;
          reject(err);
        } else {
          resolve(stdout);
        }
      });
    if (input !== undefined) child.stdin.end(input);
  });
}

function parseEnv(text) {
  const env = {};
  for (const line of text.split('\n')) {
    const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (!m) continue;
    let v = m[2].trim();
    if ((v.startsWith("'") && v.endsWith("'")) || (v.startsWith('"') && v.endsWith('"'))) {
      v = v.slice(1, -1);
    }
    env[m[1]] = v;
  }
  return env;
}

const live = new Set();
process.on('exit', () => {
  for (const dir of live) {
    try { execFileSync(STACK, ['down', '--dir', dir], { timeout: 30000, stdio: 'ignore' }); } catch {}
    try { rmSync(dir, { recursive: true, force: true }); } catch {}
  }
});
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));

export class Stack {
  // opts.profile: a PROFILES name (default: this run's); opts.legacyKeys: 'on' | 'off' (default:
  // the profile's); opts.env: extra environment for the stand-in (e.g. its STANDIN_* knobs).
  // anonKey / serviceKey are the profile's keys; the four keys are also there by name.
  static async up(opts = {}) {
    const profile = PROFILES[opts.profile ?? PROFILE_NAME];
    const legacyKeys = opts.legacyKeys ?? profile.legacyKeys;
    const dir = mkdtempSync(join(process.env.WB_TEST_TMP || tmpdir(), 'wb-conf-'));
    live.add(dir);
    let out;
    try {
      out = await run(['up', '--dir', dir, '--port', '0', '--legacy-keys', legacyKeys],
                      { timeout: 180000, env: opts.env });
    } catch (e) {
      await Stack.prototype.down.call({ dir });
      throw e;
    }
    const s = new Stack();
    s.dir = dir;
    s.env = parseEnv(out);
    for (const k of ['WRENCHBELL_URL', 'WRENCHBELL_ANON_KEY', 'SERVICE_ROLE_KEY', 'WRENCHBELL_PUBLISHABLE_KEY',
                     'SECRET_KEY', 'LEGACY_KEYS', 'WRENCHBELL_EMAIL', 'WRENCHBELL_PASSWORD']) {
      if (!s.env[k]) throw new Error(`stack up did not print ${k}=…`);
    }
    if (s.env.LEGACY_KEYS !== legacyKeys) throw new Error(`stack up printed LEGACY_KEYS=${s.env.LEGACY_KEYS}`);
    s.url = s.env.WRENCHBELL_URL;
    s.legacyKeys = legacyKeys;
    s.legacyAnonKey = s.env.WRENCHBELL_ANON_KEY;
    s.legacyServiceKey = s.env.SERVICE_ROLE_KEY;
    s.publishableKey = s.env.WRENCHBELL_PUBLISHABLE_KEY;
    s.secretKey = s.env.SECRET_KEY;
    s.anonKey = s.env[profile.anon];
    s.serviceKey = s.env[profile.service];
    s.email = s.env.WRENCHBELL_EMAIL;
    s.password = s.env.WRENCHBELL_PASSWORD;
    s.clients = [];
    return s;
  }

  async down() {
    if (this.clients) await Promise.allSettled(this.clients.map(closeClient));
    try { await run(['down', '--dir', this.dir], { timeout: 60000 }); } catch (e) {
      console.error(String(e.message));
    }
    try { rmSync(this.dir, { recursive: true, force: true }); } catch {}
    live.delete(this.dir);
  }

  cmd(...args) { return run([args[0], '--dir', this.dir, ...args.slice(1)]); }

  // `stack request`: returns the parsed JSON lines ({assignment_id, session_id, intake_id, customer, …}).
  async request(...flags) {
    const out = await this.cmd('request', '--json', ...flags);
    const rows = out.split('\n').filter((l) => l.trim().startsWith('{')).map((l) => JSON.parse(l));
    if (!rows.length) throw new Error(`stack request printed no JSON line: ${out}`);
    return rows;
  }

  // One autocommit INSERT of a queued assignment through psql; returns its id. The session comes
  // from one `stack request` (made once per stack).
  async insertAssignment() {
    this.seedSession ??= (await this.request('--no-broadcast'))[0].session_id;
    const id = crypto.randomUUID();
    await this.sql(`insert into public.session_assignments (id, session_id) values ('${id}', '${this.seedSession}')`);
    return id;
  }

  setStatus(id, status) { return this.cmd('set-status', id, status); }
  fault(...args) { return this.cmd('fault', ...args); }

  // psql as postgres; unaligned, tuples only, stop on error.
  async sql(query) {
    const out = await this.cmd('psql', '-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-c', query);
    return out.trim();
  }

  // The key named `name`: 'anon' / 'service' (this profile's), 'publishable', 'secret',
  // 'legacy-anon', 'legacy-service'.
  key(name = 'anon') {
    const key = { anon: this.anonKey, service: this.serviceKey, publishable: this.publishableKey,
                  secret: this.secretKey, 'legacy-anon': this.legacyAnonKey,
                  'legacy-service': this.legacyServiceKey }[name];
    if (!key) throw new Error(`no key named ${name}`);
    return key;
  }

  // An official client. opts.vsn: realtime serializer (undefined = supabase-js default).
  // opts.key: a key name (see key(); default 'anon'), or opts.apiKey: the key itself.
  // opts.autoRefresh: auth-js token auto-refresh. opts.headers: extra HTTP and websocket
  // handshake headers (e.g. a browser's User-Agent). opts.accessToken: supabase-js's
  // third-party-auth callback.
  // opts.record: an array that gets {dir: 'in'|'out', binary, kind, data} for every websocket frame
  // (and {dir: 'open', url} / {dir: 'close', code} for the connection).
  client(opts = {}) {
    const key = opts.apiKey ?? this.key(opts.key);
    let transport = opts.record ? recordingTransport(opts.record) : WebSocket;
    if (opts.headers) transport = withHeaders(transport, opts.headers);
    const realtime = { transport, timeout: 10000 };
    if (opts.vsn) realtime.vsn = opts.vsn;
    const settings = {
      auth: { persistSession: false, autoRefreshToken: !!opts.autoRefresh, detectSessionInUrl: false },
      realtime,
    };
    if (opts.headers) settings.global = { headers: opts.headers };
    if (opts.accessToken) settings.accessToken = opts.accessToken;
    const c = createClient(this.url, key, settings);
    this.clients.push(c);
    return c;
  }

  async signedIn(opts = {}) {
    const c = this.client(opts);
    const { data, error } = await c.auth.signInWithPassword({
      email: opts.email ?? this.email, password: opts.password ?? this.password });
    if (error) throw new Error(`sign-in failed: ${error.status} ${error.code} ${error.message}`);
    c.session = data.session;
    return c;
  }
}

async function closeClient(c) {
  try { await c.auth.stopAutoRefresh(); } catch {}
  try { await c.removeAllChannels(); } catch {}
  try { c.realtime.disconnect(); } catch {}
}

function recordingTransport(record) {
  return class RecordingWebSocket extends WebSocket {
    constructor(...args) {
      super(...args);
      record.push({ dir: 'open', url: String(args[0]) });
      this.addEventListener('message', (e) => record.push({ ...frame('in', e.data), at: Date.now() }));
      this.addEventListener('close', (e) => record.push({ dir: 'close', code: e.code, at: Date.now() }));
    }
    send(data, ...rest) {
      record.push({ ...frame('out', data), at: Date.now() });
      return super.send(data, ...rest);
    }
  };
}

// The ws library takes handshake headers as a constructor option; realtime-js passes none.
function withHeaders(Base, headers) {
  return class extends Base {
    constructor(url, protocols, options) {
      super(url, protocols, { ...(options ?? {}), headers: { ...(options?.headers ?? {}), ...headers } });
    }
  };
}

function frame(dir, data) {
  if (typeof data === 'string') return { dir, binary: false, data };
  const bytes = data instanceof ArrayBuffer ? new Uint8Array(data)
    : ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
    : Buffer.isBuffer(data) ? new Uint8Array(data) : new Uint8Array(Buffer.from(data));
  return { dir, binary: true, kind: bytes[0], bytes };
}

// Collects events and lets a test wait for one matching a predicate (past or future).
export class EventLog {
  constructor() { this.events = []; this.waiters = []; }
  push(ev) {
    this.events.push(ev);
    for (const w of [...this.waiters]) {
      if (w.pred(ev)) { this.waiters.splice(this.waiters.indexOf(w), 1); clearTimeout(w.timer); w.resolve(ev); }
    }
  }
  waitFor(pred, ms, what) {
    const hit = this.events.find(pred);
    if (hit) return Promise.resolve(hit);
    return new Promise((resolve, reject) => {
      const w = { pred, resolve };
      w.timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        reject(new Error(`timed out after ${ms} ms waiting for ${what}; got ${this.events.length} events: ` +
                         JSON.stringify(this.events.slice(-6)).slice(0, 2000)));
      }, ms);
      this.waiters.push(w);
    });
  }
  filter(pred) { return this.events.filter(pred); }
}

export const FEED_TOPIC = 'session_requests_feed';

// The app's channel: broadcast (any event) + postgres_changes on public.session_assignments on
// topic `session_requests_feed`. Resolves once SUBSCRIBED and the server's
// "Subscribed to PostgreSQL" system message arrived (before that, changes are not delivered —
// supabase-protocol.md §2.6).
export async function subscribeFeed(client, { topic = FEED_TOPIC, timeout = 15000, pgChanges = true, config } = {}) {
  const changes = new EventLog();
  const broadcasts = new EventLog();
  const system = new EventLog();
  const statuses = new EventLog();
  const channel = client.channel(topic, config ? { config } : undefined);
  channel.on('broadcast', { event: '*' }, (m) => broadcasts.push(m));
  if (pgChanges) {
    channel.on('postgres_changes', { event: '*', schema: 'public', table: 'session_assignments' },
               (p) => changes.push(p));
  }
  channel.on('system', {}, (m) => system.push(m));
  const subscribed = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no SUBSCRIBED within ${timeout} ms`)), timeout);
    channel.subscribe((status, err) => {
      statuses.push({ status, err: err ? String(err.message ?? err) : undefined, at: Date.now() });
      if (status === 'SUBSCRIBED') { clearTimeout(timer); resolve(); }
      else if (!statuses.events.some((s) => s.status === 'SUBSCRIBED')) {
        clearTimeout(timer);
        reject(new Error(`subscribe: ${status} ${err?.message ?? ''}`));
      }
    });
  });
  await subscribed;
  if (pgChanges) {
    await system.waitFor((m) => m.extension === 'postgres_changes' && m.status === 'ok', timeout,
                         'system {extension: postgres_changes, status: ok}');
  }
  return { channel, changes, broadcasts, system, statuses };
}

// Liveness probe for tests that are about something else (tokens, RLS): INSERT through psql until
// `feed` (the positive control) receives one, at most `tries` times. The stand-in sometimes drops an
// INSERT on an RLS table (realtime.test.mjs "every INSERT of 20 …" proves that on its own), and a
// token or RLS test must not fail for that reason. Returns every id inserted and the delivered one.
export async function insertUntilDelivered(stack, feed, what, { tries = 3, wait = 2000 } = {}) {
  const ids = [];
  for (let i = 0; i < tries; i++) {
    const id = await stack.insertAssignment();
    ids.push(id);
    try {
      await feed.changes.waitFor((p) => p.eventType === 'INSERT' && p.new?.id === id, wait, `${what}: INSERT of ${id}`);
      return { ids, id };
    } catch {}
  }
  throw new Error(`${what}: none of ${tries} INSERTs (${ids.join(', ')}) reached supabase-js`);
}

export function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms); }),
  ]);
}
