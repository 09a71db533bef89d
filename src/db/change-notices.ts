import type { CacheVersions, VersionedCache } from './cache-versions';
import type { Db, Queryable, Tx } from './knex';

/**
 * Change notices between processes, for in-memory caches of rarely-changing rows.
 *
 * A writer calls pg_notify inside the transaction that makes the change: Postgres delivers it at
 * commit, and never if the transaction rolls back. Every process LISTENs on one dedicated
 * connection (listenForChanges). A notice is only a hint to look sooner: what keeps a cache right
 * is the version its kind has in the database (db/cache-versions.ts), since notices sent while
 * that connection is down, or by nobody (a hand edit), are never heard. Subscribers are told when
 * it goes down and when listening resumes.
 */
export interface ChangeSubscriber {
  channel: string;
  /** A notice on the channel. */
  onNotice(payload: string): void;
  /** Not listening (not yet, or the connection was lost): notices may go unheard from now on. */
  onLost(): void;
  /** LISTEN is in place (the first time and after every reconnection). */
  onListening(): void;
}

interface Log {
  warn(obj: object, msg: string): void;
}

/**
 * One connection that LISTENs on every subscriber's channel and reconnects every second when it
 * fails. Subscribers hear onLost() at once (nothing is heard until the first LISTEN succeeds).
 */
export function listenForChanges(url: string, subscribers: ChangeSubscriber[], log: Log, name = 'change listener'): { close(): Promise<void> } {
  // Imported here so the caches built on this stay free of the driver.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { Client } = require('pg') as typeof import('pg');
  const channels = [...new Set(subscribers.map((s) => s.channel))];
  for (const ch of channels) if (!/^[a-z_][a-z0-9_]*$/.test(ch)) throw new Error(`not a plain channel name: ${ch}`);
  let client: import('pg').Client | undefined;
  let closed = false;
  let retry: NodeJS.Timeout | undefined;
  let attempt: Promise<void> | undefined;

  const lost = () => {
    for (const s of subscribers) s.onLost();
  };
  const connect = () => {
    attempt = connectOnce();
    return attempt;
  };
  const connectOnce = async () => {
    if (closed) return;
    // A connection attempt that hangs (packets dropped) must fail, or the listener would never come back.
    const c = new Client({ connectionString: url, application_name: `voip-billing ${name}`, connectionTimeoutMillis: 10_000 });
    client = c;
    let down = false;
    // 'error' and 'end' can both come for one failure: act once per connection.
    const fail = (err: unknown, msg: string) => {
      if (down) return;
      down = true;
      lost();
      c.end().catch(() => undefined);
      if (closed) return;
      log.warn({ err }, `${name}: ${msg}; reconnecting (caches check their versions meanwhile)`);
      retry ??= setTimeout(() => {
        retry = undefined;
        void connect();
      }, 1000);
    };
    c.on('notification', (msg) => {
      for (const s of subscribers) if (s.channel === msg.channel) s.onNotice(msg.payload ?? '');
    });
    c.on('error', (err) => fail(err, 'connection lost'));
    c.on('end', () => fail(undefined, 'connection ended'));
    try {
      await c.connect();
      for (const ch of channels) await c.query(`LISTEN ${ch}`);
      if (!down && !closed) for (const s of subscribers) s.onListening();
    } catch (err) {
      fail(err, 'could not connect');
    }
  };
  lost();
  void connect();
  return {
    async close() {
      closed = true;
      if (retry) clearTimeout(retry);
      // Let a connection attempt in flight settle first, so nothing is left open behind us.
      await attempt?.catch(() => undefined);
      await client?.end().catch(() => undefined);
    },
  };
}

// ---- reference data: platforms, usage taxes, exchange rates ----------------------------------

/** Which reference data changed: the payload of REFERENCE_DATA_CHANNEL. Taxes include their jurisdictions. */
export type ReferenceKind = 'platforms' | 'taxes' | 'exchange_rates' | 'carriers';
export const REFERENCE_KINDS: readonly ReferenceKind[] = ['platforms', 'taxes', 'exchange_rates', 'carriers'];
export const REFERENCE_DATA_CHANNEL = 'reference_data_changed';

/** What a writer needs of this process's caches: drop a kind once its change has committed. */
export interface ReferenceInvalidator {
  invalidate(kind: ReferenceKind): void;
}

/**
 * Tells other processes that `kind` changed: inside a transaction it is delivered at commit. Also
 * for data written straight into the tables (fixtures, benchmarks), after the writes.
 */
export async function announceReferenceChange(db: Queryable, kind: ReferenceKind): Promise<void> {
  await db.raw('select pg_notify(?, ?)', [REFERENCE_DATA_CHANNEL, kind]);
}

/**
 * Every write to reference data goes through here: `work` runs in a transaction that announces the
 * change (other processes look at the versions at once, rather than when their confirmation runs
 * out), and this process drops its own copy once the commit is done, so the next request reads
 * the new rows. The kind's version is moved by triggers in the same transaction, whoever writes.
 */
export async function changeReferenceData<T>(db: Db, refs: ReferenceInvalidator, kind: ReferenceKind, work: (tx: Tx) => Promise<T>): Promise<T> {
  const result = await db.transaction(async (tx) => {
    const value = await work(tx);
    await announceReferenceChange(tx, kind);
    return value;
  });
  refs.invalidate(kind);
  return result;
}

/**
 * One kind of reference data held in memory as a whole (a few hundred rows at most), loaded on
 * first use, following the process's CacheVersions (db/cache-versions.ts). Correct over fast:
 * - before serving, it asks the versions whether its copy may still be served (ready), and waits
 *   for their check when not; a check that finds the kind's version moved drops the copy;
 * - invalidate() bumps a generation; a load that began before it (and may have read the rows as
 *   they were before a commit) returns its answer to its own callers but is never stored, and
 *   later callers do not join it;
 * - a read through a caller's transaction goes to that transaction, which may have changed the
 *   rows itself (as the SQL look-ups would), and is neither stored nor shared.
 */
export class ReferenceCache<T> implements VersionedCache {
  private value: Promise<T> | undefined;
  private loading: Promise<T> | undefined;
  private generation = 0;
  private versions: CacheVersions | undefined;

  constructor(
    readonly kind: ReferenceKind,
    private readonly loader: (db: Queryable) => Promise<T>,
  ) {}

  follow(versions: CacheVersions): void {
    this.versions = versions;
  }

  versionMoved(): void {
    this.invalidate();
  }

  get(db: Queryable): Promise<T> {
    if ((db as Tx).isTransaction) return this.loader(db);
    const wait = this.versions?.ready(db);
    return wait ? wait.then(() => this.held(db)) : this.held(db);
  }

  private held(db: Queryable): Promise<T> {
    if (this.value) return this.value;
    if (this.loading) return this.loading;
    const generation = this.generation;
    const pending = this.loader(db).then((v) => {
      if (this.generation === generation) this.value = Promise.resolve(v);
      return v;
    });
    this.loading = pending;
    // Only this load's own entry is cleared: an invalidation may already have replaced it.
    const done = () => {
      if (this.loading === pending) this.loading = undefined;
    };
    pending.then(done, done);
    return pending;
  }

  invalidate(): void {
    this.generation++;
    this.value = undefined;
    this.loading = undefined;
  }

  /** Whether an answer is held in memory. */
  get cached(): boolean {
    return this.value !== undefined;
  }
}
