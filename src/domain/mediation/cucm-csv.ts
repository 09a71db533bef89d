/**
 * `cucm-csv`: Cisco Unified Communications Manager CDR flat files (docs/CDR-FORMATS.md section 5),
 * posted as the file is: CSV, row 1 the field names, row 2 their SQL types (INTEGER, VARCHAR(50),
 * UNIQUEIDENTIFIER, ...), then one CDR per line. Fields are found by name, not position: a release
 * writes 129 fields, a newer one 133, and the order has grown over the years. The type row is
 * recognised and skipped (a file without it is read the same).
 *
 * Fields read (Cisco's CDR field descriptions):
 *   cdrRecordType             1 = end-of-call record; 0 (start, unused) and 2 (CMR) are not calls
 *   globalCallID_callManagerId, globalCallID_callId   the Global Call ID, shared by every CDR of a call
 *   origLegCallIdentifier, destLegIdentifier (or destLegCallIdentifier)   the two legs of this CDR
 *   dateTimeOrigination, dateTimeConnect, dateTimeDisconnect   UTC epoch seconds; connect 0 = never
 *   callingPartyNumber, originalCalledPartyNumber, finalCalledPartyNumber, lastRedirectDn
 *   duration                  seconds from connect to disconnect (0 when never connected)
 *   origCause_value, destCause_value   Q.850 cause of the side that cleared (the other side is 0)
 *   origDeviceName, destDeviceName, clientMatterCode
 *
 * legKey = `<callManagerId>-<callId>-<origLegCallIdentifier>-<destLegIdentifier>`. The Global
 * Call ID is two fields because each node of a cluster (callManagerId) hands out callIds on its
 * own: callId alone repeats across nodes. It is also shared by every CDR of one call (a transfer
 * writes three, a conference one per party), so the leg identifiers tell those CDRs apart. callIds
 * are reused after a while (Cisco keeps them unique "for a number of days"); the start time is
 * part of the stored leg's identity too, so a reused id is a new leg. callId = `<callManagerId>-<callId>`.
 * One platform is one cluster: globalCallId_ClusterID is not part of the key.
 *
 * Answered ⇔ dateTimeConnect > 0; billable = duration (else disconnect − connect). Calling =
 * callingPartyNumber; called = finalCalledPartyNumber (where the call went, after forwarding), else
 * originalCalledPartyNumber; when the two differ the call was redirected and redirectingNumber is
 * lastRedirectDn, else originalCalledPartyNumber. Trunk: the device name of a side that is not a
 * phone (SEP<MAC>, Jabber CSF/BOT/TCT/TAB), the destination side first. Account code:
 * clientMatterCode. CUCM reports no direction.
 *
 * Disposition of a leg never connected: the cause of the side that cleared (origCause_value, else
 * destCause_value) read as Q.850 (disposition.ts); switchCause keeps both: "orig 16, dest 0".
 */
import type { AdapterContext, AdapterResult, NormalisedLeg, RecordOutcome } from '../legs/leg';
import type { MediationAdapter } from './adapter';
import { q850Disposition, q850Value } from './disposition';
import { fail, MediationError, outcome, parseCount, party, readCsvRows } from './common';

const REQUIRED = [
  'cdrrecordtype',
  'globalcallid_callmanagerid',
  'globalcallid_callid',
  'origlegcallidentifier',
  'datetimeorigination',
  'callingpartynumber',
  'finalcalledpartynumber',
  'datetimeconnect',
  'datetimedisconnect',
  'duration',
] as const;

/** Cisco phones and Jabber clients: a device of a person, not a trunk or gateway. */
const PHONE = /^(SEP[0-9A-F]{12}|CSF\w+|BOT\w+|TCT\w+|TAB\w+)$/i;

/** "9999999999999999": Cisco's mark of an invalid client matter code on a zero-duration call. */
const NO_CMC = '9999999999999999';

type Row = (name: string) => string;

function epoch(row: Row, name: string, field: string): number | null {
  const text = row(name);
  const n = parseCount(text);
  if (n === null) fail(`${field} "${text}" is not a whole number of seconds since 1970`);
  return n === 0 ? null : n * 1000;
}

function recordLegs(row: Row, ctx: AdapterContext): NormalisedLeg[] {
  const type = row('cdrrecordtype');
  if (type === '2' || type === '0') return []; // a CMR (call quality) or an unused start record
  if (type !== '1') fail(`cdrRecordType "${type}" is not 1 (a CDR), 0 or 2`);

  const cm = row('globalcallid_callmanagerid');
  const callId = row('globalcallid_callid');
  const origLeg = row('origlegcallidentifier');
  const destLeg = row('destlegidentifier') || row('destlegcallidentifier');
  if (parseCount(cm) === null || parseCount(callId) === null) fail(`globalCallID_callManagerId "${cm}" and globalCallID_callId "${callId}" must be whole numbers`);
  if (origLeg === '') fail('origLegCallIdentifier is empty');

  const startMs = epoch(row, 'datetimeorigination', 'dateTimeOrigination');
  if (startMs === null) fail('dateTimeOrigination is 0: the call has no start');
  const connectMs = epoch(row, 'datetimeconnect', 'dateTimeConnect');
  const endMs = epoch(row, 'datetimedisconnect', 'dateTimeDisconnect');
  const iso = (ms: number) => new Date(ms).toISOString();
  if (endMs !== null && endMs < startMs) fail(`dateTimeDisconnect ${iso(endMs)} is before dateTimeOrigination ${iso(startMs)}`);
  if (connectMs !== null && connectMs < startMs) fail(`dateTimeConnect ${iso(connectMs)} is before dateTimeOrigination ${iso(startMs)}`);
  if (connectMs !== null && endMs !== null && endMs < connectMs) fail(`dateTimeDisconnect ${iso(endMs)} is before dateTimeConnect ${iso(connectMs)}`);
  const answered = connectMs !== null;

  let billableSeconds = 0;
  if (answered) {
    const duration = parseCount(row('duration'));
    if (duration !== null) billableSeconds = duration;
    else if (row('duration') === '' && endMs !== null) billableSeconds = Math.round((endMs - connectMs) / 1000);
    else fail(`duration "${row('duration')}" is not a whole number of seconds`);
  }

  const origCause = row('origcause_value') || '0';
  const destCause = row('destcause_value') || '0';
  const clearing = origCause !== '0' ? origCause : destCause;

  const original = row('originalcalledpartynumber');
  const final = row('finalcalledpartynumber');
  const redirected = original !== '' && final !== '' && original !== final;
  const redirecting = redirected ? row('lastredirectdn') || original : '';

  const devices = [row('destdevicename'), row('origdevicename')];
  const trunk = devices.find((d) => d !== '' && !PHONE.test(d)) ?? null;
  const cmc = row('clientmattercode');

  const calling = party(row('callingpartynumber'), ctx);
  const called = party(final || original, ctx);
  return [
    {
      legKey: `${cm}-${callId}-${origLeg}-${destLeg || '0'}`,
      callId: `${cm}-${callId}`,
      callingNumber: calling.e164,
      calledNumber: called.e164,
      rawCalling: calling.raw,
      rawCalled: called.raw,
      startMs,
      answerMs: connectMs,
      endMs,
      billableSeconds,
      answered,
      disposition: answered ? 'answered' : q850Disposition(q850Value(clearing)),
      switchCause: `orig ${origCause}, dest ${destCause}`,
      trunk,
      redirectingNumber: redirecting ? party(redirecting, ctx).e164 : null,
      accountCode: cmc !== '' && cmc !== NO_CMC ? cmc : null,
    },
  ];
}

/** The second row of a file as CUCM writes it: the SQL type of each field. */
const isTypeRow = (fields: string[]) => fields.length > 0 && fields.every((f) => /^(INTEGER|VARCHAR\(\d+\)|UNIQUEIDENTIFIER|BIGINT|SMALLINT|DATETIME|TEXT|CHAR\(\d+\))?$/i.test(f.trim()));

export function parseCucmCsv(body: string, _contentType: string | undefined, ctx: AdapterContext): AdapterResult {
  const rows = readCsvRows(body, 'cucm-csv');
  const header = rows[0];
  if (!header) throw new MediationError('cucm-csv: the body is empty (the CDR file, with its header row, is expected)');
  const names = header.fields.map((h) => h.trim().toLowerCase());
  const missing = REQUIRED.filter((n) => !names.includes(n));
  if (missing.length) {
    const hint = names[0] === 'cdrrecordtype' ? '' : ': the first row must be the header row naming the fields, as CUCM writes the file';
    throw new MediationError(`cucm-csv: the header row has no ${missing.join(', ')} field${missing.length > 1 ? 's' : ''}${hint}`, header.line);
  }
  const index = new Map(names.map((n, i) => [n, i] as const));
  const records = rows.slice(1).filter((r, i) => !(i === 0 && isTypeRow(r.fields)));
  const out: RecordOutcome[] = records.map((r, i) =>
    outcome(i, r.raw, () => {
      if (r.fields.length !== names.length) fail(`the row has ${r.fields.length} fields, the header ${names.length}`);
      const row: Row = (name) => (r.fields[index.get(name) ?? -1] ?? '').trim();
      return recordLegs(row, ctx);
    }, `line ${r.line}`),
  );
  return { records: out };
}

export const cucmCsv: MediationAdapter = { format: 'cucm-csv', parse: parseCucmCsv };
