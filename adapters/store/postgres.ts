/**
 * One PostgreSQL connection pool per process, shared by the bot's store and the scheduler's state when
 * CARTOGRAPHER_DATABASE_URL names a server (several bot replicas then share one state). The schema is
 * created on first use under an advisory lock, so replicas starting together do not race on it.
 * BIGINT columns (epoch milliseconds) come back as numbers, not strings.
 */
import pg from 'pg';

const BIGINT_OID = 20;
/** Arbitrary constant naming Cartographer's schema lock (pg_advisory_xact_lock takes a 64-bit key). */
const SCHEMA_LOCK = 4_711_015;

export interface PgHandle {
  pool: pg.Pool;
  /** Resolves once the schema exists; every query waits for it. */
  ready: Promise<void>;
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(
    sql: string,
    params?: unknown[],
  ): Promise<pg.QueryResult<R>>;
  /** Runs `work` in one transaction on one connection. */
  transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T>;
  /** Ends the pool when every user has released it. */
  release(): Promise<void>;
}

/** Opens the pool for `users` users (each calls release once) and creates `schema` (idempotent DDL). */
export function openPostgres(url: string, schema: string, users = 1): PgHandle {
  const pool = new pg.Pool({
    connectionString: url,
    max: 8,
    application_name: 'cartographer',
    types: {
      getTypeParser: ((oid: number, format?: string) =>
        oid === BIGINT_OID
          ? (v: string) => Number(v)
          : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
    },
  });
  // An idle connection dropped by the server must not crash the process: the next query reconnects.
  pool.on('error', () => {});
  const ready = (async () => {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock($1)', [SCHEMA_LOCK]);
      await client.query(schema);
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw new Error(`PostgreSQL at ${redactUrl(url)}: ${(err as Error).message}`);
    } finally {
      client.release();
    }
  })();
  ready.catch(() => {}); // reported by the first query (and by the bot's start)
  let remaining = users;
  let ended = false;
  return {
    pool,
    ready,
    async query(sql, params) {
      await ready;
      return pool.query(sql, params);
    },
    async transaction(work) {
      await ready;
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const result = await work(client);
        await client.query('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {});
        throw err;
      } finally {
        client.release();
      }
    },
    async release() {
      remaining--;
      if (remaining > 0 || ended) return;
      ended = true;
      await pool.end();
    },
  };
}

/** The URL without its password, for messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparsable URL)';
  }
}
