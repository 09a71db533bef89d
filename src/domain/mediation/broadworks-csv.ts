/**
 * `broadworks-csv`: BroadWorks accounting CDR files (docs/CDR-FORMATS.md section 4), one record per line,
 * fields separated by commas, a comma inside a value written `\,` (and a backslash `\\`) - not CSV
 * quoting. Field numbers are 1-based and equal the RADIUS attribute numbers of vendor 6431:
 *
 *   1 recordId, 3 type, 4 userNumber, 6 direction (Originating|Terminating), 7 callingNumber,
 *   9 calledNumber, 10 startTime, 12 answerIndicator (Yes|No|Yes-PostRedirection), 13 answerTime,
 *   14 releaseTime, 15 terminationCause, 24 route, 25 networkCallID, 34 accountCode,
 *   36 originalCalledNumber, 38 originalCalledReason, 39 redirectingNumber, 41 redirectingReason,
 *   45 localCallId, 46 remoteCallId, 135 trunkGroupName.
 *
 * Only records whose type (field 3) is `Normal` are call records; any other type (file Start/End,
 * Long Duration, Intermediate, Failover, ...) gives `{ ok: true, legs: [] }`.
 * Times `YYYYMMDDhhmmss.mmm` are UTC. Answered ⇔ answerIndicator starts with `Yes`; billable =
 * releaseTime − answerTime rounded up to whole seconds. An unanswered record's disposition comes from
 * terminationCause (15, Q.850: q850Disposition), kept as the switch cause. platformDirection = originating /
 * terminating (relative to userNumber).
 * legKey = localCallId, else recordId. callId = networkCallID; without one (on-net calls), the
 * smaller of localCallId and remoteCallId, so the Originating and the Terminating record of one
 * on-net call share it; else localCallId.
 * redirectingNumber: redirectingNumber (39), else originalCalledNumber (36), when a redirecting
 * reason (41) or original-called reason (38) is present.
 * Trunk: route (24, the network route the call left by), else trunkGroupName (135).
 */
import type { AdapterContext, AdapterResult, NormalisedLeg } from '../legs/leg';
import type { MediationAdapter } from './adapter';
import { q850Disposition, q850Value } from './disposition';
import { ceilSeconds, fail, outcome, parseCompactUtc, party } from './common';

/** Splits one line on commas that are not escaped by a backslash; `\,` -> `,`, `\\` -> `\`. */
export function splitBroadworksLine(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (let i = 0; i < line.length; i++) {
    const c = line[i] as string;
    if (c === '\\' && i + 1 < line.length) {
      const next = line[i + 1] as string;
      if (next === ',' || next === '\\') {
        cur += next;
        i++;
        continue;
      }
    }
    if (c === ',') {
      out.push(cur);
      cur = '';
      continue;
    }
    cur += c;
  }
  out.push(cur);
  return out;
}

const MIN_FIELDS = 14;

function time(f: (n: number) => string, n: number, name: string): number | null {
  const t = f(n);
  if (t === '') return null;
  const ms = parseCompactUtc(t);
  if (ms === null) fail(`${name} (field ${n}) "${t}" is not a YYYYMMDDhhmmss.mmm time`);
  return ms;
}

function recordLegs(fields: string[], ctx: AdapterContext): NormalisedLeg[] {
  const f = (n: number) => (fields[n - 1] ?? '').trim();
  const type = f(3);
  if (type === '') fail('type (field 3) is empty');
  if (type !== 'Normal') return []; // not a call record
  if (fields.length < MIN_FIELDS) fail(`a Normal record needs at least ${MIN_FIELDS} fields, this one has ${fields.length}`);

  const recordId = f(1);
  const localCallId = f(45);
  const legKey = localCallId || recordId;
  if (legKey === '') fail('neither localCallId (field 45) nor recordId (field 1) is set');

  const startMs = time(f, 10, 'startTime');
  if (startMs === null) fail('startTime (field 10) is empty');
  const indicator = f(12);
  const answered = /^yes/i.test(indicator);
  const answerMs = time(f, 13, 'answerTime');
  const releaseMs = time(f, 14, 'releaseTime');
  if (answered && answerMs === null) fail(`answerIndicator is ${indicator} but answerTime (field 13) is empty`);
  if (answered && releaseMs === null) fail(`answerIndicator is ${indicator} but releaseTime (field 14) is empty`);
  if (releaseMs !== null && releaseMs < startMs) fail(`releaseTime ${f(14)} is before startTime ${f(10)}`);
  if (answered && (answerMs as number) > (releaseMs as number)) fail(`answerTime ${f(13)} is after releaseTime ${f(14)}`);

  const dir = f(6).toLowerCase();
  const platformDirection = dir === 'originating' || dir === 'terminating' ? dir : undefined;

  const remoteCallId = f(46);
  const callId = f(25) || (localCallId && remoteCallId ? (localCallId < remoteCallId ? localCallId : remoteCallId) : localCallId || recordId);

  let redirecting: string | null = null;
  if (f(41) !== '') redirecting = f(39) || f(36) || null;
  else if (f(38) !== '') redirecting = f(36) || f(39) || null;

  const calling = party(f(7), ctx);
  const called = party(f(9), ctx);
  return [
    {
      legKey,
      callId,
      callingNumber: calling.e164,
      calledNumber: called.e164,
      rawCalling: calling.raw,
      rawCalled: called.raw,
      startMs,
      answerMs: answered ? answerMs : null,
      endMs: releaseMs,
      billableSeconds: answered ? ceilSeconds((releaseMs as number) - (answerMs as number)) : 0,
      answered,
      disposition: answered ? 'answered' : q850Disposition(q850Value(f(15))),
      switchCause: f(15) || null,
      ...(platformDirection ? { platformDirection } : {}),
      trunk: f(24) || f(135) || null,
      redirectingNumber: redirecting ? party(redirecting, ctx).e164 : null,
      accountCode: f(34) || null,
    },
  ];
}

export function parseBroadworksCsv(body: string, _contentType: string | undefined, ctx: AdapterContext): AdapterResult {
  const lines = body.replace(/^\uFEFF/, '').split(/\r?\n/);
  const records: AdapterResult['records'] = [];
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    const index = records.length;
    records.push(outcome(index, line, () => recordLegs(splitBroadworksLine(line), ctx), `line ${i + 1}`));
  });
  return { records };
}

export const broadworksCsv: MediationAdapter = { format: 'broadworks-csv', parse: parseBroadworksCsv };
