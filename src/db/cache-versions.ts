import type { ChangeSubscriber } from './change-notices';
import type { Queryable, Tx } from './knex';

/*
 * The one protocol every in-memory copy of database rows follows (docs/ARCHITECTURE.md, "Caches"):
 *
 * 1. Each cached kind has a version in the database that triggers move in the transaction that
 *    changes its rows (cache_versions; party_version for the holders of numbers), so it commits
 *    with the change, whoever writes it.
 * 2. A process confirms the versions with one query for every kind at once (check). A kind whose
 *    version moved since the last check is handed to its caches (versionMoved), which drop what may
 *    be stale before the check is done.
 * 3. A copy is served only within maxAgeMs of a confirmation. While the change listener is up, a
 *    confirmation that has run out is renewed in the background (the notices cover the meantime,
 *    the check covers a notice that never came); while it is down (and always with the embedded
 *    database, which has none) the next read waits for the check. So a post costs no query, and at
 *    most one check runs every maxAgeMs per process, whichever way a change was missed.
 * 4. A notice (NOTIFY) is only a hint to look sooner: it makes the next read wait for a check. So
 *    does the listener coming back: everything is checked before anything is served again.
 */

/** Every kind kept in memory: cache_versions' kinds, and the holders of numbers (party_version). */
export type CachedKind = 'rate_plans' | 'platforms' | 'taxes' | 'exchange_rates' | 'carriers' | 'parties';
const KINDS: readonly CachedKind[] = ['rate_plans', 'platforms', 'taxes', 'exchange_rates', 'carriers', 'parties'];

/** The committed versions, one snapshot. */
const VERSIONS_SQL = `SELECT kind, version::text AS version FROM cache_versions
  UNION ALL SELECT 'parties', coalesce((SELECT version FROM party_version), 0)::text`;

/** A cache that follows the protocol. */
export interface VersionedCache {
  readonly kind: CachedKind;
  /**
   * The committed version of its kind moved (or is seen for the first time): drop whatever may be
   * older. `db` is the check's own connection or transaction, for a cache that must look closer
   * (the plan cache compares revisions). The check is done only once this settles.
   */
  versionMoved(db: Queryable, version: string): void | Promise<void>;
  /** Handed the process's versions when registered: from then on it asks ready() before serving. */
  follow?(versions: CacheVersions): void;
}

export interface CacheVersionsOptions {
  /** How long a confirmation lets copies be served: the longest a missed change can go unseen. */
  maxAgeMs?: number;
  /** The clock (tests). */
  now?: () => number;
}

export const DEFAULT_CACHE_MAX_AGE_MS = 5000;

/** The versions one process has confirmed, and the caches that follow them. */
export class CacheVersions {
  readonly maxAgeMs: number;
  private readonly now: () => number;
  private readonly caches: VersionedCache[] = [];
  private readonly known = new Map<CachedKind, string>();
  /** When the last check that succeeded began (a change committed after it may be unseen). */
  private confirmedAt = Number.NEGATIVE_INFINITY;
  private unconfirmedAt = Number.NEGATIVE_INFINITY;
  private listening = false;
  private checking: Promise<void> | undefined;
  /** When the check in `checking` was asked for (it begins then or later). */
  private checkingFrom = Number.NEGATIVE_INFINITY;
  /** How many checks have completed (tests and the docs' figures). */
  checks = 0;

  /** `db`: the process's own pool, for checks run in the background while the listener is up. */
  constructor(
    private readonly db: Queryable,
    opts: CacheVersionsOptions = {},
  ) {
    this.maxAgeMs = opts.maxAgeMs ?? DEFAULT_CACHE_MAX_AGE_MS;
    this.now = opts.now ?? (() => performance.now());
  }

  register(cache: VersionedCache): void {
    this.caches.push(cache);
    cache.follow?.(this);
  }

  /**
   * Before serving a copy: undefined when it may be served now, or the check to wait for first.
   * `db` is the reader's own: a read inside a transaction checks through it (on the embedded
   * database another connection would wait for that transaction to end).
   */
  ready(db: Queryable): Promise<void> | undefined {
    if (this.now() - this.confirmedAt <= this.maxAgeMs) return undefined;
    if (this.listening && this.confirmedAt !== Number.NEGATIVE_INFINITY) {
      // Notices are heard: serve, and renew the confirmation meanwhile.
      this.checkShared(this.db).catch(() => this.unconfirm());
      return undefined;
    }
    return (db as Tx).isTransaction ? this.check(db) : this.checkShared(db);
  }

  /** Something may have changed (a notice, or this process's own write): the next read checks first. */
  unconfirm(): void {
    this.confirmedAt = Number.NEGATIVE_INFINITY;
    this.unconfirmedAt = this.now();
  }

  /** The listener's part: every notice on these channels is a hint; its loss and return are told here. */
  subscribers(channels: readonly string[]): ChangeSubscriber[] {
    return channels.map((channel) => ({
      channel,
      onNotice: () => this.unconfirm(),
      onLost: () => {
        this.listening = false;
      },
      onListening: () => {
        // Notices may have gone unheard while it was down: check everything before serving again.
        this.listening = true;
        this.unconfirm();
      },
    }));
  }

  /** Whether the listener is up (as last told). */
  get isListening(): boolean {
    return this.listening;
  }

  /**
   * One check at a time through the pool; readers arriving meanwhile wait for the same one, unless
   * it began before the last hint (its snapshot may miss that change): then for a new one after it.
   */
  private checkShared(db: Queryable): Promise<void> {
    if (this.checking && this.checkingFrom >= this.unconfirmedAt) return this.checking;
    const previous = this.checking?.catch(() => undefined);
    this.checkingFrom = this.now();
    const pending: Promise<void> = (previous ? previous.then(() => this.check(db)) : this.check(db)).finally(() => {
      if (this.checking === pending) this.checking = undefined;
    });
    this.checking = pending;
    return pending;
  }

  /** Reads every version, hands the moved kinds to their caches, and confirms from when it began. */
  async check(db: Queryable): Promise<void> {
    const began = this.now();
    const { rows } = (await db.raw(VERSIONS_SQL)) as { rows: Array<{ kind: string; version: string }> };
    for (const { kind, version } of rows) {
      if (!(KINDS as readonly string[]).includes(kind) || this.known.get(kind as CachedKind) === version) continue;
      for (const c of this.caches) if (c.kind === kind) await c.versionMoved(db, version);
      this.known.set(kind as CachedKind, version);
    }
    this.checks++;
    // A hint that came while this ran may name a change its snapshot missed: it does not confirm then.
    if (this.unconfirmedAt <= began) this.confirmedAt = Math.max(this.confirmedAt, began);
  }
}
