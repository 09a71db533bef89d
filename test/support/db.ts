import crypto from 'node:crypto';
import knexFactory from 'knex';
import { startEmbeddedPostgres } from '../../src/db/embedded';
import { createDb, migrateLatest, type Db } from '../../src/db/knex';

export interface TestDatabase {
  db: Db;
  url: string;
  /** The in-memory PGlite rather than a real server. */
  embedded: boolean;
  close(): Promise<void>;
}

/**
 * A fresh, migrated database for one test file. With TEST_DATABASE_URL (never DATABASE_URL) it is a
 * new database created beside the one named there and dropped afterwards; without it, an in-memory
 * embedded Postgres. Either way test files never see each other's rows.
 */
export async function createTestDatabase(opts: { migrate?: boolean; idleTimeoutMs?: number } = {}): Promise<TestDatabase> {
  const base = process.env.TEST_DATABASE_URL;
  if (!base) {
    const embedded = await startEmbeddedPostgres();
    // One connection, as the server uses with the embedded database (see src/server.ts).
    const db = createDb(embedded.url, { embedded: true, idleTimeoutMs: opts.idleTimeoutMs });
    if (opts.migrate !== false) await migrateLatest(db);
    return {
      db,
      url: embedded.url,
      embedded: true,
      async close() {
        await db.destroy();
        await embedded.stop();
      },
    };
  }
  const baseUrl = new URL(base);
  const name = `${baseUrl.pathname.replace(/^\//, '') || 'test'}_${process.pid}_${crypto.randomBytes(3).toString('hex')}`.toLowerCase();
  const admin = knexFactory({ client: 'pg', connection: base, pool: { min: 0, max: 1 } });
  await admin.raw(`CREATE DATABASE ?? TEMPLATE template0`, [name]);
  const url = new URL(base);
  url.pathname = `/${name}`;
  const db = createDb(url.toString(), { poolMax: 10, idleTimeoutMs: opts.idleTimeoutMs });
  if (opts.migrate !== false) await migrateLatest(db);
  return {
    db,
    url: url.toString(),
    embedded: false,
    async close() {
      await db.destroy();
      await admin.raw(`DROP DATABASE IF EXISTS ?? WITH (FORCE)`, [name]);
      await admin.destroy();
    },
  };
}
