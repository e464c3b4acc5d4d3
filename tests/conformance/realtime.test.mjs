// realtime-js (through supabase-js) against the stand-in's /realtime/v1: joins, postgres_changes,
// broadcast from every kind of sender, RLS on change delivery (supabase-protocol.md §2, §3, §4).
// Everything runs twice: supabase-js's default serializer (vsn 2.0.0, binary broadcast frames)
// and vsn 1.0.0 (the C client's JSON objects).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Stack, VSNS, FEED_TOPIC, subscribeFeed, sleep, insertUntilDelivered, CUSTOMER_EMAIL, CUSTOMER_PASSWORD } from './lib.mjs';

const WAIT = 5000; // a change or broadcast on loopback arrives in milliseconds; 5 s means "lost"

let stack;
before(async () => { stack = await Stack.up(); }, { timeout: 200000 });
after(async () => { await stack?.down(); }, { timeout: 90000 });

const COMMIT_TS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

function assignmentPayload(tag) {
  return {
    assignmentId: `00000000-0000-4000-8000-${String(tag).padStart(12, '0')}`,
    sessionId: '11111111-1111-4111-8111-111111111111',
    customerName: `Conformance ${tag} <b>&amp;</b> ünïcødé`,
    vehicleSummary: '2014 Honda Civic',
    concern: 'Grinding noise when braking',
    urgent: tag % 2 === 0,
  };
}

// Decode a recorded text frame into {join_ref, ref, topic, event, payload} for either serializer.
function decodeText(f) {
  const j = JSON.parse(f.data);
  if (Array.isArray(j)) return { join_ref: j[0], ref: j[1], topic: j[2], event: j[3], payload: j[4], array: true };
  return { ...j, array: false };
}

// The frames a receiver got since index `from` that carry a broadcast with this assignmentId.
function broadcastFrames(frames, from, assignmentId) {
  return frames.slice(from).filter((f) => f.dir === 'in' &&
    (f.binary ? Buffer.from(f.bytes).includes(assignmentId) : f.data.includes(assignmentId)));
}

let tagCounter = 1;

for (const { name, vsn } of VSNS) {
  describe(`realtime, ${name}`, () => {
    const frames = [];
    let mech;   // signed-in mechanic, receiving, frames recorded
    let feed;

    before(async () => {
      mech = await stack.signedIn({ vsn, record: frames });
      feed = await subscribeFeed(mech);
    }, { timeout: 60000 });

    test('joins session_requests_feed: SUBSCRIBED, then system "Subscribed to PostgreSQL"', async () => {
      assert.equal(feed.channel.state, 'joined');
      assert.equal(feed.channel.topic, `realtime:${FEED_TOPIC}`);
      const ok = feed.system.events.find((m) => m.extension === 'postgres_changes');
      assert.equal(ok.status, 'ok');
      assert.equal(ok.message, 'Subscribed to PostgreSQL');
      assert.equal(ok.channel, FEED_TOPIC);
      // The websocket URL carries the vsn the client asked for.
      const open = frames.find((f) => f.dir === 'open');
      assert.equal(new URL(open.url).searchParams.get('vsn'), vsn ?? '2.0.0');
      assert.equal(new URL(open.url).pathname, '/realtime/v1/websocket');
      if (vsn === '1.0.0') {
        assert.ok(frames.filter((f) => f.dir === 'in').every((f) => !f.binary && f.data.startsWith('{')),
                  'vsn 1.0.0: only JSON object text frames from the server');
      } else {
        assert.ok(frames.filter((f) => f.dir === 'in' && !f.binary).every((f) => f.data.startsWith('[')),
                  'vsn 2.0.0: text frames are JSON arrays');
      }
    });

    test('wire: the join reply echoes the binding with a small integer id; phx_join ref == join_ref', async () => {
      const joins = frames.filter((f) => f.dir === 'out' && !f.binary).map(decodeText)
        .filter((m) => m.event === 'phx_join' && m.topic === `realtime:${FEED_TOPIC}`);
      assert.equal(joins.length, 1);
      assert.equal(joins[0].ref, joins[0].join_ref);
      const reply = frames.filter((f) => f.dir === 'in' && !f.binary).map(decodeText)
        .find((m) => m.event === 'phx_reply' && m.ref === joins[0].ref);
      assert.ok(reply, 'a phx_reply to the join');
      assert.equal(reply.topic, `realtime:${FEED_TOPIC}`);
      assert.equal(reply.payload.status, 'ok');
      const [b] = reply.payload.response.postgres_changes;
      assert.equal(reply.payload.response.postgres_changes.length, 1);
      assert.ok(Number.isInteger(b.id) && b.id >= 0 && b.id < 2 ** 32, `integer id, got ${JSON.stringify(b.id)}`);
      assert.equal(b.event, '*');
      assert.equal(b.schema, 'public');
      assert.equal(b.table, 'session_assignments');
      if (vsn === '1.0.0') assert.ok(!('join_ref' in reply), '1.0.0 server frames carry no join_ref (§2.2.1)');
      else assert.equal(reply.join_ref, joins[0].join_ref);
      // The system message carries the channel's join_ref (2.0.0) and a null ref.
      const sys = frames.filter((f) => f.dir === 'in' && !f.binary).map(decodeText).find((m) => m.event === 'system');
      assert.equal(sys.ref, null);
      if (vsn !== '1.0.0') assert.equal(sys.join_ref, joins[0].join_ref);
    });

    test('wire: heartbeat on topic phoenix gets an ok reply with the same ref', { timeout: 10000 }, async () => {
      const statuses = [];
      mech.realtime.onHeartbeat((status) => statuses.push(status));
      const from = frames.length;
      await mech.realtime.sendHeartbeat();
      for (let i = 0; i < 50 && !statuses.includes('ok'); i++) await sleep(20);
      assert.ok(statuses.includes('ok'), `heartbeat statuses: ${statuses}`);
      const hb = frames.slice(from).filter((f) => f.dir === 'out' && !f.binary).map(decodeText).find((m) => m.event === 'heartbeat');
      assert.equal(hb.topic, 'phoenix');
      const rep = frames.slice(from).filter((f) => f.dir === 'in' && !f.binary).map(decodeText)
        .find((m) => m.event === 'phx_reply' && m.ref === hb.ref);
      assert.equal(rep.topic, 'phoenix');
      assert.deepEqual(rep.payload, { status: 'ok', response: {} });
    });

    test('INSERT (stack request --no-broadcast) arrives as eventType INSERT with the typed new row', { timeout: 20000 }, async () => {
      const [row] = await stack.request('--no-broadcast');
      const ev = await feed.changes.waitFor((p) => p.eventType === 'INSERT' && p.new?.id === row.assignment_id,
                                            WAIT, `INSERT of ${row.assignment_id}`);
      assert.equal(ev.schema, 'public');
      assert.equal(ev.table, 'session_assignments');
      assert.match(ev.commit_timestamp, COMMIT_TS);
      assert.ok(Math.abs(Date.parse(ev.commit_timestamp) - Date.now()) < 10000, 'commit_timestamp is now (UTC)');
      assert.equal(ev.errors, null);
      assert.deepEqual(ev.old, {});
      assert.equal(ev.new.status, 'queued');
      assert.equal(ev.new.session_id, row.session_id);
      for (const col of ['id', 'session_id', 'mechanic_id', 'status', 'created_at', 'updated_at',
                         'offered_at', 'accepted_at', 'expired_at', 'metadata']) {
        assert.ok(col in ev.new, `new.${col} present`);
      }
      assert.ok(ev.new.metadata === null || typeof ev.new.metadata === 'object', 'jsonb arrives as JSON, not a string');
      assert.match(ev.new.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?[+-]\d\d:\d\d$/, 'timestamptz as ISO with offset');
    });

    // Control for the test above: the same number of plain one-row INSERTs through psql.
    test('every INSERT of 20 consecutive psql INSERTs is delivered', { timeout: 60000 }, async () => {
      const ids = [];
      for (let i = 0; i < 20; i++) ids.push(await stack.insertAssignment());
      const res = await Promise.allSettled(ids.map((id) =>
        feed.changes.waitFor((p) => p.eventType === 'INSERT' && p.new?.id === id, WAIT, `INSERT of ${id}`)));
      const missing = ids.filter((_, i) => res[i].status === 'rejected');
      assert.deepEqual(missing, [], `${missing.length} of 20 INSERTs never reached supabase-js`);
    });

    test('every INSERT of 20 consecutive `stack request` runs is delivered', { timeout: 60000 }, async () => {
      const ids = [];
      for (let i = 0; i < 20; i++) ids.push((await stack.request('--no-broadcast'))[0].assignment_id);
      const res = await Promise.allSettled(ids.map((id) =>
        feed.changes.waitFor((p) => p.eventType === 'INSERT' && p.new?.id === id, WAIT, `INSERT of ${id}`)));
      const missing = ids.filter((_, i) => res[i].status === 'rejected');
      assert.deepEqual(missing, [], `${missing.length} of 20 INSERTs never reached supabase-js`);
    });

    test('UPDATE (stack set-status accepted) arrives with new and the full old row (REPLICA IDENTITY FULL)', { timeout: 20000 }, async () => {
      const [row] = await stack.request('--no-broadcast');
      await stack.setStatus(row.assignment_id, 'accepted');
      const ev = await feed.changes.waitFor((p) => p.eventType === 'UPDATE' && p.new?.id === row.assignment_id,
                                            WAIT, `UPDATE of ${row.assignment_id}`);
      assert.equal(ev.new.status, 'accepted');
      assert.equal(ev.old.id, row.assignment_id);
      assert.equal(ev.old.status, 'queued');
      assert.equal(ev.old.session_id, row.session_id);
      assert.match(ev.commit_timestamp, COMMIT_TS);
      assert.equal(ev.errors, null);
    });

    test('DELETE (SQL) arrives with old = primary key only (RLS table) and new = {}', { timeout: 20000 }, async () => {
      const [row] = await stack.request('--no-broadcast');
      await stack.sql(`delete from public.session_assignments where id = '${row.assignment_id}'`);
      const ev = await feed.changes.waitFor((p) => p.eventType === 'DELETE' && p.old?.id === row.assignment_id,
                                            WAIT, `DELETE of ${row.assignment_id}`);
      assert.deepEqual(ev.new, {});
      assert.deepEqual(Object.keys(ev.old), ['id'], 'RLS-enabled table: DELETE old_record filtered to the PK (§3.3)');
      assert.match(ev.commit_timestamp, COMMIT_TS);
    });

    test('DELETE through the service-role client (postgrest-js) arrives too', { timeout: 20000 }, async () => {
      const [row] = await stack.request('--no-broadcast');
      const svc = stack.client({ key: 'service' });
      const { error, status } = await svc.from('session_assignments').delete().eq('id', row.assignment_id);
      assert.equal(error, null);
      assert.equal(status, 204);
      await feed.changes.waitFor((p) => p.eventType === 'DELETE' && p.old?.id === row.assignment_id,
                                 WAIT, `DELETE of ${row.assignment_id}`);
    });

    for (const sender of VSNS) {
      test(`broadcast sent over the socket by another supabase-js client (${sender.name})`, { timeout: 30000 }, async () => {
        const sentFrames = [];
        const other = stack.client({ vsn: sender.vsn, record: sentFrames });
        const ch = other.channel(FEED_TOPIC);
        await new Promise((resolve, reject) => ch.subscribe((s, e) => {
          if (s === 'SUBSCRIBED') resolve(); else reject(new Error(`${s} ${e?.message ?? ''}`));
        }));
        const before = frames.length;
        const payload = assignmentPayload(tagCounter++);
        const res = await ch.send({ type: 'broadcast', event: 'new_assignment', payload });
        assert.equal(res, 'ok');
        const m = await feed.broadcasts.waitFor((b) => b.payload?.assignmentId === payload.assignmentId,
                                                WAIT, `broadcast ${payload.assignmentId}`);
        assert.equal(m.type, 'broadcast');
        assert.equal(m.event, 'new_assignment');
        assert.deepEqual(m.payload, payload);

        const out = sentFrames.filter((f) => f.dir === 'out' && (f.binary || f.data.includes('new_assignment')));
        if (sender.vsn === undefined) {
          assert.ok(out.some((f) => f.binary && f.kind === 3), 'a default supabase-js client sends a binary kind-3 frame');
        } else {
          assert.ok(out.some((f) => !f.binary && f.data.startsWith('{')), 'a 1.0.0 client sends a JSON object');
        }
        const got = broadcastFrames(frames, before, payload.assignmentId);
        assert.equal(got.length, 1, 'exactly one frame delivered');
        if (vsn === '1.0.0') {
          assert.ok(!got[0].binary, 'vsn 1.0.0 receiver gets JSON text');
          const m = decodeText(got[0]);
          assert.equal(m.ref, null);
          assert.equal(m.event, 'broadcast');
        } else if (sender.vsn === undefined) {
          assert.ok(got[0].binary && got[0].kind === 4,
                    'a kind-3 push reaches a 2.0.0 subscriber as a binary kind-4 user broadcast (§2.2.2, §4.1)');
        } else {
          assert.ok(!got[0].binary, 'a client text push reaches a 2.0.0 subscriber as a JSON text frame (§4.1)');
          const m = decodeText(got[0]);
          assert.ok(m.array);
          assert.equal(m.join_ref, null);
          assert.equal(m.ref, null);
        }
        await other.removeAllChannels();
      });
    }

    test('broadcast via POST /realtime/v1/api/broadcast (batch REST): 202, delivered', { timeout: 20000 }, async () => {
      const payload = assignmentPayload(tagCounter++);
      const res = await fetch(`${stack.url}/realtime/v1/api/broadcast`, {
        method: 'POST',
        headers: { apikey: stack.serviceKey, Authorization: `Bearer ${stack.serviceKey}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ messages: [{ topic: FEED_TOPIC, event: 'new_assignment', payload, private: false }] }),
      });
      assert.equal(res.status, 202);
      assert.equal(await res.text(), '');
      const m = await feed.broadcasts.waitFor((b) => b.payload?.assignmentId === payload.assignmentId,
                                              WAIT, `REST broadcast ${payload.assignmentId}`);
      assert.equal(m.event, 'new_assignment');
      assert.deepEqual(m.payload, payload);
      const got = broadcastFrames(frames, 0, payload.assignmentId);
      assert.equal(got.length, 1);
      assert.ok(!got[0].binary, 'the batch REST endpoint reaches every subscriber as JSON text (§4.1)');
    });

    test('broadcast via POST /realtime/v1/api/broadcast without a token: 401', { timeout: 20000 }, async () => {
      const res = await fetch(`${stack.url}/realtime/v1/api/broadcast`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ messages: [{ topic: FEED_TOPIC, event: 'x', payload: {} }] }),
      });
      assert.equal(res.status, 401);
    });

    test('broadcast via channel.httpSend (single-message REST endpoint)', { timeout: 20000 }, async () => {
      const other = stack.client();
      const ch = other.channel(FEED_TOPIC);
      const payload = assignmentPayload(tagCounter++);
      const from = frames.length;
      const res = await ch.httpSend('new_assignment', payload);
      assert.deepEqual(res, { success: true });
      const m = await feed.broadcasts.waitFor((b) => b.payload?.assignmentId === payload.assignmentId,
                                              WAIT, `httpSend broadcast ${payload.assignmentId}`);
      assert.equal(m.event, 'new_assignment');
      assert.deepEqual(m.payload, payload);
      const got = broadcastFrames(frames, from, payload.assignmentId);
      assert.equal(got.length, 1);
      if (vsn === '1.0.0') assert.ok(!got[0].binary, 'JSON text for 1.0.0');
      else assert.ok(got[0].binary && got[0].kind === 4, 'the single-message endpoint reaches 2.0.0 subscribers as kind 4 (§4.2)');
      await other.removeAllChannels();
    });

    test('stack request: postgres_changes INSERT and the new_assignment broadcast both arrive', { timeout: 20000 }, async () => {
      const [row] = await stack.request();
      const ch = await feed.changes.waitFor((p) => p.eventType === 'INSERT' && p.new?.id === row.assignment_id,
                                            WAIT, `INSERT of ${row.assignment_id}`);
      assert.equal(ch.new.status, 'queued');
      const b = await feed.broadcasts.waitFor((m) => m.payload?.assignmentId === row.assignment_id,
                                              WAIT, `new_assignment broadcast for ${row.assignment_id}`);
      assert.equal(b.event, 'new_assignment');
      assert.equal(b.payload.sessionId, row.session_id);
      for (const k of ['customerName', 'vehicleSummary', 'concern', 'urgent']) assert.ok(k in b.payload, `payload.${k}`);
    });

    test('stack request --legacy: a legacy new_request broadcast arrives', { timeout: 20000 }, async () => {
      const [row] = await stack.request('--legacy');
      const b = await feed.broadcasts.waitFor((m) => m.event === 'new_request' &&
          JSON.stringify(m.payload).includes(row.customer ?? row.assignment_id),
        WAIT, 'legacy new_request broadcast');
      assert.equal(b.type, 'broadcast');
    });

    test('RLS: a signed-in customer gets no assignment INSERT/UPDATE while a mechanic does; DELETE reaches both', { timeout: 30000 }, async () => {
      const cust = await stack.signedIn({ vsn, email: CUSTOMER_EMAIL, password: CUSTOMER_PASSWORD });
      const cfeed = await subscribeFeed(cust);
      const { ids, id } = await insertUntilDelivered(stack, feed, 'mechanic (positive control)');
      const row = { assignment_id: id };
      await stack.setStatus(row.assignment_id, 'declined');
      await feed.changes.waitFor((p) => p.eventType === 'UPDATE' && p.new?.id === row.assignment_id, WAIT, 'mechanic UPDATE');
      await stack.sql(`delete from public.session_assignments where id = '${row.assignment_id}'`);
      // DELETE is not RLS-checked (§3.3): the customer's subscription is live and gets it.
      const del = await cfeed.changes.waitFor((p) => p.eventType === 'DELETE' && p.old?.id === row.assignment_id,
                                              WAIT, 'customer DELETE (proves the customer channel is live)');
      assert.deepEqual(Object.keys(del.old), ['id']);
      await sleep(300);
      const leaked = cfeed.changes.filter((p) => p.eventType !== 'DELETE' &&
        (ids.includes(p.new?.id) || ids.includes(p.old?.id)));
      assert.deepEqual(leaked, [], 'no INSERT/UPDATE delivered to a non-mechanic');
      await cust.removeAllChannels();
    });

    test('anon key (no user): joins, but RLS hides assignment INSERTs', { timeout: 30000 }, async () => {
      const anon = stack.client({ vsn });
      const afeed = await subscribeFeed(anon);
      const { ids, id } = await insertUntilDelivered(stack, feed, 'mechanic (positive control)');
      const row = { assignment_id: id };
      // A broadcast (public channel) does reach anon: proves the socket is alive.
      const res = await fetch(`${stack.url}/realtime/v1/api/broadcast`, {
        method: 'POST',
        headers: { apikey: stack.serviceKey, Authorization: `Bearer ${stack.serviceKey}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ messages: [{ topic: FEED_TOPIC, event: 'new_assignment', payload: { assignmentId: row.assignment_id } }] }),
      });
      assert.equal(res.status, 202);
      await afeed.broadcasts.waitFor((m) => m.payload?.assignmentId === row.assignment_id, WAIT, 'anon broadcast');
      await sleep(500);
      assert.deepEqual(afeed.changes.filter((p) => ids.includes(p.new?.id)), []);
      await anon.removeAllChannels();
    });

    test('postgres_changes with a filter (status=eq.queued): the reply echoes it; non-matching UPDATEs are not sent', { timeout: 30000 }, async () => {
      const c = await stack.signedIn({ vsn });
      const changes = [];
      const ch = c.channel(`filtered-${vsn ?? 'default'}`)
        .on('postgres_changes', { event: '*', schema: 'public', table: 'session_assignments', filter: 'status=eq.queued' },
            (p) => changes.push(p));
      const sys = [];
      ch.on('system', {}, (m) => sys.push(m));
      await new Promise((resolve, reject) => ch.subscribe((st, e) => st === 'SUBSCRIBED' ? resolve()
        : reject(new Error(`${st} ${e?.message ?? ''} (a binding mismatch means the reply did not echo the filter)`))));
      for (let i = 0; i < 100 && !sys.some((m) => m.status === 'ok'); i++) await sleep(50);
      assert.ok(sys.some((m) => m.extension === 'postgres_changes' && m.status === 'ok'));
      const { id } = await insertUntilDelivered(stack, feed, 'control');
      for (let i = 0; i < 100 && !changes.some((p) => p.new?.id === id); i++) await sleep(20);
      assert.ok(changes.some((p) => p.eventType === 'INSERT' && p.new?.id === id), 'queued INSERT passes the filter');
      await stack.setStatus(id, 'accepted');
      await feed.changes.waitFor((p) => p.eventType === 'UPDATE' && p.new?.id === id, WAIT, 'control UPDATE');
      await sleep(300);
      assert.deepEqual(changes.filter((p) => p.eventType === 'UPDATE' && p.new?.id === id), [],
                       'UPDATE to accepted does not match status=eq.queued');
      await c.removeAllChannels();
    });

    test('postgres_changes on public.feature_flags (stack flag): typed boolean, old = primary key', { timeout: 30000 }, async () => {
      const c = await stack.signedIn({ vsn });
      const f = new (feed.changes.constructor)();
      const ch = c.channel(`flags-${vsn ?? 'default'}`)
        .on('postgres_changes', { event: 'UPDATE', schema: 'public', table: 'feature_flags' }, (p) => f.push(p));
      const sys = [];
      ch.on('system', {}, (m) => sys.push(m));
      await new Promise((resolve, reject) => ch.subscribe((st, e) => st === 'SUBSCRIBED' ? resolve() : reject(new Error(`${st} ${e?.message ?? ''}`))));
      for (let i = 0; i < 100 && !sys.some((m) => m.status === 'ok'); i++) await sleep(50);
      await stack.cmd('flag', 'mech_audio_alerts', 'off');
      const off = await f.waitFor((p) => p.new?.key === 'mech_audio_alerts' && p.new.enabled === false, WAIT, 'flag off');
      assert.equal(off.eventType, 'UPDATE');
      assert.equal(off.table, 'feature_flags');
      assert.deepEqual(off.old, { key: 'mech_audio_alerts' }, 'REPLICA IDENTITY DEFAULT: old_record is the primary key (§3.3)');
      await stack.cmd('flag', 'mech_audio_alerts', 'on');
      const on = await f.waitFor((p) => p.new?.key === 'mech_audio_alerts' && p.new.enabled === true, WAIT, 'flag on');
      assert.equal(typeof on.new.enabled, 'boolean');
      await c.removeAllChannels();
    });

    test('broadcast config ack + self: send() resolves "ok" from the server reply and the sender gets its own message', { timeout: 20000 }, async () => {
      const c = stack.client({ vsn });
      const got = [];
      const ch = c.channel(`ackself-${vsn ?? 'default'}`, { config: { broadcast: { ack: true, self: true } } })
        .on('broadcast', { event: 'ping' }, (m) => got.push(m));
      await new Promise((resolve, reject) => ch.subscribe((st, e) => st === 'SUBSCRIBED' ? resolve() : reject(new Error(`${st} ${e?.message ?? ''}`))));
      const res = await ch.send({ type: 'broadcast', event: 'ping', payload: { n: 1 } });
      assert.equal(res, 'ok');
      for (let i = 0; i < 100 && !got.length; i++) await sleep(20);
      assert.equal(got.length, 1);
      assert.deepEqual(got[0].payload, { n: 1 });
      await c.removeAllChannels();
    });

    test('broadcast without self: the sender does not get its own message', { timeout: 20000 }, async () => {
      const c = stack.client({ vsn });
      const got = [];
      const ch = c.channel(FEED_TOPIC).on('broadcast', { event: 'noself' }, (m) => got.push(m));
      await new Promise((resolve, reject) => ch.subscribe((st, e) => st === 'SUBSCRIBED' ? resolve() : reject(new Error(`${st} ${e?.message ?? ''}`))));
      assert.equal(await ch.send({ type: 'broadcast', event: 'noself', payload: { x: 1 } }), 'ok');
      await feed.broadcasts.waitFor((m) => m.event === 'noself', WAIT, 'the other subscriber gets it');
      await sleep(300);
      assert.equal(got.length, 0);
      await c.removeAllChannels();
    });

    test('unsubscribe: phx_leave answered, channel closed', { timeout: 20000 }, async () => {
      const c = stack.client({ vsn });
      const f = await subscribeFeed(c, { pgChanges: false });
      const res = await f.channel.unsubscribe();
      assert.equal(res, 'ok');
      assert.equal(f.channel.state, 'closed');
    });
  });
}
