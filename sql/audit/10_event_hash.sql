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
-- The keys are listed in jsonb's own order (shorter first, then bytewise), the order it
-- stores and prints them in whatever the order of the arguments: so its sort finds them
-- already sorted (~20 K instructions less per event, callgrind). The text is the same.
return jsonb_build_object(
    'seq', e.seq,
    'name', e.name,
    'txid', e.txid::text,
    'actor', e.actor,
    'action', e.action,
    'reason', e.reason,
    'tenant', e.tenant,
    'db_role', e.db_role,
    'db_user', e.db_user,
    'new_state', e.new_state,
    'source_ip', e.source_ip::text,
    'actor_type', e.actor_type,
    'request_id', e.request_id,
    'user_agent', e.user_agent,
    'chain_index', e.chain_index,
    'client_addr', e.client_addr::text,
    'occurred_at', shipslog.iso_utc(e.occurred_at),
    'deployment_id', e.deployment_id,
    'correlation_id', e.correlation_id,
    'previous_state', e.previous_state,
    'application_name', e.application_name
  );

create or replace function shipslog.event_hash(prev_hash bytea, e shipslog.deployment_events)
returns bytea
language sql
stable
parallel safe
return sha256(coalesce(prev_hash, ''::bytea) || convert_to(shipslog.event_payload(e)::text, 'UTF8'));
