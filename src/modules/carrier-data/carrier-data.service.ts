import type { Db, Queryable } from '../../db/knex';
import { NotFoundError } from '../../domain/errors';
import { SYSTEM_ACTOR } from '../../domain/tenancy/actor';
import {
  CarrierFileError, carrierRecordKey, parseCarrierFile, previewMapped, sha256Hex, type BadRow, type CarrierParseResult, type CarrierRecord,
} from '../../domain/reconciliation';
import { recordAudit } from '../audit/audit.repository';
import * as carriers from '../carriers/carriers.service';
import { ensurePartitions } from '../ledger/partitions';
import { reconcileAfterFile } from '../reconciliation/reconciliation.service';
import * as repo from './carrier-data.repository';
import { fileMissing } from './deadlines';

export type { CarrierFile, MissingFile } from './carrier-data.repository';
export type Carrier = carriers.Carrier;

/** Records per INSERT: one statement per batch, the arrays of a batch a few megabytes at most. */
export const RECORD_BATCH = 5000;
/** Bad rows listed in an answer (all are stored; the file's page lists them). */
export const ANSWER_BAD_ROWS = 1000;

/** What a file (or stream chunk) came to, as the POST answers it and the upload shows it. */
export interface CarrierFileOutcome {
  fileId: number;
  status: 'stored' | 'refused';
  error: string | null;
  records: number;
  duplicates: number;
  skipped: number;
  badRows: BadRow[];
  badRowCount: number;
}

/** A file as it arrived: its bytes as received, and its text (Content-Encoding and gzip undone). */
export interface ReceivedFile {
  raw: Buffer;
  text: string;
  via: 'post' | 'upload';
  filename?: string | null;
  contentType?: string | null;
  contentEncoding?: string | null;
  sourceIp?: string | null;
  uploadedBy?: number | null;
}

const header = (v: string | string[] | null | undefined) => (v === undefined || v === null ? null : Array.isArray(v) ? v.join(', ') : v);

function fileRow(carrier: Carrier, f: Omit<ReceivedFile, 'text'>, status: 'stored' | 'refused', error: string | null): repo.NewCarrierFile {
  return {
    carrierId: carrier.id, format: carrier.dataFormat, via: f.via, filename: f.filename ?? null, contentType: header(f.contentType), contentEncoding: header(f.contentEncoding),
    body: f.raw, sha256: sha256Hex(f.raw), sourceIp: f.sourceIp ?? null, uploadedBy: f.uploadedBy ?? null, status, error,
  };
}

/**
 * Stores a carrier's file: kept as received, in the same transaction as its records, bad rows and
 * counts, so that what is answered is what was committed. Each record claims its key
 * (carrier_record_keys) and is stored only when the claim is new: a file posted twice stores its
 * records once and is kept as a second receipt whose records are all duplicates. Good rows are
 * stored even when others are bad. A file that cannot be read at all is kept as refused, with the
 * reason, and stores nothing.
 */
export async function receiveCarrierFile(db: Db, carrier: Carrier, f: ReceivedFile): Promise<CarrierFileOutcome> {
  let parsed: CarrierParseResult;
  try {
    parsed = parseCarrierFile(carrier.dataFormat, f.text, { mapping: carrier.csvMapping ?? undefined, currency: carrier.currency });
  } catch (err) {
    if (!(err instanceof CarrierFileError)) throw err;
    return refuseCarrierFile(db, carrier, f, err.line ? `line ${err.line}: ${err.message}` : err.message);
  }
  // The key of a record without the carrier's own id is the file's checksum and the line: the
  // checksum of its text, so a file posted once plain and once gzipped is the same file.
  const checksum = sha256Hex(f.text);
  const keys = parsed.records.map((r) => carrierRecordKey(r, checksum));
  let first = Infinity;
  let last = -Infinity;
  for (const r of parsed.records) {
    const ms = r.startUtc.getTime();
    if (ms < first) first = ms;
    if (ms > last) last = ms;
  }
  // Months first, in their own short transactions (DDL locks the parent table).
  if (parsed.records.length) await ensurePartitions(db, monthsBetween(first, last), ['carrier_records']);
  return db.transaction(async (tx) => {
    const fileId = await repo.insertFile(tx, fileRow(carrier, f, 'stored', null));
    let stored = 0;
    for (let i = 0; i < parsed.records.length; i += RECORD_BATCH) {
      stored += await repo.storeRecordBatch(tx, carrier.id, fileId, parsed.records.slice(i, i + RECORD_BATCH), keys.slice(i, i + RECORD_BATCH));
    }
    await repo.insertBadRows(tx, fileId, parsed.badRows);
    const counts = {
      records: stored, duplicates: parsed.records.length - stored, badRows: parsed.badRows.length, skipped: parsed.skipped.length,
      firstStartAt: parsed.records.length ? new Date(first) : null, lastStartAt: parsed.records.length ? new Date(last) : null,
    };
    await repo.setFileCounts(tx, fileId, counts);
    return { fileId, status: 'stored', error: null, records: stored, duplicates: counts.duplicates, skipped: counts.skipped, badRows: parsed.badRows.slice(0, ANSWER_BAD_ROWS), badRowCount: parsed.badRows.length };
  });
}

/** The first instant of every month from `first` to `last` (the partitions a file needs). */
function monthsBetween(first: number, last: number): number[] {
  const out: number[] = [];
  const d = new Date(first);
  let y = d.getUTCFullYear();
  let m = d.getUTCMonth();
  for (;;) {
    const start = Date.UTC(y, m, 1);
    if (start > last) break;
    out.push(Math.max(start, first));
    m++;
    if (m === 12) {
      m = 0;
      y++;
    }
  }
  return out;
}

/** Keeps a file that cannot be read at all (not the carrier's format, not UTF-8, not gzip it claims to be) as refused, with why. */
export async function refuseCarrierFile(db: Queryable, carrier: Carrier, f: Omit<ReceivedFile, 'text'>, error: string): Promise<CarrierFileOutcome> {
  const fileId = await repo.insertFile(db, fileRow(carrier, f, 'refused', error));
  return { fileId, status: 'refused', error, records: 0, duplicates: 0, skipped: 0, badRows: [], badRowCount: 0 };
}

/** The carrier a posting credential belongs to (see carriers.service). */
export const carrierByCredential = carriers.carrierByCredential;

// ---- Reads ----

export type FileFilter = repo.FileFilter;
/** A page of a carrier's received files, with the count and totals over all that match. */
export const listFiles = (db: Queryable, carrierId: number, f: FileFilter) => repo.listFiles(db, carrierId, f);
/** Every file of the filter, in the list's order (its CSV). */
export const allFiles = (db: Queryable, carrierId: number, f: FileFilter) => repo.allFiles(db, carrierId, f);
/** The carrier (for the pages), not found when there is none. */
export const carrierOrThrow = (db: Queryable, id: number) => carriers.getOrThrow(db, id);

/** A file of that carrier; another carrier's, or none, is not found. */
export async function fileOrThrow(db: Queryable, carrierId: number, fileId: number): Promise<repo.CarrierFile> {
  const f = await repo.getFile(db, carrierId, fileId);
  if (!f) throw new NotFoundError();
  return f;
}

export async function fileBodyOrThrow(db: Queryable, carrierId: number, fileId: number): Promise<Buffer> {
  const b = await repo.fileBody(db, carrierId, fileId);
  if (!b) throw new NotFoundError();
  return b;
}

/** The first bad rows of a file, by line. */
export const badRowsOf = (db: Queryable, fileId: number, limit = 5000): Promise<BadRow[]> => repo.badRowsOf(db, fileId, limit);

/** The missed deadlines recorded for a carrier, latest first. */
export const missingFilesOf = (db: Queryable, carrierId: number, limit = 30) => repo.missingOf(db, carrierId, limit);

/** The carrier ids whose file is missing now (see deadlines.ts), with the deadline each missed. */
export async function missingNow(db: Queryable, list: readonly Carrier[], nowMs = Date.now()): Promise<Map<number, Date>> {
  const last = await repo.lastReceived(db);
  const out = new Map<number, Date>();
  for (const c of list) {
    const m = fileMissing(c, last.get(c.id), nowMs);
    if (m.missing && m.dueAt) out.set(c.id, m.dueAt);
  }
  return out;
}

/**
 * The scheduled watch: every carrier whose file is missing now gets its missed deadline recorded
 * (once per deadline) and an audit row saying so. Answers the carriers newly recorded.
 */
export async function recordMissingFiles(db: Db, nowMs = Date.now()): Promise<Array<{ carrierId: number; name: string; dueAt: Date }>> {
  const all = await carriers.listCarriers(db);
  const missing = await missingNow(db, all, nowMs);
  const out: Array<{ carrierId: number; name: string; dueAt: Date }> = [];
  for (const c of all) {
    const dueAt = missing.get(c.id);
    if (!dueAt) continue;
    await db.transaction(async (tx) => {
      if (!(await repo.recordMissing(tx, c.id, dueAt))) return;
      await recordAudit(tx, SYSTEM_ACTOR, { resellerId: null, entityType: 'carrier', entityId: c.id, action: 'file_missing', after: { due_at: dueAt.toISOString(), file_due_at: c.fileDueAt, file_due_zone: c.fileDueZone } });
      out.push({ carrierId: c.id, name: c.name, dueAt });
    });
  }
  return out;
}

/** The mapped-CSV preview (domain previewMapped), re-exported for the carrier form's route. */
export { previewMapped };
export type { CarrierRecord };

/**
 * The automatic reconciliation of received files: per carrier, the months its newly stored files'
 * records touch are reconciled (one automatic run per carrier and month, replacing the previous),
 * then the files are marked. A failure leaves them unmarked, to be taken on the next run.
 */
export async function reconcileReceivedFiles(db: Db, opts: { signal?: AbortSignal } = {}): Promise<{ files: number; runs: number }> {
  let files = 0;
  let runs = 0;
  for (;;) {
    opts.signal?.throwIfAborted();
    const batch = await repo.filesToReconcile(db);
    if (!batch.length) break;
    const byCarrier = new Map<number, { from: number; to: number; ids: number[] }>();
    for (const f of batch) {
      const c = byCarrier.get(f.carrierId) ?? { from: Infinity, to: -Infinity, ids: [] };
      c.from = Math.min(c.from, f.firstStartAt.getTime());
      c.to = Math.max(c.to, f.lastStartAt.getTime() + 1);
      c.ids.push(f.id);
      byCarrier.set(f.carrierId, c);
    }
    for (const [carrierId, c] of byCarrier) {
      runs += (await reconcileAfterFile(db, carrierId, c.from, c.to)).length;
      await repo.markReconciled(db, c.ids);
      files += c.ids.length;
    }
  }
  return { files, runs };
}
