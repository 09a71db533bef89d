/**
 * Runs in a worker thread of the parse pool (parse-pool.ts): one post's body -> its records, by the
 * platform's adapter. The answer is plain data (structured clone), never a thrown error: a body
 * the adapter cannot read is the content's doing, and its reason travels back as text.
 */
import os from 'node:os';
import { isMainThread } from 'node:worker_threads';
import { getAdapter, MediationError } from '../../domain/mediation';
import type { AdapterContext, RecordOutcome } from '../../domain/legs/leg';

// A parse thread gives way to the event loop and to Postgres: on Linux a thread's nice value is its
// own, so a 10 MB post is read with the CPU the good posts leave over (on two cores, the thread
// otherwise took a whole core from them for its second). Not in the main thread, which imports
// this file for small bodies.
if (!isMainThread) {
  try {
    os.setPriority(0, 10);
  } catch {
    // Not allowed here (some containers): the thread runs at the process's priority.
  }
}

export interface ParseTask {
  format: string;
  body: string;
  contentType: string | undefined;
  ctx: AdapterContext;
}

/** The most records one post may carry: a larger one holds up every post grouped with it. */
export const MAX_RECORDS_PER_POST = 10_000;

/** `tooLarge` when the body holds more records than a post may (counted here: the records are not sent back), or takes more memory to read. */
export type ParseAnswer = { ok: true; records: RecordOutcome[] } | { ok: false; error: string; tooLarge?: true };

/** The adapter's parse, with its failure as a value (the same words inline and in a worker). */
export function parseBody(t: ParseTask): ParseAnswer {
  const adapter = getAdapter(t.format);
  if (!adapter) throw new Error(`unknown format ${t.format}`);
  try {
    const { records } = adapter.parse(t.body, t.contentType, t.ctx);
    if (records.length > MAX_RECORDS_PER_POST) return { ok: false, tooLarge: true, error: `the body holds ${records.length} records, more than the ${MAX_RECORDS_PER_POST} a post may carry: send them in smaller posts` };
    return { ok: true, records };
  } catch (err) {
    // MediationError says why; any other error is an adapter that should have: its message is the reason.
    return { ok: false, error: err instanceof MediationError ? err.message : `the body could not be read: ${err instanceof Error ? err.message : String(err)}` };
  }
}

export default parseBody;
