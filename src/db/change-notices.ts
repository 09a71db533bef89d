import type { Db, Queryable, Tx } from './knex';

/**
 * Change notices between processes, for in-memory caches of rarely-changing rows.
 *
 * A writer calls pg_notify inside the transaction that makes the change: Postgres delivers it at
 * commit, and never if the transaction rolls back. Every process LISTENs on one dedicated
 * connection (listenForChanges) and drops its copy. Notices sent while that connection is down are
 * lost, so each subscriber is told when it goes down and when listening resumes, and must then
 * assume that anything may have changed.
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
    const c = new Client({ connectionString: url, application_name: `voip-billing ${name}` });
    client = c;
    let down = false;
    // 'error' and 'end' can both come for one failure: act once per connection.
    const fail = (err: unknown, msg: string) => {
      if (down) return;
      down = true;
      lost();
      c.end().catch(() => undefined);
      if (closed) return;
      log.warn({ err }, `${name}: ${msg}; caches cleared, reconnecting`);
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
export type ReferenceKind = 'platforms' | 'taxes' | 'exchange_rates';
export const REFERENCE_KINDS: readonly ReferenceKind[] = ['platforms', 'taxes', 'exchange_rates'];
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
 * change (other processes drop their copy at commit), and this process drops its own once the
 * commit is done, so the next request reads the new rows.
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
 * first use. Correct over fast:
 * - invalidate() bumps a generation; a load that began before it (and may have read the rows as
 *   they were before a commit) returns its answer to its own callers but is never stored, and
 *   later callers do not join it;
 * - while suspended (the change listener is down, or not yet listening), nothing is stored and
 *   every call reads the database, since a change elsewhere could go unheard;
 * - a read through a caller's transaction goes to that transaction, which may have changed the
 *   rows itself (as the SQL look-ups would), and is neither stored nor shared.
 */
export class ReferenceCache<T> {
  private value: Promise<T> | undefined;
  private loading: Promise<T> | undefined;
  private generation = 0;
  private suspended = false;

  constructor(
    readonly kind: ReferenceKind,
    private readonly loader: (db: Queryable) => Promise<T>,
  ) {}

  get(db: Queryable): Promise<T> {
    if ((db as Tx).isTransaction) return this.loader(db);
    if (this.value) return this.value;
    if (this.suspended) return this.loader(db);
    if (this.loading) return this.loading;
    const generation = this.generation;
    const pending = this.loader(db).then((v) => {
      if (this.generation === generation && !this.suspended) this.value = Promise.resolve(v);
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

  /** Stop storing (and drop what is held) until resume(). */
  suspend(): void {
    this.suspended = true;
    this.invalidate();
  }

  resume(): void {
    this.suspended = false;
    this.invalidate();
  }

  /** Whether an answer is held in memory. */
  get cached(): boolean {
    return this.value !== undefined;
  }
}
