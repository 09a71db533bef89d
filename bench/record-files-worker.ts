/**
 * The closing of bench/record-files.ts in a process of its own, so that its peak RSS
 * (process.resourceUsage().maxRSS) is the closing's and nothing else's: the seeding, the COPY
 * reference and the parent's pool stay in the parent. Started by fork() with the tsx loader; the
 * input comes as a message, the result goes back as one.
 */
import { performance } from 'node:perf_hooks';
import { createDb } from '../src/db/knex';
import { closeDueFiles } from '../src/modules/record-files/record-files.service';

export interface CloseInput {
  url: string;
  resellerId: number;
  nowMs: number;
  /** Legs a batch (closeDueFiles' own default when absent). */
  batch?: number;
}

export interface CloseOutput {
  seconds: number;
  closed: number;
  batches: number;
  /** Peak resident set of this process, bytes (includes Node, tsx and the app's modules). */
  maxRssBytes: number;
  /** The resident set before the closing started (what loading the code cost). */
  rssBeforeBytes: number;
  /** The largest V8 heap seen after a batch, bytes. */
  heapPeakBytes: number;
}

async function close(input: CloseInput): Promise<CloseOutput> {
  const db = createDb(input.url, { poolMax: 2 });
  try {
    await db.raw('select 1');
    const rssBeforeBytes = process.memoryUsage().rss;
    let batches = 0;
    let heapPeakBytes = process.memoryUsage().heapUsed;
    const t0 = performance.now();
    // The job's call (record-files.jobs.ts), narrowed to the bench's reseller.
    const r = await closeDueFiles(db, {
      nowMs: input.nowMs, resellerIds: [input.resellerId], ...(input.batch ? { batch: input.batch } : {}),
      afterBatch: () => {
        batches++;
        const h = process.memoryUsage().heapUsed;
        if (h > heapPeakBytes) heapPeakBytes = h;
      },
    });
    const seconds = (performance.now() - t0) / 1000;
    // maxRSS is in kilobytes.
    return { seconds, closed: r.closed, batches, maxRssBytes: process.resourceUsage().maxRSS * 1024, rssBeforeBytes, heapPeakBytes };
  } finally {
    await db.destroy();
  }
}

process.once('message', (input: CloseInput) => {
  close(input).then(
    (out) => process.send?.({ ok: true, out }, () => process.exit(0)),
    (err: Error) => process.send?.({ ok: false, error: err.stack ?? String(err) }, () => process.exit(1)),
  );
});
