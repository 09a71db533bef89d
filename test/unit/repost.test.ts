import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { legDifferences, type LegFacts } from '../../src/domain/legs/repost';

const stored: LegFacts = {
  startMs: Date.parse('2026-11-25T12:00:26.597Z'), answerMs: Date.parse('2026-11-25T12:00:30Z'), endMs: Date.parse('2026-11-25T12:01:30Z'), billableSeconds: 60, answered: true,
  callingNumber: '+12125550100', calledNumber: '+442079460000', disposition: 'answered', trunk: 'gw-1', redirectingNumber: null,
};

describe('legDifferences: what a re-post of a stored leg says differently', () => {
  test('the same facts: nothing', () => {
    assert.deepEqual(legDifferences(stored, { ...stored }), []);
  });

  test('each fact that differs, named, with both values; times as UTC instants', () => {
    assert.deepEqual(legDifferences(stored, { ...stored, startMs: Date.parse('2026-11-25T12:00:26Z'), calledNumber: '+442079460001', trunk: null }), [
      'start: stored 2026-11-25T12:00:26.597Z, posted 2026-11-25T12:00:26.000Z',
      'called number: stored +442079460000, posted +442079460001',
      'trunk: stored gw-1, posted none',
    ]);
  });

  test('billable seconds of an unanswered leg are none, as stored: no difference for a switch that sends them', () => {
    const unanswered = { ...stored, answered: false, answerMs: null, billableSeconds: 0 };
    assert.deepEqual(legDifferences(unanswered, { ...unanswered, billableSeconds: 12 }), []);
    assert.deepEqual(legDifferences(unanswered, { ...unanswered, answered: true, billableSeconds: 12 }), ['billable seconds: stored 0, posted 12', 'answered: stored false, posted true']);
  });
});
