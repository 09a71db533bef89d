import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { assignmentState, featureChoiceProblems, marginOf, moneyText, readLocalMoment, spansOverlap } from '../../src/domain/packages/feature-packages';

describe('feature package rules', () => {
  test('an assignment is in force from its start until (not at) its end', () => {
    assert.equal(assignmentState(100, 200, 99), 'scheduled');
    assert.equal(assignmentState(100, 200, 100), 'current');
    assert.equal(assignmentState(100, 200, 199), 'current');
    assert.equal(assignmentState(100, 200, 200), 'ended');
    assert.equal(assignmentState(100, null, 10 ** 15), 'current');
  });

  test('spans overlap when they share an instant; touching ends do not', () => {
    assert.equal(spansOverlap(0, 10, 10, 20), false);
    assert.equal(spansOverlap(10, 20, 0, 10), false);
    assert.equal(spansOverlap(0, 11, 10, 20), true);
    assert.equal(spansOverlap(0, null, 1000, 2000), true);
    assert.equal(spansOverlap(1000, null, 0, 999), false);
    assert.equal(spansOverlap(5, 6, 0, null), true);
  });

  test('a package holds only allowed features; a retired one stays where held but goes into nothing new', () => {
    const allowed = new Map([[1, { retired: false }], [2, { retired: true }]]);
    assert.deepEqual(featureChoiceProblems([1], allowed, new Set()), []);
    assert.deepEqual(featureChoiceProblems([1, 3], allowed, new Set()), [{ id: 3, why: 'not allowed' }]);
    assert.deepEqual(featureChoiceProblems([2], allowed, new Set()), [{ id: 2, why: 'retired' }]);
    assert.deepEqual(featureChoiceProblems([2, 2], allowed, new Set([2])), []);
  });

  test('margins are exact and only in one currency; amounts read with at least two decimals', () => {
    assert.equal(marginOf({ currency: 'USD', amount: '0.3' }, { currency: 'USD', amount: '0.1' }), '0.2');
    assert.equal(marginOf({ currency: 'USD', amount: '1' }, { currency: 'USD', amount: '1.0000000001' }), '-0.0000000001');
    assert.equal(marginOf({ currency: 'EUR', amount: '1' }, { currency: 'USD', amount: '1' }), null);
    assert.equal(moneyText('5'), '5.00');
    assert.equal(moneyText('0.125'), '0.125');
    assert.equal(moneyText('1234567890.1234567891'), '1234567890.1234567891');
  });

  test('moments are read in the viewer’s zone, a date alone as its midnight, a DST gap moved forward, impossible dates named', () => {
    const ny = (text: string) => {
      const r = readLocalMoment(text, 'America/New_York');
      return r.ok ? new Date(r.ms).toISOString() : r.reason;
    };
    assert.equal(ny('2026-01-10 09:00'), '2026-01-10T14:00:00.000Z');
    assert.equal(ny('2026-07-10T09:00'), '2026-07-10T13:00:00.000Z');
    assert.equal(ny('2026-07-10'), '2026-07-10T04:00:00.000Z');
    // 02:30 on 8 March 2026 does not exist in New York: 03:30 EDT.
    assert.equal(ny('2026-03-08 02:30'), '2026-03-08T07:30:00.000Z');
    assert.match(ny('2026-02-30 10:00'), /is not a real date/);
    assert.match(ny('tomorrow'), /is not a date and time/);
  });
});

describe('feature packages: the JSON schema beside the form', () => {
  test('the same package typed on the form and sent as JSON is the same data; amounts stay exact text, a JSON number is refused', async () => {
    const { packageFields, packageJson } = await import('../../src/modules/feature-packages/feature-packages.schemas');
    const { parseForm } = await import('../../src/web/forms');
    const a = parseForm(packageFields, { name: 'Home', description: '', currency: 'usd', setup_fee: '0.1', monthly_fee: '1234567890.1234567891', feature_ids: ['3', '5'] });
    const b = parseForm(packageJson, { name: 'Home', description: null, currency: 'usd', setup_fee: '0.1', monthly_fee: '1234567890.1234567891', feature_ids: [3, 5] });
    assert.ok(a.ok && b.ok);
    assert.deepEqual(b.data, a.data);
    assert.equal(a.data.monthly_fee.toFixed(), '1234567890.1234567891');
    const n = parseForm(packageJson, { name: 'Home', currency: 'USD', setup_fee: 0.1, monthly_fee: '1', feature_ids: [] });
    assert.ok(!n.ok && 'setup_fee' in n.errors);
    // One ticked box arrives as a string, none as nothing.
    const one = parseForm(packageFields, { name: 'Home', currency: 'USD', setup_fee: '0', monthly_fee: '0', feature_ids: '7' });
    const none = parseForm(packageFields, { name: 'Home', currency: 'USD', setup_fee: '0', monthly_fee: '0' });
    assert.ok(one.ok && none.ok);
    assert.deepEqual([one.data.feature_ids, none.data.feature_ids], [[7], []]);
  });
});
