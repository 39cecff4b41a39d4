-- The exact payload that is hashed and exported. jsonb's text form is deterministic (keys
-- sorted, fixed spacing), so an outside verifier needs only SHA-256 over these bytes.
-- SQL with a RETURN body, STABLE like what it calls (to_char, jsonb_build_object): so the
-- planner inlines it, and shipslog.event_hash(), into the audit trigger's INSERT and into
-- verification's query. (As IMMUTABLE plpgsql it cost a function call per event; an IMMUTABLE
-- SQL function with a STABLE body is never inlined and runs through the SQL-function executor.)
create or replace function shipslog.event_payload(e shipslog.deployment_events)
returns jsonb
language sql
stable
parallel safe
return jsonb_build_object(
    'seq', e.seq,
    'deployment_id', e.deployment_id,
    'chain_index', e.chain_index,
    'tenant', e.tenant,
    'name', e.name,
    'action', e.action,
    'occurred_at', shipslog.iso_utc(e.occurred_at),
    'txid', e.txid::text,
    'actor', e.actor,
    'actor_type', e.actor_type,
    'reason', e.reason,
    'correlation_id', e.correlation_id,
    'request_id', e.request_id,
    'source_ip', e.source_ip::text,
    'user_agent', e.user_agent,
    'db_role', e.db_role,
    'db_user', e.db_user,
    'application_name', e.application_name,
    'client_addr', e.client_addr::text,
    'previous_state', e.previous_state,
    'new_state', e.new_state
  );

create or replace function shipslog.event_hash(prev_hash bytea, e shipslog.deployment_events)
returns bytea
language sql
stable
parallel safe
return sha256(coalesce(prev_hash, ''::bytea) || convert_to(shipslog.event_payload(e)::text, 'UTF8'));
