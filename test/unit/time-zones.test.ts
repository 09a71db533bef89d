import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { addDays, canonicalTimeZone, formatDateTime, localDate, startOfLocalDay, zoneAbbreviation } from '../../src/domain/time/zones';

describe('time zones for people', () => {
  test('a moment reads in the zone with its name at that moment', () => {
    assert.equal(formatDateTime('2026-12-07T14:14:05Z', 'America/New_York'), '2026-12-07 09:14:05 EST');
    assert.equal(formatDateTime(new Date('2026-07-01T12:00:00Z'), 'America/New_York'), '2026-07-01 08:00:00 EDT');
    assert.equal(formatDateTime(Date.parse('2026-12-07T16:00:00Z'), 'Asia/Tokyo'), '2026-12-08 01:00:00 UTC+9');
    assert.equal(formatDateTime('2026-12-07T16:00:00Z', 'UTC'), '2026-12-07 16:00:00 UTC');
    assert.equal(formatDateTime('2026-12-07T16:00:00Z', 'Asia/Kolkata'), '2026-12-07 21:30:00 UTC+5:30');
    assert.equal(formatDateTime(null, 'UTC'), '');
  });

  test('the hour repeated when New York leaves DST reads twice, once EDT and once EST', () => {
    assert.equal(formatDateTime('2026-11-01T05:30:00Z', 'America/New_York'), '2026-11-01 01:30:00 EDT');
    assert.equal(formatDateTime('2026-11-01T06:30:00Z', 'America/New_York'), '2026-11-01 01:30:00 EST');
    assert.equal(zoneAbbreviation('America/New_York', Date.parse('2026-07-01T00:00:00Z')), 'EDT');
  });

  test('a local day begins at local midnight, and a DST day is 23 or 25 hours long', () => {
    assert.equal(new Date(startOfLocalDay('2026-12-07', 'America/New_York')).toISOString(), '2026-12-07T05:00:00.000Z');
    assert.equal(new Date(startOfLocalDay('2026-12-07', 'Asia/Tokyo')).toISOString(), '2026-12-06T15:00:00.000Z');
    assert.equal(startOfLocalDay('2026-03-09', 'America/New_York') - startOfLocalDay('2026-03-08', 'America/New_York'), 23 * 3_600_000);
    assert.equal(startOfLocalDay('2026-11-02', 'America/New_York') - startOfLocalDay('2026-11-01', 'America/New_York'), 25 * 3_600_000);
    assert.equal(localDate(Date.parse('2026-12-07T04:30:00Z'), 'America/New_York'), '2026-12-06');
    assert.equal(localDate(Date.parse('2026-12-07T16:00:00Z'), 'Asia/Tokyo'), '2026-12-08');
    assert.equal(addDays('2026-12-31', 1), '2027-01-01');
    assert.equal(addDays('2026-03-01', -1), '2026-02-28');
  });

  test('zone names are checked against Intl and kept canonical', () => {
    assert.equal(canonicalTimeZone('america/new_york'), 'America/New_York');
    assert.equal(canonicalTimeZone(' Asia/Tokyo '), 'Asia/Tokyo');
    assert.equal(canonicalTimeZone('UTC'), 'UTC');
    assert.equal(canonicalTimeZone('Mars/Olympus_Mons'), undefined);
    assert.equal(canonicalTimeZone(''), undefined);
  });
});
