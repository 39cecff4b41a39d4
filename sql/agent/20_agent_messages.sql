-- Agent messages are written as a placeholder (INSERT) and finalised once (UPDATE); only
-- shipslog.purge_agent_messages deletes them (30_retention.sql).
create or replace function shipslog.tg_agent_messages__guard()
returns trigger
language plpgsql
volatile
set search_path = ''
as $$
begin
  if tg_op = 'DELETE' then
    -- current_user is shipslog_agent_retention only inside shipslog.purge_agent_messages.
    if current_user <> 'shipslog_agent_retention' then
      raise exception 'agent message % cannot be deleted: only the retention job removes agent messages', old.message_id
        using errcode = 'SL303',
              hint = 'Agent messages are removed past retention by shipslog.purge_agent_messages(interval) or `shipslog agent-messages purge`.';
    end if;
    return old;
  end if;

  if tg_op = 'INSERT' then
    if num_nonnulls(new.reasoning, new.prompt_tokens, new.completion_tokens, new.total_tokens,
                    new.prompt_cost, new.completion_cost, new.total_cost, new.finalised_at, new.finalised_by) > 0 then
      raise exception 'agent message % must start as a placeholder', new.message_id
        using errcode = 'SL305',
              hint = 'Insert message_id, project_id and model when the call starts; set reasoning, tokens and cost with one UPDATE when it ends.';
    end if;
    -- Five minutes of clock skew between the agent and the server are tolerated.
    if new.created_at > now() + interval '5 minutes' then
      raise exception 'agent message % starts in the future (%)', new.message_id, new.created_at
        using errcode = 'SL311',
              hint = 'Omit created_at to use the server''s clock.';
    end if;
    new.recorded_at := now();
    new.created_by := shipslog.agent_attribution();
    perform shipslog.register_project(new.tenant, new.project_id);
    return new;
  end if;

  if (new.message_id, new.tenant, new.project_id, new.model, new.context_layers,
      new.created_at, new.recorded_at, new.created_by)
     is distinct from
     (old.message_id, old.tenant, old.project_id, old.model, old.context_layers,
      old.created_at, old.recorded_at, old.created_by) then
    raise exception 'agent message % cannot change its id, tenant, project, model, context layers or start', old.message_id
      using errcode = 'SL302',
            hint = 'Only reasoning, tokens and cost may be set, once, when the message is finalised.';
  end if;

  -- IS NOT DISTINCT FROM compares numeric by value: 0.0150 is the same cost as 0.015.
  if (new.reasoning, new.prompt_tokens, new.completion_tokens, new.total_tokens,
      new.prompt_cost, new.completion_cost, new.total_cost)
     is not distinct from
     (old.reasoning, old.prompt_tokens, old.completion_tokens, old.total_tokens,
      old.prompt_cost, old.completion_cost, old.total_cost) then
    -- Same values again (a retried finalise, or an UPDATE that sets nothing new): no change.
    return old;
  end if;

  if old.finalised_at is not null then
    raise exception 'agent message % is already finalised with other values', old.message_id
      using errcode = 'SL301',
            hint = 'A finalised message never changes; a retry must send exactly the same reasoning, tokens and cost.';
  end if;

  if num_nulls(new.reasoning, new.prompt_tokens, new.completion_tokens, new.total_tokens,
               new.prompt_cost, new.completion_cost, new.total_cost) > 0 then
    raise exception 'finalising agent message % needs reasoning, tokens and cost together', old.message_id
      using errcode = 'SL304',
            hint = 'Set reasoning, prompt/completion/total tokens and prompt/completion/total cost in one UPDATE.';
  end if;

  new.finalised_at := clock_timestamp();
  new.finalised_by := shipslog.agent_attribution();
  return new;
end
$$;

create or replace trigger agent_messages_10_guard
  before insert or update or delete
  on shipslog.agent_messages
  for each row
  execute function shipslog.tg_agent_messages__guard();

-- No trigger uses this function any more: agent_messages_no_truncate below calls
-- shipslog.tg_audit_records__no_truncate() (SL005, sql/audit/15_no_truncate.sql) like every
-- audited table. It stays defined because databases migrated before have it and files here
-- only create (sql/README.md); the next migration that drops objects should drop it.
create or replace function shipslog.tg_agent_messages__no_truncate()
returns trigger
language plpgsql
volatile
set search_path = ''
as $$
begin
  raise exception 'shipslog.agent_messages cannot be truncated'
    using errcode = 'SL303',
          hint = 'Agent messages are removed past retention by shipslog.purge_agent_messages(interval) only.';
end
$$;

create or replace trigger agent_messages_no_truncate
  before truncate
  on shipslog.agent_messages
  for each statement
  execute function shipslog.tg_audit_records__no_truncate('Rows of shipslog.agent_messages are removed past retention only, by shipslog.purge_agent_messages(interval) or `shipslog agent-messages purge`.');
