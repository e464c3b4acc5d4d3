// auth-js (through supabase-js) against the stand-in's /auth/v1 (supabase-protocol.md §6).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Stack, CUSTOMER_EMAIL, CUSTOMER_PASSWORD } from './lib.mjs';

let stack;
before(async () => { stack = await Stack.up(); }, { timeout: 200000 });
after(async () => { await stack?.down(); }, { timeout: 90000 });

function decodeJwt(token) {
  return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());
}

test('signInWithPassword returns a GoTrue session', { timeout: 20000 }, async () => {
  const c = stack.client();
  const { data, error } = await c.auth.signInWithPassword({ email: stack.email, password: stack.password });
  assert.equal(error, null);
  const s = data.session;
  assert.ok(s, 'session present');
  assert.equal(s.token_type, 'bearer');
  assert.equal(typeof s.access_token, 'string');
  assert.equal(typeof s.refresh_token, 'string');
  assert.ok(s.refresh_token.length > 0);
  assert.equal(typeof s.expires_in, 'number');
  assert.ok(s.expires_in > 0 && s.expires_in <= 3600, `expires_in ${s.expires_in}`);
  assert.equal(typeof s.expires_at, 'number');
  assert.ok(Math.abs(s.expires_at - (Math.floor(Date.now() / 1000) + s.expires_in)) <= 5);
  assert.equal(data.user.email, stack.email);
  assert.equal(data.user.aud, 'authenticated');
  assert.equal(data.user.role, 'authenticated');
  assert.match(data.user.id, /^[0-9a-f-]{36}$/);

  const claims = decodeJwt(s.access_token);
  assert.equal(claims.sub, data.user.id);
  assert.equal(claims.role, 'authenticated');
  assert.equal(claims.aud, 'authenticated', 'aud is a plain string (§6.4)');
  assert.equal(claims.email, stack.email);
  assert.equal(claims.exp, s.expires_at);
  assert.equal(typeof claims.iat, 'number');

  // /auth/v1/user with the new token.
  const u = await c.auth.getUser();
  assert.equal(u.error, null);
  assert.equal(u.data.user.id, data.user.id);
  assert.equal(u.data.user.email, stack.email);
});

test('wrong password: AuthApiError 400 invalid_credentials "Invalid login credentials"', { timeout: 20000 }, async () => {
  const c = stack.client();
  const { data, error } = await c.auth.signInWithPassword({ email: stack.email, password: 'not-the-password' });
  assert.ok(error, 'an error');
  assert.equal(error.name, 'AuthApiError');
  assert.equal(error.status, 400);
  assert.equal(error.code, 'invalid_credentials');
  assert.equal(error.message, 'Invalid login credentials');
  assert.equal(data.session, null);
  assert.equal(data.user, null);
});

test('unknown user: same error as a wrong password', { timeout: 20000 }, async () => {
  const c = stack.client();
  const { error } = await c.auth.signInWithPassword({ email: 'nobody@example.com', password: 'x-wrong-x' });
  assert.ok(error);
  assert.equal(error.status, 400);
  assert.equal(error.code, 'invalid_credentials');
  assert.equal(error.message, 'Invalid login credentials');
});

test('wrong password, raw HTTP: 2024-01-01 error body and x-sb-error-code header', { timeout: 20000 }, async () => {
  const res = await fetch(`${stack.url}/auth/v1/token?grant_type=password`, {
    method: 'POST',
    headers: { apikey: stack.anonKey, 'Content-Type': 'application/json', 'X-Supabase-Api-Version': '2024-01-01' },
    body: JSON.stringify({ email: stack.email, password: 'not-the-password' }),
  });
  assert.equal(res.status, 400);
  assert.equal(res.headers.get('x-sb-error-code'), 'invalid_credentials');
  const body = await res.json();
  assert.equal(body.code, 'invalid_credentials');
  assert.equal(body.message, 'Invalid login credentials');
});

test('the demo customer can sign in too', { timeout: 20000 }, async () => {
  const c = stack.client();
  const { data, error } = await c.auth.signInWithPassword({ email: CUSTOMER_EMAIL, password: CUSTOMER_PASSWORD });
  assert.equal(error, null);
  assert.equal(data.user.email, CUSTOMER_EMAIL);
});

test('refreshSession rotates the refresh token; an unknown refresh token gets 400 refresh_token_not_found', { timeout: 20000 }, async () => {
  const c = await stack.signedIn();
  const first = c.session;
  const { data, error } = await c.auth.refreshSession();
  assert.equal(error, null);
  assert.ok(data.session.access_token);
  assert.notEqual(data.session.refresh_token, first.refresh_token, 'rotated refresh token');
  assert.equal(data.user.email, stack.email);

  // An unknown refresh token: 400 refresh_token_not_found (§6.3).
  const res = await fetch(`${stack.url}/auth/v1/token?grant_type=refresh_token`, {
    method: 'POST',
    headers: { apikey: stack.anonKey, 'Content-Type': 'application/json', 'X-Supabase-Api-Version': '2024-01-01' },
    body: JSON.stringify({ refresh_token: 'zzzzzzzzzzzz' }),
  });
  assert.equal(res.status, 400);
  const body = await res.json();
  assert.equal(body.code, 'refresh_token_not_found');
  assert.equal(body.message, 'Invalid Refresh Token: Refresh Token Not Found');
});

test('signOut ends the session', { timeout: 20000 }, async () => {
  const c = await stack.signedIn();
  const { error } = await c.auth.signOut();
  assert.equal(error, null);
  const { data } = await c.auth.getSession();
  assert.equal(data.session, null);
});
