/**
 * What differs between the two SQL databases the stores run on, for DDL written once. Everything else in the
 * schemas is common SQL (`BIGINT` has integer affinity in SQLite).
 */
export interface SqlDialect {
  /** An auto-incrementing integer primary key column type. */
  serialKey: string;
}

export const SQLITE: SqlDialect = { serialKey: 'INTEGER PRIMARY KEY AUTOINCREMENT' };
export const POSTGRES: SqlDialect = { serialKey: 'BIGSERIAL PRIMARY KEY' };
