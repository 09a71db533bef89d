import path from 'node:path';
import knexFactory, { type Knex } from 'knex';
import pg from 'pg';
import { FieldErrors } from '../domain/errors';

// int8 (counts, ids) as JS numbers: ids stay far below 2^53. numeric (1700) stays a string so that
// amounts reach decimal.js without ever passing through a float.
pg.types.setTypeParser(20, (value: string) => {
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new Error(`int8 value ${value} exceeds the safe integer range`);
  return n;
});

// date and date[] as 'YYYY-MM-DD' text: the driver's default builds a Date at local midnight,
// which shifts the day in any zone west of UTC.
pg.types.setTypeParser(1082, (value: string) => value);
pg.types.setTypeParser(1182 as 1082, (value: string) => (value === '{}' ? [] : value.slice(1, -1).split(',')));

export type Db = Knex;
export type Tx = Knex.Transaction;
/** Either the pool or an open transaction: repositories accept both so services can pass a tx down. */
export type Queryable = Knex | Knex.Transaction;

export const MIGRATIONS_DIR = path.resolve(__dirname, '../../migrations');

export interface DbOptions {
  poolMax?: number;
  /** How long an unused connection stays open (the pool's default: 30 s). */
  idleTimeoutMs?: number;
  /** The embedded PGlite (see db/embedded.ts): one connection, and a clean session on each. */
  embedded?: boolean;
}

/** The configs of knex instances on the embedded database (a transaction shares its pool's config). */
const EMBEDDED_CONFIGS = new WeakSet<object>();

/** Whether this pool or transaction is on the embedded database (no COPY FROM STDIN through its socket). */
export function isEmbeddedDb(db: Queryable): boolean {
  return EMBEDDED_CONFIGS.has((db as unknown as { client: { config: object } }).client.config);
}

/**
 * `fn` with a connection of its own to the same database, outside the pool, closed after. For DDL
 * that must commit on its own while one of the pool's transactions waits for it: taking a second
 * connection from the pool there could starve it (every connection held by a transaction waiting
 * for another). Not for the embedded database (one session: a second would interleave with it).
 */
export async function withOwnConnection<T>(db: Queryable, fn: (own: Db) => Promise<T>): Promise<T> {
  if (isEmbeddedDb(db)) throw new Error('withOwnConnection: the embedded database has one session');
  const config = (db as unknown as { client: { config: Knex.Config } }).client.config;
  const own = knexFactory({ ...config, pool: { min: 0, max: 1 } });
  try {
    return await fn(own);
  } finally {
    await own.destroy();
  }
}

export function createDb(url: string, opts: DbOptions = {}): Db {
  const db = knexFactory({
    client: 'pg',
    // JIT off on a server: the dashboards' and lists' queries read thousands of rows, and an estimate
    // above jit_above_cost spent 70 of a query's 250 ms compiling it (docs/PERFORMANCE.md). PGlite has none.
    connection: { connectionString: url, application_name: 'voip-billing', ...(opts.embedded ? {} : { options: '-c jit=off' }) },
    pool: {
      min: 0,
      // PGlite has one session behind its socket: more than one connection would interleave their
      // protocol messages (a Parse of one with the Bind of another). One connection, queries queue.
      max: opts.embedded ? 1 : (opts.poolMax ?? 10),
      ...(opts.idleTimeoutMs !== undefined ? { idleTimeoutMillis: opts.idleTimeoutMs } : {}),
      ...(opts.embedded ? { afterCreate: freshSession } : {}),
    },
    // A query waiting this long for a connection is a bug (a transaction waiting on the pool), not load.
    acquireConnectionTimeout: 30_000,
    migrations: { directory: MIGRATIONS_DIR, loadExtensions: ['.ts'], tableName: 'knex_migrations' },
  });
  if (opts.embedded) EMBEDDED_CONFIGS.add(db.client.config as object);
  return db;
}

/**
 * PGlite keeps its one session when a connection to it closes (the pool drops idle ones after
 * 30 s): whatever the old connection left in the session would meet the new one, which knows
 * nothing of it. A named statement prepared again failed with 42P05 "already exists" and stopped
 * the intake until a restart. DISCARD ALL gives each new connection the session a server would:
 * no prepared statements, settings, temporary tables, advisory locks or LISTENs.
 */
function freshSession(conn: pg.Client, done: (err: Error | undefined, conn: pg.Client) => void): void {
  conn.query('DISCARD ALL').then(
    () => done(undefined, conn),
    (err: Error) => done(err, conn),
  );
}

export async function migrateLatest(db: Db): Promise<string[]> {
  const [, applied] = (await db.migrate.latest()) as [number, string[]];
  return applied;
}

/**
 * A named prepared statement ($1, $2 ... placeholders): Postgres parses and plans it once per
 * connection instead of on every call, which matters for the intake's large CTE statements run
 * hundreds of times a second. On a transaction it runs on the transaction's connection.
 */
export async function preparedQuery<R>(db: Queryable, name: string, text: string, values: unknown[]): Promise<{ rows: R[] }> {
  const client = (db as unknown as { client: { acquireConnection(): Promise<pg.PoolClient>; releaseConnection(c: pg.PoolClient): Promise<void> } }).client;
  const conn = await client.acquireConnection();
  try {
    return (await conn.query({ name, text, values })) as unknown as { rows: R[] };
  } finally {
    await client.releaseConnection(conn);
  }
}

/** PostgreSQL's unique_violation, with the constraint that was hit. */
export function uniqueViolation(err: unknown): string | undefined {
  const e = err as { code?: string; constraint?: string };
  return e && e.code === '23505' ? (e.constraint ?? '') : undefined;
}

/**
 * Rethrows a unique violation as a message beside the form field it concerns (constraint name ->
 * [field, message]); any other error is rethrown as it is.
 */
export function rethrowDuplicate(err: unknown, fields: Record<string, [string, string]>): never {
  const constraint = uniqueViolation(err);
  const hit = constraint !== undefined ? fields[constraint] : undefined;
  if (hit) throw new FieldErrors({ [hit[0]]: hit[1] });
  throw err;
}
