import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compileBands } from '../../src/domain/rating/bands';
import { firstInstantAtOrAfter, utcOfWallTime, zoneOffsetMs } from '../../src/domain/rating/zoned-time';
import { bandAtInstant, splitByBands, wallTime } from '../support/bands';

const day = (iso: string) => Date.parse(`${iso}T00:00:00Z`) / 86_400_000;

describe('wall time in a plan time zone', () => {
  test('offsets follow daylight saving time', () => {
    assert.equal(zoneOffsetMs('Europe/Berlin', Date.parse('2026-01-15T12:00:00Z')), 3_600_000);
    assert.equal(zoneOffsetMs('Europe/Berlin', Date.parse('2026-07-15T12:00:00Z')), 7_200_000);
    assert.equal(zoneOffsetMs('America/New_York', Date.parse('2026-07-15T12:00:00Z')), -4 * 3_600_000);
    assert.equal(zoneOffsetMs('Asia/Kathmandu', Date.parse('2026-07-15T12:00:00Z')), 5.75 * 3_600_000);
  });

  test('wallTime gives the local date, weekday and time of day', () => {
    const w = wallTime('America/New_York', Date.parse('2026-11-28T03:30:00Z')); // Fri 22:30 local
    assert.equal(w.date, '2026-11-27');
    assert.equal(w.weekday, 5);
    assert.equal(w.msOfDay, 22.5 * 3_600_000);
  });

  test('utcOfWallTime round-trips; a time in the spring gap moves forward by the gap (as Temporal does)', () => {
    assert.equal(new Date(utcOfWallTime('Europe/Berlin', day('2026-07-01'), 18 * 3_600_000)).toISOString(), '2026-07-01T16:00:00.000Z');
    // 02:30 on 2026-03-29 does not exist in Berlin: 03:30 CEST = 01:30Z.
    assert.equal(new Date(utcOfWallTime('Europe/Berlin', day('2026-03-29'), 2.5 * 3_600_000)).toISOString(), '2026-03-29T01:30:00.000Z');
    // 02:30 on 2026-10-25 happens twice: the earlier one (CEST).
    assert.equal(new Date(utcOfWallTime('Europe/Berlin', day('2026-10-25'), 2.5 * 3_600_000)).toISOString(), '2026-10-25T00:30:00.000Z');
  });

  test('a band start is the first instant the clock reads its time: the jump in a gap, the first occurrence in a repeated hour', () => {
    const at = (date: string, hours: number) => new Date(firstInstantAtOrAfter('America/New_York', day(date), hours * 3_600_000)).toISOString();
    // 2026-03-08: 02:00 EST jumps to 03:00 EDT at 07:00Z; 02:00-02:59 never happen.
    assert.equal(at('2026-03-08', 1.5), '2026-03-08T06:30:00.000Z');
    assert.equal(at('2026-03-08', 2), '2026-03-08T07:00:00.000Z');
    assert.equal(at('2026-03-08', 2.5), '2026-03-08T07:00:00.000Z');
    assert.equal(at('2026-03-08', 3), '2026-03-08T07:00:00.000Z');
    assert.equal(at('2026-03-08', 3.5), '2026-03-08T07:30:00.000Z');
    // 2026-11-01: 02:00 EDT falls back to 01:00 EST at 06:00Z; 01:00-01:59 happen twice.
    assert.equal(at('2026-11-01', 1.5), '2026-11-01T05:30:00.000Z');
    assert.equal(at('2026-11-01', 2), '2026-11-01T07:00:00.000Z');
    assert.equal(at('2026-07-01', 18), '2026-07-01T22:00:00.000Z');
  });

  test('a repeated hour that begins exactly half a day after the wall time is still found (Chatham falls back at 14:00 UTC)', () => {
    // 2026-04-05 03:45 CHADT (+13:45) becomes 02:45 CHAST (+12:45), at 2026-04-04T14:00Z. 02:00 is read
    // twice: 12:15Z and 13:15Z. The first occurrence is where a band starts (CI found it missed).
    assert.equal(firstInstantAtOrAfter('Pacific/Chatham', day('2026-04-05'), 2 * 3_600_000), Date.parse('2026-04-04T12:15:00Z'));
    assert.equal(utcOfWallTime('Pacific/Chatham', day('2026-04-05'), 2 * 3_600_000), Date.parse('2026-04-04T12:15:00Z'));
    const bands = compileBands('Pacific/Chatham', [{ band: 'peak', weekdays: [], dates: ['2026-04-05'], startMs: 2 * 3_600_000 }]);
    const segs = splitByBands(bands, Date.parse('2026-04-04T00:00:00.500Z'), 44_101);
    assert.deepEqual(segs.map((s) => [s.band, s.to - s.from]), [[undefined, 44_100], ['peak', 1]]);
  });

  test('every wall time of a year in zones with odd offsets and transitions maps to the first instant the clock reads it', () => {
    for (const zone of ['Pacific/Chatham', 'Australia/Lord_Howe', 'America/St_Johns', 'Asia/Tehran', 'Europe/Dublin', 'Pacific/Apia']) {
      for (let d = day('2026-01-01'); d < day('2027-01-01'); d++) {
        for (let m = 0; m < 24 * 60; m += 15) {
          const local = d * 86_400_000 + m * 60_000;
          const got = firstInstantAtOrAfter(zone, d, m * 60_000);
          // Brute force: the first quarter hour (offsets change only on quarter hours) whose clock reads local or later.
          let q = local - 15 * 3_600_000;
          while (q + zoneOffsetMs(zone, q) < local) q += 15 * 60_000;
          assert.equal(got, q, `${zone} ${new Date(local).toISOString()}`);
        }
      }
    }
  });

  test('a band started in the repeated hour is not started again, nor the one before it brought back, when the clock goes back', () => {
    // Santiago, Saturday 2026-04-04: 23:59 (-03) is followed by 23:00 (-04) at 03:00Z; Sunday begins at 04:00Z.
    const bands = compileBands('America/Santiago', [
      { band: 'day', weekdays: [0, 1, 2, 3, 4, 5, 6], dates: [], startMs: 8 * 3_600_000 },
      { band: 'late', weekdays: [6], dates: [], startMs: 23.5 * 3_600_000 },
      { band: 'sunday', weekdays: [0], dates: [], startMs: 0 },
    ]);
    const band = (iso: string) => bandAtInstant(bands, Date.parse(iso));
    assert.equal(band('2026-04-05T02:29:59Z'), 'day');
    assert.equal(band('2026-04-05T02:30:00Z'), 'late');
    // The second 23:15: 'late' goes on (it was 'day' again until the second 23:30).
    assert.equal(band('2026-04-05T03:15:00Z'), 'late');
    assert.equal(band('2026-04-05T03:45:00Z'), 'late');
    assert.equal(band('2026-04-05T04:00:00Z'), 'sunday');
    const segs = splitByBands(bands, Date.parse('2026-04-05T02:00:00Z'), 3 * 3600);
    assert.deepEqual(segs.map((s) => [s.band, s.to - s.from]), [['day', 1800], ['late', 5400], ['sunday', 3600]]);
  });

  test('band boundaries land on local times across a DST change', () => {
    const bands = compileBands('Europe/Berlin', [
      { band: 'night', weekdays: [0, 1, 2, 3, 4, 5, 6], dates: [], startMs: 0 },
      { band: 'day', weekdays: [0, 1, 2, 3, 4, 5, 6], dates: [], startMs: 6 * 3_600_000 },
    ]);
    // From 01:00 local on the spring-forward night to 07:00 local is only 5 real hours.
    const origin = Date.parse('2026-03-29T00:00:00Z'); // 01:00 CET
    const segs = splitByBands(bands, origin, 5 * 3600);
    assert.deepEqual(segs, [{ band: 'night', from: 0, to: 4 * 3600 }, { band: 'day', from: 4 * 3600, to: 5 * 3600 }]);
  });

  test('a holiday date replaces the weekday schedule for that day', () => {
    const bands = compileBands('UTC', [
      { band: 'peak', weekdays: [1, 2, 3, 4, 5], dates: [], startMs: 8 * 3_600_000 },
      { band: 'offpeak', weekdays: [1, 2, 3, 4, 5], dates: [], startMs: 18 * 3_600_000 },
      { band: 'holiday', weekdays: [], dates: ['2026-12-25'], startMs: 0 },
    ]);
    const segs = splitByBands(bands, Date.parse('2026-12-24T23:00:00Z'), 2 * 3600);
    assert.deepEqual(segs.map((s) => [s.band, s.to - s.from]), [['offpeak', 3600], ['holiday', 3600]]);
  });
});
