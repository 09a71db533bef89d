import type { Queryable } from '../../db/knex';
import { Decimal } from '../../domain/money/decimal';
import { stageCarrierLegs } from '../ledger/reconciliation.reads';
import { RECON_CLASSES, type ReconClass, type ReconClassTotal } from '../../domain/reconciliation/reconcile';

/**
 * Set-based reconciliation (issue 13) in SQL: the rules of src/domain/reconciliation/reconcile.ts,
 * which is the reference the tests hold this to.
 *
 * Inputs, for a carrier and a period [from, to) (both sides by their start):
 * - our legs, staged by the ledger (ledger/reconciliation.reads.ts stageCarrierLegs: which legs,
 *   and expected cost, destination and deck rate from their 'carrier_cost' charge). A leg with no
 *   expected cost: if matched it is a cost mismatch at the carrier's full cost (as for a record in
 *   another currency), if unmatched its money at stake is zero; its currency is the carrier's.
 * - the carrier's records: carrier_records of the carrier in the period.
 *
 * Matching runs in rounds: every remaining candidate pair that is both its leg's and its record's
 * best (closest start; ties by record key, resp. leg id) is taken, and the candidates of taken legs
 * and records are dropped. That is the reference's greedy order (its module comment). Record keys
 * are "id:…" or "line:…" (carrierRecordKey), never bare digits, so COLLATE "C" is its tie order.
 */

export interface RunTolerances {
  startSeconds: number;
  durationSeconds: number;
  cost: string;
}

export interface ReconcileInput {
  runId: number;
  carrierId: number;
  carrierName: string;
  carrierCurrency: string;
  from: Date;
  to: Date;
  tolerances: RunTolerances;
}

const rowCount = (r: any): number => Number(r?.rowCount ?? r?.affectedRows ?? 0);

/**
 * Fills reconciliation_items for a run. Must run inside a transaction (its work tables are
 * temporary, dropped at commit). Returns the numbers of legs, records and matching rounds.
 */
export async function reconcileIntoItems(tx: Queryable, o: ReconcileInput): Promise<{ legs: number; records: number; rounds: number }> {
  await tx.raw('DROP TABLE IF EXISTS recon_legs, recon_records, recon_edges, recon_pairs');
  await stageCarrierLegs(tx, 'recon_legs', { carrierName: o.carrierName, carrierCurrency: o.carrierCurrency, from: o.from, to: o.to });
  await tx.raw(
    `CREATE TEMP TABLE recon_records ON COMMIT DROP AS
       SELECT record_key, called, start_at, seconds, cost, currency, rate
         FROM carrier_records
        WHERE carrier_id = ? AND start_at >= ? AND start_at < ?`,
    [o.carrierId, o.from, o.to],
  );
  await tx.raw('CREATE INDEX ON recon_legs (called, start_at)');
  await tx.raw('ANALYZE recon_legs');
  await tx.raw('ANALYZE recon_records');
  // Candidates: same called number, starts at most the tolerance apart.
  await tx.raw(
    `CREATE TEMP TABLE recon_edges ON COMMIT DROP AS
       SELECT l.leg_id, r.record_key, abs(extract(epoch FROM r.start_at - l.start_at)) AS distance
         FROM recon_records r
         JOIN recon_legs l ON l.called = r.called
                          AND l.start_at BETWEEN r.start_at - make_interval(secs => ?) AND r.start_at + make_interval(secs => ?)`,
    [o.tolerances.startSeconds, o.tolerances.startSeconds],
  );
  await tx.raw('CREATE TEMP TABLE recon_pairs (leg_id bigint PRIMARY KEY, record_key text NOT NULL UNIQUE) ON COMMIT DROP');
  let rounds = 0;
  for (;;) {
    const r = await tx.raw(`
      WITH ranked AS (
        SELECT leg_id, record_key,
               row_number() OVER (PARTITION BY leg_id ORDER BY distance, record_key COLLATE "C") AS leg_rank,
               row_number() OVER (PARTITION BY record_key ORDER BY distance, leg_id) AS record_rank
          FROM recon_edges
      ), taken AS (
        INSERT INTO recon_pairs (leg_id, record_key)
        SELECT leg_id, record_key FROM ranked WHERE leg_rank = 1 AND record_rank = 1
        RETURNING leg_id, record_key
      )
      DELETE FROM recon_edges
       WHERE leg_id IN (SELECT leg_id FROM taken) OR record_key IN (SELECT record_key FROM taken)`);
    if (rowCount(r) === 0) break;
    rounds++;
  }

  // Classify, first rule that holds (reconcile.ts rule 2), and money at stake (rule 3).
  // seq: the reference's order (our start, or the record's for a record we lack; legs first).
  await tx.raw(
    `INSERT INTO reconciliation_items
       (run_id, seq, class, leg_id, leg_start, record_key, record_start, called, our_seconds, carrier_seconds, start_offset_ms,
        seconds_difference, expected_cost, carrier_cost, cost_difference, deck_rate, carrier_rate, currency, money_at_stake, destination, day)
     WITH paired AS (
       SELECT l.leg_id, l.start_at AS leg_start, r.record_key, r.start_at AS record_start, l.called,
              l.seconds AS our_seconds, r.seconds AS carrier_seconds,
              extract(epoch FROM r.start_at - l.start_at) * 1000 AS start_offset_ms,
              r.seconds - l.seconds AS seconds_difference,
              l.expected_cost, r.cost AS carrier_cost,
              CASE WHEN l.currency = r.currency AND l.expected_cost IS NOT NULL THEN r.cost - l.expected_cost END AS cost_difference,
              l.deck_rate, r.rate AS carrier_rate, r.currency, l.destination
         FROM recon_pairs p JOIN recon_legs l USING (leg_id) JOIN recon_records r USING (record_key)
     ), classed AS (
       SELECT p.*,
              CASE WHEN abs(seconds_difference) > :dur THEN 'duration_mismatch'
                   WHEN carrier_rate IS NOT NULL AND (deck_rate IS NULL OR carrier_rate <> deck_rate) THEN 'rate_mismatch'
                   WHEN cost_difference IS NULL OR abs(cost_difference) > :cost THEN 'cost_mismatch'
                   ELSE 'matched_equal' END AS class
         FROM paired p
     ), everything AS (
       SELECT class, leg_id, leg_start, record_key, record_start, called, our_seconds, carrier_seconds, start_offset_ms, seconds_difference,
              expected_cost, carrier_cost, cost_difference, deck_rate, carrier_rate, currency,
              CASE WHEN class = 'matched_equal' THEN 0 ELSE coalesce(cost_difference, carrier_cost) END AS money_at_stake,
              destination, leg_start AS at
         FROM classed
       UNION ALL
       SELECT 'not_billed_by_carrier', l.leg_id, l.start_at, NULL, NULL, l.called, l.seconds, NULL, NULL, NULL,
              l.expected_cost, NULL, NULL, l.deck_rate, NULL, l.currency, coalesce(-l.expected_cost, 0), l.destination, l.start_at
         FROM recon_legs l WHERE NOT EXISTS (SELECT 1 FROM recon_pairs p WHERE p.leg_id = l.leg_id)
       UNION ALL
       SELECT 'not_in_our_records', NULL, NULL, r.record_key, r.start_at, r.called, NULL, r.seconds, NULL, NULL,
              NULL, r.cost, NULL, NULL, r.rate, r.currency, r.cost, NULL, r.start_at
         FROM recon_records r WHERE NOT EXISTS (SELECT 1 FROM recon_pairs p WHERE p.record_key = r.record_key)
     )
     SELECT :run, row_number() OVER (ORDER BY at, leg_id IS NULL, leg_id, record_key COLLATE "C"), class, leg_id, leg_start, record_key,
            record_start, called, our_seconds, carrier_seconds, start_offset_ms, seconds_difference, expected_cost, carrier_cost,
            cost_difference, deck_rate, carrier_rate, currency, money_at_stake, destination, (at AT TIME ZONE 'UTC')::date
       FROM everything`.replace(/:dur/g, '?::integer').replace(/:cost/g, '?::numeric').replace(':run', '?::bigint'),
    [o.tolerances.durationSeconds, o.tolerances.cost, o.runId],
  );
  const [{ legs }] = (await tx.raw('SELECT count(*)::int AS legs FROM recon_legs')).rows;
  const [{ records }] = (await tx.raw('SELECT count(*)::int AS records FROM recon_records')).rows;
  return { legs, records, rounds };
}

export type RunStatus = 'running' | 'done' | 'failed' | 'superseded';

export interface ReconRun {
  id: number;
  carrierId: number;
  periodFrom: Date;
  periodTo: Date;
  trigger: 'manual' | 'automatic';
  requestedBy: number | null;
  requestedByEmail: string | null;
  jobId: number | null;
  status: RunStatus;
  error: string | null;
  tolerances: RunTolerances;
  legs: number;
  records: number;
  matchRounds: number;
  totals: Record<ReconClass, ReconClassTotal> | null;
  previousRunId: number | null;
  supersededBy: number | null;
  startedAt: Date;
  finishedAt: Date | null;
}

function toRun(r: Record<string, any>): ReconRun {
  return {
    id: Number(r.id),
    carrierId: Number(r.carrier_id),
    periodFrom: r.period_from,
    periodTo: r.period_to,
    trigger: r.trigger,
    requestedBy: r.requested_by === null ? null : Number(r.requested_by),
    requestedByEmail: r.requested_by_email ?? null,
    jobId: r.job_id === null ? null : Number(r.job_id),
    status: r.status,
    error: r.error,
    tolerances: { startSeconds: r.start_tolerance_seconds, durationSeconds: r.duration_tolerance_seconds, cost: new Decimal(r.cost_tolerance).toFixed() },
    legs: r.legs,
    records: r.records,
    matchRounds: r.match_rounds,
    totals: r.totals ?? null,
    previousRunId: r.previous_run_id === null ? null : Number(r.previous_run_id),
    supersededBy: r.superseded_by === null ? null : Number(r.superseded_by),
    startedAt: r.started_at,
    finishedAt: r.finished_at,
  };
}

const RUN_COLUMNS = 'r.*, u.email AS requested_by_email';

export async function insertRun(
  db: Queryable,
  o: { carrierId: number; from: Date; to: Date; trigger: 'manual' | 'automatic'; requestedBy: number | null; jobId: number | null; tolerances: RunTolerances },
): Promise<number> {
  const [row] = await db('reconciliation_runs')
    .insert({
      carrier_id: o.carrierId, period_from: o.from, period_to: o.to, trigger: o.trigger, requested_by: o.requestedBy, job_id: o.jobId,
      start_tolerance_seconds: o.tolerances.startSeconds, duration_tolerance_seconds: o.tolerances.durationSeconds, cost_tolerance: o.tolerances.cost,
    })
    .returning('id');
  return Number(row.id);
}

export async function getRun(db: Queryable, id: number): Promise<ReconRun | undefined> {
  const { rows } = await db.raw(`SELECT ${RUN_COLUMNS} FROM reconciliation_runs r LEFT JOIN users u ON u.id = r.requested_by WHERE r.id = ?`, [id]);
  return rows[0] ? toRun(rows[0]) : undefined;
}

/** The current (done) run of a carrier and period, locked: the one a new run supersedes. */
export async function currentRun(db: Queryable, carrierId: number, from: Date, to: Date): Promise<ReconRun | undefined> {
  const { rows } = await db.raw(
    `SELECT ${RUN_COLUMNS} FROM reconciliation_runs r LEFT JOIN users u ON u.id = r.requested_by
      WHERE r.carrier_id = ? AND r.period_from = ? AND r.period_to = ? AND r.status = 'done' FOR UPDATE OF r`,
    [carrierId, from, to],
  );
  return rows[0] ? toRun(rows[0]) : undefined;
}

export async function listRuns(db: Queryable, carrierId: number, limit = 200): Promise<ReconRun[]> {
  const { rows } = await db.raw(
    `SELECT ${RUN_COLUMNS} FROM reconciliation_runs r LEFT JOIN users u ON u.id = r.requested_by
      WHERE r.carrier_id = ? ORDER BY r.id DESC LIMIT ?`,
    [carrierId, limit],
  );
  return rows.map(toRun);
}

/** Count and money at stake (per currency) per class of a run's items; every class present. */
export async function itemTotals(db: Queryable, runId: number): Promise<Record<ReconClass, ReconClassTotal>> {
  const { rows } = await db.raw(
    `SELECT class, currency, count(*)::int AS n, sum(money_at_stake)::text AS money FROM reconciliation_items WHERE run_id = ? GROUP BY class, currency`,
    [runId],
  );
  return totalsFromRows(rows);
}

export function totalsFromRows(rows: Array<{ class: ReconClass; currency: string; n: number; money: string }>): Record<ReconClass, ReconClassTotal> {
  const out = {} as Record<ReconClass, ReconClassTotal>;
  for (const c of RECON_CLASSES) out[c] = { count: 0, moneyAtStake: {} };
  for (const r of rows) {
    out[r.class].count += Number(r.n);
    out[r.class].moneyAtStake[r.currency.trim()] = new Decimal(r.money).toFixed();
  }
  return out;
}

export async function finishRun(
  db: Queryable,
  id: number,
  set: { legs: number; records: number; rounds: number; totals: Record<ReconClass, ReconClassTotal>; previousRunId: number | null },
): Promise<void> {
  await db('reconciliation_runs').where({ id }).update({
    status: 'done', legs: set.legs, records: set.records, match_rounds: set.rounds, totals: JSON.stringify(set.totals),
    previous_run_id: set.previousRunId, finished_at: db.raw('clock_timestamp()'),
  });
}

export async function supersede(db: Queryable, id: number, by: number): Promise<void> {
  await db('reconciliation_runs').where({ id }).update({ status: 'superseded', superseded_by: by });
}

export async function failRun(db: Queryable, id: number, error: string): Promise<void> {
  await db('reconciliation_runs').where({ id }).update({ status: 'failed', error, finished_at: db.raw('clock_timestamp()') });
}

export interface ReconItemRow {
  seq: number;
  class: ReconClass;
  legId: string | null;
  legStart: Date | null;
  recordKey: string | null;
  recordStart: Date | null;
  called: string;
  ourSeconds: number | null;
  carrierSeconds: number | null;
  startOffsetMs: string | null;
  secondsDifference: number | null;
  expectedCost: string | null;
  carrierCost: string | null;
  costDifference: string | null;
  deckRate: string | null;
  carrierRate: string | null;
  currency: string;
  moneyAtStake: string;
  destination: string | null;
  day: string;
}

const dec = (v: unknown): string | null => (v === null || v === undefined ? null : new Decimal(String(v)).toFixed());

function toItem(r: Record<string, any>): ReconItemRow {
  return {
    seq: r.seq,
    class: r.class,
    legId: r.leg_id === null ? null : String(r.leg_id),
    legStart: r.leg_start,
    recordKey: r.record_key,
    recordStart: r.record_start,
    called: r.called,
    ourSeconds: r.our_seconds,
    carrierSeconds: r.carrier_seconds,
    startOffsetMs: dec(r.start_offset_ms),
    secondsDifference: r.seconds_difference,
    expectedCost: dec(r.expected_cost),
    carrierCost: dec(r.carrier_cost),
    costDifference: dec(r.cost_difference),
    deckRate: dec(r.deck_rate),
    carrierRate: dec(r.carrier_rate),
    currency: String(r.currency).trim(),
    moneyAtStake: dec(r.money_at_stake) as string,
    destination: r.destination,
    day: r.day_text,
  };
}

export type ItemSort = 'time' | 'money' | 'destination' | 'called' | 'seconds_difference';
const SORTS: Record<ItemSort, string> = {
  time: 'seq',
  money: 'abs(money_at_stake) DESC, seq',
  destination: 'destination COLLATE "C" NULLS LAST, seq',
  called: 'called COLLATE "C", seq',
  seconds_difference: 'abs(coalesce(seconds_difference, 0)) DESC, seq',
};

export interface ItemFilter {
  classes?: ReconClass[];
  destination?: string | null;
  /** A day in `zone`. */
  day?: string;
  zone?: string;
  /** The dispute file's records: what the carrier overbilled (mismatches where it asks more) and records we do not have. */
  dispute?: boolean;
}

function filterSql(f: ItemFilter): { sql: string; args: Array<string | number> } {
  const parts: string[] = [];
  const args: Array<string | number> = [];
  if (f.classes && f.classes.length) {
    parts.push(`class IN (${f.classes.map(() => '?').join(',')})`);
    args.push(...f.classes);
  }
  if (f.destination !== undefined) {
    if (f.destination === null) parts.push('destination IS NULL');
    else {
      parts.push('destination = ?');
      args.push(f.destination);
    }
  }
  if (f.dispute) parts.push(`(class = 'not_in_our_records' OR (class IN ('duration_mismatch', 'rate_mismatch', 'cost_mismatch') AND money_at_stake > 0))`);
  if (f.day) {
    parts.push(`(coalesce(leg_start, record_start) AT TIME ZONE ?)::date = ?::date`);
    args.push(f.zone ?? 'UTC', f.day);
  }
  return { sql: parts.length ? ` AND ${parts.join(' AND ')}` : '', args };
}

/** A run's items, in the reference's order unless sorted otherwise; limit null: all. */
export async function listItems(db: Queryable, runId: number, f: ItemFilter = {}, sort: ItemSort = 'time', limit: number | null = null, offset = 0): Promise<ReconItemRow[]> {
  const w = filterSql(f);
  const { rows } = await db.raw(
    `SELECT *, to_char(day, 'YYYY-MM-DD') AS day_text FROM reconciliation_items WHERE run_id = ?${w.sql} ORDER BY ${SORTS[sort]}${limit === null ? '' : ' LIMIT ? OFFSET ?'}`,
    [runId, ...w.args, ...(limit === null ? [] : [limit, offset])],
  );
  return rows.map(toItem);
}

/** Totals per class and currency of the items a filter selects (the drill-down list's totals). */
export async function filteredTotals(db: Queryable, runId: number, f: ItemFilter = {}): Promise<Record<ReconClass, ReconClassTotal>> {
  const w = filterSql(f);
  const { rows } = await db.raw(
    `SELECT class, currency, count(*)::int AS n, sum(money_at_stake)::text AS money FROM reconciliation_items WHERE run_id = ?${w.sql} GROUP BY class, currency`,
    [runId, ...w.args],
  );
  return totalsFromRows(rows);
}

/** The report's breakdowns: per destination, or per day in `zone`; rows of (key, class, currency, count, money). */
export async function breakdown(db: Queryable, runId: number, by: 'destination' | 'day', zone = 'UTC'): Promise<Array<{ key: string | null; rows: Array<{ class: ReconClass; currency: string; n: number; money: string }> }>> {
  const keyExpr = by === 'destination' ? 'destination' : `to_char((coalesce(leg_start, record_start) AT TIME ZONE ?)::date, 'YYYY-MM-DD')`;
  const { rows } = await db.raw(
    `SELECT * FROM (SELECT ${keyExpr} AS key, class, currency, count(*)::int AS n, sum(money_at_stake)::text AS money
       FROM reconciliation_items WHERE run_id = ? GROUP BY 1, class, currency) g ORDER BY key COLLATE "C" NULLS LAST, class, currency`,
    by === 'day' ? [zone, runId] : [runId],
  );
  const out: Array<{ key: string | null; rows: any[] }> = [];
  for (const r of rows) {
    const last = out[out.length - 1];
    if (last && last.key === r.key) last.rows.push(r);
    else out.push({ key: r.key, rows: [r] });
  }
  return out;
}

/**
 * What changed between two runs: every leg of either run, and every record that was leg-less in
 * either, whose class differs (absent: null). A record that gained or lost its leg is listed
 * under the leg and under its own key.
 */
export async function changedItems(db: Queryable, previousRunId: number, runId: number): Promise<Array<{ legId: string | null; recordKey: string | null; classBefore: ReconClass | null; classAfter: ReconClass | null; called: string }>> {
  const { rows } = await db.raw(
    `WITH o AS (SELECT * FROM reconciliation_items WHERE run_id = ?), n AS (SELECT * FROM reconciliation_items WHERE run_id = ?),
     legs AS (
       SELECT coalesce(o.leg_id, n.leg_id) AS leg_id, coalesce(n.record_key, o.record_key) AS record_key, o.class AS before, n.class AS after,
              coalesce(n.called, o.called) AS called
         FROM (SELECT * FROM o WHERE leg_id IS NOT NULL) o FULL JOIN (SELECT * FROM n WHERE leg_id IS NOT NULL) n ON n.leg_id = o.leg_id
     ),
     recs AS (
       SELECT k.record_key, (SELECT class FROM o WHERE o.record_key = k.record_key) AS before, (SELECT class FROM n WHERE n.record_key = k.record_key) AS after,
              (SELECT called FROM o WHERE o.record_key = k.record_key UNION ALL SELECT called FROM n WHERE n.record_key = k.record_key LIMIT 1) AS called
         FROM (SELECT record_key FROM o WHERE leg_id IS NULL UNION SELECT record_key FROM n WHERE leg_id IS NULL) k
     )
     SELECT * FROM (
       SELECT leg_id, record_key, before, after, called FROM legs WHERE before IS DISTINCT FROM after
       UNION ALL
       SELECT NULL, record_key, before, after, called FROM recs WHERE before IS DISTINCT FROM after
     ) c ORDER BY leg_id NULLS LAST, record_key COLLATE "C"`,
    [previousRunId, runId],
  );
  return rows.map((r: any) => ({ legId: r.leg_id === null ? null : String(r.leg_id), recordKey: r.record_key, classBefore: r.before, classAfter: r.after, called: r.called }));
}
