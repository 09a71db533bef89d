import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import pg from 'pg';
import { createApp } from './app';
import { ConfigError, loadConfig, type Config } from './config';
import { startEmbeddedPostgres, type EmbeddedPostgres } from './db/embedded';
import { createDb, migrateLatest, type Db } from './db/knex';
import { getOrCreateSecret } from './db/settings';
import { createLogger } from './logger';
import { DEMO_PASSWORD, firstStart } from './cli/demo-data';

/** Opens the configured database (or starts the embedded one) and brings its schema up to date. */
export async function openDatabase(config: Config, opts: { migrate?: boolean } = {}): Promise<{ db: Db; url: string; embedded?: EmbeddedPostgres }> {
  let embedded: EmbeddedPostgres | undefined;
  let url = config.databaseUrl;
  if (!url) {
    embedded = await startEmbeddedPostgres(config.dataDir);
    url = embedded.url;
  }
  // Probe with a plain client, not through Knex: Knex's pool prints its own warning with a stack
  // trace on stdout when the first connection fails, and the operator should see one line only.
  const probe = new pg.Client({ connectionString: url, connectionTimeoutMillis: 30_000 });
  try {
    await probe.connect();
    await probe.query('select 1');
    await probe.end();
  } catch (err) {
    await embedded?.stop().catch(() => undefined);
    const e = err as NodeJS.ErrnoException & { message: string };
    const where = new URL(url);
    throw new ConfigError(`Cannot reach the database at ${where.hostname}:${where.port || 5432}${where.pathname}: ${e.code ?? ''} ${e.message}`.trim());
  }
  const db = createDb(url, { embedded: Boolean(embedded) });
  if (opts.migrate !== false) await migrateLatest(db);
  return { db, url, embedded };
}

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.logLevel);
  const { db, url, embedded } = await openDatabase(config);
  logger.info({ database: embedded ? `embedded (${config.dataDir})` : 'DATABASE_URL' }, 'database ready');

  const { first, demo } = await firstStart(db, config.admin, { demo: process.argv.includes('--demo') });
  if (first) {
    // Printed once, on the first start only; the password is never stored in clear.
    const password = first.generatedPassword ? `password ${first.generatedPassword}` : 'the password in ADMIN_PASSWORD';
    process.stdout.write(`\nFirst wholesale admin created: ${first.email} with ${password}\nChange it after logging in (My login).\n\n`);
  }
  if (demo) {
    const lines = demo.map((l) => `  ${l.role.padEnd(18)} ${l.email}`).join('\n');
    process.stdout.write(`Demo data loaded. Every demo login uses the password ${DEMO_PASSWORD}:\n${lines}\n\n`);
  } else if (demo === null) {
    process.stdout.write(`Demo data is already loaded (password ${DEMO_PASSWORD}, e.g. ops@operator.example).\n`);
  }

  const instanceSecret = config.sessionSecret ?? (await getOrCreateSecret(db, 'instance_secret'));
  // This process's worker also turns due schedules into jobs (half-call expiry, reject pruning, partitions).
  const built = createApp({ config, db, databaseUrl: url, instanceSecret, logger, embedded: Boolean(embedded), schedules: true });
  const server = config.tls
    ? https.createServer({ cert: fs.readFileSync(config.tls.certFile), key: fs.readFileSync(config.tls.keyFile) }, built.app)
    : http.createServer(built.app);
  // Before the switches' first posts: a large post then finds its parse thread ready.
  await built.warmUp().catch((err) => logger.warn({ err }, 'the intake could not start its parse threads; large posts will start them'));

  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') reject(new ConfigError(`Port ${config.port} is already in use; stop the other program or set PORT.`));
      else if (err.code === 'EACCES') reject(new ConfigError(`Not allowed to listen on port ${config.port}; choose a port above 1023 with PORT.`));
      else reject(err);
    });
    server.listen(config.port, config.host, resolve);
  });
  const scheme = config.tls ? 'https' : 'http';
  const shownHost = config.host === '0.0.0.0' ? 'localhost' : config.host;
  logger.info({ port: config.port, tls: Boolean(config.tls) }, 'listening');
  process.stdout.write(`VoIP Billing is serving ${scheme}://${shownHost}:${config.port}\n`);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    server.close();
    server.closeAllConnections?.();
    // Running jobs are handed back (queued again) for the next worker, here or in another process.
    await built.close();
    await db.destroy();
    await embedded?.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

if (require.main === module) {
  main().catch((err) => {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
    } else {
      process.stderr.write(`Failed to start: ${(err as Error).message}\n`);
    }
    process.exit(1);
  });
}
