import crypto from 'node:crypto';
import { Readable } from 'node:stream';
import type { Db, Queryable } from '../../db/knex';
import { FieldErrors, NotFoundError } from '../../domain/errors';
import { checkPushUrl as checkUrl, postOnce, retryDelayMs, type OutboundPolicy } from '../../web/outbound';
import type { SecretBox } from '../auth/secret-box';
import * as repo from './record-files.repository';

/**
 * The push of closed record files to a reseller's HTTPS address (issue 12, optional third way).
 * Each closed file gets a delivery in its closing's transaction when the reseller has an active
 * address; the `record-file-push` job posts due deliveries: the file's bytes, signed, and on any
 * answer but 2xx tries again with back-off (1 minute doubling, at most an hour between tries)
 * until 26 hours after the delivery was made, every attempt and its answer kept.
 *
 * Signature (docs/RECORD-FORMATS.md, "Push"): `X-Record-File-Timestamp: <unix seconds>` and
 * `X-Record-File-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>." + body)>`; the receiver
 * recomputes it and refuses a timestamp more than five minutes from its clock (replay).
 *
 * The secret must be kept to sign, so it cannot be hashed: it is sealed with the instance key
 * (AES-256-GCM, auth/secret-box) and opened only to sign, so a copy of the table alone gives no
 * one the power to forge a reseller's files.
 */

export const GIVE_UP_AFTER_MS = 26 * 3_600_000;
export const SIGNATURE_HEADER = 'x-record-file-signature';
export const TIMESTAMP_HEADER = 'x-record-file-timestamp';

/** What the receiver checks: the signature of a body sent at `timestamp` (unix seconds, text). */
export function signBody(secret: string, timestamp: string, body: Buffer): string {
  return `sha256=${crypto.createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex')}`;
}

/** A stored secret opened; one stored in clear before secrets were sealed is taken as it is. */
function openSecret(box: SecretBox, stored: string): string {
  return stored.startsWith('v1.') ? box.open(stored) : stored;
}

/** Seals any secret still kept in clear (stored before they were sealed). */
export async function sealClearSecrets(db: Queryable, box: SecretBox): Promise<number> {
  const rows = (await db('record_file_push_targets').whereNot('secret', 'like', 'v1.%').select('reseller_id', 'secret')) as Array<{ reseller_id: number; secret: string }>;
  for (const r of rows) await db('record_file_push_targets').where({ reseller_id: r.reseller_id, secret: r.secret }).update({ secret: box.seal(r.secret) });
  return rows.length;
}

/** The back-off and the address check are shared with webhooks (web/outbound.ts). */
export { retryDelayMs } from '../../web/outbound';

/** HTTPS to a public address; plain HTTP to this machine itself when the policy allows private addresses (a local receiver, tests). */
export function checkPushUrl(url: string, policy: OutboundPolicy): string {
  return checkUrl(url, policy);
}

export interface PushTarget {
  url: string;
  active: boolean;
  updatedAt: Date;
}

export async function pushTargetOf(db: Queryable, resellerId: number): Promise<PushTarget | undefined> {
  const r = await db('record_file_push_targets').where({ reseller_id: resellerId }).first();
  return r ? { url: r.url, active: r.active, updatedAt: r.updated_at } : undefined;
}

/** Sets (or, with an empty address, turns off) the reseller's push; the secret is kept when left blank. */
export async function setPushTarget(db: Queryable, box: SecretBox, resellerId: number, input: { url: string; secret: string }, policy: OutboundPolicy): Promise<void> {
  if (!input.url.trim()) {
    await db('record_file_push_targets').where({ reseller_id: resellerId }).update({ active: false, updated_at: db.fn.now() });
    return;
  }
  const url = checkPushUrl(input.url, policy);
  const existing = await db('record_file_push_targets').where({ reseller_id: resellerId }).first();
  const given = input.secret.trim();
  if (given && given.length < 16) throw new FieldErrors({ secret: 'A shared secret of at least 16 characters' });
  if (!given && !existing) throw new FieldErrors({ secret: 'A shared secret of at least 16 characters' });
  const secret = given ? box.seal(given) : (existing.secret as string);
  await db('record_file_push_targets')
    .insert({ reseller_id: resellerId, url, secret, active: true, updated_at: db.fn.now() })
    .onConflict('reseller_id').merge();
}

/** A delivery of a closed file, due now, to the reseller's active address (none when it has none). */
export async function queueDelivery(db: Queryable, resellerId: number, fileId: number, nowMs = Date.now()): Promise<number | undefined> {
  const target = await db('record_file_push_targets').where({ reseller_id: resellerId, active: true }).first();
  if (!target) return undefined;
  const [row] = await db('record_file_deliveries')
    .insert({ file_id: fileId, reseller_id: resellerId, url: target.url, next_at: new Date(nowMs), give_up_at: new Date(nowMs + GIVE_UP_AFTER_MS) })
    .returning('id');
  return Number((row as { id: number }).id);
}

/** "Send again": a new delivery of a closed file of the reseller's. */
export async function sendAgain(db: Queryable, resellerId: number, fileId: number): Promise<number> {
  if (!(await repo.closedFile(db, resellerId, fileId))) throw new NotFoundError();
  const id = await queueDelivery(db, resellerId, fileId);
  if (id === undefined) throw new FieldErrors({ url: 'Set a push address first' });
  return id;
}

export interface DeliveryView {
  id: number;
  fileId: number;
  url: string;
  status: string;
  attempts: Array<{ at: Date; statusCode: number | null; answer: string }>;
  nextAt: Date;
}

/** The reseller's latest deliveries with every attempt. */
export async function deliveriesOf(db: Queryable, resellerId: number, limit = 100): Promise<DeliveryView[]> {
  const rows = (await db('record_file_deliveries').where({ reseller_id: resellerId }).orderBy('id', 'desc').limit(limit)) as Array<Record<string, any>>;
  const attempts = rows.length ? ((await db('record_file_delivery_attempts').whereIn('delivery_id', rows.map((r) => r.id)).orderBy('id')) as Array<Record<string, any>>) : [];
  return rows.map((r) => ({
    id: Number(r.id), fileId: Number(r.file_id), url: r.url, status: r.status, nextAt: r.next_at,
    attempts: attempts.filter((a) => Number(a.delivery_id) === Number(r.id)).map((a) => ({ at: a.at, statusCode: a.status_code, answer: a.answer })),
  }));
}

/**
 * Posts every due delivery once; returns how many were tried. The body is read from the file's
 * chunks twice (once to sign, once to send) so a file of a million records is never held whole.
 */
export async function pushDue(db: Db, box: SecretBox, opts: { nowMs?: number; timeoutMs?: number; signal?: AbortSignal; allowPrivate?: boolean } = {}): Promise<{ tried: number; delivered: number }> {
  const now = () => opts.nowMs ?? Date.now();
  await sealClearSecrets(db, box);
  let tried = 0;
  let delivered = 0;
  for (;;) {
    opts.signal?.throwIfAborted();
    // Claimed by moving next_at ahead in the same statement: another worker does not take it meanwhile.
    const { rows } = (await db.raw(
      `UPDATE record_file_deliveries SET next_at = ?::timestamptz + interval '10 minutes'
        WHERE id = (SELECT id FROM record_file_deliveries WHERE status = 'pending' AND next_at <= ? ORDER BY next_at, id LIMIT 1 FOR UPDATE SKIP LOCKED)
        RETURNING *`,
      [new Date(now()), new Date(now())],
    )) as { rows: Array<Record<string, any>> };
    const d = rows[0];
    if (!d) break;
    tried++;
    const file = await repo.fileById(db, Number(d.file_id));
    const target = await db('record_file_push_targets').where({ reseller_id: d.reseller_id }).first();
    let statusCode: number | null = null;
    let answer = '';
    if (!file || !target) answer = 'no file or no push address';
    else {
      const timestamp = String(Math.floor(Date.now() / 1000));
      let signature = '';
      try {
        const hmac = crypto.createHmac('sha256', openSecret(box, target.secret)).update(`${timestamp}.`);
        for await (const c of repo.chunksOf(db, file.id, file.chunks)) hmac.update(c);
        signature = `sha256=${hmac.digest('hex')}`;
      } catch (err) {
        answer = `not signed: ${(err as Error).message}`.slice(0, 500);
      }
      const out = signature === '' ? null : await postOnce(d.url, {
        body: Readable.from(repo.chunksOf(db, file.id, file.chunks)), policy: { allowPrivate: opts.allowPrivate ?? false },
        headers: {
          'content-type': 'application/octet-stream', 'content-length': String(file.byteSize), [TIMESTAMP_HEADER]: timestamp, [SIGNATURE_HEADER]: signature,
          'x-record-file-id': String(file.id), 'x-record-file-number': String(file.number), 'x-record-file-name': file.filename, 'x-record-file-sha256': file.sha256 ?? '',
        },
        timeoutMs: opts.timeoutMs ?? 30_000,
      });
      if (out) {
        statusCode = out.statusCode;
        answer = out.error === null ? out.answer : `not reached: ${out.error}`.slice(0, 500);
      }
    }
    const ok = statusCode !== null && statusCode >= 200 && statusCode < 300;
    const attempts = Number(d.attempts) + 1;
    const nextMs = now() + retryDelayMs(attempts);
    const status = ok ? 'delivered' : nextMs > new Date(d.give_up_at).getTime() ? 'failed' : 'pending';
    await db.transaction(async (tx) => {
      await tx('record_file_delivery_attempts').insert({ delivery_id: d.id, status_code: statusCode, answer });
      await tx('record_file_deliveries').where({ id: d.id }).update({ attempts, status, next_at: new Date(nextMs), finished_at: status === 'pending' ? null : tx.fn.now() });
    });
    if (ok) delivered++;
  }
  return { tried, delivered };
}
