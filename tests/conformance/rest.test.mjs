// postgrest-js (through supabase-js) against the stand-in's /rest/v1 (supabase-protocol.md §5):
// the queries the app makes (catch-up, detail fetch, accept) and PostgREST's error shapes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Stack, CUSTOMER_EMAIL, CUSTOMER_PASSWORD } from './lib.mjs';

let stack;
let mech;
let rows;
before(async () => {
  stack = await Stack.up();
  mech = await stack.signedIn();
  rows = [];
  for (let i = 0; i < 3; i++) rows.push(...await stack.request('--no-broadcast'));
}, { timeout: 200000 });
after(async () => { await stack?.down(); }, { timeout: 90000 });

const opts = { timeout: 20000 };
const MISSING = '00000000-0000-4000-8000-000000000000';

test('select with columns, an embedded session and its intake, filter, order, limit', opts, async () => {
  const { data, error, status } = await mech.from('session_assignments')
    .select('id, status, session_id, created_at, session:sessions(id, status, intake:intakes(name, concern, vehicle_year, vehicle_make, vehicle_model))')
    .eq('status', 'queued')
    .order('created_at', { ascending: false })
    .limit(2);
  assert.equal(error, null);
  assert.equal(status, 200);
  assert.ok(Array.isArray(data));
  assert.equal(data.length, 2);
  assert.deepEqual(Object.keys(data[0]).sort(), ['created_at', 'id', 'session', 'session_id', 'status']);
  assert.ok(data[0].created_at >= data[1].created_at, 'ordered by created_at desc');
  for (const r of data) {
    assert.equal(r.status, 'queued');
    assert.ok(r.session && !Array.isArray(r.session), 'many-to-one embed is an object');
    assert.equal(r.session.id, r.session_id);
    assert.ok(r.session.intake && !Array.isArray(r.session.intake), 'nested embed is an object');
    assert.equal(typeof r.session.intake.name, 'string');
    assert.ok(r.session.intake.vehicle_year === null || Number.isInteger(r.session.intake.vehicle_year),
              'int column as a JSON number');
  }
  // The newest request comes first.
  assert.equal(data[0].id, rows.at(-1).assignment_id);
});

test('filters: in, neq, is null, gte; order ascending', opts, async () => {
  const ids = rows.map((r) => r.assignment_id);
  const { data, error } = await mech.from('session_assignments')
    .select('id, status, mechanic_id, created_at')
    .in('id', ids)
    .neq('status', 'completed')
    .is('mechanic_id', null)
    .gte('created_at', '2000-01-01T00:00:00Z')
    .order('created_at', { ascending: true });
  assert.equal(error, null);
  assert.deepEqual(data.map((r) => r.id), ids);
  const none = await mech.from('session_assignments').select('id').in('id', ids).neq('status', 'queued');
  assert.equal(none.error, null);
  assert.deepEqual(none.data, []);
});

test('count=exact with head', opts, async () => {
  const { count, error, data } = await mech.from('session_assignments')
    .select('id', { count: 'exact', head: true })
    .in('id', rows.map((r) => r.assignment_id));
  assert.equal(error, null);
  assert.equal(count, 3);
  assert.equal(data, null);
});

test('.single() on exactly one row returns the object', opts, async () => {
  const { data, error, status } = await mech.from('session_assignments')
    .select('id, status').eq('id', rows[0].assignment_id).single();
  assert.equal(error, null);
  assert.equal(status, 200);
  assert.deepEqual(data, { id: rows[0].assignment_id, status: 'queued' });
});

function assertPgrst116(res, n) {
  assert.equal(res.data, null);
  assert.ok(res.error, 'an error');
  assert.equal(res.status, 406);
  assert.equal(res.error.code, 'PGRST116');
  assert.equal(res.error.details, `The result contains ${n} rows`);
  assert.ok(['Cannot coerce the result to a single JSON object',
             'JSON object requested, multiple (or no) rows returned'].includes(res.error.message),
            `message ${res.error.message}`);
  assert.ok('hint' in res.error);
}

test('.single() on 0 rows: 406 PGRST116 "The result contains 0 rows"', opts, async () => {
  assertPgrst116(await mech.from('session_assignments').select('id').eq('id', MISSING).single(), 0);
});

test('.single() on many rows: 406 PGRST116', opts, async () => {
  const ids = rows.map((r) => r.assignment_id);
  assertPgrst116(await mech.from('session_assignments').select('id').in('id', ids).single(), 3);
});

test('.maybeSingle(): null on 0 rows, the object on 1, PGRST116 on many', opts, async () => {
  const zero = await mech.from('session_assignments').select('id').eq('id', MISSING).maybeSingle();
  assert.equal(zero.error, null);
  assert.equal(zero.data, null);
  const one = await mech.from('session_assignments').select('id').eq('id', rows[1].assignment_id).maybeSingle();
  assert.equal(one.error, null);
  assert.deepEqual(one.data, { id: rows[1].assignment_id });
  const many = await mech.from('session_assignments').select('id').in('id', rows.map((r) => r.assignment_id)).maybeSingle();
  assert.equal(many.error?.code, 'PGRST116');
});

test('Accept: application/vnd.pgrst.object+json over raw HTTP', opts, async () => {
  const res = await fetch(`${stack.url}/rest/v1/session_assignments?select=id&id=eq.${rows[2].assignment_id}`, {
    headers: { apikey: stack.anonKey, Authorization: `Bearer ${mech.session.access_token}`,
               Accept: 'application/vnd.pgrst.object+json' },
  });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type'), /^application\/vnd\.pgrst\.object\+json/);
  assert.deepEqual(await res.json(), { id: rows[2].assignment_id });
});

test('RPC returning a set: queued_assignments() (filtered and ordered like a table)', opts, async () => {
  const ids = rows.map((r) => r.assignment_id);
  const { data, error, status } = await mech.rpc('queued_assignments').select('id, status').in('id', ids);
  assert.equal(error, null);
  assert.equal(status, 200);
  assert.deepEqual(data.map((r) => r.id), ids, 'oldest first, only the requested ids');
  assert.ok(data.every((r) => r.status === 'queued'));
});

test('RPC returning jsonb: whoami() sees the caller\'s JWT claims', opts, async () => {
  const { data, error } = await mech.rpc('whoami');
  assert.equal(error, null);
  assert.equal(data.uid, mech.session.user.id);
  assert.equal(data.role, 'authenticated');
  assert.equal(data.current_user, 'authenticated');
  assert.match(data.mechanic_id, /^[0-9a-f-]{36}$/);
  const anon = await stack.client().rpc('whoami');
  assert.equal(anon.error, null);
  assert.equal(anon.data.role, 'anon');
  assert.equal(anon.data.uid, null);
});

test('RPC with arguments that writes: accept_assignment(p_id); a second call raises P0001 (400)', opts, async () => {
  const id = rows[2].assignment_id;
  const { data, error, status } = await mech.rpc('accept_assignment', { p_id: id });
  assert.equal(error, null);
  assert.equal(status, 200);
  assert.equal(data.id, id);
  assert.equal(data.status, 'accepted');
  const again = await mech.rpc('accept_assignment', { p_id: id });
  assert.equal(again.status, 400);
  assert.equal(again.error.code, 'P0001');
  assert.equal(again.error.message, `assignment ${id} is not available`);
  assert.equal(again.error.hint, 'It was taken, cancelled or is targeted at another mechanic.');
  assert.equal(again.data, null);
});

test('RPC denied by privileges: anon calling accept_assignment gets 401 42501', opts, async () => {
  const { error, status } = await stack.client().rpc('accept_assignment', { p_id: rows[1].assignment_id });
  assert.equal(status, 401, 'anon role: insufficient privilege maps to 401 (§5.2)');
  assert.equal(error.code, '42501');
});

test('RPC to an unknown function: 404 PGRST202', opts, async () => {
  const { error, status } = await mech.rpc('no_such_function_xyz', { a: 1 });
  assert.equal(status, 404);
  assert.equal(error.code, 'PGRST202');
});

test('update: the mechanic accepts a queued assignment (return=representation)', opts, async () => {
  const me = await mech.from('mechanics').select('id, user_id').eq('user_id', mech.session.user.id).single();
  assert.equal(me.error, null);
  const id = rows[0].assignment_id;
  const { data, error, status } = await mech.from('session_assignments')
    .update({ status: 'accepted', mechanic_id: me.data.id, accepted_at: new Date().toISOString() })
    .eq('id', id).eq('status', 'queued')
    .select('id, status, mechanic_id, accepted_at');
  assert.equal(error, null);
  assert.equal(status, 200);
  assert.equal(data.length, 1);
  assert.equal(data[0].status, 'accepted');
  assert.equal(data[0].mechanic_id, me.data.id);
  assert.ok(data[0].accepted_at);
  // Accepting again matches no queued row: 0 rows, no error.
  const again = await mech.from('session_assignments').update({ status: 'accepted' })
    .eq('id', id).eq('status', 'queued').select('id');
  assert.equal(again.error, null);
  assert.deepEqual(again.data, []);
  const plain = await mech.from('session_assignments').update({ status: 'accepted' }).eq('id', id).eq('status', 'queued');
  assert.equal(plain.error, null);
  assert.equal(plain.status, 204, 'return=minimal: 204 no body');
});

test('a bad check-constraint value: 400 with SQLSTATE 23514', opts, async () => {
  const { error, status } = await mech.from('session_assignments')
    .update({ status: 'not-a-status' }).eq('id', rows[1].assignment_id);
  assert.equal(status, 400);
  assert.equal(error.code, '23514');
  assert.ok('details' in error && 'hint' in error && 'message' in error);
});

test('RLS: a customer sees only the assignment of their own session; hidden rows are just absent', opts, async () => {
  const cust = await stack.signedIn({ email: CUSTOMER_EMAIL, password: CUSTOMER_PASSWORD });
  const { data, error, status } = await cust.from('session_assignments').select('id').in('id', rows.map((r) => r.assignment_id));
  assert.equal(error, null);
  assert.equal(status, 200);
  assert.deepEqual(data, []);
  const own = await cust.from('session_assignments').select('id, status, session:sessions(customer_id)');
  assert.equal(own.error, null);
  assert.deepEqual(own.data, [{ id: 'ffffffff-ffff-4fff-8fff-ffffffffffff', status: 'completed',
                                session: { customer_id: cust.session.user.id } }]);
  // Hidden rows cannot be updated either: 0 rows, no error.
  const upd = await cust.from('session_assignments').update({ status: 'cancelled' }).eq('id', rows[1].assignment_id).select('id');
  assert.equal(upd.error, null);
  assert.deepEqual(upd.data, []);
});

test('unknown table: 404 PGRST205', opts, async () => {
  const { error, status } = await mech.from('no_such_table').select('*');
  assert.equal(status, 404);
  assert.equal(error.code, 'PGRST205');
});

