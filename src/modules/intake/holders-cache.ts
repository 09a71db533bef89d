import type { Queryable } from '../../db/knex';
import { isIdentityKey } from '../../domain/legs/identity';
import { holdersOf, ourNumbers, type Assignment, type Holders, type Party } from './parties.repository';

/** A digit string of an E.164 number as phone_numbers allows it, without the '+'. */
const E164 = /^\+[1-9][0-9]{0,14}$/;

/**
 * The intake's memory of who holds which number, so that a post of one record is rated without a
 * query. Every answer comes from one party version (party_version, bumped by triggers in every
 * transaction that changes numbers, subscribers or resellers as rating sees them), and the write
 * that stores the rated legs checks that the version is still the same (insertGroup, writePosts):
 * a post rated with a holder that has changed since is rated again, so the cache is never the
 * reason for a wrong charge, and no notice between processes is needed.
 *
 * Most numbers on a leg are nobody's (the called number of an outbound call), so the cache knows
 * every number that has ever been ours, as a sorted array of their digits (8 bytes each, nothing
 * for the garbage collector to walk): a number not in it is nobody's without a query. Short
 * identities of hosted PBX platforms ("1002@pbx.example", subscriber_identities, whose trigger
 * moves party_version like phone_numbers') are kept as a set of every one ever ours. Holders of
 * our numbers are read on first use. A new version (a change anywhere) forgets it all and reloads
 * the numbers in the background (44 ms at 100,000 numbers, half a second at a million), while
 * batches are read from the database as they were without a cache.
 */
export class HoldersCache {
  private version: string | undefined;
  private ours = new Float64Array(0);
  /** Every short identity ever ours ("1002@pbx.example"): few next to numbers, so a plain set. */
  private identities: ReadonlySet<string> = new Set();
  private loading: Promise<void> | undefined;
  /** Moves on with every invalidate(): a load begun before it is not kept. */
  private generation = 0;
  private readonly numbers = new Map<string, Assignment[]>();
  private readonly parties = new Map<number, Party>();

  /** `maxNumbers`: above this many holders remembered, start again (memory stays bounded). */
  constructor(private readonly maxNumbers = 200_000) {}

  async get(db: Queryable, numbers: string[]): Promise<Holders> {
    if (this.version === undefined) {
      // Not loaded yet (or forgotten after a change): this batch from the database meanwhile.
      this.startLoad(db);
      return holdersOf(db, numbers);
    }
    const missing = numbers.filter((n) => !this.numbers.has(n) && this.isOurs(n));
    if (missing.length === 0) return this.answer(numbers);
    const read = await holdersOf(db, missing);
    if (read.version === this.version) {
      if (this.numbers.size + missing.length > this.maxNumbers) this.forgetHolders();
      for (const n of missing) this.numbers.set(n, read.assignments.get(n) ?? []);
      for (const [id, party] of read.parties) this.parties.set(id, party);
      return this.answer(numbers);
    }
    // Something changed since the numbers were loaded: start again, and read this batch whole.
    this.invalidate();
    this.startLoad(db);
    return holdersOf(db, numbers);
  }

  /** Forget everything (a write found a newer version). */
  invalidate(): void {
    this.generation++;
    this.version = undefined;
    this.ours = new Float64Array(0);
    this.identities = new Set();
    this.forgetHolders();
  }

  /** The numbers of the current version, loaded in the background (a failed load is tried again by the next batch). */
  loaded(): Promise<void> {
    return this.loading ?? Promise.resolve();
  }

  /** How many numbers' holders are remembered. */
  get size(): number {
    return this.numbers.size;
  }

  /** Whether `number` (or short identity) has ever been one of ours, as of the loaded version. */
  isOurs(number: string): boolean {
    if (isIdentityKey(number)) return this.identities.has(number);
    if (!E164.test(number)) return false;
    const v = Number(number.slice(1));
    const a = this.ours;
    let lo = 0;
    let hi = a.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const m = a[mid] as number;
      if (m === v) return true;
      if (m < v) lo = mid + 1;
      else hi = mid - 1;
    }
    return false;
  }

  private answer(numbers: string[]): Holders {
    const assignments = new Map<string, Assignment[]>();
    const parties = new Map<number, Party>();
    for (const n of numbers) {
      const list = this.numbers.get(n);
      if (list === undefined || list.length === 0) continue;
      assignments.set(n, list);
      for (const a of list) {
        const party = this.parties.get(a.subscriberId);
        if (party) parties.set(a.subscriberId, party);
      }
    }
    return { assignments, parties, version: this.version as string };
  }

  private startLoad(db: Queryable): void {
    if (this.loading) return;
    const generation = this.generation;
    this.loading = (async () => {
      try {
        const { version, digits, identities } = await ourNumbers(db);
        if (generation !== this.generation) return;
        const ours = new Float64Array(digits.length);
        for (let i = 0; i < digits.length; i++) ours[i] = Number(digits[i]);
        ours.sort();
        this.forgetHolders();
        this.ours = ours;
        this.identities = new Set(identities);
        this.version = version;
      } catch {
        // Nothing is kept; batches go on being read from the database, and the next one tries again.
      } finally {
        this.loading = undefined;
      }
    })();
  }

  private forgetHolders(): void {
    this.numbers.clear();
    this.parties.clear();
  }
}

/** Thrown by a write whose holders were read at another party version than the one now committed. */
export class StaleHoldersError extends Error {
  constructor(
    readonly ratedAt: string,
    readonly current: string,
  ) {
    super(`holders were read at party version ${ratedAt}, now ${current}`);
  }
}
