import { normaliseE164 } from './e164';

/**
 * A number typed in a search box, as the calls pages read it: in any usual form (+1 (415) 555-0100,
 * 0044 20 7946 0000, 415-555-0100 or 020 7946 0000 with the party's country), whole or in part.
 * `digits` are what a stored E.164 number must contain: the number read as E.164 (country code
 * included) and, for a national or partial number, the digits as typed (so 555-0100 finds
 * +14155550100). Text that is not a number is refused with the reason, never read as "any number".
 */
export type NumberSearch = { ok: true; digits: string[]; e164?: string } | { ok: false; message: string };

/** Fewer digits would match most calls: refused rather than read as a filter. */
export const MIN_SEARCH_DIGITS = 3;

/** What people put in phone numbers besides digits: spaces, dashes, dots, brackets, slashes, a leading + and URI prefixes. */
const NUMBER_TEXT = /^(?:(?:sips?|tel):)?\+?[\d\s\-.()/]+$/i;

export function readNumberSearch(text: string, callingCode?: string): NumberSearch {
  const t = text.trim();
  if (!NUMBER_TEXT.test(t)) {
    return { ok: false, message: `"${t}" is not a phone number: type digits, e.g. +1 415 555 0100${callingCode ? ' or a national number' : ''}` };
  }
  const typed = t.replace(/^(?:sips?|tel):/i, '').replace(/\D/g, '');
  if (typed.length < MIN_SEARCH_DIGITS) return { ok: false, message: `Type at least ${MIN_SEARCH_DIGITS} digits of the number` };
  const e164 = normaliseE164(t, callingCode);
  if (e164.ok) {
    const full = e164.number.slice(1);
    // Typed with its international prefix (+, 00, 011): the digits are the number; else also as typed (a part of one).
    const bare = t.replace(/^(?:sips?|tel):/i, '');
    const international = /^(\+|00)/.test(bare) || (callingCode === '1' && bare.startsWith('011'));
    const digits = international || typed === full ? [full] : [full, typed];
    return { ok: true, digits, e164: e164.number };
  }
  // Not a whole number (a part of one, or national without a country to read it by): its digits.
  const part = /^\s*(\+|00)/.test(t) ? typed.replace(/^00/, '') : typed;
  return { ok: true, digits: [part] };
}
