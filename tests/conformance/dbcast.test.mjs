// Broadcast from Database on a private channel, as supabase-js sees it (issue 10): joins decided by
// the select policy on realtime.messages, the payload realtime.broadcast_changes() gives the
// session_assignments trigger, broadcast replay, sends refused without an insert policy.
// Everything runs with supabase-js's default serializer (2.0.0) and with vsn 1.0.0.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Stack, VSNS, EventLog, sleep, WebSocket, CUSTOMER_EMAIL, CUSTOMER_PASSWORD } from './lib.mjs';

const QUEUE = 'session_assignments:queue';
const WAIT = 5000;
const NO_READ = (topic) => `Unauthorized: You do not have permissions to read from this Channel topic: ${topic}`;
const KEYS = ['id', 'old_record', 'operation', 'record', 'schema', 'table'];
const COLUMNS = ['accepted_at', 'created_at', 'expired_at', 'id', 'mechanic_id', 'metadata', 'offered_at',
                 'session_id', 'status', 'updated_at'];

let stack;
before(async () => { stack = await Stack.up(); }, { timeout: 200000 });
after(async () => { await stack?.down(); }, { timeout: 90000 });

// Subscribe and resolve with the first status the callback reports (SUBSCRIBED, or the error a
// refused join gives); a refused channel is removed so realtime-js stops rejoining it.
async function join(client, topic, config, timeout = 15000) {
  const broadcasts = new EventLog();
  const channel = client.channel(topic, { config });
  channel.on('broadcast', { event: '*' }, (m) => broadcasts.push(m));
  const first = await new Promise((resolve) => {
    const timer = setTimeout(() => resolve({ status: 'NO ANSWER' }), timeout);
    channel.subscribe((status, err) => { clearTimeout(timer); resolve({ status, err }); });
  });
  if (first.status !== 'SUBSCRIBED') await client.removeChannel(channel);
  return { channel, broadcasts, status: first.status, error: first.err?.message };
}

async function joined(client, topic, config) {
  const j = await join(client, topic, config);
  assert.equal(j.status, 'SUBSCRIBED', `join ${topic}: ${j.status} ${j.error ?? ''}`);
  return j;
}

// Test policies on realtime.messages, dropped again by the returned function.
async function withPolicies(ddl) {
  const names = Object.keys(ddl);
  for (const n of names) {
    await stack.sql(`drop policy if exists "${n}" on realtime.messages; create policy "${n}" on realtime.messages ${ddl[n]}`);
  }
  return async () => { for (const n of names) await stack.sql(`drop policy if exists "${n}" on realtime.messages`); };
}

// Separate autocommit INSERTs of queued assignments (2 ms apart, so each message has its own
// millisecond); returns their ids in order.
async function insertAssignments(n) {
  stack.seedSession ??= (await stack.request('--no-broadcast'))[0].session_id;
  const ids = Array.from({ length: n }, () => crypto.randomUUID());
  const args = [];
  for (const id of ids) {
    args.push('-c', `insert into public.session_assignments (id, session_id) values ('${id}', '${stack.seedSession}')`,
              '-c', 'select pg_sleep(0.002)');
  }
  await stack.cmd('psql', '-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', ...args);
  return ids;
}

const rowId = (m) => m.payload?.record?.id ?? m.payload?.old_record?.id;

for (const { name, vsn } of VSNS) {
  describe(`Broadcast from Database, ${name}`, () => {
    let mech;
    let queue;

    before(async () => {
      mech = await stack.signedIn({ vsn });
      queue = await joined(mech, QUEUE, { private: true });
    }, { timeout: 60000 });

    test('private join: a mechanic and the service role pass; a customer and the anon key get the Unauthorized text', { timeout: 60000 }, async () => {
      const svc = await joined(stack.client({ vsn, key: 'service' }), QUEUE, { private: true });
      assert.equal(svc.channel.state, 'joined');
      const cust = await stack.signedIn({ vsn, email: CUSTOMER_EMAIL, password: CUSTOMER_PASSWORD });
      for (const [who, client] of [['customer', cust], ['anon', stack.client({ vsn })]]) {
        const j = await join(client, QUEUE, { private: true });
        assert.equal(j.status, 'CHANNEL_ERROR', `${who}: ${j.status}`);
        assert.equal(j.error, NO_READ(QUEUE), who);
      }
      // the same name as a public channel is another topic: joinable by anyone, and silent
      const pub = await joined(stack.client({ vsn }), QUEUE, {});
      const [id] = await insertAssignments(1);
      await queue.broadcasts.waitFor((m) => rowId(m) === id, WAIT, `INSERT of ${id} on the private topic`);
      await sleep(300);
      assert.deepEqual(pub.broadcasts.events, [], 'nothing on the public channel of the same name');
    });

    test('broadcast_changes payload for INSERT, UPDATE, DELETE of session_assignments', { timeout: 30000 }, async () => {
      const [row] = await stack.request('--no-broadcast');
      const id = row.assignment_id;
      await stack.setStatus(id, 'accepted');
      await stack.sql(`delete from public.session_assignments where id = '${id}'`);
      const got = {};
      for (const op of ['INSERT', 'UPDATE', 'DELETE']) {
        got[op] = await queue.broadcasts.waitFor((m) => m.event === op && rowId(m) === id, WAIT, `${op} of ${id}`);
        const m = got[op];
        assert.equal(m.type, 'broadcast');
        assert.deepEqual(Object.keys(m.payload).sort(), KEYS);
        assert.equal(m.payload.operation, op);
        assert.equal(m.payload.table, 'session_assignments');
        assert.equal(m.payload.schema, 'public');
        assert.match(m.payload.id, /^[0-9a-f-]{36}$/);
        assert.deepEqual(m.meta, { id: m.payload.id }, 'meta.id is the message id, also in payload.id');
      }
      assert.equal(got.INSERT.payload.old_record, null);
      assert.deepEqual(Object.keys(got.INSERT.payload.record).sort(), COLUMNS);
      assert.equal(got.INSERT.payload.record.status, 'queued');
      assert.equal(got.INSERT.payload.record.session_id, row.session_id);
      assert.deepEqual(got.INSERT.payload.record.metadata, {});
      assert.equal(got.UPDATE.payload.old_record.status, 'queued');
      assert.equal(got.UPDATE.payload.record.status, 'accepted');
      assert.deepEqual(Object.keys(got.UPDATE.payload.old_record).sort(), COLUMNS);
      assert.equal(got.DELETE.payload.record, null);
      assert.equal(got.DELETE.payload.old_record.status, 'accepted');
      assert.deepEqual(Object.keys(got.DELETE.payload.old_record).sort(), COLUMNS);
      assert.equal(queue.broadcasts.filter((m) => rowId(m) === id).length, 3, 'one message per change');
    });

    test('replay since a timestamp: the newest `limit` (at most 25), oldest first, meta.replayed', { timeout: 60000 }, async () => {
      const ids = await insertAssignments(30);
      await queue.broadcasts.waitFor((m) => rowId(m) === ids[29], WAIT, 'the last INSERT, live');
      const live = Object.fromEntries(queue.broadcasts.filter((m) => ids.includes(rowId(m))).map((m) => [rowId(m), m.meta.id]));
      // since = the 11th message's insert time (ms, rounded down): the 10th is 2 ms older
      const since = Number(await stack.sql(
        `select floor(extract(epoch from inserted_at) * 1000)::bigint from realtime.messages where topic = '${QUEUE}'` +
        ` and payload -> 'record' ->> 'id' = '${ids[10]}'`));
      const replay = async (replayConfig, expect) => {
        const c = await stack.signedIn({ vsn });
        const j = await joined(c, QUEUE, { private: true, broadcast: { replay: replayConfig } });
        if (expect) await j.broadcasts.waitFor((m) => rowId(m) === expect, WAIT, `replayed ${expect}`);
        await sleep(400);
        await c.removeAllChannels();
        return j.broadcasts.events;
      };
      let got = await replay({ since, limit: 100 }, ids[29]);           // 20 qualify; limit above the cap
      assert.deepEqual(got.map(rowId), ids.slice(10), 'messages since the 11th, oldest first');
      for (const m of got) {
        assert.equal(m.event, 'INSERT');
        assert.deepEqual(m.meta, { replayed: true, id: live[rowId(m)] }, 'meta: replayed + the id seen live');
        assert.equal(m.payload.id, m.meta.id);
        assert.deepEqual(Object.keys(m.payload).sort(), KEYS);
      }
      got = await replay({ since: since - 60000, limit: 100 }, ids[29]);
      assert.deepEqual(got.map(rowId), ids.slice(5), 'capped at 25: the newest 25');
      got = await replay({ since: since - 60000 }, ids[29]);
      assert.equal(got.length, 25, 'no limit: 25');
      got = await replay({ since, limit: 3 }, ids[29]);
      assert.deepEqual(got.map(rowId), ids.slice(27));
      got = await replay({ since: Date.now() + 5000, limit: 10 });
      assert.deepEqual(got, [], 'nothing newer than since');
    });

    test('replay keeps 3 days: a 5-day-old message is not replayed, a 2-day-old one is', { timeout: 30000 }, async () => {
      const topic = `conformance:retention:${vsn ?? 'default'}`;
      const drop = await withPolicies({ [`conformance read ${topic}`]: `for select to authenticated using ((select realtime.topic()) = '${topic}')` });
      try {
        for (const [days, ev] of [[5, 'five'], [2, 'two']]) {
          await stack.sql(`insert into realtime.messages (topic, extension, event, payload, private, inserted_at) values` +
                          ` ('${topic}', 'broadcast', '${ev}', '{"days": ${days}}', true, (now() at time zone 'utc') - interval '${days} days')`);
        }
        const c = await stack.signedIn({ vsn });
        const j = await joined(c, topic, { private: true, broadcast: { replay: { since: Date.now() - 6 * 86400000, limit: 25 } } });
        await j.broadcasts.waitFor((m) => m.event === 'two', WAIT, 'the 2-day-old message');
        await sleep(300);
        assert.deepEqual(j.broadcasts.events.map((m) => [m.event, m.payload, m.meta.replayed]), [['two', { days: 2 }, true]]);
        await c.removeAllChannels();
      } finally { await drop(); }
    });

    test('sending from the socket without an insert policy: ack times out, nobody receives it', { timeout: 30000 }, async () => {
      const sender = await stack.signedIn({ vsn });
      const ack = await joined(sender, QUEUE, { private: true, broadcast: { ack: true } });
      assert.equal(await ack.channel.send({ type: 'broadcast', event: 'INSERT', payload: { forged: 1 } }, { timeout: 1500 }),
                   'timed out', 'the server does not answer a refused send, even with ack');
      await sender.removeChannel(ack.channel);
      const plain = await joined(sender, QUEUE, { private: true });
      assert.equal(await plain.channel.send({ type: 'broadcast', event: 'INSERT', payload: { forged: 2 } }), 'ok',
                   'without ack supabase-js does not wait for the server');
      await assert.rejects(plain.channel.httpSend('INSERT', { forged: 3 }), /^Error: Unauthorized$/);
      await sleep(500);
      assert.deepEqual(queue.broadcasts.filter((m) => m.payload?.forged), [], 'no forged message delivered');
      // control: a topic with an insert policy takes the same sends
      const topic = `conformance:chat:${vsn ?? 'default'}`;
      const drop = await withPolicies({
        [`conformance read ${topic}`]: `for select to authenticated using ((select realtime.topic()) = '${topic}')`,
        [`conformance write ${topic}`]: `for insert to authenticated with check ((select realtime.topic()) = '${topic}')`,
      });
      try {
        const listener = await joined(mech, topic, { private: true });
        const chat = await joined(sender, topic, { private: true, broadcast: { ack: true } });
        assert.equal(await chat.channel.send({ type: 'broadcast', event: 'hello', payload: { n: 1 } }, { timeout: 5000 }), 'ok');
        const m = await listener.broadcasts.waitFor((x) => x.event === 'hello', WAIT, 'the allowed send');
        assert.deepEqual(m.payload, { n: 1 });
        await mech.removeChannel(listener.channel);
      } finally { await drop(); }
      await sender.removeAllChannels();
    });

    test('replay on a public channel: supabase-js refuses it; the server answers UnableToReplayMessages', { timeout: 20000 }, async () => {
      assert.throws(() => stack.client({ vsn }).channel('conformance-public', { config: { broadcast: { replay: { since: 0 } } } }),
                    /must be a private channel/);
      const ws = new WebSocket(`${stack.url.replace('http', 'ws')}/realtime/v1/websocket?apikey=${stack.anonKey}&vsn=${vsn ?? '2.0.0'}`);
      const replies = [];
      ws.on('message', (d) => replies.push(JSON.parse(String(d))));
      await new Promise((resolve, reject) => { ws.on('open', resolve); ws.on('error', reject); });
      const payload = { config: { broadcast: { replay: { since: 0 } }, private: false }, access_token: stack.anonKey };
      ws.send(JSON.stringify(vsn === '1.0.0'
        ? { topic: 'realtime:conformance-public', event: 'phx_join', payload, ref: '1', join_ref: '1' }
        : ['1', '1', 'realtime:conformance-public', 'phx_join', payload]));
      for (let i = 0; i < 100 && !replies.length; i++) await sleep(50);
      ws.close();
      const r = replies[0];
      const body = Array.isArray(r) ? r[4] : r.payload;
      assert.deepEqual(body, { status: 'error', response: { reason: 'UnableToReplayMessages: Replay is not allowed for public channels' } });
    });
  });
}
