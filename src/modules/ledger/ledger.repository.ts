import crypto from 'node:crypto';
import type { Knex } from 'knex';
import { preparedQuery, type Db, type Queryable } from '../../db/knex';
import type { Direction } from '../../domain/legs/direction';
import type { NormalisedLeg } from '../../domain/legs/leg';
import type { LegFacts } from '../../domain/legs/repost';
import type { Scope } from '../../domain/tenancy/roles';
import { hasCharges, type RatedLeg } from '../../domain/legs/rated';
import { chargeText, type ChargeText, type PricedCharge } from '../../domain/rating/charge';
import { copyLine, copyRows, escapeMask } from './copy';

/** UTC ms as the timestamptz text the columns take, and back (a stored timestamp, possibly null). */
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
const ms = (v: unknown) => (v === null || v === undefined ? null : new Date(v as string).getTime());

// crypto.hash (Node 20.12 and later) hashes in one call, at about half the cost of a Hash object.
const hashOnce = (crypto as { hash?: (algorithm: string, data: string, encoding: 'hex') => string }).hash;

export function sha256(text: string): string {
  return hashOnce ? hashOnce('sha256', text, 'hex') : crypto.createHash('sha256').update(text).digest('hex');
}

/**
 * Rows per multi-row statement. A statement carries at most 65,535 bind parameters (call_legs has
 * 29 columns, charges 28): a 3,000-leg post in one INSERT fails with "bind message has N parameter
 * formats but 0 parameters". Chunks keep every statement well below that.
 */
const CHUNK = 1000;

function chunked<T>(list: T[], size = CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size));
  return out;
}

export async function insertCdrs(db: Queryable, platformId: number, contentType: string | undefined, bodies: string[]): Promise<number[]> {
  const ids: number[] = [];
  for (const part of chunked(bodies)) {
    const rows = await db('cdrs')
      .insert(part.map((body) => ({ platform_id: platformId, content_type: contentType ?? null, body, body_sha256: sha256(body) })))
      .returning('id');
    ids.push(...rows.map((r: { id: number }) => r.id));
  }
  return ids;
}

export async function deleteCdrs(db: Queryable, ids: number[]): Promise<void> {
  for (const part of chunked(ids)) await db('cdrs').whereIn('id', part).del();
}

/** call_legs columns the intake writes, in the order of legValues. */
const LEG_COLUMNS = [
  'start_at', 'platform_id', 'cdr_id', 'leg_key', 'call_id', 'reseller_id', 'subscriber_id', 'direction', 'calling_number', 'called_number',
  'raw_calling', 'raw_called', 'answer_at', 'end_at', 'billable_seconds', 'answered', 'disposition', 'trunk', 'carrier', 'redirecting_number',
  'account_code', 'status', 'unrated_reason', 'rated_at', 'switch_cause', 'switch_direction', 'callee_reseller_id', 'callee_subscriber_id', 'sip_domain',
] as const;

type Value = string | number | boolean | null;

/** Columns whose text comes from the platform (or names people typed): escaped in COPY text. */
const LEG_ESCAPE = escapeMask(LEG_COLUMNS, [
  'leg_key', 'call_id', 'calling_number', 'called_number', 'raw_calling', 'raw_called', 'disposition', 'trunk', 'carrier', 'redirecting_number', 'account_code', 'unrated_reason',
  'switch_cause', 'sip_domain',
]);
/** The same with the id first (the COPY of call_legs names it). */
const LEG_ID_ESCAPE = [false, ...LEG_ESCAPE];

function legValues(platformId: number, cdrId: number, r: RatedLeg, carrier: string | null, ratedAt: string, startIso = iso(r.leg.startMs) as string): Value[] {
  const l = r.leg;
  return [
    startIso, platformId, cdrId, l.legKey, l.callId, r.resellerId, r.subscriberId, r.direction, l.callingNumber, l.calledNumber,
    l.rawCalling, l.rawCalled, iso(l.answerMs), iso(l.endMs), l.answered ? l.billableSeconds : 0, l.answered, l.disposition, l.trunk, carrier, l.redirectingNumber,
    l.accountCode, r.status, r.reason, hasCharges(r.status) ? ratedAt : null, l.switchCause, l.platformDirection ?? null, r.calleeResellerId, r.calleeSubscriberId, l.domain ?? null,
  ];
}

function zip(columns: readonly string[], values: Value[]): Record<string, Value> {
  const row: Record<string, Value> = {};
  columns.forEach((c, i) => (row[c] = values[i] as Value));
  return row;
}

function legRow(platformId: number, cdrId: number, r: RatedLeg, carrier: string | null, ratedAt = new Date().toISOString()) {
  return zip(LEG_COLUMNS, legValues(platformId, cdrId, r, carrier, ratedAt));
}

export interface StoredLeg {
  id: number;
  legKey: string;
  startAt: number;
  status: string;
  reason: string | null;
  direction: string | null;
  inserted: boolean;
  /** For a leg that was stored already: what it says, to compare a re-post with (legDifferences). */
  facts?: LegFacts;
}

// ---------------------------------------------------------------------------------------------
// The change log (leg_changes, migrations/20261208006000_change_log.ts): one row per leg stored and
// per leg re-rated, written by the statement (or, for COPY, the transaction) that writes the leg,
// so that a change is committed exactly when the leg is. Its position and transaction id are
// column defaults; readers follow it in commit order (modules/changes, docs/ARCHITECTURE.md, "The change log and the outbox").

/** Appended to `WITH ins AS (INSERT INTO call_legs ... RETURNING id, start_at, reseller_id)`. */
const LEG_CHANGE_OF_INSERT = `INSERT INTO leg_changes (leg_id, start_at, reseller_id, kind) SELECT id, start_at, reseller_id, 'stored' FROM ins`;

/** The columns the COPY path writes (copyText.change). */
const LEG_CHANGE_COLUMNS = ['leg_id', 'start_at', 'reseller_id', 'kind'] as const;

/**
 * Inserts legs; a leg whose key the platform has used already is left as it is (whatever the
 * re-post says of its start) and comes back with inserted: false and what is stored. Each key is
 * claimed in leg_keys first (see migrations/20261207000100_leg_keys.ts), in the transaction.
 */
export async function insertLegs(
  db: Queryable,
  platformId: number,
  legs: Array<{ cdrId: number; rated: RatedLeg; carrier: string | null }>,
): Promise<StoredLeg[]> {
  if (legs.length === 0) return [];
  const ratedAt = new Date().toISOString();
  const byKey = new Map<string, StoredLeg>();
  for (const part of chunked(legs)) {
    // Claim the keys, with a new leg id each; a key claimed already (a re-post) is skipped.
    const claimed = (await db.raw(
      `INSERT INTO leg_keys (platform_id, leg_key, leg_id, start_at)
       SELECT ?, k, nextval('call_legs_id_seq'), s FROM unnest(?::text[], ?::timestamptz[]) AS u(k, s)
       ON CONFLICT (platform_id, leg_key) DO NOTHING
       RETURNING leg_key, leg_id`,
      [platformId, part.map((l) => l.rated.leg.legKey), part.map((l) => iso(l.rated.leg.startMs) as string)],
    )) as { rows: Array<{ leg_key: string; leg_id: number }> };
    const idOf = new Map(claimed.rows.map((r) => [r.leg_key, r.leg_id]));
    const rows: Array<Record<string, Value>> = [];
    for (const l of part) {
      const id = idOf.get(l.rated.leg.legKey);
      if (id === undefined) continue;
      // The first leg of the key in this chunk takes it; a second one is its duplicate.
      idOf.delete(l.rated.leg.legKey);
      rows.push({ id, ...legRow(platformId, l.cdrId, l.rated, l.carrier, ratedAt) });
      const r = l.rated;
      byKey.set(r.leg.legKey, { id, legKey: r.leg.legKey, startAt: r.leg.startMs, status: r.status, reason: r.reason, direction: r.direction, inserted: true });
    }
    if (rows.length) {
      // The change log's row of each leg in the same statement (see LEG_CHANGE_OF_INSERT).
      const ins = db('call_legs').insert(rows).returning(['id', 'start_at', 'reseller_id']).toSQL();
      await db.raw(`WITH ins AS (${ins.sql}) ${LEG_CHANGE_OF_INSERT}`, ins.bindings);
    }
  }
  const missing = [...new Set(legs.map((l) => l.rated.leg.legKey).filter((k) => !byKey.has(k)))];
  for (const [k, v] of await storedLegs(db, platformId, missing)) byKey.set(k, v);
  // A key twice in one post (the same record sent twice in it): the second is the first's duplicate.
  const answered = new Set<string>();
  return legs.map((l) => {
    const leg = l.rated.leg;
    const hit = byKey.get(leg.legKey);
    if (!hit) throw new Error(`leg ${leg.legKey} was neither inserted nor found`);
    if (answered.has(leg.legKey) && hit.inserted) return { ...hit, inserted: false, facts: legs.find((x) => x.rated.leg.legKey === leg.legKey)?.rated.leg };
    answered.add(leg.legKey);
    return hit;
  });
}

/** charges columns, in the order of chargeValues. */
const CHARGE_COLUMNS = [
  'leg_id', 'start_at', 'kind', 'reseller_id', 'subscriber_id', 'rate_plan_id', 'plan_revision', 'direction', 'prefix', 'description',
  'rate_effective_from', 'billable_seconds', 'charged_seconds', 'pieces', 'currency', 'connect_fee', 'usage', 'amount', 'taxes', 'tax_amount',
  'total', 'billed_currency', 'exchange_rate', 'billed_total', 'rated_at', 'covered_seconds', 'allowances',
] as const;

const CHARGE_ESCAPE = escapeMask(CHARGE_COLUMNS, ['prefix', 'description', 'pieces', 'taxes', 'allowances']);

// Many charges share the instant their rate took effect: its text is made once.
const effectiveText = new Map<number, string>();
function isoOfEffective(ms: number): string {
  let t = effectiveText.get(ms);
  if (t === undefined) {
    if (effectiveText.size > 10_000) effectiveText.clear();
    t = new Date(ms).toISOString();
    effectiveText.set(ms, t);
  }
  return t;
}

function chargeValues(legId: number, startIso: string, resellerId: number, subscriberId: number | null, direction: string, c: PricedCharge, ratedAt: string): Value[] {
  // Pieces and usage are the breakdown: 10 decimals, like the numeric columns; the amount itself
  // was computed exactly and rounded once by the plan. chargeText gives the exact text without
  // building a Decimal per figure.
  const t = chargeText(c);
  return [
    legId, startIso, c.kind, resellerId, subscriberId, c.planId, c.planRevision, direction, c.prefix, c.description,
    isoOfEffective(c.rateEffectiveFrom), c.billableSeconds, c.chargedSeconds, piecesJson(c, t), c.currency, t.connectFee, t.usage, t.amount, taxesJson(c, t), t.taxAmount,
    t.total, c.billedCurrency, t.exchangeRate, t.billedTotal, ratedAt, c.coveredSeconds, allowancesJson(c),
  ];
}

/** [{assignment_id, group_id, cycle_start, seconds}]: what the charge took from which toll package allowance. */
export function allowancesJson(c: PricedCharge): string {
  const a = c.allowances;
  if (!a || a.length === 0) return '[]';
  return jsonArray(a.length, (i) => {
    const t = a[i]!;
    return `{"assignment_id":${t.assignmentId},"group_id":${t.groupId},"cycle_start":"${new Date(t.cycleStartMs).toISOString()}","seconds":${t.seconds}}`;
  });
}

// The breakdown columns (jsonb) written out by hand: they are most of the text of a charge, and
// JSON.stringify of an array of fresh objects per charge cost more than rating it. Numbers are
// integers, figures are decimal text (never needing escapes); names go through JSON.stringify.
// test/unit/charge-json.test.ts holds them equal to JSON.stringify of the same objects.

/** A JSON array of `n` members written by `member`: one join, not a string added to per member. */
function jsonArray(n: number, member: (i: number) => string): string {
  if (n === 0) return '[]';
  if (n === 1) return `[${member(0)}]`;
  const parts = new Array<string>(n);
  for (let i = 0; i < n; i++) parts[i] = member(i);
  return `[${parts.join(',')}]`;
}

/** [{band, step, from, seconds, rate, rate_unit, amount}] of a charge, as JSON. */
export function piecesJson(c: PricedCharge, t: ChargeText): string {
  return jsonArray(c.pieces.length, (i) => {
    const p = c.pieces[i]!;
    const x = t.pieces[i]!;
    return `{"band":${p.band === null ? 'null' : JSON.stringify(p.band)},"step":${p.step},"from":${p.from},"seconds":${p.seconds},"rate":"${x.rate}","rate_unit":${p.rateUnit},"amount":"${x.amount}"}`;
  });
}

/** [{tax_id, name, basis, rate, taxable, amount}] of a charge, as JSON. */
export function taxesJson(c: PricedCharge, t: ChargeText): string {
  return jsonArray(c.taxes.length, (i) => {
    const l = c.taxes[i]!;
    const x = t.taxes[i]!;
    return `{"tax_id":${l.taxId},"name":${JSON.stringify(l.name)},"basis":${JSON.stringify(l.basis)},"rate":"${x.rate}","taxable":"${x.taxable}","amount":"${x.amount}"}`;
  });
}


/** The charges of a rated leg as rows of values (none for a leg nobody pays for). */
function chargeValuesOf(l: { id: number; startMs: number; rated: RatedLeg }, ratedAt: string, startIso = iso(l.startMs) as string): Value[][] {
  const r = l.rated;
  if (r.resellerId === null || r.direction === null) return [];
  return r.charges.map((c) => chargeValues(l.id, startIso, r.resellerId as number, r.subscriberId, r.direction as string, c, ratedAt));
}

/** Writes a leg's charges, replacing any from an earlier rating (re-rating never double-charges). */
export async function replaceCharges(db: Queryable, legs: Array<{ id: number; startMs: number; rated: RatedLeg }>): Promise<void> {
  for (const part of chunked(legs.map((l) => l.id))) await db('charges').whereIn('leg_id', part).del();
  await insertCharges(db, legs);
}

/** Charges of legs inserted in this transaction: there is nothing earlier to replace. */
export async function insertCharges(db: Queryable, legs: Array<{ id: number; startMs: number; rated: RatedLeg }>): Promise<void> {
  const ratedAt = new Date().toISOString();
  const rows = legs.flatMap((l) => chargeValuesOf(l, ratedAt).map((v) => zip(CHARGE_COLUMNS, v)));
  for (const part of chunked(rows)) await db('charges').insert(part);
}

// ---------------------------------------------------------------------------------------------
// The COPY path of the intake (real Postgres): ids allocated and rows built before the transaction,
// assuming every leg is new (no look-up of stored legs), then streamed. A leg stored already fails
// the COPY of leg_keys (unique violation) and the intake's pipeline writes the post again by INSERT
// ... ON CONFLICT, which answers it as a duplicate. See copy.ts for why COPY.

/** The legs this platform stored under these keys, by key, with what they say (StoredLeg.facts). */
export async function storedLegs(db: Queryable, platformId: number, legKeys: string[]): Promise<Map<string, StoredLeg>> {
  const out = new Map<string, StoredLeg>();
  for (const part of chunked(legKeys, 5000)) {
    if (part.length === 0) continue;
    const res = (await db.raw(
      `SELECT l.id, k.leg_key, l.start_at, l.status, l.unrated_reason, l.direction, l.answer_at, l.end_at, l.billable_seconds, l.answered,
              l.calling_number, l.called_number, l.disposition, l.trunk, l.redirecting_number
         FROM leg_keys k JOIN call_legs l ON l.id = k.leg_id AND l.start_at = k.start_at
        WHERE k.platform_id = ? AND k.leg_key = any(?::text[])`,
      [platformId, part],
    )) as { rows: Array<Record<string, any>> };
    for (const r of res.rows) {
      const startAt = new Date(r.start_at).getTime();
      const facts: LegFacts = {
        startMs: startAt, answerMs: ms(r.answer_at), endMs: ms(r.end_at), billableSeconds: r.billable_seconds, answered: r.answered,
        callingNumber: r.calling_number, calledNumber: r.called_number, disposition: r.disposition, trunk: r.trunk, redirectingNumber: r.redirecting_number,
      };
      out.set(r.leg_key, { id: r.id, legKey: r.leg_key, startAt, status: r.status, reason: r.unrated_reason, direction: r.direction, inserted: false, facts });
    }
  }
  return out;
}

/** Ids for `cdrs` raw records and `legs` legs, in one round trip (COPY returns none). Unused ones are harmless gaps. */
export async function allocateIds(db: Queryable, cdrs: number, legs: number): Promise<{ cdrIds: number[]; legIds: number[] }> {
  if (cdrs + legs === 0) return { cdrIds: [], legIds: [] };
  const res = (await db.raw(
    `select (select coalesce(array_agg(nextval('cdrs_id_seq')), '{}') from generate_series(1, ?)) as c,
            (select coalesce(array_agg(nextval('call_legs_id_seq')), '{}') from generate_series(1, ?)) as l`,
    [cdrs, legs],
  )) as { rows: Array<{ c: string[]; l: string[] }> };
  const row = res.rows[0] as { c: string[]; l: string[] };
  return { cdrIds: row.c.map(Number), legIds: row.l.map(Number) };
}

/** Rows in COPY text, built ahead of the transaction that streams them (see CopyText). */
export const copyText = {
  cdr: (id: number, platformId: number, contentType: string | undefined, body: string) => copyLine([id, platformId, contentType ?? null, body, sha256(body)]),
  leg: (id: number, platformId: number, cdrId: number, r: RatedLeg, carrier: string | null, ratedAt: string) => {
    const values: Value[] = legValues(platformId, cdrId, r, carrier, ratedAt);
    values.unshift(id);
    return copyLine(values, LEG_ID_ESCAPE);
  },
  /** The leg's claim on its key (leg_keys): a key stored already fails the COPY (unique violation). */
  legKey: (id: number, platformId: number, r: RatedLeg) => copyLine([platformId, r.leg.legKey, id, iso(r.leg.startMs)], LEG_KEY_ESCAPE),
  /** The leg's row of the change log (the COPY path's fifth COPY). */
  change: (id: number, r: RatedLeg) => copyLine([id, iso(r.leg.startMs), r.resellerId, 'stored'], LEG_CHANGE_ESCAPE),
  charges: (l: { id: number; startMs: number; rated: RatedLeg }, ratedAt: string) => {
    const rows = chargeValuesOf(l, ratedAt);
    if (rows.length === 1) return copyLine(rows[0] as Value[], CHARGE_ESCAPE);
    return rows.map((v) => copyLine(v, CHARGE_ESCAPE)).join('');
  },
};

const LEG_KEY_ESCAPE = [false, true, false, false];
const LEG_CHANGE_ESCAPE = [false, false, false, false];

/** Streams rows built with copyText into their tables, the legs' keys first (the one check a re-post meets). */
export async function copyPrepared(db: Queryable, text: { cdrs: string[]; legKeys: string[]; legs: string[]; charges: string[]; changes: string[] }): Promise<void> {
  await copyRows(db, 'leg_keys', ['platform_id', 'leg_key', 'leg_id', 'start_at'], text.legKeys);
  await copyRows(db, 'cdrs', ['id', 'platform_id', 'content_type', 'body', 'body_sha256'], text.cdrs);
  await copyRows(db, 'call_legs', ['id', ...LEG_COLUMNS], text.legs);
  await copyRows(db, 'charges', CHARGE_COLUMNS, text.charges);
  // A fifth COPY rather than a trigger: rows a trigger would add one by one, COPY streams.
  await copyRows(db, 'leg_changes', LEG_CHANGE_COLUMNS, text.changes);
}

// ---------------------------------------------------------------------------------------------
// Reading legs back: the scope a person may reach, the filters of the call pages, and what
// re-rating needs to rebuild a leg and store its new rating.

export const LEG_STATUSES = ['rated', 'partial', 'unrated', 'blocked'] as const;
export type StoredLegStatus = (typeof LEG_STATUSES)[number];

/** Which legs: every field optional; times are UTC ms, `toMs` exclusive. */
export interface LegSelection {
  fromMs?: number;
  toMs?: number;
  /** Digits found in the calling or the called number (any of them, when several forms of one typed number). */
  number?: string | string[];
  direction?: Direction;
  /** Answered legs only (true) or unanswered ones only (false). */
  answered?: boolean;
  /** The subscriber who pays for the leg (on the received side of a calls page: who received it). */
  subscriberId?: number;
  /** The LD carrier the leg left by, as stored. */
  carrier?: string;
  statuses?: StoredLegStatus[];
  /** Operator staff narrowing to one reseller (a reseller's scope already does). */
  resellerId?: number;
  platformId?: number;
  /** Text the unrated reason contains (as stored, or with its numbers elided as in reasonKindSql). */
  reason?: string;
}

/**
 * Confines a query on call_legs (alias given) to the scope: a reseller's people reach the legs
 * attributed to their reseller, a subscriber the legs it pays for, operator staff all of them.
 */
export function confineLegs(q: Knex.QueryBuilder, scope: Scope, alias = 'l'): Knex.QueryBuilder {
  if (scope.kind === 'reseller') q.where(`${alias}.reseller_id`, scope.resellerId);
  else if (scope.kind === 'subscriber') q.where(`${alias}.reseller_id`, scope.resellerId).where(`${alias}.subscriber_id`, scope.subscriberId);
  return q;
}

/**
 * The unrated reason with its phone numbers and other long digit runs elided, so that "no outbound
 * rate for +33123456789" and "... for +33987654321" count as one kind of problem.
 */
export function reasonKindSql(alias = 'l'): string {
  return `regexp_replace(coalesce(${alias}.unrated_reason, ''), '[+]*[0-9]{3,}', '…', 'g')`;
}

/** The same elision in code, for outcomes computed before they are stored. */
export function reasonKind(reason: string | null): string {
  return (reason ?? '').replace(/[+]*[0-9]{3,}/g, '…');
}

const likeEscape = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`);

export function applyLegSelection(q: Knex.QueryBuilder, sel: LegSelection, alias = 'l', opts: { ignoreReason?: boolean; received?: boolean } = {}): Knex.QueryBuilder {
  if (sel.fromMs !== undefined) q.where(`${alias}.start_at`, '>=', new Date(sel.fromMs).toISOString());
  if (sel.toMs !== undefined) q.where(`${alias}.start_at`, '<', new Date(sel.toMs).toISOString());
  const numbers = (Array.isArray(sel.number) ? sel.number : sel.number ? [sel.number] : []).filter(Boolean);
  if (numbers.length) {
    q.where((w) => {
      for (const n of numbers) {
        const like = `%${likeEscape(n)}%`;
        w.orWhere(`${alias}.calling_number`, 'like', like).orWhere(`${alias}.called_number`, 'like', like);
      }
    });
  }
  if (sel.direction) q.where(`${alias}.direction`, sel.direction);
  if (sel.answered !== undefined) q.where(`${alias}.answered`, sel.answered);
  // A leg read as received (calls pages): the subscriber shown is its callee.
  if (sel.subscriberId !== undefined) q.where(opts.received ? `${alias}.callee_subscriber_id` : `${alias}.subscriber_id`, sel.subscriberId);
  if (sel.carrier) q.where(`${alias}.carrier`, sel.carrier);
  if (sel.statuses?.length) q.whereIn(`${alias}.status`, sel.statuses);
  if (sel.resellerId !== undefined) q.where(`${alias}.reseller_id`, sel.resellerId);
  if (sel.platformId !== undefined) q.where(`${alias}.platform_id`, sel.platformId);
  if (sel.reason && !opts.ignoreReason) {
    const like = `%${likeEscape(sel.reason)}%`;
    q.where((w) => w.whereILike(`${alias}.unrated_reason`, like).orWhereRaw(`${reasonKindSql(alias)} ilike ?`, [like]));
  }
  return q;
}

/** The keyset of the call lists: start time (as exact text, microseconds and all) and id, descending. */
export function startKeySql(alias = 'l'): string {
  return `to_char(${alias}.start_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
}

/** A stored leg as rating sees it, with its place in the table. */
export interface StoredLegForRating {
  id: number;
  startMs: number;
  startKey: string;
  platformId: number;
  status: StoredLegStatus;
  leg: NormalisedLeg;
}

function toNormalisedLeg(r: Record<string, any>): NormalisedLeg {
  return {
    legKey: r.leg_key,
    callId: r.call_id,
    callingNumber: r.calling_number,
    calledNumber: r.called_number,
    rawCalling: r.raw_calling,
    rawCalled: r.raw_called,
    startMs: new Date(r.start_at).getTime(),
    answerMs: ms(r.answer_at),
    endMs: ms(r.end_at),
    billableSeconds: r.billable_seconds,
    answered: r.answered,
    disposition: r.disposition,
    switchCause: r.switch_cause,
    ...(r.switch_direction ? { platformDirection: r.switch_direction } : {}),
    trunk: r.trunk,
    redirectingNumber: r.redirecting_number,
    accountCode: r.account_code,
    domain: r.sip_domain ?? null,
  };
}

/** How many legs of the scope a selection matches (to size a re-rating before it runs). */
export async function countSelectedLegs(db: Queryable, scope: Scope, sel: LegSelection): Promise<number> {
  const row = await applyLegSelection(confineLegs(db('call_legs as l'), scope), sel).count('* as n').first();
  return Number(row?.n ?? 0);
}

/** How many of these leg ids the scope reaches. */
export async function countReachableLegs(db: Queryable, scope: Scope, ids: number[]): Promise<number> {
  if (ids.length === 0) return 0;
  const row = await confineLegs(db('call_legs as l'), scope).whereIn('l.id', ids).count('* as n').first();
  return Number(row?.n ?? 0);
}

/**
 * Legs to (re-)rate, rebuilt from their stored columns: by id, or by selection one keyset page at a
 * time (start time and id ascending, after `after`): call order, so that re-rating a period larger
 * than a batch draws toll package allowances again in the order the calls were made.
 */
export async function loadLegsForRating(
  db: Queryable,
  scope: Scope,
  target: { ids: number[] } | { selection: LegSelection },
  opts: { after?: { startKey: string; id: number }; limit?: number } = {},
): Promise<StoredLegForRating[]> {
  const q = confineLegs(db('call_legs as l'), scope).select('l.*', db.raw(`${startKeySql()} as start_key`));
  if ('ids' in target) {
    if (target.ids.length === 0) return [];
    q.whereIn('l.id', target.ids);
  } else applyLegSelection(q, target.selection);
  if (opts.after) q.whereRaw('(l.start_at, l.id) > (?::timestamptz, ?)', [opts.after.startKey, opts.after.id]);
  q.orderBy([{ column: 'l.start_at', order: 'asc' }, { column: 'l.id', order: 'asc' }]);
  if (opts.limit) q.limit(opts.limit);
  const rows = (await q) as Array<Record<string, any>>;
  return rows.map((r) => ({ id: r.id, startMs: new Date(r.start_at).getTime(), startKey: r.start_key, platformId: r.platform_id, status: r.status, leg: toNormalisedLeg(r) }));
}

/**
 * Stores a new rating of existing legs in one statement: who pays and who received, direction,
 * status, reason, when rated, and the carrier (which follows from the direction), and a 'rerated'
 * change of each in the change log (a re-rated leg is a new change). Pair it with replaceCharges
 * in the same transaction.
 */
export async function updateLegRatings(db: Queryable, legs: Array<{ id: number; startMs: number; rated: RatedLeg; carrier: string | null }>): Promise<number> {
  if (legs.length === 0) return 0;
  const now = new Date().toISOString();
  const values = legs.map((l) => ({
    id: l.id,
    start_at: iso(l.startMs),
    reseller_id: l.rated.resellerId,
    subscriber_id: l.rated.subscriberId,
    direction: l.rated.direction,
    status: l.rated.status,
    unrated_reason: l.rated.reason,
    rated_at: hasCharges(l.rated.status) ? now : null,
    carrier: l.carrier,
    callee_reseller_id: l.rated.calleeResellerId,
    callee_subscriber_id: l.rated.calleeSubscriberId,
  }));
  const res = (await db.raw(
    `WITH upd AS (
     UPDATE call_legs AS l
        SET reseller_id = v.reseller_id, subscriber_id = v.subscriber_id, direction = v.direction, status = v.status,
            unrated_reason = v.unrated_reason, rated_at = v.rated_at, carrier = v.carrier,
            callee_reseller_id = v.callee_reseller_id, callee_subscriber_id = v.callee_subscriber_id
       FROM json_to_recordset(?::json) AS v(id bigint, start_at timestamptz, reseller_id bigint, subscriber_id bigint, direction text,
                                           status text, unrated_reason text, rated_at timestamptz, carrier text,
                                           callee_reseller_id bigint, callee_subscriber_id bigint),
            call_legs AS was
      WHERE l.id = v.id AND l.start_at = v.start_at AND was.id = l.id AND was.start_at = l.start_at
      RETURNING l.id, l.start_at, l.reseller_id, was.reseller_id AS was_reseller_id
     )
     -- A leg that moved to another reseller (its number changed hands) is a change for the reseller
     -- it left too: that one's record files must take back what they posted. (was: the row before the update.)
     INSERT INTO leg_changes (leg_id, start_at, reseller_id, kind)
     SELECT id, start_at, reseller_id, 'rerated' FROM upd
     UNION ALL
     SELECT id, start_at, was_reseller_id, 'rerated' FROM upd WHERE was_reseller_id IS NOT NULL AND was_reseller_id IS DISTINCT FROM reseller_id`,
    [JSON.stringify(values)],
  )) as { rowCount?: number };
  return res.rowCount ?? 0;
}

// ---------------------------------------------------------------------------------------------
// A guard: a condition a write checks before it stores anything. Rating's holders version
// (rating/holders.ts, holdersGuard) is the one there is; the ledger only runs it.

export interface WriteGuard {
  /** SQL of a bigint the write reads in its own snapshot. */
  sql: string;
  /** The value it must have (as text); undefined: nothing to check. */
  expected: string | undefined;
  /** The error to throw when it has another value. */
  failed(current: string): Error;
}

/** The guard as the first statement of a transaction (the one-statement write checks it inside itself). */
export async function checkGuard(tx: Queryable, guard: WriteGuard | undefined): Promise<void> {
  if (guard?.expected === undefined) return;
  const { rows } = (await tx.raw(`SELECT ${guard.sql}::text AS v`)) as { rows: Array<{ v: string }> };
  const current = rows[0]?.v ?? '0';
  if (current !== guard.expected) throw guard.failed(current);
}

// ---------------------------------------------------------------------------------------------
// One statement for a group of small posts: every round trip to Postgres costs a socket write and
// a wake-up on each side, and under a thousand single-record posts a second those dominated. A
// single INSERT with data-modifying CTEs is atomic by itself (no BEGIN or COMMIT), takes its rows
// as three JSON parameters, and stores records, legs and their charges together.

/** A JSON object from columns and values; `raw` columns hold JSON text to embed as it is (jsonb). */
function jsonObject(columns: readonly string[], values: Value[], raw: ReadonlySet<string> = NO_RAW): string {
  // Members written over the values, then one join (see copyLine).
  const n = columns.length;
  const members = new Array<string>(n);
  for (let i = 0; i < n; i++) {
    const c = columns[i] as string;
    const v = values[i] as Value;
    members[i] = `"${c}":${raw.has(c) ? v : JSON.stringify(v)}`;
  }
  return `{${members.join(',')}}`;
}
const NO_RAW: ReadonlySet<string> = new Set();
const CHARGE_JSON_COLUMNS: ReadonlySet<string> = new Set(['pieces', 'taxes', 'allowances']);

export interface GroupRecord {
  platformId: number;
  contentType: string | undefined;
  body: string;
  /** `later`: the leg's charges are written after the statement (allowances.ts), and its usage with them. */
  legs: Array<{ rated: RatedLeg; carrier: string | null; later?: boolean }>;
}

/**
 * Stores records with their legs and charges in one statement. Legs already stored (same platform
 * and key, in leg_keys) are left alone, with no charges and no second copy of a record whose legs are all
 * such; they come back with inserted: false and their stored status. Answers per record, per leg.
 * With a guard whose value is expected, nothing is stored unless its SQL still says so: guard.failed.
 */
export async function insertGroup(db: Queryable, records: GroupRecord[], guard?: WriteGuard): Promise<StoredLeg[][]> {
  const ratedAt = new Date().toISOString();
  const rec: string[] = [];
  const leg: string[] = [];
  const chg: string[] = [];
  records.forEach((r, i) => {
    rec.push(`{"rec":${i + 1},"legs":${r.legs.length},"platform_id":${r.platformId},"content_type":${JSON.stringify(r.contentType ?? null)},"body":${JSON.stringify(r.body)},"body_sha256":"${sha256(r.body)}"}`);
    for (const l of r.legs) {
      const n = leg.length + 1;
      // cdr_id is filled in by the statement; 0 here only to keep the column list whole.
      leg.push(`{"leg":${n},"rec":${i + 1},${l.later ? '"later":true,' : ''}${jsonObject(LEG_COLUMNS, legValues(r.platformId, 0, l.rated, l.carrier, ratedAt)).slice(1)}`);
      for (const v of chargeValuesOf({ id: n, startMs: l.rated.leg.startMs, rated: l.rated }, ratedAt)) chg.push(jsonObject(CHARGE_COLUMNS, v, CHARGE_JSON_COLUMNS));
    }
  });
  const legCols = LEG_COLUMNS.filter((c) => c !== 'cdr_id');
  const chargeCols = CHARGE_COLUMNS.filter((c) => c !== 'leg_id');
  const guardSql = guard?.sql ?? 'NULL::bigint';
  const USAGE_OF_GROUP = usageOfGroupCte();
  const res = await preparedQuery<{ leg: number; id: number; inserted: boolean; stale: string | null }>(
    db,
    // A named statement's text never changes: one name per guard.
    `ledger-insert-group-${sha256(guardSql).slice(0, 12)}`,
    `WITH pv AS MATERIALIZED (
       SELECT ${guardSql} AS current
     ), rec AS MATERIALIZED (
       SELECT (e.j->>'rec')::int AS rec, (e.j->>'legs')::int AS legs, nextval('cdrs_id_seq') AS id, r AS rw
         FROM json_array_elements($1::json) AS e(j), json_populate_record(null::cdrs, e.j) AS r
        WHERE $4::bigint IS NULL OR (SELECT current FROM pv) = $4::bigint
     ), leg AS MATERIALIZED (
       SELECT (e.j->>'leg')::int AS leg, nextval('call_legs_id_seq') AS id, rec.id AS cdr_id, r AS rw, (e.j->>'later') IS NOT NULL AS later
         FROM json_array_elements($2::json) AS e(j) JOIN rec ON rec.rec = (e.j->>'rec')::int, json_populate_record(null::call_legs, e.j) AS r
     ), key AS (
       INSERT INTO leg_keys (platform_id, leg_key, leg_id, start_at)
       SELECT (rw).platform_id, (rw).leg_key, id, (rw).start_at FROM leg
       ON CONFLICT (platform_id, leg_key) DO NOTHING
       RETURNING leg_id
     ), ins AS (
       INSERT INTO call_legs (id, cdr_id, ${legCols.join(', ')})
       SELECT id, cdr_id, ${legCols.map((c) => `(rw).${c}`).join(', ')} FROM leg WHERE id IN (SELECT leg_id FROM key)
       RETURNING id, start_at, reseller_id, subscriber_id, answered, billable_seconds, direction, carrier
     ), log AS (
       ${LEG_CHANGE_OF_INSERT}
     ), chg AS (
       INSERT INTO charges (leg_id, ${chargeCols.join(', ')})
       SELECT ins.id, ${chargeCols.map((c) => `c.${c}`).join(', ')}
         FROM json_array_elements($3::json) AS e(j), json_populate_record(null::charges, e.j) AS c, leg, ins
        WHERE leg.leg = c.leg_id AND ins.id = leg.id
       RETURNING leg_id, kind, currency, amount, description, prefix, taxes
     ), usage AS (
       ${USAGE_OF_GROUP}
     ), body AS (
       INSERT INTO cdrs (id, platform_id, content_type, body, body_sha256)
       SELECT id, (rw).platform_id, (rw).content_type, (rw).body, (rw).body_sha256 FROM rec
        WHERE rec.legs = 0 OR EXISTS (SELECT 1 FROM leg JOIN ins ON ins.id = leg.id WHERE leg.cdr_id = rec.id)
     )
     SELECT leg.leg, leg.id, ins.id IS NOT NULL AS inserted, NULL AS stale FROM leg LEFT JOIN ins ON ins.id = leg.id
     UNION ALL
     SELECT NULL, NULL, false, current::text FROM pv WHERE current <> $4::bigint`,
    [`[${rec.join(',')}]`, `[${leg.join(',')}]`, `[${chg.join(',')}]`, guard?.expected ?? null],
  );
  const stale = res.rows.find((r) => r.stale !== null);
  if (stale && guard?.expected !== undefined) throw guard.failed(stale.stale as string);

  const byLeg = new Map(res.rows.map((r) => [r.leg, r]));
  const flat = records.flatMap((r) => r.legs);
  // Legs that were there already answer with what is stored (one more query, only for re-posts).
  const missing = new Set(flat.filter((_, i) => !byLeg.get(i + 1)?.inserted));
  const stored = new Map<string, StoredLeg>();
  for (const platformId of new Set(records.map((r) => r.platformId))) {
    const keys = records.filter((r) => r.platformId === platformId).flatMap((r) => r.legs).filter((l) => missing.has(l)).map((l) => l.rated.leg.legKey);
    if (keys.length) for (const [k, v] of await storedLegs(db, platformId, keys)) stored.set(`${platformId}|${k}`, v);
  }
  let n = 0;
  return records.map((r) =>
    r.legs.map((l) => {
      const row = byLeg.get(++n);
      const leg = l.rated.leg;
      if (row?.inserted) return { id: row.id, legKey: leg.legKey, startAt: leg.startMs, status: l.rated.status, reason: l.rated.reason, direction: l.rated.direction, inserted: true };
      const old = stored.get(`${r.platformId}|${leg.legKey}`);
      if (!old) throw new Error(`leg ${leg.legKey} was neither inserted nor found`);
      return old;
    }),
  );
}

// ---------------------------------------------------------------------------------------------
// Usage totals (usage_totals, migrations/20261209006100_usage_totals.ts and 20261210000100_usage_deltas.ts):
// the dashboards' figures, pre-aggregated per UTC hour and day. Every write of legs and charges
// appends each leg's figures to usage_deltas in the same statement or transaction (a row per leg,
// no key, no lock another write waits for): insertGroup (a CTE of its one statement), the INSERT
// and COPY paths (addUsage after the rows, in storeInTransaction) and re-rating (takeAwayUsage
// before the legs change, addUsage after). foldUsage moves deltas into usage_totals (the ledger's
// usage folder runs it about once a second); readers read usage_figures, totals and deltas together.

/**
 * The groupings kept (level) and at which grains: the same list as the latest usage_figures view
 * (migration 20261210000300), which reads unfolded deltas at these levels. A list that drifted would
 * show in dashboards.test.ts ("folding moves every delta…"), which compares the folded totals with
 * figures computed from the legs at every level.
 */
const USAGE_LEVELS = `(VALUES ('all', 'hour'), ('reseller', 'hour'), ('reseller', 'day'), ('destination', 'hour'), ('destination', 'day'),
  ('reseller_destination', 'hour'), ('reseller_destination', 'day'), ('subscriber', 'hour'), ('carrier', 'hour'), ('carrier', 'day')) AS v(level, grain)`;

const USAGE_KEY = 'level, grain, reseller_id, subscriber_id, destination, carrier, wholesale_currency, retail_currency, bucket';
const USAGE_COLUMNS = `${USAGE_KEY}, calls, answered, seconds, wholesale, retail`;
const DELTA_COLUMNS = 'start_at, reseller_id, subscriber_id, destination, carrier, wholesale_currency, retail_currency, calls, answered, seconds, wholesale, retail, wholesale_taxes, retail_taxes';
const TAX_KEY = 'side, grain, reseller_id, tax_id, currency, bucket';

/**
 * One delta row per leg, times `sign` (-1: taking its figures away), from `legs` (a FROM item
 * naming call_legs, or a CTE with its columns, as l) and its charges (`charge(kind)` joins one kind
 * on alias w or r): a leg of no reseller counts nowhere.
 */
function usageRows(legs: string, charge: (kind: 'wholesale' | 'retail', alias: string) => string, where: string, sign: 1 | -1): string {
  const s = sign === 1 ? '' : '-';
  return `SELECT l.start_at, l.reseller_id, coalesce(l.subscriber_id, 0),
                 coalesce(nullif(w.description, ''), nullif(r.description, ''), w.prefix, r.prefix, ''),
                 -- On a carrier's bill: a destination called (null otherwise; '' when the trunk was in no map).
                 CASE WHEN l.direction IN ('outbound', 'forwarded') THEN coalesce(l.carrier, '') END,
                 coalesce(w.currency, ''), coalesce(r.currency, ''),
                 ${s}1, ${s}(CASE WHEN l.answered THEN 1 ELSE 0 END), ${s}l.billable_seconds::bigint,
                 ${s}coalesce(w.amount, 0), ${s}coalesce(r.amount, 0),
                 -- Tax lines as stored; their sign is the delta's (calls), applied when folded and read.
                 coalesce(w.taxes, '[]'::jsonb), coalesce(r.taxes, '[]'::jsonb)
            FROM ${legs} ${charge('wholesale', 'w')} ${charge('retail', 'r')}
           WHERE l.reseller_id IS NOT NULL ${where}`;
}

/** Stored legs (and their charges as stored) by id and start, the start's bounds pruning partitions. */
function storedUsageRows(sign: 1 | -1): string {
  const charge = (kind: string, a: string) =>
    `LEFT JOIN charges ${a} ON ${a}.leg_id = l.id AND ${a}.start_at = l.start_at AND ${a}.kind = '${kind}' AND ${a}.start_at BETWEEN :from AND :to`;
  // Driven by the keys: each leg found by its primary key in its partition, never a scan of the window.
  return usageRows(
    `unnest(:ids::bigint[], :starts::timestamptz[]) AS k(id, start_at) JOIN call_legs l ON l.id = k.id AND l.start_at = k.start_at`,
    charge,
    `AND l.start_at BETWEEN :from AND :to`,
    sign,
  );
}

function legBindings(legs: Array<{ id: number; startMs: number }>) {
  let min = Infinity;
  let max = -Infinity;
  for (const l of legs) {
    if (l.startMs < min) min = l.startMs;
    if (l.startMs > max) max = l.startMs;
  }
  return { from: iso(min), to: iso(max), ids: legs.map((l) => l.id), starts: legs.map((l) => iso(l.startMs)) };
}

/** Adds the figures of legs as stored now, with their charges (legs just stored; re-rated legs once rewritten). */
export async function addUsage(db: Queryable, legs: Array<{ id: number; startMs: number }>): Promise<void> {
  if (legs.length === 0) return;
  await db.raw(`INSERT INTO usage_deltas (${DELTA_COLUMNS}) ${storedUsageRows(1)}`, legBindings(legs));
}

/** Re-rating, first step: the figures the legs count for now (as stored, with their charges) taken away. */
export async function takeAwayUsage(db: Queryable, legs: Array<{ id: number; startMs: number }>): Promise<void> {
  if (legs.length === 0) return;
  await db.raw(`INSERT INTO usage_deltas (${DELTA_COLUMNS}) ${storedUsageRows(-1)}`, legBindings(legs));
}

/**
 * The CTE of insertGroup's statement: its `ins` (legs, RETURNING the columns usageRows reads) and
 * `chg` (charges, RETURNING theirs), for the legs whose `leg.later` is false (a leg whose charges
 * are written after the statement, once its allowances are settled, is counted then by addUsage).
 */
function usageOfGroupCte(): string {
  const charge = (kind: string, a: string) => `LEFT JOIN chg ${a} ON ${a}.leg_id = l.id AND ${a}.kind = '${kind}'`;
  return (usageOfGroup ??= `INSERT INTO usage_deltas (${DELTA_COLUMNS}) ${usageRows('ins l JOIN leg ON leg.id = l.id AND NOT leg.later', charge, '', 1)}`);
}
let usageOfGroup: string | undefined;

/**
 * Moves up to `limit` deltas into usage_totals in one transaction: the rows taken are deleted and
 * their sums upserted, one row per key, locked in key order. One folder at a time across processes
 * (an advisory lock; a second one finds it taken and returns 0). Deltas committed while it runs
 * are left for the next fold; a delta is folded exactly once (its DELETE and its sums commit together).
 * Answers the number of deltas folded.
 */
export async function foldUsage(db: Db, limit = 50_000): Promise<number> {
  return db.transaction(async (tx) => {
    const { rows: lock } = (await tx.raw(`SELECT pg_try_advisory_xact_lock(${USAGE_FOLD_LOCK}) AS got`)) as { rows: Array<{ got: boolean }> };
    if (!lock[0]?.got) return 0;
    const { rows } = (await tx.raw(
      `WITH d AS (
         DELETE FROM usage_deltas WHERE ctid = any(array(SELECT ctid FROM usage_deltas LIMIT ${Math.max(1, Math.floor(limit))}))
         RETURNING ${DELTA_COLUMNS}
       ), sums AS (
         SELECT v.level, v.grain,
                CASE WHEN v.level IN ('destination', 'all', 'carrier') THEN 0 ELSE d.reseller_id END AS reseller_id,
                CASE WHEN v.level = 'subscriber' THEN d.subscriber_id ELSE 0 END AS subscriber_id,
                CASE WHEN v.level IN ('destination', 'reseller_destination') THEN d.destination ELSE '' END AS destination,
                CASE WHEN v.level = 'carrier' THEN d.carrier ELSE '' END AS carrier,
                d.wholesale_currency, d.retail_currency, date_trunc(v.grain, d.start_at, 'UTC') AS bucket,
                sum(d.calls) AS calls, sum(d.answered) AS answered, sum(d.seconds) AS seconds, sum(d.wholesale) AS wholesale, sum(d.retail) AS retail
           FROM d CROSS JOIN ${USAGE_LEVELS}
          WHERE v.level <> 'carrier' OR d.carrier IS NOT NULL
          GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9
       ), taxes AS (
         SELECT t.side, g.grain, d.reseller_id, (x->>'tax_id')::bigint AS tax_id, t.currency, date_trunc(g.grain, d.start_at, 'UTC') AS bucket,
                min(x->>'name') AS tax_name, sum(sign(d.calls))::bigint AS charges,
                sum(sign(d.calls) * (x->>'taxable')::numeric) AS taxable, sum(sign(d.calls) * (x->>'amount')::numeric) AS amount
           FROM d
          CROSS JOIN LATERAL (VALUES ('wholesale', d.wholesale_currency, d.wholesale_taxes), ('retail', d.retail_currency, d.retail_taxes)) AS t(side, currency, taxes)
          CROSS JOIN LATERAL jsonb_array_elements(t.taxes) AS x
          CROSS JOIN (VALUES ('hour'), ('day')) AS g(grain)
          GROUP BY 1, 2, 3, 4, 5, 6
       ), tax_up AS (
         INSERT INTO tax_totals AS t (${TAX_KEY}, tax_name, charges, taxable, amount)
         SELECT ${TAX_KEY}, tax_name, charges, taxable, amount FROM taxes ORDER BY ${TAX_KEY}
         ON CONFLICT (${TAX_KEY}) DO UPDATE
            SET charges = t.charges + excluded.charges, taxable = t.taxable + excluded.taxable, amount = t.amount + excluded.amount
       ), up AS (
         INSERT INTO usage_totals AS t (${USAGE_COLUMNS})
         SELECT ${USAGE_COLUMNS} FROM sums ORDER BY ${USAGE_KEY}
         ON CONFLICT (${USAGE_KEY}) DO UPDATE
            SET calls = t.calls + excluded.calls, answered = t.answered + excluded.answered, seconds = t.seconds + excluded.seconds,
                wholesale = t.wholesale + excluded.wholesale, retail = t.retail + excluded.retail
       )
       SELECT count(*)::int AS n FROM d`,
    )) as { rows: Array<{ n: number }> };
    return rows[0]?.n ?? 0;
  });
}

/**
 * Frees the space of folded deltas. Readers scan usage_deltas whole (it is meant to hold a second
 * of writes), and dead rows are scanned too until a vacuum; autovacuum may be off or late, so the
 * folder asks for it itself. SKIP_LOCKED: a vacuum already running is enough.
 */
export async function vacuumUsageDeltas(db: Queryable): Promise<void> {
  await db.raw('VACUUM (SKIP_LOCKED) usage_deltas');
}

/** pg_try_advisory_xact_lock key of the usage folder (any constant no other lock uses). */
const USAGE_FOLD_LOCK = 7_311_001;
