import type { Db, Queryable } from '../../db/knex';
import { listAll, listPage, type ListPage, type ListParams, type ListSpec } from '../../db/list';
import type { BadRow, CarrierRecord } from '../../domain/reconciliation';
import { copyLine, copyRows, escapeMask } from '../ledger/copy';

/** A carrier's file as received (or a stream chunk): who sent it, how, and what came of it. */
export interface CarrierFile {
  id: number;
  carrierId: number;
  format: string;
  via: 'post' | 'upload';
  filename: string | null;
  contentType: string | null;
  contentEncoding: string | null;
  byteSize: number;
  sha256: string;
  sourceIp: string | null;
  uploadedBy: number | null;
  uploadedByName: string | null;
  receivedAt: Date;
  status: 'stored' | 'refused';
  error: string | null;
  records: number;
  duplicates: number;
  badRows: number;
  skipped: number;
  firstStartAt: Date | null;
  lastStartAt: Date | null;
}

export interface NewCarrierFile {
  carrierId: number;
  format: string;
  via: 'post' | 'upload';
  filename: string | null;
  contentType: string | null;
  contentEncoding: string | null;
  body: Buffer;
  sha256: string;
  sourceIp: string | null;
  uploadedBy: number | null;
  status: 'stored' | 'refused';
  error: string | null;
}

const FILE_COLUMNS = [
  'f.id', 'f.carrier_id', 'f.format', 'f.via', 'f.filename', 'f.content_type', 'f.content_encoding', 'f.byte_size', 'f.sha256', 'f.source_ip', 'f.uploaded_by',
  'f.received_at', 'f.status', 'f.error', 'f.records', 'f.duplicates', 'f.bad_rows', 'f.skipped', 'f.first_start_at', 'f.last_start_at', 'u.name as uploaded_by_name',
];

function toFile(r: Record<string, any>): CarrierFile {
  return {
    id: Number(r.id), carrierId: Number(r.carrier_id), format: r.format, via: r.via, filename: r.filename, contentType: r.content_type, contentEncoding: r.content_encoding,
    byteSize: Number(r.byte_size), sha256: r.sha256, sourceIp: r.source_ip ?? null, uploadedBy: r.uploaded_by === null ? null : Number(r.uploaded_by), uploadedByName: r.uploaded_by_name ?? null,
    receivedAt: r.received_at, status: r.status, error: r.error, records: r.records, duplicates: r.duplicates, badRows: r.bad_rows, skipped: r.skipped,
    firstStartAt: r.first_start_at, lastStartAt: r.last_start_at,
  };
}

export async function insertFile(db: Queryable, f: NewCarrierFile): Promise<number> {
  const [row] = await db('carrier_files')
    .insert({
      carrier_id: f.carrierId, format: f.format, via: f.via, filename: f.filename, content_type: f.contentType, content_encoding: f.contentEncoding, body: f.body,
      byte_size: f.body.length, sha256: f.sha256, source_ip: f.sourceIp, uploaded_by: f.uploadedBy, status: f.status, error: f.error,
    })
    .returning('id');
  return Number((row as { id: number }).id);
}

export async function setFileCounts(db: Queryable, fileId: number, c: { records: number; duplicates: number; badRows: number; skipped: number; firstStartAt: Date | null; lastStartAt: Date | null }): Promise<void> {
  await db('carrier_files').where('id', fileId).update({ records: c.records, duplicates: c.duplicates, bad_rows: c.badRows, skipped: c.skipped, first_start_at: c.firstStartAt, last_start_at: c.lastStartAt });
}

// ---- A file's records, batch by batch ----

const RECORD_COLUMNS = ['carrier_id', 'record_key', 'carrier_record_id', 'calling', 'called', 'start_at', 'seconds', 'cost', 'currency', 'rate', 'file_id', 'line', 'raw'] as const;
const RECORD_ESCAPE = escapeMask(RECORD_COLUMNS, ['record_key', 'carrier_record_id', 'calling', 'called', 'currency', 'raw']);
const KEY_COLUMNS = ['carrier_id', 'record_key', 'start_at', 'file_id'] as const;
const KEY_ESCAPE = escapeMask(KEY_COLUMNS, ['record_key']);
const BAD_COLUMNS = ['file_id', 'line', 'reason', 'raw'] as const;
const BAD_ESCAPE = escapeMask(BAD_COLUMNS, ['reason', 'raw']);

/** A key of the batch was claimed already (by another file, or by a transaction since we looked): see storeBatchByCopy. */
export class KeyClaimedAlready extends Error {}

/**
 * A batch of a file on a server: the keys of the batch claimed already are looked up when `probe`
 * (one index descent each), and the others claimed and their records written by COPY FROM STDIN,
 * the bad rows too. COPY cannot skip a row: a key claimed already that was not looked up (no
 * probe, or claimed by another transaction since we looked: the same records posted twice at
 * once) fails the COPY with a unique violation, which aborts the transaction; that is answered by
 * KeyClaimedAlready, and the caller stores the file again the slow way (INSERT ... ON CONFLICT DO
 * NOTHING). The months of the records must have their partitions. The file's keys are distinct (a
 * record id given twice is a bad row), so a claim stores one record. Answers how many records
 * were stored and how many of the batch's keys were found claimed.
 */
export async function storeBatchByCopy(
  tx: Queryable, carrierId: number, fileId: number, records: readonly CarrierRecord[], keys: readonly string[], bad: readonly BadRow[], probe: boolean,
): Promise<{ stored: number; found: number }> {
  let stored = 0;
  let found = 0;
  if (records.length) {
    // ON CONFLICT DO NOTHING of a batch's keys cost twice the COPY of its records (a speculative
    // insertion per key): looking first (or not at all) and copying the new ones costs a fraction.
    let taken: Set<string> | null = null;
    if (probe) {
      // One index descent per key, whatever the statistics say (a seq scan per batch would read the
      // keys this very file has claimed so far, again and again).
      const res = (await tx.raw(
        `SELECT t.key FROM unnest(?::text[]) AS t(key)
           CROSS JOIN LATERAL (SELECT 1 FROM carrier_record_keys k WHERE k.carrier_id = ? AND k.record_key = t.key COLLATE "C" LIMIT 1) AS claimed`,
        [[...keys], carrierId] as never,
      )) as { rows: Array<{ key: string }> };
      found = res.rows.length;
      if (found) taken = new Set(res.rows.map((r) => r.key));
    }
    const keyLines: string[] = [];
    const lines: string[] = [];
    for (let i = 0; i < records.length; i++) {
      const key = keys[i] as string;
      if (taken?.has(key)) continue;
      const r = records[i] as CarrierRecord;
      const start = r.startUtc.toISOString();
      keyLines.push(copyLine([carrierId, key, start, fileId], KEY_ESCAPE));
      lines.push(copyLine([carrierId, key, r.carrierRecordId, r.calling, r.called, start, r.secondsBilled, r.cost, r.currency, r.rate, fileId, r.line, r.raw], RECORD_ESCAPE));
    }
    try {
      await copyRows(tx, 'carrier_record_keys', KEY_COLUMNS, keyLines);
    } catch (err) {
      if ((err as { code?: string }).code === '23505') throw new KeyClaimedAlready('a record key of the batch was claimed already');
      throw err;
    }
    await copyRows(tx, 'carrier_records', RECORD_COLUMNS, lines);
    stored = lines.length;
  }
  if (bad.length) await copyRows(tx, 'carrier_file_bad_rows', BAD_COLUMNS, bad.map((b) => copyLine([fileId, b.line, b.reason, b.raw], BAD_ESCAPE)));
  return { stored, found };
}

/**
 * A batch of a file on the embedded database (no COPY through its socket): the records claim
 * their keys and the new ones are stored in one statement (unnest of one array per column).
 * Returns how many were stored.
 */
export async function storeRecordBatch(db: Queryable, carrierId: number, fileId: number, records: readonly CarrierRecord[], keys: readonly string[]): Promise<number> {
  if (records.length === 0) return 0;
  const col = <T>(f: (r: CarrierRecord) => T) => records.map(f);
  const res = (await db.raw(
    `WITH input AS (
       SELECT * FROM unnest(?::text[], ?::text[], ?::text[], ?::text[], ?::timestamptz[], ?::int[], ?::numeric[], ?::text[], ?::numeric[], ?::int[], ?::text[])
         AS t(record_key, carrier_record_id, calling, called, start_at, seconds, cost, currency, rate, line, raw)
     ), claimed AS (
       INSERT INTO carrier_record_keys (carrier_id, record_key, start_at, file_id)
       SELECT ?, record_key, start_at, ? FROM input
       ON CONFLICT DO NOTHING
       RETURNING record_key
     ), stored AS (
       INSERT INTO carrier_records (carrier_id, record_key, carrier_record_id, calling, called, start_at, seconds, cost, currency, rate, file_id, line, raw)
       SELECT ?, i.record_key, i.carrier_record_id, i.calling, i.called, i.start_at, i.seconds, i.cost, i.currency, i.rate, ?, i.line, i.raw
         FROM input i JOIN claimed c ON c.record_key = i.record_key COLLATE "C"
       RETURNING 1
     )
     SELECT count(*)::int AS n FROM stored`,
    [
      [...keys], col((r) => r.carrierRecordId), col((r) => r.calling), col((r) => r.called), col((r) => r.startUtc.toISOString()), col((r) => r.secondsBilled),
      col((r) => r.cost), col((r) => r.currency), col((r) => r.rate), col((r) => r.line), col((r) => r.raw),
      carrierId, fileId, carrierId, fileId,
    ] as never,
  )) as { rows: Array<{ n: number }> };
  return Number(res.rows[0]?.n ?? 0);
}

/** Bad rows of a file, one statement (the embedded database's way). */
export async function insertBadRows(db: Queryable, fileId: number, rows: readonly BadRow[]): Promise<void> {
  if (rows.length === 0) return;
  await db.raw(
    `INSERT INTO carrier_file_bad_rows (file_id, line, reason, raw)
     SELECT ?, line, reason, raw FROM unnest(?::int[], ?::text[], ?::text[]) AS t(line, reason, raw)
     ON CONFLICT DO NOTHING`,
    [fileId, rows.map((r) => r.line), rows.map((r) => r.reason), rows.map((r) => r.raw)] as never,
  );
}

// ---- Staging of a file's rows ----
//
// When a file's records reach a month with no partition after some were stored (see the service),
// the file is read again into two temporary tables of the storing transaction (dropped at its end)
// without touching carrier_records or carrier_record_keys; once the whole file is read and its
// months' partitions made, its records claim their keys and are stored by one set-based
// statement. The temporary tables name their columns rather than copying carrier_records' (LIKE
// would lock carrier_records until the commit, and the partitions are made on another connection).

const STAGE = 'carrier_import_stage';
const STAGE_COLUMNS = ['record_key', 'carrier_record_id', 'calling', 'called', 'start_at', 'seconds', 'cost', 'currency', 'rate', 'line', 'raw'] as const;
const STAGE_ESCAPE = escapeMask(STAGE_COLUMNS, ['record_key', 'carrier_record_id', 'calling', 'called', 'currency', 'raw']);
const STAGE_BAD = 'carrier_import_bad';
const STAGE_BAD_COLUMNS = ['line', 'reason', 'raw'] as const;
const STAGE_BAD_ESCAPE = escapeMask(STAGE_BAD_COLUMNS, ['reason', 'raw']);

/** The transaction's staging tables, empty (made once per transaction, dropped at its end). */
export async function openStage(tx: Queryable): Promise<void> {
  await tx.raw(`CREATE TEMPORARY TABLE ${STAGE} (
    record_key text NOT NULL, carrier_record_id text, calling text, called text NOT NULL, start_at timestamptz NOT NULL, seconds integer NOT NULL,
    cost numeric NOT NULL, currency text NOT NULL, rate numeric, line integer NOT NULL, raw text NOT NULL
  ) ON COMMIT DROP`);
  await tx.raw(`CREATE TEMPORARY TABLE ${STAGE_BAD} (line integer NOT NULL, reason text NOT NULL, raw text NOT NULL) ON COMMIT DROP`);
}

/** Stages a batch of records (with their keys) and bad rows, by COPY FROM STDIN (a server only). */
export async function stageBatch(tx: Queryable, records: readonly CarrierRecord[], keys: readonly string[], bad: readonly BadRow[]): Promise<void> {
  if (records.length) {
    const lines = new Array<string>(records.length);
    for (let i = 0; i < records.length; i++) {
      const r = records[i] as CarrierRecord;
      lines[i] = copyLine([keys[i], r.carrierRecordId, r.calling, r.called, r.startUtc.toISOString(), r.secondsBilled, r.cost, r.currency, r.rate, r.line, r.raw], STAGE_ESCAPE);
    }
    await copyRows(tx, STAGE, STAGE_COLUMNS, lines);
  }
  if (bad.length) await copyRows(tx, STAGE_BAD, STAGE_BAD_COLUMNS, bad.map((b) => copyLine([b.line, b.reason, b.raw], STAGE_BAD_ESCAPE)));
}

/**
 * The staged records claim their keys (carrier_record_keys) and those whose claim is new are
 * stored, in one statement: a key already claimed, by another file or an earlier post of this
 * one, stores nothing. The file's keys are distinct (a record id given twice is a bad row), so a
 * claim stores one record. Returns how many records were stored.
 */
export async function storeStagedRecords(tx: Queryable, carrierId: number, fileId: number): Promise<number> {
  // Temporary tables have no statistics unless asked: the join's plan wants the row count.
  await tx.raw(`ANALYZE ${STAGE}`);
  const res = (await tx.raw(
    `WITH claimed AS (
       INSERT INTO carrier_record_keys (carrier_id, record_key, start_at, file_id)
       SELECT ?, record_key, start_at, ? FROM ${STAGE}
       ON CONFLICT DO NOTHING
       RETURNING record_key
     )
     INSERT INTO carrier_records (carrier_id, record_key, carrier_record_id, calling, called, start_at, seconds, cost, currency, rate, file_id, line, raw)
     SELECT ?, s.record_key, s.carrier_record_id, s.calling, s.called, s.start_at, s.seconds, s.cost, s.currency, s.rate, ?, s.line, s.raw
       FROM ${STAGE} s JOIN claimed c ON c.record_key = s.record_key COLLATE "C"`,
    [carrierId, fileId, carrierId, fileId],
  )) as { rowCount: number | null };
  return Number(res.rowCount ?? 0);
}

/** The staged bad rows, the file's. */
export async function storeStagedBadRows(tx: Queryable, fileId: number): Promise<void> {
  await tx.raw(`INSERT INTO carrier_file_bad_rows (file_id, line, reason, raw) SELECT ?, line, reason, raw FROM ${STAGE_BAD} ON CONFLICT DO NOTHING`, [fileId]);
}

/** Which of these tables do not exist (yet). Takes no lock: a name looked up, not a table opened. */
export async function missingTables(db: Queryable, names: readonly string[]): Promise<string[]> {
  if (!names.length) return [];
  const res = (await db.raw(`SELECT n FROM unnest(?::text[]) AS t(n) WHERE to_regclass(n) IS NULL`, [[...names]] as never)) as { rows: Array<{ n: string }> };
  return res.rows.map((r) => r.n);
}

/** A carrier's received files: sortable columns and totals (src/db/list.ts). Newest first unless asked. */
export const FILE_LIST: ListSpec = {
  sorts: {
    received: { sql: 'f.received_at', kind: 'time' },
    via: { sql: 'f.via', kind: 'text' },
    filename: { sql: "lower(coalesce(f.filename, ''))", kind: 'text' },
    status: { sql: 'f.status', kind: 'text' },
    records: { sql: 'f.records', kind: 'number' },
    duplicates: { sql: 'f.duplicates', kind: 'number' },
    bad: { sql: 'f.bad_rows', kind: 'number' },
    size: { sql: 'f.byte_size', kind: 'number' },
  },
  defaultSort: 'received',
  defaultDir: 'desc',
  id: 'f.id',
  totals: { records: 'sum(records)', duplicates: 'sum(duplicates)', bad_rows: 'sum(bad_rows)', skipped: 'sum(skipped)', bytes: 'sum(byte_size)', refused: "count(*) FILTER (WHERE status = 'refused')" },
};

export interface FileFilter extends ListParams {
  status?: 'stored' | 'refused';
}

function filteredFiles(db: Queryable, carrierId: number, f: FileFilter) {
  const q = db('carrier_files as f').leftJoin('users as u', 'u.id', 'f.uploaded_by').where('f.carrier_id', carrierId).select(FILE_COLUMNS);
  if (f.status) q.where('f.status', f.status);
  return q;
}

export function listFiles(db: Queryable, carrierId: number, f: FileFilter): Promise<ListPage<CarrierFile>> {
  return listPage(db, filteredFiles(db, carrierId, f), FILE_LIST, f, toFile);
}

export function allFiles(db: Queryable, carrierId: number, f: FileFilter): AsyncGenerator<CarrierFile> {
  return listAll(db, filteredFiles(db, carrierId, f), FILE_LIST, f, toFile);
}

export async function getFile(db: Queryable, carrierId: number, fileId: number): Promise<CarrierFile | undefined> {
  const row = await db('carrier_files as f').leftJoin('users as u', 'u.id', 'f.uploaded_by').where({ 'f.carrier_id': carrierId, 'f.id': fileId }).first(FILE_COLUMNS);
  return row ? toFile(row) : undefined;
}

export async function fileBody(db: Queryable, carrierId: number, fileId: number): Promise<Buffer | undefined> {
  const row = await db('carrier_files').where({ carrier_id: carrierId, id: fileId }).first('body');
  return row ? (row.body as Buffer) : undefined;
}

export async function badRowsOf(db: Queryable, fileId: number, limit: number): Promise<BadRow[]> {
  const rows = await db('carrier_file_bad_rows').where('file_id', fileId).orderBy('line').limit(limit).select('line', 'reason', 'raw');
  return rows.map((r: any) => ({ line: r.line, reason: r.reason, raw: r.raw }));
}

/** When each carrier last had a file stored (refused files do not count as received). */
export async function lastReceived(db: Queryable): Promise<Map<number, Date>> {
  const rows = (await db('carrier_files').where('status', 'stored').groupBy('carrier_id').select('carrier_id', db.raw('max(received_at) AS at'))) as Array<{ carrier_id: string | number; at: Date }>;
  return new Map(rows.map((r) => [Number(r.carrier_id), new Date(r.at)]));
}

// ---- Missing files ----

export interface MissingFile {
  carrierId: number;
  dueAt: Date;
  recordedAt: Date;
}

/** Records a carrier's missed deadline once (a second run for the same deadline records nothing). Returns true when new. */
export async function recordMissing(db: Queryable, carrierId: number, dueAt: Date): Promise<boolean> {
  const rows = await db('carrier_missing_files').insert({ carrier_id: carrierId, due_at: dueAt }).onConflict(['carrier_id', 'due_at']).ignore().returning('carrier_id');
  return rows.length > 0;
}

export async function missingOf(db: Queryable, carrierId: number, limit: number): Promise<MissingFile[]> {
  const rows = await db('carrier_missing_files').where('carrier_id', carrierId).orderBy('due_at', 'desc').limit(limit);
  return rows.map((r: any) => ({ carrierId: Number(r.carrier_id), dueAt: r.due_at, recordedAt: r.recorded_at }));
}

export type { Db };

/** Stored files with records the automatic reconciliation has not taken yet, oldest first. */
export async function filesToReconcile(db: Queryable, limit = 100): Promise<Array<{ id: number; carrierId: number; firstStartAt: Date; lastStartAt: Date }>> {
  const rows = (await db('carrier_files').whereNull('reconciled_at').where({ status: 'stored' }).where('records', '>', 0)
    .orderBy('id').limit(limit).select('id', 'carrier_id', 'first_start_at', 'last_start_at')) as Array<Record<string, any>>;
  return rows.map((r) => ({ id: Number(r.id), carrierId: Number(r.carrier_id), firstStartAt: new Date(r.first_start_at), lastStartAt: new Date(r.last_start_at) }));
}

export async function markReconciled(db: Queryable, ids: number[]): Promise<void> {
  if (ids.length) await db('carrier_files').whereIn('id', ids).update({ reconciled_at: db.fn.now() });
}
