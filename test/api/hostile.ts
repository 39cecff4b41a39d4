/**
 * Phrases of PostgreSQL's own error messages (SQLSTATE classes 22, 23, 42): none may reach
 * a client (issue 9). The API answers with shipslog's words, or names the field.
 */
export const postgresText =
  /out of range for type|invalid byte sequence|invalid input syntax|date\/time field value|time zone displacement|Unicode (low|high) surrogate|unsupported Unicode escape|violates|value too long for type|duplicate key|syntax error|PostgresError|SQLSTATE/i;
