// The accept RPC through the official client: `supabase.rpc('accept_session_assignment', …)` sees
// the row when it wins and PostgREST's error shape when it loses — `code` PT409 with "already taken
// by NAME" (the name in `details`), PT410 when the request left the queue otherwise (its status in
// `details`), PT404 for an unknown id — with the HTTP status of the PTxyz code. Also proves that an
// account made with `stack mechanic` signs in with supabase-js like any other.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Stack } from './lib.mjs';

let stack;
let mia;
let bob;
let bobMechanic;
before(async () => {
  stack = await Stack.up();
  mia = await stack.signedIn();
  const made = JSON.parse(await stack.cmd('mechanic', 'bob@example.com', 'bob-password', 'Bob Builder'));
  bobMechanic = made.mechanic_id;
  bob = await stack.signedIn({ email: 'bob@example.com', password: 'bob-password' });
}, { timeout: 200000 });
after(async () => { await stack?.down(); }, { timeout: 90000 });

const opts = { timeout: 20000 };
const accept = (client, id) => client.rpc('accept_session_assignment', { p_assignment_id: id });

test('stack mechanic: the new account signs in and is a mechanic', opts, async () => {
  assert.equal(bob.session.user.email, 'bob@example.com');
  const { data, error } = await bob.rpc('whoami');
  assert.equal(error, null);
  assert.equal(data.mechanic_id, bobMechanic);
});

test('accept wins: 200 and the accepted row; the winner may ask again', opts, async () => {
  const [{ assignment_id: id }] = await stack.request('--no-broadcast');
  const { data, error, status } = await accept(bob, id);
  assert.equal(error, null);
  assert.equal(status, 200);
  assert.equal(data.id, id);
  assert.equal(data.status, 'accepted');
  assert.equal(data.mechanic_id, bobMechanic);
  assert.ok(data.accepted_at);
  const again = await accept(bob, id);
  assert.equal(again.error, null);
  assert.deepEqual(again.data, data);
});

test('accept lost: 409, code PT409, "already taken by Bob Builder", details the name', opts, async () => {
  const [{ assignment_id: id }] = await stack.request('--no-broadcast');
  assert.equal((await accept(bob, id)).status, 200);
  const { data, error, status } = await accept(mia, id);
  assert.equal(data, null);
  assert.equal(status, 409);
  assert.equal(error.code, 'PT409');
  assert.equal(error.message, 'already taken by Bob Builder');
  assert.equal(error.details, 'Bob Builder');
  assert.equal(error.hint, null);
});

test('accept after the request left the queue: 410 PT410 with the status; unknown id 404 PT404', opts, async () => {
  const [{ assignment_id: id }] = await stack.request('--no-broadcast');
  await stack.setStatus(id, 'expired');
  const gone = await accept(mia, id);
  assert.equal(gone.status, 410);
  assert.equal(gone.error.code, 'PT410');
  assert.equal(gone.error.message, 'no longer queued (expired)');
  assert.equal(gone.error.details, 'expired');
  const missing = await accept(mia, '00000000-0000-4000-8000-000000000000');
  assert.equal(missing.status, 404);
  assert.equal(missing.error.code, 'PT404');
});

test('accept from two clients at once: exactly one winner, the other is told who', opts, async () => {
  const reqs = await stack.request('--no-broadcast', '--count', '5');
  for (const { assignment_id: id } of reqs) {
    const answers = await Promise.all([accept(mia, id), accept(bob, id)]);
    const won = answers.filter((a) => a.status === 200);
    const lost = answers.filter((a) => a.status === 409);
    assert.equal(won.length, 1, JSON.stringify(answers));
    assert.equal(lost.length, 1, JSON.stringify(answers));
    const winner = won[0].data.mechanic_id === bobMechanic ? 'Bob Builder' : 'Mia Mechanic';
    assert.equal(lost[0].error.details, winner);
  }
});

test('accept refused without a mechanic: anon 401 42501', opts, async () => {
  const [{ assignment_id: id }] = await stack.request('--no-broadcast');
  const { error, status } = await accept(stack.client(), id);
  assert.equal(status, 401);
  assert.equal(error.code, '42501');
});
