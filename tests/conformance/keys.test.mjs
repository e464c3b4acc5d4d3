// The 2026 key model as supabase-js meets it: publishable / secret keys, ES256 user tokens
// checked through the JWKS, `stack up --legacy-keys off`, Realtime's tenant limits and the time
// limit of connections authorised by an API key only. Runs on stacks of its own, in both modes.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, createPublicKey, generateKeyPairSync, randomUUID, sign as cryptoSign,
         verify as cryptoVerify } from 'node:crypto';
import { Stack, VSNS, FEED_TOPIC, EventLog, subscribeFeed, insertUntilDelivered, sleep,
         CUSTOMER_EMAIL, CUSTOMER_PASSWORD } from './lib.mjs';

const WAIT = 5000;
const KEY_FORMAT = /^sb_(publishable|secret)_[A-Za-z0-9_-]{22}_[A-Za-z0-9_-]{8}$/;
const CHROME = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0 Safari/537.36';
const LEGACY_HINT = /^Your legacy API keys \(anon, service_role\) were disabled on \S+\. Re-enable them in the Supabase dashboard, or use the new publishable and secret API keys\.$/;

let on;      // legacy keys on (a migrated project)
let off;     // --legacy-keys off (a project after the retirement)
let short;   // legacy keys on, API-key-only Realtime connections end after 4 s
before(async () => {
  on = await Stack.up({ legacyKeys: 'on' });
  off = await Stack.up({ legacyKeys: 'off' });
  short = await Stack.up({ legacyKeys: 'on', env: { STANDIN_PUBLIC_CONNECTION_MAX_S: '4' } });
}, { timeout: 600000 });
after(async () => { await Promise.all([on?.down(), off?.down(), short?.down()]); }, { timeout: 120000 });

// ------------------------------------------------------------------------------ helpers
function b64json(o) { return Buffer.from(JSON.stringify(o)).toString('base64url'); }

function jwtParts(token) {
  const [h, p, s] = token.split('.');
  return { header: JSON.parse(Buffer.from(h, 'base64url')), claims: JSON.parse(Buffer.from(p, 'base64url')),
           signed: Buffer.from(`${h}.${p}`), signature: Buffer.from(s, 'base64url') };
}

function userClaims(sub) {
  const now = Math.floor(Date.now() / 1000);
  return { sub, role: 'authenticated', aud: 'authenticated', iat: now, exp: now + 3600 };
}

// An ES256 token signed with a key that is not the project's.
function foreignEs256(claims, kid) {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const header = { alg: 'ES256', typ: 'JWT', ...(kid ? { kid } : {}) };
  const data = `${b64json(header)}.${b64json(claims)}`;
  return `${data}.${cryptoSign('sha256', Buffer.from(data), { key: privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
}

function forgedHs256(claims) {
  const data = `${b64json({ alg: 'HS256', typ: 'JWT' })}.${b64json(claims)}`;
  return `${data}.${createHmac('sha256', 'not-the-project-secret-not-the-project-secret').update(data).digest('base64url')}`;
}

async function raw(stack, path, { apikey, bearer, method = 'GET', body, headers = {} } = {}) {
  const h = { ...headers };
  if (apikey) h.apikey = apikey;
  if (bearer) h.Authorization = `Bearer ${bearer}`;
  if (body !== undefined) h['Content-Type'] = 'application/json';
  const res = await fetch(stack.url + path, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : null };
}

async function stats(stack) {
  const r = await raw(stack, '/_stack/stats', { apikey: stack.secretKey });
  assert.equal(r.status, 200);
  return r.body.websocket;
}

// The statuses a channel reports, and its system messages.
function watch(channel) {
  const statuses = new EventLog();
  const system = new EventLog();
  channel.on('system', {}, (m) => system.push(m));
  channel.subscribe((status, err) => statuses.push({ status, err: err ? String(err.message ?? err) : undefined, at: Date.now() }));
  return { channel, statuses, system };
}

const subscribed = (w, ms = 15000) => w.statuses.waitFor((s) => s.status === 'SUBSCRIBED', ms, 'SUBSCRIBED');

// ------------------------------------------------------------------------------ stack up
test('stack up prints a publishable and a secret key, random per stack, next to the legacy keys', () => {
  for (const s of [on, off, short]) {
    assert.match(s.publishableKey, KEY_FORMAT);
    assert.match(s.secretKey, KEY_FORMAT);
    assert.ok(s.publishableKey.startsWith('sb_publishable_') && s.secretKey.startsWith('sb_secret_'));
    assert.match(s.legacyAnonKey, /^eyJ/);
    assert.match(s.legacyServiceKey, /^eyJ/);
  }
  assert.equal(new Set([on.publishableKey, off.publishableKey, short.publishableKey]).size, 3);
  assert.equal(new Set([on.secretKey, off.secretKey, short.secretKey]).size, 3);
  assert.equal(on.env.LEGACY_KEYS, 'on');
  assert.equal(off.env.LEGACY_KEYS, 'off');
});

// ------------------------------------------------------------------------------ same answers
// What a client sees through one key: sign-in, REST under RLS, realtime broadcast,
// postgres_changes and presence, reduced to what must not depend on the key kind.
async function answers(stack, key, vsn) {
  const out = {};
  const signedOut = stack.client({ key, vsn });
  out.whoamiSignedOut = (await signedOut.rpc('whoami')).data;
  const mech = await stack.signedIn({ key, vsn });
  out.user = { email: mech.session.user.email, role: mech.session.user.role, aud: mech.session.user.aud };
  const who = (await mech.rpc('whoami')).data;
  out.whoamiMechanic = { role: who.role, current_user: who.current_user, isTheUser: who.uid === mech.session.user.id };
  const [row] = await stack.request('--no-broadcast');
  const mine = await mech.from('session_assignments').select('id, status').eq('id', row.assignment_id);
  out.mechanicRead = { error: mine.error, rows: mine.data.map((r) => ({ isTheRow: r.id === row.assignment_id, status: r.status })) };
  const cust = await stack.signedIn({ key, vsn, email: CUSTOMER_EMAIL, password: CUSTOMER_PASSWORD });
  const hidden = await cust.from('session_assignments').select('id').eq('id', row.assignment_id);
  out.customerRead = { error: hidden.error, rows: hidden.data };
  out.signedOutRead = (await signedOut.from('session_assignments').select('id').eq('id', row.assignment_id)).data;

  const feed = await subscribeFeed(mech);
  const { id } = await insertUntilDelivered(stack, feed, `${key}: postgres_changes`);
  const change = feed.changes.events.find((p) => p.new?.id === id);
  out.change = { eventType: change.eventType, schema: change.schema, table: change.table, status: change.new.status };
  const sender = stack.client({ key, vsn });
  const ch = sender.channel(FEED_TOPIC);
  await new Promise((resolve, reject) => ch.subscribe((s, e) => s === 'SUBSCRIBED' ? resolve() : reject(new Error(`${s} ${e?.message ?? ''}`))));
  out.sent = await ch.send({ type: 'broadcast', event: 'new_assignment', payload: { assignmentId: id, via: 'socket' } });
  const b = await feed.broadcasts.waitFor((m) => m.payload?.assignmentId === id, WAIT, `${key}: broadcast`);
  out.broadcast = { event: b.event, payload: { ...b.payload, assignmentId: 'the id' } };
  out.httpSend = await ch.httpSend('new_assignment', { assignmentId: `${id}-http` });
  await feed.broadcasts.waitFor((m) => m.payload?.assignmentId === `${id}-http`, WAIT, `${key}: httpSend`);

  const room = `presence-${randomUUID()}`;
  const synced = new EventLog();
  const members = [];
  for (const [client, who] of [[mech, 'mechanic'], [signedOut, 'visitor']]) {
    const p = client.channel(room, { config: { presence: { key: who } } });
    p.on('presence', { event: 'sync' }, () => synced.push({ who, keys: Object.keys(p.presenceState()).sort() }));
    await new Promise((resolve, reject) => p.subscribe((s, e) => s === 'SUBSCRIBED' ? resolve() : reject(new Error(`${s} ${e?.message ?? ''}`))));
    assert.equal(await p.track({ who }), 'ok');
    members.push(p);
  }
  await synced.waitFor((e) => e.who === 'mechanic' && e.keys.length === 2, WAIT, `${key}: presence sync`);
  out.presence = synced.events.filter((e) => e.who === 'mechanic').at(-1).keys;
  for (const c of [signedOut, mech, cust, sender]) await c.removeAllChannels();
  return out;
}

describe('supabase-js gets the same answers through the publishable key as through the legacy anon key', () => {
  for (const { name, vsn } of VSNS) {
    test(name, { timeout: 120000 }, async () => {
      const legacy = await answers(on, 'legacy-anon', vsn);
      assert.deepEqual(legacy.whoamiSignedOut, { uid: null, role: 'anon', mechanic_id: null, current_user: 'anon' });
      assert.deepEqual(legacy.whoamiMechanic, { role: 'authenticated', current_user: 'authenticated', isTheUser: true });
      assert.deepEqual(legacy.mechanicRead, { error: null, rows: [{ isTheRow: true, status: 'queued' }] });
      assert.deepEqual(legacy.customerRead, { error: null, rows: [] });
      assert.deepEqual(legacy.signedOutRead, []);
      assert.deepEqual(legacy.presence, ['mechanic', 'visitor']);
      assert.equal(legacy.sent, 'ok');
      assert.deepEqual(legacy.httpSend, { success: true });
      assert.deepEqual(await answers(on, 'publishable', vsn), legacy, 'publishable key, legacy keys on');
      assert.deepEqual(await answers(off, 'publishable', vsn), legacy, 'publishable key, legacy keys off');
    });
  }
});

// ------------------------------------------------------------------------------ key mapping
test('the secret key maps to service_role: supabase-js reads past RLS and writes', { timeout: 30000 }, async () => {
  for (const stack of [on, off]) {
    const svc = stack.client({ key: 'secret' });
    const who = await svc.rpc('whoami');
    assert.deepEqual(who.data, { uid: null, role: 'service_role', mechanic_id: null, current_user: 'service_role' });
    const [row] = await stack.request('--no-broadcast');
    const upd = await svc.from('session_assignments').update({ status: 'declined' }).eq('id', row.assignment_id).select('id, status');
    assert.equal(upd.error, null);
    assert.deepEqual(upd.data, [{ id: row.assignment_id, status: 'declined' }]);
    const pub = stack.client({ key: 'publishable' });
    assert.deepEqual((await pub.from('session_assignments').select('id').eq('id', row.assignment_id)).data, []);
  }
});

test('Authorization: Bearer carries a JWT unless it equals the apikey', { timeout: 30000 }, async () => {
  const s = on;
  const ok = (r, role) => { assert.equal(r.status, 200, JSON.stringify(r.body)); assert.equal(r.body.role, role); };
  ok(await raw(s, '/rest/v1/rpc/whoami', { method: 'POST', body: {}, apikey: s.publishableKey }), 'anon');
  ok(await raw(s, '/rest/v1/rpc/whoami', { method: 'POST', body: {}, apikey: s.publishableKey, bearer: s.publishableKey }), 'anon');
  ok(await raw(s, '/rest/v1/rpc/whoami', { method: 'POST', body: {}, apikey: s.secretKey, bearer: s.secretKey }), 'service_role');
  for (const [apikey, bearer] of [[s.publishableKey, s.secretKey], [s.secretKey, s.publishableKey],
                                  [s.legacyAnonKey, s.publishableKey]]) {
    const r = await raw(s, '/rest/v1/rpc/whoami', { method: 'POST', body: {}, apikey, bearer });
    assert.equal(r.status, 401);
    assert.deepEqual(r.body, { code: 'PGRST301', details: null, hint: null, message: 'Expected 3 parts in JWT; got 1' });
  }
  // supabase-js with a bearer of its own that is a key: refused the same way.
  const c = s.client({ key: 'publishable', headers: { Authorization: `Bearer ${s.secretKey}` } });
  const { error, status } = await c.from('feature_flags').select('key');
  assert.equal(status, 401);
  assert.equal(error.code, 'PGRST301');
  assert.equal(error.message, 'Expected 3 parts in JWT; got 1');
});

test('a missing or unknown API key: the gateway\'s 401', { timeout: 30000 }, async () => {
  const none = await raw(on, '/rest/v1/feature_flags');
  assert.equal(none.status, 401);
  assert.deepEqual(none.body, { message: 'No API key found in request', hint: 'No `apikey` request header or url param was found.' });
  const fake = `sb_publishable_${'A'.repeat(22)}_${'B'.repeat(8)}`;
  const bad = await raw(on, '/rest/v1/feature_flags', { apikey: fake });
  assert.equal(bad.status, 401);
  assert.equal(bad.headers.get('sb-error-code'), 'UNAUTHORIZED_INVALID_API_KEY');
  assert.deepEqual(bad.body, { message: 'Invalid API key', hint: 'Double check your Supabase `anon` or `service_role` API key.' });
  const c = on.client({ apiKey: fake });
  const { error, status } = await c.from('feature_flags').select('key');
  assert.equal(status, 401);
  assert.equal(error.message, 'Invalid API key');
  const auth = await c.auth.signInWithPassword({ email: on.email, password: on.password });
  assert.equal(auth.error.status, 401);
  assert.equal(auth.error.message, 'Invalid API key');
});

test('the secret key from a browser (User-Agent) is refused: REST, Auth and Realtime', { timeout: 60000 }, async () => {
  const s = on;
  const browser = s.client({ key: 'secret', headers: { 'User-Agent': CHROME } });
  const rest = await browser.from('feature_flags').select('key');
  assert.equal(rest.status, 401);
  assert.equal(rest.error.message, 'Forbidden use of secret API key in browser');
  assert.equal(rest.error.hint, 'Secret API keys can only be used in a protected environment and should never be used in a browser. Delete this secret API key immediately!');
  const auth = await browser.auth.signInWithPassword({ email: s.email, password: s.password });
  assert.equal(auth.error.status, 401);
  assert.equal(auth.error.message, 'Forbidden use of secret API key in browser');
  const r = await raw(s, '/rest/v1/feature_flags', { apikey: s.secretKey, headers: { 'User-Agent': CHROME } });
  assert.equal(r.headers.get('sb-error-code'), 'UNAUTHORIZED_INVALID_API_KEY_TYPE');
  const before = await stats(s);
  const w = watch(browser.channel('browser-secret'));
  const err = await w.statuses.waitFor((x) => x.status !== 'SUBSCRIBED', 20000, 'the refused socket');
  assert.equal(err.status, 'CHANNEL_ERROR');
  const after = await stats(s);
  assert.ok((after.refused['401'] ?? 0) > (before.refused['401'] ?? 0), 'the handshake was refused with 401');
  assert.equal(after.upgraded, before.upgraded);
  await browser.removeAllChannels();
  browser.realtime.disconnect();
  // The same key without a browser's User-Agent, and the publishable key with one, work.
  assert.equal((await s.client({ key: 'secret' }).from('feature_flags').select('key')).error, null);
  const pub = s.client({ key: 'publishable', headers: { 'User-Agent': CHROME } });
  assert.equal((await pub.from('feature_flags').select('key')).error, null);
  await subscribed(watch(pub.channel('browser-publishable')));
});

// ------------------------------------------------------------------------------ JWKS
test('user tokens are ES256 with the kid of /auth/v1/.well-known/jwks.json, and verify with it', { timeout: 30000 }, async () => {
  for (const s of [on, off]) {
    const r = await raw(s, '/auth/v1/.well-known/jwks.json', { apikey: s.publishableKey });
    assert.equal(r.status, 200);
    assert.equal(r.body.keys.length, 1);
    const [jwk] = r.body.keys;
    assert.equal(jwk.kty, 'EC');
    assert.equal(jwk.crv, 'P-256');
    assert.equal(jwk.alg, 'ES256');
    assert.ok(!('d' in jwk), 'no private part');
    const c = await s.signedIn({ key: 'publishable' });
    const t = jwtParts(c.session.access_token);
    assert.deepEqual(t.header, { alg: 'ES256', kid: jwk.kid, typ: 'JWT' });
    assert.ok(cryptoVerify('sha256', t.signed, { key: createPublicKey({ key: jwk, format: 'jwk' }), dsaEncoding: 'ieee-p1363' }, t.signature),
              'the token verifies with the published key');
    assert.equal(t.claims.sub, c.session.user.id);
  }
});

describe('tokens the JWKS does not vouch for are refused: REST, Auth and Realtime', () => {
  const cases = [
    { name: 'ES256 with an unknown kid', token: (s, sub, kid) => foreignEs256(userClaims(sub), kid),
      realtime: (kid) => `JwtSignerError: Failed to generate JWT signer for key ID (kid) "${kid}", check your JWT secret or JWKS configuration` },
    { name: 'ES256 with the project\'s kid but another key', token: (s, sub, kid, projectKid) => foreignEs256(userClaims(sub), projectKid),
      realtime: () => 'JwtSignatureError: Failed to validate JWT signature' },
    { name: 'a forged HS256 user token', token: (s, sub) => forgedHs256(userClaims(sub)),
      realtime: () => 'JwtSignatureError: Failed to validate JWT signature' },
  ];
  for (const c of cases) {
    test(c.name, { timeout: 40000 }, async () => {
      const s = on;
      const projectKid = (await raw(s, '/auth/v1/.well-known/jwks.json', { apikey: s.publishableKey })).body.keys[0].kid;
      const real = await s.signedIn({ key: 'publishable' });
      const kid = randomUUID();
      const token = c.token(s, real.session.user.id, kid, projectKid);
      const client = s.client({ key: 'publishable', accessToken: async () => token });
      const rest = await client.from('session_assignments').select('id').limit(1);
      assert.equal(rest.status, 401);
      assert.equal(rest.error.code, 'PGRST301');
      assert.equal(rest.error.message, 'No suitable key or wrong key type');
      assert.equal(rest.error.details, 'None of the keys was able to decode the JWT');
      const user = await real.auth.getUser(token);
      assert.equal(user.error.status, 403);
      assert.equal(user.error.code, 'bad_jwt');
      await client.realtime.setAuth(token);
      const w = watch(client.channel(`jwks-${kid}`));
      const st = await w.statuses.waitFor((x) => x.status !== 'SUBSCRIBED', 20000, 'the join refused');
      assert.equal(st.status, 'CHANNEL_ERROR');
      assert.equal(st.err, c.realtime(kid));
      await client.removeAllChannels();
    });
  }
});

// ------------------------------------------------------------------------------ legacy keys off
test('--legacy-keys off: supabase-js with a legacy key is refused everywhere', { timeout: 60000 }, async () => {
  for (const key of ['legacy-anon', 'legacy-service']) {
    const c = off.client({ key });
    const auth = await c.auth.signInWithPassword({ email: off.email, password: off.password });
    assert.equal(auth.error.status, 401);
    assert.equal(auth.error.message, 'Legacy API keys are disabled');
    const rest = await c.from('feature_flags').select('key');
    assert.equal(rest.status, 401);
    assert.equal(rest.error.message, 'Legacy API keys are disabled');
    assert.match(rest.error.hint, LEGACY_HINT);
    const before = await stats(off);
    const w = watch(c.channel(`legacy-${key}`));
    assert.equal((await w.statuses.waitFor((x) => x.status !== 'SUBSCRIBED', 20000, 'the refused socket')).status, 'CHANNEL_ERROR');
    const after = await stats(off);
    assert.ok((after.refused['401'] ?? 0) > (before.refused['401'] ?? 0));
    await c.removeAllChannels();
    c.realtime.disconnect();
    const bc = await raw(off, '/realtime/v1/api/broadcast', { method: 'POST', apikey: off.key(key), bearer: off.key(key),
                                                                body: { messages: [{ topic: 't', event: 'e', payload: {} }] } });
    assert.equal(bc.status, 401);
    assert.equal(bc.body.message, 'Legacy API keys are disabled');
    assert.match(bc.body.hint, LEGACY_HINT);
  }
  // The legacy keys still work on a stack that keeps them.
  assert.equal((await on.client({ key: 'legacy-anon' }).from('feature_flags').select('key')).error, null);
});

// ------------------------------------------------------------------------------ tenant limits
test('join-rate-limit: a join gets CHANNEL_ERROR "ClientJoinRateLimitReached", the socket is closed; clear recovers', { timeout: 90000 }, async () => {
  const s = on;
  const frames = [];
  const c = s.client({ key: 'publishable', record: frames });
  await subscribed(watch(c.channel('jrl-first')));
  const before = await stats(s);
  await s.fault('join-rate-limit');
  try {
    const second = watch(c.channel('jrl-second'));
    const err = await second.statuses.waitFor((x) => x.status === 'CHANNEL_ERROR', 15000, 'CHANNEL_ERROR');
    assert.equal(err.err, 'ClientJoinRateLimitReached: Too many joins per second');
    for (let i = 0; i < 100 && !frames.some((f) => f.dir === 'close'); i++) await sleep(50);
    assert.equal(frames.find((f) => f.dir === 'close')?.code, 1000, 'the server closed the socket normally');
    // realtime-js reconnects; while the limit holds the handshakes are refused with 429.
    for (let i = 0; i < 100 && !((await stats(s)).refused['429'] > (before.refused['429'] ?? 0)); i++) await sleep(100);
    assert.ok((await stats(s)).refused['429'] > (before.refused['429'] ?? 0), 'reconnects refused with 429');
  } finally {
    await s.fault('clear');
  }
  // Once cleared, realtime-js gets back in and both channels are joined again.
  for (let i = 0; i < 300 && !c.getChannels().every((x) => x.state === 'joined'); i++) await sleep(100);
  assert.deepEqual(c.getChannels().map((x) => x.state), ['joined', 'joined']);
  await c.removeAllChannels();
});

test('connection-rate-limit: new sockets are refused (429) and counted; joined ones keep working', { timeout: 90000 }, async () => {
  const s = on;
  const old = await s.signedIn({ key: 'publishable' });
  const feed = await subscribeFeed(old, { pgChanges: false });
  await s.fault('connection-rate-limit');
  let fresh;
  try {
    const before = await stats(s);
    fresh = s.client({ key: 'publishable' });
    const w = watch(fresh.channel('crl-new'));
    assert.equal((await w.statuses.waitFor((x) => x.status !== 'SUBSCRIBED', 20000, 'the refused socket')).status, 'CHANNEL_ERROR');
    // realtime-js keeps trying (with its backoff): every attempt is counted, none gets in.
    const refused429 = async () => ((await stats(s)).refused['429'] ?? 0) - (before.refused['429'] ?? 0);
    for (let i = 0; i < 150 && await refused429() < 2; i++) await sleep(100);
    const after = await stats(s);
    assert.ok(await refused429() >= 2, `handshakes refused: ${await refused429()}`);
    assert.ok(after.attempts - before.attempts >= after.refused_total - before.refused_total);
    assert.equal(after.upgraded, before.upgraded, 'no handshake got in');
    // The socket that was already in keeps receiving.
    const payload = { assignmentId: randomUUID() };
    const res = await raw(s, '/realtime/v1/api/broadcast', { method: 'POST', apikey: s.secretKey,
                                                               body: { messages: [{ topic: FEED_TOPIC, event: 'new_assignment', payload }] } });
    assert.equal(res.status, 202);
    await feed.broadcasts.waitFor((m) => m.payload?.assignmentId === payload.assignmentId, WAIT, 'broadcast to the old socket');
  } finally {
    await s.fault('clear');
  }
  const w2 = fresh.getChannels()[0];
  for (let i = 0; i < 300 && w2.state !== 'joined'; i++) await sleep(100);
  assert.equal(w2.state, 'joined', 'the new client gets in once the limit is cleared');
  await fresh.removeAllChannels();
  await old.removeAllChannels();
});

test('tenant-disabled: system "Server requested disconnect", close 1012, 403 at the door; clear recovers', { timeout: 90000 }, async () => {
  const s = on;
  const frames = [];
  const c = s.client({ key: 'publishable', record: frames });
  const w = watch(c.channel('td'));
  await subscribed(w);
  const before = await stats(s);
  await s.fault('tenant-disabled');
  try {
    const m = await w.system.waitFor((x) => x.message === 'Server requested disconnect', WAIT, 'the disconnect notice');
    assert.equal(m.status, 'ok');
    assert.equal(m.extension, 'system');
    for (let i = 0; i < 100 && !frames.some((f) => f.dir === 'close'); i++) await sleep(50);
    assert.equal(frames.find((f) => f.dir === 'close')?.code, 1012);
    for (let i = 0; i < 100 && !((await stats(s)).refused['403'] > (before.refused['403'] ?? 0)); i++) await sleep(100);
    assert.ok((await stats(s)).refused['403'] > (before.refused['403'] ?? 0), 'reconnects refused with 403');
    const bc = await raw(s, '/realtime/v1/api/broadcast', { method: 'POST', apikey: s.secretKey,
                                                             body: { messages: [{ topic: 'td', event: 'e', payload: {} }] } });
    assert.equal(bc.status, 403);
    assert.deepEqual(bc.body, { message: 'Tenant is suspended' });
  } finally {
    await s.fault('clear');
  }
  for (let i = 0; i < 300 && w.channel.state !== 'joined'; i++) await sleep(100);
  assert.equal(w.channel.state, 'joined');
  await c.removeAllChannels();
});

// ------------------------------------------------------------------------------ public connections
test('an API-key-only connection ends at the limit; a signed-in one and the legacy anon key do not', { timeout: 60000 }, async () => {
  const s = short;
  const publicFrames = [];
  const pub = s.client({ key: 'publishable', record: publicFrames });
  const user = await s.signedIn({ key: 'publishable' });
  const legacy = s.client({ key: 'legacy-anon' });
  const wPub = watch(pub.channel('limit'));
  const wUser = watch(user.channel('limit'));
  const wLegacy = watch(legacy.channel('limit'));
  await Promise.all([subscribed(wPub), subscribed(wUser), subscribed(wLegacy)]);
  const t0 = Date.now();
  const expired = await wPub.system.waitFor((m) => m.status === 'error', 10000, 'the token-expired notice');
  assert.match(expired.message, /^Token has expired \d+ seconds ago$/);
  assert.ok(Date.now() - t0 <= 5000);
  await wPub.statuses.waitFor((x) => x.status === 'CLOSED', WAIT, 'CLOSED');
  for (let i = 0; i < 100 && !publicFrames.some((f) => f.dir === 'close'); i++) await sleep(50);
  assert.equal(publicFrames.find((f) => f.dir === 'close')?.code, 1000);
  await sleep(2000);
  for (const w of [wUser, wLegacy]) {
    assert.deepEqual(w.system.filter((m) => m.status === 'error'), []);
    assert.equal(w.channel.state, 'joined');
  }
  const got = new EventLog();
  wUser.channel.on('broadcast', { event: 'after' }, (m) => got.push(m));
  const res = await raw(s, '/realtime/v1/api/broadcast', { method: 'POST', apikey: s.secretKey,
                                                           body: { messages: [{ topic: 'limit', event: 'after', payload: { n: 1 } }] } });
  assert.equal(res.status, 202);
  await got.waitFor((m) => m.payload?.n === 1, WAIT, 'a broadcast after the limit');
  for (const c of [pub, user, legacy]) await c.removeAllChannels();
});
