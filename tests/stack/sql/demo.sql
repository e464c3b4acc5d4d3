-- Demo data: two mechanics (one in a workshop), one customer; password `wrenchbell-demo` for all.
\set ON_ERROR_STOP 1
insert into auth.users (id, email, encrypted_password, email_confirmed_at, raw_user_meta_data) values
  ('11111111-1111-4111-8111-111111111111', 'mechanic@example.com',
   crypt('wrenchbell-demo', gen_salt('bf', 6)), now(), '{"name":"Mia Mechanic"}'),
  ('22222222-2222-4222-8222-222222222222', 'workshop@example.com',
   crypt('wrenchbell-demo', gen_salt('bf', 6)), now(), '{"name":"Wes Workshop"}'),
  ('33333333-3333-4333-8333-333333333333', 'customer@example.com',
   crypt('wrenchbell-demo', gen_salt('bf', 6)), now(), '{"name":"Casey Customer"}');

insert into public.mechanics (id, user_id, name, workshop_id) values
  ('aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa', '11111111-1111-4111-8111-111111111111', 'Mia Mechanic', null),
  ('bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb', '22222222-2222-4222-8222-222222222222', 'Wes Workshop',
   'cccccccc-cccc-4ccc-8ccc-cccccccccccc');

-- One finished session of the customer's own (visible to the customer, not an open request).
insert into public.intakes (id, name, email, phone, concern, vehicle_year, vehicle_make, vehicle_model) values
  ('dddddddd-dddd-4ddd-8ddd-dddddddddddd', 'Casey Customer', 'customer@example.com', '+1 555 0100',
   'Brakes squeal when cold', 2016, 'Toyota', 'Corolla');
insert into public.sessions (id, customer_id, type, status, intake_id) values
  ('eeeeeeee-eeee-4eee-8eee-eeeeeeeeeeee', '33333333-3333-4333-8333-333333333333', 'diagnostic',
   'completed', 'dddddddd-dddd-4ddd-8ddd-dddddddddddd');
insert into public.session_assignments (id, session_id, mechanic_id, status, offered_at, accepted_at) values
  ('ffffffff-ffff-4fff-8fff-ffffffffffff', 'eeeeeeee-eeee-4eee-8eee-eeeeeeeeeeee',
   'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb', 'completed', now() - interval '2 days', now() - interval '2 days');

update public.feature_flags set enabled = true;
