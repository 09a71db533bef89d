import type { Queryable } from '../../db/knex';

/** Deliveries deleted a statement: each batch is a short transaction, so the sender is never held up long. */
const PRUNE_BATCH = 5_000;

/**
 * Deletes the finished deliveries (delivered, or given up) that finished before `before`, with
 * their attempts (ON DELETE CASCADE), oldest first, in batches; how many went. A pending delivery
 * is never deleted, however old: it is still owed to its endpoint.
 */
export async function pruneDeliveries(db: Queryable, before: Date, opts: { batch?: number; signal?: AbortSignal } = {}): Promise<number> {
  const batch = opts.batch ?? PRUNE_BATCH;
  let deleted = 0;
  for (;;) {
    opts.signal?.throwIfAborted();
    const res = (await db.raw(
      `DELETE FROM webhook_deliveries WHERE id IN (
         SELECT id FROM webhook_deliveries WHERE status <> 'pending' AND finished_at < ? ORDER BY finished_at LIMIT ?)`,
      [before.toISOString(), batch],
    )) as { rowCount?: number };
    const n = res.rowCount ?? 0;
    deleted += n;
    if (n < batch) return deleted;
  }
}
