import type { Db } from '../../db/knex';
import { foldUsage, vacuumUsageDeltas } from './ledger.repository';

/**
 * Moves the usage deltas every write appends (ledger.repository.ts, "Usage totals") into
 * usage_totals, about once a second, so that the deltas readers add to the totals stay a few
 * thousand rows. Readers are exact without it (they read usage_figures); it only keeps them fast.
 * Every process runs one; the fold's advisory lock lets one fold at a time, and a fold that finds
 * it taken does nothing.
 */
export class UsageFolder {
  private timer: NodeJS.Timeout | undefined;
  private folding: Promise<void> | undefined;
  private stopped = true;
  private sinceVacuum = 0;
  private vacuumedAt = Date.now();

  constructor(
    private readonly db: Db,
    private readonly opts: { everyMs?: number; log?: { warn(obj: object, msg: string): void } } = {},
  ) {}

  start(): this {
    if (!this.stopped) return this;
    this.stopped = false;
    this.schedule();
    return this;
  }

  /**
   * Folds until fewer deltas than a fold takes are left (a backlog after a bulk load goes in
   * steps), then vacuums the deltas' table when enough rows were folded since the last vacuum.
   */
  async foldAll(): Promise<number> {
    let total = 0;
    for (;;) {
      const n = await foldUsage(this.db, FOLD_LIMIT);
      total += n;
      if (n < FOLD_LIMIT) break;
    }
    this.sinceVacuum += total;
    if (this.sinceVacuum >= VACUUM_AFTER || (this.sinceVacuum > 0 && Date.now() - this.vacuumedAt >= VACUUM_EVERY_MS)) {
      this.sinceVacuum = 0;
      this.vacuumedAt = Date.now();
      await vacuumUsageDeltas(this.db);
    }
    return total;
  }

  /** Stops the timer and waits for a fold in progress, then folds what is left (a clean shutdown leaves none). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.folding;
    await this.foldAll().catch((err) => this.opts.log?.warn({ err }, 'folding usage deltas at shutdown failed'));
  }

  private schedule(): void {
    this.timer = setTimeout(() => {
      this.folding = this.foldAll()
        .then(() => undefined)
        .catch((err) => this.opts.log?.warn({ err }, 'folding usage deltas failed; they stay for the next fold'))
        .finally(() => {
          this.folding = undefined;
          if (!this.stopped) this.schedule();
        });
    }, this.opts.everyMs ?? 1000);
    this.timer.unref();
  }
}

/** Folded rows, or time with any folded, after which the deltas' table is vacuumed: readers scan at most about this many dead rows. */
const VACUUM_AFTER = 20_000;
const VACUUM_EVERY_MS = 30_000;

/** Deltas per fold: a second of a busy intake is about a thousand; a bulk load's backlog goes in steps of this. */
const FOLD_LIMIT = 50_000;
