import postgres from 'postgres';

/**
 * Domain errors raised by PostgreSQL, mapped from SQLSTATE and constraint names.
 * SQLSTATEs in class SL are shipslog's own (see sql/): SL001 append-only,
 * SL002 forged event, SL003 reused deployment id, SL005 TRUNCATE of an audited table (for
 * every role), SL010 immutable field.
 * SL060-SL062: time travel (sql/audit/65_time_travel.sql).
 * SL301-SL313: agent messages (see sql/agent/ and docs/agent-messages.md).
 * SL400-SL451: events that are not row changes, approvals, gates, rollback (docs/compliance.md).
 * SL461-SL464: audit retention (sql/audit/85_retention.sql, docs/audit.md).
 */
export type DomainErrorKind =
  | 'not_found'
  | 'conflict'
  | 'invalid'
  | 'forbidden'
  | 'precondition_failed'
  | 'unavailable';

export class DomainError extends Error {
  readonly kind: DomainErrorKind;
  readonly code: string | undefined;
  readonly constraint: string | undefined;
  readonly hint: string | undefined;

  constructor(
    kind: DomainErrorKind,
    message: string,
    extra: { code?: string; constraint?: string; hint?: string; cause?: unknown } = {},
  ) {
    super(message, { cause: extra.cause });
    this.name = 'DomainError';
    this.kind = kind;
    this.code = extra.code;
    this.constraint = extra.constraint;
    this.hint = extra.hint;
  }
}

const kindByCode: Record<string, DomainErrorKind> = {
  SL001: 'forbidden',
  SL002: 'forbidden',
  SL003: 'conflict',
  SL005: 'forbidden', // TRUNCATE of an audited table (sql/audit/15_no_truncate.sql)
  SL010: 'invalid',
  // Time travel (sql/audit/65_time_travel.sql).
  SL060: 'not_found', // no audit history (unknown deployment, or another tenant's)
  SL061: 'not_found', // a moment before the deployment existed
  SL062: 'invalid', // a chain index outside the chain (the API answers 400 naming the parameter)
  // Events and compliance (sql/audit/45_record_event.sql, sql/compliance/).
  SL400: 'invalid', // not an event type recorded outside the audit trigger
  SL401: 'invalid', // a required field of an event's details is missing (named)
  SL402: 'not_found', // deployment not found (or another tenant's)
  SL403: 'invalid', // a field of an event's details is malformed
  SL430: 'conflict', // the environment needs no approval
  SL431: 'not_found', // approval request not found
  SL432: 'conflict', // approval request no longer pending
  SL433: 'forbidden', // the requester or the change's author cannot approve
  SL434: 'conflict', // this approver decided already
  SL435: 'invalid', // bad approval policy
  SL440: 'conflict', // gate result for a generation that is not current
  SL450: 'conflict', // rollback target cannot be rebuilt
  SL451: 'not_found', // rollback target event not found
  // Agent messages (sql/agent/).
  SL301: 'conflict', // finalised message, other values
  SL302: 'invalid', // identity field of a message changed
  SL303: 'forbidden', // delete outside retention (TRUNCATE: SL005)
  SL304: 'invalid', // partial finalise
  SL305: 'invalid', // insert not a placeholder
  SL306: 'not_found', // project of another tenant
  SL307: 'forbidden', // retention run record written outside purge
  SL308: 'invalid', // retention shorter than a day
  SL309: 'invalid', // analytics range
  SL310: 'forbidden', // project changed or removed
  SL311: 'invalid', // message starts in the future
  SL312: 'not_found', // project unknown (or another tenant's)
  SL313: 'forbidden', // daily sums written outside their triggers
  // Audit retention (sql/audit/85_retention.sql).
  SL461: 'forbidden', // retention record written outside the purge
  SL462: 'invalid', // retention judged at a moment not of the last day
  SL463: 'invalid', // cut without a key id or a 64-byte signature
  SL464: 'forbidden', // cut inside an event's retention period
  '22003': 'invalid', // numeric_value_out_of_range
  '23505': 'conflict', // unique_violation
  '23514': 'invalid', // check_violation
  '23502': 'invalid', // not_null_violation
  '22P02': 'invalid', // invalid_text_representation
  '22001': 'invalid', // string_data_right_truncation
  '22023': 'invalid', // invalid_parameter_value
  '42501': 'forbidden', // insufficient_privilege
  '40001': 'conflict', // serialization_failure
  '40P01': 'conflict', // deadlock_detected
  // The server is going away or not back yet: the request may be retried (503 Retry-After).
  // read_only_sql_transaction: a write reached a standby, as during a failover (a server that
  // was the primary and is now in recovery); another host or a later try will take it.
  '25006': 'unavailable',
  '57P01': 'unavailable', // admin_shutdown ("terminating connection due to administrator command")
  '57P02': 'unavailable', // crash_shutdown (another backend crashed; the server restarts)
  '57P03': 'unavailable', // cannot_connect_now ("the database system is starting up", "... shutting down", "... not yet accepting connections")
  '53300': 'unavailable', // too_many_connections
  '08000': 'unavailable', // connection_exception
  '08001': 'unavailable', // sqlclient_unable_to_establish_sqlconnection
  '08003': 'unavailable', // connection_does_not_exist
  '08004': 'unavailable', // sqlserver_rejected_establishment_of_sqlconnection
  '08006': 'unavailable', // connection_failure
  '08007': 'unavailable', // transaction_resolution_unknown (the commit may or may not have happened)
  '22021': 'invalid', // character_not_in_repertoire (e.g. NUL in text)
  '22P05': 'invalid', // untranslatable_character (e.g. \u0000 in jsonb)
  '54000': 'invalid', // program_limit_exceeded (e.g. a value too large to index)
  '57014': 'unavailable', // query_canceled (statement_timeout)
  '22007': 'invalid', // invalid_datetime_format
  '22008': 'invalid', // datetime_field_overflow (e.g. year 0)
  '22009': 'invalid', // invalid_time_zone_displacement_value
};

// What a client reads for a mapped error that is not shipslog's own: PostgreSQL's message
// may quote the input back or name internals ('value "9999999999" is out of range for type
// integer', 'invalid byte sequence for encoding "UTF8": 0x00'), so none of it is passed on
// (issue 9). The API validates first and names the field; this is the last guard.
const clientMessages: Record<string, string> = {
  '22003': 'a number is out of range',
  '22001': 'a value is too long',
  '22P02': 'a value is malformed',
  '22023': 'a value is not allowed',
  '22021': 'a text holds a character that cannot be stored (such as NUL)',
  '22P05': 'a text holds a character that cannot be stored (such as \\u0000)',
  '22007': 'a date or time is malformed',
  '22008': 'a date or time is out of range',
  '22009': 'a time zone offset is out of range',
  '23502': 'a required value is missing',
  '23505': 'a value that must be unique is already taken',
  '42501': 'not permitted',
  '40001': 'the change conflicted with a concurrent one: retry it',
  '40P01': 'the change conflicted with a concurrent one: retry it',
  '54000': 'a value is too large',
};

/**
 * The detail and hint a client may read for a DomainError: shipslog's own (class SL,
 * raised with text meant for the caller) and the constraint descriptions of describe() pass; any
 * other PostgreSQL text is replaced by a fixed sentence.
 */
export function clientFacing(err: DomainError): { detail: string; hint?: string } {
  if (err.code?.startsWith('SL')) return { detail: err.message, ...(err.hint ? { hint: err.hint } : {}) };
  if (err.code === undefined) return { detail: err.message };
  if ((err.code === '23505' && err.constraint === 'deployments_tenant_name_key') || (err.code === '23514' && err.constraint)) {
    return { detail: err.message };
  }
  return { detail: clientMessages[err.code] ?? 'the database refused the request' };
}

/** Turns a PostgreSQL error into a DomainError when it means something to a caller; else returns it as is. */
export function toDomainError(err: unknown): unknown {
  if (err instanceof DomainError) return err;
  if (isConnectionError(err)) {
    return new DomainError('unavailable', 'the database is unreachable', { code: (err as { code: string }).code, cause: err });
  }
  if (!(err instanceof postgres.PostgresError)) return err;
  const kind = kindByCode[err.code];
  if (!kind) return err;
  const extra: { code: string; constraint?: string; hint?: string; cause: unknown } = { code: err.code, cause: err };
  if (err.constraint_name) extra.constraint = err.constraint_name;
  if (err.hint) extra.hint = err.hint;
  return new DomainError(kind, describe(err), extra);
}

function describe(err: postgres.PostgresError): string {
  if (err.code === '23505' && err.constraint_name === 'deployments_tenant_name_key') {
    return 'a deployment with this name already exists in this tenant';
  }
  if (err.code === '23514' && err.constraint_name) {
    return `value rejected by rule ${err.constraint_name}`;
  }
  return err.message;
}

// Errors of the postgres client itself (no SQLSTATE): the server is down or unreachable, or
// the pool closed.
const connectionCodes = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN',
  'CONNECTION_CLOSED', 'CONNECTION_ENDED', 'CONNECTION_DESTROYED', 'CONNECT_TIMEOUT',
]);

function isConnectionError(err: unknown): boolean {
  return err instanceof Error && !(err instanceof postgres.PostgresError) && connectionCodes.has((err as { code?: string }).code ?? '');
}
