-- Wrenchbell backend schema for the local Supabase stand-in (docs/design.md, "Backend contract").
-- Loaded by `stack up` as the superuser into a fresh cluster.
\set ON_ERROR_STOP 1
set client_min_messages = warning;

create extension if not exists pgcrypto;

-- ---------------------------------------------------------------- roles (as in a Supabase project)
do $$
begin
  if not exists (select 1 from pg_roles where rolname = 'anon') then
    create role anon nologin noinherit;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'authenticated') then
    create role authenticated nologin noinherit;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'service_role') then
    create role service_role nologin noinherit bypassrls;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'authenticator') then
    create role authenticator login noinherit;
  end if;
end $$;
grant anon, authenticated, service_role to authenticator;

-- ---------------------------------------------------------------- realtime schema (Supabase Realtime's)
\ir realtime.sql

-- ---------------------------------------------------------------- auth schema stand-in
create schema if not exists auth;

create table auth.users (
  id uuid primary key default gen_random_uuid(),
  aud text not null default 'authenticated',
  role text not null default 'authenticated',
  email text unique,
  encrypted_password text,
  email_confirmed_at timestamptz,
  phone text,
  raw_app_meta_data jsonb not null default '{"provider":"email","providers":["email"]}'::jsonb,
  raw_user_meta_data jsonb not null default '{}'::jsonb,
  last_sign_in_at timestamptz,
  banned_until timestamptz,
  is_anonymous boolean not null default false,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create table auth.sessions (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references auth.users(id) on delete cascade,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  revoked_at timestamptz,               -- set on reuse detection: the whole family is dead
  not_after timestamptz
);
create index on auth.sessions(user_id);

create table auth.refresh_tokens (
  id bigserial primary key,
  token text not null unique,
  user_id uuid not null references auth.users(id) on delete cascade,
  session_id uuid not null references auth.sessions(id) on delete cascade,
  parent text,
  revoked boolean not null default false,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index on auth.refresh_tokens(session_id);
create index on auth.refresh_tokens(parent);

-- The JWT helpers Supabase provides; they read what PostgREST/Realtime put in request.jwt.claims.
create or replace function auth.jwt() returns jsonb
  language sql stable
as $$ select coalesce(nullif(current_setting('request.jwt.claims', true), ''), '{}')::jsonb $$;

create or replace function auth.uid() returns uuid
  language sql stable
as $$
  select case when (auth.jwt() ->> 'sub') ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
              then (auth.jwt() ->> 'sub')::uuid end
$$;

create or replace function auth.role() returns text
  language sql stable
as $$ select coalesce(nullif(current_setting('request.jwt.claim.role', true), ''), auth.jwt() ->> 'role') $$;

create or replace function auth.email() returns text
  language sql stable
as $$ select auth.jwt() ->> 'email' $$;

grant usage on schema auth to anon, authenticated, service_role;
grant execute on all functions in schema auth to anon, authenticated, service_role;

-- ---------------------------------------------------------------- public schema
create or replace function public.set_updated_at() returns trigger
  language plpgsql
as $$ begin new.updated_at := now(); return new; end $$;

create table public.intakes (
  id uuid primary key default gen_random_uuid(),
  name text,
  email text,
  phone text,
  concern text,
  vehicle_year int,
  vehicle_make text,
  vehicle_model text,
  created_at timestamptz not null default now()
);

create table public.sessions (
  id uuid primary key default gen_random_uuid(),
  customer_id uuid,
  type text not null default 'diagnostic',
  status text not null default 'pending',
  intake_id uuid references public.intakes(id) on delete set null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index on public.sessions(intake_id);
create index on public.sessions(customer_id);

create table public.mechanics (
  id uuid primary key default gen_random_uuid(),
  user_id uuid unique references auth.users(id) on delete cascade,
  name text,
  workshop_id uuid
);

set search_path = public;

-- session_assignments: the seed's DDL verbatim (seeds/003).
CREATE TABLE session_assignments (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  session_id UUID NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
  mechanic_id UUID REFERENCES mechanics(id) ON DELETE SET NULL,
  status TEXT CHECK (status IN (
    'pending_waiver', 'queued', 'offered', 'accepted',
    'declined', 'expired', 'cancelled', 'completed'
  )) DEFAULT 'queued',
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  offered_at TIMESTAMPTZ,
  accepted_at TIMESTAMPTZ,
  expired_at TIMESTAMPTZ,
  metadata JSONB NOT NULL DEFAULT '{}'::jsonb
);

create index on public.session_assignments(session_id);
create index on public.session_assignments(mechanic_id);
create index on public.session_assignments(status);
create index on public.session_assignments(created_at);

alter table public.session_assignments replica identity full;

create table public.feature_flags (
  key text primary key,
  enabled boolean not null default false,
  updated_at timestamptz not null default now()
);

insert into public.feature_flags(key, enabled) values
  ('mech_new_request_alerts', true),
  ('mech_audio_alerts', true),
  ('mech_browser_notifications', true),
  ('mech_visual_indicators', true);

create trigger sessions_updated_at before update on public.sessions
  for each row execute function public.set_updated_at();
create trigger session_assignments_updated_at before update on public.session_assignments
  for each row execute function public.set_updated_at();
create trigger feature_flags_updated_at before update on public.feature_flags
  for each row execute function public.set_updated_at();

-- ---------------------------------------------------------------- RLS helpers
-- security definer so that policies on sessions/intakes can look at assignments without recursion.
create or replace function public.current_mechanic_id() returns uuid
  language sql stable security definer set search_path = public
as $$ select m.id from public.mechanics m where m.user_id = auth.uid() $$;

create or replace function public.is_mechanic() returns boolean
  language sql stable security definer set search_path = public
as $$ select exists (select 1 from public.mechanics m where m.user_id = auth.uid()) $$;

-- May the caller (a mechanic) see the session? Queued/offered assignments that are open or
-- targeted at them, or assignments that are theirs.
create or replace function public.mechanic_can_see_session(p_session_id uuid) returns boolean
  language sql stable security definer set search_path = public
as $$
  select exists (
    select 1
      from public.session_assignments a
      join public.mechanics m on m.user_id = auth.uid()
     where a.session_id = p_session_id
       and (a.mechanic_id = m.id
            or (a.status in ('queued', 'offered') and a.mechanic_id is null)))
$$;

create or replace function public.can_see_intake(p_intake_id uuid) returns boolean
  language sql stable security definer set search_path = public
as $$
  select exists (
    select 1 from public.sessions s
     where s.intake_id = p_intake_id
       and (s.customer_id = auth.uid() or public.mechanic_can_see_session(s.id)))
$$;

-- ---------------------------------------------------------------- RLS policies
alter table public.session_assignments enable row level security;
alter table public.sessions enable row level security;
alter table public.intakes enable row level security;
alter table public.mechanics enable row level security;
alter table public.feature_flags enable row level security;

create policy "Mechanics can view assignments for realtime" on public.session_assignments
  for select to authenticated using (public.is_mechanic());

create policy "Customers can view assignments of their sessions" on public.session_assignments
  for select to authenticated
  using (exists (select 1 from public.sessions s where s.id = session_id and s.customer_id = auth.uid()));

create policy "Mechanics can update their assignments" on public.session_assignments
  for update to authenticated
  using (public.is_mechanic()
         and (mechanic_id = public.current_mechanic_id()
              or (status in ('queued', 'offered') and mechanic_id is null)))
  with check (mechanic_id is null or mechanic_id = public.current_mechanic_id());

create policy "Sessions visible to their customer or an eligible mechanic" on public.sessions
  for select to authenticated
  using (customer_id = auth.uid() or public.mechanic_can_see_session(id));

create policy "Intakes visible behind visible sessions" on public.intakes
  for select to authenticated
  using (public.can_see_intake(id));

create policy "Mechanics visible to mechanics and themselves" on public.mechanics
  for select to authenticated
  using (user_id = auth.uid() or public.is_mechanic());

create policy "Feature flags readable when signed in" on public.feature_flags
  for select to authenticated using (true);

-- ---------------------------------------------------------------- grants (Supabase defaults)
grant usage on schema public to anon, authenticated, service_role;
grant select, insert, update, delete on all tables in schema public to anon, authenticated, service_role;
grant usage, select on all sequences in schema public to anon, authenticated, service_role;
grant all on all tables in schema auth to service_role;
grant usage, select on all sequences in schema auth to service_role;

-- ---------------------------------------------------------------- RPC
-- Accept an open (or targeted) assignment as the calling mechanic; returns the row as JSON.
create or replace function public.accept_assignment(p_id uuid) returns jsonb
  language plpgsql security invoker set search_path = public
as $$
declare
  me uuid := public.current_mechanic_id();
  r public.session_assignments;
begin
  if me is null then
    raise exception 'only mechanics can accept assignments' using errcode = '42501';
  end if;
  update public.session_assignments a
     set status = 'accepted', mechanic_id = me, accepted_at = now()
   where a.id = p_id and a.status in ('queued', 'offered')
     and (a.mechanic_id is null or a.mechanic_id = me)
  returning * into r;
  if not found then
    raise exception 'assignment % is not available', p_id using errcode = 'P0001',
      hint = 'It was taken, cancelled or is targeted at another mechanic.';
  end if;
  return to_jsonb(r);
end $$;

-- Decline: the assignment leaves the queue (a re-queue later starts a new episode).
create or replace function public.decline_assignment(p_id uuid) returns jsonb
  language plpgsql security invoker set search_path = public
as $$
declare
  r public.session_assignments;
begin
  update public.session_assignments a set status = 'declined'
   where a.id = p_id and a.status in ('queued', 'offered')
  returning * into r;
  if not found then
    raise exception 'assignment % is not available', p_id using errcode = 'P0001';
  end if;
  return to_jsonb(r);
end $$;

-- Take a queued assignment as the calling mechanic: the first mechanic wins (docs/design.md,
-- "The Supabase of 2026" and "Backend contract"; what Wrenchbell's Accept calls). Race-safe by
-- construction: one conditional UPDATE … WHERE status = 'queued' … RETURNING; concurrent callers
-- queue on the row lock and re-check the WHERE clause after the winner commits, so they update
-- nothing and learn who won.
-- PostgREST passes the SQLSTATE through as `code` (PTxyz also sets HTTP status xyz), the text as
-- `message` and the DETAIL as `details`:
--   200 the row                 accepted now, or already accepted by the caller (a retry whose
--                               first answer was lost is not an error)
--   409 PT409 "already taken by Bob"      another mechanic took it; details: that mechanic's name
--   410 PT410 "no longer queued (expired)" it left the queue otherwise; details: its status
--   404 PT404 "no such assignment"
--   403 42501                   the caller is not a mechanic, or the request is offered to another
create or replace function public.accept_session_assignment(p_assignment_id uuid)
  returns public.session_assignments
  language plpgsql volatile security definer set search_path = public
as $$
declare
  me uuid := public.current_mechanic_id();
  r public.session_assignments;
  taker text;
begin
  if me is null then
    raise exception 'only mechanics can accept session assignments' using errcode = '42501';
  end if;
  update public.session_assignments
     set status = 'accepted', mechanic_id = me, accepted_at = now()
   where id = p_assignment_id and status = 'queued' and (mechanic_id is null or mechanic_id = me)
  returning * into r;
  if found then
    return r;
  end if;
  select * into r from public.session_assignments where id = p_assignment_id;
  if not found then
    raise exception 'no such assignment' using errcode = 'PT404';
  elsif r.status = 'accepted' and r.mechanic_id = me then
    return r;
  elsif r.status = 'accepted' then
    select nullif(btrim(m.name), '') into taker from public.mechanics m where m.id = r.mechanic_id;
    taker := coalesce(taker, 'another mechanic');
    raise exception 'already taken by %', taker using errcode = 'PT409', detail = taker;
  elsif r.status = 'queued' then
    raise exception 'offered to another mechanic' using errcode = '42501';
  end if;
  raise exception 'no longer queued (%)', r.status using errcode = 'PT410', detail = r.status;
end $$;

revoke execute on function public.accept_session_assignment(uuid) from public, anon;
grant execute on function public.accept_session_assignment(uuid) to authenticated, service_role;

-- The queued assignments the caller can see (catch-up), oldest first.
create or replace function public.queued_assignments() returns setof public.session_assignments
  language sql stable security invoker set search_path = public
as $$ select * from public.session_assignments where status = 'queued' order by created_at $$;

create or replace function public.whoami() returns jsonb
  language sql stable
as $$ select jsonb_build_object('uid', auth.uid(), 'role', auth.role(), 'current_user', current_user,
                                 'mechanic_id', public.current_mechanic_id()) $$;

revoke execute on function public.accept_assignment(uuid), public.decline_assignment(uuid) from public, anon;
grant execute on function public.accept_assignment(uuid), public.decline_assignment(uuid),
  public.queued_assignments(), public.whoami() to authenticated, service_role;
grant execute on function public.whoami() to anon;
grant execute on function public.current_mechanic_id(), public.is_mechanic(),
  public.mechanic_can_see_session(uuid), public.can_see_intake(uuid) to anon, authenticated, service_role;

-- ---------------------------------------------------------------- realtime publication
create publication supabase_realtime for table public.session_assignments, public.feature_flags;

-- ---------------------------------------------------------------- Broadcast from Database
-- The trigger sending every change of public.session_assignments to the private channel
-- `session_assignments:queue`, and who may join it (issue 10). The public
-- `session_requests_feed` broadcast and postgres_changes above stay for older clients.
\ir db-broadcast.sql
