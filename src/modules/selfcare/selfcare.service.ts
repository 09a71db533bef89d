/**
 * The subscriber's self-care views (its calls, rates and numbers), and the same views opened by
 * its reseller's staff and by operator staff. Each view is a section with a service function of
 * its own (callsSection, ratesSection, numbersSection) and a tab (views/selfcare/_tabs.ejs): the
 * other parts of issue 11 add theirs (packages, account status) the same way. Reads go through the owning
 * modules' services; nothing here queries a table.
 */
import type { Writable } from 'node:stream';
import type { Db } from '../../db/knex';
import { decodeCursor, encodeCursor } from '../../db/paging';
import { NotFoundError } from '../../domain/errors';
import { fixedText, type Fixed } from '../../domain/money/fixed';
import { normaliseE164 } from '../../domain/numbers/e164';
import { listRates, type DeckDirection } from '../../domain/rating/rate-list';
import type { CompiledRate, CompiledVersion } from '../../domain/rating/plan';
import type { Scope } from '../../domain/tenancy/roles';
import * as calls from '../calls/calls.service';
import type { CallListQuery } from '../calls/calls.schemas';
import { displayAmount } from '../calls/format';
import type { PlanCache } from '../rate-plans/plan-cache';
import { getOrThrow as getReseller } from '../resellers/resellers.service';
import { callingCodeFor, details, getOrThrow as getSubscriber } from '../subscribers/subscribers.service';
import type { RatesQuery } from './selfcare.schemas';

/** A subscriber as one of its views shows it, reached by the viewer's own scope. */
export interface SubscriberView {
  subscriber: Awaited<ReturnType<typeof getSubscriber>>;
  reseller: Awaited<ReturnType<typeof getReseller>>;
  /** The subscriber's own scope: staff see exactly what the subscriber sees. */
  scope: Scope;
  /** Reads national numbers typed in searches: the subscriber's country's calling code. */
  callingCode: string | undefined;
  /** Where its views live: /me, /reseller/subscribers/7, /wholesale/resellers/3/subscribers/7. */
  base: string;
  /** Staff looking at someone's views (headings name the subscriber; rows link to the staff call page). */
  staff: boolean;
  /** The staff call page of a leg (base + /:legId), or null for the subscriber itself. */
  callBase: string | null;
}

/**
 * Opens a subscriber's views for a viewer: the subscriber itself, its reseller's people, or
 * operator staff (under the reseller named in the path). Another tenant's subscriber is not found.
 */
export async function openSubscriber(db: Db, viewer: Scope, subscriberId: number, opts: { resellerId?: number } = {}): Promise<SubscriberView> {
  if (viewer.kind === 'subscriber' && viewer.subscriberId !== subscriberId) throw new NotFoundError();
  const subscriber = await getSubscriber(db, viewer, subscriberId);
  if (opts.resellerId !== undefined && subscriber.resellerId !== opts.resellerId) throw new NotFoundError();
  const reseller = await getReseller(db, { kind: 'wholesale' }, subscriber.resellerId);
  const base =
    viewer.kind === 'subscriber' ? '/me' : viewer.kind === 'reseller' ? `/reseller/subscribers/${subscriber.id}` : `/wholesale/resellers/${reseller.id}/subscribers/${subscriber.id}`;
  return {
    subscriber,
    reseller,
    scope: { kind: 'subscriber', resellerId: subscriber.resellerId, subscriberId: subscriber.id },
    callingCode: callingCodeFor(subscriber.country),
    base,
    staff: viewer.kind !== 'subscriber',
    callBase: viewer.kind === 'subscriber' ? null : `/${viewer.kind === 'reseller' ? 'reseller' : 'wholesale'}/calls`,
  };
}

// ---- Calls -------------------------------------------------------------------------------------

/** The calls section: a page of the subscriber's calls with the totals of the filter. */
export async function callsSection(db: Db, sv: SubscriberView, q: CallListQuery, timeZone: string) {
  return calls.listCalls(db, sv.scope, q, timeZone, sv.callingCode);
}

/** Checks a CSV filter before any header goes out: the field that cannot be read, if any. */
export function callsCsvError(sv: SubscriberView, q: CallListQuery, timeZone: string): string | undefined {
  return calls.callSelection(sv.scope, q, timeZone, Date.now(), sv.callingCode).errors.q;
}

export function callsCsvName(sv: SubscriberView, q: CallListQuery, timeZone: string): string {
  const { view } = calls.callSelection(sv.scope, q, timeZone, Date.now(), sv.callingCode);
  return `calls-${sv.subscriber.accountNumber.replace(/[^\w.-]/g, '_')}-${view.from}-to-${view.to}.csv`;
}

/** The subscriber's calls of a filter as CSV, streamed: exactly the rows of the calls section. */
export async function exportCalls(db: Db, sv: SubscriberView, q: CallListQuery, out: Writable, timeZone: string): Promise<number> {
  return calls.exportCallsCsv(db, sv.scope, q, out, { timeZone, callingCode: sv.callingCode });
}

// ---- Rates -------------------------------------------------------------------------------------

export const RATES_PAGE_SIZE = 50;

export interface RateBandView {
  band: string;
  /** Each step in words: "0.09 per min, billed per 60 s", "after 30 s: 0.05 per min, billed per 6 s". */
  steps: string[];
  connectFee: string | null;
  minCharge: string | null;
  maxCost: string | null;
}

export interface RateView {
  prefix: string;
  direction: DeckDirection;
  description: string;
  effectiveFrom: Date;
  bands: RateBandView[];
}

const amount = (f: Fixed) => displayAmount(fixedText(f));
const isZero = (f: Fixed) => f.coef === 0n;
const per = (unit: number) => (unit === 60 ? 'min' : unit === 1 ? 's' : `${unit} s`);

function presentBand(r: CompiledRate): RateBandView {
  return {
    band: r.band ?? 'any time',
    steps: r.steps.map((s) => `${s.from > 0 ? `after ${s.from} s: ` : ''}${amount(s.rate)} per ${per(s.rateUnit)}, billed per ${s.increment} s`),
    connectFee: isZero(r.connectFee) ? null : amount(r.connectFee),
    minCharge: r.minCharge ? amount(r.minCharge) : null,
    maxCost: r.maxCost ? amount(r.maxCost) : null,
  };
}

function presentRate(v: CompiledVersion): RateView {
  return { prefix: v.prefix, direction: v.direction, description: v.rates[0]?.description ?? '', effectiveFrom: new Date(v.effectiveFrom), bands: v.rates.map(presentBand) };
}

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const clock = (ms: number) => `${String(Math.floor(ms / 3_600_000)).padStart(2, '0')}:${String(Math.floor((ms % 3_600_000) / 60_000)).padStart(2, '0')}`;

/** The plan's time bands in words: which band starts when, on which days (or dates), in the plan's zone. */
export function bandRows(byWeekday: Array<Array<{ startMs: number; band: string }>>, byDate: Map<string, Array<{ startMs: number; band: string }>>): Array<{ days: string; from: string; band: string }> {
  const grouped = new Map<string, { days: number[]; startMs: number; band: string }>();
  byWeekday.forEach((starts, day) => {
    for (const s of starts) {
      const key = `${s.startMs}|${s.band}`;
      const g = grouped.get(key) ?? { days: [], startMs: s.startMs, band: s.band };
      g.days.push(day);
      grouped.set(key, g);
    }
  });
  const rows = [...grouped.values()]
    .sort((a, b) => (a.days[0] ?? 0) - (b.days[0] ?? 0) || a.startMs - b.startMs)
    .map((g) => ({ days: g.days.map((d) => WEEKDAYS[d]).join(', '), from: clock(g.startMs), band: g.band }));
  for (const [date, starts] of [...byDate.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
    for (const s of starts) rows.push({ days: date, from: clock(s.startMs), band: s.band });
  }
  return rows;
}

/**
 * The rates section: the rates of the subscriber's retail plan in force now, from the compiled
 * plan the intake prices by. `q` is a destination name or a number (the one rate that prices it,
 * by longest prefix); a number that cannot be read is an error beside the field, never every rate.
 */
export async function ratesSection(db: Db, plans: PlanCache, sv: SubscriberView, q: RatesQuery, nowMs = Date.now()) {
  const direction: DeckDirection = q.direction ?? 'outbound';
  const filter = { q: q.q, direction: q.direction, cursor: q.cursor };
  const base = { filter, errors: {} as Record<string, string>, plan: null, rates: [] as RateView[], matched: 0, nextCursor: undefined as string | undefined, bands: [] as ReturnType<typeof bandRows>, matchedNumber: null as string | null };
  if (sv.subscriber.retailPlanId === null) return { ...base, why: sv.reseller.billingService ? 'No retail rate plan is assigned yet: calls are not priced until one is.' : 'Your service provider does not bill calls through this service: there are no retail rates here.' };
  const plan = await plans.get(db, sv.subscriber.retailPlanId);
  if (!plan) return { ...base, why: 'The rate plan is not available.' };
  const planView = { name: plan.name, currency: plan.currency, timeZone: plan.timeZone, decimals: plan.rounding.decimals, bandMode: plan.bandMode };
  let name: string | undefined;
  let number: string | undefined;
  const text = q.q?.trim();
  if (text) {
    // Letters: a destination's name. Otherwise a number in any usual form.
    if (/\p{L}/u.test(text)) name = text;
    else {
      const n = normaliseE164(text, sv.callingCode);
      if (!n.ok) return { ...base, plan: planView, bands: bandRows(plan.bands.byWeekday, plan.bands.byDate), why: null, errors: { q: `The number ${n.reason}: type it with its country code (+44 20 7946 0000) or as a national number` } };
      number = n.number;
    }
  }
  const after = decodeCursor(q.cursor, ['text', 'text']) as [string, string] | undefined;
  const list = listRates(plan, { at: nowMs, direction, name, number, after, limit: RATES_PAGE_SIZE });
  const last = list.rows[list.rows.length - 1];
  return {
    ...base,
    why: null,
    plan: planView,
    bands: bandRows(plan.bands.byWeekday, plan.bands.byDate),
    rates: list.rows.map(presentRate),
    matched: list.matched,
    matchedNumber: number ?? null,
    nextCursor: list.more && last ? encodeCursor([last.prefix, last.direction]) : undefined,
  };
}

// ---- Numbers -----------------------------------------------------------------------------------

/** The numbers section: the subscriber's numbers, extensions and SIP identities, held now and released. */
export async function numbersSection(db: Db, viewer: Scope, sv: SubscriberView) {
  const d = await details(db, viewer, sv.subscriber.id);
  return {
    activeNumbers: d.activeNumbers,
    releasedNumbers: d.releasedNumbers,
    activeIdentities: d.activeIdentities,
    releasedIdentities: d.releasedIdentities,
  };
}
