import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import knexFactory from 'knex';
import pg from 'pg';
import { startEmbeddedPostgres } from '../../src/db/embedded';
import { createDb, migrateLatest, MIGRATIONS_DIR, type Db } from '../../src/db/knex';

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
 *
 * Running all migrations for every file took a large part of the suite, so a migrated database is
 * copied instead: on a server, from a template database migrated once; embedded, from a tarball of
 * a migrated PGlite. Both are named by a hash of the migrations (see migrationsKey), so a changed or
 * added migration never meets a copy made before it. `migrate: false` (the migration tests) still
 * starts from an empty database.
 */
export async function createTestDatabase(opts: { migrate?: boolean; idleTimeoutMs?: number } = {}): Promise<TestDatabase> {
  const migrate = opts.migrate !== false;
  const base = process.env.TEST_DATABASE_URL;
  if (!base) {
    const snapshot = migrate ? readSnapshot() : undefined;
    const embedded = await startEmbeddedPostgres(undefined, snapshot ? { loadDataDir: snapshot } : {});
    // One connection, as the server uses with the embedded database (see src/server.ts).
    const db = createDb(embedded.url, { embedded: true, idleTimeoutMs: opts.idleTimeoutMs });
    if (migrate) {
      // From a snapshot this finds nothing to do (and knex still checks that every migration it
      // lists as done is in the folder).
      await migrateLatest(db);
      if (!snapshot) await writeSnapshot(await embedded.dumpDataDir());
    }
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
  const baseName = new URL(base).pathname.replace(/^\//, '') || 'test';
  const name = `${baseName}_${process.pid}_${crypto.randomBytes(3).toString('hex')}`.toLowerCase();
  const admin = knexFactory({ client: 'pg', connection: base, pool: { min: 0, max: 1 } });
  const template = migrate ? await migratedTemplate(base, baseName) : 'template0';
  await admin.raw(`CREATE DATABASE ?? TEMPLATE ??`, [name, template]);
  const url = new URL(base);
  url.pathname = `/${name}`;
  const db = createDb(url.toString(), { poolMax: 10, idleTimeoutMs: opts.idleTimeoutMs });
  // Nothing to do on a copy of the template; kept so that a copy always ends up fully migrated.
  if (migrate) await migrateLatest(db);
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

let key: string | undefined;
/** A hash of the migration files' names and contents: what a migrated copy was made from. */
export function migrationsKey(): string {
  if (key) return key;
  const hash = crypto.createHash('sha256');
  for (const file of fs.readdirSync(MIGRATIONS_DIR).sort()) {
    hash.update(`${file}\0`);
    hash.update(fs.readFileSync(path.join(MIGRATIONS_DIR, file)));
    hash.update('\0');
  }
  key = hash.digest('hex').slice(0, 16);
  return key;
}

/**
 * The name of a database beside `baseName` holding all migrations, made on first use. It is complete
 * once it has its name (it is migrated under another and renamed), so a run that finds it uses it
 * without waiting; test processes that do not find it take turns under an advisory lock, and the
 * first one builds it. It stays for later runs with the same migrations; templates of older
 * migrations of the same base are dropped when a new one is made (.ci/run drops its own at the end).
 */
async function migratedTemplate(base: string, baseName: string): Promise<string> {
  const template = `${baseName}_tpl_${migrationsKey()}`.toLowerCase();
  const client = new pg.Client({ connectionString: base });
  await client.connect();
  try {
    const exists = async () => (await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [template])).rowCount === 1;
    if (await exists()) return template;
    await client.query('SELECT pg_advisory_lock(hashtext($1))', [template]);
    try {
      if (await exists()) return template;
      const building = `${baseName}_tplnew_${migrationsKey()}`.toLowerCase();
      const ident = (n: string) => client.escapeIdentifier(n);
      // Left by a run that died while building.
      await client.query(`DROP DATABASE IF EXISTS ${ident(building)} WITH (FORCE)`);
      await client.query(`CREATE DATABASE ${ident(building)} TEMPLATE template0`);
      const url = new URL(base);
      url.pathname = `/${building}`;
      const db = createDb(url.toString(), { poolMax: 1 });
      try {
        await migrateLatest(db);
      } finally {
        await db.destroy();
      }
      // No connections from here on: a copy fails while anyone is connected to its template.
      await client.query(`ALTER DATABASE ${ident(building)} WITH ALLOW_CONNECTIONS false`);
      await client.query(`ALTER DATABASE ${ident(building)} RENAME TO ${ident(template)}`);
      const stale = await client.query<{ datname: string }>(
        `SELECT datname FROM pg_database WHERE starts_with(datname, $1) AND datname <> $2`,
        [`${baseName}_tpl_`.toLowerCase(), template],
      );
      for (const { datname } of stale.rows) {
        // Another run may still be copying from it: then it stays, to be dropped another time.
        await client.query(`DROP DATABASE IF EXISTS ${ident(datname)}`).catch(() => undefined);
      }
      return template;
    } finally {
      await client.query('SELECT pg_advisory_unlock(hashtext($1))', [template]);
    }
  } finally {
    await client.end();
  }
}

const PGLITE_VERSION: string = (JSON.parse(fs.readFileSync(path.resolve(__dirname, '../../node_modules/@electric-sql/pglite/package.json'), 'utf8')) as { version: string }).version;
const SNAPSHOT_DIR = path.join(os.tmpdir(), 'voip-billing-test-snapshots');
/** PGlite's version is in the name too: another version may not read the files. */
const snapshotFile = () => path.join(SNAPSHOT_DIR, `pglite-${PGLITE_VERSION}-${migrationsKey()}.tar`);

function readSnapshot(): Blob | undefined {
  try {
    return new Blob([fs.readFileSync(snapshotFile())]);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * Written under a temporary name and renamed, so a reader never sees half a file. Snapshots of other
 * migrations left for a day are removed (another checkout may still use a newer one).
 */
async function writeSnapshot(tarball: Blob): Promise<void> {
  fs.mkdirSync(SNAPSHOT_DIR, { recursive: true });
  const file = snapshotFile();
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, Buffer.from(await tarball.arrayBuffer()));
  fs.renameSync(tmp, file);
  const dayAgo = Date.now() - 86_400_000;
  for (const other of fs.readdirSync(SNAPSHOT_DIR)) {
    const p = path.join(SNAPSHOT_DIR, other);
    try {
      if (p !== file && fs.statSync(p).mtimeMs < dayAgo) fs.rmSync(p, { force: true });
    } catch {
      // removed by another process meanwhile
    }
  }
}
