-- Broadcast from Database for Wrenchbell (issue 10), the way Supabase recommends following
-- database changes: a row trigger on public.session_assignments sends every INSERT, UPDATE and
-- DELETE with realtime.broadcast_changes() to the PRIVATE channel `session_assignments:queue`
-- (event = operation), and policies on realtime.messages decide who may join that channel.
--
-- Part of schema.sql (`\ir`); `stack db-broadcast on` runs it again (idempotent), `stack
-- db-broadcast off [--policies]` removes the trigger (and the policies). Plain SQL.

-- security definer: the trigger runs as this function's owner, so realtime.send's insert into
-- realtime.messages is not subject to the policies below, whoever changed the row.
create or replace function public.broadcast_session_assignment_change() returns trigger
  language plpgsql security definer set search_path = ''
as $$
begin
  perform realtime.broadcast_changes('session_assignments:queue', tg_op, tg_op, tg_table_name,
                                     tg_table_schema, new, old);
  return null;
end
$$;
revoke execute on function public.broadcast_session_assignment_change() from public, anon, authenticated;

drop trigger if exists session_assignments_broadcast on public.session_assignments;
create trigger session_assignments_broadcast
  after insert or update or delete on public.session_assignments
  for each row execute function public.broadcast_session_assignment_change();

-- Mechanics may join (read) the queue topic: its broadcasts, not presence.
drop policy if exists "Mechanics can receive the assignment queue" on realtime.messages;
create policy "Mechanics can receive the assignment queue" on realtime.messages
  for select to authenticated
  using ((select realtime.topic()) = 'session_assignments:queue'
         and extension = 'broadcast'
         and public.is_mechanic());

-- Nobody may send to it from a client (socket or REST), whatever other insert policies allow:
-- only the trigger (and the service role, which bypasses row security) puts messages there.
drop policy if exists "Nobody sends to the assignment queue from a client" on realtime.messages;
create policy "Nobody sends to the assignment queue from a client" on realtime.messages
  as restrictive for insert to anon, authenticated
  with check (topic is distinct from 'session_assignments:queue');
