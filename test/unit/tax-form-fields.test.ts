import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decimalText, momentField, momentText, optionalMomentField, parseMoment } from '../../src/modules/taxes/form-fields';

describe('tax and exchange-rate form fields', () => {
  test('moments: a date is its midnight UTC; a date and time without offset is UTC; an offset is honoured', () => {
    assert.equal(parseMoment('2026-01-01'), Date.parse('2026-01-01T00:00:00Z'));
    assert.equal(parseMoment(' 2026-03-01 12:30 '), Date.parse('2026-03-01T12:30:00Z'));
    assert.equal(parseMoment('2026-03-01T12:30:15'), Date.parse('2026-03-01T12:30:15Z'));
    assert.equal(parseMoment('2026-07-01T00:00:00+02:00'), Date.parse('2026-06-30T22:00:00Z'));
    assert.equal(parseMoment('2026-07-01T00:00:00.250Z'), Date.parse('2026-07-01T00:00:00.250Z'));
  });

  test('moments that are not real are refused, not rolled over', () => {
    for (const bad of ['2026-02-30', '2026-13-01', '2026-01-01 24:00', '2026-01-01 12:60', 'tomorrow', '', '01/02/2026', '2026-01-01T00:00:00+25:00']) {
      assert.equal(parseMoment(bad), undefined, bad);
    }
  });

  test('a date-time with an offset on a day or at a time that does not exist is refused, not rolled over to the next', () => {
    for (const bad of ['2026-02-30T00:00:00Z', '2026-02-29 10:00+01:00', '2026-01-01T24:00:00Z', '2026-01-31T23:61:00-05:00']) {
      assert.equal(parseMoment(bad), undefined, bad);
    }
    const messages = (v: string) => momentField('Effective from').safeParse(v).error?.issues.map((i) => i.message);
    assert.deepEqual(messages('2026-02-30T00:00:00Z'), ['Effective from is not a real date: February 2026 has 28 days']);
    assert.deepEqual(messages('2026-01-01 24:61'), ['Effective from is not a real time: 24:61:00 (hours go to 23, minutes and seconds to 59)']);
    assert.deepEqual(messages('soon'), ['Effective from must be a date (2026-01-01) or a date and time in UTC (2026-01-01 08:00)']);
    assert.deepEqual(optionalMomentField('End').safeParse('2026-04-31').error?.issues.map((i) => i.message), ['End is not a real date: April 2026 has 30 days']);
  });

  test('a moment shown in a form reads back as the same moment', () => {
    for (const iso of ['2026-01-01T00:00:00.000Z', '2026-03-01T12:30:00.000Z', '2026-03-01T12:30:15.000Z', '2026-03-01T12:30:15.123Z']) {
      assert.equal(parseMoment(momentText(Date.parse(iso))), Date.parse(iso), iso);
    }
    assert.equal(momentText(Date.parse('2026-03-01T12:30:00Z')), '2026-03-01 12:30');
    assert.equal(momentText(null), '');
  });

  test('decimals go to Decimal without a float, within numeric(p, s)', () => {
    const field = decimalText('Rate', { precision: 20, scale: 10 });
    assert.equal(field.parse('8.875').toString(), '8.875');
    assert.equal(field.parse(' +0.1000000001 ').toString(), '0.1000000001');
    assert.equal(field.parse('9999999999.9999999999').toFixed(10), '9999999999.9999999999');
    const messages = (v: string) => field.safeParse(v).error?.issues.map((i) => i.message);
    assert.deepEqual(messages('1e3'), ['Rate must be a decimal number such as 8.875']);
    assert.deepEqual(messages('-1'), ['Rate cannot be negative']);
    assert.deepEqual(messages('0.00000000001'), ['Rate can have at most 10 decimals']);
    assert.deepEqual(messages('10000000000'), ['Rate is too large']);
    assert.deepEqual(messages(''), ['Rate is required']);
    const positive = decimalText('Rate', { precision: 30, scale: 12, positive: true });
    assert.deepEqual(positive.safeParse('0.000').error?.issues.map((i) => i.message), ['Rate must be above zero']);
  });
});
