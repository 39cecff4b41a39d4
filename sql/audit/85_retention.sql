-- Retention of the audit trail (issue 12, item 1; docs/audit.md "Retention").
--
-- How long: shipslog.audit_retention, one row per event category (shipslog.event_category()),
-- keep_for null = forever; changed with plain SQL by the owner, every change recorded in
-- shipslog.audit_retention_changes by the trigger below.
--
-- What goes: whole prefixes of a chain. A chain's events are removed from its start up to
-- (not including) its first event still inside its retention period, and never past it: so
-- what remains of a chain is always a contiguous tail, each retained event still links to
-- the stored hash of the one before, and the removed part is replaced by one signed anchor
-- (shipslog.audit_chain_anchors: index and hash of the last purged event, and the audited
-- state the purged events add up to), from which verification starts the chain. A retention
-- period is therefore a minimum: an event outlives it while an older event of its chain must
-- stay (a state change of a deployment whose `created` event is kept 7 years stays as long).
--
-- Who: only shipslog.purge_audit_events(), owned by the role shipslog_audit_retention, which
-- the delete guard on the events recognises (20_append_only.sql). It is driven from Node
-- (`shipslog purge`, `serve`'s daily job: src/audit/retention.ts) because the anchors are
-- signed with the checkpoint key, which never enters PostgreSQL:
--   1. shipslog.audit_retention_cuts(t) lists each chain's cut as of t: the last event of the
--      expired prefix, its hash, the state, and the exact message to sign;
--   2. Node signs each message with Ed25519;
--   3. shipslog.purge_audit_events(t, ...) recomputes the cuts as of the same t (t may not lie
--      in the future, so nothing inside its retention as of now can be cut), refuses a cut it
--      does not compute itself, stores the signed anchors, deletes the prefixes, and records
--      the purge: a row of shipslog.audit_purges and an `events_purged` event on shipslog's
--      own system chain (deployment id 00000000-0000-0000-0000-000000000000).
-- PostgreSQL has no Ed25519, so step 3 can check that an anchor is there, complete and
-- signed by the named key id, not that the signature is good: `shipslog verify` checks every
-- anchor's signature with the public key and reports a bad one.

-- Every change of the retention settings, with who made it.
create or replace function shipslog.tg_audit_retention__record_change()
returns trigger
language plpgsql
volatile
security definer
set search_path = ''
as $$
begin
  insert into shipslog.audit_retention_changes (category, operation, previous_keep_for, new_keep_for, db_role, db_user, actor, reason)
  values (
    coalesce(new.category, old.category),
    lower(tg_op),
    case when tg_op <> 'INSERT' then old.keep_for end,
    case when tg_op <> 'DELETE' then new.keep_for end,
    coalesce(nullif(current_setting('role'), 'none'), session_user),
    session_user,
    shipslog.context_setting('shipslog.actor'),
    shipslog.context_setting('shipslog.reason'));
  if tg_op = 'DELETE' then
    return old;
  end if;
  new.updated_at := now();
  return new;
end
$$;

create or replace trigger audit_retention_record_change
  before insert or update or delete
  on shipslog.audit_retention
  for each row
  execute function shipslog.tg_audit_retention__record_change();

create or replace trigger audit_retention_no_truncate
  before truncate
  on shipslog.audit_retention
  for each statement
  execute function shipslog.tg_audit_records__no_truncate('Change retention periods with UPDATE (each change is recorded in shipslog.audit_retention_changes); keep_for null keeps a category forever.');

-- The records of retention: changes of the settings, anchors, purges. Append-only for every
-- role; anchors and purges are written only by shipslog.purge_audit_events() (as
-- shipslog_audit_retention), the changes only by the trigger above (at trigger depth 1).
create or replace function shipslog.tg_retention_records__append_only()
returns trigger
language plpgsql
volatile
set search_path = ''
as $$
begin
  if tg_op = 'INSERT'
     and (current_user = 'shipslog_audit_retention' and tg_table_name in ('audit_chain_anchors', 'audit_purges')
          or pg_trigger_depth() > 1 and tg_table_name = 'audit_retention_changes') then
    return new;
  end if;
  raise exception 'shipslog.% is append-only and written only by audit retention: % refused', tg_table_name, tg_op
    using errcode = 'SL461',
          hint = 'Retention records are kept; purge with `shipslog purge` (shipslog.purge_audit_events), change periods by updating shipslog.audit_retention.';
end
$$;

create or replace trigger audit_retention_changes_append_only
  before insert or update or delete
  on shipslog.audit_retention_changes
  for each row
  execute function shipslog.tg_retention_records__append_only();

create or replace trigger audit_chain_anchors_append_only
  before insert or update or delete
  on shipslog.audit_chain_anchors
  for each row
  execute function shipslog.tg_retention_records__append_only();

create or replace trigger audit_purges_append_only
  before insert or update or delete
  on shipslog.audit_purges
  for each row
  execute function shipslog.tg_retention_records__append_only();

create or replace trigger audit_retention_changes_no_truncate
  before truncate
  on shipslog.audit_retention_changes
  for each statement
  execute function shipslog.tg_audit_records__no_truncate('shipslog.audit_retention_changes records every change of the retention periods and is kept.');

create or replace trigger audit_chain_anchors_no_truncate
  before truncate
  on shipslog.audit_chain_anchors
  for each statement
  execute function shipslog.tg_audit_records__no_truncate('shipslog.audit_chain_anchors are where purged chains start; verification needs them.');

create or replace trigger audit_purges_no_truncate
  before truncate
  on shipslog.audit_purges
  for each statement
  execute function shipslog.tg_audit_records__no_truncate('shipslog.audit_purges records every purge and is kept.');

-- The exact bytes an anchor's Ed25519 signature covers. The export carries the same fields
-- (deployment id, chain_index and hash of the last purged event), so an offline verifier
-- can check an anchor and start the chain from it.
create or replace function shipslog.anchor_message(
  p_deployment_id uuid,
  p_chain_index integer,
  p_hash bytea,
  p_state jsonb,
  p_removed boolean,
  p_judged_at timestamptz
)
returns text
language sql
stable
parallel safe
return 'shipslog-anchor v1' || e'\n' || p_deployment_id::text || e'\n' || p_chain_index || e'\n'
  || encode(p_hash, 'hex') || e'\n' || coalesce(encode(sha256(convert_to(p_state::text, 'UTF8')), 'hex'), 'null')
  || e'\n' || case when p_removed then 'removed' else 'open' end || e'\n' || shipslog.iso_utc(p_judged_at);

-- The cut of every chain that has an expired prefix beyond its anchor, as of p_at: the last
-- event of the prefix, its hash, the audited state after it (replayed from the anchor's), and
-- the message to sign. An event is expired when its category's keep_for is not null and it
-- occurred before p_at - keep_for; an action without a category never expires.
create or replace function shipslog.audit_retention_cuts(p_at timestamptz)
returns table (deployment_id uuid, chain_index integer, hash bytea, state jsonb, removed boolean, event_count bigint, message text)
language sql
stable
set search_path = ''
as $$
  with events as (
    select
      e.deployment_id, e.chain_index, e.hash, e.action, e.previous_state, e.new_state,
      coalesce(e.occurred_at < p_at - r.keep_for, false) as expired
    from shipslog.deployment_events as e
      left join shipslog.audit_retention as r on r.category = shipslog.event_category(e.action)
      left join shipslog.audit_chain_starts as s on s.deployment_id = e.deployment_id
    where e.chain_index > coalesce(s.chain_index, 0)
  ),
  cuts as (
    select
      e.deployment_id,
      coalesce(min(e.chain_index) filter (where not e.expired) - 1, max(e.chain_index)) as cut
    from events as e
    group by e.deployment_id
  ),
  prefixes as (
    select
      c.deployment_id,
      c.cut,
      count(*) as event_count,
      (array_agg(e.hash order by e.chain_index desc))[1] as hash,
      (array_agg(e.action order by e.chain_index desc))[1] as action
    from cuts as c
      join events as e on e.deployment_id = c.deployment_id and e.chain_index <= c.cut
    group by c.deployment_id, c.cut
  )
  select
    p.deployment_id,
    p.cut,
    p.hash,
    x.state,
    p.action = 'removed',
    p.event_count,
    shipslog.anchor_message(p.deployment_id, p.cut, p.hash, x.state, p.action = 'removed', p_at)
  from prefixes as p
    left join shipslog.audit_chain_starts as s on s.deployment_id = p.deployment_id
    cross join lateral (
      -- The replay of the purged events continues from the previous anchor's state. A prefix
      -- that starts with created (or follows an anchor of a removed chain) starts afresh.
      select case
        when p.action = 'removed' then null
        else shipslog.replay_state_from(s.state, p.deployment_id, coalesce(s.chain_index, 0), p.cut)
      end as state
    ) as x
  where p.cut > coalesce(s.chain_index, 0)
$$;

-- The only path that removes audit events. p_at: the moment retention is judged at, as in
-- shipslog.audit_retention_cuts(p_at) (which the caller signed); not in the future, not more
-- than a day old. p_deployment_ids, p_chain_indexes, p_signatures: the signed cuts, one per
-- chain (a subset of the computed cuts is fine: chains left out keep their events for now).
-- Returns the purge's record; no chain to purge records nothing and returns no row.
create or replace function shipslog.purge_audit_events(
  p_at timestamptz,
  p_deployment_ids uuid[],
  p_chain_indexes integer[],
  p_key_id text,
  p_signatures bytea[]
)
returns setof shipslog.audit_purges
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  -- Shared by every replica and `shipslog purge`: one purge at a time. 'SL' 0x534C, issue 12.
  lock_key constant bigint := 5459973012001;
  v_purge_id bigint;
  v_chains integer;
  v_events bigint;
  v_retention jsonb;
  v_bad record;
  v_head record;
  v_event record;
begin
  if p_at is null or p_at > now() or p_at < now() - interval '1 day' then
    raise exception 'retention must be judged at a moment of the last day, not %', p_at
      using errcode = 'SL462',
            hint = 'Pass the now() at which shipslog.audit_retention_cuts() was read (`shipslog purge` does).';
  end if;
  if p_key_id is null or p_key_id !~ '^[0-9a-f]{64}$' then
    raise exception 'anchors need the signing key''s id (SHA-256 of its public key, hex), not %', p_key_id
      using errcode = 'SL463',
            hint = 'Sign the anchors with the checkpoint key (`shipslog purge`).';
  end if;
  if cardinality(p_deployment_ids) is distinct from cardinality(p_chain_indexes)
     or cardinality(p_deployment_ids) is distinct from cardinality(p_signatures)
     or exists (select from unnest(p_signatures) as s where s is null or length(s) <> 64) then
    raise exception 'every cut needs a deployment id, a chain index and an Ed25519 signature (64 bytes)'
      using errcode = 'SL463',
            hint = 'Pass one signature per cut of shipslog.audit_retention_cuts().';
  end if;
  perform pg_advisory_xact_lock(lock_key);

  drop table if exists pg_temp.purge_cuts;
  create temporary table purge_cuts on commit drop as
  select c.*, g.signature
  from unnest(p_deployment_ids, p_chain_indexes, p_signatures) as g(deployment_id, chain_index, signature)
    left join shipslog.audit_retention_cuts(p_at) as c
      on c.deployment_id = g.deployment_id;

  -- A cut it does not compute itself (an event inside its retention, or past a chain's end)
  -- is refused, and with it the whole purge.
  select g.deployment_id, g.chain_index, c.chain_index as allowed
  into v_bad
  from unnest(p_deployment_ids, p_chain_indexes) as g(deployment_id, chain_index)
    left join pg_temp.purge_cuts as c
      on c.deployment_id = g.deployment_id
  where c.chain_index is distinct from g.chain_index
  limit 1;
  if found then
    raise exception 'chain % may not be cut at #%: retention as of % allows %', v_bad.deployment_id, v_bad.chain_index, p_at,
        coalesce('#' || v_bad.allowed, 'no cut')
      using errcode = 'SL464',
            hint = 'Events inside their retention period are never removed; read the cuts with shipslog.audit_retention_cuts() and sign those.';
  end if;
  if (select count(*) from pg_temp.purge_cuts) = 0 then
    return;
  end if;

  select count(*), sum(c.event_count)
  into v_chains, v_events
  from pg_temp.purge_cuts as c;
  select jsonb_object_agg(r.category, r.keep_for::text order by r.category)
  into v_retention
  from shipslog.audit_retention as r;
  v_purge_id := nextval(pg_catalog.pg_get_serial_sequence('shipslog.audit_purges', 'id'));

  -- Sealed first: the anchors, then the prefixes they stand for.
  insert into shipslog.audit_chain_anchors (deployment_id, chain_index, hash, state, removed, judged_at, key_id, signature, purge_id)
  select c.deployment_id, c.chain_index, c.hash, c.state, c.removed, p_at, p_key_id, c.signature, v_purge_id
  from pg_temp.purge_cuts as c;

  delete from shipslog.deployment_events as e
  using pg_temp.purge_cuts as c
  where e.deployment_id = c.deployment_id
    and e.chain_index <= c.chain_index;

  -- The purge's own event, at the end of the system chain (which may itself just have been
  -- cut: its start is then its anchor).
  select h.chain_index, h.hash
  into v_head
  from (
    select e.chain_index, e.hash
    from shipslog.deployment_events as e
    where e.deployment_id = shipslog.system_chain_id()
    union all
    select s.chain_index, s.hash
    from shipslog.audit_chain_starts as s
    where s.deployment_id = shipslog.system_chain_id()
  ) as h
  order by h.chain_index desc
  limit 1;

  insert into shipslog.deployment_events
  overriding system value
  select x.seq, x.deployment_id, x.chain_index, x.tenant, x.name, x.action, x.occurred_at, x.txid, x.actor,
         x.actor_type, x.reason, x.correlation_id, x.request_id, x.source_ip, x.user_agent, x.db_role, x.db_user,
         x.application_name, x.client_addr, x.previous_state, x.new_state,
         shipslog.event_hash(v_head.hash, x)
  from (
    select
      nextval('shipslog.deployment_events_seq') as seq,
      shipslog.system_chain_id() as deployment_id,
      coalesce(v_head.chain_index, 0) + 1 as chain_index,
      '_system'::text as tenant,
      'audit-retention'::text as name,
      'events_purged'::text as action,
      clock_timestamp() as occurred_at,
      pg_current_xact_id() as txid,
      coalesce(shipslog.context_setting('shipslog.actor'), session_user) as actor,
      'system'::text as actor_type,
      shipslog.context_setting('shipslog.reason') as reason,
      shipslog.context_setting('shipslog.correlation_id') as correlation_id,
      shipslog.context_setting('shipslog.request_id') as request_id,
      null::inet as source_ip,
      null::text as user_agent,
      coalesce(nullif(current_setting('role'), 'none'), session_user) as db_role,
      session_user::text as db_user,
      nullif(current_setting('application_name'), '') as application_name,
      inet_client_addr() as client_addr,
      null::jsonb as previous_state,
      jsonb_build_object(
        'purge_id', v_purge_id,
        'judged_at', shipslog.iso_utc(p_at),
        'chain_count', v_chains,
        'event_count', v_events,
        'retention', v_retention,
        'key_id', p_key_id) as new_state,
      null::bytea as hash
  ) as x
  returning chain_index, hash
  into v_event;

  return query
  insert into shipslog.audit_purges (id, chain_count, event_count, retention, event_chain_index, event_hash, actor)
  overriding system value
  values (v_purge_id, v_chains, v_events, v_retention, v_event.chain_index, v_event.hash, shipslog.context_setting('shipslog.actor'))
  returning *;
end
$$;

-- The retention role's grants are in sql/privileges/30_audit-retention.sql (applied after every
-- other grant, so its place in each object's ACL is the same in a fresh database and an
-- upgraded one). Its policy on the events:
drop policy if exists deployment_events_audit_retention on shipslog.deployment_events;
create policy deployment_events_audit_retention
  on shipslog.deployment_events
  for all
  to shipslog_audit_retention
  using (true)
  with check (true);

grant create
  on schema shipslog
  to shipslog_audit_retention;

alter function shipslog.purge_audit_events(timestamptz, uuid[], integer[], text, bytea[])
  owner to shipslog_audit_retention;

revoke create
  on schema shipslog
  from shipslog_audit_retention;

-- Who may purge: the owner (`shipslog purge`) and the reconciler's login (`serve`'s daily
-- job). Auditors read the settings and every record of retention.
revoke all
  on shipslog.audit_retention, shipslog.audit_retention_changes, shipslog.audit_chain_anchors, shipslog.audit_purges,
     shipslog.audit_chain_starts
  from public;

grant select
  on shipslog.audit_retention, shipslog.audit_retention_changes, shipslog.audit_chain_anchors, shipslog.audit_purges,
     shipslog.audit_chain_starts
  to shipslog_app, shipslog_reconciler, shipslog_auditor;

grant execute
  on function
    shipslog.system_chain_id(),
    shipslog.anchor_message(uuid, integer, bytea, jsonb, boolean, timestamptz),
    shipslog.replay_state_from(jsonb, uuid, integer, integer)
  to shipslog_app, shipslog_reconciler, shipslog_auditor;

grant execute
  on function
    shipslog.audit_retention_cuts(timestamptz),
    shipslog.purge_audit_events(timestamptz, uuid[], integer[], text, bytea[])
  to shipslog_reconciler;

-- The daily job of `serve` purges as the reconciler's login and then takes a checkpoint, so
-- that the newest checkpoint covers the trail as it is after the purge. record_checkpoint()
-- recomputes the digest it stores (70_checkpoints.sql), so the grant lets the login record a
-- true one and nothing else.
grant execute
  on function shipslog.record_checkpoint(pg_snapshot, bytea, text, bytea)
  to shipslog_reconciler;
