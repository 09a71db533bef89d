/**
 * What mod_json_cdr and mod_xml_cdr have in common: one document per channel (leg), the same
 * variables and callflow profiles (docs/CDR-FORMATS.md section 1). The two format files turn their
 * syntax into an FsCdr; this file turns an FsCdr into a NormalisedLeg.
 */
import type { AdapterContext, NormalisedLeg } from '../legs/leg';
import { freeswitchDisposition } from './disposition';
import { ceilSeconds, fail, isFormContentType, isPlainObject, MediationError, parseCount, parseLocalDateTime, party, type Party, urlDecode } from './common';
import { domainName } from './kamailio-rows';

export interface FsCallflow {
  profileIndex: number | null;
  /** caller_profile scalar fields (username, caller_id_number, destination_number, rdnis, uuid, ...). */
  profile: Record<string, string>;
  /** uuids in caller_profile.originator: this leg was originated by (bridged from) that leg. */
  originatorUuids: string[];
  /** uuids in caller_profile.originatee: this leg originated (bridged to) those legs. */
  originateeUuids: string[];
  /** times{} (µs since the epoch, "0" = never). */
  times: Record<string, string>;
}

export interface FsCdr {
  /** variables{}, values already URL-decoded. */
  variables: Record<string, string>;
  /** channel_data.direction. */
  channelDirection: string | undefined;
  /** Top-level "uuid" (mod_json_cdr adds it). */
  topUuid: string | undefined;
  /** Newest profile first. */
  callflows: FsCallflow[];
}

/** A scalar as text (XML text nodes may come as { '#text': ... }); anything else gives undefined. */
export function fsText(value: unknown): string | undefined {
  if (typeof value === 'string') return urlDecode(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) {
    for (const v of value) {
      const t = fsText(v);
      if (t !== undefined) return t;
    }
    return undefined;
  }
  if (isPlainObject(value) && '#text' in value) return fsText(value['#text']);
  if (isPlainObject(value) && Object.keys(value).every((k) => k.startsWith('@_'))) return ''; // <e/> with attributes only
  return undefined;
}

export function fsScalars(node: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!isPlainObject(node)) return out;
  for (const [k, v] of Object.entries(node)) {
    if (k.startsWith('@_')) continue;
    const t = fsText(v);
    if (t !== undefined) out[k] = t;
  }
  return out;
}

/** Every caller-profile uuid under an originator / originatee node, whatever its nesting. */
export function profileUuids(node: unknown, depth = 0): string[] {
  if (depth > 4) return [];
  if (Array.isArray(node)) return node.flatMap((n) => profileUuids(n, depth + 1));
  if (!isPlainObject(node)) return [];
  const own = fsText(node['uuid']);
  if (own) return [own];
  return Object.entries(node)
    .filter(([k]) => !k.startsWith('@_'))
    .flatMap(([, v]) => profileUuids(v, depth + 1));
}

export function fsCallflow(node: unknown): FsCallflow | null {
  if (!isPlainObject(node)) return null;
  const cp = node['caller_profile'];
  const cpObj = Array.isArray(cp) ? cp[0] : cp;
  const idx = fsText(node['profile_index']) ?? fsText(node['@_profile_index']);
  const n = idx !== undefined ? parseCount(idx) : null;
  return {
    profileIndex: n,
    profile: fsScalars(cpObj),
    originatorUuids: isPlainObject(cpObj) ? profileUuids(cpObj['originator']) : [],
    originateeUuids: isPlainObject(cpObj) ? profileUuids(cpObj['originatee']) : [],
    times: fsScalars(isPlainObject(node['times']) ? node['times'] : Array.isArray(node['times']) ? node['times'][0] : undefined),
  };
}

/** Newest profile first (highest profile_index), whatever order the document had. */
export function sortCallflows(flows: FsCallflow[]): FsCallflow[] {
  return flows
    .map((f, i) => ({ f, i }))
    .sort((a, b) => {
      if (a.f.profileIndex !== null && b.f.profileIndex !== null && a.f.profileIndex !== b.f.profileIndex) return b.f.profileIndex - a.f.profileIndex;
      return a.i - b.i;
    })
    .map((x) => x.f);
}

const nonEmpty = (...values: Array<string | undefined>): string | undefined => values.find((v) => v !== undefined && v.trim() !== '');

/** µs / s / local stamp for one of start, answer, end; null when it never happened, undefined when absent. */
function instant(v: Record<string, string>, base: 'start' | 'answer' | 'end', timeZone: string): number | null | undefined {
  const us = v[`${base}_uepoch`];
  if (us !== undefined && us.trim() !== '') {
    const n = parseCount(us);
    if (n === null) fail(`variables.${base}_uepoch "${us}" is not a whole number of microseconds`);
    return n > 0 ? Math.floor(n / 1000) : null;
  }
  const s = v[`${base}_epoch`];
  if (s !== undefined && s.trim() !== '') {
    const n = parseCount(s);
    if (n === null) fail(`variables.${base}_epoch "${s}" is not a whole number of seconds`);
    return n > 0 ? n * 1000 : null;
  }
  const stamp = v[`${base}_stamp`];
  if (stamp !== undefined && stamp.trim() !== '') {
    const ms = parseLocalDateTime(stamp, timeZone);
    if (ms === null) fail(`variables.${base}_stamp "${stamp}" is not a YYYY-MM-DD HH:MM:SS time`);
    return ms;
  }
  return undefined; // not present at all: the caller tries the callflow times
}

function callflowTime(flows: FsCallflow[], name: string, pick: 'oldest' | 'newest'): number | null {
  const ordered = pick === 'newest' ? flows : [...flows].reverse();
  for (const f of ordered) {
    const n = parseCount(f.times[name]);
    if (n !== null && n > 0) return Math.floor(n / 1000);
  }
  return null;
}

/**
 * The call a leg belongs to, the same for the A-leg and every B-leg when each CDR is read alone:
 * the uuid of the leg that originated the bridge (the A-leg). call_uuid is not used: after
 * uuid_bridge it names the other leg (docs/CDR-FORMATS.md section 1).
 *  1. the newest callflow profile that names a partner decides: `originator` profiles -> this leg
 *     was originated by that uuid; `originatee` profiles -> this leg is the originator.
 *  2. last_bridge_role originatee -> the partner (last_bridge_to / bridge_uuid / signal_bond);
 *     originator -> this leg.
 *  3. originating_leg_uuid (set on B-legs by originate).
 *  4. an inbound channel is an A-leg -> this leg.
 *  5. an outbound channel with a partner (bridge_uuid / signal_bond / last_bridge_to) -> the partner.
 *  6. otherwise this leg.
 */
export function fsCallId(uuid: string, cdr: FsCdr, direction: string | undefined): string {
  for (const f of cdr.callflows) {
    const originator = f.originatorUuids.find((u) => u !== uuid);
    if (originator) return originator;
    if (f.originateeUuids.some((u) => u !== uuid)) return uuid;
  }
  const v = cdr.variables;
  const partner = nonEmpty(v['last_bridge_to'], v['bridge_uuid'], v['signal_bond']);
  const role = v['last_bridge_role'];
  if (role === 'originatee' && partner) return partner;
  if (role === 'originator') return uuid;
  const originating = nonEmpty(v['originating_leg_uuid']);
  if (originating) return originating;
  if (direction === 'inbound') return uuid;
  if (partner) return partner;
  return uuid;
}

function gatewayOf(v: Record<string, string>): string | null {
  const gw = nonEmpty(v['sip_gateway_name'], v['sip_gateway']);
  if (gw) return gw.trim();
  const m = /^sofia\/gateway\/([^/]+)\//.exec(v['channel_name'] ?? '');
  return m?.[1] ?? null;
}

/**
 * Where the calling number is looked for, in this order (docs/CDR-FORMATS.md, section 1). The first
 * field that is a telephone number wins: a caller_id_number that is a SIP user name ("dan") or an
 * extension does not stop the search, since the same record usually carries the user's number in
 * effective_caller_id_number (set by the dialplan for calls out) or in the From user.
 *  - inbound channel (what the caller sent): caller_profile.caller_id_number,
 *    caller_id_number, effective_caller_id_number, sip_from_user, caller_profile.ani;
 *  - outbound channel: sip_from_user, origination_caller_id_number, caller_profile.ani,
 *    effective_caller_id_number. Never its caller_id_number: FreeSWITCH rewrites an outbound
 *    channel's caller_id_* to the callee ("Outbound Call" <dialled number>).
 * When no field is a number, the first non-empty one is kept as sent (rawCalling), with no
 * E.164 number: such a leg cannot be matched by number and is stored unrated with the reason.
 */
export function fsCallingFields(v: Record<string, string>, profile: Record<string, string>, direction: string | undefined): Array<[string, string | undefined]> {
  return direction === 'outbound'
    ? [
        ['sip_from_user', v['sip_from_user']],
        ['origination_caller_id_number', v['origination_caller_id_number']],
        ['caller_profile.ani', profile['ani']],
        ['effective_caller_id_number', v['effective_caller_id_number']],
      ]
    : [
        ['caller_profile.caller_id_number', profile['caller_id_number']],
        ['caller_id_number', v['caller_id_number']],
        ['effective_caller_id_number', v['effective_caller_id_number']],
        ['sip_from_user', v['sip_from_user']],
        ['caller_profile.ani', profile['ani']],
      ];
}

function firstNumber(fields: Array<[string, string | undefined]>, ctx: AdapterContext): Party {
  let first: Party | null = null;
  for (const [, value] of fields) {
    if (value === undefined || value.trim() === '') continue;
    const p = party(value, ctx);
    if (p.e164 !== null) return p;
    first ??= p;
  }
  return first ?? party('', ctx);
}

export function fsLeg(cdr: FsCdr, ctx: AdapterContext): NormalisedLeg {
  const v = cdr.variables;
  const newest = cdr.callflows[0];
  const oldest = cdr.callflows[cdr.callflows.length - 1];
  const uuid = nonEmpty(v['uuid'], cdr.topUuid, newest?.profile['uuid']);
  if (!uuid) fail('the CDR has no variables.uuid: the leg cannot be identified');

  const dirText = (cdr.channelDirection ?? v['direction'] ?? '').trim().toLowerCase();
  const direction = dirText === 'inbound' || dirText === 'outbound' ? dirText : undefined;

  let startMs = instant(v, 'start', ctx.timeZone);
  if (startMs === undefined) startMs = callflowTime(cdr.callflows, 'created_time', 'oldest');
  if (startMs === null) fail(`leg ${uuid}: no start time (start_uepoch, start_epoch or start_stamp)`);
  let answerMs = instant(v, 'answer', ctx.timeZone);
  if (answerMs === undefined) answerMs = callflowTime(cdr.callflows, 'answered_time', 'oldest');
  let endMs = instant(v, 'end', ctx.timeZone);
  if (endMs === undefined) endMs = callflowTime(cdr.callflows, 'hangup_time', 'newest');
  if (endMs !== null && endMs < startMs) fail(`leg ${uuid}: end ${new Date(endMs).toISOString()} is before start ${new Date(startMs).toISOString()}`);
  const answered = answerMs !== null;

  let billableSeconds = 0;
  if (answered) {
    const billsec = parseCount(v['billsec']);
    const billmsec = parseCount(v['billmsec']);
    if (v['billsec'] !== undefined && v['billsec'].trim() !== '' && billsec === null) fail(`leg ${uuid}: billsec "${v['billsec']}" is not a whole number`);
    if (billsec !== null && billsec > 0) billableSeconds = billsec;
    else if (billmsec !== null && billmsec > 0) billableSeconds = ceilSeconds(billmsec);
    else if (billsec === null && endMs !== null && answerMs !== null) billableSeconds = ceilSeconds(endMs - answerMs);
  }

  // Parties: the calling number from the first of its fields that is a number (fsCallingFields).
  const p = oldest?.profile ?? {};
  const pNew = newest?.profile ?? {};
  const callingParty = firstNumber(fsCallingFields(v, p, direction), ctx);
  const called =
    direction === 'outbound'
      ? nonEmpty(p['destination_number'], v['sip_to_user'], v['sip_req_user'], v['destination_number'])
      : nonEmpty(p['destination_number'], v['destination_number'], v['sip_req_user'], v['sip_to_user']);
  const calledParty = party(called, ctx);
  const rdnis = nonEmpty(pNew['rdnis'], ...cdr.callflows.map((f) => f.profile['rdnis']), v['rdnis'], v['sip_rdnis']);
  // The SIP domain of a hosted PBX's extensions and user names (its directory domain, else the From host).
  const domain = domainName(nonEmpty(v['domain_name'], v['sip_from_host']));

  return {
    legKey: uuid,
    callId: fsCallId(uuid, cdr, direction),
    callingNumber: callingParty.e164,
    calledNumber: calledParty.e164,
    rawCalling: callingParty.raw,
    rawCalled: calledParty.raw,
    startMs,
    answerMs,
    endMs,
    billableSeconds,
    answered,
    disposition: answered ? 'answered' : freeswitchDisposition(v['hangup_cause'], v['hangup_cause_q850']),
    switchCause: nonEmpty(v['hangup_cause'], v['hangup_cause_q850'])?.trim() ?? null,
    ...(direction ? { platformDirection: direction } : {}),
    trunk: gatewayOf(v),
    redirectingNumber: rdnis ? party(rdnis, ctx).e164 : null,
    accountCode: nonEmpty(v['accountcode'])?.trim() ?? null,
    ...(domain ? { domain } : {}),
  };
}

/**
 * mod_json_cdr / mod_xml_cdr with encode=true post `cdr=<url-encoded document>` as a form; the
 * document is the `cdr` field. Anything else is the document itself.
 */
export function fsUnwrapForm(body: string, contentType: string | undefined, what: string): string {
  const form = isFormContentType(contentType) || /^\s*cdr=/.test(body);
  if (!form) return body;
  const cdr = new URLSearchParams(body.trim()).get('cdr');
  if (cdr === null) throw new MediationError(`${what}: the form body has no "cdr" field`);
  return cdr;
}
