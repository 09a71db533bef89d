import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isUnratable, rateLeg, type Charge, type RatingResult } from '../../src/domain/rating/engine';
import { answered, planFromCsv } from '../support/rating';

function charge(r: RatingResult): Charge {
  if (isUnratable(r)) assert.fail(`unratable: ${r.detail}`);
  return r;
}
const WED_NOON = '2026-11-25T12:00:00Z';

describe('rating: named scenarios with exact decimal results', () => {
  test('30/6 billing of a 35 s call charges 36 s', () => {
    const plan = planFromCsv(`
1,US,outbound,,0,0.06,60,30,,,,
1,US,outbound,,30,0.06,60,6,,,,`);
    const c = charge(rateLeg(answered('+12125550100', WED_NOON, 35), plan));
    assert.equal(c.chargedSeconds, 36);
    assert.equal(c.amount.toFixed(4), '0.0360');
    assert.equal(charge(rateLeg(answered('+12125550100', WED_NOON, 10), plan)).chargedSeconds, 30);
  });

  test('an increment that overhangs the next step bills whole blocks, so a longer call never costs less', () => {
    // Found by the monotonicity property: step 0 bills in 60 s blocks but step 1 starts at 6 s.
    const plan = planFromCsv(`
1,US,outbound,,0,0,1,60,,,,
1,US,outbound,,6,0.00001,1,1,,,,
1,US,outbound,,11,0,1,1,,,,`, '', { rounding: { decimals: 6, method: 'half_up' } });
    const one = charge(rateLeg(answered('+12125550100', WED_NOON, 1), plan));
    const seven = charge(rateLeg(answered('+12125550100', WED_NOON, 7), plan));
    assert.equal(one.chargedSeconds, 60);
    assert.equal(seven.chargedSeconds, 60);
    assert.equal(seven.amount.toFixed(6), one.amount.toFixed(6));
    assert.equal(charge(rateLeg(answered('+12125550100', WED_NOON, 61), plan)).chargedSeconds, 61);
  });

  test('60/60 billing rounds 61 s up to two minutes', () => {
    const plan = planFromCsv('1,US,outbound,,0,0.06,60,60,,,,');
    const c = charge(rateLeg(answered('+12125550100', WED_NOON, 61), plan));
    assert.equal(c.chargedSeconds, 120);
    assert.equal(c.amount.toFixed(4), '0.1200');
  });

  test('first minute at one rate, then per second at another', () => {
    const plan = planFromCsv(`
44,UK,outbound,,0,0.10,60,60,,,,
44,UK,outbound,,60,0.05,60,1,,,,`);
    const c = charge(rateLeg(answered('+442079460000', WED_NOON, 75), plan));
    assert.equal(c.chargedSeconds, 75);
    assert.deepEqual(c.pieces.map((p) => [p.step, p.seconds, p.amount.toString()]), [[0, 60, '0.1'], [1, 15, '0.0125']]);
    assert.equal(c.amount.toFixed(4), '0.1125');
    // A 20 s call still pays the whole first minute.
    assert.equal(charge(rateLeg(answered('+442079460000', WED_NOON, 20), plan)).amount.toFixed(4), '0.1000');
  });

  const BANDS = `
peak,mon-fri,08:00
offpeak,mon-fri,18:00
weekend,sat-sun,00:00`;
  const BANDED = `
1,US,outbound,peak,0,0.10,60,1,,,,
1,US,outbound,offpeak,0,0.04,60,1,,,,
1,US,outbound,weekend,0,0.01,60,1,,,,`;

  test('a call crossing 18:00 is split: peak minutes at peak, the rest off-peak (plan time zone)', () => {
    const plan = planFromCsv(BANDED, BANDS, { timeZone: 'America/New_York' });
    // 17:58 in New York (EST, UTC-5), five minutes.
    const c = charge(rateLeg(answered('+12125550100', '2026-11-25T17:58:00-05:00', 300), plan));
    assert.deepEqual(c.pieces.map((p) => [p.band, p.seconds]), [['peak', 120], ['offpeak', 180]]);
    assert.equal(c.amount.toFixed(4), '0.3200');
  });

  test('the same call priced whole by its starting band when the plan says so', () => {
    const plan = planFromCsv(BANDED, BANDS, { timeZone: 'America/New_York', bandMode: 'start' });
    const c = charge(rateLeg(answered('+12125550100', '2026-11-25T17:58:00-05:00', 300), plan));
    assert.deepEqual(c.pieces.map((p) => [p.band, p.seconds]), [['peak', 300]]);
    assert.equal(c.amount.toFixed(4), '0.5000');
  });

  test('a call across midnight on Friday runs into the weekend band', () => {
    const plan = planFromCsv(BANDED, BANDS, { timeZone: 'Europe/Berlin' });
    // Friday 2026-11-27 23:59:00 in Berlin (CET, UTC+1), three minutes.
    const c = charge(rateLeg(answered('+12125550100', '2026-11-27T23:59:00+01:00', 180), plan));
    assert.deepEqual(c.pieces.map((p) => [p.band, p.seconds]), [['offpeak', 60], ['weekend', 120]]);
    assert.equal(c.amount.toFixed(4), '0.0600');
  });

  test('off-peak runs on past midnight into Tuesday morning until peak starts', () => {
    const plan = planFromCsv(BANDED, BANDS, { timeZone: 'UTC' });
    const c = charge(rateLeg(answered('+12125550100', '2026-11-24T07:59:30Z', 60), plan));
    assert.deepEqual(c.pieces.map((p) => [p.band, p.seconds]), [['offpeak', 30], ['peak', 30]]);
  });

  test('the longest prefix wins over a shorter one', () => {
    const plan = planFromCsv(`
44,UK fixed,outbound,,0,0.02,60,1,,,,
447,UK mobile,outbound,,0,0.20,60,1,,,,`);
    const mobile = charge(rateLeg(answered('+447911123456', WED_NOON, 60), plan));
    assert.equal(mobile.prefix, '447');
    assert.equal(mobile.description, 'UK mobile');
    assert.equal(mobile.amount.toFixed(4), '0.2000');
    assert.equal(charge(rateLeg(answered('+442079460000', WED_NOON, 60), plan)).prefix, '44');
  });

  test('an effective-date switch between two deck versions takes the version in force at the call start', () => {
    const plan = planFromCsv(`
1,US,outbound,,0,0.05,60,1,,,,2026-01-01
1,US,outbound,,0,0.07,60,1,,,,2026-06-01
1212,NYC,outbound,,0,0.01,60,1,,,,2026-06-01`, '', { timeZone: 'America/New_York' });
    const before = charge(rateLeg(answered('+12125550100', '2026-05-31T23:59:00-04:00', 60), plan));
    const afterSwitch = charge(rateLeg(answered('+12125550100', '2026-06-01T00:01:00-04:00', 60), plan));
    assert.equal(before.amount.toFixed(4), '0.0500');
    assert.equal(before.prefix, '1', 'the longer prefix did not exist yet');
    assert.equal(afterSwitch.amount.toFixed(4), '0.0100');
    assert.equal(afterSwitch.prefix, '1212');
    assert.equal(charge(rateLeg(answered('+13055550100', '2026-06-01T00:01:00-04:00', 60), plan)).amount.toFixed(4), '0.0700');
    assert.ok(isUnratable(rateLeg(answered('+13055550100', '2025-12-31T12:00:00-05:00', 60), plan)), 'before any version: no rate');
  });

  test('each rounding method, once, at the end of the charge', () => {
    const deck = '1,US,outbound,,0,0.25,60,1,,,,';
    const leg = answered('+12125550100', WED_NOON, 30); // 0.125 exactly
    const at = (method: 'half_up' | 'half_even' | 'up' | 'down') => charge(rateLeg(leg, planFromCsv(deck, '', { rounding: { decimals: 2, method } }))).amount.toFixed(2);
    assert.equal(at('half_up'), '0.13');
    assert.equal(at('half_even'), '0.12');
    assert.equal(at('up'), '0.13');
    assert.equal(at('down'), '0.12');
    // Per-second pricing of a per-minute rate is not a terminating decimal: exact until the one rounding.
    const third = charge(rateLeg(answered('+12125550100', WED_NOON, 7), planFromCsv('1,US,outbound,,0,0.01,60,1,,,,', '', { rounding: { decimals: 6, method: 'half_up' } })));
    assert.equal(third.amount.toFixed(6), '0.001167');
  });

  test('pieces that do not terminate still add up exactly before the one rounding (51 s at 0.01/min, rounded up)', () => {
    // Thirds of a cent: 10 s + 40 s + 1 s at 0.01 per minute is exactly 0.0085. Adding the pieces at
    // 40 significant digits (as the engine once did) gave 0.0085000...001, which "up" billed as 0.0086.
    const plan = planFromCsv(`
1,US,outbound,,0,0.01,60,1,,,,
1,US,outbound,,10,0.01,60,1,,,,
1,US,outbound,,50,0.01,60,1,,,,`, '', { rounding: { decimals: 4, method: 'up' } });
    const c = charge(rateLeg(answered('+12125550100', WED_NOON, 51), plan));
    assert.deepEqual(c.pieces.map((p) => p.seconds), [10, 40, 1]);
    assert.equal(c.amount.toFixed(4), '0.0085');
    assert.equal(charge(rateLeg(answered('+12125550100', WED_NOON, 57), plan)).amount.toFixed(4), '0.0095');
  });

  test('maximum cost caps a long call', () => {
    const plan = planFromCsv('1,US,outbound,,0,0.10,60,1,0.05,,2.50,');
    const c = charge(rateLeg(answered('+12125550100', WED_NOON, 3600), plan));
    assert.equal(c.subtotal.toFixed(4), '2.5000');
    assert.equal(c.maxCostApplied, true);
    assert.equal(c.usage.toFixed(4), '6.0000');
  });

  test('minimum charge lifts a short call', () => {
    const plan = planFromCsv('1,US,outbound,,0,0.06,60,1,,0.02,,');
    const c = charge(rateLeg(answered('+12125550100', WED_NOON, 5), plan));
    assert.equal(c.amount.toFixed(4), '0.0200');
    assert.equal(c.minChargeApplied, true);
    assert.equal(charge(rateLeg(answered('+12125550100', WED_NOON, 60), plan)).minChargeApplied, false);
  });

  test('connect fee on an unanswered call only when the plan says so', () => {
    const deck = '1,US,outbound,,0,0.06,60,1,0.015,,,';
    const unanswered = { direction: 'outbound' as const, number: '+12125550100', startMs: Date.parse(WED_NOON), answerMs: null, billableSeconds: 0 };
    const charged = charge(rateLeg(unanswered, planFromCsv(deck, '', { connectFeeOnUnanswered: true })));
    assert.equal(charged.amount.toFixed(4), '0.0150');
    assert.equal(charged.chargedSeconds, 0);
    assert.equal(charge(rateLeg(unanswered, planFromCsv(deck))).amount.toFixed(4), '0.0000');
    // Answered calls always pay it.
    assert.equal(charge(rateLeg(answered('+12125550100', WED_NOON, 60), planFromCsv(deck))).amount.toFixed(4), '0.0750');
  });

  test('a toll-free inbound leg is priced from the inbound rates by the dialled DID', () => {
    const plan = planFromCsv(`
1800,US toll-free,inbound,,0,0.03,60,6,,,,
1,US,outbound,,0,0.01,60,1,,,,`);
    const c = charge(rateLeg(answered('+18005550100', WED_NOON, 90, 'inbound'), plan));
    assert.equal(c.prefix, '1800');
    assert.equal(c.amount.toFixed(4), '0.0450');
    // An ordinary DID has no inbound rate: the leg is unratable, never priced at zero.
    const ordinary = rateLeg(answered('+12125550100', WED_NOON, 90, 'inbound'), plan);
    assert.ok(isUnratable(ordinary));
  });

  test('a forwarded leg is priced from the outbound rates', () => {
    const plan = planFromCsv('44,UK,outbound,,0,0.02,60,1,,,,');
    assert.equal(charge(rateLeg(answered('+442079460000', WED_NOON, 60, 'forwarded'), plan)).amount.toFixed(4), '0.0200');
  });

  test('a band with no rate and no all-times rate makes the leg unratable with the reason', () => {
    const plan = planFromCsv('1,US,outbound,peak,0,0.10,60,1,,,,', BANDS, { timeZone: 'UTC' });
    const r = rateLeg(answered('+12125550100', '2026-11-25T17:59:00Z', 120), plan);
    assert.ok(isUnratable(r));
    assert.equal(r.unratable, 'no_rate_for_band');
    assert.match(r.detail, /band offpeak/);
  });
});
