import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { readNumberSearch } from '../../src/domain/numbers/search';

describe('readNumberSearch: a number typed in a search box', () => {
  test('international forms give the E.164 digits', () => {
    for (const text of ['+1 (415) 555-0100', '+14155550100', '001 415 555 0100', 'tel:+1-415-555-0100']) {
      assert.deepEqual(readNumberSearch(text), { ok: true, digits: ['14155550100'], e164: '+14155550100' }, text);
    }
    assert.deepEqual(readNumberSearch('011 44 20 7946 0000', '1'), { ok: true, digits: ['442079460000'], e164: '+442079460000' });
  });

  test('national forms by the party\'s country, also searched as typed (a part of a number)', () => {
    assert.deepEqual(readNumberSearch('415-555-0100', '1'), { ok: true, digits: ['14155550100', '4155550100'], e164: '+14155550100' });
    assert.deepEqual(readNumberSearch('020 7946 0000', '44'), { ok: true, digits: ['442079460000', '02079460000'], e164: '+442079460000' });
    // Without a country, a national number is searched by its digits.
    assert.deepEqual(readNumberSearch('415-555-0100'), { ok: true, digits: ['4155550100'] });
  });

  test('parts of a number are searched by their digits', () => {
    assert.deepEqual(readNumberSearch('555-0100', '1'), { ok: true, digits: ['5550100'] });
    assert.deepEqual(readNumberSearch('0044 20', '1'), { ok: true, digits: ['4420'], e164: '+4420' });
  });

  test('text that is no number is refused with a reason, never read as any number', () => {
    for (const text of ['abc', 'call 415', '415*555', '12', '+', '--']) {
      const r = readNumberSearch(text, '1');
      assert.equal(r.ok, false, text);
      assert.ok(!r.ok && r.message.length > 0);
    }
  });
});
