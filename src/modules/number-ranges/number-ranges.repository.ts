import type { Queryable } from '../../db/knex';

/** A range of E.164 numbers the operator gave a reseller: first to last, both included, of one length. */
export interface NumberRange {
  id: number;
  resellerId: number;
  firstNumber: string;
  lastNumber: string;
  createdAt: Date;
}

export interface NumberRangeInUse extends NumberRange {
  /** Numbers of the range active on the reseller's subscribers now. */
  inUse: number;
}

function toRange(r: Record<string, any>): NumberRange {
  return { id: Number(r.id), resellerId: Number(r.reseller_id), firstNumber: r.first_number, lastNumber: r.last_number, createdAt: r.created_at };
}

/** Active numbers of the reseller inside the range r (aliased). */
const IN_USE = `(select count(*)::int from phone_numbers n where n.reseller_id = r.reseller_id and n.released_at is null and r.span @> e164_key(n.number))`;

export async function listRanges(db: Queryable, resellerId: number): Promise<NumberRangeInUse[]> {
  const rows = await db('number_ranges as r').where('r.reseller_id', resellerId).select('r.*', db.raw(`${IN_USE} as in_use`)).orderBy(['r.first_number', 'r.id']);
  return rows.map((r: Record<string, any>) => ({ ...toRange(r), inUse: r.in_use }));
}

export async function getRange(db: Queryable, resellerId: number, id: number, opts: { forUpdate?: boolean } = {}): Promise<NumberRangeInUse | undefined> {
  const q = db('number_ranges as r').where({ 'r.reseller_id': resellerId, 'r.id': id }).select('r.*', db.raw(`${IN_USE} as in_use`)).first();
  if (opts.forUpdate) q.forUpdate();
  const row = await q;
  return row ? { ...toRange(row), inUse: row.in_use } : undefined;
}

/**
 * The reseller's range that holds the number, or undefined. `lock`: keeps the range from being
 * removed until the caller's transaction ends (an assignment holds it while it inserts).
 */
export async function rangeOf(db: Queryable, resellerId: number, number: string, opts: { lock?: boolean } = {}): Promise<NumberRange | undefined> {
  const q = db('number_ranges').where('reseller_id', resellerId).whereRaw('span @> e164_key(?)', [number]).first();
  if (opts.lock) q.forShare();
  const row = await q;
  return row ? toRange(row) : undefined;
}

/** Ranges of any reseller that share a number with first..last (for the operator: names them). */
export async function overlapping(db: Queryable, first: string, last: string): Promise<Array<NumberRange & { resellerName: string }>> {
  const rows = await db('number_ranges as r')
    .join('resellers as s', 's.id', 'r.reseller_id')
    .whereRaw(`r.span && int8range(e164_key(?), e164_key(?), '[]')`, [first, last])
    .select('r.*', 's.name as reseller_name')
    .orderBy('r.first_number');
  return rows.map((r: Record<string, any>) => ({ ...toRange(r), resellerName: r.reseller_name }));
}

/** Active numbers within first..last held by subscribers of other resellers than this one. */
export async function heldByOthers(db: Queryable, resellerId: number, first: string, last: string): Promise<Array<{ number: string; resellerName: string }>> {
  const rows = await db('phone_numbers as n')
    .join('resellers as s', 's.id', 'n.reseller_id')
    .whereNull('n.released_at')
    .whereNot('n.reseller_id', resellerId)
    .whereRaw(`int8range(e164_key(?), e164_key(?), '[]') @> e164_key(n.number)`, [first, last])
    .select('n.number', 's.name as reseller_name')
    .orderBy('n.number')
    .limit(6);
  return rows.map((r: Record<string, any>) => ({ number: r.number, resellerName: r.reseller_name }));
}

export async function insertRange(db: Queryable, resellerId: number, first: string, last: string): Promise<NumberRange> {
  const [row] = await db('number_ranges').insert({ reseller_id: resellerId, first_number: first, last_number: last }).returning('*');
  return toRange(row);
}

export async function deleteRange(db: Queryable, resellerId: number, id: number): Promise<void> {
  await db('number_ranges').where({ reseller_id: resellerId, id }).del();
}

/** Which of these numbers lie in one of the reseller's ranges, those ranges locked FOR SHARE (as rangeOf with lock, for many). */
export async function inRanges(db: Queryable, resellerId: number, numbers: string[]): Promise<Set<string>> {
  if (!numbers.length) return new Set();
  await db.raw(`SELECT r.id FROM number_ranges r WHERE r.reseller_id = ? AND EXISTS (SELECT 1 FROM unnest(?::text[]) AS n(number) WHERE r.span @> e164_key(n.number)) FOR SHARE`, [resellerId, numbers]);
  const { rows } = await db.raw(
    `SELECT n.number FROM unnest(?::text[]) AS n(number) WHERE EXISTS (SELECT 1 FROM number_ranges r WHERE r.reseller_id = ? AND r.span @> e164_key(n.number))`,
    [numbers, resellerId],
  );
  return new Set(rows.map((r: { number: string }) => r.number));
}
