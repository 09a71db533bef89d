import crypto from 'node:crypto';
import Decimal from 'decimal.js';
import { isEmbeddedDb, type Db, type Queryable } from '../../db/knex';
import { NotFoundError } from '../../domain/errors';
import {
  compileSpec, encodeLine, fileStart, formatLeg, legPasses, parseRecordSpec, periodAt, periodFrom, periodLabel,
  type LegRecord, type RecordPeriod, type RecordSpec,
} from '../../domain/records';
import { changesAfter, changesHorizon } from '../changes/changes.service';
import { recordLegsByIds } from '../ledger/record-reads';
import { startOfLocalDay } from '../../domain/time/zones';
import type { SecretBox } from '../auth/secret-box';
import { queueDelivery, setPushTarget } from './record-files.push';
import type { OutboundPolicy } from '../../web/outbound';
import { recordAudit } from '../audit/audit.repository';
import { SYSTEM_ACTOR, type Actor } from '../../domain/tenancy/actor';
import * as repo from './record-files.repository';

export type { RecordFileRow, RecordFileKey } from './record-files.repository';

/**
 * Record files (issue 12, "Automatic posting"; docs/RECORD-FORMATS.md, "Record files"). Which legs
 * go into which file is decided by the change log of legs (changes.service), never by timestamps:
 *
 * - A file's window is fixed when its closing starts: from the previous file's last change to the
 *   last change a reader may take then (`changesHorizon`: every change up to it is final). Every
 *   change of the reseller is in exactly one window, so every leg is read, and read once per change.
 * - A leg read in the window goes into this file when it starts before the period's end and is
 *   rated (rated or partial) and passes the spec's filter; a leg that starts later waits in
 *   record_file_deferred for its own period's file; an unrated leg is skipped: it comes back as a
 *   'rerated' change when it is rated, into the file then closing.
 * - record_file_entries holds, per spec and leg, the file that carried it and its totals: a leg
 *   read again (re-rated) is written as a correction, with the difference of each total.
 * - The closing commits batch by batch (a chunk, the entries, the progress cursor) and ends with
 *   the checksum and the reseller's file number; a crash resumes after the last committed batch,
 *   and the file is unique per (spec, period).
 */

/** Late records: a period is closed this long after its end. */
export const DEFAULT_GRACE_MS = 5 * 60_000;
const RATED = new Set(['rated', 'partial']);

export interface CloseOptions {
  nowMs: number;
  graceMs?: number;
  /** Legs a batch (a chunk of the file). */
  batch?: number;
  signal?: AbortSignal;
  /** Called after each committed batch (the job reports progress; a test stops a closing here). */
  afterBatch?: (file: repo.RecordFileRow) => Promise<void> | void;
  /** Only these resellers (tests). */
  resellerIds?: number[];
}

interface SpecToClose {
  id: number;
  resellerId: number;
  name: string;
  period: RecordPeriod;
  spec: RecordSpec;
  createdAt: Date;
  postsFrom: string | null;
  timeZone: string;
  /** The start of the spec's first period when it posts from a date (calls before it are not its); null: every call. */
  fromMs: number | null;
}

function fileName(s: SpecToClose, p: { startMs: number; endMs: number }): string {
  const base = s.name.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '') || `spec-${s.id}`;
  const ext = s.spec.layout === 'fixed' ? 'txt' : s.spec.delimiter === '\t' ? 'tsv' : 'csv';
  return `${base}-${periodLabel(p, s.period, s.timeZone)}.${ext}`;
}

/** Closes every period of every active spec that ended more than the grace ago; resumes closings cut short. */
export async function closeDueFiles(db: Db, opts: CloseOptions): Promise<{ closed: number }> {
  let closed = 0;
  for (const row of await repo.activeSpecs(db)) {
    if (opts.resellerIds && !opts.resellerIds.includes(row.resellerId)) continue;
    const fromMs = row.postsFrom ? periodAt(startOfLocalDay(row.postsFrom, row.timeZone), row.period, row.timeZone).startMs : null;
    const s: SpecToClose = { ...row, spec: parseRecordSpec(row.spec), fromMs };
    for (;;) {
      opts.signal?.throwIfAborted();
      let file = await repo.closingFileOf(db, s.id);
      if (!file) {
        const last = await repo.lastFileOf(db, s.id);
        const p = last ? periodFrom(last.periodEnd.getTime(), s.period, s.timeZone) : periodAt(s.fromMs ?? s.createdAt.getTime(), s.period, s.timeZone);
        if (p.endMs + (opts.graceMs ?? DEFAULT_GRACE_MS) > opts.nowMs) break;
        const from = last?.toCursor ?? null;
        // Read outside a transaction of ours: our own xid would hold the horizon back.
        const to = await changesHorizon(db, { kind: 'reseller', resellerId: s.resellerId }, from);
        await repo.insertFile(db, { resellerId: s.resellerId, specId: s.id, startMs: p.startMs, endMs: p.endMs, fromCursor: from, toCursor: to, filename: fileName(s, p), start: fileStart(compileSpec(s.spec)) });
        file = await repo.closingFileOf(db, s.id);
        if (!file) continue;
      }
      await finishClosing(db, s, file, opts);
      closed++;
    }
  }
  return { closed };
}

/**
 * A file's totals per side and currency, summed exactly in units of 10^-10 (amounts are
 * numeric(24,10)): a BigInt add per leg rather than a Decimal parsed and added (a million a daily
 * file). An amount with more places (never stored, but not assumed) is summed apart in Decimal.
 */
type Sum = { units: bigint; rest: Decimal | null };
type Totals = { wholesale: Record<string, Sum>; retail: Record<string, Sum> };

const SCALE = 10;
const AMOUNT = /^(-?)(\d+)(?:\.(\d{1,10}))?$/;
const ZEROS = '0'.repeat(SCALE);

function unitsOf(amount: string): bigint | null {
  const m = AMOUNT.exec(amount);
  if (!m) return null;
  const units = BigInt((m[2] as string) + ((m[3] ?? '') + ZEROS).slice(0, SCALE));
  return m[1] ? -units : units;
}

/** The sum as Decimal#toFixed(10) writes it. */
function sumText(x: Sum): string {
  if (x.rest) return new Decimal(x.units.toString()).div(10 ** SCALE).plus(x.rest).toFixed(SCALE);
  const neg = x.units < 0n;
  const digits = (neg ? -x.units : x.units).toString().padStart(SCALE + 1, '0');
  return `${neg ? '-' : ''}${digits.slice(0, -SCALE)}.${digits.slice(-SCALE)}`;
}

function readTotals(t: repo.RecordFileRow['totals']): Totals {
  const side = (x: Record<string, string> | undefined) => {
    const out: Record<string, Sum> = {};
    for (const [k, v] of Object.entries(x ?? {})) {
      out[k] = { units: 0n, rest: null };
      add(out, k, v);
    }
    return out;
  };
  return { wholesale: side(t.wholesale), retail: side(t.retail) };
}

function writeTotals(t: Totals): repo.RecordFileRow['totals'] {
  const side = (x: Record<string, Sum>) => Object.fromEntries(Object.keys(x).sort().map((k) => [k, sumText(x[k] as Sum)]));
  return { wholesale: side(t.wholesale), retail: side(t.retail) };
}

function add(side: Record<string, Sum>, currency: string | null | undefined, amount: string | null | undefined) {
  if (!currency || amount === null || amount === undefined) return;
  const sum = (side[currency] ??= { units: 0n, rest: null });
  const units = unitsOf(amount);
  if (units !== null) sum.units += units;
  else sum.rest = (sum.rest ?? new Decimal(0)).plus(amount);
}

/** The lines of one batch of legs (in their current state) and the entries they leave. */
function batchLines(s: SpecToClose, compiled: ReturnType<typeof compileSpec>, file: repo.RecordFileRow, legs: LegRecord[], entries: Map<number, repo.Entry>, totals: Totals) {
  // UTF-8 lines are joined and encoded once (the same bytes as line by line); other charsets line by line.
  const utf8 = s.spec.charset === 'UTF-8';
  const texts: string[] = [];
  const parts: Buffer[] = [];
  // Entries of legs met for the first time (most of a file), and of legs met before (corrections).
  const fresh: repo.Entry[] = [];
  const again: repo.Entry[] = [];
  let records = 0;
  let corrections = 0;
  for (const leg of legs) {
    const passes = RATED.has(leg.status) && legPasses(s.spec.filter, leg);
    const w = passes ? leg.wholesale : null;
    const r = passes ? leg.retail : null;
    const entry: repo.Entry = { legId: leg.id, fileId: file.id, wholesaleCurrency: w?.currency ?? null, wholesaleTotal: w?.total ?? null, retailCurrency: r?.currency ?? null, retailTotal: r?.total ?? null };
    const before = entries.get(leg.id);
    let out: LegRecord;
    if (!before) {
      if (!passes) continue;
      out = leg;
      add(totals.wholesale, w?.currency, w?.total);
      add(totals.retail, r?.currency, r?.total);
    } else {
      const same = (a: string | null, b: string | null) => (a === null ? b === null : b !== null && new Decimal(a).eq(b));
      const unchanged = same(before.wholesaleTotal, entry.wholesaleTotal) && same(before.retailTotal, entry.retailTotal) && before.wholesaleCurrency === entry.wholesaleCurrency && before.retailCurrency === entry.retailCurrency;
      // Read twice in one window (stored, then re-rated before the close) with nothing changed: once is enough.
      if (unchanged && (before.fileId === file.id || (!passes && before.wholesaleTotal === null && before.retailTotal === null))) continue;
      const diff = (now: string | null, was: string | null) => (now === null && was === null ? null : new Decimal(now ?? 0).minus(was ?? 0).toFixed(10));
      const wd = diff(entry.wholesaleTotal, before.wholesaleTotal);
      const rd = diff(entry.retailTotal, before.retailTotal);
      out = { ...leg, correction: { ofFile: before.fileId, wholesaleDifference: wd, retailDifference: rd } };
      add(totals.wholesale, entry.wholesaleCurrency ?? before.wholesaleCurrency, wd);
      add(totals.retail, entry.retailCurrency ?? before.retailCurrency, rd);
      corrections++;
    }
    const text = formatLeg(compiled, out);
    if (text === null) continue;
    if (utf8) texts.push(text);
    else parts.push(encodeLine(compiled, text));
    records++;
    (before ? again : fresh).push(entry);
  }
  return { bytes: utf8 ? Buffer.from(texts.join(''), 'utf8') : Buffer.concat(parts), records, corrections, fresh, again };
}

async function finishClosing(db: Db, s: SpecToClose, start: repo.RecordFileRow, opts: CloseOptions): Promise<void> {
  // Formatted without the filter: the service applies it (a correction may be of a leg that no longer passes).
  const compiled = compileSpec({ ...s.spec, filter: { directions: [], statuses: [], answeredOnly: false } });
  const batch = opts.batch ?? 2000;
  // New legs' entries by COPY FROM STDIN on a server; the embedded database has none through its socket.
  const copy = !isEmbeddedDb(db);
  const scope = { kind: 'reseller' as const, resellerId: s.resellerId };
  const endMs = start.periodEnd.getTime();
  let file = start;
  // The file's SHA-256 kept as its chunks are written (the chunks already there read once, on a
  // resumed closing only the header otherwise), so the close need not read the whole file back.
  // Dropped (and the chunks read at the close, as before) when another closer wrote some of them.
  let hash: crypto.Hash | null = crypto.createHash('sha256');
  let hashedChunks = 0;
  let size = 0;
  for await (const chunk of repo.chunksOf(db, file.id, file.chunks)) {
    hash.update(chunk);
    size += chunk.length;
    hashedChunks++;
  }
  type Page = { from: string | null; progress: string | null; later: Array<{ id: number; startMs: number }>; current: LegRecord[] };
  /** A page of the window's changes after `from`, and its legs in their current state; null at the window's end. */
  const readPage = async (from: string | null): Promise<Page | null> => {
    if (from === file.toCursor) return null;
    const page = await changesAfter(db, scope, from, batch, file.toCursor);
    if (!page.changes.length) return null;
    const seen = new Map<number, { id: number; startMs: number }>();
    for (const c of page.changes) seen.set(c.legId, { id: c.legId, startMs: c.startAt.getTime() });
    // A call before the date the spec posts from is never this spec's: neither read nor kept waiting.
    const mine = s.fromMs === null ? [...seen.values()] : [...seen.values()].filter((l) => l.startMs >= (s.fromMs as number));
    const legs = mine.filter((l) => l.startMs < endMs);
    const later = mine.filter((l) => l.startMs >= endMs);
    const current = (await recordLegsByIds(db, s.resellerId, legs)).filter((l) => l.startMs < endMs);
    return { from, progress: page.cursor, later, current };
  };
  // The next page, read while this one is formatted and written (the window is fixed and every
  // change in it final, so it reads the same rows then as after this batch's commit).
  let next = null as { from: string | null; page: Promise<Page | null> } | null;
  // Deferred legs of the period come first; once none is left none comes back (only legs that start
  // after the period are deferred while it closes).
  let deferredLeft = true;
  try {
    for (;;) {
      opts.signal?.throwIfAborted();
      // Legs of this period that an earlier window read ahead of their time, then this window's changes.
      const deferred: Array<{ id: number; startMs: number }> = deferredLeft ? await repo.deferredBefore(db, s.id, endMs, batch) : [];
      deferredLeft = deferred.length > 0;
      let later: Array<{ id: number; startMs: number }> = [];
      let progress = file.progressCursor;
      let current: LegRecord[];
      if (deferred.length) current = (await recordLegsByIds(db, s.resellerId, deferred)).filter((l) => l.startMs < endMs);
      else {
        const ahead: { from: string | null; page: Promise<Page | null> } | null = next;
        next = null;
        const page: Page | null = ahead && ahead.from === file.progressCursor ? await ahead.page : await readPage(file.progressCursor);
        if (!page) break;
        progress = page.progress;
        later = page.later;
        current = page.current;
        const following = readPage(page.progress);
        // Awaited when used; a page not used (another closer moved on, an abort) must not fail unhandled.
        following.catch(() => undefined);
        next = { from: page.progress, page: following };
      }
      const before = file;
      let written: Buffer | null = null;
      file = await db.transaction(async (tx) => {
        written = null;
        const locked = await repo.fileById(tx, before.id, { forUpdate: true });
        // Another closer got here first: take its state and go on from there.
        if (!locked || locked.status !== 'closing' || locked.progressCursor !== before.progressCursor || locked.chunks !== before.chunks) return locked ?? before;
        const entries = await repo.entriesOf(tx, s.id, current.map((l) => l.id));
        const totals = readTotals(locked.totals);
        const lines = batchLines(s, compiled, locked, current, entries, totals);
        await repo.addEntries(tx, s.id, lines.fresh, { copy });
        await repo.putEntries(tx, s.id, lines.again);
        if (deferred.length) await repo.dropDeferred(tx, s.id, deferred.map((d) => d.id));
        await repo.defer(tx, s.id, later);
        await repo.appendBatch(tx, locked, { bytes: lines.bytes, records: lines.records, corrections: lines.corrections, totals: writeTotals(totals), progressCursor: progress });
        written = lines.bytes;
        return (await repo.fileById(tx, locked.id)) as repo.RecordFileRow;
      });
      // Committed: our chunk (if the batch wrote one) follows the ones hashed; anything else, hash at the close.
      const bytes = written as Buffer | null;
      if (hash && bytes && hashedChunks === before.chunks) {
        if (bytes.length) {
          hash.update(bytes);
          size += bytes.length;
          hashedChunks++;
        }
      } else hash = null;
      if (file.status !== 'closing') return;
      await opts.afterBatch?.(file);
    }
  } finally {
    // Let a page still being read finish before the caller moves on (its connection back in the pool).
    if (next) await next.page.catch(() => undefined);
  }
  await db.transaction(async (tx) => {
    const locked = await repo.fileById(tx, file.id, { forUpdate: true });
    if (!locked || locked.status !== 'closing') return;
    // Chunks are only ever added (seq is unique): the same count means the same bytes as hashed.
    if (!hash || hashedChunks !== locked.chunks) {
      hash = crypto.createHash('sha256');
      size = 0;
      for await (const chunk of repo.chunksOf(tx, locked.id, locked.chunks)) {
        hash.update(chunk);
        size += chunk.length;
      }
    }
    await repo.markClosed(tx, locked.id, { number: await repo.nextNumber(tx, locked.resellerId), sha256: hash.digest('hex'), byteSize: size });
    // record_file.closed for webhooks (the outbox), with the close.
    const closed = (await repo.fileById(tx, locked.id)) as repo.RecordFileRow;
    await recordAudit(tx, SYSTEM_ACTOR, {
      resellerId: closed.resellerId, entityType: 'record_file', entityId: closed.id, action: 'close',
      after: {
        number: closed.number, filename: closed.filename, spec_id: closed.specId, period_start: closed.periodStart, period_end: closed.periodEnd,
        records: closed.records, corrections: closed.corrections, byte_size: closed.byteSize, sha256: closed.sha256, totals: closed.totals,
      },
    });
    // The push (when the reseller has an address): one delivery, made with the close.
    await queueDelivery(tx, locked.resellerId, locked.id);
  });
}

// Reading files.

/** A page of the reseller's closed files for the portal's list (newest first unless asked), counted, with records and corrections summed. */
export const listFilePage = repo.listClosedFiles;
/** Every closed file of the reseller in the list's order: the list's CSV. */
export const allFiles = repo.allClosedFiles;
/** What all the reseller's closed files carry, per side and currency. */
export const fileTotals = repo.closedTotals;

/** Closed files after the reseller's file number `after` (0: from the first), oldest first: the API's cursor. */
export async function filesAfter(db: Queryable, resellerId: number, after: number, limit = 100): Promise<repo.RecordFileRow[]> {
  return repo.closedFiles(db, resellerId, { afterNumber: after, limit: Math.min(Math.max(1, limit), 1000) });
}

export async function closedFileOrThrow(db: Queryable, resellerId: number, id: number): Promise<repo.RecordFileRow> {
  const f = await repo.closedFile(db, resellerId, id);
  if (!f) throw new NotFoundError();
  return f;
}

/** A closed file's bytes, chunk by chunk. */
export function fileBytes(db: Queryable, file: repo.RecordFileRow): AsyncGenerator<Buffer> {
  return repo.chunksOf(db, file.id, file.chunks);
}

/** The content type of a spec's files. */
export function contentTypeOf(spec: RecordSpec): string {
  const charset = spec.charset === 'UTF-8' ? 'utf-8' : spec.charset === 'ISO-8859-1' ? 'iso-8859-1' : 'windows-1252';
  const type = spec.layout === 'fixed' ? 'text/plain' : spec.delimiter === '\t' ? 'text/tab-separated-values' : 'text/csv';
  return `${type}; charset=${charset}`;
}

// Keys of the record-files API (only that API: general API keys are issue 14).

const KEY_PREFIX = 'rfk_';
const hashKey = (key: string) => crypto.createHash('sha256').update(key).digest('hex');

/** A new key of the reseller's: the key itself is returned once and stored only as its hash. */
export async function createKey(db: Queryable, resellerId: number, label: string, createdBy: number | null): Promise<{ id: number; key: string }> {
  const key = `${KEY_PREFIX}${resellerId}_${crypto.randomBytes(24).toString('base64url')}`;
  const id = await repo.insertKey(db, { resellerId, label: label.trim().slice(0, 100) || 'Record files', prefix: key.slice(0, 12), hash: hashKey(key), createdBy });
  return { id, key };
}

export const listKeys = repo.keysOf;

export async function revokeKey(db: Queryable, resellerId: number, id: number): Promise<boolean> {
  if (!(await repo.keyOf(db, resellerId, id))) throw new NotFoundError();
  return repo.revokeKey(db, resellerId, id);
}

/** The reseller a record-files key belongs to, or undefined for a revoked or unknown key. */
export async function resellerOfKey(db: Queryable, token: string): Promise<number | undefined> {
  if (!token.startsWith(KEY_PREFIX)) return undefined;
  return (await repo.liveKeyByHash(db, hashKey(token)))?.resellerId;
}

// ---- The reseller's own changes from its page, each with its audit row in one transaction ----

/** A new API key for the reseller's files, audited; the key itself is answered once. */
export async function issueKey(db: Db, actor: Actor, resellerId: number, label: string, createdBy: number | null): Promise<{ id: number; key: string }> {
  return db.transaction(async (tx) => {
    const k = await createKey(tx, resellerId, label, createdBy);
    await recordAudit(tx, actor, { resellerId, entityType: 'record_file_key', entityId: k.id, action: 'create', after: { label } });
    return k;
  });
}

/** Revokes a key of the reseller's, audited; false when it was revoked already (or is not the reseller's). */
export async function withdrawKey(db: Db, actor: Actor, resellerId: number, id: number): Promise<boolean> {
  return db.transaction(async (tx) => {
    const done = await revokeKey(tx, resellerId, id);
    if (done) await recordAudit(tx, actor, { resellerId, entityType: 'record_file_key', entityId: id, action: 'revoke', after: { revoked: true } });
    return done;
  });
}

/** Sets (or with a blank address, turns off) the push of closed files, audited without the secret. */
export async function savePushTarget(db: Db, box: SecretBox, actor: Actor, resellerId: number, input: { url: string; secret: string }, policy: OutboundPolicy): Promise<void> {
  await db.transaction(async (tx) => {
    await setPushTarget(tx, box, resellerId, input, policy);
    await recordAudit(tx, actor, { resellerId, entityType: 'record_file_push', entityId: resellerId, action: 'update', after: { url: input.url } });
  });
}
