// sbjs-subscriber.mjs: the official supabase-js client, subscribed like the web dashboard was,
// printing one JSON line per callback with a sub-millisecond wall-clock time, so a benchmark can
// put it side by side with Wrenchbell's alert log on the same machine clock.
//
//   node sbjs-subscriber.mjs URL API_KEY EMAIL PASSWORD [TOPIC]
// API_KEY: the publishable key or the legacy anon key. SBJS_REALTIME_VSN=1.0.0|2.0.0 picks the
// Realtime protocol (unset: supabase-js's default, 2.0.0); the first line says which it speaks.
// Prints {"ready":true} once subscribed, then {"kind":"postgres_changes"|"broadcast"|"db_broadcast",
// "id":…,"t_ms":…}; db_broadcast: Broadcast from Database on the private channel
// SBJS_PRIVATE_TOPIC (default session_assignments:queue; empty: not joined).
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const top = fileURLToPath(new URL('../..', import.meta.url));
const require = createRequire(join(top, 'tests', 'conformance', 'package.json'));
const { createClient } = require('@supabase/supabase-js');
const WebSocket = require('ws');

const [url, key, email, password, topic = 'session_requests_feed'] = process.argv.slice(2);
const wall = () => performance.timeOrigin + performance.now();
const out = (o) => process.stdout.write(JSON.stringify(o) + '\n');

const realtime = { transport: WebSocket };
if (process.env.SBJS_REALTIME_VSN) realtime.vsn = process.env.SBJS_REALTIME_VSN;
const sb = createClient(url, key, {
  realtime,
  auth: { persistSession: false, autoRefreshToken: true },
});
const { error } = await sb.auth.signInWithPassword({ email, password });
if (error) {
  console.error('sign-in failed:', error.message);
  process.exit(1);
}
sb.channel(topic)
  .on('postgres_changes', { event: '*', schema: 'public', table: 'session_assignments' }, (p) => {
    const t = wall();
    if (p.eventType === 'INSERT') out({ kind: 'postgres_changes', id: p.new.id, t_ms: t });
  })
  .on('broadcast', { event: 'new_assignment' }, (p) => {
    out({ kind: 'broadcast', id: p.payload.assignmentId, t_ms: wall() });
  })
  .on('system', {}, (p) => {
    if (p.extension === 'postgres_changes' && p.status === 'ok') out({ ready: true, vsn: sb.realtime.vsn });
  })
  .subscribe();
const privateTopic = process.env.SBJS_PRIVATE_TOPIC ?? 'session_assignments:queue';
if (privateTopic) {
  await sb.realtime.setAuth();
  sb.channel(privateTopic, { config: { private: true } })
    .on('broadcast', { event: 'INSERT' }, (p) => {
      const t = wall();
      if (p.payload?.record?.id) out({ kind: 'db_broadcast', id: p.payload.record.id, t_ms: t });
    })
    .subscribe((status, err) => {
      if (status !== 'SUBSCRIBED') console.error('private channel:', status, err?.message ?? '');
    });
}
process.on('SIGTERM', () => process.exit(0));
