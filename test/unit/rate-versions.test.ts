import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Decimal } from '../../src/domain/money/decimal';
import type { Rate } from '../../src/domain/rating/plan';
import { compareDecks, deckAt, deckVersions, margins, perMinute } from '../../src/domain/rating/versions';

const at = (iso: string) => Date.parse(iso);
function rate(prefix: string, price: string, from = 0, o: Partial<Rate> = {}): Rate {
  return {
    prefix, description: `D${prefix}`, direction: 'outbound', band: null, effectiveFrom: from, connectFee: new Decimal(0), minCharge: null, maxCost: null,
    steps: [{ from: 0, rate: new Decimal(price), rateUnit: 60, increment: 60 }], ...o,
  };
}

describe('a deck over time: versions, comparison, margins (domain/rating/versions)', () => {
  const jan = at('2027-01-01T00:00:00Z');
  const feb = at('2027-02-01T00:00:00Z');
  const deck = [rate('44', '0.05'), rate('44', '0.07', jan), rate('1', '0.02'), rate('33', '0.09', feb), rate('49', '0.04'), rate('49', '0.04', jan, { description: 'Germany' })];

  test('the deck in force at an instant takes, per destination, its latest started row', () => {
    const before = deckAt(deck, jan - 1);
    assert.deepEqual([...before.values()].map((r) => `${r.prefix} ${r.steps[0]!.rate}`).sort(), ['1 0.02', '44 0.05', '49 0.04']);
    assert.equal(deckAt(deck, jan).get('outbound|44|')?.steps[0]?.rate.toString(), '0.07', 'from its first millisecond');
    assert.equal(deckAt(deck, feb).size, 4);
  });

  test('versions by instant: in force while any of its rows prices calls, superseded when none does, scheduled ahead', () => {
    assert.deepEqual(deckVersions(deck, jan - 1).map((v) => [v.effectiveFrom, v.rates, v.inForce, v.state]), [[0, 3, 3, 'in force'], [jan, 2, 0, 'scheduled'], [feb, 1, 0, 'scheduled']]);
    assert.deepEqual(deckVersions(deck, feb).map((v) => [v.effectiveFrom, v.inForce, v.state]), [[0, 1, 'in force'], [jan, 2, 'in force'], [feb, 1, 'in force']]);
    assert.deepEqual(deckVersions([rate('44', '0.05'), rate('44', '0.06', jan)], feb).map((v) => v.state), ['superseded', 'in force']);
  });

  test('comparison: added, removed and changed (a new description is a change), the rest unchanged; backwards swaps added and removed', () => {
    const c = compareDecks(deck, 0, feb);
    assert.deepEqual(c.added.map((r) => r.prefix), ['33']);
    assert.deepEqual(c.removed, []);
    assert.deepEqual(c.changed.map((x) => `${x.before.prefix} ${x.before.steps[0]!.rate}->${x.after.steps[0]!.rate}`), ['44 0.05->0.07', '49 0.04->0.04']);
    assert.equal(c.unchanged, 1);
    const back = compareDecks(deck, feb, 0);
    assert.deepEqual([back.added.length, back.removed.map((r) => r.prefix), back.changed.length], [0, ['33'], 2]);
    assert.deepEqual(compareDecks(deck, jan, jan), { added: [], removed: [], changed: [], unchanged: 3 }, '33 starts in February');
  });

  test('margins: the longest covering wholesale prefix, same band or all times, per minute at the first step, converted; no rate: no verdict', () => {
    const wholesale = [rate('4', '0.01'), rate('44', '0.05'), rate('1', '0.10', 0, { band: 'peak' }), rate('1', '0.20', 0, { band: 'offpeak' })];
    const retail = [rate('447', '0.04'), rate('49', '0.02'), rate('1', '0.15', 0, { band: 'peak' }), rate('12', '0.15'), rate('86', '1')];
    const rows = margins(retail, wholesale, feb, new Decimal(1));
    const view = rows.map((r) => `${r.retail.prefix}${r.retail.band ? `/${r.retail.band}` : ''} ${r.cost ? `${r.cost.prefix}${r.cost.band ? `/${r.cost.band}` : ''}` : '-'} ${r.margin?.toString() ?? ''}${r.belowCost ? ' below' : ''}`);
    assert.deepEqual(view, ['1/peak 1/peak 0.05', '12 1/offpeak -0.05 below', '447 44 -0.01 below', '49 4 0.01', '86 - ']);
    const none = margins(retail, wholesale, feb, undefined);
    assert.ok(none.every((r) => !r.belowCost && r.margin === undefined));
    const halved = margins([rate('44', '0.03')], wholesale, feb, new Decimal('0.5'));
    assert.equal(halved[0]?.costPerMinute?.toString(), '0.025');
    assert.equal(perMinute(rate('1', '0.02', 0, { steps: [{ from: 0, rate: new Decimal('0.02'), rateUnit: 30, increment: 30 }] })).toString(), '0.04');
  });
});
