import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { stringify } from 'csv-stringify/sync';
import type { AdapterContext, AdapterResult, NormalisedLeg, RecordOutcome } from '../../src/domain/legs/leg';
import { ADAPTERS, MediationError, parseKamailioAcc } from '../../src/domain/mediation';
import { dumpObjects } from '../fixtures/cdr/sql-dump';

const FIXTURES = path.resolve(__dirname, '../fixtures/cdr');
const sql = fs.readFileSync(path.join(FIXTURES, 'kamailio', 'dsiprouter-acc-cdrs-dump.sql'), 'utf8');
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

// The dump was taken with TIME_ZONE='+00:00' and its cdrs rows (built by dSIPRouter from the same
// acc rows) agree with the acc times read as UTC.
const ctx: AdapterContext = { timeZone: 'UTC', countryCode: '1' };

type Row = Record<string, string | null>;
const acc = dumpObjects(sql, 'acc');
const cdrs = dumpObjects(sql, 'cdrs');

const asJson = (rows: Row[]) => JSON.stringify(rows);
const asCsv = (rows: Row[]) => stringify(rows, { header: true, columns: Object.keys(rows[0] as Row) });

const legsOf = (r: AdapterResult): NormalisedLeg[] => r.records.flatMap((x) => (x.ok ? x.legs : []));
const errorsOf = (r: AdapterResult) => r.records.filter((x): x is Extract<RecordOutcome, { ok: false }> => !x.ok);

describe('kamailio-acc: the dSIPRouter dump', () => {
  const result = parseKamailioAcc(asJson(acc), 'application/json', ctx);
  const legs = legsOf(result);

  test('553 acc rows: one outcome each; 225 answered calls (19 of them closed by a failed BYE), 59 unanswered attempts', () => {
    assert.equal(acc.length, 553);
    assert.equal(result.records.length, 553);
    assert.deepEqual(result.records.map((r) => r.index), acc.map((_, i) => i));
    assert.equal(legs.filter((l) => l.answered).length, 225);
    // 31 × 487, 24 × 403, 4 × 488; the 37 × 401 challenges are noise.
    const unanswered = legs.filter((l) => !l.answered);
    assert.equal(unanswered.length, 59);
    assert.deepEqual(Object.fromEntries(['403', '487', '488'].map((c) => [c, unanswered.filter((l) => l.switchCause === c).length])), { '403': 24, '487': 31, '488': 4 });
    // 487 (the caller's CANCEL) is cancelled; 403 Forbidden and 488 Not Acceptable Here failed.
    assert.deepEqual(Object.fromEntries(['cancelled', 'failed'].map((d) => [d, unanswered.filter((l) => l.disposition === d).length])), { cancelled: 31, failed: 28 });
    assert.ok(unanswered.every((l) => l.billableSeconds === 0 && l.answerMs === null && l.endMs === l.startMs));
    assert.equal(errorsOf(result).length, 0);
    // Every other row (BYEs paired or failed, 401 challenges) produced no leg and no error.
    assert.equal(result.records.filter((r) => r.ok && r.legs.length === 0).length, 553 - 225 - 59);
  });

  test('every answered leg matches the cdrs row dSIPRouter built from the same acc rows: start and duration', () => {
    const byKey = new Map(legs.map((l) => [l.legKey, l]));
    let matched = 0;
    for (const c of cdrs) {
      const leg = byKey.get(`${c.sip_call_id}|${c.sip_from_tag}`);
      if (!leg) continue;
      matched++;
      assert.ok(leg.answered);
      assert.equal(iso(leg.startMs), `${String(c.call_start_time).replace(' ', 'T')}.000Z`, `cdr ${c.cdr_id}`);
      assert.equal(leg.billableSeconds, Number(c.duration), `cdr ${c.cdr_id}`);
      assert.equal(leg.callId, c.sip_call_id);
    }
    // All 225 of dSIPRouter's own CDRs, including the 19 it closed on a failed BYE.
    assert.equal(matched, 225);
    assert.equal(cdrs.length, 225);
  });

  test('an INVITE 200 with no BYE at all in the post is refused, for intake to pair later', () => {
    const invite = acc.find((r) => r.method === 'INVITE' && r.sip_code === '200') as Record<string, unknown>;
    const alone = parseKamailioAcc(JSON.stringify([invite]), 'application/json', ctx);
    const [only] = errorsOf(alone);
    assert.match(only?.error ?? '', /has no BYE 2xx in this post; the call cannot be closed here: pairing with a BYE from another post is left to intake$/);
  });

  test('a BYE from the callee (tags swapped) closes the call: acc rows 20 and 22', () => {
    const leg = legs.find((l) => l.callId === 'f40698c8-749c-4325-b618-df6422882716') as NormalisedLeg;
    assert.deepEqual({ ...leg, startMs: iso(leg.startMs), answerMs: iso(leg.answerMs), endMs: iso(leg.endMs) }, {
      legKey: 'f40698c8-749c-4325-b618-df6422882716|7b4c7bd9-0605-4836-b688-a64cbb5cc3e5',
      callId: 'f40698c8-749c-4325-b618-df6422882716',
      callingNumber: null, // extension 2000
      calledNumber: null,
      rawCalling: '2000',
      rawCalled: '2001',
      startMs: '2025-07-18T00:57:42.000Z',
      answerMs: '2025-07-18T00:57:42.000Z',
      endMs: '2025-07-18T00:57:57.000Z',
      billableSeconds: 15,
      answered: true,
      disposition: 'answered',
      switchCause: '200',
      trunk: null,
      redirectingNumber: null,
      accountCode: null,
    });
  });

  test('an outbound call through gateway group 3 and an inbound one from a carrier', () => {
    const out = legs.find((l) => l.callId === 'UoGgthPn7FKd6Bc17u-4GA..') as NormalisedLeg;
    assert.deepEqual([out.callingNumber, out.calledNumber, out.rawCalled, out.platformDirection, out.trunk, out.billableSeconds, iso(out.endMs)], [
      '+12485442883',
      null, // "16723617*19475176566": dSIPRouter's tech prefix + number is not a phone number
      '16723617*19475176566',
      'outbound',
      '3',
      7,
      '2026-03-11T21:45:32.000Z',
    ]);
    const inbound = legs.find((l) => l.callId === '202149423_99049598@207.223.78.224') as NormalisedLeg;
    assert.deepEqual([inbound.callingNumber, inbound.calledNumber, inbound.rawCalled, inbound.platformDirection, inbound.billableSeconds], ['+19475176566', null, 'proj_a02nz7CJlhnK8WtZ2tS2xr2I', 'inbound', 17]);
  });

  test('an unanswered attempt: INVITE 487 after a 401 challenge (acc rows 1 and 2)', () => {
    assert.deepEqual(result.records[0], { ok: true, index: 0, raw: JSON.stringify(acc[0]), legs: [] });
    const r = result.records[1];
    assert.ok(r?.ok);
    const l = r.legs[0] as NormalisedLeg;
    assert.deepEqual([l.legKey, l.callId, l.answered, l.billableSeconds, l.disposition, l.switchCause, iso(l.startMs), l.trunk], ['6gctvgn638rp4ffo6hg3|gj5nvj520l', '6gctvgn638rp4ffo6hg3', false, 0, 'cancelled', '487', '2025-07-18T00:36:39.000Z', '1']);
  });

  test('CSV with a header row gives the same legs as the JSON array; keys are stable and unique', () => {
    const fromCsv = parseKamailioAcc(asCsv(acc), 'text/csv', ctx);
    assert.deepEqual(legsOf(fromCsv), legs);
    assert.deepEqual(errorsOf(fromCsv).map((e) => e.index), errorsOf(result).map((e) => e.index));
    const invite = acc.find((r) => r.method === 'INVITE' && r.sip_code === '200') as Record<string, string | null>;
    assert.match(errorsOf(parseKamailioAcc(asCsv([invite]), 'text/csv', ctx))[0]?.error ?? '', /^line \d+: INVITE 200/);
    const again = legsOf(parseKamailioAcc(asJson(acc), undefined, ctx));
    assert.deepEqual(again.map((l) => l.legKey), legs.map((l) => l.legKey));
    assert.equal(new Set(legs.map((l) => l.legKey)).size, legs.length);
  });

  test('split across two posts: the INVITE and its BYE are each reported for intake to pair', () => {
    const at = acc.findIndex((r) => r.id === '544'); // the BYE of INVITE 543
    const first = parseKamailioAcc(asJson(acc.slice(0, at)), undefined, ctx);
    const second = parseKamailioAcc(asJson(acc.slice(at)), undefined, ctx);
    assert.match(errorsOf(first).at(-1)?.error ?? '', /^record \d+: INVITE 200 of callid UoGgthPn7FKd6Bc17u-4GA\.\. \(from_tag 2b3fca12, 2026-03-11T21:45:25Z\) has no BYE 2xx in this post; .*left to intake$/);
    assert.match(errorsOf(second)[0]?.error ?? '', /^record 0: BYE 200 of callid UoGgthPn7FKd6Bc17u-4GA\.\. .* has no INVITE 2xx in this post; pairing with an INVITE from another post is left to intake$/);
  });

  test('local times are read in the platform zone (July: CDT, UTC-5); epoch seconds are accepted too', () => {
    const rows = acc.filter((r) => ['20', '22'].includes(String(r.id)));
    const chicago = legsOf(parseKamailioAcc(asJson(rows), undefined, { timeZone: 'America/Chicago', countryCode: '1' }))[0];
    assert.equal(iso(chicago?.startMs ?? null), '2025-07-18T05:57:42.000Z');
    const epoch = rows.map((r) => ({ ...r, time: String(Date.parse(`${String(r.time).replace(' ', 'T')}Z`) / 1000) }));
    const fromEpoch = legsOf(parseKamailioAcc(asJson(epoch), undefined, { timeZone: 'America/Chicago', countryCode: '1' }))[0];
    assert.deepEqual([iso(fromEpoch?.startMs ?? null), fromEpoch?.billableSeconds], ['2025-07-18T00:57:42.000Z', 15]);
  });
});

describe('kamailio-acc: rules', () => {
  const tx = (over: Partial<Record<string, string>>) => ({ method: 'INVITE', from_tag: 'f1', to_tag: 't1', callid: 'c1', sip_code: '200', sip_reason: 'OK', time: '2025-01-01 10:00:00', src_user: '2125550100', dst_user: '3125550199', ...over });

  test('a re-INVITE inside a dialog is not a second call; BYE noise and other methods give nothing', () => {
    const rows = [
      tx({}),
      tx({ time: '2025-01-01 10:01:00' }), // re-INVITE (session refresh) of the same dialog
      tx({ method: 'BYE', from_tag: 't1', to_tag: 'f1', time: '2025-01-01 10:02:00' }),
      tx({ method: 'BYE', sip_code: '481', sip_reason: 'Call Leg/Transaction Does Not Exist', time: '2025-01-01 10:02:01' }),
      tx({ method: 'MESSAGE', callid: 'm1' }),
      tx({ callid: 'c2', from_tag: 'f2', to_tag: '', sip_code: '486', sip_reason: 'Busy Here', time: '2025-01-01 10:05:00' }),
      tx({ callid: 'c3', from_tag: 'f3', sip_code: '407' }),
    ];
    const r = parseKamailioAcc(JSON.stringify(rows), 'application/json', ctx);
    assert.deepEqual(r.records.map((x) => (x.ok ? x.legs.map((l) => `${l.legKey} ${l.answered} ${l.billableSeconds} ${l.disposition} ${l.switchCause}`) : x.error)), [
      ['c1|f1 true 120 answered 200'],
      [],
      [],
      [],
      [],
      ['c2|f2 false 0 busy 486'],
      [],
    ]);
    const leg = legsOf(r)[0] as NormalisedLeg;
    assert.deepEqual([leg.callingNumber, leg.calledNumber], ['+12125550100', '+13125550199']);
  });

  test('the record\'s SIP domain (From, else To) goes with the leg for extensions and user names; an address is not a domain', () => {
    // Each call answered (INVITE 200) and hung up (BYE) in the same post.
    const call = (callid: string, over: Partial<Record<string, string>>) => [
      tx({ callid, from_tag: `f-${callid}`, src_user: '1001', dst_user: '1002', ...over }),
      tx({ method: 'BYE', callid, from_tag: 't1', to_tag: `f-${callid}`, time: '2025-01-01 10:01:00' }),
    ];
    const rows = [...call('d1', { src_domain: 'PBX.Acme.example:5060' }), ...call('d2', { dst_domain: 'pbx.acme.example' }), ...call('d3', { src_domain: '192.0.2.10' })];
    const legs = legsOf(parseKamailioAcc(JSON.stringify(rows), 'application/json', ctx));
    assert.deepEqual(legs.map((l) => [l.rawCalling, l.rawCalled, l.domain]), [['1001', '1002', 'pbx.acme.example'], ['1001', '1002', 'pbx.acme.example'], ['1001', '1002', undefined]]);
  });

  test('dst_ouser (as dialled) is preferred to dst_user (after routing); syslog-style names are accepted', () => {
    const rows = [
      { method: 'INVITE', from_tag: 'a', to_tag: 'b', call_id: 'x', code: '200', reason: 'OK', timestamp: '1735725600', src_user: '+12125550100', dst_ouser: '3125550199', dst_user: '99#3125550199', dst_gwgroupid: '7', calltype: 'outbound' },
      { method: 'BYE', from_tag: 'a', to_tag: 'b', call_id: 'x', code: '200', reason: 'OK', timestamp: '1735725661.4' },
    ];
    const l = legsOf(parseKamailioAcc(JSON.stringify(rows), undefined, ctx))[0] as NormalisedLeg;
    assert.deepEqual([l.calledNumber, l.rawCalled, l.trunk, l.platformDirection, l.billableSeconds, iso(l.startMs)], ['+13125550199', '3125550199', '7', 'outbound', 62, '2025-01-01T10:00:00.000Z']);
  });

  test('refusals: bad rows alone; a header without callid, or invalid JSON, refuse the body', () => {
    const rows = [tx({ sip_code: 'OK' }), tx({ time: 'yesterday', callid: 'c9' }), 'x', tx({ callid: 'c5', sip_code: '486' })];
    const r = parseKamailioAcc(JSON.stringify(rows), undefined, ctx);
    assert.deepEqual(r.records.map((x) => (x.ok ? 'ok' : x.error)), [
      'record 0: sip_code "OK" is not a SIP status code',
      'record 1: time "yesterday" is neither a YYYY-MM-DD HH:MM:SS time nor epoch seconds',
      'record 2: expected an object with the kamailio-acc columns',
      'ok',
    ]);
    assert.throws(() => parseKamailioAcc('method,from_tag,to_tag,sip_code,time\nINVITE,a,b,200,2025-01-01 10:00:00\n', 'text/csv', ctx), (e: unknown) => e instanceof MediationError && /the header row has no "callid" column/.test(e.message));
    assert.throws(() => parseKamailioAcc('[{"method": "INVITE",]', 'application/json', ctx), (e: unknown) => e instanceof MediationError && /line 1, column \d+/.test(e.message));
    assert.equal(ADAPTERS['kamailio-acc'].parse, parseKamailioAcc);
  });
});
