import { once } from 'node:events';
import type { Writable } from 'node:stream';
import type { Db } from '../../db/knex';
import type { Page } from '../../db/paging';
import { BadRequestError, NotFoundError } from '../../domain/errors';
import { readNumberSearch } from '../../domain/numbers/search';
import type { Direction } from '../../domain/legs/direction';
import type { Actor } from '../../domain/tenancy/actor';
import type { Scope } from '../../domain/tenancy/roles';
import { countSelectedLegs, type LegSelection, type StoredLegStatus } from '../ledger/ledger.repository';
import { rerateLegs, type RerateOutcome, type RerateTarget } from '../rating/rerate.service';
import { enqueueJob, type JobKinds } from '../jobs/jobs.service';
import type { ReratePayload } from './rerate.jobs';
import type { RatingCaches } from '../reference-data/reference-data';
import { csvWriter } from '../csv/csv-writer';
import * as reads from '../ledger/ledger.reads';
import * as repo from './calls.repository';
import { getOrThrow as getSubscriber } from '../subscribers/subscribers.service';
import type { CallListQuery, CallSort, UnratedListQuery } from './calls.schemas';
import { addDays } from '../../domain/time/zones';
import { dateMs, displayAmount, isoDate, isZeroAmount, minutesSeconds } from './format';

/** Default periods: the call lists show the last 7 days, the unrated lists the last 30. */
export const CALLS_DEFAULT_DAYS = 7;
export const UNRATED_DEFAULT_DAYS = 30;

/** A filter as the page shows it and puts in its links: text only. */
export type FilterView = Record<string, string | undefined>;

interface Period {
  from: string;
  to: string;
  fromMs: number;
  /** Exclusive: midnight after the `to` date. */
  toMs: number;
}

/**
 * The period of a filter, both dates inclusive, as local days of the viewer's time zone (a
 * reseller in New York filtering 2026-12-07 gets that day from its midnight EST); missing dates
 * default to the last `days` days.
 */
export function periodOf(q: { from?: string; to?: string }, days: number, timeZone = 'UTC', nowMs = Date.now()): Period {
  const to = q.to ?? isoDate(nowMs, timeZone);
  const from = q.from ?? addDays(to, -days);
  return { from, to, fromMs: dateMs(from, timeZone), toMs: dateMs(addDays(to, 1), timeZone) };
}

const idOf = (v: string | undefined) => (v ? Number(v) : undefined);

/** What a calls-page filter selects, how it reads back in links, and what could not be read. */
export interface CallSelection {
  selection: LegSelection;
  view: FilterView;
  /** The column ordered by (the start time by default) and which way: newest first, by default. */
  sort: reads.CallSortKey;
  order: 'desc' | 'asc';
  /** By field: text that cannot be read (a number that is no number). The page shows no calls then, never all. */
  errors: Record<string, string>;
}

/**
 * The legs a calls-page filter selects. Subscriber for staff (a reseller's scope keeps it to its
 * own); reseller, platform and carrier for operator staff only. `callingCode` reads national
 * numbers typed in the number search (the party's country: a subscriber's own).
 */
export function callSelection(scope: Scope, q: Omit<CallListQuery, 'cursor'>, timeZone = 'UTC', nowMs = Date.now(), callingCode?: string): CallSelection {
  const p = periodOf(q, CALLS_DEFAULT_DAYS, timeZone, nowMs);
  const sort = callSortOf(scope, q.sort);
  const operator = scope.kind === 'wholesale';
  const staff = scope.kind !== 'subscriber';
  const errors: Record<string, string> = {};
  let number: string | string[] | undefined;
  if (q.q) {
    const n = readNumberSearch(q.q, callingCode);
    // One form: plain text, as re-rating's audit rows and job payloads have always recorded it.
    if (n.ok) number = n.digits.length === 1 ? n.digits[0] : n.digits;
    else errors.q = n.message;
  }
  const selection: LegSelection = {
    fromMs: p.fromMs,
    toMs: p.toMs,
    number,
    direction: q.direction as Direction | undefined,
    statuses: q.status ? [q.status] : undefined,
    answered: q.answered === 'yes' ? true : q.answered === 'no' ? false : undefined,
    subscriberId: staff ? idOf(q.subscriber) : undefined,
    resellerId: operator ? idOf(q.reseller) : undefined,
    platformId: operator ? idOf(q.platform) : undefined,
    carrier: operator && q.carrier ? q.carrier : undefined,
  };
  const view: FilterView = {
    from: p.from, to: p.to, q: q.q, direction: q.direction, status: q.status, answered: q.answered,
    subscriber: staff ? q.subscriber : undefined,
    reseller: operator ? q.reseller : undefined, platform: operator ? q.platform : undefined, carrier: operator && q.carrier ? q.carrier : undefined,
    sort: sort.text === '-start' ? undefined : sort.text,
  };
  return { selection, view, sort: sort.by, order: sort.order, errors };
}

/**
 * The order a calls page asks for ("-x": x descending), as the reads take it; the default (newest
 * first) for none, and for the wholesale charge in a subscriber's scope, which never reads it.
 */
export function callSortOf(scope: Scope, sort: CallSort | undefined): { text: CallSort; by: reads.CallSortKey; order: 'asc' | 'desc' } {
  const text: CallSort = !sort || (scope.kind === 'subscriber' && sort.endsWith('wholesale')) ? '-start' : sort;
  return { text, by: text.replace(/^-/, '') as reads.CallSortKey, order: text.startsWith('-') ? 'desc' : 'asc' };
}

/** The legs an unrated-page filter selects: unrated and blocked ones only. */
export function unratedSelection(scope: Scope, q: Omit<UnratedListQuery, 'cursor'>, timeZone = 'UTC', nowMs = Date.now()): { selection: LegSelection; view: FilterView } {
  const p = periodOf(q, UNRATED_DEFAULT_DAYS, timeZone, nowMs);
  const operator = scope.kind === 'wholesale';
  const selection: LegSelection = {
    fromMs: p.fromMs,
    toMs: p.toMs,
    statuses: q.status ? [q.status] : ['partial', 'unrated', 'blocked'],
    reason: q.reason,
    // Platforms are the operator's: a reseller neither filters by them nor learns their names.
    platformId: operator ? idOf(q.platform) : undefined,
    resellerId: operator ? idOf(q.reseller) : undefined,
  };
  const view: FilterView = { from: p.from, to: p.to, reason: q.reason, status: q.status, platform: operator ? q.platform : undefined, reseller: operator ? q.reseller : undefined };
  return { selection, view };
}

// ---------------------------------------------------------------------------------------------
// What the pages show: formatted text, so that templates only print

export interface MoneyView {
  /** Total in the billed currency, as stored less trailing zeros. */
  total: string;
  currency: string;
  /** The tax included, in the plan's currency; null when there is none. */
  tax: string | null;
}

export interface CallView {
  id: number;
  startAt: Date;
  calling: string;
  called: string;
  direction: string;
  duration: string;
  status: StoredLegStatus;
  reason: string | null;
  subscriberId: number | null;
  account: string | null;
  subscriberName: string | null;
  resellerId: number | null;
  resellerName: string | null;
  platformName: string;
  wholesale: MoneyView | null;
  retail: MoneyView | null;
  /** What a subscriber reads in the cost column. */
  retailText: string;
  /** Seconds of the retail charge a toll package covered, as m:ss; null when none or not known (see coveredSecondsColumn). */
  packageTime: string | null;
  /** Reached only as who received it: the subscriber is the callee, the charges only the scope's own. */
  received: boolean;
}

function money(c: reads.ChargeSummary | null): MoneyView | null {
  if (!c) return null;
  return { total: displayAmount(c.billedTotal), currency: c.billedCurrency, tax: isZeroAmount(c.taxAmount) ? null : `${displayAmount(c.taxAmount)} ${c.currency}` };
}

function subscriberCost(row: reads.CallRow): string {
  // A call received and paid by someone else: what the callee paid, which is usually nothing.
  if (row.received) return row.retail ? `${displayAmount(row.retail.billedTotal)} ${row.retail.billedCurrency}` : 'nothing';
  if (row.status === 'blocked') return 'blocked';
  if (row.status === 'unrated' || (row.status === 'partial' && !row.retail)) return 'not rated yet';
  return row.retail ? `${displayAmount(row.retail.billedTotal)} ${row.retail.billedCurrency}` : '—';
}

export function presentCall(row: reads.CallRow): CallView {
  return {
    id: row.id,
    startAt: row.startAt,
    calling: row.callingNumber ?? (row.rawCalling || 'anonymous'),
    called: row.calledNumber ?? row.rawCalled,
    direction: row.direction ?? '—',
    duration: minutesSeconds(row.billableSeconds),
    status: row.status,
    reason: row.reason,
    subscriberId: row.subscriberId,
    account: row.accountNumber,
    subscriberName: row.subscriberName,
    resellerId: row.resellerId,
    resellerName: row.resellerName,
    platformName: row.platformName,
    wholesale: money(row.wholesale),
    retail: money(row.retail),
    retailText: subscriberCost(row),
    packageTime: row.retail?.coveredSeconds ? minutesSeconds(row.retail.coveredSeconds) : null,
    received: row.received,
  };
}

function presentPage(page: Page<reads.CallRow>): Page<CallView> {
  return { rows: page.rows.map(presentCall), nextCursor: page.nextCursor };
}

export interface TotalsView {
  calls: number;
  /** Billable minutes, one decimal ("1,234.5"). */
  minutes: string;
  /** Package time of the retail charges as m:ss; null while charges do not record it. */
  packageTime: string | null;
  money: Array<{ kind: 'wholesale' | 'retail'; label: string; total: string; currency: string }>;
}

export function presentTotals(t: reads.CallTotals, scope: Scope): TotalsView {
  return {
    calls: t.calls,
    minutes: (t.billableSeconds / 60).toLocaleString('en-US', { minimumFractionDigits: 1, maximumFractionDigits: 1 }),
    packageTime: t.coveredSeconds === null ? null : minutesSeconds(t.coveredSeconds),
    money: t.money.map((m) => ({
      kind: m.kind,
      label: scope.kind === 'subscriber' ? 'Cost' : m.kind === 'wholesale' ? 'Wholesale cost' : 'Retail price',
      total: displayAmount(m.total),
      currency: m.currency,
    })),
  };
}

/**
 * One page of a calls list with the totals of its whole filter (SQL sums, not the page's), the
 * filter as links carry it, and the fields that could not be read (then no calls at all).
 */
export async function listCalls(db: Db, scope: Scope, q: CallListQuery, timeZone = 'UTC', callingCode?: string) {
  const { selection, view, sort, order, errors } = callSelection(scope, q, timeZone, Date.now(), callingCode);
  const filter = { ...view, cursor: q.cursor };
  const covered = await reads.coveredSecondsColumn(db);
  if (Object.keys(errors).length) return { page: { rows: [] } as Page<CallView>, totals: null, errors, filter, covered };
  const [page, totals] = await Promise.all([reads.listCalls(db, scope, { ...selection, cursor: q.cursor, sort, order }), reads.callTotals(db, scope, selection)]);
  return { page: presentPage(page), totals: presentTotals(totals, scope), errors, filter, covered };
}

/** A subscriber's last calls, for its home page. */
export async function recentCalls(db: Db, scope: Scope, n = 5): Promise<CallView[]> {
  return (await reads.listCalls(db, scope, { limit: n })).rows.map(presentCall);
}

/** Options of the filter menus, and the name of the subscriber filtered by (staff; another tenant's is not named). */
export async function filterOptions(db: Db, scope: Scope, subscriber?: string) {
  const operator = scope.kind === 'wholesale';
  const [resellers, platforms, carriers, sub] = await Promise.all([
    repo.resellerOptions(db, scope),
    operator ? repo.platformOptions(db) : Promise.resolve([]),
    operator ? repo.carrierOptions(db) : Promise.resolve([]),
    subscriber && scope.kind !== 'subscriber' ? getSubscriber(db, scope, Number(subscriber)).catch(() => undefined) : Promise.resolve(undefined),
  ]);
  return { resellers, platforms, carriers, subscriber: sub ? { value: String(sub.id), label: `${sub.accountNumber} · ${sub.name}` } : subscriber ? { value: subscriber, label: `#${subscriber}` } : null };
}

export interface ChargeView {
  kind: 'wholesale' | 'retail' | 'carrier_cost';
  planId: number;
  planName: string;
  planRevision: number;
  direction: string;
  prefix: string;
  description: string;
  rateEffectiveFrom: Date;
  billableSeconds: number;
  chargedSeconds: number;
  duration: string;
  chargedDuration: string;
  pieces: Array<{ band: string; step: number; from: number; seconds: number; rate: string; rateUnit: number; amount: string }>;
  currency: string;
  connectFee: string;
  usage: string;
  amount: string;
  taxes: Array<{ name: string; basis: string; rate: string; taxable: string; amount: string }>;
  taxAmount: string;
  total: string;
  exchangeRate: string;
  converted: boolean;
  billedCurrency: string;
  billedTotal: string;
  ratedAt: Date;
}

function presentCharge(c: reads.ChargeDetail): ChargeView {
  return {
    kind: c.kind,
    planId: c.planId,
    planName: c.planName ?? `plan ${c.planId}`,
    planRevision: c.planRevision,
    direction: c.direction,
    prefix: c.prefix,
    description: c.description,
    rateEffectiveFrom: c.rateEffectiveFrom,
    billableSeconds: c.billableSeconds,
    chargedSeconds: c.chargedSeconds,
    duration: minutesSeconds(c.billableSeconds),
    chargedDuration: minutesSeconds(c.chargedSeconds),
    pieces: c.pieces.map((p) => ({ band: p.band ?? 'any time', step: p.step + 1, from: p.from, seconds: p.seconds, rate: displayAmount(p.rate), rateUnit: p.rate_unit, amount: displayAmount(p.amount) })),
    currency: c.currency,
    connectFee: displayAmount(c.connectFee),
    usage: displayAmount(c.usage),
    amount: displayAmount(c.amount),
    taxes: c.taxes.map((t) => ({ name: t.name, basis: t.basis, rate: t.basis === 'percent' ? `${displayAmount(t.rate).replace(/\.?0+$/, '')} %` : `${displayAmount(t.rate)} ${c.currency}`, taxable: displayAmount(t.taxable), amount: displayAmount(t.amount) })),
    taxAmount: displayAmount(c.taxAmount),
    total: displayAmount(c.total),
    exchangeRate: c.exchangeRate.replace(/(\.\d*?[1-9])0+$|\.0+$/, '$1'),
    converted: c.currency !== c.billedCurrency,
    billedCurrency: c.billedCurrency,
    billedTotal: displayAmount(c.billedTotal),
    ratedAt: c.ratedAt,
  };
}

/** One leg with its charges (and, for operator staff, the record it came from). Another tenant's leg is not found. */
export async function callDetails(db: Db, scope: Scope, id: number) {
  const found = await reads.getCallWithCharges(db, scope, id);
  if (!found) throw new NotFoundError();
  const { leg, charges } = found;
  const cdr = await reads.getCdr(db, scope, leg.cdrId);
  return { leg, view: presentCall(leg), charges: charges.map(presentCharge), cdr: cdr ?? null };
}

// ---------------------------------------------------------------------------------------------
// CSV export: streamed page by page (keyset), constant memory; amounts exactly as stored

const CHARGE_CSV = ['billed_total', 'billed_currency', 'amount', 'tax', 'total', 'currency', 'exchange_rate'] as const;

function chargeCells(prefix: string, c: reads.ChargeSummary | null): Record<string, string> {
  const v: Record<(typeof CHARGE_CSV)[number], string> = c
    ? { billed_total: c.billedTotal, billed_currency: c.billedCurrency, amount: c.amount, tax: c.taxAmount, total: c.total, currency: c.currency, exchange_rate: c.exchangeRate }
    : { billed_total: '', billed_currency: '', amount: '', tax: '', total: '', currency: '', exchange_rate: '' };
  return Object.fromEntries(CHARGE_CSV.map((k) => [`${prefix}_${k}`, v[k]]));
}

/** `covered`: charges record package seconds (coveredSecondsColumn), a column of their own then. */
export function csvColumns(scope: Scope, covered = false): string[] {
  const operator = scope.kind === 'wholesale';
  const packageColumn = covered ? ['retail_package_seconds'] : [];
  // A subscriber's own calls: no wholesale charge, no reason text meant for its reseller's staff.
  if (scope.kind === 'subscriber') {
    return [
      'leg_id', 'call_id', 'start_utc', 'answer_utc', 'end_utc', 'calling_number', 'called_number', 'direction', 'billable_seconds', 'disposition', 'status',
      ...CHARGE_CSV.map((k) => `retail_${k}`), ...packageColumn,
    ];
  }
  return [
    'leg_id', ...(operator ? ['platform', 'reseller_code', 'reseller_name'] : []), 'call_id', 'start_utc', 'answer_utc', 'end_utc', 'calling_number', 'called_number',
    'direction', 'billable_seconds', 'disposition', 'switch_cause', 'status', 'unrated_reason', 'subscriber_account', 'subscriber_name',
    ...CHARGE_CSV.map((k) => `wholesale_${k}`), ...CHARGE_CSV.map((k) => `retail_${k}`), ...packageColumn,
  ];
}

const isoOrEmpty = (d: Date | null) => (d ? new Date(d).toISOString() : '');

function csvRecord(row: reads.CallRow): Record<string, string | number> {
  return {
    leg_id: row.id,
    platform: row.platformName,
    reseller_code: row.resellerCode ?? '',
    reseller_name: row.resellerName ?? '',
    call_id: row.callId,
    start_utc: isoOrEmpty(row.startAt),
    answer_utc: isoOrEmpty(row.answerAt),
    end_utc: isoOrEmpty(row.endAt),
    calling_number: row.callingNumber ?? row.rawCalling,
    called_number: row.calledNumber ?? row.rawCalled,
    direction: row.direction ?? '',
    billable_seconds: row.billableSeconds,
    disposition: row.disposition,
    switch_cause: row.switchCause ?? '',
    // A call received and paid by someone else: its rating status is the payer's business.
    status: row.received ? 'received' : row.status,
    unrated_reason: row.reason ?? '',
    subscriber_account: row.accountNumber ?? '',
    subscriber_name: row.subscriberName ?? '',
    ...chargeCells('wholesale', row.wholesale),
    ...chargeCells('retail', row.retail),
    retail_package_seconds: row.retail?.coveredSeconds ?? '',
  };
}

export const CSV_PAGE_SIZE = 1000;

/**
 * Writes the calls of a filter as CSV to `out` (the same calls as the scope's calls page: a
 * subscriber's made, paid for and received), one keyset page at a time, waiting for the reader
 * when it falls behind. Stops early when `out` is closed (the browser went away).
 */
export async function exportCallsCsv(db: Db, scope: Scope, q: Omit<CallListQuery, 'cursor'>, out: Writable, opts: { pageSize?: number; timeZone?: string; callingCode?: string } = {}): Promise<number> {
  const { selection, sort, order, errors } = callSelection(scope, q, opts.timeZone, Date.now(), opts.callingCode);
  // Never "every call" for a filter that could not be read (the route says so before any header).
  if (errors.q) throw new BadRequestError(errors.q);
  const csv = csvWriter(csvColumns(scope, await reads.coveredSecondsColumn(db)));
  csv.pipe(out);
  let closed = false;
  out.once('close', () => (closed = true));
  /** Until the reader has taken what is buffered, or has gone away. */
  const drained = async () => {
    const ac = new AbortController();
    try {
      await Promise.race([once(csv, 'drain', { signal: ac.signal }), once(out, 'close', { signal: ac.signal })]);
    } finally {
      ac.abort();
    }
  };
  let cursor: string | undefined;
  let n = 0;
  try {
    do {
      const page = await reads.listCalls(db, scope, { ...selection, cursor, sort, order, limit: opts.pageSize ?? CSV_PAGE_SIZE });
      for (const row of page.rows) {
        if (closed) break;
        n++;
        if (!csv.write(csvRecord(row)) && !closed) await drained();
      }
      cursor = page.nextCursor;
    } while (cursor && !closed);
  } catch (err) {
    // Never end a failed export as if it were complete: the caller cuts the response short.
    csv.unpipe(out);
    csv.destroy();
    throw err;
  }
  csv.end();
  return n;
}

// ---------------------------------------------------------------------------------------------
// Unrated legs and re-rating

export async function unratedPage(db: Db, scope: Scope, q: UnratedListQuery, timeZone = 'UTC') {
  const { selection, view } = unratedSelection(scope, q, timeZone);
  const [page, reasons] = await Promise.all([reads.listCalls(db, scope, { ...selection, cursor: q.cursor, paidOnly: true }), reads.reasonCounts(db, scope, selection)]);
  return { page: presentPage(page), reasons, filter: { ...view, cursor: q.cursor } };
}

/** The flash message after a re-rate. */
export function outcomeMessage(o: RerateOutcome): string {
  if (o.total === 0) return 'No calls matched: nothing was re-rated.';
  const notRated = o.partial + o.unrated + o.blocked;
  const head = `Re-rated ${o.total} call${o.total === 1 ? '' : 's'}: ${o.rated} rated`;
  // Later calls of a billing cycle whose toll package allowances were re-allocated (rerateLegs).
  const extended = o.extended
    ? ` ${o.extended} of them ${o.extended === 1 ? 'was' : 'were'} outside the selection: later calls of the same billing cycle, re-rated so that toll package allowances stay in call order.`
    : '';
  if (notRated === 0) return `${head}.${extended}`;
  const parts = [o.partial ? `${o.partial} partly rated` : '', o.unrated ? `${o.unrated} still unrated` : '', o.blocked ? `${o.blocked} blocked` : ''].filter(Boolean).join(', ');
  const why = o.reasons.slice(0, 5).map((r) => `${r.reason} (${r.count})`).join('; ');
  return `${head}, ${parts}${why ? ` — ${why}` : ''}${o.reasons.length > 5 ? '; …' : ''}.${extended}`;
}

/** How many legs a re-rating by filter would take (for the page that asks first). */
export async function countSelection(db: Db, scope: Scope, selection: LegSelection): Promise<number> {
  return countSelectedLegs(db, scope, selection);
}

/** A filter in words, for the page that asks before re-rating: "2026-12-01 to 2026-12-07 (days in UTC), status unrated". */
export async function describeFilter(db: Db, scope: Scope, view: FilterView, timeZone: string): Promise<string> {
  const options = await filterOptions(db, scope);
  const label = (list: Array<{ value: string; label: string }>, v: string) => list.find((o) => o.value === v)?.label ?? `#${v}`;
  const parts = [`${view.from} to ${view.to} (days in ${timeZone})`];
  if (view.q) parts.push(`number ${view.q}`);
  if (view.direction) parts.push(`direction ${view.direction}`);
  if (view.status) parts.push(`status ${view.status}`);
  if (view.answered) parts.push(view.answered === 'yes' ? 'answered' : 'unanswered');
  if (view.subscriber) parts.push(`subscriber #${view.subscriber}`);
  if (view.carrier) parts.push(`carrier ${view.carrier}`);
  if (view.reason) parts.push(`reason containing "${view.reason}"`);
  if (view.reseller) parts.push(`reseller ${label(options.resellers, view.reseller)}`);
  if (view.platform) parts.push(`platform ${label(options.platforms, view.platform)}`);
  return parts.join(', ');
}

export async function rerate(db: Db, caches: RatingCaches, actor: Actor, scope: Scope, target: RerateTarget): Promise<RerateOutcome> {
  return rerateLegs(db, caches, scope, target, { actor });
}

/** Above this many legs a re-rating by filter runs as a background job with a progress page. */
export const INLINE_RERATE_MAX = 2000;

/** The job kind of a re-rating by selection (see rerate.jobs.ts). */
export const RERATE_JOB = 'rerate';

/**
 * Re-rates a selection: small ones within the request (the answer says how it went), large ones
 * (a period after a rate correction) as a durable job whose page shows progress and, at the end,
 * the same message. Ticked calls are at most MAX_RERATE_IDS and always run within the request.
 */
export async function rerateOrStart(
  db: Db,
  caches: RatingCaches,
  jobs: JobKinds,
  actor: Actor,
  scope: Scope,
  target: RerateTarget,
  returnTo: string,
  opts: { inlineMax?: number; batchSize?: number } = {},
): Promise<{ outcome: RerateOutcome } | { jobId: number }> {
  if ('ids' in target) return { outcome: await rerate(db, caches, actor, scope, target) };
  const total = await countSelectedLegs(db, scope, target.filter);
  if (total <= (opts.inlineMax ?? INLINE_RERATE_MAX)) return { outcome: await rerate(db, caches, actor, scope, target) };
  if (scope.kind === 'subscriber') throw new NotFoundError();
  const payload: ReratePayload = {
    scope: scope.kind === 'wholesale' ? { kind: 'wholesale' } : { kind: 'reseller', resellerId: scope.resellerId },
    actor: { userId: actor.userId, email: actor.email, role: actor.role },
    selection: target.filter,
    ...(opts.batchSize ? { batchSize: opts.batchSize } : {}),
  };
  const jobId = await enqueueJob(db, jobs, actor, { kind: RERATE_JOB, title: `Re-rating ${total} calls`, total, returnTo, payload });
  return { jobId };
}
