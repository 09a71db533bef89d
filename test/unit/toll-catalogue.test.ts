import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MAX_GROUP_PREFIXES, minutesAndSeconds, minutesToSeconds, parsePrefixList, secondsLeft, secondsToMinutesText } from '../../src/domain/packages/toll-catalogue';

describe('toll catalogue rules', () => {
  test('prefix lists: separators, + and punctuation dropped, duplicates counted and removed, sorted', () => {
    assert.deepEqual(parsePrefixList('+44 7\n447, 33-6;1 (212)\r\n\n +44 7 '), { ok: true, prefixes: ['1212', '336', '447'], duplicates: 2 });
    assert.deepEqual(parsePrefixList('+12125550100'), { ok: true, prefixes: ['12125550100'], duplicates: 0 });
  });

  test('prefix lists: problems by line, at most five; nothing given; too many', () => {
    const r = parsePrefixList('1\n4a\n07\n1234567890123456\n+\nx\ny\nz');
    assert.equal(r.ok, false);
    if (r.ok) return;
    assert.equal(r.problems.length, 5);
    assert.match(r.problems[0] as string, /^Line 2: "4a" has characters other than digits$/);
    assert.match(r.problems[1] as string, /^Line 3: "07" starts with 0/);
    assert.match(r.problems[2] as string, /^Line 4: .* is longer than 15 digits$/);
    assert.match(r.problems[3] as string, /^Line 5: "\+" has characters other than digits$/);
    assert.deepEqual(parsePrefixList(' , ;\n'), { ok: false, problems: ['Give at least one prefix'] });
    const many = Array.from({ length: MAX_GROUP_PREFIXES + 1 }, (_, i) => String(10_000 + i)).join('\n');
    assert.equal(parsePrefixList(many).ok, false);
  });

  test('minutes become whole seconds exactly, or are refused; and read back the same', () => {
    assert.deepEqual(minutesToSeconds('100'), { ok: true, seconds: 6000 });
    assert.deepEqual(minutesToSeconds('0.5'), { ok: true, seconds: 30 });
    assert.deepEqual(minutesToSeconds('2.25'), { ok: true, seconds: 135 });
    assert.deepEqual(minutesToSeconds('0'), { ok: true, seconds: 0 });
    assert.deepEqual(minutesToSeconds('0.1'), { ok: true, seconds: 6 });
    assert.equal(minutesToSeconds('0.01').ok, false);
    assert.equal(minutesToSeconds('-1').ok, false);
    assert.equal(minutesToSeconds('ten').ok, false);
    assert.equal(minutesToSeconds('10000001').ok, false);
    for (const typed of ['100', '0.5', '2.25', '0.1', '1234.75']) {
      const s = minutesToSeconds(typed);
      assert.ok(s.ok);
      assert.equal(secondsToMinutesText(s.seconds), typed);
    }
  });

  test('seconds as minutes and seconds; what is left never below zero, unlimited stays unlimited', () => {
    assert.equal(minutesAndSeconds(0), '0 s');
    assert.equal(minutesAndSeconds(45), '45 s');
    assert.equal(minutesAndSeconds(6000), '100 min');
    assert.equal(minutesAndSeconds(4321), '72 min 01 s');
    assert.equal(minutesAndSeconds(60_000_000), '1,000,000 min');
    assert.equal(secondsLeft(6000, 1234), 4766);
    assert.equal(secondsLeft(60, 90), 0);
    assert.equal(secondsLeft(null, 90), null);
  });
});
