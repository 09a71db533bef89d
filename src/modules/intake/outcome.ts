/*
 * What became of a post, and the one place where that becomes an HTTP status. Every stage returns
 * an outcome; none of them picks a status.
 */

export interface LegOutcome {
  leg_key: string;
  id: number;
  call_id: string;
  status: string;
  reason: string | null;
  direction: string | null;
  duplicate: boolean;
  /** A duplicate that says something else than the stored leg: how (the record is kept in the rejects for review). */
  differs?: string[];
}

export interface RecordResult {
  index: number;
  /** pending: half of a call, stored until its other half arrives in a later post. */
  status: 'accepted' | 'duplicate' | 'rejected' | 'pending';
  error?: string;
  reject_id?: number;
  legs: LegOutcome[];
}

/**
 * Why a post was refused whole. Refusals of the content are kept in the rejects (rejectId); the
 * others (who sent it, how often, a passing fault) are not.
 */
export type Refusal =
  /** Not JSON/CSV/XML of the platform's format, not UTF-8, a NUL byte, a body that does not decompress. */
  | 'unreadable'
  /** More bytes or records than a post may carry. */
  | 'too-large'
  /** An encoding or charset we do not read. */
  | 'unsupported'
  /** No record, or every record refused, or a value the database refused. */
  | 'nothing-storable'
  | 'unauthenticated'
  | 'forbidden'
  /** Too many posts a second, or in flight, from one platform. */
  | 'throttled'
  /** A passing fault (the database out of reach): nothing was stored, send it again. */
  | 'unavailable';

/** What the stages return: the post stored (in part, or as duplicates), or refused whole and kept in the rejects. */
export type PostOutcome =
  | { kind: 'stored'; records: RecordResult[] }
  | { kind: 'refused'; refusal: Refusal; error: string; rejectId: number };

/** A post refused before it is read (who sent it, how often) or for a passing fault: nothing kept. */
export interface Turnaway {
  kind: 'refused';
  refusal: Refusal;
  error: string;
}

/** What a switch gets for a post it sent. */
export interface PostBody {
  accepted: number;
  duplicates: number;
  rejected: number;
  pending?: number;
  records: RecordResult[];
  error?: string;
  reject_id?: number;
}

export interface PostResult {
  httpStatus: number;
  body: PostBody;
}

const STATUS: Record<Refusal, number> = {
  unreadable: 400,
  'too-large': 413,
  unsupported: 415,
  'nothing-storable': 422,
  unauthenticated: 401,
  forbidden: 403,
  throttled: 429,
  unavailable: 503,
};

/** The only place that picks a status: a stored post is 200 when anything of it is acknowledged, else 422. */
export function httpStatusOf(o: PostOutcome | Turnaway): number {
  if (o.kind === 'refused') return STATUS[o.refusal];
  // Stored, already there, or kept until its other half comes: acknowledged.
  return o.records.some((r) => r.status === 'accepted' || r.status === 'duplicate' || r.status === 'pending') ? 200 : 422;
}

/** A post's outcome as the answer. */
export function answerOf(o: PostOutcome): PostResult {
  const httpStatus = httpStatusOf(o);
  if (o.kind === 'refused') return { httpStatus, body: { accepted: 0, duplicates: 0, rejected: 1, records: [], error: o.error, reject_id: o.rejectId } };
  const results = o.records;
  const count = (status: RecordResult['status']) => results.filter((r) => r.status === status).length;
  return { httpStatus, body: { accepted: count('accepted'), duplicates: count('duplicate'), rejected: count('rejected'), pending: count('pending'), records: results } };
}

/** A turned-away post as the answer: the reason alone. */
export function turnawayAnswer(o: Turnaway): { httpStatus: number; body: { error: string } } {
  return { httpStatus: httpStatusOf(o), body: { error: o.error } };
}
