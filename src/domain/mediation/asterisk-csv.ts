/**
 * `asterisk-csv`: cdr_csv Master.csv rows (docs/CDR-FORMATS.md section 2). No header; one CDR per line:
 *
 *   1 accountcode, 2 src, 3 dst, 4 dcontext, 5 clid, 6 channel, 7 dstchannel, 8 lastapp,
 *   9 lastdata, 10 start, 11 answer, 12 end, 13 duration, 14 billsec, 15 disposition, 16 amaflags
 *   [17 uniqueid, 18 userfield]                      (loguniqueid + loguserfield: 18 columns)
 *   [19 peeraccount, 20 linkedid, 21 sequence]       (newcdrcolumns as well: 21 columns)
 *
 * Strings are double-quoted ("" inside), integers bare, an unanswered row's answer is empty and
 * unquoted. start/answer/end are local wall times read in the platform's time zone
 * (usegmtime=yes: configure the platform as UTC).
 *
 * legKey. Asterisk (12+) writes several CDRs with the same uniqueid (Party A) for one call: one per
 * fork of a Dial, per bridge change, per transfer, and Local-channel rows. A uniqueid alone would make
 * those rows look like re-posts of one leg and drop all but one, so:
 *   - 21 columns: `<uniqueid>:<sequence>` (sequence is Asterisk's own unique CDR counter);
 *   - 18 columns: `<uniqueid>:<FNV-1a 64 of the row's fields>`;
 *   - 16 columns: `row:<FNV-1a 64 of the row's fields>`.
 * The hash is over the parsed fields (joined by U+001F), so re-posting the same row gives the same
 * key whatever its quoting or line ending. callId = linkedid, else uniqueid, else the row hash.
 *
 * Answered ⇔ disposition ANSWERED; billable seconds = billsec (0 when not answered). The disposition
 * word is kept as the switch cause and mapped by asteriskDisposition (disposition.ts).
 * Trunk: the peer of dstchannel (`SIP/carrier-0000001a` -> `carrier`); Local/Console channels are not trunks.
 */
import type { AdapterContext, AdapterResult, NormalisedLeg } from '../legs/leg';
import type { MediationAdapter } from './adapter';
import { asteriskDisposition } from './disposition';
import { assertTimeZone, fail, fnv1a64, outcome, parseCount, parseLocalDateTime, party, readCsvRows } from './common';

const NOT_TRUNKS = new Set(['local', 'console', 'agent', 'parked', 'bridge', 'recorder', 'announcer', 'cbanc', 'cbrec', 'multicastrtp', 'snoop']);

/** `SIP/carrier-0000001a` -> carrier; `PJSIP/carrier-00000004` -> carrier; `IAX2/peer-1234` -> peer; `DAHDI/1-1` -> 1. */
export function asteriskTrunk(channel: string): string | null {
  const m = /^([A-Za-z0-9_]+)\/(.+)$/.exec(channel.trim());
  if (!m) return null;
  const tech = (m[1] as string).toLowerCase();
  if (NOT_TRUNKS.has(tech)) return null;
  let peer = (m[2] as string).replace(/<ZOMBIE>$/, '').replace(/<MASQ>$/, '');
  peer = peer.replace(/-[0-9a-fA-F]+(;\d+)?$/, '');
  peer = peer.replace(/@.*$/, '');
  return peer === '' ? null : peer;
}

/** The number in a clid such as `"Test User" <2125550100>`. */
function clidNumber(clid: string): string {
  const m = /<([^>]*)>\s*$/.exec(clid);
  return (m ? (m[1] as string) : clid).trim();
}

function localTime(text: string, name: string, ctx: AdapterContext): number | null {
  const t = text.trim();
  if (t === '') return null;
  const ms = parseLocalDateTime(t, ctx.timeZone);
  if (ms === null) fail(`${name} "${t}" is not a YYYY-MM-DD HH:MM:SS time`);
  return ms;
}

function rowLeg(f: string[], ctx: AdapterContext): NormalisedLeg {
  if (f.length === 20 && /^[A-Z_]+$/.test(f[0] ?? '') && /^\d+\.\d+$/.test(f[1] ?? '')) {
    fail(`this is a CEL event row (${f[0]}), not a CDR: CEL is not a supported format`);
  }
  if (f.length !== 16 && f.length !== 18 && f.length !== 21) {
    fail(`the row has ${f.length} columns; cdr_csv rows have 16, 18 (uniqueid, userfield) or 21 (and peeraccount, linkedid, sequence)`);
  }
  const col = (n: number) => (f[n - 1] ?? '').trim();
  const startText = col(10);
  if (startText === '') fail('start (column 10) is empty');
  const startMs = localTime(startText, 'start (column 10)', ctx) as number;
  const word = col(15);
  if (word === '') fail('disposition (column 15) is empty');
  const disposition = asteriskDisposition(word);
  const answered = disposition === 'answered';
  const answerParsed = localTime(col(11), 'answer (column 11)', ctx);
  const endMs = localTime(col(12), 'end (column 12)', ctx);
  const billsec = parseCount(col(14));
  if (billsec === null) fail(`billsec (column 14) "${col(14)}" is not a whole number of seconds`);
  if (parseCount(col(13)) === null) fail(`duration (column 13) "${col(13)}" is not a whole number of seconds`);
  if (endMs !== null && endMs < startMs) fail(`end ${col(12)} is before start ${col(10)}`);

  const hash = fnv1a64(f.join('\u001f'));
  const uniqueid = f.length >= 18 ? col(17) : '';
  const linkedid = f.length === 21 ? col(20) : '';
  const sequence = f.length === 21 ? col(21) : '';
  const legKey = uniqueid === '' ? `row:${hash}` : sequence !== '' ? `${uniqueid}:${sequence}` : `${uniqueid}:${hash}`;

  const calling = party(col(2) !== '' ? col(2) : clidNumber(col(5)), ctx);
  const called = party(col(3), ctx);
  return {
    legKey,
    callId: linkedid || uniqueid || `row:${hash}`,
    callingNumber: calling.e164,
    calledNumber: called.e164,
    rawCalling: calling.raw,
    rawCalled: called.raw,
    startMs,
    answerMs: answered ? answerParsed : null,
    endMs,
    billableSeconds: answered ? billsec : 0,
    answered,
    disposition,
    switchCause: word,
    trunk: asteriskTrunk(col(7)),
    redirectingNumber: null,
    accountCode: col(1) || null,
  };
}

export function parseAsteriskCsv(body: string, _contentType: string | undefined, ctx: AdapterContext): AdapterResult {
  assertTimeZone(ctx);
  const rows = readCsvRows(body, 'asterisk-csv');
  return {
    records: rows.map((row, index) => outcome(index, row.raw, () => [rowLeg(row.fields, ctx)], `line ${row.line}`)),
  };
}

export const asteriskCsv: MediationAdapter = { format: 'asterisk-csv', parse: parseAsteriskCsv };
