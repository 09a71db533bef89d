import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isE164, normaliseE164 } from '../../src/domain/numbers/e164';

const ok = (input: string, cc: string | undefined, expected: string) => {
  const r = normaliseE164(input, cc);
  assert.deepEqual(r, { ok: true, number: expected }, `${input} with ${cc}`);
};
const bad = (input: string, cc: string | undefined, reason: RegExp) => {
  const r = normaliseE164(input, cc);
  assert.equal(r.ok, false, `${input} should be refused`);
  if (!r.ok) assert.match(r.reason, reason);
};

describe('E.164 normalisation', () => {
  test('international forms keep their own country code whatever the default', () => {
    ok('+1 (212) 555-0100', '44', '+12125550100');
    ok('+44 20 7946 0000', '1', '+442079460000');
    ok('0044 20 7946 0000', '1', '+442079460000');
    ok('00 49 30 1234567', undefined, '+49301234567');
  });

  test('NANP: ten digits, eleven with the 1, and 011 as the international prefix', () => {
    ok('(212) 555-0100', '1', '+12125550100');
    ok('212.555.0100', '1', '+12125550100');
    ok('12125550100', '1', '+12125550100');
    ok('011 44 20 7946 0000', '1', '+442079460000');
    bad('555-0100', '1', /not a 10-digit North American number/);
  });

  test('national numbers elsewhere drop the single trunk 0 and take the country code', () => {
    ok('020 7946 0000', '44', '+442079460000');
    ok('030 1234567', '49', '+49301234567');
    ok('7946 000', '44', '+447946000');
  });

  test('SIP and TEL URIs give their user part', () => {
    ok('sip:+12125550100@pbx.example.com;user=phone', undefined, '+12125550100');
    ok('tel:+44-20-7946-0000', undefined, '+442079460000');
    ok('sip:2125550100@10.0.0.1', '1', '+12125550100');
  });

  test('refuses what is not a number, has no country, or is too long', () => {
    bad('', '1', /empty/);
    bad('   ', '1', /empty/);
    bad('212-CALL-NOW', '1', /characters other than digits/);
    bad('2125550100', undefined, /no country code/);
    bad('+1234567890123456', undefined, /longer than 15 digits/);
    bad('+0123456', undefined, /not a valid E.164/);
    bad('00', '44', /too short|not a valid/);
    bad('0', '44', /not a valid national number/);
    bad('1001', '91', /too short for a national number/);
    bad('411', '1', /not a 10-digit/);
  });

  test('isE164 accepts only the canonical form', () => {
    assert.equal(isE164('+12125550100'), true);
    assert.equal(isE164('12125550100'), false);
    assert.equal(isE164('+1 212 555 0100'), false);
    assert.equal(isE164('+0212'), false);
  });
});
