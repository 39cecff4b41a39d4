/** A uuid as PostgreSQL reads one in its canonical form, either case (deployment and key ids). */
export const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
