import postgres from 'postgres';

export type Db = postgres.Sql;
export type Tx = postgres.TransactionSql;
/** Helpers that run both inside and outside a transaction take this (TransactionSql does not extend Sql). */
export type Queryable = Db | Tx;

export interface DbOptions {
  max?: number;
  applicationName?: string;
}

export function createDb(url: string, options: DbOptions = {}): Db {
  return postgres(url, {
    max: options.max ?? 10,
    onnotice: () => {},
    connection: { application_name: options.applicationName ?? 'shipslog' },
  });
}
