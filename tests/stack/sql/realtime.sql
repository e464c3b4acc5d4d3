-- The `realtime` schema objects of a Supabase project that Broadcast from Database and private
-- channels use, as Supabase Realtime defines them (supabase/realtime's tenant migrations): the
-- table realtime.messages and the functions realtime.topic(), realtime.send(),
-- realtime.send_binary() and realtime.broadcast_changes(). Written for the stand-in, not copied.
--
-- Idempotent, plain SQL (no psql meta-commands): schema.sql includes it (`\ir`) right after the
-- roles exist, and the stand-in runs it again at start-up (standin/messages.py), so a database
-- that was not loaded by `stack up` gets it too. Needs the roles anon, authenticated, service_role.
--
-- Deviation (README): realtime.messages is one plain table, not partitioned by day; the stand-in
-- deletes what Supabase's janitor would (standin/messages.py).

create schema if not exists realtime;
grant usage on schema realtime to anon, authenticated, service_role;

create table if not exists realtime.messages (
  topic text not null,
  extension text not null,
  payload jsonb,
  event text,
  private boolean default false,
  updated_at timestamp without time zone not null default now(),
  inserted_at timestamp without time zone not null default now(),
  id uuid not null default gen_random_uuid(),
  binary_payload bytea,
  constraint messages_payload_exclusive check (payload is null or binary_payload is null),
  constraint messages_pkey primary key (id, inserted_at)
);
alter table realtime.messages enable row level security;
-- What replay searches: the newest private broadcasts of a topic.
create index if not exists messages_inserted_at_topic_index on realtime.messages (inserted_at desc, topic)
  where extension = 'broadcast' and private is true;
grant select, insert, update on realtime.messages to anon, authenticated, service_role;

-- The channel name (without "realtime:") that Realtime sets while it checks a private channel's
-- policies, and that realtime.send() sets while it inserts; for policies on realtime.messages.
create or replace function realtime.topic() returns text
  language sql stable
as $$ select nullif(current_setting('realtime.topic', true), '')::text $$;

-- Store a broadcast; Realtime streams every inserted row to the channel `topic` (private or
-- public). The row id is added to the payload as "id" unless the payload has one. Any failure
-- (a policy refusing the caller's insert, a bad topic) becomes a WARNING and loses only the
-- broadcast: the caller's transaction goes on (the insert runs in its own subtransaction).
create or replace function realtime.send(payload jsonb, event text, topic text, private boolean default true)
  returns void
  language plpgsql
as $$
declare
  message_id uuid;
begin
  begin
    message_id := gen_random_uuid();
    if not coalesce(send.payload ? 'id', false) then
      payload := jsonb_set(send.payload, '{id}', to_jsonb(message_id));
    end if;
    perform set_config('realtime.topic', send.topic, true);
    insert into realtime.messages (id, payload, event, topic, private, extension)
      values (message_id, send.payload, send.event, send.topic, send.private, 'broadcast');
  exception when others then
    raise warning 'WarnSendingBroadcastMessage: %', sqlerrm;
  end;
end
$$;

-- The same for a raw binary payload (delivered as binary to protocol 2.0.0 sockets only).
create or replace function realtime.send_binary(payload bytea, event text, topic text, private boolean default true)
  returns void
  language plpgsql
as $$
begin
  begin
    perform set_config('realtime.topic', send_binary.topic, true);
    insert into realtime.messages (id, binary_payload, event, topic, private, extension)
      values (gen_random_uuid(), send_binary.payload, send_binary.event, send_binary.topic,
              send_binary.private, 'broadcast');
  exception when others then
    raise warning 'WarnSendingBroadcastMessage: %', sqlerrm;
  end;
end
$$;

-- For row triggers: send {"record": NEW, "old_record": OLD, "operation", "table", "schema"} (plus
-- the "id" realtime.send adds) as event `event_name` on the private channel `topic_name`. NEW is
-- null for DELETE and OLD for INSERT. Raises (aborting the statement) only for a statement-level
-- call or an operation other than INSERT, UPDATE, DELETE; a failed send is only a WARNING.
create or replace function realtime.broadcast_changes(
  topic_name text, event_name text, operation text, table_name text, table_schema text,
  new record, old record, level text default 'ROW')
  returns void
  language plpgsql
as $$
begin
  if level = 'STATEMENT' then
    raise exception 'function can only be triggered for each row, not for each statement';
  end if;
  if operation in ('INSERT', 'UPDATE', 'DELETE') then
    perform realtime.send(
      jsonb_build_object('old_record', old, 'record', new, 'operation', operation,
                         'table', table_name, 'schema', table_schema),
      event_name, topic_name);
  else
    raise exception 'Unexpected operation type: %', operation;
  end if;
exception when others then
  raise exception 'Failed to process the row: %', sqlerrm;
end
$$;
