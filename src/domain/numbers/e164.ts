/**
 * Phone numbers are stored and matched in E.164: '+', a country code, at most 15 digits.
 * Switches and people write them in many ways; this turns them into one form or says why not.
 */
export type NormalisedNumber = { ok: true; number: string } | { ok: false; reason: string };

const E164 = /^\+[1-9]\d{1,14}$/;
/** Shortest national significant number accepted without a country code (real ones are 6+ digits almost everywhere). */
const MIN_NATIONAL_DIGITS = 6;

export function isE164(value: string): boolean {
  return E164.test(value);
}

/**
 * @param input what was typed or sent: "+1 (212) 555-0100", "00442071234567", "sip:+12125550100@host", "2125550100"
 * @param countryCode calling code (digits, no '+') used for national numbers, e.g. "1" or "44".
 */
export function normaliseE164(input: string, countryCode?: string): NormalisedNumber {
  let s = input.trim();
  // SIP/TEL URIs: keep the user part only.
  s = s.replace(/^(sips?|tel):/i, '');
  const at = s.indexOf('@');
  if (at >= 0) s = s.slice(0, at);
  s = s.replace(/;.*$/, ''); // URI parameters such as ;phone-context
  s = s.replace(/[\s\-.()/]/g, '');
  if (s === '') return { ok: false, reason: 'number is empty' };

  let international: string | undefined;
  if (s.startsWith('+')) international = s.slice(1);
  else if (s.startsWith('00')) international = s.slice(2);
  else if (s.startsWith('011') && countryCode === '1') international = s.slice(3);

  if (international !== undefined) {
    if (international === '') return { ok: false, reason: `"${input}" is too short` };
    if (!/^\d+$/.test(international)) return { ok: false, reason: `"${input}" has characters other than digits` };
    return finish(`+${international}`, input);
  }
  if (!/^\d+$/.test(s)) return { ok: false, reason: `"${input}" has characters other than digits` };
  if (!countryCode) return { ok: false, reason: `"${input}" has no country code` };
  if (!/^[1-9]\d{0,2}$/.test(countryCode)) return { ok: false, reason: `country code "${countryCode}" is not valid` };

  if (countryCode === '1') {
    // North American Numbering Plan: 10 digits, or 11 with the leading 1.
    if (s.length === 11 && s.startsWith('1')) return finish(`+${s}`, input);
    if (s.length === 10) return finish(`+1${s}`, input);
    return { ok: false, reason: `"${input}" is not a 10-digit North American number` };
  }
  // Most plans dial a single trunk prefix 0 before the national number.
  const national = s.startsWith('0') ? s.slice(1) : s;
  if (national.startsWith('0') || national === '') return { ok: false, reason: `"${input}" is not a valid national number` };
  // Switches also write extensions and short codes (1001, 411): not phone numbers to match or rate.
  if (national.length < MIN_NATIONAL_DIGITS) return { ok: false, reason: `"${input}" is too short for a national number (an extension or short code?)` };
  return finish(`+${countryCode}${national}`, input);
}

function finish(candidate: string, input: string): NormalisedNumber {
  if (!E164.test(candidate)) {
    const digits = candidate.length - 1;
    const why = digits > 15 ? 'is longer than 15 digits' : digits < 2 ? 'is too short' : 'is not a valid E.164 number';
    return { ok: false, reason: `"${input}" ${why}` };
  }
  return { ok: true, number: candidate };
}
