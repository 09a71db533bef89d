/**
 * The ledger read back for the calls pages and their CSV: legs with their charges, a leg's
 * charges in detail, its raw record, and unrated reasons, always within the reader's scope. With
 * ledger.repository, the only code that knows the columns of call_legs, cdrs and charges.
 */
import type { Knex } from 'knex';
import { preparedQuery, type Queryable } from '../../db/knex';
import { decodeCursor, toPage, type Page, PAGE_SIZE } from '../../db/paging';
import { BadRequestError } from '../../domain/errors';
import { Decimal } from '../../domain/money/decimal';
import type { Scope } from '../../domain/tenancy/roles';
import { applyLegSelection, confineLegs, reasonKindSql, startKeySql, type LegSelection, type StoredLegStatus } from './ledger.repository';

/** A charge as the lists show it; amounts are the stored numeric text, never a JS number. */
export interface ChargeSummary {
  currency: string;
  amount: string;
  taxAmount: string;
  total: string;
  billedCurrency: string;
  exchangeRate: string;
  billedTotal: string;
  /**
   * Seconds of the leg covered by a toll package: null while charges have no `covered_seconds`
   * column (the packages part of issue 11 adds it; read here as soon as it exists, see coveredSecondsColumn).
   */
  coveredSeconds: number | null;
}

export interface CallRow {
  id: number;
  startAt: Date;
  /** Keyset: the start time as exact text. */
  startKey: string;
  answerAt: Date | null;
  endAt: Date | null;
  callId: string;
  platformId: number;
  platformName: string;
  resellerId: number | null;
  resellerName: string | null;
  resellerCode: string | null;
  subscriberId: number | null;
  accountNumber: string | null;
  subscriberName: string | null;
  direction: string | null;
  callingNumber: string | null;
  calledNumber: string | null;
  rawCalling: string;
  rawCalled: string;
  billableSeconds: number;
  answered: boolean;
  /** One vocabulary (answered, no_answer, busy, failed, cancelled); the switch's own word beside it. */
  disposition: string;
  switchCause: string | null;
  /** The direction the switch reported (its own word), beside ours. */
  switchDirection: string | null;
  status: StoredLegStatus;
  reason: string | null;
  /**
   * The scope reaches this leg only as who received it (an on-net call another subscriber paid
   * for): its subscriber is the callee, and nothing of the payer's side (reason, charges) is read.
   */
  received: boolean;
  /** Never loaded for a subscriber's scope. */
  wholesale: ChargeSummary | null;
  retail: ChargeSummary | null;
}

/**
 * What a calls list may be ordered by (then by the leg id, the tie-break of every order): the start
 * time, the billable duration, the called number, and the wholesale or retail charge the row shows
 * (its billed total; a leg without one sorts below every charge). See sortValueSql for what each costs.
 */
export type CallSortKey = 'start' | 'duration' | 'to' | 'wholesale' | 'retail';

export interface CallFilter extends LegSelection {
  cursor?: string;
  limit?: number;
  /** The column ordered by (default the start time). */
  sort?: CallSortKey;
  /** Its direction: by start, newest first (the default) or oldest first. */
  order?: 'desc' | 'asc';
  /** Leave out the legs the scope only received (the unrated pages: what the scope pays for and can re-rate). */
  paidOnly?: boolean;
}

/**
 * The legs a scope sees on its calls pages: those it pays for (confineLegs) and those it received,
 * as the callee subscriber or the callee's reseller. `side` picks one of the two, the received
 * ones without those also paid for, so that the two never overlap.
 */
function confineSide(q: Knex.QueryBuilder, scope: Scope, side: 'paid' | 'received', alias = 'l'): Knex.QueryBuilder {
  if (side === 'paid' || scope.kind === 'wholesale') return confineLegs(q, scope, alias);
  q.whereRaw(`NOT ${paidSql(scope, alias)}`);
  if (scope.kind === 'reseller') return q.where(`${alias}.callee_reseller_id`, scope.resellerId);
  return q.where(`${alias}.callee_reseller_id`, scope.resellerId).where(`${alias}.callee_subscriber_id`, scope.subscriberId);
}

/** Whether the scope pays for the leg, as SQL with the scope's ids inlined (they are numbers from the session). */
function paidSql(scope: Scope, alias = 'l'): string {
  if (scope.kind === 'wholesale') return 'true';
  const r = Math.trunc(Number(scope.resellerId));
  if (scope.kind === 'reseller') return `coalesce(${alias}.reseller_id = ${r}, false)`;
  return `coalesce(${alias}.reseller_id = ${r} AND ${alias}.subscriber_id = ${Math.trunc(Number(scope.subscriberId))}, false)`;
}

const CHARGE_COLUMNS = ['currency', 'amount', 'tax_amount', 'total', 'billed_currency', 'exchange_rate', 'billed_total'] as const;

/**
 * HOOK for toll packages (issue 11): whether charges has its `covered_seconds` column yet. The
 * column is another part's migration; the calls pages show package seconds once it exists and an
 * empty slot before, without a change here. Known once true; asked again a minute after false.
 */
let coveredColumn: { present: boolean; at: number } | undefined;
export async function coveredSecondsColumn(db: Queryable): Promise<boolean> {
  if (coveredColumn && (coveredColumn.present || Date.now() - coveredColumn.at < 60_000)) return coveredColumn.present;
  const row = await db('information_schema.columns').where({ table_schema: db.raw('current_schema()'), table_name: 'charges', column_name: 'covered_seconds' }).first('column_name');
  coveredColumn = { present: !!row, at: Date.now() };
  return coveredColumn.present;
}

/**
 * The kinds of charge that are billed (to a reseller, to a subscriber). A charges row of any other
 * kind ('carrier_cost', the LD carrier's expected cost of the leg) carries the payer's reseller_id
 * for partitioning and joins but is the operator's figure only: every read that is not the
 * operator's carrier view keeps to these kinds (or to one of them by name).
 */
export const BILLED_KINDS: readonly string[] = ['wholesale', 'retail'];

/** The covered seconds of a charge alias as SQL: null while the column does not exist. */
const coveredSql = (alias: string, present: boolean) => (present ? `${alias}.covered_seconds` : 'NULL::numeric');

/** Joins a leg's charge of one kind (alias w or rt), confined like the leg. */
function joinCharge(q: Knex.QueryBuilder, scope: Scope, kind: 'wholesale' | 'retail', alias: string): Knex.QueryBuilder {
  return q.leftJoin(`charges as ${alias}`, function () {
    this.on(`${alias}.leg_id`, 'l.id').andOn(`${alias}.start_at`, 'l.start_at').andOnVal(`${alias}.kind`, kind);
    if (scope.kind !== 'wholesale') this.andOnVal(`${alias}.reseller_id`, scope.resellerId);
    if (scope.kind === 'subscriber') this.andOnVal(`${alias}.subscriber_id`, scope.subscriberId);
  });
}

function chargeOf(r: Record<string, any>, prefix: string): ChargeSummary | null {
  if (r[`${prefix}_billed_total`] === null || r[`${prefix}_billed_total`] === undefined) return null;
  const covered = r[`${prefix}_covered_seconds`];
  return {
    coveredSeconds: covered === null || covered === undefined ? null : Number(covered),
    currency: String(r[`${prefix}_currency`]).trim(),
    amount: r[`${prefix}_amount`],
    taxAmount: r[`${prefix}_tax_amount`],
    total: r[`${prefix}_total`],
    billedCurrency: String(r[`${prefix}_billed_currency`]).trim(),
    exchangeRate: r[`${prefix}_exchange_rate`],
    billedTotal: r[`${prefix}_billed_total`],
  };
}

/**
 * The call list query for a scope, without paging: who sees which legs and charges is decided here.
 * A leg the scope only received shows its callee (not the payer, who may be another tenant's), no
 * unrated reason, and only the scope's own charges, as every leg does (usually none).
 * `confined: false` when the caller has already picked the legs (listCalls' keys).
 */
function callsQuery(db: Queryable, scope: Scope, opts: { confined?: boolean; covered?: boolean } = {}): Knex.QueryBuilder {
  const paid = paidSql(scope);
  const q = db('call_legs as l');
  if (opts.confined !== false && scope.kind !== 'wholesale') q.where((w) => confineSide(w, scope, 'paid').orWhere((o) => confineSide(o, scope, 'received')));
  q.join('platforms as p', 'p.id', 'l.platform_id')
    .leftJoin('subscribers as s', 's.id', db.raw(`CASE WHEN ${paid} THEN l.subscriber_id ELSE l.callee_subscriber_id END`))
    .leftJoin('resellers as r', 'r.id', db.raw(`CASE WHEN ${paid} THEN l.reseller_id ELSE l.callee_reseller_id END`))
    .select(
      'l.id', 'l.start_at', 'l.answer_at', 'l.end_at', 'l.call_id', 'l.platform_id', 'l.direction',
      'l.calling_number', 'l.called_number', 'l.raw_calling', 'l.raw_called', 'l.billable_seconds', 'l.answered', 'l.disposition', 'l.switch_cause', 'l.switch_direction', 'l.status',
      db.raw(`NOT ${paid} AS received`),
      db.raw(`CASE WHEN ${paid} THEN l.reseller_id ELSE l.callee_reseller_id END AS reseller_id`),
      db.raw(`CASE WHEN ${paid} THEN l.subscriber_id ELSE l.callee_subscriber_id END AS subscriber_id`),
      db.raw(`CASE WHEN ${paid} THEN l.unrated_reason END AS unrated_reason`),
      'p.name as platform_name', 's.account_number', 's.name as subscriber_name', 'r.name as reseller_name', 'r.code as reseller_code',
      db.raw(`${startKeySql()} as start_key`),
    );
  // Subscribers never see what their reseller pays: the wholesale charge is not even read.
  const kinds: Array<['wholesale' | 'retail', string]> = scope.kind === 'subscriber' ? [['retail', 'rt']] : [['wholesale', 'w'], ['retail', 'rt']];
  for (const [kind, alias] of kinds) {
    joinCharge(q, scope, kind, alias);
    q.select(CHARGE_COLUMNS.map((c) => `${alias}.${c} as ${alias}_${c}`));
    q.select(db.raw(`${coveredSql(alias, opts.covered === true)} as ${alias}_covered_seconds`));
  }
  return q;
}

function toCallRow(r: Record<string, any>): CallRow {
  return {
    id: r.id,
    startAt: r.start_at,
    startKey: r.start_key,
    answerAt: r.answer_at,
    endAt: r.end_at,
    callId: r.call_id,
    platformId: r.platform_id,
    platformName: r.platform_name,
    resellerId: r.reseller_id,
    resellerName: r.reseller_name ?? null,
    resellerCode: r.reseller_code ?? null,
    subscriberId: r.subscriber_id,
    accountNumber: r.account_number ?? null,
    subscriberName: r.subscriber_name ?? null,
    direction: r.direction,
    callingNumber: r.calling_number,
    calledNumber: r.called_number,
    rawCalling: r.raw_calling,
    rawCalled: r.raw_called,
    billableSeconds: r.billable_seconds,
    answered: r.answered,
    disposition: r.disposition,
    switchCause: r.switch_cause ?? null,
    switchDirection: r.switch_direction ?? null,
    status: r.status,
    reason: r.unrated_reason,
    received: r.received === true,
    wholesale: chargeOf(r, 'w'),
    retail: chargeOf(r, 'rt'),
  };
}

/**
 * The keys (id, start_at) of the legs a non-operator scope sees on its calls pages: those it pays
 * for and those it received, each side read by its own index (an OR of the two would read and
 * sort every leg of the period). `shape` limits and orders a side (a page), or leaves it whole (totals).
 */
function sides(db: Queryable, scope: Scope, f: CallFilter, columns: string[], shape: (q: Knex.QueryBuilder) => Knex.QueryBuilder = (q) => q) {
  const side = (which: 'paid' | 'received') => shape(applyLegSelection(confineSide(db('call_legs as l').select(columns), scope, which), f, 'l', { received: which === 'received' }));
  return [side('paid'), side('received')] as const;
}

/**
 * The billed total of the leg's charge of one kind that a row shows (joinCharge's, confined the
 * same way), as SQL over the leg alias: the sort value of the charge columns. Scope ids are inlined
 * as numbers, as paidSql does. -1 where there is none, so that every row has a value to page by.
 */
function chargeSortSql(scope: Scope, kind: 'wholesale' | 'retail', alias = 'l'): string {
  const where = [`c.leg_id = ${alias}.id`, `c.start_at = ${alias}.start_at`, `c.kind = '${kind}'`];
  if (scope.kind !== 'wholesale') where.push(`c.reseller_id = ${Math.trunc(Number(scope.resellerId))}`);
  if (scope.kind === 'subscriber') where.push(`c.subscriber_id = ${Math.trunc(Number(scope.subscriberId))}`);
  return `coalesce((SELECT c.billed_total FROM charges c WHERE ${where.join(' AND ')}), -1)`;
}

/**
 * Each sort but the start: its value as SQL over call_legs (alias l), and how a cursor carries it.
 * All are keyset-paged on (value, id), so a page resumes exactly where the last stopped and a row
 * is never shown twice or skipped. Only the start has an index to read the order by, though: the
 * period (start_at) leads every filter, so no index on duration, number or charge could serve it.
 * Each page of these orders reads every leg the filter matches and keeps the top rows (a top-N
 * sort, one charge lookup per leg for the charge orders): cheap for a filter of days or a
 * subscriber, slow over months of a whole network. That is why the default stays the start.
 * Amounts of different currencies are compared as numbers (the column shows each with its currency).
 */
function sortValueSql(scope: Scope, by: Exclude<CallSortKey, 'start'>, alias = 'l'): string {
  switch (by) {
    case 'duration': return `${alias}.billable_seconds::numeric`;
    case 'to': return `coalesce(${alias}.called_number, ${alias}.raw_called)`;
    case 'wholesale': return chargeSortSql(scope, 'wholesale', alias);
    case 'retail': return chargeSortSql(scope, 'retail', alias);
  }
}

const NUMBER_KEY = /^-?\d{1,30}(\.\d{1,30})?$/;

/**
 * One page of legs by keyset on (sort value, id), either way: never OFFSET. By start (the default)
 * the key is (start_at, id), read by the index. A reseller's or subscriber's page merges the legs
 * it pays for and those it received (sides), each side ordered and limited the same way.
 */
export async function listCalls(db: Queryable, scope: Scope, f: CallFilter): Promise<Page<CallRow>> {
  const limit = f.limit ?? PAGE_SIZE;
  const order = f.order ?? 'desc';
  const by = f.sort ?? 'start';
  const cmp = order === 'desc' ? '<' : '>';
  let keyset: (q: Knex.QueryBuilder) => Knex.QueryBuilder;
  let keyOf: (row: Record<string, any>) => Array<string | number>;
  if (by === 'start') {
    // The cursor of the start order is as it always was: links already out keep working.
    const after = decodeCursor(f.cursor, ['time', 'id']);
    keyset = (q) => {
      if (after) q.whereRaw(`(l.start_at, l.id) ${cmp} (?::timestamptz, ?)`, after);
      return q.orderBy([{ column: 'l.start_at', order }, { column: 'l.id', order }]).limit(limit + 1);
    };
    keyOf = (r) => [r.start_key, Number(r.id)];
  } else {
    const value = sortValueSql(scope, by);
    const numeric = by !== 'to';
    const after = decodeCursor(f.cursor, ['text', 'text', 'id']);
    // The cursor names its order: one from another order is refused, never read with the wrong key.
    if (after && (after[0] !== `${by}.${order}` || (numeric && !NUMBER_KEY.test(String(after[1]))))) {
      throw new BadRequestError('This page link is not valid: start again from the first page.');
    }
    keyset = (q) => {
      if (after) q.whereRaw(`(${value}, l.id) ${cmp} (?${numeric ? '::numeric' : ''}, ?)`, [after[1] as string, after[2] as number]);
      return q.orderByRaw(`${value} ${order}, l.id ${order}`).limit(limit + 1);
    };
    keyOf = (r) => [`${by}.${order}`, String(r.sort_key), Number(r.id)];
  }
  const covered = await coveredSecondsColumn(db);
  let q: Knex.QueryBuilder;
  if (scope.kind === 'wholesale' || f.paidOnly) {
    q = keyset(applyLegSelection(callsQuery(db, scope, { confined: false, covered }), f));
    confineLegs(q, scope);
  } else {
    const [paid, received] = sides(db, scope, f, ['l.id', 'l.start_at'], keyset);
    q = keyset(callsQuery(db, scope, { confined: false, covered })).whereRaw('(l.id, l.start_at) IN (SELECT id, start_at FROM ((?) UNION ALL (?)) AS k)', [paid, received]);
  }
  if (by !== 'start') q.select(db.raw(`(${sortValueSql(scope, by)})::text AS sort_key`));
  const raw = (await q) as Array<Record<string, any>>;
  const page = toPage(raw, limit, keyOf);
  return { rows: page.rows.map(toCallRow), ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}) };
}

/** Money of one kind of charge in one billed currency, summed exactly (numeric text). */
export interface MoneyTotal {
  kind: 'wholesale' | 'retail';
  currency: string;
  total: string;
  charges: number;
}

export interface CallTotals {
  calls: number;
  billableSeconds: number;
  /** Seconds covered by toll packages (retail charges); null while the column does not exist. */
  coveredSeconds: number | null;
  money: MoneyTotal[];
}

/**
 * What a calls page's filter matches, in SQL: the number of legs, their billable seconds, and the
 * charges the scope may see summed per kind and billed currency (a subscriber: its retail ones).
 * The same legs as listCalls without paging, so the totals are the sum of every page's rows.
 */
export async function callTotals(db: Queryable, scope: Scope, f: Omit<CallFilter, 'cursor' | 'limit' | 'order'>): Promise<CallTotals> {
  const cols = ['l.id', 'l.start_at', 'l.billable_seconds'];
  let keys: Knex.Raw | Knex.QueryBuilder;
  if (scope.kind === 'wholesale' || f.paidOnly) keys = confineLegs(applyLegSelection(db('call_legs as l').select(cols), f), scope);
  else {
    const [paid, received] = sides(db, scope, f, cols);
    keys = db.raw('(?) UNION ALL (?)', [paid, received]);
  }
  const covered = await coveredSecondsColumn(db);
  const legs = db.raw('SELECT count(*) AS calls, coalesce(sum(k.billable_seconds), 0) AS seconds FROM (?) AS k', [keys]);
  const money = db('charges as c')
    .joinRaw('JOIN (?) AS k ON c.leg_id = k.id AND c.start_at = k.start_at', [keys as Knex.Raw])
    .select('c.kind', db.raw('trim(c.billed_currency) AS currency'), db.raw('sum(c.billed_total) AS total'), db.raw('count(*) AS n'), db.raw(`sum(${coveredSql('c', covered)}) AS covered`))
    .groupByRaw('c.kind, trim(c.billed_currency)')
    .orderByRaw(`CASE c.kind WHEN 'wholesale' THEN 0 ELSE 1 END, 2`);
  // The charges a page row may show (joinCharge): billed ones, the scope's own, a subscriber's retail only.
  money.whereIn('c.kind', BILLED_KINDS);
  if (scope.kind !== 'wholesale') money.where('c.reseller_id', scope.resellerId);
  if (scope.kind === 'subscriber') money.where('c.kind', 'retail').where('c.subscriber_id', scope.subscriberId);
  const [legRows, moneyRows] = await Promise.all([legs, money]);
  const l = ((legRows as { rows: Array<Record<string, any>> }).rows[0] ?? {}) as Record<string, any>;
  const m = moneyRows as Array<Record<string, any>>;
  const retailCovered = m.filter((r) => r.kind === 'retail' && r.covered !== null && r.covered !== undefined);
  return {
    calls: Number(l.calls ?? 0),
    billableSeconds: Number(l.seconds ?? 0),
    coveredSeconds: covered ? retailCovered.reduce((a, r) => a + Number(r.covered), 0) : null,
    money: m.map((r) => ({ kind: r.kind, currency: String(r.currency), total: String(r.total), charges: Number(r.n) })),
  };
}

export interface CallLeg extends CallRow {
  legKey: string;
  cdrId: number;
  trunk: string | null;
  carrier: string | null;
  redirectingNumber: string | null;
  accountCode: string | null;
  receivedAt: Date;
  ratedAt: Date | null;
}

export interface ChargePieceRow {
  band: string | null;
  step: number;
  from: number;
  seconds: number;
  rate: string;
  rate_unit: number;
  amount: string;
}

export interface ChargeTaxRow {
  tax_id: number;
  name: string;
  basis: string;
  rate: string;
  taxable: string;
  amount: string;
}

/** A charge with its whole breakdown. */
export interface ChargeDetail extends ChargeSummary {
  /** carrier_cost: the LD carrier's expected cost, read by operator staff only (BILLED_KINDS). */
  kind: 'wholesale' | 'retail' | 'carrier_cost';
  planId: number;
  planName: string | null;
  planRevision: number;
  direction: string;
  prefix: string;
  description: string;
  rateEffectiveFrom: Date;
  billableSeconds: number;
  chargedSeconds: number;
  pieces: ChargePieceRow[];
  connectFee: string;
  usage: string;
  taxes: ChargeTaxRow[];
  ratedAt: Date;
}

/**
 * The leg's charges the scope may see, in its order, as one JSON array (wholesale first: what the
 * reseller pays, then what it charges, then, for operator staff, what the carrier should charge
 * us). The expected carrier cost is the operator's alone; a subscriber reads its retail charge
 * only. Amounts as text, so that no decimal passes through a JavaScript number; times as epoch ms.
 */
function chargesJsonSql(kind: Scope['kind']): string {
  const where = ['c.leg_id = l.id', 'c.start_at = l.start_at'];
  if (kind !== 'wholesale') where.push(`c.kind IN ('wholesale', 'retail')`, 'c.reseller_id = $2');
  if (kind === 'subscriber') where.push(`c.kind = 'retail'`, 'c.subscriber_id = $3');
  const text = (col: string) => `'${col}', c.${col}::text`;
  return `(SELECT coalesce(json_agg(json_build_object(
      'kind', c.kind, 'rate_plan_id', c.rate_plan_id, 'plan_name', rp.name, 'plan_revision', c.plan_revision, 'direction', c.direction,
      'prefix', c.prefix, 'description', c.description, 'rate_effective_from', floor(extract(epoch FROM c.rate_effective_from) * 1000),
      'billable_seconds', c.billable_seconds, 'charged_seconds', c.charged_seconds, 'pieces', c.pieces, 'taxes', c.taxes,
      ${['connect_fee', 'usage', 'currency', 'amount', 'tax_amount', 'total', 'billed_currency', 'exchange_rate', 'billed_total'].map(text).join(', ')},
      'covered_seconds', c.covered_seconds, 'rated_at', floor(extract(epoch FROM c.rated_at) * 1000))
      ORDER BY CASE c.kind WHEN 'wholesale' THEN 0 WHEN 'retail' THEN 1 ELSE 2 END), '[]')
    FROM charges c LEFT JOIN rate_plans rp ON rp.id = c.rate_plan_id
   WHERE ${where.join(' AND ')})`;
}

/**
 * One leg with its charges in detail, as one prepared statement per kind of scope (the call page
 * and the API's leg read: one round trip, planned once per connection): the same legs, columns
 * and charges the calls pages show (callsQuery, confineSide), with the scope's ids as parameters
 * ($2 reseller, $3 subscriber). A received leg shows its callee and only the scope's own charges.
 */
function callSql(kind: Scope['kind']): string {
  const paid = kind === 'wholesale' ? 'true' : kind === 'reseller' ? 'coalesce(l.reseller_id = $2, false)' : 'coalesce(l.reseller_id = $2 AND l.subscriber_id = $3, false)';
  const confined =
    kind === 'wholesale' ? ''
    : kind === 'reseller' ? ` AND (l.reseller_id = $2 OR (NOT ${paid} AND l.callee_reseller_id = $2))`
    : ` AND ((l.reseller_id = $2 AND l.subscriber_id = $3) OR (NOT ${paid} AND l.callee_reseller_id = $2 AND l.callee_subscriber_id = $3))`;
  return `SELECT l.id, l.start_at, l.answer_at, l.end_at, l.call_id, l.platform_id, l.direction, l.calling_number, l.called_number, l.raw_calling, l.raw_called,
          l.billable_seconds, l.answered, l.disposition, l.switch_cause, l.switch_direction, l.status,
          NOT ${paid} AS received,
          CASE WHEN ${paid} THEN l.reseller_id ELSE l.callee_reseller_id END AS reseller_id,
          CASE WHEN ${paid} THEN l.subscriber_id ELSE l.callee_subscriber_id END AS subscriber_id,
          CASE WHEN ${paid} THEN l.unrated_reason END AS unrated_reason,
          p.name AS platform_name, s.account_number, s.name AS subscriber_name, r.name AS reseller_name, r.code AS reseller_code, ${startKeySql()} AS start_key,
          l.leg_key, l.cdr_id, l.trunk, l.carrier, l.redirecting_number, l.account_code, l.received_at, l.rated_at,
          ${chargesJsonSql(kind)} AS charges
     FROM call_legs l
     JOIN platforms p ON p.id = l.platform_id
     LEFT JOIN subscribers s ON s.id = CASE WHEN ${paid} THEN l.subscriber_id ELSE l.callee_subscriber_id END
     LEFT JOIN resellers r ON r.id = CASE WHEN ${paid} THEN l.reseller_id ELSE l.callee_reseller_id END
    WHERE l.id = $1${confined}
    LIMIT 1`;
}

const CALL_SQL = { wholesale: callSql('wholesale'), reseller: callSql('reseller'), subscriber: callSql('subscriber') };

function chargeDetailOf(c: Record<string, any>): ChargeDetail {
  return {
    kind: c.kind,
    planId: Number(c.rate_plan_id),
    planName: c.plan_name ?? null,
    planRevision: Number(c.plan_revision),
    direction: c.direction,
    prefix: c.prefix,
    description: c.description,
    rateEffectiveFrom: new Date(Number(c.rate_effective_from)),
    billableSeconds: Number(c.billable_seconds),
    chargedSeconds: Number(c.charged_seconds),
    pieces: c.pieces as ChargePieceRow[],
    connectFee: c.connect_fee,
    usage: c.usage,
    taxes: c.taxes as ChargeTaxRow[],
    currency: String(c.currency).trim(),
    amount: c.amount,
    taxAmount: c.tax_amount,
    total: c.total,
    billedCurrency: String(c.billed_currency).trim(),
    exchangeRate: c.exchange_rate,
    billedTotal: c.billed_total,
    coveredSeconds: c.covered_seconds === undefined || c.covered_seconds === null ? null : Number(c.covered_seconds),
    ratedAt: new Date(Number(c.rated_at)),
  };
}

/** A leg the scope sees, with the charges of it the scope may read; undefined for another tenant's. */
export async function getCallWithCharges(db: Queryable, scope: Scope, id: number): Promise<{ leg: CallLeg; charges: ChargeDetail[] } | undefined> {
  const values = scope.kind === 'wholesale' ? [id] : scope.kind === 'reseller' ? [id, scope.resellerId] : [id, scope.resellerId, scope.subscriberId];
  const { rows } = await preparedQuery<Record<string, any>>(db, `ledger_call_${scope.kind}`, CALL_SQL[scope.kind], values);
  const row = rows[0];
  if (!row) return undefined;
  const charges = (row.charges as Array<Record<string, any>>).map(chargeDetailOf);
  const call = toCallRow(row);
  // The summaries the lists show, from the same charges (a subscriber's scope never reads wholesale).
  call.wholesale = charges.find((c) => c.kind === 'wholesale') ?? null;
  call.retail = charges.find((c) => c.kind === 'retail') ?? null;
  // A received leg: how the payer's call left the switch and when it was rated are the payer's.
  const own = !call.received;
  const leg: CallLeg = {
    ...call,
    legKey: row.leg_key,
    cdrId: row.cdr_id,
    trunk: own ? row.trunk : null,
    carrier: own ? row.carrier : null,
    redirectingNumber: own ? row.redirecting_number : null,
    accountCode: own ? row.account_code : null,
    receivedAt: row.received_at,
    ratedAt: own ? row.rated_at : null,
  };
  return { leg, charges };
}

export interface CdrRecord {
  id: number;
  platformId: number;
  receivedAt: Date;
  contentType: string | null;
  body: string;
  bodySha256: string;
}

/** The record as a platform sent it: operator staff only. */
export async function getCdr(db: Queryable, scope: Scope, id: number): Promise<CdrRecord | undefined> {
  if (scope.kind !== 'wholesale') return undefined;
  const r = await db('cdrs').where('id', id).first();
  return r ? { id: r.id, platformId: r.platform_id, receivedAt: r.received_at, contentType: r.content_type, body: r.body, bodySha256: r.body_sha256 } : undefined;
}

export interface ReasonCount {
  status: StoredLegStatus;
  reason: string;
  count: number;
}

/** Unrated and blocked legs by kind of reason (numbers elided), most frequent first; the reason filter itself is not applied. */
export async function reasonCounts(db: Queryable, scope: Scope, sel: LegSelection, limit = 50): Promise<ReasonCount[]> {
  const q = applyLegSelection(confineLegs(db('call_legs as l'), scope), sel, 'l', { ignoreReason: true })
    .select('l.status', db.raw(`${reasonKindSql()} as reason`))
    .count('* as n')
    .groupByRaw(`l.status, ${reasonKindSql()}`)
    .orderByRaw('count(*) desc, 2')
    .limit(limit);
  const rows = (await q) as Array<Record<string, any>>;
  return rows.map((r) => ({ status: r.status, reason: r.reason, count: Number(r.n) }));
}

/** Records received in the last day, per platform (the operator's platform list). */
export async function recordsTodayByPlatform(db: Queryable): Promise<Map<number, number>> {
  const rows = (await db('cdrs').where('received_at', '>', db.raw(`now() - interval '1 day'`)).groupBy('platform_id').select('platform_id', db.raw('count(*) as n'))) as Array<{ platform_id: number | string; n: number | string }>;
  return new Map(rows.map((r) => [Number(r.platform_id), Number(r.n)]));
}

/** Whose usage an account statement sums: a reseller's wholesale charges, or one subscriber's retail charges. */
export type UsageParty = { kind: 'reseller'; resellerId: number } | { kind: 'subscriber'; resellerId: number; subscriberId: number };

/** Charges of one currency pair in a period; amounts are exact numeric text. */
export interface UsageChargeTotal {
  currency: string;
  billedCurrency: string;
  charges: number;
  amount: string;
  taxAmount: string;
  total: string;
  billedTotal: string;
}

/** A period's usage: the legs the party pays for (started in it), their billable seconds, and their charges of the party's side. */
export interface UsageTotals {
  calls: number;
  seconds: number;
  charges: UsageChargeTotal[];
}

/**
 * Usage of a party in each period [fromMs, toMs) (billing cycles, for the account pages): two
 * queries for every period together. A reseller's are its legs and their wholesale charges (by the
 * charges' reseller index); a subscriber's, the legs it pays for (by the legs' subscriber index)
 * and their retail charges.
 */
export async function usageByPeriod(db: Queryable, party: UsageParty, periods: ReadonlyArray<{ fromMs: number; toMs: number }>): Promise<UsageTotals[]> {
  const out: UsageTotals[] = periods.map(() => ({ calls: 0, seconds: 0, charges: [] }));
  if (periods.length === 0) return out;
  const values = periods.map(() => '(?::int, ?::timestamptz, ?::timestamptz)').join(', ');
  const bind: Array<string | number> = [];
  periods.forEach((p, i) => bind.push(i, new Date(p.fromMs).toISOString(), new Date(p.toMs).toISOString()));
  const periodsSql = `(VALUES ${values}) AS p(i, f, t)`;
  const legWhere = party.kind === 'reseller' ? 'l.reseller_id = ?' : 'l.reseller_id = ? AND l.subscriber_id = ?';
  const legBind = party.kind === 'reseller' ? [party.resellerId] : [party.resellerId, party.subscriberId];

  const calls = (await db.raw(
    `SELECT p.i, count(l.id)::bigint AS calls, coalesce(sum(l.billable_seconds), 0)::bigint AS seconds
       FROM ${periodsSql} JOIN call_legs l ON l.start_at >= p.f AND l.start_at < p.t AND ${legWhere}
      GROUP BY p.i`,
    [...bind, ...legBind],
  )).rows as Array<Record<string, any>>;
  for (const r of calls) Object.assign(out[Number(r.i)] as UsageTotals, { calls: Number(r.calls), seconds: Number(r.seconds) });

  const sums = `c.currency, c.billed_currency, count(*)::bigint AS n, sum(c.amount)::text AS amount, sum(c.tax_amount)::text AS tax_amount,
                sum(c.total)::text AS total, sum(c.billed_total)::text AS billed_total`;
  const charges = (party.kind === 'reseller'
    ? await db.raw(
        `SELECT p.i, ${sums} FROM ${periodsSql}
           JOIN charges c ON c.reseller_id = ? AND c.kind = 'wholesale' AND c.start_at >= p.f AND c.start_at < p.t
          GROUP BY p.i, c.currency, c.billed_currency ORDER BY p.i, c.billed_currency, c.currency`,
        [...bind, party.resellerId],
      )
    : await db.raw(
        `SELECT p.i, ${sums} FROM ${periodsSql}
           JOIN call_legs l ON l.start_at >= p.f AND l.start_at < p.t AND ${legWhere}
           JOIN charges c ON c.leg_id = l.id AND c.start_at = l.start_at AND c.kind = 'retail' AND c.reseller_id = l.reseller_id
          GROUP BY p.i, c.currency, c.billed_currency ORDER BY p.i, c.billed_currency, c.currency`,
        [...bind, ...legBind],
      )).rows as Array<Record<string, any>>;
  for (const r of charges) {
    (out[Number(r.i)] as UsageTotals).charges.push({
      currency: String(r.currency).trim(), billedCurrency: String(r.billed_currency).trim(), charges: Number(r.n),
      amount: r.amount, taxAmount: r.tax_amount, total: r.total, billedTotal: r.billed_total,
    });
  }
  return out;
}
// ---------------------------------------------------------------------------------------------
// The dashboards' figures, from usage_figures (usage_totals and the deltas not folded into them
// yet; ledger.repository.ts, "Usage totals"): never from the legs themselves, so that a period of
// millions of legs reads thousands of rows.

/** An amount in one currency: the exact sum as text (10 decimals), never a JS number. */
export interface Money {
  currency: string;
  amount: string;
}

/** Calls, answered calls and billable seconds of legs, and their charges' amounts (before tax) per currency. */
export interface UsageFigures {
  calls: number;
  answered: number;
  seconds: number;
  wholesale: Money[];
  retail: Money[];
}

interface UsageRow {
  key: string;
  wholesale_currency: string;
  retail_currency: string;
  calls: string;
  answered: string;
  seconds: string;
  wholesale: string;
  retail: string;
}

const emptyFigures = (): UsageFigures => ({ calls: 0, answered: 0, seconds: 0, wholesale: [], retail: [] });

/** Adds an amount to a list kept per currency (sorted by currency), exactly. */
function addMoney(list: Money[], currency: string, amount: string): void {
  if (!currency) return;
  const at = list.find((m) => m.currency === currency);
  if (at) at.amount = new Decimal(at.amount).plus(amount).toFixed(10);
  else {
    list.push({ currency, amount: new Decimal(amount).toFixed(10) });
    list.sort((a, b) => a.currency.localeCompare(b.currency));
  }
}

/** Rows per (key, currencies) folded into figures per key, in the order keys first appear. */
function foldUsage(rows: UsageRow[]): Map<string, UsageFigures> {
  const out = new Map<string, UsageFigures>();
  for (const r of rows) {
    let f = out.get(r.key);
    if (!f) out.set(r.key, (f = emptyFigures()));
    f.calls += Number(r.calls);
    f.answered += Number(r.answered);
    f.seconds += Number(r.seconds);
    addMoney(f.wholesale, r.wholesale_currency, r.wholesale);
    addMoney(f.retail, r.retail_currency, r.retail);
  }
  return out;
}

/** Whose figures: the scope's own, or (operator staff) every reseller's. */
function usageOwner(scope: Scope): { level: 'all' | 'reseller' | 'subscriber'; where: string; bindings: number[] } {
  if (scope.kind === 'reseller') return { level: 'reseller', where: 'AND reseller_id = ?', bindings: [scope.resellerId] };
  if (scope.kind === 'subscriber') return { level: 'subscriber', where: 'AND reseller_id = ? AND subscriber_id = ?', bindings: [scope.resellerId, scope.subscriberId] };
  // Every reseller together: one row per hour and currencies (the reseller level would be one per reseller).
  return { level: 'all', where: '', bindings: [] };
}

const SUMS = `sum(calls)::text AS calls, sum(answered)::text AS answered, sum(seconds)::text AS seconds, sum(wholesale)::text AS wholesale, sum(retail)::text AS retail`;

/**
 * The scope's figures per local day of `timeZone` from `fromMs` to `toMs` (local midnights), every
 * day of the period present (zeros for a day without calls). A UTC hour counts for the local day
 * its start falls in: exact for zones whose offset is whole hours (see docs/DASHBOARDS.md).
 */
export async function usageByDay(db: Queryable, scope: Scope, period: { fromMs: number; toMs: number; timeZone: string; days: string[] }): Promise<Array<{ day: string } & UsageFigures>> {
  const o = usageOwner(scope);
  const res = (await db.raw(
    // Hours first (a few hundred), then each hour's local day: the zone conversion once per hour, not per row.
    `SELECT to_char(bucket AT TIME ZONE ?, 'YYYY-MM-DD') AS key, wholesale_currency, retail_currency, ${SUMS}
       FROM (SELECT bucket, wholesale_currency, retail_currency, sum(calls) AS calls, sum(answered) AS answered, sum(seconds) AS seconds,
                    sum(wholesale) AS wholesale, sum(retail) AS retail
               FROM usage_figures
              WHERE level = ? AND grain = 'hour' AND bucket >= ? AND bucket < ? ${o.where}
              GROUP BY 1, 2, 3) h
      GROUP BY 1, 2, 3`,
    [period.timeZone, o.level, new Date(period.fromMs).toISOString(), new Date(period.toMs).toISOString(), ...o.bindings],
  )) as { rows: UsageRow[] };
  const byDay = foldUsage(res.rows);
  return period.days.map((day) => ({ day, ...(byDay.get(day) ?? emptyFigures()) }));
}

/** What a top list ranks. */
export type UsageRanking = 'reseller' | 'destination' | 'subscriber';

export interface RankedUsage extends UsageFigures {
  /** The reseller's or subscriber's id, or the destination's name. */
  key: string;
  /** The reseller's or subscriber's name (the destination's own for a destination). */
  name: string;
}

const DAY = 86_400_000;

/**
 * The first `limit` resellers (operator staff), subscribers (a reseller's people) or destinations
 * of the period [fromMs, toMs) by minutes, then calls. Whole UTC days inside the period are read
 * from the day grain and the hours at its ends from the hour grain (the subscriber level keeps
 * hours only). A leg of no subscriber ranks among no subscribers.
 */
export async function topUsage(db: Queryable, scope: Scope, by: UsageRanking, period: { fromMs: number; toMs: number }, limit = 10): Promise<RankedUsage[]> {
  if (scope.kind === 'subscriber') return [];
  if (by === 'reseller' && scope.kind !== 'wholesale') return [];
  if (by === 'subscriber' && scope.kind !== 'reseller') return [];
  const level = by === 'reseller' ? 'reseller' : by === 'subscriber' ? 'subscriber' : scope.kind === 'reseller' ? 'reseller_destination' : 'destination';
  const key = by === 'reseller' ? 'reseller_id::text' : by === 'subscriber' ? 'subscriber_id::text' : 'destination';
  const own = scope.kind === 'reseller' ? `AND reseller_id = ${Number(scope.resellerId)}` : '';
  const extra = by === 'subscriber' ? 'AND subscriber_id <> 0' : '';
  const iso = (ms: number) => new Date(ms).toISOString();
  // Whole UTC days [d0, d1) from the day grain, when the level keeps days and the period holds one.
  const d0 = Math.ceil(period.fromMs / DAY) * DAY;
  const d1 = Math.floor(period.toMs / DAY) * DAY;
  const days = level !== 'subscriber' && d0 < d1;
  const parts: string[] = [];
  const bindings: Array<string | number> = [];
  const select = `SELECT ${key} AS key, wholesale_currency, retail_currency, calls, answered, seconds, wholesale, retail FROM usage_figures WHERE level = '${level}' ${own} ${extra}`;
  if (days) {
    parts.push(`${select} AND grain = 'day' AND bucket >= ? AND bucket < ?`);
    parts.push(`${select} AND grain = 'hour' AND ((bucket >= ? AND bucket < ?) OR (bucket >= ? AND bucket < ?))`);
    bindings.push(iso(d0), iso(d1), iso(period.fromMs), iso(d0), iso(d1), iso(period.toMs));
  } else {
    parts.push(`${select} AND grain = 'hour' AND bucket >= ? AND bucket < ?`);
    bindings.push(iso(period.fromMs), iso(period.toMs));
  }
  const names =
    by === 'reseller' ? `LEFT JOIN resellers n ON n.id = g.key::bigint` : by === 'subscriber' ? `LEFT JOIN subscribers n ON n.id = g.key::bigint` : '';
  const name = by === 'destination' ? 'g.key' : `coalesce(n.name, '#' || g.key)`;
  const res = (await db.raw(
    `WITH g AS MATERIALIZED (
       SELECT key, wholesale_currency, retail_currency, sum(calls) AS calls, sum(answered) AS answered, sum(seconds) AS seconds, sum(wholesale) AS wholesale, sum(retail) AS retail
         FROM (${parts.join(' UNION ALL ')}) s
        GROUP BY 1, 2, 3
     ), k AS (
       SELECT key, sum(seconds) AS seconds, sum(calls) AS calls FROM g GROUP BY key HAVING sum(calls) <> 0 ORDER BY 2 DESC, 3 DESC, 1 LIMIT ?
     )
     SELECT g.key, ${name} AS name, g.wholesale_currency, g.retail_currency, g.calls::text, g.answered::text, g.seconds::text, g.wholesale::text, g.retail::text
       FROM g JOIN k ON k.key = g.key ${names}
      ORDER BY k.seconds DESC, k.calls DESC, k.key`,
    [...bindings, limit],
  )) as { rows: Array<UsageRow & { name: string }> };
  const folded = foldUsage(res.rows);
  const nameOf = new Map(res.rows.map((r) => [r.key, r.name]));
  return [...folded].map(([k, f]) => ({ key: k, name: nameOf.get(k) ?? k, ...f }));
}
