/**
 * The real server (src/server.ts) as a child process, for the tests that kill it (intake-crash,
 * jobs-crash), and the store it keeps its data in:
 * - TEST_DATABASE_URL: a fresh database there; a kill takes down the server only.
 * - embedded default: the child runs with NO DATABASE_URL on its own fresh DATA_DIR, as `npm start`
 *   does, so PGlite runs inside the killed process and the SIGKILL takes the database down with it.
 *   The test sets up and reads the data by opening the folder in its own process through the
 *   product's openDatabase, while no server runs on it (PGlite keeps a folder for one process).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config';
import type { Db } from '../../src/db/knex';
import { openDatabase } from '../../src/server';
import { createTestDatabase } from './db';
import { freePort } from './net';

export const EMBEDDED = !process.env.TEST_DATABASE_URL;
const ROOT = path.resolve(__dirname, '../..');
const STARTUP_MS = 45_000;

/** Where a child server keeps its data. */
export interface Store {
  /** The database part of the child server's environment: DATABASE_URL, or DATA_DIR with no DATABASE_URL. */
  env: Record<string, string>;
  /** Runs `fn` on the stored data. Embedded: opens the folder in this process, so no server may be running on it. */
  read<T>(fn: (db: Db) => Promise<T>): Promise<T>;
  /** The embedded data folder. */
  dataDir?: string;
}

export interface Server {
  child: ChildProcess;
  url: string;
  output(): string;
  /** The JSON log lines with this message. */
  logged(msg: string): Array<Record<string, any>>;
}

/** Child servers and their stores, stopped and removed by close() (call it in `after`, also when a test failed half-way). */
export class ServerProcesses {
  private readonly children = new Set<ChildProcess>();
  private readonly cleanups: Array<() => Promise<void>> = [];

  /** A fresh store of the kind the suite runs on (`embedded` forces a data folder). */
  async store(embedded = EMBEDDED, folderPrefix = 'voip-crash-'): Promise<Store> {
    if (!embedded) {
      const database = await createTestDatabase();
      this.cleanups.push(() => database.close());
      return { env: { DATABASE_URL: database.url }, read: (fn) => fn(database.db) };
    }
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), folderPrefix));
    this.cleanups.push(async () => fs.rmSync(dataDir, { recursive: true, force: true }));
    const read = async <T>(fn: (db: Db) => Promise<T>): Promise<T> => {
      const { db, embedded: pglite } = await openDatabase(loadConfig({ NODE_ENV: 'test', DATA_DIR: dataDir }));
      try {
        return await fn(db);
      } finally {
        await db.destroy();
        await pglite?.stop();
      }
    };
    return { env: { DATA_DIR: dataDir }, read, dataDir };
  }

  /** Starts src/server.ts on the store, with `env` added, and waits until it says it is serving. */
  async start(store: Store, env: Record<string, string> = {}): Promise<Server> {
    const port = await freePort();
    const childEnv = {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      NODE_ENV: 'production',
      LOG_LEVEL: 'warn',
      HOST: '127.0.0.1',
      PORT: String(port),
      ADMIN_EMAIL: 'crash-test@example.com',
      ADMIN_PASSWORD: 'crash test password 0123',
      ...env,
      ...store.env,
    };
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], { cwd: ROOT, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    this.children.add(child);
    let out = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', () => this.children.delete(child));
    const deadline = Date.now() + STARTUP_MS;
    while (!out.includes('VoIP Billing is serving')) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`server exited (${child.exitCode ?? child.signalCode}): ${out}`);
      if (Date.now() > deadline) throw new Error(`server did not start within ${STARTUP_MS} ms: ${out}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const logged = (msg: string) =>
      out
        .split('\n')
        .filter((l) => l.startsWith('{') && l.includes(`"msg":"${msg}"`))
        .map((l) => JSON.parse(l) as Record<string, any>);
    return { child, url: `http://127.0.0.1:${port}`, output: () => out, logged };
  }

  /** Every child first (an embedded folder must not be open in two processes), then the databases and folders. */
  async close(): Promise<void> {
    await Promise.all([...this.children].map((c) => kill(c)));
    for (const c of this.cleanups.reverse()) await c();
  }
}

export async function kill(child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const done = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill(signal);
  await done;
}
