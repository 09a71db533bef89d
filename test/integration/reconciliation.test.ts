/**
 * Set-based reconciliation (issue 13) held to the reference reconciler and to the generator's
 * injections: a generated month of legs (with their carrier_cost charges) and the carrier's file,
 * stored, reconciled in SQL, and compared item by item and total by total.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Decimal } from '../../src/domain/money/decimal';
import { RECON_CLASSES, reconcile, totalsBy, type ReconItem, type ReconLeg, type ReconRecord, type ReconTolerances } from '../../src/domain/reconciliation/reconcile';
import { ensurePartitions } from '../../src/modules/ledger/partitions';
import * as recon from '../../src/modules/reconciliation/reconciliation.service';
import { carrierMonth, type CarrierMonth } from '../support/carrier-month';
import { createTestDatabase, type TestDatabase } from '../support/db';
import type { Db } from '../../src/db/knex';
import { makeCharge, makeTenants } from '../support/factories';
import { createTestApp, type TestApp } from '../support/app';
import { Client } from '../support/http';

const MONTH = '2026-10';
const FROM = Date.parse('2026-10-01T00:00:00Z');
const TO = Date.parse('2026-11-01T00:00:00Z');
const TOL: ReconTolerances = { startSeconds: 5, durationSeconds: 2, cost: '0.01' };

const n = (v: string | null): string | null => (v === null ? null : new Decimal(v).toFixed());

describe('reconciliation in SQL against the reference', () => {
  let t: TestDatabase;
  let fx: Awaited<ReturnType<typeof makeTenants>>;
  let carrierId: number;
  let month: CarrierMonth;
  let records: ReconRecord[];

  before(async () => {
    t = await createTestDatabase();
    fx = await makeTenants(t.db);
    const [c] = await t.db('carriers')
      .insert({ name: 'Level Three', cost_plan_id: fx.operatorPlan.id, start_tolerance_seconds: TOL.startSeconds, duration_tolerance_seconds: TOL.durationSeconds, cost_tolerance: TOL.cost })
      .returning('id');
    carrierId = Number(c.id);
    const [other] = await t.db('carriers').insert({ name: 'Other Carrier' }).returning('id');
    month = carrierMonth({ seed: 1313, month: MONTH, legs: 3000, perInjection: 25, tolerances: TOL });
    records = toRecords(month);

    await storeMonth(t.db, fx, carrierId, month, records);
    await insertChunks(t.db, 'carrier_records', records.slice(0, 30).map((r, i) => recordRow(Number(other.id), r, i)));
  });
  after(() => t?.close());

  function assertSame(got: recon.ReconItemRow[], want: ReconItem[]): void {
    assert.equal(got.length, want.length, 'as many items as the reference');
    for (let i = 0; i < want.length; i++) {
      const g = got[i]!;
      const w = want[i]!;
      const label = `item ${i} (leg ${w.legId}, record ${w.recordKey})`;
      assert.deepEqual(
        {
          class: g.class, legId: g.legId, recordKey: g.recordKey, secondsDifference: g.secondsDifference, costDifference: g.costDifference,
          carrierCost: g.carrierCost, expectedCost: g.expectedCost, carrierRate: g.carrierRate, deckRate: g.deckRate, currency: g.currency,
          moneyAtStake: g.moneyAtStake, destination: g.destination, day: g.day, startOffsetMs: g.startOffsetMs === null ? null : Number(g.startOffsetMs),
        },
        {
          class: w.class, legId: w.legId, recordKey: w.recordKey, secondsDifference: w.secondsDifference, costDifference: n(w.costDifference),
          carrierCost: n(w.carrierCost), expectedCost: n(w.expectedCost), carrierRate: n(w.carrierRate), deckRate: n(w.deckRate), currency: w.currency,
          moneyAtStake: n(w.moneyAtStake), destination: w.destination, day: w.day, startOffsetMs: w.startOffsetMs,
        },
        label,
      );
    }
  }

  test('every item and every total as the reference gives them, and as the generator injected them', async () => {
    const t0 = Date.now();
    const run = await recon.runReconciliation(t.db, carrierId, FROM, TO, { trigger: 'manual', userId: fx.wholesaleAdmin.id });
    const ms = Date.now() - t0;
    assert.equal(run.status, 'done');
    assert.equal(run.legs, month.legs.length);
    assert.equal(run.records, records.length);
    const ref = reconcile(month.legs, records, TOL);
    const items = await recon.listItems(t.db, run.id);
    assertSame(items, ref.items);
    assert.deepEqual(run.totals, ref.byClass);
    for (const by of ['destination', 'day'] as const) {
      const got = (await recon.breakdown(t.db, run.id, by)).map((g) => ({ key: g.key, byClass: totalsFromRows(g.rows) }));
      assert.deepEqual(got, totalsBy(ref.items, by), `per ${by}`);
    }
    // The generator's expectations, written from what it injected.
    const fromGenerator = month.expected.map((e) => [e.class, e.legId, e.recordId === null ? null : `id:${e.recordId}`, n(e.moneyAtStake)].join('|')).sort();
    const fromSql = items.map((i) => [i.class, i.legId, i.recordKey, i.moneyAtStake].join('|')).sort();
    assert.deepEqual(fromSql, fromGenerator);
    for (const c of RECON_CLASSES) assert.ok(run.totals![c].count > 0, `class ${c} occurs`);
    console.log(`# reconciled ${run.legs} legs and ${run.records} records in ${ms} ms, ${run.matchRounds} rounds`);
  });

  test('a second run of the same carrier and period replaces the first exactly; nothing changed', async () => {
    const before = await recon.listRuns(t.db, carrierId);
    const first = before.find((r) => r.status === 'done')!;
    const second = await recon.runReconciliation(t.db, carrierId, FROM, TO, { trigger: 'automatic' });
    const runs = await recon.listRuns(t.db, carrierId);
    assert.deepEqual(runs.filter((r) => r.status === 'done').map((r) => r.id), [second.id], 'one current run');
    const old = runs.find((r) => r.id === first.id)!;
    assert.equal(old.status, 'superseded');
    assert.equal(old.supersededBy, second.id);
    assert.deepEqual(old.totals, first.totals, 'the superseded run keeps its figures');
    assert.equal(second.previousRunId, first.id);
    assert.deepEqual(second.totals, first.totals);
    const strip = (xs: recon.ReconItemRow[]) => xs.map(({ seq, ...rest }) => rest);
    assert.deepEqual(strip(await recon.listItems(t.db, second.id)), strip(await recon.listItems(t.db, first.id)));
    const changes = await recon.changesSincePrevious(t.db, second);
    assert.ok(changes);
    assert.deepEqual(changes.items, []);
    assert.ok(changes.counts.every((c) => c.before === c.after));
    assert.equal(second.trigger, 'automatic');
    assert.equal(second.requestedBy, null);
  });

  test("tolerances come from the carrier's row; a run after they change shows what changed since the previous one", async () => {
    const previous = (await recon.listRuns(t.db, carrierId)).find((r) => r.status === 'done')!;
    const tighter: ReconTolerances = { startSeconds: 0, durationSeconds: 0, cost: '0.001' };
    await t.db('carriers').where({ id: carrierId }).update({ start_tolerance_seconds: 0, duration_tolerance_seconds: 0, cost_tolerance: '0.001' });
    const run = await recon.runReconciliation(t.db, carrierId, FROM, TO, { trigger: 'manual', userId: fx.wholesaleAdmin.id });
    assert.deepEqual(run.tolerances, tighter);
    const was = reconcile(month.legs, records, TOL);
    const now = reconcile(month.legs, records, tighter);
    assertSame(await recon.listItems(t.db, run.id), now.items);
    assert.deepEqual(run.totals, now.byClass);
    const changes = (await recon.changesSincePrevious(t.db, run))!;
    assert.equal(changes.previous.id, previous.id);
    assert.deepEqual(changes.counts, RECON_CLASSES.map((c) => ({ class: c, before: was.byClass[c].count, after: now.byClass[c].count })));
    assert.ok(changes.counts.some((c) => c.before !== c.after), 'tighter tolerances move items');
    // Each leg's class, and each leg-less record's, before and after, from the reference.
    const classes = (items: ReconItem[]) => {
      const legs = new Map<string, string>();
      const recs = new Map<string, string>();
      const recAny = new Map<string, string>();
      for (const i of items) {
        if (i.legId) legs.set(i.legId, i.class);
        else recs.set(i.recordKey!, i.class);
        if (i.recordKey) recAny.set(i.recordKey, i.class);
      }
      return { legs, recs, recAny };
    };
    const a = classes(was.items);
    const b = classes(now.items);
    const want: string[] = [];
    for (const id of new Set([...a.legs.keys(), ...b.legs.keys()])) if (a.legs.get(id) !== b.legs.get(id)) want.push(`leg ${id} ${a.legs.get(id) ?? '-'} ${b.legs.get(id) ?? '-'}`);
    for (const k of new Set([...a.recs.keys(), ...b.recs.keys()])) if (a.recAny.get(k) !== b.recAny.get(k)) want.push(`record ${k} ${a.recAny.get(k) ?? '-'} ${b.recAny.get(k) ?? '-'}`);
    const got = changes.items.map((c) => (c.legId ? `leg ${c.legId} ${c.classBefore ?? '-'} ${c.classAfter ?? '-'}` : `record ${c.recordKey} ${c.classBefore ?? '-'} ${c.classAfter ?? '-'}`));
    assert.deepEqual(got.sort(), want.sort());
    assert.ok(got.length > 0);
  });

  test('a chain of candidates is matched in rounds, closest first, as the reference does', async () => {
    const [c] = await t.db('carriers').insert({ name: 'Chain Carrier', start_tolerance_seconds: 5, duration_tolerance_seconds: 0, cost_tolerance: '0' }).returning('id');
    const base = Date.parse('2026-10-15T10:00:00Z');
    const at = (s: number) => new Date(base + s * 1000);
    const called = '+4420700000001';
    // L2-R1 are each other's best; L1 wants R1 too and only gets R2 in the second round.
    const legs: ReconLeg[] = [
      { id: '900001', called, startUtc: at(0), seconds: 60, expectedCost: '0.01', currency: 'USD', destination: 'London', deckRate: '0.01' },
      { id: '900002', called, startUtc: at(2.5), seconds: 60, expectedCost: '0.01', currency: 'USD', destination: 'London', deckRate: '0.01' },
    ];
    const recs: ReconRecord[] = [
      { key: 'id:b', called, startUtc: at(1.5), secondsBilled: 60, cost: '0.01', currency: 'USD', rate: null },
      { key: 'id:a', called, startUtc: at(4), secondsBilled: 61, cost: '0.02', currency: 'USD', rate: '0.02' },
    ];
    const [cdr] = await t.db('cdrs').insert({ platform_id: fx.platform.id, body: '{}', body_sha256: '1'.repeat(64) }).returning('id');
    for (const l of legs) {
      await t.db('call_legs').insert({
        id: Number(l.id), start_at: l.startUtc, platform_id: fx.platform.id, cdr_id: cdr.id, leg_key: `leg-${l.id}`, call_id: `call-${l.id}`,
        direction: 'forwarded', called_number: called, billable_seconds: l.seconds, answered: true, status: 'unrated', carrier: 'chain carrier',
      });
      await t.db('charges').insert({
        leg_id: Number(l.id), start_at: l.startUtc, kind: 'carrier_cost', reseller_id: fx.a.reseller.id, rate_plan_id: fx.operatorPlan.id, plan_revision: 1,
        direction: 'outbound', prefix: '+4420', description: 'London', rate_effective_from: '2020-01-01T00:00:00Z', billable_seconds: 60, charged_seconds: 60,
        pieces: JSON.stringify([{ rate: '0.01', amount: '0.01' }]), currency: 'USD', connect_fee: '0', usage: '0.01', amount: '0.01', total: '0.01',
        billed_currency: 'USD', exchange_rate: '1', billed_total: '0.01',
      });
    }
    for (const [i, r] of recs.entries()) {
      await t.db('carrier_records').insert({ carrier_id: c.id, record_key: r.key, called, start_at: r.startUtc, seconds: r.secondsBilled, cost: r.cost, currency: 'USD', rate: r.rate, file_id: 2, line: i + 2, raw: '' });
    }
    const run = await recon.runReconciliation(t.db, Number(c.id), FROM, TO, { trigger: 'manual' });
    assert.equal(run.matchRounds, 2);
    const ref = reconcile(legs, recs, { startSeconds: 5, durationSeconds: 0, cost: '0' });
    assert.deepEqual(ref.items.map((i) => [i.legId, i.recordKey, i.class]), [['900001', 'id:a', 'duration_mismatch'], ['900002', 'id:b', 'matched_equal']]);
    assertSame(await recon.listItems(t.db, run.id), ref.items);
  });

  test('reconcileAfterFile runs each month the file touches, automatically; a period must be sane', async () => {
    const runs = await recon.reconcileAfterFile(t.db, carrierId, Date.parse('2026-10-20T00:00:00Z'), Date.parse('2026-11-02T00:00:00Z'));
    assert.deepEqual(runs.map((r) => [r.periodFrom.toISOString(), r.periodTo.toISOString(), r.trigger]), [
      ['2026-10-01T00:00:00.000Z', '2026-11-01T00:00:00.000Z', 'automatic'],
      ['2026-11-01T00:00:00.000Z', '2026-12-01T00:00:00.000Z', 'automatic'],
    ]);
    assert.equal(runs[1]!.legs, 0);
    await assert.rejects(recon.runReconciliation(t.db, carrierId, TO, FROM, { trigger: 'manual' }), /end after/);
    await assert.rejects(recon.runReconciliation(t.db, 999_999, FROM, TO, { trigger: 'manual' }));
  });
});


async function insertChunks(db: Db, table: string, rows: Record<string, unknown>[]): Promise<void> {
  for (let i = 0; i < rows.length; i += 500) await db(table).insert(rows.slice(i, i + 500));
}

const recordRow = (carrier: number, r: ReconRecord, i: number) => ({
  carrier_id: carrier, record_key: r.key, carrier_record_id: r.key.slice(3), called: r.called, start_at: r.startUtc, seconds: r.secondsBilled,
  cost: r.cost, currency: r.currency, rate: r.rate, file_id: 1, line: i + 2, raw: '',
});

const toRecords = (m: CarrierMonth): ReconRecord[] =>
  m.rows.map((r) => ({ key: `id:${r.recordId}`, called: r.called, startUtc: r.start, secondsBilled: r.seconds, cost: r.cost, currency: r.currency, rate: r.rate }));

/** A generated month stored: legs tagged with the carrier's name (in another case), their carrier_cost charges, the carrier's records; and noise no run may take. */
async function storeMonth(db: Db, fx: Awaited<ReturnType<typeof makeTenants>>, carrierId: number, month: CarrierMonth, records: ReconRecord[]): Promise<void> {
    const starts = [FROM, TO, ...month.legs.slice(30, 40).map((l) => l.startUtc.getTime() - 40 * 86_400_000)];
    await ensurePartitions(db, starts);
    await ensurePartitions(db, starts, ['carrier_records']);
    const [cdr] = await db('cdrs').insert({ platform_id: fx.platform.id, body: '{}', body_sha256: '0'.repeat(64) }).returning('id');
    const leg = (id: number, l: { called: string; startUtc: Date; seconds: number }, over: Record<string, unknown> = {}) => ({
      id, start_at: l.startUtc, platform_id: fx.platform.id, cdr_id: cdr.id, leg_key: `leg-${id}`, call_id: `call-${id}`, reseller_id: fx.a.reseller.id,
      subscriber_id: fx.a.subscriber.id, direction: 'outbound', calling_number: '+12125550100', called_number: l.called, raw_calling: '', raw_called: l.called,
      billable_seconds: l.seconds, answered: true, status: 'rated', carrier: 'LEVEL three', ...over,
    });
    const charge = (id: number, l: ReconLeg) => ({
      leg_id: id, start_at: l.startUtc, kind: 'carrier_cost', reseller_id: fx.a.reseller.id, subscriber_id: fx.a.subscriber.id, rate_plan_id: fx.operatorPlan.id,
      plan_revision: 1, direction: 'outbound', prefix: l.called.slice(0, 5), description: l.destination ?? '', rate_effective_from: '2020-01-01T00:00:00Z',
      billable_seconds: l.seconds, charged_seconds: l.seconds, pieces: JSON.stringify([{ rate: l.deckRate, amount: l.expectedCost }]), currency: l.currency,
      connect_fee: '0', usage: l.expectedCost, amount: l.expectedCost, taxes: '[]', tax_amount: '0', total: l.expectedCost, billed_currency: l.currency,
      exchange_rate: '1', billed_total: l.expectedCost,
    });
    await insertChunks(db, 'call_legs', month.legs.map((l) => leg(Number(l.id), l)));
    await insertChunks(db, 'charges', month.legs.map((l) => charge(Number(l.id), l)));
    // Noise the run must leave out: the same calls through another carrier, inbound, unanswered, and last month.
    const some = month.legs.slice(0, 40);
    await insertChunks(db, 'call_legs', [
      ...some.slice(0, 10).map((l, i) => leg(100_000 + i, l, { carrier: 'Other Carrier' })),
      ...some.slice(10, 20).map((l, i) => leg(100_100 + i, l, { direction: 'inbound' })),
      ...some.slice(20, 30).map((l, i) => leg(100_200 + i, l, { billable_seconds: 0, answered: false })),
      ...some.slice(30, 40).map((l, i) => leg(100_300 + i, { ...l, startUtc: new Date(l.startUtc.getTime() - 40 * 86_400_000) })),
    ]);
    
    await insertChunks(db, 'carrier_records', records.map((r, i) => recordRow(carrierId, r, i)));
}

function totalsFromRows(rows: Array<{ class: any; currency: string; n: number; money: string }>) {
  const out: Record<string, { count: number; moneyAtStake: Record<string, string> }> = {};
  for (const c of RECON_CLASSES) out[c] = { count: 0, moneyAtStake: {} };
  for (const r of rows) {
    out[r.class]!.count += r.n;
    out[r.class]!.moneyAtStake[r.currency.trim()] = new Decimal(r.money).toFixed();
  }
  return out;
}

describe('reconciliation pages', () => {
  let app: TestApp;
  let fx: Awaited<ReturnType<typeof makeTenants>>;
  let carrierId: number;
  let month: CarrierMonth;
  let records: ReconRecord[];

  before(async () => {
    app = await createTestApp();
    fx = await makeTenants(app.db);
    const [c] = await app.db('carriers')
      .insert({ name: 'Level Three', cost_plan_id: fx.operatorPlan.id, start_tolerance_seconds: TOL.startSeconds, duration_tolerance_seconds: TOL.durationSeconds, cost_tolerance: TOL.cost })
      .returning('id');
    carrierId = Number(c.id);
    month = carrierMonth({ seed: 77, month: MONTH, legs: 300, perInjection: 4, tolerances: TOL });
    records = toRecords(month);
    await storeMonth(app.db, fx, carrierId, month, records);
  });
  after(() => app?.close());

  test('an admin runs a period; the report, its drill-down and CSVs show the reference figures; support reads but cannot run', async () => {
    const admin = await Client.login(app.app, fx.wholesaleAdmin.email);
    const base = `/wholesale/carriers/${carrierId}/reconciliation`;
    const page = await admin.get(base);
    assert.equal(page.status, 200);
    assert.match(page.text, /data-testid="reconcile-form"/);
    // The whole of October whatever the viewer's zone: a day either side holds nothing else.
    const res = await admin.submit(base, { from: '2026-09-30', to: '2026-11-01' }, base);
    assert.equal(res.status, 303);
    const runPath = res.headers.location as string;
    assert.match(runPath, new RegExp(`^${base}/\\d+$`));
    const ref = reconcile(month.legs, records, TOL);
    const report = await admin.get(runPath);
    assert.equal(report.status, 200);
    for (const c of RECON_CLASSES) assert.ok(report.text.includes(`>${ref.byClass[c].count}<`), `count of ${c} shown`);

    const csv = await admin.get(`${runPath}/items.csv?class=cost_mismatch`);
    assert.equal(csv.status, 200);
    const lines = csv.text.trim().split(/\r?\n/);
    const costItems = ref.items.filter((i) => i.class === 'cost_mismatch');
    // Header, one line per item, a total for the class and the grand total.
    assert.equal(lines.length, 1 + costItems.length + 2);
    assert.match(lines[lines.length - 1]!, new RegExp(`^Total,${costItems.length} items,`));
    assert.ok(lines[lines.length - 1]!.includes(`${ref.byClass.cost_mismatch.moneyAtStake.USD} USD`));

    const dispute = await admin.get(`${runPath}/dispute.csv`);
    const disputed = ref.items.filter((i) => i.class === 'not_in_our_records' || (['duration_mismatch', 'rate_mismatch', 'cost_mismatch'].includes(i.class) && new Decimal(i.moneyAtStake).isPositive() && !new Decimal(i.moneyAtStake).isZero()));
    const dlines = dispute.text.trim().split(/\r?\n/);
    const classesInDispute = new Set(disputed.map((i) => i.class)).size;
    assert.equal(dlines.length, 1 + disputed.length + classesInDispute + 1);
    for (const i of disputed) assert.ok(dispute.text.includes(i.recordKey!), `${i.recordKey} disputed`);
    assert.ok(!ref.items.filter((i) => i.class === 'not_billed_by_carrier').some((i) => dlines.some((l) => l.endsWith(`,${i.legId},`))), 'legs they did not bill are not disputed');

    const support = await Client.login(app.app, fx.wholesaleSupport.email);
    assert.equal((await support.get(runPath)).status, 200);
    assert.doesNotMatch((await support.get(base)).text, /data-testid="reconcile-form"/);
    assert.equal((await support.submit(base, { from: '2026-10-01', to: '2026-10-31' }, base)).status, 403);
    // A run of this carrier is not reached through another carrier.
    const [other] = await app.db('carriers').insert({ name: 'Someone Else' }).returning('id');
    assert.equal((await admin.get(runPath.replace(`/carriers/${carrierId}/`, `/carriers/${other.id}/`))).status, 404);
  });

  test('traffic by LD carrier: calls, minutes, expected cost, billed and margin per carrier, day and destination, page and CSV', async () => {
    // Five legs billed wholesale at 1.00 each: the only ones with a margin.
    const billed = month.legs.slice(0, 5);
    for (const l of billed) {
      await makeCharge(app.db, { id: Number(l.id), start_at: l.startUtc }, { kind: 'wholesale', resellerId: fx.a.reseller.id, subscriberId: fx.a.subscriber.id, ratePlanId: fx.a.plan.id, amount: '1.00' });
    }
    const admin = await Client.login(app.app, fx.wholesaleAdmin.email);
    const q = `from=2026-09-30&to=2026-11-01`;
    const page = await admin.get(`/wholesale/carriers/report?${q}`);
    assert.equal(page.status, 200);
    assert.match(page.text, /data-chart="volume"/);
    const csv = (await admin.get(`/wholesale/carriers/report.csv?table=carriers&${q}`)).text.trim().split(/\r?\n/).map((l) => l.split(','));
    const sum = (ls: typeof month.legs) => ls.reduce((s, l) => s.plus(l.expectedCost), new Decimal(0));
    const rows = csv.slice(1, -1);
    const level = rows.filter((r) => r[0] === 'LEVEL three');
    // Legs of the month with a cost and a wholesale charge; with a cost only; the unanswered ones (no charges).
    assert.deepEqual(level.map((r) => [r[2], r[4], r[5], r[7]]), [
      ['5', `${sum(billed).toFixed()} USD`, '5 USD', `${new Decimal(5).minus(sum(billed)).toFixed()} USD`],
      [String(month.legs.length - 5), `${sum(month.legs.slice(5)).toFixed()} USD`, '', ''],
      ['10', '', '', ''],
    ]);
    assert.deepEqual(rows.filter((r) => r[0] === 'Other Carrier').map((r) => r[2]), ['10']);
    assert.equal(csv[csv.length - 1]![2], String(month.legs.length + 20), 'inbound legs and last month are not counted');
    const minutes = month.legs.reduce((s, l) => s + l.seconds, 0) + 10 * 0 + month.legs.slice(0, 10).reduce((s, l) => s + l.seconds, 0);
    assert.equal(csv[csv.length - 1]![3], new Decimal(minutes).dividedBy(60).toFixed(2));
    // One carrier only, per destination: the month's destinations.
    const dest = (await admin.get(`/wholesale/carriers/report.csv?table=destinations&${q}&carrier=${carrierId}`)).text;
    for (const d of new Set(month.legs.map((l) => l.destination!))) assert.ok(dest.includes(`LEVEL three,${d},`), d);
    assert.ok(!dest.includes('Other Carrier'));
    const support = await Client.login(app.app, fx.wholesaleSupport.email);
    assert.equal((await support.get(`/wholesale/carriers/report?${q}`)).status, 200);
    const reseller = await Client.login(app.app, fx.a.admin.email);
    assert.notEqual((await reseller.get(`/wholesale/carriers/report?${q}`)).status, 200);
  });
});

describe('a large reconciliation runs as a job with a progress page', () => {
  let app: TestApp;
  let fx: Awaited<ReturnType<typeof makeTenants>>;
  let carrierId: number;
  let month: CarrierMonth;
  let records: ReconRecord[];

  before(async () => {
    // Above 100 legs and records together, a run asked for from the page is a job.
    app = await createTestApp({ RECONCILE_INLINE_MAX: '100' });
    fx = await makeTenants(app.db);
    const [c] = await app.db('carriers')
      .insert({ name: 'Level Three', cost_plan_id: fx.operatorPlan.id, start_tolerance_seconds: TOL.startSeconds, duration_tolerance_seconds: TOL.durationSeconds, cost_tolerance: TOL.cost })
      .returning('id');
    carrierId = Number(c.id);
    month = carrierMonth({ seed: 4242, month: MONTH, legs: 300, perInjection: 4, tolerances: TOL });
    records = toRecords(month);
    await storeMonth(app.db, fx, carrierId, month, records);
  });
  after(() => app?.close());

  async function finished(client: Client, path: string) {
    let page = await client.get(path);
    for (let i = 0; i < 600 && /data-status="(queued|running)"/.test(page.text); i++) {
      assert.match(page.text, /<meta http-equiv="refresh" content="1">/, 'an open job refreshes its page');
      await new Promise((r) => setTimeout(r, 100));
      page = await client.get(path);
    }
    return page;
  }

  test('the job shows its steps, ends with a link to the run, and the run has the figures of an immediate run; operator only', async () => {
    const admin = await Client.login(app.app, fx.wholesaleAdmin.email);
    const base = `/wholesale/carriers/${carrierId}/reconciliation`;
    await admin.get(base);
    const res = await admin.submit(base, { from: '2026-10-01', to: '2026-10-31' }, base);
    assert.equal(res.status, 303);
    const jobPath = res.headers.location as string;
    assert.match(jobPath, /^\/wholesale\/jobs\/\d+$/);
    const jobId = Number(jobPath.split('/').pop());

    const page = await finished(admin, jobPath);
    assert.match(page.text, /data-status="done"/);
    assert.match(page.text, /Reconciling Level Three, 2026-10-01 to 2026-10-31/);
    const ref = reconcile(month.legs, records, TOL);
    assert.match(page.text, new RegExp(`data-testid="job-outcome">Reconciled ${month.legs.length} legs and ${records.length} carrier records in \\d+ matching rounds?\\.<`));
    const steps = /<ol data-testid="job-steps">([\s\S]*?)<\/ol>/.exec(page.text)?.[1] ?? '';
    const names = [...steps.matchAll(/<li>([^:<]+):/g)].map((m) => m[1]);
    assert.equal(names[0], 'staging our legs and the carrier records');
    assert.equal(names[1], 'finding candidate pairs');
    assert.equal(names[2], 'matching round 1');
    assert.match(names[names.length - 2] ?? '', /^classifying/);
    assert.equal(names[names.length - 1], 'totals');
    const link = /data-testid="job-link" href="([^"]+)"/.exec(page.text)?.[1];
    assert.match(link ?? '', new RegExp(`^${base}/\\d+$`));

    // The run it made: the job's, asked for by the admin, with the reference's figures.
    const report = await admin.get(link!);
    assert.equal(report.status, 200);
    for (const c of RECON_CLASSES) assert.ok(report.text.includes(`>${ref.byClass[c].count}<`), `count of ${c} shown`);
    const viaJob = await recon.getRunOrThrow(app.db, carrierId, Number(link!.split('/').pop()));
    assert.equal(viaJob.jobId, jobId);
    assert.equal(viaJob.requestedBy, fx.wholesaleAdmin.id);
    assert.equal(viaJob.trigger, 'manual');
    // An immediate run of the same period (it supersedes the job's): the same figures.
    const now = await recon.runReconciliation(app.db, carrierId, viaJob.periodFrom.getTime(), viaJob.periodTo.getTime(), { trigger: 'manual' });
    assert.equal(now.jobId, null);
    assert.deepEqual([now.legs, now.records, now.matchRounds, now.totals], [viaJob.legs, viaJob.records, viaJob.matchRounds, viaJob.totals]);
    for (const c of RECON_CLASSES) assert.equal(now.totals![c].count, ref.byClass[c].count, c);

    // The operator's job: a reseller's people do not reach it.
    const reseller = await Client.login(app.app, fx.a.admin.email);
    assert.equal((await reseller.get(jobPath.replace('/wholesale/', '/reseller/'))).status, 404);
    assert.ok([403, 404].includes((await reseller.get(jobPath)).status));
    // A small period (a day of 10-odd legs) still runs at once.
    const small = await admin.submit(base, { from: '2026-10-10', to: '2026-10-10' }, base);
    assert.match(small.headers.location as string, new RegExp(`^${base}/\\d+$`));
  });

  test('a reconciliation job whose worker stopped is taken up by another and finishes', async () => {
    const from = Date.parse('2026-10-01T00:00:00Z');
    const to = Date.parse('2026-11-01T00:00:00Z');
    const [stale] = await app.db('jobs')
      .insert({
        reseller_id: null, kind: recon.RECONCILE_JOB, title: 'Reconciling Level Three, October', total: 0, done: 0, return_to: `/wholesale/carriers/${carrierId}/reconciliation`,
        status: 'running', payload: JSON.stringify({ carrierId, fromMs: from, toMs: to, userId: null }), attempts: 1, max_attempts: 3,
        locked_by: 'a-killed-worker', locked_until: app.db.raw(`now() - interval '1 second'`), started_at: app.db.fn.now(),
      })
      .returning('id');
    app.worker?.wake();
    const admin = await Client.login(app.app, fx.wholesaleAdmin.email);
    const page = await finished(admin, `/wholesale/jobs/${stale.id}`);
    assert.match(page.text, new RegExp(`data-testid="job-outcome">Reconciled ${month.legs.length} legs and ${records.length} carrier records`));
    assert.match(page.text, /data-testid="job-attempts">2 of 3</, 'the second attempt, by another worker');
    const runs = (await recon.listRuns(app.db, carrierId)).filter((r) => r.jobId === Number(stale.id));
    assert.equal(runs.length, 1);
    assert.equal(runs[0]!.status, 'done');
  });
});
