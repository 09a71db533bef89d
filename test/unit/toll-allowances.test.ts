import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { allocate, balanceKeyOf, compareCallOrder, giveBack, matchAllowances, planReallocation, type AllowanceCandidate, type AllowanceSource, type Balance } from '../../src/domain/billing/allowances';
import { Decimal } from '../../src/domain/money/decimal';
import { chargeText, isPriced } from '../../src/domain/rating/charge';
import { allowancesJson } from '../../src/modules/ledger/ledger.repository';
import { priceWithAllowances } from '../../src/modules/rating/allowances';
import { answered, planFromCsv } from '../support/rating';

/** The pure rules of toll package allowances (domain/billing/allowances.ts), with exact figures. */

const source = (o: Partial<AllowanceSource> & { assignmentId: number; prefixes: string[] }): AllowanceSource => ({
  groupId: 1, startsMs: 0, endsMs: null, includedSeconds: 600, overageRate: null, currency: 'USD', ...o,
});
const cand = (assignmentId: number, includedSeconds: number | null, groupId = 1): AllowanceCandidate => ({ assignmentId, groupId, cycleStartMs: 1000, cycleEndMs: 2000, includedSeconds });
const balancesOf = (...entries: Array<[AllowanceCandidate, number]>) => new Map<string, Balance>(entries.map(([c, used]) => [balanceKeyOf(c), { includedSeconds: c.includedSeconds, used }]));

describe('matchAllowances', () => {
  test('the longest prefix across every package wins; a shorter match gives way', () => {
    const uk = source({ assignmentId: 1, groupId: 10, prefixes: ['44'] });
    const ukMobile = source({ assignmentId: 2, groupId: 20, prefixes: ['447', '4470'] });
    assert.deepEqual(matchAllowances([uk, ukMobile], '+447700900123', 5).map((s) => s.groupId), [20]);
    assert.deepEqual(matchAllowances([uk, ukMobile], '+442079460000', 5).map((s) => s.groupId), [10]);
    assert.deepEqual(matchAllowances([uk, ukMobile], '+33142000000', 5), []);
  });

  test('ties are all drawn on: the assignment that started first, then the lower assignment id, then the lower group id', () => {
    const a = source({ assignmentId: 7, groupId: 2, startsMs: 100, prefixes: ['44'] });
    const b = source({ assignmentId: 5, groupId: 9, startsMs: 100, prefixes: ['44'] });
    const c = source({ assignmentId: 9, groupId: 1, startsMs: 50, prefixes: ['44'] });
    const d = source({ assignmentId: 5, groupId: 3, startsMs: 100, prefixes: ['44'] });
    assert.deepEqual(matchAllowances([a, b, c, d], '442079460000', 200).map((s) => [s.assignmentId, s.groupId]), [[9, 1], [5, 3], [5, 9], [7, 2]]);
  });

  test('only assignments in force at the leg\'s start: from their start, until (not at) their end', () => {
    const s = source({ assignmentId: 1, startsMs: 100, endsMs: 200, prefixes: ['44'] });
    assert.equal(matchAllowances([s], '+44', 99).length, 0);
    assert.equal(matchAllowances([s], '+44', 100).length, 1);
    assert.equal(matchAllowances([s], '+44', 199).length, 1);
    assert.equal(matchAllowances([s], '+44', 200).length, 0);
  });
});

describe('allocate', () => {
  test('claims are served in the order given; the one that meets the end of the balance is split', () => {
    const c = cand(1, 600);
    const b = balancesOf([c, 0]);
    const out = allocate([{ demand: 540, candidates: [c] }, { demand: 180, candidates: [c] }, { demand: 60, candidates: [c] }], b);
    assert.deepEqual(out.map((o) => o.covered), [540, 60, 0]);
    assert.deepEqual(out[1]!.takes, [{ assignmentId: 1, groupId: 1, cycleStartMs: 1000, seconds: 60 }]);
    assert.deepEqual(out[2]!.takes, []);
    assert.equal(b.get(balanceKeyOf(c))!.used, 600);
  });

  test('unlimited covers everything; tied candidates are drawn one after the other', () => {
    const small = cand(1, 100);
    const unlimited = cand(2, null);
    const b = balancesOf([small, 40], [unlimited, 5000]);
    const [o] = allocate([{ demand: 300, candidates: [small, unlimited] }], b);
    assert.equal(o!.covered, 300);
    assert.deepEqual(o!.takes.map((t) => [t.assignmentId, t.seconds]), [[1, 60], [2, 240]]);
    assert.equal(b.get(balanceKeyOf(unlimited))!.used, 5240);
  });

  test('a balance over its allowance (lowered since) gives nothing and is not pushed further; an unlocked balance is an error', () => {
    const c = cand(1, 100);
    const b = balancesOf([c, 150]);
    assert.deepEqual(allocate([{ demand: 60, candidates: [c] }], b), [{ covered: 0, takes: [] }]);
    assert.equal(b.get(balanceKeyOf(c))!.used, 150);
    assert.throws(() => allocate([{ demand: 60, candidates: [cand(9, 10)] }], b), /not locked/);
  });

  test('giving back restores what was taken, never below zero; call order is start then leg key', () => {
    const c = cand(1, 100);
    const b = balancesOf([c, 100]);
    giveBack([{ assignmentId: 1, groupId: 1, cycleStartMs: 1000, seconds: 70 }], b);
    assert.equal(b.get(balanceKeyOf(c))!.used, 30);
    giveBack([{ assignmentId: 1, groupId: 1, cycleStartMs: 1000, seconds: 70 }], b);
    assert.equal(b.get(balanceKeyOf(c))!.used, 0);
    const legs = [{ startMs: 2, legKey: 'a' }, { startMs: 1, legKey: 'b' }, { startMs: 1, legKey: 'a' }];
    assert.deepEqual(legs.sort(compareCallOrder), [{ startMs: 1, legKey: 'a' }, { startMs: 1, legKey: 'b' }, { startMs: 2, legKey: 'a' }]);
  });
});

describe('priceWithAllowances', () => {
  // 30/6 at 0.06 a minute with a 0.01 connect fee.
  const plan = planFromCsv(`
1,US,outbound,,0,0.06,60,30,0.01,,,
1,US,outbound,,30,0.06,60,6,,,,`);
  const holder = (overageRate: string | null, currency = 'USD') => ({
    sources: [source({ assignmentId: 3, groupId: 4, prefixes: ['1'], includedSeconds: 60, overageRate, currency })],
    rule: { day: 1, timeZone: 'UTC' },
  });
  const inputs = (seconds: number, direction: 'outbound' | 'inbound' = 'outbound') => ({
    kind: 'retail' as const, plan, planRevision: 1, leg: { ...answered('+12125550100', '2026-11-25T12:00:00Z', seconds), direction }, taxes: [], billedCurrency: 'USD', exchangeRate: new Decimal(1),
  });

  test('a claim for the charged seconds, in the cycle of the leg\'s start; re-priced with what the write allocates', () => {
    const { charge, claim } = priceWithAllowances(inputs(95), holder(null));
    assert.ok(isPriced(charge) && claim);
    // 95 s on 30/6 is charged 96 s: 0.096 + 0.01.
    assert.equal(chargeText(charge).amount, '0.106');
    assert.equal(claim.demand, 96);
    assert.deepEqual(claim.candidates, [{ assignmentId: 3, groupId: 4, cycleStartMs: Date.UTC(2026, 10, 1), cycleEndMs: Date.UTC(2026, 11, 1), includedSeconds: 60 }]);
    const take = [{ assignmentId: 3, groupId: 4, cycleStartMs: Date.UTC(2026, 10, 1), seconds: 60 }];
    const covered = claim.reprice(60, take);
    // 36 s priced, the connect fee stays.
    assert.equal(chargeText(covered).amount, '0.046');
    assert.equal(covered.coveredSeconds, 60);
    assert.deepEqual(covered.allowances, take);
    // As stored (charges.allowances), written by hand like the other breakdowns: the same as JSON.stringify.
    assert.equal(allowancesJson(covered), JSON.stringify([{ assignment_id: 3, group_id: 4, cycle_start: '2026-11-01T00:00:00.000Z', seconds: 60 }]));
    assert.equal(allowancesJson(charge), '[]');
  });

  test('an overage rate replaces the plan\'s after the allowance, in the plan\'s steps and increments; another currency keeps the plan\'s', () => {
    const { charge, claim } = priceWithAllowances(inputs(95), holder('0.0300'));
    assert.ok(isPriced(charge) && claim);
    // 96 s at 0.03 a minute + 0.01 fee; with 60 s covered, 36 s at 0.03 a minute.
    assert.equal(chargeText(charge).amount, '0.058');
    assert.equal(chargeText(claim.reprice(60, [])).amount, '0.028');
    const other = priceWithAllowances(inputs(95), holder('0.0300', 'EUR'));
    assert.ok(isPriced(other.charge));
    assert.equal(chargeText(other.charge).amount, '0.106');
  });

  test('no claim for an inbound leg, a number in no group, or an unanswered call', () => {
    assert.equal(priceWithAllowances(inputs(95, 'inbound'), holder(null)).claim, undefined);
    assert.equal(priceWithAllowances({ ...inputs(95), leg: { ...inputs(95).leg, number: '+33142000000' } }, holder(null)).claim, undefined);
    assert.equal(priceWithAllowances({ ...inputs(0), leg: { ...inputs(0).leg, answerMs: null, billableSeconds: 0 } }, holder(null)).claim, undefined);
  });
});

describe('planReallocation', () => {
  test('a selected leg is always re-allocated; another only after a leg of the walk touched one of its balances', () => {
    // In call order: a leg outside the selection on B before any touched it (kept as it is), the
    // selected leg that touches A and B, then legs outside the selection on B, on C, and on C and A.
    const plan = planReallocation(
      [
        { selected: false, balances: ['B'] },
        { selected: true, balances: ['A', 'B'] },
        { selected: false, balances: ['B'] },
        { selected: false, balances: ['C'] },
        { selected: false, balances: ['C', 'A'] },
        { selected: false, balances: ['C'] },
      ],
      new Set(),
    );
    // The one on C and A brings C in: the leg on C after it is re-allocated, the one before is not.
    assert.deepEqual(plan.keep, [false, true, true, false, true, true]);
    assert.deepEqual([...plan.first], [['A', 1], ['B', 1], ['C', 4]]);
  });

  test('balances touched by earlier batches bring their legs in from the first; they are not touched first again', () => {
    const plan = planReallocation([{ selected: false, balances: ['D'] }, { selected: false, balances: ['E'] }, { selected: true, balances: ['D', 'E'] }], new Set(['D']));
    assert.deepEqual(plan.keep, [true, false, true]);
    assert.deepEqual([...plan.first], [['E', 2]]);
  });
});
