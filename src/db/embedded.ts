import fs from 'node:fs';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { ConfigError } from '../config';

export interface EmbeddedPostgres {
  /** A postgres:// URL that the ordinary pg driver and Knex connect to. */
  url: string;
  /** The data folder as a tarball, for `startEmbeddedPostgres(undefined, { loadDataDir })` (the tests' migrated snapshot). */
  dumpDataDir(): Promise<Blob>;
  stop(): Promise<void>;
}

/**
 * Starts PGlite in this process and serves it over the Postgres wire protocol on a loopback port,
 * so the same pg/Knex code runs against it as against a real server. PGlite runs one transaction
 * at a time across all connections: code must pass its transaction down, never wait inside one on
 * another connection.
 *
 * @param dataDir folder for the data files; undefined keeps everything in memory (tests).
 * @param opts.loadDataDir in memory only: start from a tarball of dumpDataDir() instead of an empty cluster.
 */
export async function startEmbeddedPostgres(dataDir?: string, opts: { loadDataDir?: Blob } = {}): Promise<EmbeddedPostgres> {
  let db: PGlite;
  let releaseLock = () => {};
  if (dataDir) {
    const dir = path.join(dataDir, 'pgdata');
    fs.mkdirSync(dir, { recursive: true });
    releaseLock = lockDataDir(dataDir);
    db = await PGlite.create(dir);
  } else {
    db = await PGlite.create(opts.loadDataDir ? { loadDataDir: opts.loadDataDir } : {});
  }
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections: 16 });
  await server.start();
  const address = (server as unknown as { server: { address(): AddressInfo } }).server.address();
  return {
    url: `postgres://postgres@127.0.0.1:${address.port}/postgres`,
    async dumpDataDir() {
      // Everything checkpointed first, so that a copy starts without replaying the WAL.
      await db.exec('CHECKPOINT');
      return db.dumpDataDir('none');
    },
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
 *
 * A server that is killed (SIGKILL, OOM, power loss) leaves its pid file behind, and after a reboot
 * or a container restart its pid is soon another process's: judged by the pid alone, that stale lock
 * would keep the folder closed for good. So the file also names the process itself where the system
 * tells (Linux: the boot and the process's start time), and a lock whose pid now belongs to a
 * different process is taken over.
 */
function lockDataDir(dataDir: string): () => void {
  const lockFile = path.join(dataDir, 'embedded-postgres.pid');
  const mine = `${process.pid}\n${processIdentity(process.pid) ?? ''}\n`;
  for (let attempt = 1; ; attempt++) {
    try {
      // Exclusive create: of two servers starting at once, only one gets the file.
      fs.writeFileSync(lockFile, mine, { flag: 'wx' });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 3) throw err;
    }
    const holder = readLock(lockFile);
    if (holder && holder.pid !== process.pid && holdsLock(holder)) {
      throw new ConfigError(`The embedded database in ${dataDir} is in use by process ${holder.pid}; stop that server first, or set DATA_DIR or DATABASE_URL.`);
    }
    // Stale (its process is gone, or its pid is now another process's), or this process's own.
    fs.rmSync(lockFile, { force: true });
  }
  return () => {
    try {
      if (readLock(lockFile)?.pid === process.pid) fs.unlinkSync(lockFile);
    } catch {
      // already gone
    }
  };
}

interface LockHolder {
  pid: number;
  /** processIdentity() of the holder when it took the lock; absent in older lock files and where unknown. */
  identity?: string;
}

function readLock(lockFile: string): LockHolder | undefined {
  let text: string;
  try {
    text = fs.readFileSync(lockFile, 'utf8');
  } catch {
    return undefined;
  }
  const [first, second] = text.split('\n');
  const pid = Number(first?.trim());
  if (!Number.isSafeInteger(pid) || pid <= 0) return undefined;
  return { pid, identity: second?.trim() || undefined };
}

/** Whether the process that wrote the lock is still running. */
function holdsLock(holder: LockHolder): boolean {
  if (!isAlive(holder.pid)) return false;
  // Alive, but the same process only if it still has the identity recorded in the lock. When either
  // side cannot tell (an older lock file, another system), the pid alone decides, as before.
  const now = processIdentity(holder.pid);
  return !holder.identity || !now || holder.identity === now;
}

/**
 * What tells one process from a later one with the same pid: on Linux the boot id and the start
 * time (clock ticks since boot, field 22 of /proc/PID/stat). Undefined where /proc is not there.
 */
function processIdentity(pid: number): string | undefined {
  try {
    const boot = fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so count from the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const start = fields[19];
    return boot && start && /^\d+$/.test(start) ? `boot ${boot} start ${start}` : undefined;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
