-- When were agent messages deleted, how many, and who ran it? Every retention run (the only
-- way a message leaves shipslog.agent_messages): scheduled (`shipslog serve`, once a day) or
-- manual (`shipslog agent-messages purge`), the age it removed, the cutoff, how many
-- messages went, and who ran it (actor context and database login); newest first.
--
-- Variables: none.
--
--   psql -X -v ON_ERROR_STOP=1 -f sql/reports/agent-message-purges.sql

select
  r.started_at,
  r.finished_at,
  r.kind,
  r.older_than,
  r.cutoff,
  r.deleted_count,
  r.run_by ->> 'actor' as actor,
  r.run_by ->> 'actor_type' as actor_type,
  r.run_by ->> 'reason' as reason,
  r.run_by ->> 'db_user' as db_user,
  r.run_by ->> 'application_name' as application_name,
  r.id
from shipslog.agent_message_retention_runs as r
order by r.started_at desc, r.id desc;
