-- The exact payload that is hashed and exported. jsonb's text form is deterministic (keys
-- sorted, fixed spacing), so an outside verifier needs only SHA-256 over these bytes.
-- plpgsql rather than SQL: a non-inlinable SQL function (whole-row argument) re-plans on
-- every call; this one runs on every audited write (~25 us here against ~45 us as SQL).
create or replace function shipslog.event_payload(e shipslog.deployment_events)
returns jsonb
language plpgsql
immutable
parallel safe
set search_path = ''
as $$
begin
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
end
$$;

create or replace function shipslog.event_hash(prev_hash bytea, e shipslog.deployment_events)
returns bytea
language plpgsql
immutable
parallel safe
set search_path = ''
as $$
begin
  return sha256(coalesce(prev_hash, ''::bytea) || convert_to(shipslog.event_payload(e)::text, 'UTF8'));
end
$$;
