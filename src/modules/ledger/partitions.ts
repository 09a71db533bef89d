import type { Db } from '../../db/knex';

/**
 * Monthly partitions of call_legs and charges (and of carrier_records, asked by name), created on first use. DDL takes a strong lock on
 * the parent table, so it runs in its own short transaction before the intake's write, once per
 * month per process.
 */
const ensured = new WeakMap<Db, Set<string>>();

export function monthOf(ms: number): { key: string; from: string; to: string } {
  const d = new Date(ms);
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth();
  const from = new Date(Date.UTC(y, m, 1)).toISOString();
  const to = new Date(Date.UTC(y, m + 1, 1)).toISOString();
  return { key: `${y}_${String(m + 1).padStart(2, '0')}`, from, to };
}

export async function ensurePartitions(db: Db, startTimes: Iterable<number>, tables: readonly string[] = ['call_legs', 'charges']): Promise<void> {
  let known = ensured.get(db);
  if (!known) {
    known = new Set();
    ensured.set(db, known);
  }
  const months = new Map<string, { from: string; to: string }>();
  // A thousand legs fall in a month or two: the month's bounds are worked out once per month.
  const seen = new Set<number>();
  for (const ms of startTimes) {
    const d = new Date(ms);
    const month = d.getUTCFullYear() * 12 + d.getUTCMonth();
    if (seen.has(month)) continue;
    seen.add(month);
    const m = monthOf(ms);
    if (!known.has(`${tables.join(',')}:${m.key}`)) months.set(m.key, m);
  }
  for (const [key, m] of months) {
    for (const table of tables) {
      try {
        // DDL takes no bind parameters; the bounds are ISO timestamps we just made, never input.
        if (!/^[\d:.TZ-]+$/.test(m.from + m.to)) throw new Error('bad partition bound');
        await db.raw(`CREATE TABLE IF NOT EXISTS ?? PARTITION OF ?? FOR VALUES FROM ('${m.from}') TO ('${m.to}')`, [`${table}_p${key}`, table]);
      } catch (err) {
        // Another process created it between our check and our CREATE: fine.
        const exists = await db.raw(`select to_regclass(?) as r`, [`${table}_p${key}`]);
        if (!exists.rows[0]?.r) throw err;
      }
    }
    known.add(`${tables.join(',')}:${key}`);
  }
}
