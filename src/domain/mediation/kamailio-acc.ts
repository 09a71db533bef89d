/**
 * `kamailio-acc`: rows of Kamailio's acc table (docs/CDR-FORMATS.md section 3), one per SIP transaction:
 * method, from_tag, to_tag, callid (or call_id), sip_code (or code), sip_reason (or reason),
 * time (or timestamp), plus dSIPRouter's extras src_user, dst_ouser, dst_user, src_ip, calltype,
 * src_gwgroupid, dst_gwgroupid. CSV with a header row, or a JSON array of objects.
 * `time` is `YYYY-MM-DD HH:MM:SS` in the platform's time zone, or epoch seconds.
 *
 * A call is built from its transactions, within this post only:
 *  - INVITE 2xx + the BYE 2xx of the same callid whose tags match either way round (a BYE from
 *    the callee swaps from/to tags) -> one answered leg: start = answer = INVITE time (acc has no
 *    ring time), end = BYE time, billable = BYE.time - INVITE.time. The BYE's record gives no leg.
 *  - INVITE 2xx whose only BYEs failed (481/408/478: the dialog was already gone) -> ended at the
 *    first of those BYEs, as dSIPRouter's own cdrs table bills them.
 *  - INVITE 2xx with no BYE at all in this post -> refused with a message saying so; pairing across
 *    posts is left to intake. Same for a BYE 2xx whose INVITE is not in this post.
 *  - INVITE with a final code >= 300 (403, 408, 480, 486, 487, 488, ...) -> one unanswered leg,
 *    start = end = the time of that final reply.
 *  - noise, no leg and no error: INVITE 401/407 (auth challenges), BYE with a non-2xx code
 *    (481/408/478: dialog already gone), a second INVITE 2xx of a dialog (re-INVITE), other methods.
 *
 * legKey = `<callid>|<from_tag of the INVITE>`; callId = callid. Calling = src_user; called =
 * dst_ouser (the To user, as dialled) else dst_user (the R-URI user after routing); trunk =
 * dst_gwgroupid; platformDirection from calltype (inbound/outbound) when present.
 */
import type { AdapterContext, AdapterResult, NormalisedLeg, RecordOutcome } from '../legs/leg';
import type { MediationAdapter } from './adapter';
import { sipDisposition } from './disposition';
import { assertTimeZone, ceilSeconds, outcome, party, RecordError } from './common';
import { col, kamailioDirection, kamailioTime, type KamRow, readKamailioRows, sipDomainOf } from './kamailio-rows';

interface Tx {
  row: KamRow;
  values: Record<string, string>;
  method: string;
  fromTag: string;
  toTag: string;
  callid: string;
  code: number;
  reason: string;
  timeMs: number;
}

type Kind = 'answer' | 'bye' | 'failed' | 'noise';

function transaction(row: KamRow, ctx: AdapterContext): Tx {
  const v = row.values as Record<string, string>;
  const method = col(v, 'method').toUpperCase();
  const callid = col(v, 'callid', 'call_id');
  if (method === '') throw new RecordError('method is empty');
  if (callid === '') throw new RecordError('callid is empty');
  const codeText = col(v, 'sip_code', 'code');
  if (!/^[1-6]\d\d$/.test(codeText)) throw new RecordError(`sip_code "${codeText}" is not a SIP status code`);
  return {
    row,
    values: v,
    method,
    fromTag: col(v, 'from_tag'),
    toTag: col(v, 'to_tag'),
    callid,
    code: Number(codeText),
    reason: col(v, 'sip_reason', 'reason'),
    timeMs: kamailioTime(col(v, 'time', 'timestamp'), 'time', ctx),
  };
}

function kindOf(tx: Tx): Kind {
  if (tx.method === 'INVITE') {
    if (tx.code >= 200 && tx.code < 300) return 'answer';
    if (tx.code === 401 || tx.code === 407 || tx.code < 200) return 'noise';
    return 'failed';
  }
  if (tx.method === 'BYE' && tx.code >= 200 && tx.code < 300) return 'bye';
  return 'noise';
}

const sameDialog = (a: Tx, b: Tx) => a.callid === b.callid && ((a.fromTag === b.fromTag && a.toTag === b.toTag) || (a.fromTag === b.toTag && a.toTag === b.fromTag));

const at = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');

function leg(invite: Tx, end: Tx | null, ctx: AdapterContext): NormalisedLeg {
  const v = invite.values;
  const calling = party(col(v, 'src_user'), ctx);
  const called = party(col(v, 'dst_ouser', 'dst_user'), ctx);
  const direction = kamailioDirection(col(v, 'calltype'));
  const answered = end !== null;
  return {
    legKey: `${invite.callid}|${invite.fromTag}`,
    callId: invite.callid,
    callingNumber: calling.e164,
    calledNumber: called.e164,
    rawCalling: calling.raw,
    rawCalled: called.raw,
    startMs: invite.timeMs,
    answerMs: answered ? invite.timeMs : null,
    endMs: answered ? end.timeMs : invite.timeMs,
    billableSeconds: answered ? ceilSeconds(end.timeMs - invite.timeMs) : 0,
    answered,
    disposition: answered ? 'answered' : sipDisposition(invite.code),
    switchCause: String(invite.code),
    ...(direction ? { platformDirection: direction } : {}),
    trunk: col(v, 'dst_gwgroupid') || null,
    redirectingNumber: null,
    accountCode: null,
    ...sipDomainOf(v),
  };
}

export function parseKamailioAcc(body: string, contentType: string | undefined, ctx: AdapterContext): AdapterResult {
  assertTimeZone(ctx);
  const rows = readKamailioRows(body, contentType, 'kamailio-acc', [['method'], ['callid', 'call_id'], ['sip_code', 'code'], ['time', 'timestamp'], ['from_tag']]);
  const records: RecordOutcome[] = new Array(rows.length);
  const txs: Array<{ tx: Tx; kind: Kind }> = [];
  for (const row of rows) {
    if (row.values === null) {
      records[row.index] = { ok: false, index: row.index, raw: row.raw, error: row.error ?? `${row.where}: unreadable row` };
      continue;
    }
    try {
      const tx = transaction(row, ctx);
      txs.push({ tx, kind: kindOf(tx) });
    } catch (err) {
      records[row.index] = { ok: false, index: row.index, raw: row.raw, error: `${row.where}: ${(err as Error).message}` };
    }
  }

  // Indexed by callid: a post may hold thousands of transactions.
  const byCallid = new Map<string, Array<{ tx: Tx; kind: Kind }>>();
  for (const t of txs) {
    const list = byCallid.get(t.tx.callid);
    if (list) list.push(t);
    else byCallid.set(t.tx.callid, [t]);
  }
  const usedByes = new Set<Tx>();
  const answeredDialogs = new Map<string, Tx[]>();
  for (const { tx, kind } of txs) {
    const { row } = tx;
    if (kind === 'noise' || kind === 'bye') continue;
    if (kind === 'failed') {
      records[row.index] = outcome(row.index, row.raw, () => [leg(tx, null, ctx)], row.where);
      continue;
    }
    // INVITE 2xx
    const sameCall = byCallid.get(tx.callid) ?? [];
    const earlier = answeredDialogs.get(tx.callid) ?? [];
    if (earlier.some((d) => sameDialog(d, tx))) {
      records[row.index] = { ok: true, index: row.index, raw: row.raw, legs: [] }; // re-INVITE inside a dialog
      continue;
    }
    answeredDialogs.set(tx.callid, [...earlier, tx]);
    const candidates = sameCall.filter((t) => t.kind === 'bye' && !usedByes.has(t.tx) && sameDialog(t.tx, tx)).map((t) => t.tx);
    let bye = candidates.find((b) => b.timeMs >= tx.timeMs) ?? candidates[0];
    if (!bye) {
      // Only failed BYEs (481/408: the dialog was already gone): the call ended no later than the
      // first of them. Billing to it, as dSIPRouter's own CDRs do, beats leaving a real call unbilled.
      bye = sameCall
        .filter((t) => t.tx.method === 'BYE' && t.kind !== 'bye' && sameDialog(t.tx, tx) && t.tx.timeMs >= tx.timeMs)
        .map((t) => t.tx)
        .sort((a, b) => a.timeMs - b.timeMs)[0];
    }
    if (!bye) {
      const failedByes = sameCall.filter((t) => t.tx.method === 'BYE' && t.kind !== 'bye' && sameDialog(t.tx, tx)).map((t) => `BYE ${t.tx.code} at ${at(t.tx.timeMs)}`);
      records[row.index] = {
        ok: false,
        index: row.index,
        raw: row.raw,
        error:
          `${row.where}: INVITE ${tx.code} of callid ${tx.callid} (from_tag ${tx.fromTag}, ${at(tx.timeMs)}) has no BYE 2xx in this post` +
          (failedByes.length ? ` (only ${failedByes.join(', ')})` : '') +
          '; the call cannot be closed here: pairing with a BYE from another post is left to intake',
        ...(row.values ? { awaiting: { key: tx.callid, record: row.values } } : {}),
      };
      continue;
    }
    usedByes.add(bye);
    records[row.index] = outcome(row.index, row.raw, () => {
      if (bye.timeMs < tx.timeMs) throw new RecordError(`the BYE of callid ${tx.callid} (${bye.row.where}, ${at(bye.timeMs)}) is before its INVITE 200 (${at(tx.timeMs)})`);
      return [leg(tx, bye, ctx)];
    }, row.where);
  }

  for (const { tx, kind } of txs) {
    const { row } = tx;
    if (records[row.index]) continue;
    if (kind === 'bye' && !usedByes.has(tx)) {
      records[row.index] = {
        ok: false,
        index: row.index,
        raw: row.raw,
        error: `${row.where}: BYE ${tx.code} of callid ${tx.callid} (tags ${tx.fromTag} / ${tx.toTag}, ${at(tx.timeMs)}) has no INVITE 2xx in this post; pairing with an INVITE from another post is left to intake`,
        ...(row.values ? { awaiting: { key: tx.callid, record: row.values } } : {}),
      };
    } else {
      records[row.index] = { ok: true, index: row.index, raw: row.raw, legs: [] };
    }
  }
  return { records };
}

export const kamailioAcc: MediationAdapter = { format: 'kamailio-acc', parse: parseKamailioAcc };
