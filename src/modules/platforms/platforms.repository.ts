import type { Queryable } from '../../db/knex';
import type { ShortNumberMode } from '../../domain/legs/identity';
import type { FormatName } from '../../domain/mediation';
import type { PlatformInput } from './platforms.schemas';

/** A switch that sends call records: operator-level, reached only by wholesale staff and its own credential. */
export interface Platform {
  id: number;
  name: string;
  format: FormatName;
  timeZone: string;
  countryCode: string;
  credentialHash: string;
  credentialRotatedAt: Date;
  allowedSources: string[] | null;
  trunkCarriers: Record<string, string>;
  /** How short digit strings on its records are read, and the SIP domain of records that name none (hosted PBX). */
  shortNumbers: ShortNumberMode;
  sipDomain: string | null;
  active: boolean;
  /** The earliest call start its records may carry (see the window in intake.service). */
  acceptCallsFrom: Date;
  createdAt: Date;
  updatedAt: Date;
}

function parseCidrArray(v: unknown): string[] | null {
  if (v === null || v === undefined) return null;
  if (Array.isArray(v)) return v as string[];
  const s = String(v);
  return s === '{}' ? [] : s.slice(1, -1).split(',');
}

function toPlatform(r: Record<string, any>): Platform {
  return {
    id: r.id,
    name: r.name,
    format: r.format,
    timeZone: r.time_zone,
    countryCode: r.country_code,
    credentialHash: r.credential_hash,
    credentialRotatedAt: r.credential_rotated_at,
    allowedSources: parseCidrArray(r.allowed_sources),
    trunkCarriers: r.trunk_carriers ?? {},
    shortNumbers: r.short_numbers ?? 'national',
    sipDomain: r.sip_domain ?? null,
    active: r.active,
    acceptCallsFrom: r.accept_calls_from,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

export async function listPlatforms(db: Queryable): Promise<Platform[]> {
  const rows = (await db('platforms').select('*').orderByRaw('lower(name), id')) as Array<Record<string, any>>;
  return rows.map(toPlatform);
}

/** Every platform, for the intake's in-memory copy (platform-cache.ts). */
export async function allPlatforms(db: Queryable): Promise<Platform[]> {
  return ((await db('platforms').select('*')) as Array<Record<string, any>>).map(toPlatform);
}

export async function getPlatform(db: Queryable, id: number): Promise<Platform | undefined> {
  const row = await db('platforms').where('id', id).first();
  return row ? toPlatform(row) : undefined;
}

function columns(input: PlatformInput) {
  return {
    name: input.name,
    format: input.format,
    time_zone: input.time_zone,
    country_code: input.country_code,
    allowed_sources: input.allowed_sources ? input.allowed_sources : null,
    trunk_carriers: JSON.stringify(input.trunk_carriers),
    short_numbers: input.short_numbers,
    sip_domain: input.sip_domain,
    active: input.active,
    // A form left empty keeps the column's default (new) or what is stored (edit).
    ...(input.accept_calls_from ? { accept_calls_from: `${input.accept_calls_from}T00:00:00Z` } : {}),
  };
}

export async function insertPlatform(db: Queryable, input: PlatformInput, credentialHash: string): Promise<Platform> {
  const c = columns(input);
  const [row] = await db('platforms')
    .insert({ ...c, allowed_sources: c.allowed_sources ? db.raw('?::cidr[]', [`{${c.allowed_sources.join(',')}}`]) : null, credential_hash: credentialHash })
    .returning('*');
  return toPlatform(row);
}

export async function updatePlatform(db: Queryable, id: number, input: PlatformInput): Promise<Platform> {
  const c = columns(input);
  const [row] = await db('platforms')
    .where('id', id)
    .update({ ...c, allowed_sources: c.allowed_sources ? db.raw('?::cidr[]', [`{${c.allowed_sources.join(',')}}`]) : null, updated_at: db.fn.now() })
    .returning('*');
  return toPlatform(row);
}

export async function setCredential(db: Queryable, id: number, credentialHash: string): Promise<void> {
  await db('platforms').where('id', id).update({ credential_hash: credentialHash, credential_rotated_at: db.fn.now(), updated_at: db.fn.now() });
}

/** Each platform's trunk -> LD carrier map. */
export async function trunkCarriersOf(db: Queryable, platformIds: number[]): Promise<Map<number, Record<string, string>>> {
  const out = new Map<number, Record<string, string>>();
  if (platformIds.length === 0) return out;
  const rows = await db('platforms').whereIn('id', platformIds).select('id', 'trunk_carriers');
  for (const r of rows) out.set(r.id, (r.trunk_carriers ?? {}) as Record<string, string>);
  return out;
}

/** Points every trunk mapped to a carrier (by name, whatever its case) at its new name; the platforms changed. */
export async function renameTrunkCarrier(db: Queryable, from: string, to: string): Promise<number[]> {
  const res = (await db.raw(
    `UPDATE platforms p SET trunk_carriers = fixed.map, updated_at = now()
       FROM (
         SELECT p2.id, jsonb_object_agg(c.key, CASE WHEN lower(c.value) = lower(?) THEN ? ELSE c.value END) AS map
           FROM platforms p2 CROSS JOIN LATERAL jsonb_each_text(p2.trunk_carriers) AS c
          GROUP BY p2.id
         HAVING bool_or(lower(c.value) = lower(?))
       ) fixed
      WHERE fixed.id = p.id
      RETURNING p.id`,
    [from, to, from],
  )) as { rows: Array<{ id: string | number }> };
  return res.rows.map((r) => Number(r.id));
}
