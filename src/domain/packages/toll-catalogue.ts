/**
 * Pure rules of the toll-package catalogue (issue 11): destination-group prefixes as people type
 * them, included minutes as seconds, and an allowance's "left". No I/O.
 */
import { Decimal, parseDecimal } from '../money/decimal';

/** Most prefixes one group may hold (a whole country's mobile ranges fit many times over). */
export const MAX_GROUP_PREFIXES = 5000;

export type PrefixListResult = { ok: true; prefixes: string[]; duplicates: number } | { ok: false; problems: string[] };

/**
 * A textarea of prefixes or E.164 numbers, one or more a line (separated by commas, semicolons or
 * new lines): "+44 7", "1-212", "33". Spaces, dashes, dots and brackets inside an entry are
 * dropped, as is a leading "+"; what remains must be 1-15 digits not starting with 0 (a country
 * code never does: "0044" and national forms are refused with a hint, not guessed). Duplicates
 * are removed; the prefixes come back sorted. Returns up to five problems, by line.
 */
export function parsePrefixList(text: string): PrefixListResult {
  const problems: string[] = [];
  const seen = new Set<string>();
  let entries = 0;
  const lines = text.split(/\r\n|\r|\n/);
  lines.forEach((line, i) => {
    for (const raw of line.split(/[,;]/)) {
      const typed = raw.trim();
      if (!typed) continue;
      entries++;
      const digits = typed.replace(/[\s\-.()]/g, '').replace(/^\+/, '');
      let problem: string | undefined;
      if (!/^\d+$/.test(digits)) problem = 'has characters other than digits';
      else if (digits.length > 15) problem = 'is longer than 15 digits';
      else if (digits.startsWith('0')) problem = 'starts with 0: write it in international form, from the country code (44 7 for UK mobiles, not 07 or 0044 7)';
      if (problem) {
        if (problems.length < 5) problems.push(`Line ${i + 1}: "${typed}" ${problem}`);
        continue;
      }
      seen.add(digits);
    }
  });
  if (problems.length) return { ok: false, problems };
  if (seen.size === 0) return { ok: false, problems: ['Give at least one prefix'] };
  if (seen.size > MAX_GROUP_PREFIXES) return { ok: false, problems: [`At most ${MAX_GROUP_PREFIXES} prefixes a group (${seen.size} given)`] };
  return { ok: true, prefixes: [...seen].sort(), duplicates: entries - seen.size };
}

/** Largest allowance a form accepts: 10 million minutes a cycle (beyond any real month). */
export const MAX_INCLUDED_MINUTES = 10_000_000;

/**
 * Included minutes typed in a form as whole seconds, exactly: "100" is 6000, "0.5" is 30, "2.25"
 * is 135. A value that is not a whole number of seconds ("0.01" minutes) is refused rather than
 * rounded. Returns the reason when it cannot.
 */
export function minutesToSeconds(text: string): { ok: true; seconds: number } | { ok: false; reason: string } {
  const value = parseDecimal(text.trim());
  if (!value) return { ok: false, reason: 'must be a number of minutes such as 300 or 1.5' };
  if (value.isNegative()) return { ok: false, reason: 'cannot be negative' };
  if (value.greaterThan(MAX_INCLUDED_MINUTES)) return { ok: false, reason: `must be at most ${MAX_INCLUDED_MINUTES.toLocaleString('en-US')} minutes` };
  const seconds = value.times(60);
  if (!seconds.isInteger()) return { ok: false, reason: 'must be a whole number of seconds (a minute is 60 s: 0.5 is 30 s, 0.01 is not allowed)' };
  return { ok: true, seconds: seconds.toNumber() };
}

/**
 * Seconds as minutes for a form: 6000 -> "100", 30 -> "0.5", 135 -> "2.25". Exact for every value
 * minutesToSeconds stores (a typed decimal times 60); seconds written otherwise (7 s) are shown to
 * 6 decimals, and saving that back is refused rather than silently changed.
 */
export function secondsToMinutesText(seconds: number): string {
  return new Decimal(seconds).dividedBy(60).toDecimalPlaces(6).toString();
}

/** "1,234 min 05 s", "45 s", "0 s": seconds read as minutes and seconds. */
export function minutesAndSeconds(seconds: number): string {
  const m = Math.floor(seconds / 60);
  const s = seconds % 60;
  if (m === 0) return `${s} s`;
  return s === 0 ? `${m.toLocaleString('en-US')} min` : `${m.toLocaleString('en-US')} min ${String(s).padStart(2, '0')} s`;
}

/** Seconds left of an allowance: null for unlimited; never below zero. */
export function secondsLeft(includedSeconds: number | null, usedSeconds: number): number | null {
  return includedSeconds === null ? null : Math.max(0, includedSeconds - usedSeconds);
}
