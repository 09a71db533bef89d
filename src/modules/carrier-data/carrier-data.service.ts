import { isEmbeddedDb, withOwnConnection, type Db, type Queryable, type Tx } from '../../db/knex';
import { NotFoundError } from '../../domain/errors';
import { SYSTEM_ACTOR } from '../../domain/tenancy/actor';
import {
  CarrierFileError, carrierRecordKey, previewMapped, readCarrierBatches, sha256Hex, type BadRow, type CarrierParseResult, type CarrierRecord,
} from '../../domain/reconciliation';
import { recordAudit } from '../audit/audit.repository';
import * as carriers from '../carriers/carriers.service';
import { ensurePartitions, monthOf } from '../ledger/partitions';
import { reconcileAfterFile } from '../reconciliation/reconciliation.service';
import * as repo from './carrier-data.repository';
import { fileMissing } from './deadlines';

export type { CarrierFile, MissingFile } from './carrier-data.repository';
export type Carrier = carriers.Carrier;

/** Records (and bad rows) read and staged at a time: one COPY per batch, a few megabytes at most. */
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
 *
 * The file is read and stored batch by batch (`batch` records and bad rows, RECORD_BATCH unless
 * a test asks): a million-row file is never held as a million records, and each batch is written
 * (COPY on a server) while the next is read.
 */
export async function receiveCarrierFile(db: Db, carrier: Carrier, f: ReceivedFile, opts: { batch?: number } = {}): Promise<CarrierFileOutcome> {
  // The key of a record without the carrier's own id is the file's checksum and the line: the
  // checksum of its text, so a file posted once plain and once gzipped is the same file.
  const checksum = sha256Hex(f.text);
  const size = opts.batch ?? RECORD_BATCH;
  const read = () => readCarrierBatches(carrier.dataFormat, f.text, { mapping: carrier.csvMapping ?? undefined, currency: carrier.currency }, Math.min(size, PARSE_SLICE));
  let batches = read();
  // The file's errors (its header, a mapping missing) come with the first batch, before any write.
  let head: IteratorResult<CarrierParseResult, void>;
  try {
    head = batches.next();
  } catch (err) {
    if (!(err instanceof CarrierFileError)) throw err;
    return refuseCarrierFile(db, carrier, f, err.line ? `line ${err.line}: ${err.message}` : err.message);
  }
  if (isEmbeddedDb(db)) return storeFile(db, carrier, f, checksum, writeBatches(head, batches, size), 'embedded');
  try {
    return await storeFile(db, carrier, f, checksum, writeBatches(head, batches, size), 'copy');
  } catch (err) {
    if (!(err instanceof MonthWithoutPartition || err instanceof repo.KeyClaimedAlready)) throw err;
  }
  // Rolled back: read again, staged whole, its months' partitions made and its keys claimed by
  // INSERT ... ON CONFLICT DO NOTHING (which skips a claimed key, and waits for a claim in flight
  // rather than failing).
  batches = read();
  head = batches.next();
  return storeFile(db, carrier, f, checksum, writeBatches(head, batches, size), 'staged');
}

/** Rows parsed at a stretch: between two, the event loop runs (see writeBatches). */
const PARSE_SLICE = 1000;

/**
 * The file's slices gathered into batches of `size` records and bad rows to write. Between two
 * slices the event loop runs, so that the batch being written meanwhile gets its next statement
 * sent (its keys' COPY done, its records' COPY starts) while this one is read: a batch parsed at
 * one stretch would leave Postgres idle once the statement in hand was done.
 */
async function* writeBatches(head: IteratorResult<CarrierParseResult, void>, slices: Generator<CarrierParseResult, void, undefined>, size: number): AsyncGenerator<CarrierParseResult, void, undefined> {
  let batch: CarrierParseResult = { records: [], badRows: [], skipped: [] };
  for (let it = head; !it.done; it = slices.next()) {
    for (const r of it.value.records) batch.records.push(r);
    for (const b of it.value.badRows) batch.badRows.push(b);
    for (const k of it.value.skipped) batch.skipped.push(k);
    if (batch.records.length + batch.badRows.length >= size) {
      yield batch;
      batch = { records: [], badRows: [], skipped: [] };
    }
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  if (batch.records.length || batch.badRows.length || batch.skipped.length) yield batch;
}

/** A batch reached a month with no partition after records of the file were stored (see storeFile). */
class MonthWithoutPartition extends Error {}

/**
 * How a file's batches are stored:
 * - 'copy' (a server): each batch's keys and new records written by COPY straight into
 *   carrier_record_keys and carrier_records, while the next batch is read. The keys claimed
 *   already are looked up for the first batch, and for every batch after one that had some (a
 *   re-post, a file overlapping an earlier one); a file whose first batch is all new is taken to
 *   be new, and its later batches are not looked up.
 * - 'staged' (a server, when 'copy' met a new month mid-file, or a key claimed already that it did
 *   not look up): each batch staged (COPY into temporary tables), then the partitions of every
 *   month, then one set-based move claiming keys by INSERT ... ON CONFLICT DO NOTHING.
 * - 'embedded' (PGlite, one session, no COPY): each batch's partitions made in the transaction,
 *   then its records stored by one INSERT ... SELECT FROM unnest.
 *
 * Partitions are DDL that locks carrier_records and must commit on its own; on a server it runs on
 * a connection of its own while the storing transaction waits (storeRecordMonths). That is safe only
 * while the transaction holds nothing another transaction can wait for while itself holding a
 * lock on carrier_records: no claimed key, no stored record (the file's own row is harmless: nobody
 * waits for an uncommitted file, and carrier_records has no foreign key). So in 'copy' a month's
 * partition is made when the file's first records are seen; a month first seen later, after records
 * were stored, rolls the transaction back and the file is stored 'staged' (a file of a day or a
 * month never needs it; one that crosses into a month nobody has used yet does, once).
 */
async function storeFile(
  db: Db, carrier: Carrier, f: ReceivedFile, checksum: string, batches: AsyncGenerator<CarrierParseResult, void, undefined>, mode: 'copy' | 'staged' | 'embedded',
): Promise<CarrierFileOutcome> {
  return db.transaction(async (tx) => {
    if (mode === 'staged') await repo.openStage(tx);
    let fileId: number | null = null;
    let good = 0;
    let stored = 0;
    let badCount = 0;
    let skipped = 0;
    const answerBad: BadRow[] = [];
    let first = Infinity;
    let last = -Infinity;
    /** Months (monthOf keys) known to have their partition. */
    const partitioned = new Set<string>();
    /** Whether a batch had keys claimed already (see 'copy'). */
    let duplicatesSeen = false;
    // One batch written while the next is read: Postgres takes the rows in while Node parses.
    let writing: Promise<void> = Promise.resolve();
    try {
      for await (const batch of batches) {
        const { records, badRows } = batch;
        const keys = new Array<string>(records.length);
        let batchFirst = Infinity;
        let batchLast = -Infinity;
        for (let i = 0; i < records.length; i++) {
          const r = records[i] as CarrierRecord;
          keys[i] = carrierRecordKey(r, checksum);
          const ms = r.startUtc.getTime();
          if (ms < batchFirst) batchFirst = ms;
          if (ms > batchLast) batchLast = ms;
        }
        first = Math.min(first, batchFirst);
        last = Math.max(last, batchLast);
        badCount += badRows.length;
        skipped += batch.skipped.length;
        for (const b of badRows) if (answerBad.length < ANSWER_BAD_ROWS) answerBad.push(b);
        await writing;
        if (mode === 'staged') {
          writing = repo.stageBatch(tx, records, keys, badRows);
        } else {
          if (records.length) {
            const months = monthsBetween(batchFirst, batchLast).filter((ms) => !partitioned.has(monthOf(ms).key));
            if (months.length) {
              if (mode === 'embedded') await ensurePartitions(tx as unknown as Db, months, ['carrier_records']);
              else if (!(await storeRecordMonths(db, tx, months, good === 0))) throw new MonthWithoutPartition();
              for (const ms of months) partitioned.add(monthOf(ms).key);
            }
          }
          const id = fileId ?? (fileId = await repo.insertFile(tx, fileRow(carrier, f, 'stored', null)));
          const probe = good === 0 || duplicatesSeen;
          writing = mode === 'copy'
            ? repo.storeBatchByCopy(tx, carrier.id, id, records, keys, badRows, probe).then((n) => {
                stored += n.stored;
                if (n.found) duplicatesSeen = true;
              })
            : repo.storeRecordBatch(tx, carrier.id, id, records, keys).then(async (n) => {
                stored += n;
                await repo.insertBadRows(tx, id, badRows);
              });
        }
        good += records.length;
      }
    } finally {
      // Never leave a COPY running under a transaction that is about to end.
      await writing.catch(() => undefined);
    }
    await writing;
    if (mode === 'staged') {
      if (good) await storeRecordMonths(db, tx, monthsBetween(first, last), true);
      fileId = await repo.insertFile(tx, fileRow(carrier, f, 'stored', null));
      if (good) stored = await repo.storeStagedRecords(tx, carrier.id, fileId);
      if (badCount) await repo.storeStagedBadRows(tx, fileId);
    }
    fileId ??= await repo.insertFile(tx, fileRow(carrier, f, 'stored', null));
    const counts = {
      records: stored, duplicates: good - stored, badRows: badCount, skipped,
      firstStartAt: good ? new Date(first) : null, lastStartAt: good ? new Date(last) : null,
    };
    await repo.setFileCounts(tx, fileId, counts);
    return { fileId, status: 'stored', error: null, records: stored, duplicates: counts.duplicates, skipped, badRows: answerBad, badRowCount: badCount };
  });
}

/**
 * Makes sure the carrier_records partitions of these months exist, on a server. One that exists
 * costs a name lookup (no lock). A missing one is made on a connection of its own while the
 * transaction waits, when `mayCreate` (the transaction has claimed no key and stored no record:
 * see storeFile), and then the DDL waits at most for other transactions to end, none of which can
 * be waiting for this one. Answers false when one is missing and may not be made here.
 */
async function storeRecordMonths(db: Db, tx: Tx, months: number[], mayCreate: boolean): Promise<boolean> {
  const name = (ms: number) => `carrier_records_p${monthOf(ms).key}`;
  const missing = await repo.missingTables(tx, months.map(name));
  if (!missing.length) return true;
  if (!mayCreate) return false;
  await withOwnConnection(db, (own) => ensurePartitions(own, months.filter((ms) => missing.includes(name(ms))), ['carrier_records']));
  return true;
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
