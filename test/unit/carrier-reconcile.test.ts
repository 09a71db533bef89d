/**
 * The reference reconciler (src/domain/reconciliation/reconcile.ts): named scenarios for each rule,
 * then a generated month with errors of every class injected, where the reconciler must find
 * exactly the injected ones with the right money at stake.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Decimal } from '../../src/domain/money/decimal';
import {
  carrierRecordKey, compareIds, matchRecords, parseGenericCarrierCsv, RECON_CLASSES, reconcile, sha256Hex, totalsBy,
  type ReconClass, type ReconLeg, type ReconRecord, type ReconTolerances,
} from '../../src/domain/reconciliation';
import { carrierMonth, INJECTIONS, type ExpectedItem } from '../support/carrier-month';

const T0 = Date.parse('2026-11-03T10:00:00Z');
const at = (s: number) => new Date(T0 + s * 1000);
const tol: ReconTolerances = { startSeconds: 5, durationSeconds: 2, cost: '0.0005' };

const leg = (id: string, over: Partial<ReconLeg> = {}): ReconLeg => ({
  id, called: '+442071234567', startUtc: at(0), seconds: 60, expectedCost: '0.0080', currency: 'USD', destination: 'UK London', deckRate: '0.0080', ...over,
});
const rec = (key: string, over: Partial<ReconRecord> = {}): ReconRecord => ({
  key, called: '+442071234567', startUtc: at(0), secondsBilled: 60, cost: '0.0080', currency: 'USD', rate: '0.0080', ...over,
});
const classes = (legs: ReconLeg[], records: ReconRecord[], t = tol) =>
  reconcile(legs, records, t).items.map((i) => [i.class, i.legId, i.recordKey, i.moneyAtStake]);

describe('matching', () => {
  test('same called number and start within the tolerance (inclusive); other numbers never match', () => {
    assert.deepEqual(classes([leg('1')], [rec('a', { startUtc: at(5) })]), [['matched_equal', '1', 'a', '0']]);
    assert.deepEqual(classes([leg('1')], [rec('a', { startUtc: at(-6) })]), [['not_in_our_records', null, 'a', '0.008'], ['not_billed_by_carrier', '1', null, '-0.008']]);
    assert.deepEqual(classes([leg('1')], [rec('a', { called: '+442071234568' })]), [['not_billed_by_carrier', '1', null, '-0.008'], ['not_in_our_records', null, 'a', '0.008']]);
  });

  test('closest first, each matched at most once: the nearer record wins the leg, and the other goes to the next leg', () => {
    // Two calls to one number 4 s apart; records 1 s after each. Greedy by distance pairs them 1:1.
    const legs = [leg('1'), leg('2', { startUtc: at(4) })];
    const records = [rec('b', { startUtc: at(5) }), rec('a', { startUtc: at(1) })];
    assert.deepEqual(matchRecords(legs, records, 5), [[0, 1], [1, 0]]);
    // One leg, two records: the nearer matches, the other is left over.
    assert.deepEqual(classes([leg('1')], [rec('far', { startUtc: at(-3) }), rec('near', { startUtc: at(2) })]), [
      ['not_in_our_records', null, 'far', '0.008'],
      ['matched_equal', '1', 'near', '0'],
    ]);
  });

  test('ties are broken by leg id (digits as numbers), then record key (code points)', () => {
    // Legs 9 and 10 both 3 s from the one record: leg 9 (smaller as a number, larger as text) wins.
    const r = classes([leg('10', { startUtc: at(3) }), leg('9', { startUtc: at(-3) })], [rec('x')]);
    assert.deepEqual(r, [['matched_equal', '9', 'x', '0'], ['not_billed_by_carrier', '10', null, '-0.008']]);
    // Two identical records for one leg: the smaller key matches.
    assert.deepEqual(classes([leg('1')], [rec('id:b'), rec('id:B')]), [['matched_equal', '1', 'id:B', '0'], ['not_in_our_records', null, 'id:b', '0.008']]);
    assert.ok(compareIds('9', '10') < 0 && compareIds('010', '9') > 0 && compareIds('B', 'b') < 0 && compareIds('x', 'x') === 0);
  });

  test('the greedy result does not depend on the order of the inputs', () => {
    const legs = [leg('1'), leg('2', { startUtc: at(3) }), leg('3', { startUtc: at(6) }), leg('4', { startUtc: at(1), called: '+33142685300' })];
    const records = [rec('a', { startUtc: at(2) }), rec('b', { startUtc: at(4) }), rec('c', { startUtc: at(5) }), rec('d', { startUtc: at(0), called: '+33142685300' })];
    const one = classes(legs, records);
    assert.deepEqual(classes([...legs].reverse(), [...records].reverse()), one);
    assert.deepEqual(classes([legs[2]!, legs[0]!, legs[3]!, legs[1]!], [records[1]!, records[3]!, records[0]!, records[2]!]), one);
  });
});

describe('classifying a matched pair', () => {
  test('duration within the tolerance is equal; beyond it is a duration mismatch with seconds and money', () => {
    assert.deepEqual(classes([leg('1')], [rec('a', { secondsBilled: 62 })]), [['matched_equal', '1', 'a', '0']]);
    const r = reconcile([leg('1')], [rec('a', { secondsBilled: 63, cost: '0.0084' })], tol).items[0]!;
    assert.deepEqual([r.class, r.secondsDifference, r.costDifference, r.moneyAtStake], ['duration_mismatch', 3, '0.0004', '0.0004']);
    const shorter = reconcile([leg('1')], [rec('a', { secondsBilled: 50, cost: '0.0080' })], tol).items[0]!;
    assert.deepEqual([shorter.class, shorter.secondsDifference, shorter.moneyAtStake], ['duration_mismatch', -10, '0']);
  });

  test('a rate other than the deck\'s is a rate mismatch, even when the cost is right; the same rate written differently is not', () => {
    assert.deepEqual(classes([leg('1')], [rec('a', { rate: '0.0090', cost: '0.0090' })]), [['rate_mismatch', '1', 'a', '0.001']]);
    assert.deepEqual(classes([leg('1')], [rec('a', { rate: '0.0090' })]), [['rate_mismatch', '1', 'a', '0']]);
    assert.deepEqual(classes([leg('1')], [rec('a', { rate: '0.008000' })]), [['matched_equal', '1', 'a', '0']]);
    assert.deepEqual(classes([leg('1', { deckRate: null })], [rec('a')]), [['rate_mismatch', '1', 'a', '0']]);
    assert.deepEqual(classes([leg('1')], [rec('a', { rate: null })]), [['matched_equal', '1', 'a', '0']]);
  });

  test('cost beyond the tolerance is a cost mismatch, signed carrier minus ours; within it, equal', () => {
    assert.deepEqual(classes([leg('1')], [rec('a', { cost: '0.0085' })]), [['matched_equal', '1', 'a', '0']]);
    assert.deepEqual(classes([leg('1')], [rec('a', { cost: '0.00850001' })]), [['cost_mismatch', '1', 'a', '0.00050001']]);
    assert.deepEqual(classes([leg('1')], [rec('a', { cost: '0.0070' })]), [['cost_mismatch', '1', 'a', '-0.001']]);
    // Another currency cannot be compared: a cost mismatch with the carrier's whole cost at stake.
    const eur = reconcile([leg('1')], [rec('a', { currency: 'EUR' })], tol).items[0]!;
    assert.deepEqual([eur.class, eur.costDifference, eur.moneyAtStake, eur.currency], ['cost_mismatch', null, '0.008', 'EUR']);
  });

  test('precedence: duration, then rate, then cost', () => {
    assert.deepEqual(classes([leg('1')], [rec('a', { secondsBilled: 90, rate: '0.01', cost: '1' })])[0]![0], 'duration_mismatch');
    assert.deepEqual(classes([leg('1')], [rec('a', { rate: '0.01', cost: '1' })])[0]![0], 'rate_mismatch');
  });

  test('exact arithmetic: money at stake adds up without float error', () => {
    const legs = Array.from({ length: 10 }, (_, i) => leg(String(i + 1), { called: `+4420712345${10 + i}`, expectedCost: '0.1' }));
    const records = legs.map((l, i) => rec(`r${i}`, { called: l.called, cost: '0.2' }));
    const r = reconcile(legs, records, tol);
    assert.deepEqual(r.byClass.cost_mismatch, { count: 10, moneyAtStake: { USD: '1' } });
  });

  test('totals per destination and per day', () => {
    const legs = [
      leg('1'),
      leg('2', { called: '+33142685300', destination: 'France', expectedCost: '0.5', startUtc: at(86_400) }),
      leg('3', { called: '+33142685301', destination: 'France', expectedCost: '0.25' }),
    ];
    const records = [rec('a', { cost: '0.0100' }), rec('b', { called: '+33142685300', cost: '0.5', rate: null, startUtc: at(86_400) }), rec('c', { called: '+4915112345678', cost: '1.5' })];
    const r = reconcile(legs, records, tol);
    const byDest = totalsBy(r.items, 'destination').map((g) => [g.key, RECON_CLASSES.filter((c) => g.byClass[c].count).map((c) => [c, g.byClass[c].count, g.byClass[c].moneyAtStake.USD])]);
    assert.deepEqual(byDest, [
      ['France', [['matched_equal', 1, '0'], ['not_billed_by_carrier', 1, '-0.25']]],
      ['UK London', [['cost_mismatch', 1, '0.002']]],
      [null, [['not_in_our_records', 1, '1.5']]],
    ]);
    assert.deepEqual(totalsBy(r.items, 'day').map((g) => [g.key, RECON_CLASSES.reduce((n, c) => n + g.byClass[c].count, 0)]), [['2026-11-03', 3], ['2026-11-04', 1]]);
  });

  test('refuses negative tolerances', () => {
    assert.throws(() => reconcile([], [], { ...tol, startSeconds: -1 }), RangeError);
    assert.throws(() => reconcile([], [], { ...tol, cost: '-0.01' }), RangeError);
  });
});

describe('a generated month with every kind of error injected', () => {
  const tolerances: ReconTolerances = { startSeconds: 5, durationSeconds: 3, cost: '0.0005' };
  for (const seed of [1, 2026, 77]) {
    test(`seed ${seed}: the reconciler finds exactly the injected errors, with the right money at stake`, () => {
      const month = carrierMonth({ seed, month: '2026-11', legs: 3000, perInjection: 12, tolerances });
      for (const inj of INJECTIONS) assert.ok(month.injected[inj] >= 10, `${inj} injected ${month.injected[inj]} times`);

      // The carrier's file, as it would arrive, read by the generic format.
      const parsed = parseGenericCarrierCsv(month.csv);
      assert.deepEqual(parsed.badRows, []);
      assert.equal(parsed.records.length, month.rows.length);
      const checksum = sha256Hex(month.csv);
      const records: ReconRecord[] = parsed.records.map((r) => ({ key: carrierRecordKey(r, checksum), called: r.called, startUtc: r.startUtc, secondsBilled: r.secondsBilled, cost: r.cost, currency: r.currency, rate: r.rate }));

      const result = reconcile(month.legs, records, tolerances);
      const key = (e: { class: ReconClass; legId: string | null; recordKey: string | null; moneyAtStake: string }) => `${e.class}|${e.legId ?? '-'}|${e.recordKey ?? '-'}|${e.moneyAtStake}`;
      const want = month.expected.map((e: ExpectedItem) => key({ ...e, recordKey: e.recordId === null ? null : `id:${e.recordId}` })).sort();
      const got = result.items.map(key).sort();
      const missing = want.filter((w) => !got.includes(w));
      const unexpected = got.filter((g) => !want.includes(g));
      assert.deepEqual({ missing: missing.slice(0, 10), unexpected: unexpected.slice(0, 10) }, { missing: [], unexpected: [] });
      assert.equal(got.length, want.length);

      // Every leg and every record is classified exactly once.
      assert.equal(result.items.filter((i) => i.legId !== null).length, month.legs.length);
      assert.equal(result.items.filter((i) => i.recordKey !== null).length, records.length);

      // Seconds off where the duration was injected beyond the tolerance.
      for (const e of month.expected.filter((x) => x.class === 'duration_mismatch')) {
        assert.equal(result.items.find((i) => i.legId === e.legId)!.secondsDifference, e.secondsDifference);
      }

      // Totals per class: counts and money, from what was injected.
      for (const c of RECON_CLASSES) {
        const mine = month.expected.filter((e) => e.class === c);
        const sum = mine.reduce((s, e) => s.plus(e.moneyAtStake), new Decimal(0));
        assert.equal(result.byClass[c].count, mine.length, c);
        assert.deepEqual(result.byClass[c].moneyAtStake, mine.length ? { USD: sum.toFixed() } : {}, c);
        assert.ok(mine.length > 0, `no ${c} in the month`);
      }
      // Overbilling is positive money at stake for every mismatch injected upwards.
      assert.ok(new Decimal(result.byClass.cost_mismatch.moneyAtStake.USD!).greaterThan(0));
      assert.ok(new Decimal(result.byClass.not_billed_by_carrier.moneyAtStake.USD!).lessThan(0));
    });
  }

  test('the month is the same for the same seed, and differs for another', () => {
    const a = carrierMonth({ seed: 5, month: '2026-02', legs: 200, perInjection: 2, tolerances });
    const b = carrierMonth({ seed: 5, month: '2026-02', legs: 200, perInjection: 2, tolerances });
    const c = carrierMonth({ seed: 6, month: '2026-02', legs: 200, perInjection: 2, tolerances });
    assert.equal(a.csv, b.csv);
    assert.notEqual(a.csv, c.csv);
    assert.ok(a.legs.every((l) => l.startUtc.toISOString().startsWith('2026-02')));
  });
});
