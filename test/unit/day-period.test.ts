import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DEFAULT_PERIOD_DAYS, MAX_PERIOD_DAYS, dayPeriod } from '../../src/domain/time/day-period';
import { marginOf } from '../../src/modules/portal/dashboards.service';

/** 2026-11-10 03:00 UTC: still 2026-11-09 in New York, already 2026-11-10 in Tokyo. */
const NOW = Date.parse('2026-11-10T03:00:00Z');

describe("a dashboard's period of local days", () => {
  test('by default the last 30 days of the zone, today included', () => {
    const ny = dayPeriod({}, 'America/New_York', NOW).period;
    assert.equal(ny.to, '2026-11-09');
    assert.equal(ny.from, '2026-10-11');
    assert.equal(ny.days.length, DEFAULT_PERIOD_DAYS);
    assert.equal(dayPeriod({}, 'Asia/Tokyo', NOW).period.to, '2026-11-10');
  });

  test('its instants are the local midnights, across a DST change (25-hour day)', () => {
    const p = dayPeriod({ from: '2026-11-01', to: '2026-11-01' }, 'America/New_York', NOW).period;
    assert.equal(new Date(p.fromMs).toISOString(), '2026-11-01T04:00:00.000Z');
    assert.equal(new Date(p.toMs).toISOString(), '2026-11-02T05:00:00.000Z');
    assert.deepEqual(p.days, ['2026-11-01']);
  });

  test('one end given: 30 days from or to it', () => {
    assert.deepEqual(
      [dayPeriod({ from: '2026-01-01' }, 'UTC', NOW).period.to, dayPeriod({ to: '2026-01-30' }, 'UTC', NOW).period.from],
      ['2026-01-30', '2026-01-01'],
    );
  });

  test('a date that does not exist, a start after the end, or a period too long: the default, and why', () => {
    assert.match(dayPeriod({ from: '2026-02-30', to: '2026-03-01' }, 'UTC', NOW).problem ?? '', /start date must be a real date/);
    assert.match(dayPeriod({ from: 'yesterday' }, 'UTC', NOW).problem ?? '', /start date/);
    assert.match(dayPeriod({ from: '2026-03-02', to: '2026-03-01' }, 'UTC', NOW).problem ?? '', /not be after/);
    const long = dayPeriod({ from: '2024-01-01', to: '2026-01-01' }, 'UTC', NOW);
    assert.match(long.problem ?? '', new RegExp(`at most ${MAX_PERIOD_DAYS} days`));
    assert.equal(long.period.days.length, DEFAULT_PERIOD_DAYS);
  });
});

describe('margin', () => {
  test('retail less wholesale per currency, exact, never across currencies', () => {
    assert.deepEqual(
      marginOf([{ currency: 'EUR', amount: '10.10' }, { currency: 'USD', amount: '0.3' }], [{ currency: 'USD', amount: '0.1000000001' }, { currency: 'GBP', amount: '2' }]),
      [
        { currency: 'EUR', amount: '10.1000000000' },
        { currency: 'GBP', amount: '-2.0000000000' },
        { currency: 'USD', amount: '0.1999999999' },
      ],
    );
  });
});
