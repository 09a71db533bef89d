import type { Db, Queryable } from '../../db/knex';
import type { NormalisedLeg, RecordOutcome } from '../../domain/legs/leg';
import { getAdapter } from '../../domain/mediation';
import type { Platform } from '../platforms/platforms.repository';
import type { ParsedPost, PostInput } from './intake.service';

/*
 * Halves of calls across posts (Kamailio acc: an INVITE now, its BYE in a later post): paired with
 * the halves stored from earlier posts when a post is parsed, stored when they still wait, paired
 * later when two halves missed each other, and expired when the other half never comes.
 */

/**
 * The stored halves of one call, parsed together, as a post of their own: what pairs becomes legs
 * (each half keeps its own raw record), what still waits stays stored. Undefined when nothing pairs.
 */
export async function pairStoredHalves(db: Db, platform: Platform, key: string): Promise<ParsedPost | undefined> {
  const adapter = getAdapter(platform.format);
  if (!adapter) return undefined;
  const stored = (await db('pending_records').where({ platform_id: platform.id, correlation: key }).orderBy('id').select('id', 'record', 'raw')) as Array<{
    id: number;
    record: Record<string, string>;
    raw: string;
  }>;
  if (stored.length < 2) return undefined;
  const merged = adapter.parse(JSON.stringify(stored.map((s) => s.record)), 'application/json', { timeZone: platform.timeZone, countryCode: platform.countryCode }).records;
  const good: Array<Extract<RecordOutcome, { ok: true }>> = [];
  const consumed: number[] = [];
  merged.forEach((o, i) => {
    const s = stored[i];
    if (!o.ok || !s) return;
    good.push({ ...o, index: good.length, raw: s.raw });
    consumed.push(s.id);
  });
  if (!good.some((o) => o.legs.length > 0)) return undefined;
  const input: PostInput = { platform, body: stored.map((s) => s.raw).join('\n'), contentType: 'application/json', sourceIp: undefined };
  return { input, outcomes: good, good, consumedPending: consumed };
}

type Awaiting = Extract<RecordOutcome, { ok: false }> & { awaiting: { key: string; record: Record<string, string> } };

/**
 * Halves of calls across posts (Kamailio acc: an INVITE now, its BYE in a later post). The halves
 * this post leaves open are parsed again together with the halves stored from earlier posts under
 * the same key; what pairs becomes legs of this post (on the record that completed the call), what
 * does not stays awaiting and is stored by writePosts.
 */
export async function pairWithPending(
  db: Db,
  parse: (body: string, contentType: string | undefined, ctx: { timeZone: string; countryCode: string }) => { records: RecordOutcome[] },
  input: PostInput,
  outcomes: RecordOutcome[],
): Promise<{ outcomes: RecordOutcome[]; consumedPending: number[] }> {
  const awaiting = outcomes.filter((o): o is Awaiting => !o.ok && o.awaiting !== undefined);
  if (awaiting.length === 0) return { outcomes, consumedPending: [] };
  const stored = (await db('pending_records')
    .where('platform_id', input.platform.id)
    .whereIn('correlation', [...new Set(awaiting.map((a) => a.awaiting.key))])
    .orderBy('id')
    .select('id', 'correlation', 'record')) as Array<{ id: number; correlation: string; record: Record<string, string> }>;
  if (stored.length === 0) return { outcomes, consumedPending: [] };

  const ctx = { timeZone: input.platform.timeZone, countryCode: input.platform.countryCode };
  const merged = parse(JSON.stringify([...stored.map((s) => s.record), ...awaiting.map((a) => a.awaiting.record)]), 'application/json', ctx).records;
  const consumed: number[] = [];
  // Legs that came out on a stored half go to this post's record that completed the call.
  const legsByKey = new Map<string, NormalisedLeg[]>();
  stored.forEach((s, i) => {
    const o = merged[i];
    if (o?.ok) {
      consumed.push(s.id);
      legsByKey.set(s.correlation, [...(legsByKey.get(s.correlation) ?? []), ...o.legs]);
    }
  });
  const replaced = new Map<RecordOutcome, RecordOutcome>();
  awaiting.forEach((a, j) => {
    const o = merged[stored.length + j];
    if (!o || (!o.ok && o.awaiting)) return; // still waiting
    const extra = legsByKey.get(a.awaiting.key) ?? [];
    legsByKey.delete(a.awaiting.key);
    replaced.set(a, o.ok ? { ok: true, index: a.index, raw: a.raw, legs: [...o.legs, ...extra] } : { ok: false, index: a.index, raw: a.raw, error: o.error });
  });
  return { outcomes: outcomes.map((o) => replaced.get(o) ?? o), consumedPending: consumed };
}

/**
 * Stores a half that still waits, in the transaction that writes its post. Two halves of a call in
 * concurrent posts each find nothing stored when parsed: the lock makes the second writer wait for
 * the first's commit, so it sees that half. True when another half was waiting (both are then
 * paired once this post is committed: pairStoredHalves).
 */
export async function storeHalf(tx: Queryable, platformId: number, awaiting: { key: string; record: Record<string, string> }, raw: string): Promise<boolean> {
  await tx.raw('select pg_advisory_xact_lock(?::int, hashtext(?))', [platformId, awaiting.key]);
  const other = await tx('pending_records').where({ platform_id: platformId, correlation: awaiting.key }).first('id');
  await tx('pending_records').insert({ platform_id: platformId, correlation: awaiting.key, record: JSON.stringify(awaiting.record), raw });
  return other !== undefined;
}

/** Stored halves a written post completed. */
export async function deletePending(tx: Queryable, ids: number[]): Promise<void> {
  if (ids.length) await tx('pending_records').whereIn('id', ids).del();
}

/**
 * Halves of calls that waited too long for their other half (a Kamailio INVITE whose BYE never
 * came: the BYE was lost, or the switch restarted). They move to the rejects with the reason, so
 * an operator sees them there instead of them waiting unseen forever. Run hourly by the
 * pending-expiry job (intake.jobs.ts), after it has paired the halves that can be paired.
 */
export async function expireStalePending(db: Db, maxAgeHours: number): Promise<number> {
  const hours = Math.max(1, Math.floor(maxAgeHours));
  const result = await db.raw(
    `WITH stale AS (
       DELETE FROM pending_records WHERE received_at < now() - make_interval(hours => ?) RETURNING *
     )
     INSERT INTO cdr_rejects (platform_id, received_at, body, error)
     SELECT platform_id, received_at, raw,
            'half of call ' || correlation || ' got no other half within ' || ? || ' hours (for Kamailio: no BYE for this INVITE, or no INVITE for this BYE)'
       FROM stale`,
    [hours, hours],
  );
  return (result as { rowCount?: number }).rowCount ?? 0;
}
