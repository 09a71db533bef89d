import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { stringify } from 'csv-stringify/sync';
import type { AdapterContext, AdapterResult, NormalisedLeg } from '../../src/domain/legs/leg';
import { ADAPTERS, MediationError, parseKamailioAcc, parseKamailioDialog } from '../../src/domain/mediation';
import { dumpObjects } from '../fixtures/cdr/sql-dump';

const FIXTURES = path.resolve(__dirname, '../fixtures/cdr');
const sql = fs.readFileSync(path.join(FIXTURES, 'kamailio', 'dsiprouter-acc-cdrs-dump.sql'), 'utf8');
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
const ctx: AdapterContext = { timeZone: 'UTC', countryCode: '1' };

const legsOf = (r: AdapterResult): NormalisedLeg[] =>
  r.records.flatMap((x) => {
    assert.ok(x.ok, x.ok ? '' : x.error);
    return x.legs;
  });

/**
 * The dump's acc_cdrs (dialog CDR) table is empty, so the dialog rows are derived from its cdrs
 * table - one row per dialog with its start and duration - in the acc_cdrs / cdr_extra layout.
 */
const dialogs = dumpObjects(sql, 'cdrs').map((c) => {
  const start = Date.parse(`${String(c.call_start_time).replace(' ', 'T')}Z`);
  return {
    start_time: c.call_start_time as string,
    end_time: new Date(start + Number(c.duration) * 1000).toISOString().slice(0, 19).replace('T', ' '),
    duration: `${c.duration}.000`,
    callid: c.sip_call_id as string,
    from_tag: c.sip_from_tag as string,
    to_tag: c.sip_to_tag as string,
    src_user: c.src_username as string,
    dst_user: c.dst_username as string,
    src_ip: c.src_ip as string,
    calltype: (c.calltype ?? '') as string,
    src_gwgroupid: c.src_gwgroupid as string,
    dst_gwgroupid: c.dst_gwgroupid as string,
  };
});

describe('kamailio-dialog', () => {
  const legs = legsOf(parseKamailioDialog(JSON.stringify(dialogs), 'application/json', ctx));

  test('one answered leg per dialog row of the dump (225), with exact UTC times and durations', () => {
    assert.equal(legs.length, 225);
    assert.ok(legs.every((l) => l.answered && l.answerMs === l.startMs));
    const l = legs.find((x) => x.callId === 'UoGgthPn7FKd6Bc17u-4GA..') as NormalisedLeg;
    assert.deepEqual({ ...l, startMs: iso(l.startMs), answerMs: iso(l.answerMs), endMs: iso(l.endMs) }, {
      legKey: 'UoGgthPn7FKd6Bc17u-4GA..|2b3fca12',
      callId: 'UoGgthPn7FKd6Bc17u-4GA..',
      callingNumber: '+12485442883',
      calledNumber: null,
      rawCalling: '2485442883',
      rawCalled: '16723617*19475176566',
      startMs: '2026-03-11T21:45:25.000Z',
      answerMs: '2026-03-11T21:45:25.000Z',
      endMs: '2026-03-11T21:45:32.000Z',
      billableSeconds: 7,
      answered: true,
      disposition: 'answered',
      switchCause: null, // the dialog row has no sip_code: the switch said nothing of its own
      platformDirection: 'outbound',
      trunk: '3',
      redirectingNumber: null,
      accountCode: null,
    });
  });

  test('the same call gets the same legKey from kamailio-acc and kamailio-dialog', () => {
    const accRows = dumpObjects(sql, 'acc');
    const fromAcc = parseKamailioAcc(JSON.stringify(accRows), undefined, ctx).records.flatMap((r) => (r.ok ? r.legs : []));
    const dialogKeys = new Set(legs.map((l) => l.legKey));
    const answeredAcc = fromAcc.filter((l) => l.answered);
    assert.equal(answeredAcc.length, 225, 'every dialog dSIPRouter billed, including the 19 closed on a failed BYE');
    for (const a of answeredAcc) {
      assert.ok(dialogKeys.has(a.legKey), a.legKey);
      const d = legs.find((l) => l.legKey === a.legKey) as NormalisedLeg;
      assert.deepEqual([d.startMs, d.endMs, d.billableSeconds], [a.startMs, a.endMs, a.billableSeconds]);
    }
  });

  test('CSV with a header gives the same legs; parsing twice gives the same keys', () => {
    const csv = stringify(dialogs, { header: true, columns: Object.keys(dialogs[0] as object) });
    assert.deepEqual(legsOf(parseKamailioDialog(csv, 'text/csv', ctx)), legs);
    assert.deepEqual(legsOf(parseKamailioDialog(csv, undefined, ctx)).map((l) => l.legKey), legs.map((l) => l.legKey));
  });

  test('float durations round up; end from start + duration; a failed code is unanswered', () => {
    const rows = [
      { start_time: '2025-07-18 10:00:00', duration: '12.345', callid: 'a', from_tag: 'x' },
      { start_time: '1752832800', end_time: '1752832830.5', callid: 'b', from_tag: 'y', sip_code: '200' },
      { start_time: '2025-07-18 10:00:00', end_time: '2025-07-18 10:00:09', callid: 'c', from_tag: 'z', sip_code: '487' },
    ];
    const got = legsOf(parseKamailioDialog(JSON.stringify(rows), undefined, { timeZone: 'Europe/Berlin', countryCode: '49' }));
    assert.deepEqual(got.map((l) => [l.legKey, iso(l.startMs), iso(l.endMs), l.billableSeconds, l.answered]), [
      ['a|x', '2025-07-18T08:00:00.000Z', '2025-07-18T08:00:12.345Z', 13, true],
      ['b|y', '2025-07-18T10:00:00.000Z', '2025-07-18T10:00:30.500Z', 31, true],
      ['c|z', '2025-07-18T08:00:00.000Z', '2025-07-18T08:00:09.000Z', 0, false],
    ]);
  });

  test('refusals name the row; a header without start_time refuses the body', () => {
    const r = parseKamailioDialog('start_time,callid,from_tag,duration\n2025-07-18 10:00:00,a,x,\n2025-07-18 10:00:00,b,,5\nnot a time,c,z,5\n', 'text/csv', ctx);
    assert.deepEqual(r.records.map((x) => (x.ok ? 'ok' : x.error)), [
      'line 2: neither end_time nor duration is given',
      'line 3: from_tag is empty',
      'line 4: start_time "not a time" is neither a YYYY-MM-DD HH:MM:SS time nor epoch seconds',
    ]);
    assert.throws(() => parseKamailioDialog('callid,from_tag\na,b\n', 'text/csv', ctx), (e: unknown) => e instanceof MediationError && /no "start_time" column/.test(e.message));
    assert.equal(ADAPTERS['kamailio-dialog'].parse, parseKamailioDialog);
  });
});
