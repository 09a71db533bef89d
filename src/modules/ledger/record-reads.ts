/**
 * Legs as record files read them (src/domain/records): one reseller's legs, the ones it pays for,
 * with that reseller's charges only (another reseller's charges on a leg, like the payer's side of
 * a call one of its subscribers received, are never read). The ledger is the only code that knows
 * call_legs and charges; the record-specs module (preview) and the posting work read through here.
 */
import type { Knex } from 'knex';
import type { Queryable } from '../../db/knex';
import type { LegRecord, RecordCharge, RecordFilter } from '../../domain/records';

/** Which legs of the reseller: a filter of a spec, and a period of start times (UTC ms, `toMs` exclusive). */
export interface RecordSelection {
  filter?: RecordFilter;
  fromMs?: number;
  toMs?: number;
}

const INSTANTS = [['start_at'], ['answer_at'], ['end_at'], ['rated_at']] as const;

const CHARGE_COLUMNS = ['currency', 'amount', 'tax_amount', 'total', 'billed_currency', 'exchange_rate', 'billed_total', 'covered_seconds', 'prefix', 'description'] as const;

/** The query of a reseller's record legs, unordered and unlimited: callers add keyset and order. */
export function recordLegsQuery(db: Queryable, resellerId: number, sel: RecordSelection = {}): Knex.QueryBuilder {
  const q = db('call_legs as l')
    .join('platforms as p', 'p.id', 'l.platform_id')
    .leftJoin('subscribers as s', 's.id', 'l.subscriber_id')
    .leftJoin('resellers as r', 'r.id', 'l.reseller_id')
    .where('l.reseller_id', resellerId)
    .select(
      'l.id', 'l.leg_key', 'l.call_id', 'p.name as platform', 'r.code as reseller_code', 's.account_number', 's.name as subscriber_name',
      'l.calling_number', 'l.called_number', 'l.raw_calling', 'l.raw_called', 'l.redirecting_number', 'l.account_code',
      'l.billable_seconds', 'l.answered', 'l.disposition', 'l.switch_cause',
      'l.direction', 'l.status', 'l.unrated_reason', 'l.trunk', 'l.carrier',
    )
    // Instants as epoch milliseconds (the microseconds cut off, as the driver's Date did): a number
    // is all the formatter needs, and parsing four timestamps a leg into Dates was the driver's
    // largest cost in a file of a million legs.
    .select(INSTANTS.map(([col]) => db.raw(`floor(extract(epoch from l.${col}) * 1000)::int8 as ${col}`)));
  for (const [kind, alias] of [['wholesale', 'w'], ['retail', 'rt']] as const) {
    q.leftJoin(`charges as ${alias}`, function () {
      this.on(`${alias}.leg_id`, 'l.id').andOn(`${alias}.start_at`, 'l.start_at').andOnVal(`${alias}.kind`, kind).andOnVal(`${alias}.reseller_id`, resellerId);
    });
    q.select(CHARGE_COLUMNS.map((c) => `${alias}.${c} as ${alias}_${c}`));
  }
  if (sel.fromMs !== undefined) q.where('l.start_at', '>=', new Date(sel.fromMs));
  if (sel.toMs !== undefined) q.where('l.start_at', '<', new Date(sel.toMs));
  const f = sel.filter;
  if (f?.directions.length) q.whereIn('l.direction', [...f.directions]);
  if (f?.statuses.length) q.whereIn('l.status', [...f.statuses]);
  if (f?.answeredOnly) q.where('l.answered', true);
  return q;
}

function chargeOf(r: Record<string, any>, p: string): RecordCharge | null {
  if (r[`${p}_total`] === null || r[`${p}_total`] === undefined) return null;
  return {
    currency: String(r[`${p}_currency`]).trim(),
    amount: String(r[`${p}_amount`]),
    taxAmount: String(r[`${p}_tax_amount`]),
    total: String(r[`${p}_total`]),
    billedCurrency: String(r[`${p}_billed_currency`]).trim(),
    billedTotal: String(r[`${p}_billed_total`]),
    exchangeRate: String(r[`${p}_exchange_rate`]),
    coveredSeconds: Number(r[`${p}_covered_seconds`] ?? 0),
    prefix: r[`${p}_prefix`],
    description: r[`${p}_description`],
  };
}

/** An instant of recordLegsQuery (epoch ms, int8 as text) as a number. */
const ms = (v: string | number | null | undefined): number | null => (v === null || v === undefined ? null : Number(v));

/** A row of recordLegsQuery as the formatter reads it. */
export function toLegRecord(r: Record<string, any>): LegRecord {
  return {
    id: Number(r.id),
    legKey: r.leg_key,
    callId: r.call_id,
    platform: r.platform,
    resellerCode: r.reseller_code ?? null,
    accountNumber: r.account_number ?? null,
    subscriberName: r.subscriber_name ?? null,
    callingNumber: r.calling_number,
    calledNumber: r.called_number,
    rawCalling: r.raw_calling,
    rawCalled: r.raw_called,
    redirectingNumber: r.redirecting_number,
    accountCode: r.account_code,
    startMs: ms(r.start_at) as number,
    answerMs: ms(r.answer_at),
    endMs: ms(r.end_at),
    ratedMs: ms(r.rated_at),
    billableSeconds: Number(r.billable_seconds),
    answered: r.answered === true,
    disposition: r.disposition,
    switchCause: r.switch_cause ?? null,
    direction: r.direction ?? null,
    status: r.status,
    reason: r.unrated_reason ?? null,
    trunk: r.trunk ?? null,
    carrier: r.carrier ?? null,
    wholesale: chargeOf(r, 'w'),
    retail: chargeOf(r, 'rt'),
  };
}

/** The reseller's most recent legs (start time, then id, newest first): the preview's. */
export async function recentRecordLegs(db: Queryable, resellerId: number, sel: RecordSelection = {}, limit = 20): Promise<LegRecord[]> {
  const rows = await recordLegsQuery(db, resellerId, sel).orderBy([{ column: 'l.start_at', order: 'desc' }, { column: 'l.id', order: 'desc' }]).limit(limit);
  return (rows as Array<Record<string, any>>).map(toLegRecord);
}

/**
 * Every leg of a selection in call order (start time, then id), read by keyset in batches of
 * `batch`: constant memory however many legs, on real Postgres and on the embedded database alike
 * (no server-side cursor is needed). Consumers format each leg as it comes (formatLeg).
 */
export async function* streamRecordLegs(db: Queryable, resellerId: number, sel: RecordSelection = {}, batch = 2000): AsyncGenerator<LegRecord> {
  let after: { start: string; id: number } | null = null;
  for (;;) {
    const q = recordLegsQuery(db, resellerId, sel).select(db.raw(`to_char(l.start_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as start_key`));
    if (after) q.whereRaw('(l.start_at, l.id) > (?::timestamptz, ?)', [after.start, after.id]);
    const rows = (await q.orderBy([{ column: 'l.start_at', order: 'asc' }, { column: 'l.id', order: 'asc' }]).limit(batch)) as Array<Record<string, any>>;
    for (const r of rows) yield toLegRecord(r);
    if (rows.length < batch) return;
    const last = rows[rows.length - 1] as Record<string, any>;
    after = { start: last.start_key, id: Number(last.id) };
  }
}

/**
 * The reseller's legs of these ids (the legs of a batch of the change log: record files), in
 * their current state with the reseller's charges, whatever the filter (the posting work needs a
 * leg that no longer passes it, to correct an earlier line). `starts` bounds the partitions read.
 * A leg left with another reseller since is not returned.
 */
export async function recordLegsByIds(db: Queryable, resellerId: number, legs: ReadonlyArray<{ id: number; startMs: number }>): Promise<LegRecord[]> {
  if (legs.length === 0) return [];
  let min = Infinity;
  let max = -Infinity;
  for (const l of legs) {
    if (l.startMs < min) min = l.startMs;
    if (l.startMs > max) max = l.startMs;
  }
  // One array parameter for the ids (a whereIn binds one per leg: thousands to bind and plan a batch).
  const rows = (await recordLegsQuery(db, resellerId, { fromMs: min, toMs: max + 1 })
    .whereRaw('l.id = ANY(?::bigint[])', [legs.map((l) => l.id)])
    .orderBy('l.id')) as Array<Record<string, any>>;
  const out = rows.map(toLegRecord);
  if (out.length === legs.length) return out;
  // A leg of the reseller's change log that is no longer the reseller's moved to another (re-rated
  // after its number changed hands): it comes back as the call alone, nothing of the other reseller's
  // (no subscriber, no charges), unrated for this reseller, so its files can take back what they posted.
  const found = new Set(out.map((l) => l.id));
  const gone = legs.filter((l) => !found.has(l.id)).map((l) => l.id);
  const moved = (await recordLegsQuery(db, resellerId, { fromMs: min, toMs: max + 1 })
    .clearWhere()
    .where('l.start_at', '>=', new Date(min))
    .where('l.start_at', '<', new Date(max + 1))
    .whereIn('l.id', gone)
    .where((w) => w.whereNull('l.reseller_id').orWhereNot('l.reseller_id', resellerId))) as Array<Record<string, any>>;
  for (const r of moved) {
    out.push({
      ...toLegRecord(r),
      resellerCode: null, accountNumber: null, subscriberName: null,
      status: 'unrated', reason: 'moved to another reseller', ratedMs: null, wholesale: null, retail: null,
    });
  }
  return out.sort((a, b) => a.id - b.id);
}
