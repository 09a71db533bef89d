import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import type { AdapterContext, AdapterResult, NormalisedLeg } from '../../src/domain/legs/leg';
import { ADAPTERS, MediationError, parseFreeswitchJson } from '../../src/domain/mediation';

const FIXTURES = path.resolve(__dirname, '../fixtures/cdr');
const read = (name: string) => fs.readFileSync(path.join(FIXTURES, 'freeswitch', name), 'utf8');

// The somleng switch wrote its *_stamp values equal to UTC (start_stamp 08:50:03 = start_epoch), so
// its zone is UTC; numbers are Cambodian (+855).
const ctx: AdapterContext = { timeZone: 'UTC', countryCode: '855' };

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

function legsOf(result: AdapterResult): NormalisedLeg[] {
  return result.records.flatMap((r) => {
    assert.ok(r.ok, r.ok ? '' : `record ${r.index} refused: ${r.error}`);
    return r.legs;
  });
}

function onlyLeg(name: string, c: AdapterContext = ctx): NormalisedLeg {
  const legs = legsOf(parseFreeswitchJson(read(name), 'application/json', c));
  assert.equal(legs.length, 1);
  return legs[0] as NormalisedLeg;
}

/** The leg with times as ISO strings, for readable exact comparisons. */
const view = (l: NormalisedLeg) => ({ ...l, startMs: iso(l.startMs), answerMs: iso(l.answerMs), endMs: iso(l.endMs) });

describe('freeswitch-json: the somleng fixtures', () => {
  test('inbound leg, answered: 4 s in the channel, 3 s billable (billsec)', () => {
    assert.deepEqual(view(onlyLeg('somleng_freeswitch_cdr.json')), {
      legKey: '77e3b4f2-cac1-4724-81f6-f1cd5e01770c',
      callId: '77e3b4f2-cac1-4724-81f6-f1cd5e01770c',
      callingNumber: '+85516234567',
      // "1294" is a short code, not a phone number: kept raw, nothing to match or rate by.
      calledNumber: null,
      rawCalling: '+85516234567', // sent URL-encoded as %2B85516234567 in variables; the profile has it plain
      rawCalled: '1294',
      startMs: '2022-07-06T08:50:03.370Z',
      answerMs: '2022-07-06T08:50:04.230Z',
      endMs: '2022-07-06T08:50:07.610Z',
      billableSeconds: 3,
      answered: true,
      disposition: 'answered',
      switchCause: 'NORMAL_UNSPECIFIED',
      platformDirection: 'inbound',
      trunk: null,
      redirectingNumber: null,
      accountCode: null,
    });
  });

  test('outbound leg not answered (NO_USER_RESPONSE): 0 billable; an over-long number gives null but is kept raw', () => {
    assert.deepEqual(view(onlyLeg('somleng_freeswitch_cdr_outbound.json')), {
      legKey: 'cc709c52-fd5c-49eb-91db-4d6951d35d32',
      callId: 'cc709c52-fd5c-49eb-91db-4d6951d35d32',
      // On an outbound channel caller_id_number is the callee ("Outbound Call" <6998050496961447>);
      // the number presented is the From user, %2B50222787192 URL-decoded.
      callingNumber: '+50222787192',
      calledNumber: null,
      rawCalling: '+50222787192',
      rawCalled: '6998050496961447',
      startMs: '2022-07-06T09:22:31.150Z',
      answerMs: null,
      endMs: '2022-07-06T09:23:50.149Z',
      billableSeconds: 0,
      answered: false,
      disposition: 'no_answer',
      switchCause: 'NO_USER_RESPONSE',
      platformDirection: 'outbound',
      trunk: null,
      redirectingNumber: null,
      accountCode: null,
    });
  });

  test('2016 inbound call cancelled by the caller (ORIGINATOR_CANCEL)', () => {
    const leg = view(onlyLeg('somleng_2016_freeswitch_cdr.json'));
    assert.deepEqual(leg, {
      legKey: '1b17f1e5-becb-4daa-8cb8-1ec822dd4297',
      callId: '1b17f1e5-becb-4daa-8cb8-1ec822dd4297',
      callingNumber: null, // extension 1234
      // 85595975802 has no + or 00, so normaliseE164 treats it as national (see the report).
      calledNumber: '+85585595975802',
      rawCalling: '1234',
      rawCalled: '85595975802',
      startMs: '2016-09-20T09:15:23.276Z',
      answerMs: null,
      endMs: '2016-09-20T09:15:24.396Z',
      billableSeconds: 0,
      answered: false,
      disposition: 'cancelled',
      switchCause: 'ORIGINATOR_CANCEL',
      platformDirection: 'inbound',
      trunk: null,
      redirectingNumber: null,
      accountCode: null,
    });
  });

  test('A-leg and B-leg of one uuid_bridge call: same callId, their own legKeys and times', () => {
    const a = onlyLeg('somleng_freeswitch_cdr_leg_a_with_joined_by_leg_b.json');
    const b = onlyLeg('somleng_freeswitch_cdr_leg_b.json');
    assert.equal(a.legKey, '7bfa8442-8fa2-4daa-bf10-6be79c9a07f6');
    assert.equal(b.legKey, '21bc47f2-250c-4d98-a157-0ad756d54027');
    // Both CDRs name 21bc... as the originator of the bridge (leg A's newest callflow has it as
    // `originator`, leg B's has 7bfa... as `originatee`), so both legs carry that id.
    assert.equal(a.callId, b.callId);
    assert.equal(a.callId, '21bc47f2-250c-4d98-a157-0ad756d54027');
    assert.deepEqual(
      [view(a), view(b)].map((l) => [l.callingNumber, l.calledNumber, l.rawCalled, l.startMs, l.answerMs, l.endMs, l.billableSeconds, l.answered, l.platformDirection, l.disposition, l.switchCause]),
      [
        [null, '+855715100860', '0715100860', '2021-06-27T11:33:51.053Z', '2021-06-27T11:34:00.273Z', '2021-06-27T11:34:08.693Z', 8, true, 'outbound', 'answered', 'NORMAL_CLEARING'],
        [null, null, '1234', '2021-06-27T11:34:02.833Z', '2021-06-27T11:34:03.193Z', '2021-06-27T11:34:08.713Z', 5, true, 'outbound', 'answered', 'NORMAL_CLEARING'],
      ],
    );
  });

  test('parsing twice gives the same keys (idempotent re-post)', () => {
    for (const name of fs.readdirSync(path.join(FIXTURES, 'freeswitch')).filter((f) => f.endsWith('.json'))) {
      const once = legsOf(parseFreeswitchJson(read(name), undefined, ctx)).map((l) => [l.legKey, l.callId]);
      const twice = legsOf(parseFreeswitchJson(read(name), undefined, ctx)).map((l) => [l.legKey, l.callId]);
      assert.deepEqual(once, twice, name);
    }
  });
});

describe('freeswitch-json: delivery forms', () => {
  const names = [
    'somleng_freeswitch_cdr.json',
    'somleng_freeswitch_cdr_outbound.json',
    'somleng_2016_freeswitch_cdr.json',
    'somleng_freeswitch_cdr_leg_a_with_joined_by_leg_b.json',
    'somleng_freeswitch_cdr_leg_b.json',
  ];

  test('a form body cdr=<url-encoded JSON> (encode=true) gives the same leg as the raw JSON', () => {
    for (const name of names) {
      const form = `cdr=${encodeURIComponent(read(name))}`;
      assert.deepEqual(legsOf(parseFreeswitchJson(form, 'application/x-www-form-urlencoded', ctx)), legsOf(parseFreeswitchJson(read(name), 'application/json', ctx)), name);
    }
  });

  test('a JSON array is a batch: one record per CDR, raw = that CDR', () => {
    const docs = names.map((n) => JSON.parse(read(n)) as unknown);
    const result = parseFreeswitchJson(JSON.stringify(docs), 'application/json', ctx);
    assert.equal(result.records.length, 5);
    assert.deepEqual(result.records.map((r) => r.index), [0, 1, 2, 3, 4]);
    assert.deepEqual(JSON.parse((result.records[3] as { raw: string }).raw), docs[3]);
    assert.deepEqual(legsOf(result).map((l) => l.legKey), names.map((n) => onlyLeg(n).legKey));
  });

  test('in a batch, a CDR without variables is refused alone', () => {
    const docs = [JSON.parse(read('somleng_freeswitch_cdr.json')), { 'core-uuid': 'x', channel_data: { direction: 'inbound' } }, 'nonsense'];
    const result = parseFreeswitchJson(JSON.stringify(docs), undefined, ctx);
    assert.equal(result.records[0]?.ok, true);
    assert.deepEqual(result.records.slice(1).map((r) => (r.ok ? 'ok' : r.error)), ['the CDR has no "variables" object', 'expected a CDR object, got string']);
  });

  test('invalid JSON is refused as a whole with its line and column', () => {
    const broken = read('somleng_freeswitch_cdr.json').replace('"direction": "inbound",', '"direction": "inbound"');
    assert.throws(
      () => parseFreeswitchJson(broken, 'application/json', ctx),
      (err: unknown) => err instanceof MediationError && /^freeswitch-json: not valid JSON at line \d+, column \d+/.test(err.message) && typeof err.line === 'number',
    );
    assert.throws(() => parseFreeswitchJson('', undefined, ctx), /the body is empty/);
    assert.throws(() => parseFreeswitchJson('uuid=1', 'application/x-www-form-urlencoded', ctx), /the form body has no "cdr" field/);
  });

  test('the index maps the format name to this adapter', () => {
    assert.equal(ADAPTERS['freeswitch-json'].parse, parseFreeswitchJson);
  });
});

describe('freeswitch-json: rules on synthetic CDRs', () => {
  const base = () => JSON.parse(read('somleng_freeswitch_cdr.json')) as { variables: Record<string, string>; callflow: unknown[]; channel_data: Record<string, string> };
  const one = (doc: unknown, c: AdapterContext = ctx) => {
    const r = parseFreeswitchJson(JSON.stringify(doc), undefined, c).records[0];
    assert.ok(r);
    return r;
  };

  test('the directory domain (domain_name, else the From host) goes with the leg for extensions and user names; an address is not a domain', () => {
    // A hosted PBX's extension-to-extension call, written inline.
    const cdr = (over: Record<string, string>) => ({
      variables: {
        uuid: 'ext-1', direction: 'inbound', start_epoch: '1735725600', answer_epoch: '1735725602', end_epoch: '1735725662', billsec: '60',
        caller_id_number: '1001', destination_number: '1002', hangup_cause: 'NORMAL_CLEARING', ...over,
      },
      callflow: [],
    });
    const domainOf = (over: Record<string, string>) => {
      const r = one(cdr(over));
      assert.ok(r.ok, r.ok ? '' : r.error);
      return [r.legs[0]?.rawCalling, r.legs[0]?.rawCalled, r.legs[0]?.domain];
    };
    assert.deepEqual(domainOf({ domain_name: 'PBX.Tenant.example', sip_from_host: 'other.example' }), ['1001', '1002', 'pbx.tenant.example']);
    assert.deepEqual(domainOf({ sip_from_host: 'pbx.tenant.example:5060' }), ['1001', '1002', 'pbx.tenant.example']);
    assert.deepEqual(domainOf({ sip_from_host: '192.0.2.10' }), ['1001', '1002', undefined]);
  });

  test('billsec 0 with billmsec > 0 is rounded up to whole seconds', () => {
    const doc = base();
    Object.assign(doc.variables, { billsec: '0', billmsec: '420' });
    const r = one(doc);
    assert.ok(r.ok);
    assert.equal(r.legs[0]?.billableSeconds, 1);
  });

  test('without epochs the local *_stamp values are read in the platform zone', () => {
    const doc = base();
    for (const k of Object.keys(doc.variables)) if (/_u?epoch$/.test(k)) delete doc.variables[k];
    doc.callflow = [];
    const utc = one(doc);
    assert.ok(utc.ok);
    assert.equal(iso(utc.legs[0]!.startMs), '2022-07-06T08:50:03.000Z');
    const phnomPenh = one(doc, { timeZone: 'Asia/Phnom_Penh', countryCode: '855' });
    assert.ok(phnomPenh.ok);
    assert.equal(iso(phnomPenh.legs[0]!.startMs), '2022-07-06T01:50:03.000Z');
    assert.equal(iso(phnomPenh.legs[0]!.answerMs), '2022-07-06T01:50:04.000Z');
  });

  test('a CDR with no uuid or no start is refused with a reason', () => {
    const noUuid = base();
    delete noUuid.variables['uuid'];
    const r1 = one({ ...noUuid, uuid: undefined, callflow: [] });
    assert.equal(r1.ok ? '' : r1.error, 'the CDR has no variables.uuid: the leg cannot be identified');
    const noStart = base();
    for (const k of ['start_epoch', 'start_uepoch', 'start_stamp']) delete noStart.variables[k];
    noStart.callflow = [];
    const r = one(noStart);
    assert.match(r.ok ? '' : r.error, /no start time/);
  });

  test('a classic A-leg / B-leg bridge: the B-leg points at the A-leg, both get the A-leg uuid', () => {
    const A = 'aaaaaaaa-0000-0000-0000-000000000001';
    const B = 'bbbbbbbb-0000-0000-0000-000000000002';
    const times = { start_epoch: '1714570200', start_uepoch: '1714570200000000', answer_epoch: '1714570207', answer_uepoch: '1714570207500000', end_epoch: '1714570452', end_uepoch: '1714570452000000', billsec: '245' };
    const aLeg = {
      channel_data: { direction: 'inbound' },
      variables: { uuid: A, ...times, hangup_cause: 'NORMAL_CLEARING', bridge_uuid: B, last_bridge_role: 'originator', accountcode: 'cust-42' },
      callflow: [{ profile_index: '1', caller_profile: { caller_id_number: '2125550100', destination_number: '+442071234567', uuid: A, originatee: { originatee_caller_profiles: [{ uuid: B }] } } }],
    };
    const bLeg = {
      channel_data: { direction: 'outbound' },
      variables: { uuid: B, ...times, hangup_cause: 'NORMAL_CLEARING', sip_from_user: '%2B12125550100', sip_gateway_name: 'carrier-a', bridge_uuid: A },
      callflow: [{ profile_index: '1', caller_profile: { caller_id_number: 'Outbound Call', destination_number: '011442071234567', uuid: B, originator: { originator_caller_profiles: [{ uuid: A }] } } }],
    };
    const us = { timeZone: 'America/New_York', countryCode: '1' };
    const a = one(aLeg, us);
    const b = one(bLeg, us);
    assert.ok(a.ok && b.ok);
    assert.equal(a.legs[0]!.callId, A);
    assert.equal(b.legs[0]!.callId, A);
    assert.equal(a.legs[0]!.callingNumber, '+12125550100');
    assert.equal(a.legs[0]!.accountCode, 'cust-42');
    assert.equal(b.legs[0]!.trunk, 'carrier-a');
    assert.equal(b.legs[0]!.callingNumber, '+12125550100');
    assert.equal(b.legs[0]!.calledNumber, '+442071234567');
    assert.equal(b.legs[0]!.billableSeconds, 245);

    // Without callflow profiles, last_bridge_role decides.
    const bare = (doc: typeof bLeg, role: string) => ({ ...doc, callflow: [], variables: { ...doc.variables, last_bridge_role: role } });
    const b2 = one(bare(bLeg, 'originatee'), us);
    assert.ok(b2.ok);
    assert.equal(b2.legs[0]!.callId, A);
    // And with nothing but the partner, an outbound leg follows bridge_uuid, an inbound one keeps its own.
    const b3 = one({ ...bLeg, callflow: [] }, us);
    const a3 = one({ ...aLeg, callflow: [], variables: { ...aLeg.variables, last_bridge_role: '' } }, us);
    assert.ok(b3.ok && a3.ok);
    assert.equal(b3.legs[0]!.callId, A);
    assert.equal(a3.legs[0]!.callId, A);
  });
});

describe('freeswitch-json: the calling number when caller_id_number is a user name', () => {
  const us: AdapterContext = { timeZone: 'UTC', countryCode: '1' };
  const times = { start_epoch: '1714570200', answer_epoch: '1714570207', end_epoch: '1714570452', billsec: '245', hangup_cause: 'NORMAL_CLEARING' };
  const leg = (direction: 'inbound' | 'outbound', variables: Record<string, string>, profile: Record<string, string> = {}) => {
    const doc = { channel_data: { direction }, variables: { uuid: 'u-dan', ...times, ...variables }, callflow: [{ profile_index: '1', caller_profile: { destination_number: '+442071234567', ...profile } }] };
    const r = parseFreeswitchJson(JSON.stringify(doc), undefined, us).records[0];
    assert.ok(r?.ok, r && !r.ok ? r.error : 'no record');
    return r.legs[0] as NormalisedLeg;
  };
  const calling = (l: NormalisedLeg) => [l.callingNumber, l.rawCalling];

  test('inbound "dan": the number is taken from effective_caller_id_number', () => {
    assert.deepEqual(calling(leg('inbound', { caller_id_number: 'dan', effective_caller_id_number: '+12125550100', sip_from_user: 'dan' }, { caller_id_number: 'dan', ani: 'dan' })), ['+12125550100', '+12125550100']);
  });

  test('inbound "dan" with no effective caller id: the From user, then the ANI, in that order', () => {
    assert.deepEqual(calling(leg('inbound', { caller_id_number: 'dan', sip_from_user: '2125550111' }, { caller_id_number: 'dan', ani: '2125550122' })), ['+12125550111', '2125550111']);
    assert.deepEqual(calling(leg('inbound', { caller_id_number: 'dan', sip_from_user: 'dan' }, { caller_id_number: 'dan', ani: '2125550122' })), ['+12125550122', '2125550122']);
  });

  test('a caller_id_number that is a number is used as before, even when later fields hold another', () => {
    assert.deepEqual(calling(leg('inbound', { effective_caller_id_number: '+12125550199' }, { caller_id_number: '2125550100' })), ['+12125550100', '2125550100']);
  });

  test('an extension (short digits) is not a number either: the search goes on', () => {
    assert.deepEqual(calling(leg('inbound', { effective_caller_id_number: '+12125550100' }, { caller_id_number: '1001' })), ['+12125550100', '+12125550100']);
  });

  test('no field is a number: the user name is kept as sent, with no E.164 number', () => {
    assert.deepEqual(calling(leg('inbound', { caller_id_number: 'dan', sip_from_user: 'dan' }, { caller_id_number: 'dan', ani: 'dan' })), [null, 'dan']);
  });

  test('outbound "dan" in the From user: origination caller id, ANI, effective caller id; never caller_id_number (the callee)', () => {
    assert.deepEqual(calling(leg('outbound', { sip_from_user: 'dan', effective_caller_id_number: '+12125550100' }, { caller_id_number: '+442071234567' })), ['+12125550100', '+12125550100']);
    assert.deepEqual(calling(leg('outbound', { sip_from_user: 'dan', origination_caller_id_number: '2125550133', effective_caller_id_number: '+12125550100' })), ['+12125550133', '2125550133']);
    assert.deepEqual(calling(leg('outbound', { sip_from_user: 'dan' }, { caller_id_number: '+442071234567' })), [null, 'dan']);
  });
});
