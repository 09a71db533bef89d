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
  /** Told as each step starts (and after each matching round), for a job's progress and the bench's timings. */
  onStep?: ReconStepListener;
}

/** Where a run is: staging its inputs, building candidates, in round N of matching, classifying, or totalling. */
export type ReconStep =
  | { step: 'staging' }
  | { step: 'candidates'; legs: number; records: number }
  /** `paired`: pairs taken before this round. */
  | { step: 'matching'; round: number; paired: number }
  | { step: 'classifying'; rounds: number }
  | { step: 'totals' };
export type ReconStepListener = (s: ReconStep) => void | Promise<void>;

/** work_mem of a run's transaction (SET LOCAL): its sorts and hashes over a million rows stay in memory. */
export const RECON_WORK_MEM = '256MB';


/**
 * Fills reconciliation_items for a run. Must run inside a transaction (its work tables are
 * temporary, dropped at commit). Returns the numbers of legs, records and matching rounds.
 */
export async function reconcileIntoItems(tx: Queryable, o: ReconcileInput): Promise<{ legs: number; records: number; rounds: number }> {
  const step = async (st: ReconStep) => o.onStep?.(st);
  await step({ step: 'staging' });
  // Memory for the run's sorts and hashes, this transaction only: at a million legs the default
  // (4MB) sends them to disk in many batches (docs/PERFORMANCE.md, bench (h)).
  await tx.raw(`SET LOCAL work_mem = '${RECON_WORK_MEM}'`);
  await tx.raw('DROP TABLE IF EXISTS recon_legs, recon_records, recon_edges, recon_shared, recon_contested, recon_pairs');
  await stageCarrierLegs(tx, 'recon_legs', { carrierName: o.carrierName, carrierCurrency: o.carrierCurrency, from: o.from, to: o.to });
  await tx.raw(
    `CREATE TEMP TABLE recon_records ON COMMIT DROP AS
       SELECT id AS rec_id, record_key, called, start_at, seconds, cost, currency, rate
         FROM carrier_records
        WHERE carrier_id = ? AND start_at >= ? AND start_at < ?`,
    [o.carrierId, o.from, o.to],
  );
  await tx.raw('ANALYZE recon_legs');
  await tx.raw('ANALYZE recon_records');
  const [{ legs }] = (await tx.raw('SELECT count(*)::int AS legs FROM recon_legs')).rows;
  const [{ records }] = (await tx.raw('SELECT count(*)::int AS records FROM recon_records')).rows;
  await step({ step: 'candidates', legs, records });
  // Candidates: same called number, starts at most the tolerance apart. Records by their row id
  // and distances in whole microseconds (timestamps' precision): narrow rows, hashed and compared
  // as integers; the record key (the tie order) is read for the contested few only.
  await tx.raw(
    `CREATE TEMP TABLE recon_edges ON COMMIT DROP AS
       SELECT l.leg_id, r.rec_id, abs((extract(epoch FROM r.start_at - l.start_at) * 1000000)::bigint) AS distance
         FROM recon_records r
         JOIN recon_legs l ON l.called = r.called
                          AND l.start_at BETWEEN r.start_at - make_interval(secs => ?) AND r.start_at + make_interval(secs => ?)`,
    [o.tolerances.startSeconds, o.tolerances.startSeconds],
  );
  // Most candidates are alone: a leg with one candidate record that has no other candidate leg.
  // Such a pair is taken in the first round whatever the order (each is the other's only
  // choice), and taking it changes nothing for any other candidate; so those pairs are taken at
  // once, found by counting (hashing, no sort), and only the contested rest goes through the
  // rounds of ranking below. Same pairs, same number of rounds as ranking every candidate.
  await tx.raw(
    `CREATE TEMP TABLE recon_shared ON COMMIT DROP AS
       WITH shared_legs AS (SELECT leg_id FROM recon_edges GROUP BY leg_id HAVING count(*) > 1),
            shared_records AS (SELECT rec_id FROM recon_edges GROUP BY rec_id HAVING count(*) > 1)
       SELECT e.* FROM recon_edges e
        WHERE e.leg_id IN (SELECT leg_id FROM shared_legs) OR e.rec_id IN (SELECT rec_id FROM shared_records)`,
  );
  // Its size known, the few contested candidates are hashed to read their records' keys.
  await tx.raw('ANALYZE recon_shared');
  await tx.raw(
    `CREATE TEMP TABLE recon_contested ON COMMIT DROP AS
       SELECT c.leg_id, c.rec_id, r.record_key, c.distance FROM recon_shared c JOIN recon_records r ON r.rec_id = c.rec_id`,
  );
  // The pairs: plain rows (each leg and record once by construction; the rounds take a leg and a
  // record at most once, and no key index is kept up over a million inserts).
  await tx.raw(
    `CREATE TEMP TABLE recon_pairs ON COMMIT DROP AS
       SELECT e.leg_id, e.rec_id FROM recon_edges e
        WHERE NOT EXISTS (SELECT 1 FROM recon_shared c WHERE c.leg_id = e.leg_id)
          AND NOT EXISTS (SELECT 1 FROM recon_shared c WHERE c.rec_id = e.rec_id)`,
  );
  let paired = Number((await tx.raw('SELECT count(*)::int AS n FROM recon_pairs')).rows[0].n);
  let rounds = 0;
  for (;;) {
    await step({ step: 'matching', round: rounds + 1, paired });
    const r = await tx.raw(`
      WITH ranked AS (
        SELECT leg_id, rec_id,
               row_number() OVER (PARTITION BY leg_id ORDER BY distance, record_key COLLATE "C") AS leg_rank,
               row_number() OVER (PARTITION BY rec_id ORDER BY distance, leg_id) AS record_rank
          FROM recon_contested
      ), taken AS (
        INSERT INTO recon_pairs (leg_id, rec_id)
        SELECT leg_id, rec_id FROM ranked WHERE leg_rank = 1 AND record_rank = 1
        RETURNING leg_id, rec_id
      ), dropped AS (
        DELETE FROM recon_contested
         WHERE leg_id IN (SELECT leg_id FROM taken) OR rec_id IN (SELECT rec_id FROM taken)
      )
      SELECT count(*)::int AS n FROM taken`);
    const n = Number(r.rows[0].n);
    if (n === 0) break;
    paired += n;
    rounds++;
  }
  // The alone pairs belong to the first round.
  if (rounds === 0 && paired > 0) rounds = 1;
  await step({ step: 'classifying', rounds });

  // Classify, first rule that holds (reconcile.ts rule 2), and money at stake (rule 3), over one
  // full join: legs with their pair's record, legs without one (not billed by the carrier), and
  // records without a leg (not in our records).
  // seq: the reference's order (our start, or the record's for a record we lack; legs first).
  await tx.raw(
    `INSERT INTO reconciliation_items
       (run_id, seq, class, leg_id, leg_start, record_key, record_start, called, our_seconds, carrier_seconds, start_offset_ms,
        seconds_difference, expected_cost, carrier_cost, cost_difference, deck_rate, carrier_rate, currency, money_at_stake, destination, day)
     WITH joined AS (
       SELECT l.leg_id, l.start_at AS leg_start, r.record_key, r.start_at AS record_start, coalesce(l.called, r.called) AS called,
              l.seconds AS our_seconds, r.seconds AS carrier_seconds,
              extract(epoch FROM r.start_at - l.start_at) * 1000 AS start_offset_ms,
              r.seconds - l.seconds AS seconds_difference,
              l.expected_cost, r.cost AS carrier_cost,
              CASE WHEN l.currency = r.currency AND l.expected_cost IS NOT NULL THEN r.cost - l.expected_cost END AS cost_difference,
              l.deck_rate, r.rate AS carrier_rate, coalesce(r.currency, l.currency) AS currency, l.destination,
              coalesce(l.start_at, r.start_at) AS at
         FROM recon_legs l
         LEFT JOIN recon_pairs p ON p.leg_id = l.leg_id
         FULL JOIN recon_records r ON r.rec_id = p.rec_id
     ), classed AS (
       SELECT j.*,
              CASE WHEN record_key IS NULL THEN 'not_billed_by_carrier'
                   WHEN leg_id IS NULL THEN 'not_in_our_records'
                   WHEN abs(seconds_difference) > :dur THEN 'duration_mismatch'
                   WHEN carrier_rate IS NOT NULL AND (deck_rate IS NULL OR carrier_rate <> deck_rate) THEN 'rate_mismatch'
                   WHEN cost_difference IS NULL OR abs(cost_difference) > :cost THEN 'cost_mismatch'
                   ELSE 'matched_equal' END AS class
         FROM joined j
     )
     SELECT :run, row_number() OVER (ORDER BY at, leg_id IS NULL, leg_id, record_key COLLATE "C"), class, leg_id, leg_start, record_key,
            record_start, called, our_seconds, carrier_seconds, start_offset_ms, seconds_difference, expected_cost, carrier_cost,
            cost_difference, deck_rate, carrier_rate, currency,
            CASE class WHEN 'matched_equal' THEN 0
                       WHEN 'not_billed_by_carrier' THEN coalesce(-expected_cost, 0)
                       WHEN 'not_in_our_records' THEN carrier_cost
                       ELSE coalesce(cost_difference, carrier_cost) END,
            destination, (at AT TIME ZONE 'UTC')::date
       FROM classed`.replace(/:dur/g, '?::integer').replace(/:cost/g, '?::numeric').replace(':run', '?::bigint'),
    [o.tolerances.durationSeconds, o.tolerances.cost, o.runId],
  );
  return { legs, records, rounds };
}

/** The carrier's records of a period, counted up to `limit`. */
export async function countRecords(db: Queryable, o: { carrierId: number; from: Date; to: Date; limit: number }): Promise<number> {
  const { rows } = await db.raw(
    'SELECT count(*)::int AS n FROM (SELECT 1 FROM carrier_records WHERE carrier_id = ? AND start_at >= ? AND start_at < ? LIMIT ?) x',
    [o.carrierId, o.from, o.to, o.limit],
  );
  return Number(rows[0].n);
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
    `WITH o AS (SELECT leg_id, record_key, class, called FROM reconciliation_items WHERE run_id = ?),
          n AS (SELECT leg_id, record_key, class, called FROM reconciliation_items WHERE run_id = ?),
     legs AS (
       SELECT coalesce(o.leg_id, n.leg_id) AS leg_id, coalesce(n.record_key, o.record_key) AS record_key, o.class AS before, n.class AS after,
              coalesce(n.called, o.called) AS called
         FROM (SELECT * FROM o WHERE leg_id IS NOT NULL) o FULL JOIN (SELECT * FROM n WHERE leg_id IS NOT NULL) n ON n.leg_id = o.leg_id
     ),
     -- Every record of either run joined by key (a record is one item of a run), kept when it is
     -- leg-less in either: joins, not a look-up per record (a run has a million items).
     recs AS (
       SELECT coalesce(o.record_key, n.record_key) AS record_key, o.class AS before, n.class AS after, coalesce(o.called, n.called) AS called
         FROM (SELECT * FROM o WHERE record_key IS NOT NULL) o FULL JOIN (SELECT * FROM n WHERE record_key IS NOT NULL) n ON n.record_key = o.record_key
        WHERE (o.record_key IS NOT NULL AND o.leg_id IS NULL) OR (n.record_key IS NOT NULL AND n.leg_id IS NULL)
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
