import { test } from 'node:test';
import assert from 'node:assert/strict';
import { activeDays, cycleAt, cyclesBetween, cycleStartingOn, isCycleDay, nextCycle, previousCycle } from '../../src/domain/billing/cycles';

const iso = (ms: number): string => new Date(ms).toISOString();

test('a cycle starts at local midnight of its day, in the party zone', () => {
  const rule = { day: 15, timeZone: 'America/New_York' };
  // 2026-12-15 04:59:59Z is still the 14th in New York (EST, UTC-5).
  const before = cycleAt(Date.parse('2026-12-15T04:59:59Z'), rule);
  assert.equal(before.startDate, '2026-11-15');
  assert.equal(before.endDate, '2026-12-15');
  assert.equal(iso(before.endMs), '2026-12-15T05:00:00.000Z');
  const after = cycleAt(Date.parse('2026-12-15T05:00:00Z'), rule);
  assert.equal(after.startDate, '2026-12-15');
  assert.equal(iso(after.startMs), '2026-12-15T05:00:00.000Z');
  assert.equal(after.days, 31);
});

test('cycles roll over years and follow DST (the start is midnight whatever the offset)', () => {
  const rule = { day: 1, timeZone: 'Europe/London' };
  const dec = cycleAt(Date.parse('2026-12-31T23:59:59Z'), rule);
  assert.equal(dec.startDate, '2026-12-01');
  const jan = nextCycle(dec, rule);
  assert.equal(jan.startDate, '2027-01-01');
  assert.equal(previousCycle(jan, rule).startDate, '2026-12-01');
  // April starts at BST midnight: 23:00Z the day before.
  const apr = cycleStartingOn('2027-04-01', rule);
  assert.equal(iso(apr.startMs), '2027-03-31T23:00:00.000Z');
  assert.equal(cycleStartingOn('2027-02-01', rule).days, 28);
});

test('a midnight inside a DST gap starts the cycle when the clocks jump', () => {
  // Santiago springs forward at 00:00 on the first Sunday of September 2026 (2026-09-06).
  const rule = { day: 6, timeZone: 'America/Santiago' };
  const c = cycleStartingOn('2026-09-06', rule);
  assert.equal(cycleAt(c.startMs, rule).startDate, '2026-09-06');
  assert.equal(cycleAt(c.startMs - 1, rule).startDate, '2026-08-06');
});

test('cyclesBetween lists every cycle overlapping the span', () => {
  const rule = { day: 28, timeZone: 'UTC' };
  const cs = cyclesBetween(Date.parse('2027-01-10T00:00:00Z'), Date.parse('2027-03-28T00:00:00Z'), rule);
  assert.deepEqual(cs.map((c) => c.startDate), ['2026-12-28', '2027-01-28', '2027-02-28']);
});

test('only days 1-28 are cycle days', () => {
  assert.equal(isCycleDay(1), true);
  assert.equal(isCycleDay(28), true);
  assert.equal(isCycleDay(29), false);
  assert.equal(isCycleDay(0), false);
  assert.throws(() => cycleAt(0, { day: 31, timeZone: 'UTC' }), RangeError);
});

test('activeDays: the start day counts, the end day does not; clipped to the cycle', () => {
  const zone = 'America/New_York';
  const c = cycleStartingOn('2026-12-01', { day: 1, timeZone: zone });
  assert.equal(c.days, 31);
  // Whole cycle.
  assert.equal(activeDays(c, Date.parse('2026-01-01T00:00:00Z'), null, zone), 31);
  // Taken at 15:00 local on the 10th: 10th..31st = 22 days.
  assert.equal(activeDays(c, Date.parse('2026-12-10T20:00:00Z'), null, zone), 22);
  // Ended at 09:00 local on the 20th: 1st..19th = 19 days.
  assert.equal(activeDays(c, Date.parse('2026-11-01T00:00:00Z'), Date.parse('2026-12-20T14:00:00Z'), zone), 19);
  // Taken and ended the same day: nothing.
  assert.equal(activeDays(c, Date.parse('2026-12-05T15:00:00Z'), Date.parse('2026-12-05T20:00:00Z'), zone), 0);
  // Outside the cycle.
  assert.equal(activeDays(c, Date.parse('2027-01-02T15:00:00Z'), null, zone), 0);
  // 23:30 local on Dec 31 is Jan 1 in UTC: still the 31st in New York.
  assert.equal(activeDays(c, Date.parse('2027-01-01T04:30:00Z'), null, zone), 1);
});
