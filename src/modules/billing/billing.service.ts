import type { Db, Queryable } from '../../db/knex';
import { cycleAt, cycleStartingOn, previousCycle, type Cycle, type CycleRule } from '../../domain/billing/cycles';
import { dueLines, priceLine, type BillingSide, type DueLine, type PostedLine } from '../../domain/billing/recurring';
import { NotFoundError } from '../../domain/errors';
import { Decimal } from '../../domain/money/decimal';
import { fixedText, formatScaled } from '../../domain/money/fixed';
import { taxLineFigures } from '../../domain/tax/tax';
import { OPERATOR, type Owner } from '../../domain/tenancy/owner';
import type { Scope } from '../../domain/tenancy/roles';
import { rateInForce } from '../exchange-rates/exchange-rates.repository';
import { usageByPeriod, type UsageChargeTotal, type UsageParty, type UsageTotals } from '../ledger/ledger.reads';
import { getOrThrow as getReseller } from '../resellers/resellers.service';
import { getOrThrow as getSubscriber } from '../subscribers/subscribers.service';
import { taxesFor } from '../taxes/taxes.repository';
import * as repo from './billing.repository';

export type { BillingParty, RecurringLine, RecurringTotal } from './billing.repository';

// ---- The bill run: recurring charges posted at each cycle's start ----

/** Where a bill run got to: the last party whose lines are stored (parties go wholesale first, then retail, by id). */
export interface RunPosition {
  side: BillingSide;
  partyId: number;
}

export interface RunOptions {
  nowMs: number;
  /** Resume after this party (a job's checkpoint). */
  after?: RunPosition | null;
  signal?: AbortSignal;
  /** Called in each party's transaction once its lines are stored (the job records its checkpoint here). */
  afterParty?: (tx: Queryable, position: RunPosition, partiesDone: number, partiesTotal: number) => Promise<void>;
}

export interface RunResult {
  parties: number;
  posted: number;
  /** Lines that could not be priced (no exchange rate in force): tried again on the next run. */
  notPosted: string[];
}

const SIDE_ORDER: Record<BillingSide, number> = { wholesale: 0, retail: 1 };
const comparePosition = (a: RunPosition, b: RunPosition) => SIDE_ORDER[a.side] - SIDE_ORDER[b.side] || a.partyId - b.partyId;

interface PartyWork {
  position: RunPosition;
  party: repo.BillingParty;
  items: Array<{ assignment: repo.BillableAssignment; price: repo.PackagePrice }>;
}

/**
 * Posts every recurring line due at `nowMs`: for each party (a reseller on its wholesale cycle, a
 * subscriber on its retail cycle), in one transaction per party, the setup fees, months and credits
 * of its assignments that dueLines says are owed. Each line is inserted once by its unique
 * (assignment, side, item, cycle): a second run, a resumed run or two runs at once post nothing twice.
 */
export async function postRecurringCharges(db: Db, opts: RunOptions): Promise<RunResult> {
  const sinceMs = opts.nowMs - HORIZON_DAYS * DAY_MS;
  const assignments = await repo.billableAssignments(db, opts.nowMs, HORIZON_DAYS);
  const work = new Map<string, PartyWork>();
  for (const a of assignments) {
    for (const side of ['wholesale', 'retail'] as const) {
      const s = a[side];
      if (!s) continue;
      const partyId = side === 'wholesale' ? s.party.resellerId : (s.party.subscriberId as number);
      const key = `${side}:${partyId}`;
      let w = work.get(key);
      if (!w) work.set(key, (w = { position: { side, partyId }, party: s.party, items: [] }));
      w.items.push({ assignment: a, price: s.price });
    }
  }
  const parties = [...work.values()].filter((w) => !opts.after || comparePosition(w.position, opts.after) > 0).sort((x, y) => comparePosition(x.position, y.position));
  const result: RunResult = { parties: work.size, posted: 0, notPosted: [] };
  let done = work.size - parties.length;
  // What is posted already is read a chunk of parties at a time; a transaction is opened only for a
  // party that owes something (most hours, none does).
  for (let i = 0; i < parties.length; i += PARTY_CHUNK) {
    const chunk = parties.slice(i, i + PARTY_CHUNK);
    const posted = new Map<BillingSide, Map<number, PostedLine[]>>();
    for (const side of ['wholesale', 'retail'] as const) {
      const ids = chunk.filter((w) => w.position.side === side).flatMap((w) => w.items.map((x) => x.assignment.id));
      posted.set(side, await repo.postedLines(db, side, ids, sinceMs));
    }
    for (const w of chunk) {
      done++;
      if (opts.signal?.aborted) throw opts.signal.reason ?? new Error('stopped');
      const rule: CycleRule = { day: w.party.cycleDay, timeZone: w.party.timeZone };
      const due = w.items.map((x) => ({ ...x, lines: dueLines(termsOf(x.assignment, x.price), rule, opts.nowMs, posted.get(w.position.side)?.get(x.assignment.id) ?? [], sinceMs) }));
      if (!due.some((x) => x.lines.length)) continue;
      await db.transaction(async (tx) => {
        result.posted += await postParty(tx, w.party, due, result.notPosted);
        await opts.afterParty?.(tx, w.position, done, work.size);
      });
    }
  }
  return result;
}

/** Cycles that ended longer ago than this are not looked at again (catch-up after an outage, credits after an end). */
export const HORIZON_DAYS = 100;
const DAY_MS = 86_400_000;
const PARTY_CHUNK = 500;

function termsOf(a: repo.BillableAssignment, price: repo.PackagePrice) {
  return { startsAtMs: a.startsAtMs, endsAtMs: a.endsAtMs, setupFee: price.setupFee, monthlyFee: price.monthlyFee, currency: price.currency };
}

async function postParty(tx: Queryable, party: repo.BillingParty, due: Array<{ assignment: repo.BillableAssignment; price: repo.PackagePrice; lines: DueLine[] }>, notPosted: string[]): Promise<number> {
  const owner: Owner = party.side === 'wholesale' ? OPERATOR : { kind: 'reseller', resellerId: party.resellerId };
  let count = 0;
  for (const { assignment: a, price, lines } of due) {
    // A subscriber's assignment is taxed at its service address on both sides, as its calls are (a
    // reseller has no address: what it holds itself carries no tax).
    const address = a[party.side]?.party.address ?? null;
    for (const line of lines) {
      const taxes = party.taxExempt || !address ? [] : await taxesFor(tx, owner, 'recurring', address, line.atMs);
      const exchangeRate = await rateInForce(tx, price.currency, party.billedCurrency, line.atMs);
      const priced = priceLine({ base: line.base, currency: price.currency, taxes, billedCurrency: party.billedCurrency, exchangeRate });
      if ('reason' in priced) {
        notPosted.push(`assignment ${a.id} ${party.side} ${line.item} ${line.cycle.startDate}: ${priced.reason}`);
        continue;
      }
      const stored = await repo.insertLine(tx, {
        assignmentId: a.id, side: party.side, item: line.item, resellerId: party.resellerId,
        subscriberId: a.subscriberId,
        packageKind: price.kind, packageId: price.packageId, packageName: price.name,
        cycleStartMs: line.cycle.startMs, cycleEndMs: line.cycle.endMs, cycleStartDate: line.cycle.startDate, cycleEndDate: line.cycle.endDate,
        days: line.days, cycleDays: line.cycle.days, fee: fixedText(line.item === 'setup' ? price.setupFee : price.monthlyFee), currency: price.currency,
        amount: fixedText(priced.amount),
        taxes: priced.taxes.map((t) => {
          const f = taxLineFigures(t);
          return { tax_id: t.taxId, name: t.name, basis: t.basis, rate: t.rate.toString(), taxable: f ? formatScaled(f.taxable, f.scale) : t.taxable.toString(), amount: f ? formatScaled(f.amount, f.scale) : t.amount.toString() };
        }),
        taxAmount: fixedText(priced.taxAmount), total: fixedText(priced.total), billedCurrency: priced.billedCurrency,
        exchangeRate: priced.exchangeRate.toString(), billedTotal: fixedText(priced.billedTotal), chargedAtMs: line.atMs,
      });
      if (stored) count++;
    }
  }
  return count;
}

// ---- Account status: a party's cycle, usage, recurring charges, taxes and totals ----

/** Whose account: a subscriber's retail account, or a reseller's wholesale account with the operator. */
export type AccountTarget = { kind: 'subscriber'; subscriberId: number; resellerId?: number } | { kind: 'reseller'; resellerId: number };

/** A figure in one currency pair: usage or recurring, or both summed. */
export interface MoneyRow {
  currency: string;
  billedCurrency: string;
  count: number;
  amount: string;
  taxAmount: string;
  total: string;
  billedTotal: string;
}

export interface CycleFigures {
  cycle: Cycle;
  usage: UsageTotals;
  recurring: repo.RecurringTotal[];
  /** Usage and recurring billed totals, per billed currency. */
  totals: Array<{ billedCurrency: string; usage: string; recurring: string; total: string }>;
}

export interface AccountStatus {
  party: repo.BillingParty;
  /** Charges are the operator's to compute (false: the reseller bills its subscribers itself; usage only). */
  charged: boolean;
  current: Cycle;
  /** The cycle shown (the current one unless another was asked for). */
  shown: CycleFigures;
  lines: repo.RecurringLine[];
  /** Cycles before the current one, latest first (at most PAST_CYCLES, none before the party existed). */
  past: CycleFigures[];
}

export const PAST_CYCLES = 12;

/** The party whose account the scope may open; NotFoundError otherwise (another tenant's, or a mismatched pair). */
async function partyFor(db: Db, scope: Scope, target: AccountTarget): Promise<repo.BillingParty> {
  if (target.kind === 'subscriber') {
    const sub = await getSubscriber(db, scope, target.subscriberId);
    if (target.resellerId !== undefined && sub.resellerId !== target.resellerId) throw new NotFoundError();
    const party = await repo.subscriberParty(db, sub.resellerId, sub.id);
    if (!party) throw new NotFoundError();
    return party;
  }
  if (scope.kind === 'subscriber') throw new NotFoundError();
  const reseller = await getReseller(db, scope, target.resellerId);
  const party = await repo.resellerParty(db, reseller.id);
  if (!party) throw new NotFoundError();
  return party;
}

function sumBy<T>(rows: T[], key: (r: T) => string, value: (r: T) => string): Map<string, Decimal> {
  const m = new Map<string, Decimal>();
  for (const r of rows) m.set(key(r), (m.get(key(r)) ?? new Decimal(0)).plus(value(r)));
  return m;
}

function figures(cycle: Cycle, usage: UsageTotals, recurring: repo.RecurringTotal[], charged: boolean): CycleFigures {
  const u = charged ? usage : { ...usage, charges: [] as UsageChargeTotal[] };
  const r = charged ? recurring : [];
  const usageBy = sumBy(u.charges, (x) => x.billedCurrency, (x) => x.billedTotal);
  const recurringBy = sumBy(r, (x) => x.billedCurrency, (x) => x.billedTotal);
  const currencies = [...new Set([...usageBy.keys(), ...recurringBy.keys()])].sort();
  const zero = new Decimal(0);
  const totals = currencies.map((c) => {
    const a = usageBy.get(c) ?? zero;
    const b = recurringBy.get(c) ?? zero;
    return { billedCurrency: c, usage: a.toFixed(), recurring: b.toFixed(), total: a.plus(b).toFixed() };
  });
  return { cycle, usage: u, recurring: r, totals };
}

/**
 * A party's account status at `nowMs`: the current cycle (or the one starting on `cycleDate`, a
 * local date of the party's zone, for a past cycle's view) with its usage, the recurring lines
 * posted for it, their taxes and the total so far; and the past cycles' totals, latest first.
 */
export async function accountStatus(db: Db, scope: Scope, target: AccountTarget, opts: { nowMs?: number; cycleDate?: string } = {}): Promise<AccountStatus> {
  const party = await partyFor(db, scope, target);
  const nowMs = opts.nowMs ?? Date.now();
  const rule: CycleRule = { day: party.cycleDay, timeZone: party.timeZone };
  const current = cycleAt(nowMs, rule);
  let shownCycle = current;
  if (opts.cycleDate) {
    try {
      shownCycle = cycleStartingOn(opts.cycleDate, rule);
    } catch {
      throw new NotFoundError();
    }
    if (shownCycle.startMs > current.startMs) throw new NotFoundError();
  }
  const past: Cycle[] = [];
  const firstMs = cycleAt(party.createdAt.getTime(), rule).startMs;
  for (let c = previousCycle(current, rule); past.length < PAST_CYCLES && c.startMs >= firstMs; c = previousCycle(c, rule)) past.push(c);

  const cycles = [shownCycle, ...past];
  const usageParty: UsageParty = party.side === 'wholesale' ? { kind: 'reseller', resellerId: party.resellerId } : { kind: 'subscriber', resellerId: party.resellerId, subscriberId: party.subscriberId as number };
  const periods = cycles.map((c) => ({ fromMs: c.startMs, toMs: c.endMs }));
  const charged = party.side === 'wholesale' || party.billingService;
  const [usage, recurring, lines] = await Promise.all([
    usageByPeriod(db, usageParty, periods),
    repo.recurringByPeriod(db, party, periods),
    charged ? repo.linesIn(db, party, shownCycle.startMs, shownCycle.endMs) : Promise.resolve([]),
  ]);
  const all = cycles.map((c, i) => figures(c, usage[i] as UsageTotals, recurring[i] as repo.RecurringTotal[], charged));
  return { party, charged, current, shown: all[0] as CycleFigures, lines, past: all.slice(1) };
}

/** The current cycle of a party, for the forms and pages that show it beside the cycle day. */
export async function currentCycleOf(db: Db, target: { resellerId: number; subscriberId?: number }, nowMs = Date.now()): Promise<{ party: repo.BillingParty; cycle: Cycle } | undefined> {
  const party = target.subscriberId === undefined ? await repo.resellerParty(db, target.resellerId) : await repo.subscriberParty(db, target.resellerId, target.subscriberId);
  if (!party) return undefined;
  return { party, cycle: cycleAt(nowMs, { day: party.cycleDay, timeZone: party.timeZone }) };
}
