import fs from 'node:fs';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { ConfigError } from '../config';

export interface EmbeddedPostgres {
  /** A postgres:// URL that the ordinary pg driver and Knex connect to. */
  url: string;
  stop(): Promise<void>;
}

/**
 * Starts PGlite in this process and serves it over the Postgres wire protocol on a loopback port,
 * so the same pg/Knex code runs against it as against a real server. PGlite runs one transaction
 * at a time across all connections: code must pass its transaction down, never wait inside one on
 * another connection.
 *
 * @param dataDir folder for the data files; undefined keeps everything in memory (tests).
 */
export async function startEmbeddedPostgres(dataDir?: string): Promise<EmbeddedPostgres> {
  let db: PGlite;
  let releaseLock = () => {};
  if (dataDir) {
    const dir = path.join(dataDir, 'pgdata');
    fs.mkdirSync(dir, { recursive: true });
    releaseLock = lockDataDir(dataDir);
    db = await PGlite.create(dir);
  } else {
    db = await PGlite.create();
  }
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections: 16 });
  await server.start();
  const address = (server as unknown as { server: { address(): AddressInfo } }).server.address();
  return {
    url: `postgres://postgres@127.0.0.1:${address.port}/postgres`,
    async stop() {
      await server.stop();
      await db.close();
      releaseLock();
    },
  };
}

/**
 * PGlite keeps its files for one process only: a second server (or `npm run demo`) on the same
 * folder would corrupt them. A pid file refuses the second one with a clear message.
 */
function lockDataDir(dataDir: string): () => void {
  const lockFile = path.join(dataDir, 'embedded-postgres.pid');
  try {
    const holder = Number(fs.readFileSync(lockFile, 'utf8').trim());
    if (holder && holder !== process.pid && isAlive(holder)) {
      throw new ConfigError(`The embedded database in ${dataDir} is in use by process ${holder}; stop that server first, or set DATA_DIR or DATABASE_URL.`);
    }
  } catch (err) {
    if (err instanceof ConfigError) throw err;
  }
  fs.writeFileSync(lockFile, String(process.pid));
  return () => {
    try {
      if (fs.readFileSync(lockFile, 'utf8').trim() === String(process.pid)) fs.unlinkSync(lockFile);
    } catch {
      // already gone
    }
  };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
