/**
 * Kamailio posts rows of a table (acc, acc_cdrs / dialog CDRs): CSV with a header row, or a JSON
 * array of objects (one object alone is accepted too). Column names are matched case-insensitively.
 */
import type { AdapterContext } from '../legs/leg';
import {
  csvWithHeader,
  fail,
  isCsvContentType,
  isJsonContentType,
  isPlainObject,
  looksLikeJson,
  MediationError,
  parseJsonBody,
  parseLocalDateTime,
  scalarText,
} from './common';

export interface KamRow {
  index: number;
  raw: string;
  /** "line 4" (CSV) or "record 3" (JSON): where the row is, for messages. */
  where: string;
  /** Lower-case column -> text; null when the JSON element was not an object (see `error`). */
  values: Record<string, string> | null;
  error?: string;
}

/**
 * @param required groups of accepted names for each required column, e.g. [['callid', 'call_id']]:
 *   a CSV header lacking one is a MediationError; a JSON object lacking one is that record's error.
 */
export function readKamailioRows(body: string, contentType: string | undefined, what: string, required: string[][]): KamRow[] {
  const json = isJsonContentType(contentType) || (!isCsvContentType(contentType) && looksLikeJson(body));
  if (json) {
    const doc = parseJsonBody(body, what);
    const items = Array.isArray(doc) ? doc : [doc];
    return items.map((item, index) => {
      const where = `record ${index}`;
      const raw = JSON.stringify(item);
      if (!isPlainObject(item)) return { index, raw, where, values: null, error: `${where}: expected an object with the ${what} columns` };
      try {
        const values: Record<string, string> = {};
        for (const [k, v] of Object.entries(item)) values[k.trim().toLowerCase()] = scalarText(v, k).trim();
        const missing = required.find((names) => !names.some((n) => n in values));
        if (missing) return { index, raw, where, values: null, error: `${where}: ${missing[0]} is missing` };
        return { index, raw, where, values };
      } catch (err) {
        return { index, raw, where, values: null, error: `${where}: ${(err as Error).message}` };
      }
    });
  }
  const csv = csvWithHeader(body, what);
  const missing = required.find((names) => !names.some((n) => csv.header.includes(n)));
  if (missing) {
    throw new MediationError(`${what}: the header row has no "${missing[0]}" column (it has: ${csv.header.join(', ')})`, csv.headerLine);
  }
  return csv.rows.map((r, index) => {
    const where = `line ${r.line}`;
    if (r.extraCells > 0) return { index, raw: r.raw, where, values: null, error: `${where}: the row has more cells than the header has columns` };
    const values: Record<string, string> = {};
    for (const [k, v] of Object.entries(r.values)) values[k] = v.trim();
    return { index, raw: r.raw, where, values };
  });
}

/** The first non-empty value among the names given. */
/**
 * The SIP domain of the record (the From domain, else the To domain), for hosted PBX extensions
 * and user names. An address (192.0.2.10, [2001:db8::1]) names a host, not a domain: none then.
 */
export function sipDomainOf(values: Record<string, string>): { domain?: string } {
  const d = domainName(col(values, 'src_domain', 'from_domain', 'dst_domain', 'to_domain'));
  return d ? { domain: d } : {};
}

/** A SIP domain in lower case without its port, or undefined for an address or nothing. */
export function domainName(text: string | undefined): string | undefined {
  const d = (text ?? '').trim().toLowerCase().replace(/:\d+$/, '');
  if (d === '' || /^\d+(\.\d+){3}$/.test(d) || d.includes(':') || d.startsWith('[')) return undefined;
  return d;
}

export function col(values: Record<string, string>, ...names: string[]): string {
  for (const n of names) {
    const v = values[n];
    if (v !== undefined && v !== '') return v;
  }
  return '';
}

/** `YYYY-MM-DD HH:MM:SS[.fff]` local (platform zone) or epoch seconds (`1752800379`, `1752800379.25`). */
export function kamailioTime(text: string, name: string, ctx: AdapterContext): number {
  const t = text.trim();
  if (t === '') fail(`${name} is empty`);
  if (/^\d+(\.\d+)?$/.test(t)) return Math.round(Number(t) * 1000);
  const ms = parseLocalDateTime(t, ctx.timeZone);
  if (ms === null) fail(`${name} "${t}" is neither a YYYY-MM-DD HH:MM:SS time nor epoch seconds`);
  return ms;
}

/** dSIPRouter's calltype extra, when it says which way the call went through the proxy. */
export function kamailioDirection(calltype: string): 'inbound' | 'outbound' | undefined {
  const t = calltype.trim().toLowerCase();
  return t === 'inbound' || t === 'outbound' ? t : undefined;
}
