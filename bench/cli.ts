/**
 * What the bench scripts run on their own share: `--name=value` arguments, a log line with the
 * time, and a scratch database beside BENCH_DATABASE_URL's, migrated, dropped at the end (or kept).
 */
import crypto from 'node:crypto';
import pg from 'pg';
import type { Db } from '../src/db/knex';
import { loadConfig } from '../src/config';
import { openDatabase } from '../src/server';

/** `--name=value` (or `--flag`, read as 'true') from the command line; anything else is refused. */
export function benchArgs(argv: string[] = process.argv.slice(2)): Map<string, string> {
  const a = new Map<string, string>();
  for (const raw of argv) {
    const m = /^--([\w-]+)(?:=(.*))?$/.exec(raw);
    if (!m) throw new Error(`unknown argument ${raw}`);
    a.set(m[1] as string, m[2] ?? 'true');
  }
  return a;
}

export const benchLog = (msg: string): void => {
  process.stdout.write(`${new Date().toISOString().slice(11, 19)} ${msg}\n`);
};

/**
 * Runs `work` on a new database named `bench_<prefix>_<time>_<random>` (migrated by the app's own
 * openDatabase), then drops it, unless `keep` (left for EXPLAIN ANALYZE; drop it by hand). An
 * interrupt drops it too.
 */
export async function withScratchDatabase<T>(prefix: string, opts: { keep?: boolean; log?: (msg: string) => void }, work: (db: Db) => Promise<T>): Promise<T> {
  const log = opts.log ?? benchLog;
  const base = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const name = `bench_${prefix}_${new Date().toISOString().replace(/\D/g, '').slice(0, 14)}_${crypto.randomBytes(2).toString('hex')}`;
  const url = new URL(base);
  url.pathname = `/${name}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}" TEMPLATE template0`);
  log(`created database ${name}`);
  let dropped = false;
  const drop = async () => {
    if (dropped) return;
    dropped = true;
    if (opts.keep) log(`kept database ${name}`);
    else {
      await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      log(`dropped database ${name}`);
    }
    await admin.end();
  };
  const onInterrupt = () => void drop().then(() => process.exit(130));
  process.once('SIGINT', onInterrupt);
  try {
    const config = loadConfig({ NODE_ENV: 'production', DATABASE_URL: url.toString(), LOG_LEVEL: 'warn', HOST: '127.0.0.1', PORT: '0' });
    const { db } = await openDatabase(config);
    try {
      return await work(db);
    } finally {
      await db.destroy();
    }
  } finally {
    process.off('SIGINT', onInterrupt);
    await drop();
  }
}

/** Runs `work` on a database kept by an earlier run (`--keep`), beside BENCH_DATABASE_URL's, migrated first; nothing is dropped. */
export async function withKeptDatabase<T>(name: string, work: (db: Db) => Promise<T>): Promise<T> {
  const url = new URL(process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
  url.pathname = `/${name}`;
  const { db } = await openDatabase(loadConfig({ NODE_ENV: 'production', DATABASE_URL: url.toString(), LOG_LEVEL: 'warn', HOST: '127.0.0.1', PORT: '0' }));
  try {
    return await work(db);
  } finally {
    await db.destroy();
  }
}

/** A script's main, run when the file is run itself: a failure printed and exit 1. */
export function runMain(main: () => Promise<void>): void {
  main().catch((err) => {
    process.stderr.write(`bench failed: ${(err as Error).stack ?? err}\n`);
    process.exit(1);
  });
}
