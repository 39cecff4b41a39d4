-- The schema itself, its group roles and the revoke of PUBLIC's rights on it are created
-- once by migrations/0001_baseline.sql; the group roles use it.
grant usage
  on schema shipslog
  to shipslog_app, shipslog_reconciler, shipslog_auditor;
