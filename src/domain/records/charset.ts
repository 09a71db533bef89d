/**
 * The character sets a record file may be written in, and the one rule for a character the set
 * cannot hold: first its letter without accents (NFKD, combining marks dropped: "Ő" becomes "O"
 * in ISO-8859-1), and when that is still not in the set, "?" (so "Łódź" becomes "?odz" and "東京"
 * "??"). The rule applies before widths and quoting, so a replacement can never break either.
 */
import type { Charset } from './spec';

/** Windows-1252's bytes 0x80-0x9F that are not the C1 controls of ISO-8859-1. */
const CP1252_HIGH: ReadonlyArray<[number, number]> = [
  [0x80, 0x20ac], [0x82, 0x201a], [0x83, 0x0192], [0x84, 0x201e], [0x85, 0x2026], [0x86, 0x2020], [0x87, 0x2021],
  [0x88, 0x02c6], [0x89, 0x2030], [0x8a, 0x0160], [0x8b, 0x2039], [0x8c, 0x0152], [0x8e, 0x017d], [0x91, 0x2018],
  [0x92, 0x2019], [0x93, 0x201c], [0x94, 0x201d], [0x95, 0x2022], [0x96, 0x2013], [0x97, 0x2014], [0x98, 0x02dc],
  [0x99, 0x2122], [0x9a, 0x0161], [0x9b, 0x203a], [0x9c, 0x0153], [0x9e, 0x017e], [0x9f, 0x0178],
];
const CP1252_BYTE = new Map<number, number>(CP1252_HIGH.map(([byte, cp]) => [cp, byte]));

/** The byte of a code point in a single-byte set, or undefined when the set has none. */
function byteOf(cp: number, charset: Exclude<Charset, 'UTF-8'>): number | undefined {
  if (charset === 'ISO-8859-1') return cp <= 0xff ? cp : undefined;
  // Windows-1252: ISO-8859-1 except 0x80-0x9F, which hold printable characters (five are unassigned).
  if (cp < 0x80 || (cp >= 0xa0 && cp <= 0xff)) return cp;
  return CP1252_BYTE.get(cp);
}

function encodable(text: string, charset: Exclude<Charset, 'UTF-8'>): boolean {
  for (const ch of text) if (byteOf(ch.codePointAt(0) as number, charset) === undefined) return false;
  return true;
}

/** Text with every character the set cannot hold replaced by the rule above. UTF-8 holds everything but lone surrogates. */
export function fitCharset(text: string, charset: Charset): string {
  // Almost every value has no surrogate at all: test for one before the slower replace.
  if (charset === 'UTF-8') return /[\ud800-\udfff]/.test(text) ? text.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd') : text;
  // Fast path: plain ASCII fits every set.
  if (/^[\x00-\x7f]*$/.test(text)) return text;
  let out = '';
  for (const ch of text) {
    if (byteOf(ch.codePointAt(0) as number, charset) !== undefined) {
      out += ch;
      continue;
    }
    const bare = ch.normalize('NFKD').replace(/[\u0300-\u036f]/g, '');
    out += bare && encodable(bare, charset) ? bare : '?';
  }
  return out;
}

/** The bytes of text already fitted to the set (fitCharset). */
export function encodeText(text: string, charset: Charset): Buffer {
  if (charset === 'UTF-8') return Buffer.from(text, 'utf8');
  const out = Buffer.allocUnsafe(text.length);
  let n = 0;
  for (const ch of text) out[n++] = byteOf(ch.codePointAt(0) as number, charset) ?? 0x3f;
  return out.subarray(0, n);
}

export const UTF8_BOM = Buffer.from([0xef, 0xbb, 0xbf]);
