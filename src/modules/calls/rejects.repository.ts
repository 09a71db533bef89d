import type { Queryable } from '../../db/knex';
import { listAll, listPage, type ListPage, type ListParams, type ListSpec } from '../../db/list';
import type { Scope } from '../../domain/tenancy/roles';

/** A body (or one record of it) the intake could not accept, kept as received. */
export interface CdrReject {
  id: number;
  platformId: number | null;
  platformName: string | null;
  receivedAt: Date;
  /** Keyset: the received time as exact text. */
  receivedKey: string;
  sourceIp: string | null;
  contentType: string | null;
  error: string;
  recordIndex: number | null;
  /** Length of the body in characters (the list does not load bodies). */
  bodyLength: number;
}

export interface CdrRejectDetail extends CdrReject {
  body: string;
  /** Bytes kept as they arrived, when text could not hold them (then `body` is a readable rendering). */
  bytesLength: number | null;
  /** The size of what was refused, when only its start is kept (a cap). */
  originalBytes: number | null;
  /** The errors of the refused records of a post, each with its index (at most a thousand listed). */
  errors: Array<{ index: number; error: string }>;
}

const RECEIVED_KEY = `to_char(x.received_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

function toReject(r: Record<string, any>): CdrReject {
  return {
    id: r.id,
    platformId: r.platform_id,
    platformName: r.platform_name ?? null,
    receivedAt: r.received_at,
    receivedKey: r.received_key,
    sourceIp: r.source_ip,
    contentType: r.content_type,
    error: r.error,
    recordIndex: r.record_index,
    bodyLength: Number(r.body_length ?? 0),
  };
}

function base(db: Queryable) {
  return db('cdr_rejects as x')
    .leftJoin('platforms as p', 'p.id', 'x.platform_id')
    .select('x.id', 'x.platform_id', 'x.received_at', 'x.source_ip', 'x.content_type', 'x.error', 'x.record_index', 'p.name as platform_name', db.raw(`${RECEIVED_KEY} as received_key`), db.raw('length(x.body) as body_length'));
}

export interface RejectFilter extends ListParams {
  platformId?: number;
  /** Text in the error or the source address. */
  q?: string;
}

/** The rejects list: its sortable columns and totals (src/db/list.ts). Newest first unless asked. */
export const REJECT_LIST: ListSpec = {
  sorts: {
    received: { sql: 'x.received_at', kind: 'time' },
    platform: { sql: 'lower(p.name)', kind: 'text' },
    source: { sql: 'x.source_ip::text', kind: 'text' },
    error: { sql: 'lower(x.error)', kind: 'text' },
    record: { sql: 'coalesce(x.record_index, -1)', kind: 'number' },
    size: { sql: 'length(x.body)', kind: 'number' },
  },
  defaultSort: 'received',
  defaultDir: 'desc',
  id: 'x.id',
  totals: { chars: 'sum(body_length)' },
};

/** Rejects are the operator's: other scopes reach none. */
function filteredRejects(db: Queryable, scope: Scope, f: RejectFilter) {
  const q = base(db);
  if (scope.kind !== 'wholesale') q.whereRaw('false');
  if (f.platformId) q.where('x.platform_id', f.platformId);
  if (f.q) {
    const like = `%${f.q}%`;
    q.where((w) => w.whereILike('x.error', like).orWhereRaw('x.source_ip::text ilike ?', [like]));
  }
  return q;
}

export async function listRejects(db: Queryable, scope: Scope, f: RejectFilter): Promise<ListPage<CdrReject>> {
  return listPage(db, filteredRejects(db, scope, f), REJECT_LIST, f, toReject);
}

/** Every reject of the filter, in the list's order (its CSV). */
export function allRejects(db: Queryable, scope: Scope, f: RejectFilter): AsyncGenerator<CdrReject> {
  return listAll(db, filteredRejects(db, scope, f), REJECT_LIST, f, toReject);
}

export async function getReject(db: Queryable, scope: Scope, id: number): Promise<CdrRejectDetail | undefined> {
  if (scope.kind !== 'wholesale') return undefined;
  const row = await base(db).select('x.body', 'x.errors', 'x.original_bytes', db.raw('length(x.body_bytes) as bytes_length')).where('x.id', id).first();
  if (!row) return undefined;
  return {
    ...toReject(row),
    body: row.body,
    bytesLength: row.bytes_length === null ? null : Number(row.bytes_length),
    originalBytes: row.original_bytes === null ? null : Number(row.original_bytes),
    errors: (row.errors ?? []) as Array<{ index: number; error: string }>,
  };
}

/** What was posted, exactly: the kept bytes, or the body's text as UTF-8. */
export async function rejectBytes(db: Queryable, scope: Scope, id: number): Promise<Buffer | undefined> {
  if (scope.kind !== 'wholesale') return undefined;
  const row = await db('cdr_rejects').where({ id }).first('body', 'body_bytes');
  if (!row) return undefined;
  return row.body_bytes ? Buffer.from(row.body_bytes) : Buffer.from(row.body as string, 'utf8');
}
