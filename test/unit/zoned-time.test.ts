import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compileBands, splitByBands } from '../../src/domain/rating/bands';
import { utcOfWallTime, wallTime, zoneOffsetMs } from '../../src/domain/rating/zoned-time';

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
