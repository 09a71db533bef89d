import type { AddressInfo } from 'node:net';
import http from 'node:http';
import { createApp, type AppDeps, type BuiltApp } from '../../src/app';
import { loadConfig, type Config } from '../../src/config';
import type { ReferenceKind } from '../../src/db/change-notices';
import { createDb, type Db } from '../../src/db/knex';
import { createLogger } from '../../src/logger';
import { PlanCache } from '../../src/modules/rate-plans/plan-cache';
import { ReferenceData } from '../../src/modules/reference-data/reference-data';
import { createTestDatabase, type TestDatabase } from './db';

/** The instance secret of every test app (sessions, sealed secrets): tests that open what the app sealed use it. */
export const TEST_INSTANCE_SECRET = 'test-instance-secret-0123456789abcdef';

export interface TestApp extends TestDatabase {
  app: BuiltApp['app'];
  /** The portal's Express app alone (its routes, for the route matrix). */
  portal: BuiltApp['portal'];
  config: Config;
  /** The app's compiled-plan cache, as the intake uses it. */
  planCache: PlanCache;
  /** The app's in-memory platforms, usage taxes and exchange rates, as the intake uses them. */
  referenceData: ReferenceData;
  /** The versions the app's caches follow (db/cache-versions.ts). */
  cacheVersions: BuiltApp['cacheVersions'];
  /** The app's job kinds (to queue jobs) and its worker (which runs them, as the server's does). */
  jobs: BuiltApp['jobs'];
  worker: BuiltApp['worker'];
}

const TABLE_KIND: Record<string, ReferenceKind> = { platforms: 'platforms', taxes: 'taxes', tax_jurisdictions: 'taxes', exchange_rates: 'exchange_rates' };
const WRITE = /\b(?:insert\s+into|update|delete\s+from|truncate(?:\s+table)?)\s+(?:only\s+)?"?(platforms|taxes|tax_jurisdictions|exchange_rates)"?(?=[\s(,;]|$)/gi;

/**
 * Test data goes straight into the tables (factories, and tests that adjust a row), outside any
 * transaction. A write of that kind to a reference table drops the app's in-memory copy at once,
 * as a change through the services does: so fixtures never leave the intake with stale platforms,
 * taxes or rates. Writes inside a transaction (every service's) are not watched: the services
 * must invalidate on their own, and the invalidation tests prove that they do. Other processes
 * hear of fixture writes through the factories' announceReferenceChange, and would see them in
 * any case once their caches check the versions the triggers moved (cache-versions.test.ts).
 */
function dropCopiesOnDirectWrites(db: Db, refs: ReferenceData): void {
  db.on('query-response', (_response: unknown, q: { sql?: string; __knexTxId?: string }) => {
    if (q.__knexTxId || typeof q.sql !== 'string') return;
    for (const m of q.sql.matchAll(WRITE)) refs.invalidate(TABLE_KIND[(m[1] as string).toLowerCase()] as ReferenceKind);
  });
}

/** What a test app may be built with: its job worker and schedules, the API's key check. */
type AppOptions = { worker?: boolean; schedules?: boolean } & Pick<AppDeps, 'apiKeys'>;

function build(database: TestDatabase, env: Record<string, string>, opts: AppOptions & { listenUrl?: string } = {}) {
  const config = loadConfig({ NODE_ENV: 'test', LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent', ...env });
  const planCache = new PlanCache();
  const referenceData = new ReferenceData();
  dropCopiesOnDirectWrites(database.db, referenceData);
  const built = createApp({
    config, db: database.db, databaseUrl: opts.listenUrl ?? database.url, instanceSecret: TEST_INSTANCE_SECRET, logger: createLogger(config.logLevel),
    planCache, referenceData, embedded: database.embedded, worker: opts.worker, schedules: opts.schedules, apiKeys: opts.apiKeys,
  });
  return { app: built.app, portal: built.portal, config, planCache, referenceData, cacheVersions: built.cacheVersions, jobs: built.jobs, worker: built.worker, built };
}

/**
 * The real app on a fresh test database. Extra env values override the defaults (e.g. throttle
 * limits); `db` options go to the database's pool (e.g. a short idle timeout); `deps` plug in
 * what the app takes as a dependency (the API's key check, until issue 14 brings real keys).
 */
export async function createTestApp(env: Record<string, string> = {}, db: { idleTimeoutMs?: number } = {}, opts: AppOptions = {}): Promise<TestApp> {
  const database = await createTestDatabase(db);
  const { built, ...parts } = build(database, env, opts);
  return {
    ...database,
    ...parts,
    async close() {
      await built.close();
      await database.close();
    },
  };
}

/**
 * A second app on the same real Postgres database, with its own connections and caches: another
 * process, as far as the caches can tell. Closing it leaves the database to `t`. Not for the
 * embedded database, which serves one process (it listens for no notifications). `listenUrl`: where
 * its change listener connects (a proxy a test can cut).
 */
export async function createPeerApp(t: TestApp, env: Record<string, string> = {}, opts: { worker?: boolean; schedules?: boolean; listenUrl?: string } = {}): Promise<TestApp> {
  if (t.embedded) throw new Error('a peer app needs a real Postgres server (TEST_DATABASE_URL)');
  const db = createDb(t.url, { poolMax: 5 });
  const { built, ...parts } = build({ db, url: t.url, embedded: false, close: async () => undefined }, env, opts);
  return {
    db, url: t.url, embedded: false,
    ...parts,
    async close() {
      await built.close();
      await db.destroy();
    },
  };
}

/** The app listening on a loopback port, for browser tests. */
export async function listen(app: TestApp['app']): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
