// Token lifetime: auth-js refreshes, supabase-js pushes the new token to Realtime (setAuth →
// `access_token`), and the channel keeps delivering after the first token's exp
// (supabase-protocol.md §2.9, §6.2). The negative case proves the stand-in enforces expiry at all.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Stack, VSNS, subscribeFeed, sleep, insertUntilDelivered } from './lib.mjs';

const WAIT = 5000;

let stack;
before(async () => { stack = await Stack.up(); }, { timeout: 200000 });
after(async () => { await stack?.down(); }, { timeout: 90000 });

function expOf(token) {
  return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()).exp * 1000;
}

async function signInTracked(opts) {
  const c = stack.client(opts);
  const tokens = [];
  c.auth.onAuthStateChange((event, session) => {
    if (session?.access_token && !tokens.some((t) => t.token === session.access_token)) {
      tokens.push({ event, token: session.access_token, exp: expOf(session.access_token), at: Date.now() });
    }
  });
  const { data, error } = await c.auth.signInWithPassword({ email: stack.email, password: stack.password });
  if (error) throw new Error(`sign-in: ${error.message}`);
  c.first = data.session;
  c.tokens = tokens;
  return c;
}

// "The channel still delivers postgres_changes": this file is about tokens, so it uses
// insertUntilDelivered (psql INSERTs, up to 3) — the stand-in's occasional INSERT loss is proven
// separately in realtime.test.mjs.
const insertAndExpect = (feed, what) => insertUntilDelivered(stack, feed, what);

function assertAlive(feed) {
  const bad = feed.statuses.events.filter((s) => s.status !== 'SUBSCRIBED');
  assert.deepEqual(bad, [], 'channel never left SUBSCRIBED');
  assert.deepEqual(feed.system.filter((m) => m.status !== 'ok'), [], 'no system error');
  assert.equal(feed.channel.state, 'joined');
}

describe('auth-js auto-refresh keeps the channel alive (tokens live 35 s)', { concurrency: true }, () => {
  before(async () => { await stack.fault('expire-tokens', '35'); });
  after(async () => { await stack.fault('clear'); });

  for (const { name, vsn } of VSNS) {
    test(name, { timeout: 90000 }, async () => {
      const c = await signInTracked({ vsn, autoRefresh: true });
      const firstExp = c.first.expires_at * 1000;
      assert.ok(firstExp - Date.now() <= 36000, 'the fault shortened the token');
      const feed = await subscribeFeed(c);
      await insertAndExpect(feed, 'before expiry');
      await sleep(Math.max(0, firstExp - Date.now()) + 2500);
      assert.ok(Date.now() > firstExp + 2000);
      await insertAndExpect(feed, 'after the first token expired');
      assert.ok(c.tokens.some((t) => t.token !== c.first.access_token && t.at < firstExp),
                'auth-js refreshed before the first token expired');
      assertAlive(feed);
      await c.auth.stopAutoRefresh();
    });
  }
});

describe('supabase.auth.refreshSession() before expiry keeps the channel alive (first token lives 5 s)', { concurrency: true }, () => {
  before(async () => { await stack.fault('expire-tokens', '5'); });
  after(async () => { await stack.fault('clear'); });

  for (const { name, vsn } of VSNS) {
    test(name, { timeout: 60000 }, async () => {
      const c = await signInTracked({ vsn });
      const firstExp = c.first.expires_at * 1000;
      assert.ok(firstExp - Date.now() <= 6000, 'the fault shortened the token');
      const feed = await subscribeFeed(c);
      // Keep refreshing before expiry for as long as the channel must live: while the fault is
      // on, every refreshed token lives 5 s too, and a slow INSERT round must not outlast the
      // current one (that was a race in this test, not in the stand-in).
      let done = false;
      const refreshErrors = [];
      const refresher = (async () => {
        while (!done) {
          const { error } = await c.auth.refreshSession();
          if (error) refreshErrors.push(error.message);
          await sleep(1500);
        }
      })();
      try {
        await insertAndExpect(feed, 'before the first token expired');
        while (Date.now() < firstExp + 3000) await sleep(100);   // the first token is dead by now
        await insertAndExpect(feed, 'after the first token expired');
        await sleep(1000);
        await insertAndExpect(feed, 'later still');
      } finally {
        done = true;
        await refresher;
      }
      assert.deepEqual(refreshErrors, []);
      assertAlive(feed);
    });
  }
});

describe('no refresh: the server closes the channel when its token expires', { concurrency: true }, () => {
  before(async () => { await stack.fault('expire-tokens', '5'); });
  after(async () => { await stack.fault('clear'); });

  for (const { name, vsn } of VSNS) {
    test(name, { timeout: 60000 }, async () => {
      const c = await signInTracked({ vsn });
      const feed = await subscribeFeed(c);
      // supabase-js may itself refresh once when the channel joins (getSession sees a token
      // inside its 90 s margin); after that nothing refreshes until the 25 s heartbeat.
      const closed = await feed.statuses.waitFor((s) => s.status === 'CLOSED', 20000,
                                                 'CLOSED after the token expired');
      const last = c.tokens.at(-1);
      assert.ok(closed.at >= last.exp - 1000, `closed ${closed.at - last.exp} ms after exp`);
      const err = feed.system.events.find((m) => m.status === 'error');
      assert.ok(err, 'a system error precedes phx_close');
      assert.match(err.message, /expired/i);
      assert.equal(feed.channel.state, 'closed');
    });
  }
});

// PostgREST tolerates 30 s of clock skew on exp (§5.2), so wait until the token is 31 s past it.
test('REST with an expired user token: 401 "JWT expired" (PGRST303, or PGRST301 on v12)', { timeout: 60000 }, async () => {
  await stack.fault('expire-tokens', '1');
  let token;
  try {
    const c = stack.client();
    const { data, error } = await c.auth.signInWithPassword({ email: stack.email, password: stack.password });
    assert.equal(error, null);
    token = data.session.access_token;
  } finally {
    await stack.fault('clear');
  }
  await sleep(Math.max(0, expOf(token) - Date.now()) + 31500);
  const res = await fetch(`${stack.url}/rest/v1/session_assignments?select=id&limit=1`, {
    headers: { apikey: stack.anonKey, Authorization: `Bearer ${token}` },
  });
  assert.equal(res.status, 401);
  const body = await res.json();
  assert.ok(['PGRST303', 'PGRST301'].includes(body.code), `code ${body.code}`);
  assert.equal(body.message, 'JWT expired');
});

for (const { name, vsn } of VSNS) {
  test(`joining with an already expired token: CHANNEL_ERROR mentioning "expired" (${name})`, { timeout: 40000 }, async () => {
    await stack.fault('expire-tokens', '1');
    let token;
    try {
      const { data, error } = await stack.client().auth.signInWithPassword({ email: stack.email, password: stack.password });
      assert.equal(error, null);
      token = data.session.access_token;
    } finally {
      await stack.fault('clear');
    }
    await sleep(Math.max(0, expOf(token) - Date.now()) + 1500);
    // Third-party-auth style client: realtime joins with exactly this (expired) token.
    const { createClient, WebSocket } = await import('./lib.mjs');
    const realtime = { transport: WebSocket };
    if (vsn) realtime.vsn = vsn;
    const c = createClient(stack.url, stack.anonKey, { accessToken: async () => token, realtime });
    stack.clients.push(c);
    await c.realtime.setAuth(token); // else the first join may go out before the callback resolved
    const err = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no CHANNEL_ERROR within 20 s')), 20000);
      c.channel('expired-join').subscribe((st, e) => {
        if (st === 'SUBSCRIBED') { clearTimeout(timer); reject(new Error('joined with an expired token')); }
        if (st === 'CHANNEL_ERROR') { clearTimeout(timer); resolve(e); }
      });
    });
    // Realtime: "InvalidJWTToken: Token has expired N seconds ago" (§2.6; match on "expired").
    assert.match(String(err?.message ?? err), /expired/i);
    await c.removeAllChannels();
    c.realtime.disconnect();
  });
}
