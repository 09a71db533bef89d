/**
 * `kamailio-dialog`: dialog-based CDRs of Kamailio's acc module (`cdr_enable=1` with the dialog
 * module; table acc_cdrs or syslog), one row per dialog (docs/CDR-FORMATS.md section 3):
 * start_time, end_time, duration (float seconds) and the cdr_extra columns - callid (or call_id),
 * from_tag, to_tag, src_user, dst_ouser / dst_user, src_ip, calltype, src_gwgroupid,
 * dst_gwgroupid, optionally sip_code. CSV with a header row, or a JSON array of objects.
 * Times are `YYYY-MM-DD HH:MM:SS[.fff]` in the platform's time zone, or epoch seconds.
 *
 * One leg per row. Kamailio writes dialog CDRs for confirmed (answered) dialogs, so a row is an
 * answered leg unless it carries a sip_code >= 300. answer = start_time: configure
 * `cdr_start_on_confirmed=1`, otherwise start_time is the INVITE and ringing time is billed.
 * Billable = duration rounded up to whole seconds (end_time - start_time when duration is absent);
 * end = end_time, else start_time + duration.
 * legKey = `<callid>|<from_tag>` (the same key kamailio-acc gives the same call); callId = callid.
 */
import type { AdapterContext, AdapterResult, NormalisedLeg, RecordOutcome } from '../legs/leg';
import type { MediationAdapter } from './adapter';
import { sipDisposition } from './disposition';
import { assertTimeZone, ceilSeconds, fail, outcome, party } from './common';
import { col, kamailioDirection, kamailioTime, readKamailioRows, sipDomainOf } from './kamailio-rows';

function dialogLeg(v: Record<string, string>, ctx: AdapterContext): NormalisedLeg {
  const callid = col(v, 'callid', 'call_id', 'sip_call_id');
  if (callid === '') fail('callid is empty');
  const fromTag = col(v, 'from_tag', 'sip_from_tag');
  if (fromTag === '') fail('from_tag is empty');
  const startMs = kamailioTime(col(v, 'start_time'), 'start_time', ctx);
  const endText = col(v, 'end_time');
  const durationText = col(v, 'duration');
  if (endText === '' && durationText === '') fail('neither end_time nor duration is given');
  let durationMs: number | null = null;
  if (durationText !== '') {
    if (!/^\d+(\.\d+)?$/.test(durationText)) fail(`duration "${durationText}" is not a number of seconds`);
    durationMs = Math.round(Number(durationText) * 1000);
  }
  const endMs = endText !== '' ? kamailioTime(endText, 'end_time', ctx) : startMs + (durationMs as number);
  if (endMs < startMs) fail(`end_time ${endText} is before start_time ${col(v, 'start_time')}`);
  const codeText = col(v, 'sip_code', 'code');
  if (codeText !== '' && !/^[1-6]\d\d$/.test(codeText)) fail(`sip_code "${codeText}" is not a SIP status code`);
  const answered = codeText === '' || Number(codeText) < 300;
  const calling = party(col(v, 'src_user', 'src_username'), ctx);
  const called = party(col(v, 'dst_ouser', 'dst_user', 'dst_username'), ctx);
  const direction = kamailioDirection(col(v, 'calltype'));
  return {
    legKey: `${callid}|${fromTag}`,
    callId: callid,
    callingNumber: calling.e164,
    calledNumber: called.e164,
    rawCalling: calling.raw,
    rawCalled: called.raw,
    startMs,
    answerMs: answered ? startMs : null,
    endMs,
    billableSeconds: answered ? ceilSeconds(durationMs ?? endMs - startMs) : 0,
    answered,
    disposition: answered ? 'answered' : sipDisposition(Number(codeText)),
    switchCause: codeText || null,
    ...(direction ? { platformDirection: direction } : {}),
    trunk: col(v, 'dst_gwgroupid') || null,
    redirectingNumber: null,
    accountCode: null,
    ...sipDomainOf(v),
  };
}

export function parseKamailioDialog(body: string, contentType: string | undefined, ctx: AdapterContext): AdapterResult {
  assertTimeZone(ctx);
  const rows = readKamailioRows(body, contentType, 'kamailio-dialog', [['start_time'], ['callid', 'call_id', 'sip_call_id'], ['from_tag', 'sip_from_tag']]);
  const records: RecordOutcome[] = rows.map((row) =>
    row.values === null
      ? { ok: false, index: row.index, raw: row.raw, error: row.error ?? `${row.where}: unreadable row` }
      : outcome(row.index, row.raw, () => [dialogLeg(row.values as Record<string, string>, ctx)], row.where),
  );
  return { records };
}

export const kamailioDialog: MediationAdapter = { format: 'kamailio-dialog', parse: parseKamailioDialog };
