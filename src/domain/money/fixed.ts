import { Decimal, type RoundingMethod } from './decimal';

/**
 * Exact fixed-point money for the rating hot path: a value is a bigint count of 10^-scale, most
 * often 10^-10 (the scale of the numeric(20..24,10) columns). BigInt keeps amounts exact like
 * decimal.js does, but costs tens of nanoseconds per operation instead of microseconds, and builds
 * no objects we then throw away. Never a JavaScript number for an amount: numbers here are seconds,
 * rate units, digit counts and scales.
 */

/** The scale of stored amounts and rates: 10 decimals. */
export const SCALE = 10;

// The clone's toExpNeg and toExpPos (money/decimal.ts): where its toString switches to exponential notation.
const EXP_NEG = -30;
const EXP_POS = 40;

const POW10: bigint[] = [];
for (let i = 0, p = 1n; i <= 64; i++, p *= 10n) POW10.push(p);

/** 10^n as a bigint (cached up to 10^64). */
export function pow10(n: number): bigint {
  return n >= 0 && n <= 64 ? (POW10[n] as bigint) : 10n ** BigInt(n);
}

// Rounding methods as small integers: the hot path compares numbers, not strings.
export const HALF_UP = 0;
export const HALF_EVEN = 1;
export const UP = 2;
export const DOWN = 3;
export type MethodCode = typeof HALF_UP | typeof HALF_EVEN | typeof UP | typeof DOWN;

const CODES: Record<RoundingMethod, MethodCode> = { half_up: HALF_UP, half_even: HALF_EVEN, up: UP, down: DOWN };

export function methodCode(method: RoundingMethod): MethodCode {
  const c = CODES[method];
  if (c === undefined) throw new Error(`unknown rounding method ${String(method)}`);
  return c;
}

/**
 * n / d rounded to an integer (d > 0), as decimal.js rounds: half_up and up go away from zero,
 * down toward zero, half_even to the even neighbour on an exact half.
 */
export function roundDiv(n: bigint, d: bigint, method: MethodCode): bigint {
  const q = n / d;
  const r = n - q * d;
  if (r === 0n || method === DOWN) return q;
  const neg = n < 0n;
  if (method !== UP) {
    const twice = (neg ? -r : r) * 2n;
    if (twice < d) return q;
    // An exact half stays put only for half_even with an even quotient.
    if (twice === d && method === HALF_EVEN && (q & 1n) === 0n) return q;
  }
  return neg ? q - 1n : q + 1n;
}

/**
 * The one fixed-point value: coef / 10^scale, exact. Parsed and read values have the minimal scale;
 * the engine's results keep the scale they were computed at (a rate at its plan's scale, amounts
 * at SCALE), which changes neither the value nor its text.
 */
export interface Fixed {
  coef: bigint;
  scale: number;
}

/** A Fixed of coef / 10^scale. */
export function fixed(coef: bigint, scale: number): Fixed {
  return { coef, scale };
}

/** The Decimal of a Fixed (exact; for display and for the decimal.js reference). */
export function decimalOfFixed(f: Fixed): Decimal {
  return decimalOf(f.coef, f.scale);
}

/** The text of a Fixed as decimal.js's toString gives it (formatScaled). */
export function fixedText(f: Fixed): string {
  return formatScaled(f.coef, f.scale);
}

const PLAIN = /^([+-]?)(\d*)(?:\.(\d*))?$/;

/** Exact parts of plain decimal text ("12.3400", "-.5"); undefined for anything else. */
export function parseScaled(text: string): Fixed | undefined {
  const m = PLAIN.exec(text.trim());
  if (!m || (!m[2] && !m[3])) return undefined;
  let frac = m[3] ?? '';
  let end = frac.length;
  while (end > 0 && frac.charCodeAt(end - 1) === 48) end--;
  frac = frac.slice(0, end);
  const coef = BigInt(`${m[2] || '0'}${frac}`);
  return { coef: m[1] === '-' ? -coef : coef, scale: frac.length };
}

/**
 * The exact parts of a Decimal (any size, any number of decimals), read from its digits: decimal.js
 * keeps a value as base-10^7 limbs `d` (most significant first, aligned so that limb i is worth
 * 10^(7 (floor(e / 7) - i))), the exponent `e` of its leading digit and the sign `s`. No text is
 * built and nothing is cached: a deck's fees and rates are read once, when its plan is compiled.
 */
export function scaledOf(value: Decimal): Fixed {
  const d = value.d;
  if (!d) throw new Error(`not a finite decimal: ${value.toString()}`);
  let digits = String(d[0]);
  for (let i = 1; i < d.length; i++) digits += String(d[i]).padStart(7, '0');
  // Decimal exponent of the last digit.
  let exp = (Math.floor(value.e / 7) - (d.length - 1)) * 7;
  let end = digits.length;
  while (end > 1 && digits.charCodeAt(end - 1) === 48) {
    end--;
    exp++;
  }
  let coef = BigInt(end === digits.length ? digits : digits.slice(0, end));
  if (value.s < 0) coef = -coef;
  return exp >= 0 ? { coef: coef * pow10(exp), scale: 0 } : { coef, scale: -exp };
}

/** How many decimals a Decimal has (0 for an integer), from its digits like scaledOf, without building anything. */
export function decimalsOf(value: Decimal): number {
  const d = value.d;
  if (!d) throw new Error(`not a finite decimal: ${value.toString()}`);
  let last = d[d.length - 1] as number;
  let exp = (Math.floor(value.e / 7) - (d.length - 1)) * 7;
  if (last === 0) return 0;
  while (last % 10 === 0) {
    last /= 10;
    exp++;
  }
  return exp < 0 ? -exp : 0;
}

// Decimals are immutable, so their parts can be remembered by identity: a batch's tax rules and
// exchange rate are the same objects leg after leg.
const remembered = new WeakMap<object, Fixed>();

/** scaledOf, remembered for the few Decimals the hot path meets again and again (tax rates, exchange rates). */
export function scaledOfInput(value: Decimal): Fixed {
  let s = remembered.get(value);
  if (s === undefined) {
    s = scaledOf(value);
    remembered.set(value, s);
  }
  return s;
}

const texts = new WeakMap<object, string>();

/** toString of an input Decimal (a tax rate, an exchange rate), remembered like scaledOfInput. */
export function textOfInput(value: Decimal): string {
  let t = texts.get(value);
  if (t === undefined) {
    t = value.toString();
    texts.set(value, t);
  }
  return t;
}

/**
 * Text of v / 10^scale exactly as decimal.js's toString gives it with our clone: plain notation, no
 * trailing zeros (exponential from 1e-30 down and 1e40 up, which no amount or rate reaches).
 */
export function formatScaled(v: bigint, scale: number): string {
  if (v === 0n) return '0';
  const neg = v < 0n;
  let digits = (neg ? -v : v).toString();
  const exponent = digits.length - 1 - scale;
  if (exponent <= EXP_NEG || exponent >= EXP_POS) return new Decimal(`${v}e${-scale}`).toString();
  if (scale > 0) {
    if (digits.length <= scale) digits = '0'.repeat(scale - digits.length + 1) + digits;
    const point = digits.length - scale;
    let end = digits.length;
    while (end > point && digits.charCodeAt(end - 1) === 48) end--;
    digits = end > point ? `${digits.slice(0, point)}.${digits.slice(point, end)}` : digits.slice(0, point);
  } else if (scale < 0) {
    digits += '0'.repeat(-scale);
  }
  return neg ? `-${digits}` : digits;
}

/** A Decimal of v / 10^scale (exact). */
export function decimalOf(v: bigint, scale: number): Decimal {
  return new Decimal(formatScaled(v, scale));
}

export function gcd(a: bigint, b: bigint): bigint {
  if (a < 0n) a = -a;
  if (b < 0n) b = -b;
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
}

export function lcm(a: bigint, b: bigint): bigint {
  return a === 0n || b === 0n ? 0n : (a / gcd(a, b)) * b;
}
