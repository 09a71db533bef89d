import type { Queryable } from '../../db/knex';

/** The most of one refused post that is kept; the rest is counted (original_bytes), not stored. */
export const MAX_KEPT_BYTES = 1024 * 1024;
/** Bytes of rejects a platform may have kept per day (UTC); past it, each reject keeps only its start. */
export const PLATFORM_DAILY_BYTES = 64 * 1024 * 1024;
/** What a reject keeps once its platform's daily allowance is used up. */
const OVER_QUOTA_BYTES = 4 * 1024;
/** Record errors listed in one reject; the rest are counted. */
export const MAX_LISTED_ERRORS = 1000;

export interface RejectInput {
  platformId: number | null;
  sourceIp?: string;
  contentType?: string;
  body: string;
  /** The post as it arrived, when its text cannot be stored as it is (not UTF-8, a NUL byte, not decompressible); `body` is then a readable rendering. */
  bytes?: Buffer;
  error: string;
  recordIndex?: number;
  /** The errors of the records a post refused, each with its index (one reject for the post). */
  errors?: Array<{ index: number; error: string }>;
}

/** Cuts text to at most `max` UTF-8 bytes, on a character boundary. */
function cutText(text: string, max: number): string {
  if (Buffer.byteLength(text, 'utf8') <= max) return text;
  const b = Buffer.from(text, 'utf8').subarray(0, max);
  return b.toString('utf8').replace(/\uFFFD$/, '');
}

/**
 * Keeps what the intake refused: one row per refused post (or per refused body), capped. Text with
 * a NUL (from a JSON \u0000 escape) is kept as bytes: Postgres text refuses NUL.
 */
export async function insertReject(db: Queryable, r: RejectInput): Promise<number> {
  let body = r.body;
  let bytes = r.bytes ?? null;
  if (body.includes('\0')) {
    bytes ??= Buffer.from(body, 'utf8');
    body = body.replace(/\0/g, '\u2400');
  }
  const size = bytes ? bytes.length : Buffer.byteLength(body, 'utf8');
  let keep = Math.min(size, MAX_KEPT_BYTES);
  if (r.platformId !== null) {
    // The day's allowance, counted before this one: one upsert, not a sum over the rejects.
    const { rows } = (await db.raw(
      `INSERT INTO reject_quota (platform_id, day, bytes) VALUES (?, (now() at time zone 'UTC')::date, ?)
       ON CONFLICT (platform_id, day) DO UPDATE SET bytes = reject_quota.bytes + excluded.bytes
       RETURNING bytes - ? AS before`,
      [r.platformId, keep, keep],
    )) as { rows: Array<{ before: string }> };
    if (Number(rows[0]?.before ?? 0) >= PLATFORM_DAILY_BYTES) keep = Math.min(keep, OVER_QUOTA_BYTES);
  }
  const cut = keep < size;
  if (cut) {
    if (bytes) bytes = bytes.subarray(0, keep);
    body = cutText(body, keep);
  }
  const errors = r.errors?.length ? r.errors.slice(0, MAX_LISTED_ERRORS) : null;
  const [row] = await db('cdr_rejects')
    .insert({
      platform_id: r.platformId, source_ip: r.sourceIp ?? null, content_type: r.contentType ?? null, body, body_bytes: bytes,
      error: cutText(r.error, 4000), record_index: r.recordIndex ?? null,
      errors: errors ? JSON.stringify(errors.map((e) => ({ index: e.index, error: cutText(e.error, 1000) }))) : null,
      original_bytes: cut ? size : null,
    })
    .returning('id');
  return row.id as number;
}

/** The reason of a post whose records were refused: how many, and the first few. */
export function recordErrorsSummary(errors: Array<{ index: number; error: string }>, records: number): string {
  const shown = errors.slice(0, 3).map((e) => e.error).join(' | ');
  const more = errors.length > 3 ? ` | and ${errors.length - 3} more` : '';
  return `${errors.length} of ${records} record${records === 1 ? '' : 's'} refused: ${shown}${more}`;
}

/** Something readable of bytes that are kept as they are (a refused body). */
export function readableBytes(bytes: Buffer, contentEncoding: string | undefined): string {
  if (contentEncoding && contentEncoding !== 'identity') return `(${bytes.length} bytes with Content-Encoding ${contentEncoding}, kept as they arrived)`;
  return bytes.toString('utf8').replace(/\0/g, '\u2400');
}

// ---- retention -----------------------------------------------------------------------------

export const RETENTION_SETTING = 'reject_retention_days';
export const DEFAULT_RETENTION_DAYS = 30;

export async function rejectRetentionDays(db: Queryable): Promise<number> {
  const row = await db('settings').where({ key: RETENTION_SETTING }).first('value');
  const n = Number(row?.value);
  return Number.isSafeInteger(n) && n >= 1 ? n : DEFAULT_RETENTION_DAYS;
}

export async function setRejectRetentionDays(db: Queryable, days: number): Promise<void> {
  await db('settings').insert({ key: RETENTION_SETTING, value: String(days) }).onConflict('key').merge();
}

/** Deletes rejects older than the retention, and allowances of past days; how many rejects went. */
export async function pruneRejects(db: Queryable, nowMs = Date.now()): Promise<number> {
  const days = await rejectRetentionDays(db);
  const before = new Date(nowMs - days * 86_400_000).toISOString();
  const res = (await db.raw('DELETE FROM cdr_rejects WHERE received_at < ?', [before])) as { rowCount?: number };
  await db.raw(`DELETE FROM reject_quota WHERE day < (now() at time zone 'UTC')::date - 1`);
  return res.rowCount ?? 0;
}
