import type { Knex } from 'knex';
import { listAll, listPage, type ListPage, type ListParams, type ListSpec } from '../../db/list';
import type { Queryable } from '../../db/knex';
import type { RecordPeriod } from '../../domain/records';
import { copyField, copyRows } from '../ledger/copy';

/** A record file as stored (docs/RECORD-FORMATS.md, "Record files"). */
export interface RecordFileRow {
  id: number;
  resellerId: number;
  specId: number;
  specName: string;
  periodStart: Date;
  periodEnd: Date;
  status: 'closing' | 'closed';
  fromCursor: string | null;
  toCursor: string | null;
  progressCursor: string | null;
  chunks: number;
  records: number;
  corrections: number;
  /** Per side and currency: the sum of the totals of original lines and the differences of corrections (numeric text). */
  totals: { wholesale?: Record<string, string>; retail?: Record<string, string> };
  byteSize: number;
  sha256: string | null;
  number: number | null;
  filename: string;
  closedAt: Date | null;
}

const toRow = (r: Record<string, any>): RecordFileRow => ({
  id: Number(r.id), resellerId: Number(r.reseller_id), specId: Number(r.spec_id), specName: r.spec_name ?? '', periodStart: new Date(r.period_start), periodEnd: new Date(r.period_end),
  status: r.status, fromCursor: r.from_cursor, toCursor: r.to_cursor, progressCursor: r.progress_cursor, chunks: Number(r.chunks), records: Number(r.records),
  corrections: Number(r.corrections), totals: r.totals ?? {}, byteSize: Number(r.byte_size), sha256: r.sha256, number: r.number === null ? null : Number(r.number),
  filename: r.filename, closedAt: r.closed_at ? new Date(r.closed_at) : null,
});

const files = (db: Queryable) => db('record_files as f').join('record_specifications as s', 's.id', 'f.spec_id').select('f.*', 's.name as spec_name');

/** Active specs of every reseller with the reseller's zone: what the closing job works through. */
export async function activeSpecs(db: Queryable): Promise<Array<{ id: number; resellerId: number; name: string; period: RecordPeriod; spec: unknown; createdAt: Date; postsFrom: string | null; timeZone: string }>> {
  const rows = (await db('record_specifications as s').join('resellers as r', 'r.id', 's.reseller_id').where('s.active', true)
    .select('s.id', 's.reseller_id', 's.name', 's.period', 's.spec', 's.created_at', 's.posts_from', 'r.time_zone').orderBy('s.id')) as Array<Record<string, any>>;
  return rows.map((r) => ({ id: Number(r.id), resellerId: Number(r.reseller_id), name: r.name, period: r.period, spec: r.spec, createdAt: new Date(r.created_at), postsFrom: r.posts_from ?? null, timeZone: r.time_zone ?? 'UTC' }));
}

export async function closingFileOf(db: Queryable, specId: number): Promise<RecordFileRow | undefined> {
  const r = await files(db).where({ 'f.spec_id': specId, 'f.status': 'closing' }).orderBy('f.period_start').first();
  return r ? toRow(r) : undefined;
}

export async function lastFileOf(db: Queryable, specId: number): Promise<RecordFileRow | undefined> {
  const r = await files(db).where({ 'f.spec_id': specId }).orderBy('f.period_start', 'desc').first();
  return r ? toRow(r) : undefined;
}

export async function fileById(db: Queryable, id: number, opts: { forUpdate?: boolean } = {}): Promise<RecordFileRow | undefined> {
  const q = files(db).where('f.id', id);
  if (opts.forUpdate) q.forUpdate('f');
  const r = await q.first();
  return r ? toRow(r) : undefined;
}

/** A new file of a period, with its first chunk (byte order mark and header); an existing one is left as it is. */
export async function insertFile(db: Queryable, v: { resellerId: number; specId: number; startMs: number; endMs: number; fromCursor: string | null; toCursor: string | null; filename: string; start: Buffer }): Promise<void> {
  const rows = (await db.raw(
    `INSERT INTO record_files (reseller_id, spec_id, period_start, period_end, from_cursor, to_cursor, progress_cursor, filename, chunks)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (spec_id, period_start) DO NOTHING RETURNING id`,
    [v.resellerId, v.specId, new Date(v.startMs), new Date(v.endMs), v.fromCursor, v.toCursor, v.fromCursor, v.filename, v.start.length ? 1 : 0],
  )) as { rows: Array<{ id: string }> };
  const id = rows.rows[0]?.id;
  if (id !== undefined && v.start.length) await db('record_file_chunks').insert({ file_id: id, seq: 0, bytes: v.start });
}

export async function deferredBefore(db: Queryable, specId: number, endMs: number, limit: number): Promise<Array<{ id: number; startMs: number }>> {
  const rows = (await db('record_file_deferred').where('spec_id', specId).where('start_at', '<', new Date(endMs)).orderBy([{ column: 'start_at' }, { column: 'leg_id' }]).limit(limit).select('leg_id', 'start_at')) as Array<Record<string, any>>;
  return rows.map((r) => ({ id: Number(r.leg_id), startMs: new Date(r.start_at).getTime() }));
}

export async function dropDeferred(db: Queryable, specId: number, legIds: number[]): Promise<void> {
  if (legIds.length) await db('record_file_deferred').where('spec_id', specId).whereIn('leg_id', legIds).delete();
}

export async function defer(db: Queryable, specId: number, legs: Array<{ id: number; startMs: number }>): Promise<void> {
  if (!legs.length) return;
  await db('record_file_deferred').insert(legs.map((l) => ({ spec_id: specId, leg_id: l.id, start_at: new Date(l.startMs) }))).onConflict(['spec_id', 'leg_id']).ignore();
}

export interface Entry {
  legId: number;
  fileId: number;
  wholesaleCurrency: string | null;
  wholesaleTotal: string | null;
  retailCurrency: string | null;
  retailTotal: string | null;
}

export async function entriesOf(db: Queryable, specId: number, legIds: number[]): Promise<Map<number, Entry>> {
  const out = new Map<number, Entry>();
  if (!legIds.length) return out;
  // One array parameter, not one per leg: a batch of thousands of ids binds and plans as one value.
  const { rows } = (await db.raw(
    `SELECT leg_id, file_id, wholesale_currency, wholesale_total::text AS wholesale_total, retail_currency, retail_total::text AS retail_total
       FROM record_file_entries WHERE spec_id = ? AND leg_id = ANY(?::bigint[])`,
    [specId, legIds],
  )) as { rows: Array<Record<string, any>> };
  for (const r of rows) {
    out.set(Number(r.leg_id), {
      legId: Number(r.leg_id), fileId: Number(r.file_id), wholesaleCurrency: r.wholesale_currency, wholesaleTotal: r.wholesale_total,
      retailCurrency: r.retail_currency, retailTotal: r.retail_total,
    });
  }
  return out;
}

/** Entries of legs met before (or any, on the embedded database): inserted, or updated where the spec carried the leg already. */
export async function putEntries(db: Queryable, specId: number, entries: Entry[]): Promise<void> {
  if (!entries.length) return;
  // Seven arrays, not seven parameters per entry (a multi-row VALUES of 2,000 entries binds 14,000).
  await db.raw(
    `INSERT INTO record_file_entries (spec_id, leg_id, file_id, wholesale_currency, wholesale_total, retail_currency, retail_total)
     SELECT ?, * FROM unnest(?::bigint[], ?::bigint[], ?::text[], ?::numeric[], ?::text[], ?::numeric[])
     ON CONFLICT (spec_id, leg_id) DO UPDATE SET file_id = excluded.file_id, wholesale_currency = excluded.wholesale_currency,
       wholesale_total = excluded.wholesale_total, retail_currency = excluded.retail_currency, retail_total = excluded.retail_total`,
    [
      specId, entries.map((e) => e.legId), entries.map((e) => e.fileId), entries.map((e) => e.wholesaleCurrency), entries.map((e) => e.wholesaleTotal),
      entries.map((e) => e.retailCurrency), entries.map((e) => e.retailTotal),
    ] as Knex.RawBinding[],
  );
}

const ENTRY_COLUMNS = ['spec_id', 'leg_id', 'file_id', 'wholesale_currency', 'wholesale_total', 'retail_currency', 'retail_total'] as const;

/**
 * Entries of legs the spec has never carried (entriesOf found none, in the transaction that holds
 * the file row locked, so no other closer of the spec writes them meanwhile). `copy`: by COPY FROM
 * STDIN (real Postgres; a daily file is mostly new legs, and COPY is one stream Postgres parses
 * without planning or binding); otherwise the INSERT of putEntries (the embedded database has no
 * COPY FROM STDIN through its socket).
 */
export async function addEntries(db: Queryable, specId: number, entries: Entry[], opts: { copy: boolean }): Promise<void> {
  if (!entries.length) return;
  if (!opts.copy) return putEntries(db, specId, entries);
  const spec = String(specId);
  const lines = entries.map((e) =>
    `${spec}\t${e.legId}\t${e.fileId}\t${copyField(e.wholesaleCurrency)}\t${copyField(e.wholesaleTotal)}\t${copyField(e.retailCurrency)}\t${copyField(e.retailTotal)}\n`);
  await copyRows(db, 'record_file_entries', ENTRY_COLUMNS, lines);
}

/** One batch's bytes and the file's progress, in the batch's transaction. */
export async function appendBatch(db: Queryable, file: RecordFileRow, v: { bytes: Buffer; records: number; corrections: number; totals: RecordFileRow['totals']; progressCursor: string | null }): Promise<void> {
  let chunks = file.chunks;
  if (v.bytes.length) {
    await db('record_file_chunks').insert({ file_id: file.id, seq: chunks, bytes: v.bytes });
    chunks++;
  }
  await db('record_files').where('id', file.id).update({
    chunks, records: file.records + v.records, corrections: file.corrections + v.corrections, totals: JSON.stringify(v.totals), progress_cursor: v.progressCursor,
  });
}

/** The chunks of a file in order, one at a time (constant memory). */
export async function* chunksOf(db: Queryable, fileId: number, count: number): AsyncGenerator<Buffer> {
  for (let seq = 0; seq < count; seq++) {
    const r = await db('record_file_chunks').where({ file_id: fileId, seq }).first('bytes');
    if (r) yield Buffer.from(r.bytes as Buffer);
  }
}

/** The reseller's next file number, under the lock of its counter row (held to commit: numbers commit in order, without gaps). */
export async function nextNumber(db: Queryable, resellerId: number): Promise<number> {
  await db.raw('INSERT INTO record_file_counters (reseller_id) VALUES (?) ON CONFLICT (reseller_id) DO NOTHING', [resellerId]);
  const { rows } = (await db.raw('UPDATE record_file_counters SET last_number = last_number + 1 WHERE reseller_id = ? RETURNING last_number', [resellerId])) as { rows: Array<{ last_number: number }> };
  return Number(rows[0]!.last_number);
}

export async function markClosed(db: Queryable, fileId: number, v: { number: number; sha256: string; byteSize: number }): Promise<void> {
  await db('record_files').where({ id: fileId, status: 'closing' }).update({ status: 'closed', number: v.number, sha256: v.sha256, byte_size: v.byteSize, closed_at: db.fn.now() });
}

/** The reseller's closed files, newest first (the portal), or after a number, oldest first (the API). */
export async function closedFiles(db: Queryable, resellerId: number, opts: { afterNumber?: number; limit: number; newestFirst?: boolean }): Promise<RecordFileRow[]> {
  const q = files(db).where({ 'f.reseller_id': resellerId, 'f.status': 'closed' });
  if (opts.afterNumber !== undefined) q.where('f.number', '>', opts.afterNumber);
  q.orderBy('f.number', opts.newestFirst ? 'desc' : 'asc').limit(opts.limit);
  return ((await q) as Array<Record<string, any>>).map(toRow);
}

/**
 * The portal's list of a reseller's closed files (src/db/list.ts): sortable, keyset paged (an
 * hourly spec makes 8,760 files a year), counted, with the records and corrections summed.
 */
export const FILE_LIST: ListSpec = {
  sorts: {
    number: { sql: 'f.number', kind: 'number' },
    spec: { sql: 'lower(s.name)', kind: 'text' },
    period: { sql: 'f.period_start', kind: 'time' },
    records: { sql: 'f.records', kind: 'number' },
    corrections: { sql: 'f.corrections', kind: 'number' },
    size: { sql: 'f.byte_size', kind: 'number' },
    closed: { sql: 'f.closed_at', kind: 'time' },
  },
  defaultSort: 'number',
  defaultDir: 'desc',
  id: 'f.id',
  totals: { records: 'coalesce(sum(records), 0)', corrections: 'coalesce(sum(corrections), 0)' },
};

const closedOf = (db: Queryable, resellerId: number) => files(db).where({ 'f.reseller_id': resellerId, 'f.status': 'closed' });

export async function listClosedFiles(db: Queryable, resellerId: number, p: ListParams): Promise<ListPage<RecordFileRow>> {
  return listPage(db, closedOf(db, resellerId), FILE_LIST, p, toRow);
}

/** Every closed file of the reseller in the list's order (its CSV). */
export function allClosedFiles(db: Queryable, resellerId: number, p: ListParams): AsyncGenerator<RecordFileRow> {
  return listAll(db, closedOf(db, resellerId), FILE_LIST, p, toRow);
}

/** The totals of all the reseller's closed files, per side and currency (exact numeric text), currencies in order. */
export async function closedTotals(db: Queryable, resellerId: number): Promise<{ wholesale: Array<[string, string]>; retail: Array<[string, string]> }> {
  const { rows } = (await db.raw(
    `SELECT t.side, t.currency, sum(t.amount::numeric)::text AS total
       FROM record_files f
       CROSS JOIN LATERAL (
         SELECT 'wholesale' AS side, key AS currency, value AS amount FROM jsonb_each_text(coalesce(f.totals -> 'wholesale', '{}'::jsonb))
         UNION ALL
         SELECT 'retail', key, value FROM jsonb_each_text(coalesce(f.totals -> 'retail', '{}'::jsonb))
       ) t
      WHERE f.reseller_id = ? AND f.status = 'closed'
      GROUP BY t.side, t.currency
      ORDER BY t.side, t.currency`,
    [resellerId],
  )) as { rows: Array<{ side: string; currency: string; total: string }> };
  const out = { wholesale: [] as Array<[string, string]>, retail: [] as Array<[string, string]> };
  for (const r of rows) (r.side === 'wholesale' ? out.wholesale : out.retail).push([r.currency, r.total]);
  return out;
}

export async function closedFile(db: Queryable, resellerId: number, id: number): Promise<RecordFileRow | undefined> {
  const r = await files(db).where({ 'f.reseller_id': resellerId, 'f.id': id, 'f.status': 'closed' }).first();
  return r ? toRow(r) : undefined;
}

// Keys of the record-files API.

export interface RecordFileKey {
  id: number;
  resellerId: number;
  label: string;
  prefix: string;
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

const toKey = (r: Record<string, any>): RecordFileKey => ({ id: Number(r.id), resellerId: Number(r.reseller_id), label: r.label, prefix: r.prefix, createdAt: r.created_at, lastUsedAt: r.last_used_at, revokedAt: r.revoked_at });

export async function keysOf(db: Queryable, resellerId: number): Promise<RecordFileKey[]> {
  return ((await db('record_file_keys').where('reseller_id', resellerId).orderBy('id', 'desc')) as Array<Record<string, any>>).map(toKey);
}

export async function insertKey(db: Queryable, v: { resellerId: number; label: string; prefix: string; hash: string; createdBy: number | null }): Promise<number> {
  const [row] = await db('record_file_keys').insert({ reseller_id: v.resellerId, label: v.label, prefix: v.prefix, key_hash: v.hash, created_by: v.createdBy }).returning('id');
  return Number((row as { id: number }).id);
}

export async function revokeKey(db: Queryable, resellerId: number, id: number): Promise<boolean> {
  const n = await db('record_file_keys').where({ reseller_id: resellerId, id }).whereNull('revoked_at').update({ revoked_at: db.fn.now() });
  return Number(n) === 1;
}

export async function keyOf(db: Queryable, resellerId: number, id: number): Promise<RecordFileKey | undefined> {
  const r = await db('record_file_keys').where({ reseller_id: resellerId, id }).first();
  return r ? toKey(r) : undefined;
}

/** The live key of this hash (and when it was last used is noted), or undefined. */
export async function liveKeyByHash(db: Queryable, hash: string): Promise<RecordFileKey | undefined> {
  const r = await db('record_file_keys').where({ key_hash: hash }).whereNull('revoked_at').first();
  if (!r) return undefined;
  await db('record_file_keys').where('id', r.id).update({ last_used_at: db.fn.now() });
  return toKey(r);
}
