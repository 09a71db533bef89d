import type { AddressInfo } from 'node:net';
import http from 'node:http';
import { createApp, type BuiltApp } from '../../src/app';
import { loadConfig, type Config } from '../../src/config';
import { createLogger } from '../../src/logger';
import { PlanCache } from '../../src/modules/rate-plans/plan-cache';
import { createTestDatabase, type TestDatabase } from './db';

export interface TestApp extends TestDatabase {
  app: BuiltApp['app'];
  config: Config;
  /** The app's compiled-plan cache, as the intake uses it. */
  planCache: PlanCache;
}

/** The real app on a fresh test database. Extra env values override the defaults (e.g. throttle limits). */
export async function createTestApp(env: Record<string, string> = {}): Promise<TestApp> {
  const database = await createTestDatabase();
  const config = loadConfig({ NODE_ENV: 'test', LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent', ...env });
  const planCache = new PlanCache();
  const built = createApp({ config, db: database.db, databaseUrl: database.url, instanceSecret: 'test-instance-secret-0123456789abcdef', logger: createLogger(config.logLevel), planCache, embedded: database.embedded });
  return {
    ...database,
    app: built.app,
    config,
    planCache,
    async close() {
      await built.close();
      await database.close();
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
