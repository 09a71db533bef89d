import type { Db, Queryable } from '../../db/knex';
import { ConflictError, FieldErrors, NotFoundError } from '../../domain/errors';
import {
  CATALOGUE, compileSpec, encodeLine, FieldOverflowError, fileStart, formatFile, formatLeg, parseRecordSpec, presetByKey, presetSpec, previewCells, RECORD_PRESETS, readRecordSpec,
  type LegRecord, type RecordPreset, type RecordSpec,
} from '../../domain/records';
import type { Actor } from '../../domain/tenancy/actor';
import { recordAudit } from '../audit/audit.repository';
import { recentRecordLegs, streamRecordLegs } from '../ledger/record-reads';
import * as repo from './record-specs.repository';
import type { SpecFormInput } from './record-specs.schemas';

export type { RecordSpecRow } from './record-specs.repository';
export { CATALOGUE, RECORD_PRESETS };

/**
 * Record specifications (issue 12, "Record specifications"): each reseller's formats for its
 * rated call records. Both portals call the same functions with the reseller's id (the reseller
 * portal its own, the wholesale portal any reseller's, found through resellers.getOrThrow first);
 * a spec of another reseller is never found. The spec is checked by the domain on every write.
 */

/** A spec as the pages show it: the stored row and its spec read. */
export interface RecordSpecView extends repo.RecordSpecRow {
  spec: RecordSpec;
}

const view = (row: repo.RecordSpecRow): RecordSpecView => ({ ...row, spec: parseRecordSpec(row.spec) });

export async function listSpecs(db: Queryable, resellerId: number): Promise<RecordSpecView[]> {
  return (await repo.listSpecs(db, resellerId)).map(view);
}

export async function getSpecOrThrow(db: Queryable, resellerId: number, id: number): Promise<RecordSpecView> {
  const row = await repo.getSpec(db, resellerId, id);
  if (!row) throw new NotFoundError();
  return view(row);
}

async function checkName(db: Queryable, resellerId: number, name: string, exceptId?: number) {
  if (await repo.nameTaken(db, resellerId, name, exceptId)) throw new FieldErrors({ name: `A record specification named ${name} exists already` });
}

/** Checked again here, whoever calls: the form, JSON, a script. */
function checked(spec: unknown): RecordSpec {
  const r = readRecordSpec(spec);
  if (!r.ok) throw new FieldErrors(r.errors);
  return r.spec;
}

export async function createSpec(db: Db, actor: Actor, resellerId: number, input: SpecFormInput): Promise<RecordSpecView> {
  const spec = checked(input.spec);
  return db.transaction(async (tx) => {
    await checkName(tx, resellerId, input.name);
    const id = await repo.insertSpec(tx, resellerId, { name: input.name, period: input.period, postsFrom: input.posts_from ?? null, spec });
    await recordAudit(tx, actor, { resellerId, entityType: 'record_specification', entityId: id, action: 'create', after: { name: input.name, period: input.period, posts_from: input.posts_from ?? null, spec } });
    return getSpecOrThrow(tx, resellerId, id);
  });
}

export async function updateSpec(db: Db, actor: Actor, resellerId: number, id: number, input: SpecFormInput): Promise<RecordSpecView> {
  const spec = checked(input.spec);
  return db.transaction(async (tx) => {
    const before = await getSpecOrThrow(tx, resellerId, id);
    if (!before.active) throw new ConflictError(`${before.name} is retired: it can no longer be changed.`);
    await checkName(tx, resellerId, input.name, id);
    const postsFrom = input.posts_from ?? null;
    // Once a file is begun, where the files begin is history: moving it would leave calls out or post them twice.
    if (postsFrom !== before.postsFrom && (await repo.hasFiles(tx, resellerId, id))) {
      throw new FieldErrors({ posts_from: `Files of ${before.name} have been posted from ${before.postsFrom ?? 'its first period'}: that can no longer change (make a new specification to post from another date)` });
    }
    await repo.updateSpec(tx, resellerId, id, { name: input.name, period: input.period, postsFrom, spec });
    await recordAudit(tx, actor, {
      resellerId, entityType: 'record_specification', entityId: id, action: 'update',
      before: { name: before.name, period: before.period, posts_from: before.postsFrom, spec: before.spec }, after: { name: input.name, period: input.period, posts_from: postsFrom, spec },
    });
    return getSpecOrThrow(tx, resellerId, id);
  });
}

export async function retireSpec(db: Db, actor: Actor, resellerId: number, id: number): Promise<void> {
  await db.transaction(async (tx) => {
    const before = await getSpecOrThrow(tx, resellerId, id);
    if (!(await repo.retireSpec(tx, resellerId, id))) throw new ConflictError(`${before.name} is retired already.`);
    await recordAudit(tx, actor, { resellerId, entityType: 'record_specification', entityId: id, action: 'retire', before: { active: true }, after: { active: false } });
  });
}

/** A preset by its key, in the reseller's own zone; undefined for an unknown key. */
export function presetFor(key: string | undefined, timeZone: string): { preset: RecordPreset; spec: RecordSpec } | undefined {
  const preset = key ? presetByKey(key) : undefined;
  return preset ? { preset, spec: presetSpec(preset, timeZone) } : undefined;
}

/** How many legs the preview reads: the reseller's most recent. */
export const PREVIEW_LEGS = 20;

export interface Preview {
  /** Column names and each leg's cells as the file writes them (before quoting and padding). */
  columns: string[];
  rows: string[][];
  /** The file itself (header and lines) as text, or the error that stops it (a value wider than its column). */
  text: string | null;
  error: string | null;
  records: number;
}

async function previewLegs(db: Queryable, resellerId: number, spec: RecordSpec): Promise<LegRecord[]> {
  return recentRecordLegs(db, resellerId, { filter: spec.filter }, PREVIEW_LEGS);
}

/** The spec applied to the reseller's most recent legs that pass its filter. */
export async function preview(db: Queryable, resellerId: number, spec: RecordSpec): Promise<Preview> {
  const legs = await previewLegs(db, resellerId, spec);
  const compiled = compileSpec(spec);
  const rows = legs.map((l) => previewCells(compiled, l));
  try {
    const file = formatFile(spec, legs);
    // Shown as text: a single-byte file is read back as ISO-8859-1 (each byte one character).
    return { columns: spec.fields.map((f) => f.name), rows, text: file.bytes.toString(spec.charset === 'UTF-8' ? 'utf8' : 'latin1'), error: null, records: file.records };
  } catch (err) {
    if (err instanceof FieldOverflowError) return { columns: spec.fields.map((f) => f.name), rows, text: null, error: err.message, records: 0 };
    throw err;
  }
}

/** The preview as the file a posting would write: its bytes, content type and a file name. */
export async function previewFile(db: Queryable, resellerId: number, row: RecordSpecView): Promise<{ bytes: Buffer; contentType: string; filename: string }> {
  const spec = row.spec;
  const file = formatFile(spec, await previewLegs(db, resellerId, spec));
  const charset = spec.charset === 'UTF-8' ? 'utf-8' : spec.charset === 'ISO-8859-1' ? 'iso-8859-1' : 'windows-1252';
  const type = spec.layout === 'fixed' ? 'text/plain' : spec.delimiter === '\t' ? 'text/tab-separated-values' : 'text/csv';
  const base = row.name.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '') || `spec-${row.id}`;
  return { bytes: file.bytes, contentType: `${type}; charset=${charset}`, filename: `${base}-preview.${spec.layout === 'fixed' ? 'txt' : spec.delimiter === '\t' ? 'tsv' : 'csv'}` };
}

/**
 * A record file of the reseller's legs that start in [fromMs, toMs), in call order, as chunks of
 * bytes (the start with byte order mark and header, then lines gathered to about 64 KB): what the
 * posting work pipes to a file or a response (`Readable.from(recordFileChunks(...))`). Legs are
 * read by keyset in batches and each line is formatted on its own, so memory stays constant
 * whatever the period holds. A FieldOverflowError stops the file (nothing half-right is written).
 */
export async function* recordFileChunks(db: Queryable, resellerId: number, spec: RecordSpec, period: { fromMs?: number; toMs?: number } = {}, batch = 2000): AsyncGenerator<Buffer> {
  const compiled = compileSpec(spec);
  const start = fileStart(compiled);
  if (start.length) yield start;
  let parts: Buffer[] = [];
  let size = 0;
  for await (const leg of streamRecordLegs(db, resellerId, { filter: spec.filter, ...period }, batch)) {
    const line = formatLeg(compiled, leg);
    if (line === null) continue;
    const bytes = encodeLine(compiled, line);
    parts.push(bytes);
    size += bytes.length;
    if (size >= 65_536) {
      yield Buffer.concat(parts);
      parts = [];
      size = 0;
    }
  }
  if (parts.length) yield Buffer.concat(parts);
}
