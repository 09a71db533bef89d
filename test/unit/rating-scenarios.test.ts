import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Decimal } from '../../src/domain/money/decimal';
import { isUnratable, rateLeg, type RatingResult } from '../../src/domain/rating/engine';
import { compilePlan } from '../../src/domain/rating/plan';
import { answered, decimalCharge, planFromCsv, type DecimalCharge } from '../support/rating';

function charge(r: RatingResult): DecimalCharge {
  if (isUnratable(r)) assert.fail(`unratable: ${r.detail}`);
  return decimalCharge(r);
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

  test('a block that overhangs the next step is priced whole at the step where it begins', () => {
    // Issue 8.11: 60/60 for the first 30 s, then per second at ten times the rate. A 10 s call is
    // one 60 s block of step 0 (it was 30 s at each step's rate: 0.3300).
    const plan = planFromCsv(`
1,US,outbound,,0,0.06,60,60,,,,
1,US,outbound,,30,0.60,60,1,,,,`);
    const ten = charge(rateLeg(answered('+12125550100', WED_NOON, 10), plan));
    assert.equal(ten.chargedSeconds, 60);
    assert.deepEqual(ten.pieces.map((p) => [p.step, p.from, p.seconds]), [[0, 0, 60]]);
    assert.equal(ten.amount.toFixed(4), '0.0600');
    // The next block begins at 60 s, in step 1: one second at 0.60 a minute.
    const sixtyOne = charge(rateLeg(answered('+12125550100', WED_NOON, 61), plan));
    assert.deepEqual(sixtyOne.pieces.map((p) => [p.step, p.from, p.seconds]), [[0, 0, 60], [1, 60, 1]]);
    assert.equal(sixtyOne.amount.toFixed(4), '0.0700');
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

  // Monday 2026-11-23: off-peak until 08:00, peak from 08:00 (issue 8.10).
  const MONDAY = `
offpeak,mon,00:00
peak,mon,08:00`;

  test('the rounded-up tail of a block stays in the band where the block began (1 s at 07:59:59 costs one off-peak minute)', () => {
    const plan = planFromCsv(`
1,US,outbound,offpeak,0,0.01,60,60,,,,
1,US,outbound,peak,0,0.10,60,60,,,,`, MONDAY);
    const c = charge(rateLeg(answered('+12125550100', '2026-11-23T07:59:59Z', 1), plan));
    assert.equal(c.chargedSeconds, 60);
    assert.deepEqual(c.pieces.map((p) => [p.band, p.from, p.seconds]), [['offpeak', 0, 60]]);
    assert.equal(c.amount.toFixed(4), '0.0100');
    // The second block begins at 08:00:59, in peak.
    const two = charge(rateLeg(answered('+12125550100', '2026-11-23T07:59:59Z', 61), plan));
    assert.deepEqual(two.pieces.map((p) => [p.band, p.from, p.seconds]), [['offpeak', 0, 60], ['peak', 60, 60]]);
    assert.equal(two.amount.toFixed(4), '0.1100');
  });

  test('blocks that begin in a band entered mid-call use that band\'s increment (1/1 off-peak into 60/60 peak)', () => {
    const plan = planFromCsv(`
1,US,outbound,offpeak,0,0.01,60,1,,,,
1,US,outbound,peak,0,0.10,60,60,,,,`, MONDAY);
    // 07:59:30 + 45 s: 30 one-second blocks off-peak, then one 60 s peak block (was 45 s: 0.0300).
    const c = charge(rateLeg(answered('+12125550100', '2026-11-23T07:59:30Z', 45), plan));
    assert.equal(c.chargedSeconds, 90);
    assert.deepEqual(c.pieces.map((p) => [p.band, p.from, p.seconds, p.amount.toString()]), [['offpeak', 0, 30, '0.005'], ['peak', 30, 60, '0.1']]);
    assert.equal(c.amount.toFixed(4), '0.1050');
  });

  test('the band the call started in prices every block, at its own increments, when the plan says so', () => {
    const plan = planFromCsv(`
1,US,outbound,offpeak,0,0.01,60,1,,,,
1,US,outbound,peak,0,0.10,60,60,,,,`, MONDAY, { bandMode: 'start' });
    const c = charge(rateLeg(answered('+12125550100', '2026-11-23T07:59:30Z', 45), plan));
    assert.deepEqual(c.pieces.map((p) => [p.band, p.seconds]), [['offpeak', 45]]);
    assert.equal(c.amount.toFixed(4), '0.0075');
  });

  // New York, every day: off-peak from 00:00 at 0.001 a second, peak at 0.01 a second (issue 8.12).
  const NY = { timeZone: 'America/New_York' };
  const PER_SECOND = `
1,US,outbound,offpeak,0,0.06,60,1,,,,
1,US,outbound,peak,0,0.60,60,1,,,,`;
  const bandsAt = (start: string) => `offpeak,mon-sun,00:00\npeak,mon-sun,${start}`;
  const bandsOf = (c: DecimalCharge) => c.pieces.map((p) => [p.band, p.seconds]);

  test('a band start inside the spring-forward gap begins when the clocks jump, for a call that starts there and one that runs through', () => {
    // 2026-03-08: 02:00 EST jumps to 03:00 EDT (07:00Z), so 02:30 never happens; peak begins at 07:00Z.
    const plan = planFromCsv(PER_SECOND, bandsAt('02:30'), NY);
    // Through: 01:50 EST + 20 minutes. It was off-peak until 03:30 EDT (07:30Z): all 1,200 s off-peak.
    const through = charge(rateLeg(answered('+12125550100', '2026-03-08T06:50:00Z', 1200), plan));
    assert.deepEqual(bandsOf(through), [['offpeak', 600], ['peak', 600]]);
    assert.equal(through.amount.toFixed(4), '6.6000');
    // Starting at the jump, or a second before it: the same instant.
    assert.deepEqual(bandsOf(charge(rateLeg(answered('+12125550100', '2026-03-08T07:00:00Z', 60), plan))), [['peak', 60]]);
    assert.deepEqual(bandsOf(charge(rateLeg(answered('+12125550100', '2026-03-08T06:59:59Z', 2), plan))), [['offpeak', 1], ['peak', 1]]);
    assert.deepEqual(bandsOf(charge(rateLeg(answered('+12125550100', '2026-03-08T07:10:00Z', 60), plan))), [['peak', 60]]);
    // A start after the gap the same day still wins from its own instant on: 02:30 peak lasts no time when 03:00 starts another band.
    const both = planFromCsv(`${PER_SECOND}\n1,US,outbound,weekend,0,0,60,1,,,,`, `${bandsAt('02:30')}\nweekend,mon-sun,03:00`, NY);
    assert.deepEqual(bandsOf(charge(rateLeg(answered('+12125550100', '2026-03-08T06:59:00Z', 120), both))), [['offpeak', 60], ['weekend', 60]]);
  });

  test('a band start inside the repeated fall-back hour begins at its first occurrence, for a call that starts there and one that runs through', () => {
    // 2026-11-01: 02:00 EDT falls back to 01:00 EST (06:00Z); 01:30 happens at 05:30Z and again at 06:30Z.
    const plan = planFromCsv(PER_SECOND, bandsAt('01:30'), NY);
    const through = charge(rateLeg(answered('+12125550100', '2026-11-01T05:20:00Z', 1200), plan));
    assert.deepEqual(bandsOf(through), [['offpeak', 600], ['peak', 600]]);
    assert.equal(through.amount.toFixed(4), '6.6000');
    // 01:15 EST, the second time round: peak has been running since 05:30Z (it was off-peak again until 06:30Z).
    const second = charge(rateLeg(answered('+12125550100', '2026-11-01T06:15:00Z', 1800), plan));
    assert.deepEqual(bandsOf(second), [['peak', 1800]]);
    assert.equal(second.amount.toFixed(4), '18.0000');
    // Through the whole repeated hour: one boundary, at 05:30Z.
    assert.deepEqual(bandsOf(charge(rateLeg(answered('+12125550100', '2026-11-01T05:00:00Z', 7200), plan))), [['offpeak', 1800], ['peak', 5400]]);
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

  test('maximum cost caps the connect fee of an unanswered call that pays it', () => {
    // A deck can no longer say this (a fee above max_cost is refused), but one stored before could.
    const rate = {
      prefix: '1', description: 'US', direction: 'outbound' as const, band: null, effectiveFrom: 0,
      connectFee: new Decimal('0.05'), minCharge: null, maxCost: new Decimal('0.02'),
      steps: [{ from: 0, rate: new Decimal('0.06'), rateUnit: 60, increment: 1 }],
    };
    const settings = { id: 1, name: 'Old', currency: 'USD', rounding: { decimals: 4, method: 'half_up' as const }, timeZone: 'UTC', bandMode: 'split' as const, connectFeeOnUnanswered: true };
    const unanswered = { direction: 'outbound' as const, number: '+12125550100', startMs: Date.parse(WED_NOON), answerMs: null, billableSeconds: 0 };
    const c = charge(rateLeg(unanswered, compilePlan(settings, [rate], [])));
    assert.equal(c.connectFee.toString(), '0.05');
    assert.equal(c.subtotal.toString(), '0.02');
    assert.equal(c.maxCostApplied, true);
    assert.equal(c.amount.toFixed(4), '0.0200');
    // Below the cap nothing changes.
    const cheap = charge(rateLeg(unanswered, compilePlan(settings, [{ ...rate, maxCost: new Decimal('0.10') }], [])));
    assert.deepEqual([cheap.subtotal.toString(), cheap.maxCostApplied], ['0.05', false]);
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
