import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DISPOSITIONS, type AdapterContext, type AdapterResult, type NormalisedLeg } from '../../src/domain/legs/leg';
import {
  parseAsteriskCsv,
  parseBroadworksCsv,
  parseFreeswitchJson,
  parseFreeswitchXml,
  parseGenericJson,
  parseKamailioAcc,
  parseKamailioDialog,
} from '../../src/domain/mediation';
import { q850Disposition, q850Value } from '../../src/domain/mediation/disposition';
import { GENERIC_DISPOSITIONS } from '../../src/domain/mediation/generic-record';

/**
 * One disposition vocabulary for every format (docs/CDR-FORMATS.md, "Disposition"): each switch's
 * own word for how a leg ended, through its adapter, gives one of answered, no_answer, busy,
 * failed, cancelled, and the word itself is kept as the leg's switchCause.
 */
const ctx: AdapterContext = { timeZone: 'UTC', countryCode: '1' };

function onlyLeg(r: AdapterResult): NormalisedLeg {
  const legs = r.records.flatMap((x) => {
    if (!x.ok) throw new Error(x.error);
    return x.legs;
  });
  assert.equal(legs.length, 1);
  return legs[0] as NormalisedLeg;
}

const outcome = (l: NormalisedLeg) => [l.disposition, l.switchCause, l.answered];

describe('disposition: FreeSWITCH hangup causes', () => {
  const fs = (hangup: Record<string, string>, answered = false) =>
    JSON.stringify({
      channel_data: { direction: 'outbound' },
      variables: {
        uuid: 'u-1',
        sip_to_user: '3125550199',
        start_epoch: '1714557600',
        answer_epoch: answered ? '1714557605' : '0',
        end_epoch: '1714557630',
        billsec: answered ? '25' : '0',
        ...hangup,
      },
    });

  const cases: Array<[string, string]> = [
    ['USER_BUSY', 'busy'],
    ['NO_ANSWER', 'no_answer'],
    ['NO_USER_RESPONSE', 'no_answer'],
    ['SUBSCRIBER_ABSENT', 'no_answer'],
    ['RECOVERY_ON_TIMER_EXPIRE', 'no_answer'],
    ['ORIGINATOR_CANCEL', 'cancelled'],
    ['LOSE_RACE', 'cancelled'],
    ['PICKED_OFF', 'cancelled'],
    ['NORMAL_CLEARING', 'cancelled'],
    ['CALL_REJECTED', 'failed'],
    ['UNALLOCATED_NUMBER', 'failed'],
    ['NORMAL_TEMPORARY_FAILURE', 'failed'],
    ['INCOMPATIBLE_DESTINATION', 'failed'],
  ];
  for (const [cause, expected] of cases) {
    test(`an unanswered leg ending ${cause} is ${expected}, the cause kept`, () => {
      assert.deepEqual(outcome(onlyLeg(parseFreeswitchJson(fs({ hangup_cause: cause }), 'application/json', ctx))), [expected, cause, false]);
    });
  }

  test('an answered leg is answered whatever the cause (NORMAL_CLEARING, or a failure after the answer)', () => {
    assert.deepEqual(outcome(onlyLeg(parseFreeswitchJson(fs({ hangup_cause: 'NORMAL_CLEARING' }, true), undefined, ctx))), ['answered', 'NORMAL_CLEARING', true]);
    assert.deepEqual(outcome(onlyLeg(parseFreeswitchJson(fs({ hangup_cause: 'MEDIA_TIMEOUT' }, true), undefined, ctx))), ['answered', 'MEDIA_TIMEOUT', true]);
  });

  test('without hangup_cause, the numeric hangup_cause_q850 decides (17 busy) and is kept', () => {
    assert.deepEqual(outcome(onlyLeg(parseFreeswitchJson(fs({ hangup_cause_q850: '17' }), undefined, ctx))), ['busy', '17', false]);
  });

  test('no cause at all: failed, with no switch cause', () => {
    assert.deepEqual(outcome(onlyLeg(parseFreeswitchJson(fs({}), undefined, ctx))), ['failed', null, false]);
  });

  test('mod_xml_cdr maps the same way', () => {
    const xml = `<?xml version="1.0"?><cdr><channel_data><direction>outbound</direction></channel_data><variables><uuid>u-2</uuid><sip_to_user>3125550199</sip_to_user><start_epoch>1714557600</start_epoch><answer_epoch>0</answer_epoch><end_epoch>1714557630</end_epoch><billsec>0</billsec><hangup_cause>USER_BUSY</hangup_cause></variables></cdr>`;
    assert.deepEqual(outcome(onlyLeg(parseFreeswitchXml(xml, 'application/xml', ctx))), ['busy', 'USER_BUSY', false]);
  });
});

describe('disposition: Asterisk cdr_csv dispositions', () => {
  const row = (word: string, answered: boolean) =>
    `"","2125550100","3125550199","default","","SIP/a-00000001","SIP/carrier-00000002","Dial","","2024-05-01 10:00:00",${answered ? '"2024-05-01 10:00:05"' : ''},"2024-05-01 10:00:30",30,${answered ? 25 : 0},"${word}","DOCUMENTATION"`;
  const cases: Array<[string, string, boolean]> = [
    ['ANSWERED', 'answered', true],
    ['NO ANSWER', 'no_answer', false],
    ['BUSY', 'busy', false],
    ['FAILED', 'failed', false],
    ['CONGESTION', 'failed', false],
  ];
  for (const [word, expected, answered] of cases) {
    test(`${word} is ${expected}, the word kept`, () => {
      assert.deepEqual(outcome(onlyLeg(parseAsteriskCsv(row(word, answered), undefined, ctx))), [expected, word, answered]);
    });
  }
});

describe('disposition: SIP final responses (Kamailio)', () => {
  const invite = (code: string) =>
    JSON.stringify([{ method: 'INVITE', callid: `c-${code}`, from_tag: 'f1', to_tag: 't1', sip_code: code, sip_reason: '', time: '2024-05-01 10:00:00', src_user: '2125550100', dst_ouser: '3125550199' }]);
  const cases: Array<[string, string]> = [
    ['486', 'busy'],
    ['600', 'busy'],
    ['487', 'cancelled'],
    ['408', 'no_answer'],
    ['480', 'no_answer'],
    ['404', 'failed'],
    ['403', 'failed'],
    ['488', 'failed'],
    ['503', 'failed'],
    ['603', 'failed'],
    ['302', 'failed'],
  ];
  for (const [code, expected] of cases) {
    test(`kamailio-acc: INVITE ${code} is ${expected}, the code kept`, () => {
      assert.deepEqual(outcome(onlyLeg(parseKamailioAcc(invite(code), 'application/json', ctx))), [expected, code, false]);
    });
  }

  test('kamailio-dialog: a dialog row with sip_code 486 is busy; without a code it is answered with no cause', () => {
    const row = (code: string) => JSON.stringify([{ callid: 'd1', from_tag: 'f1', start_time: '2024-05-01 10:00:00', end_time: '2024-05-01 10:01:00', duration: '60', sip_code: code, src_user: '2125550100', dst_ouser: '3125550199' }]);
    assert.deepEqual(outcome(onlyLeg(parseKamailioDialog(row('486'), 'application/json', ctx))), ['busy', '486', false]);
    assert.deepEqual(outcome(onlyLeg(parseKamailioDialog(row(''), 'application/json', ctx))), ['answered', null, true]);
  });
});

describe('disposition: Q.850 causes (BroadWorks terminationCause)', () => {
  const record = (indicator: string, cause: string) => {
    const f: string[] = new Array(46).fill('');
    const set = (n: number, v: string) => (f[n - 1] = v);
    set(1, '0001'), set(3, 'Normal'), set(4, '+12125550100'), set(6, 'Terminating'), set(7, '+13125550199'), set(9, '+12125550100');
    set(10, '20240501100000.000'), set(12, indicator), set(14, '20240501100030.000'), set(15, cause), set(45, `lc-${cause}`);
    if (indicator === 'Yes') set(13, '20240501100005.000');
    return f.join(',');
  };
  const cases: Array<[string, string]> = [
    ['017', 'busy'],
    ['018', 'no_answer'],
    ['019', 'no_answer'],
    ['020', 'no_answer'],
    ['016', 'cancelled'],
    ['031', 'cancelled'],
    ['001', 'failed'],
    ['021', 'failed'],
    ['034', 'failed'],
    ['', 'failed'],
  ];
  for (const [cause, expected] of cases) {
    test(`an unanswered record with terminationCause "${cause}" is ${expected}, the cause kept`, () => {
      assert.deepEqual(outcome(onlyLeg(parseBroadworksCsv(record('No', cause), undefined, ctx))), [expected, cause || null, false]);
    });
  }
  test('an answered record is answered (terminationCause 016 kept)', () => {
    assert.deepEqual(outcome(onlyLeg(parseBroadworksCsv(record('Yes', '016'), undefined, ctx))), ['answered', '016', true]);
  });
  test('q850Value reads "16" and "016"; not a Q.850 value (over 127, text) gives null -> failed', () => {
    assert.deepEqual(['16', '016', '127', '128', '1459617833', 'x', ''].map(q850Value), [16, 16, 127, null, null, null, null]);
    assert.equal(q850Disposition(null), 'failed');
  });
});

describe('disposition: the generic formats keep their documented words', () => {
  for (const word of GENERIC_DISPOSITIONS) {
    test(`generic-json "${word}" is stored as ${word}, with no switch cause`, () => {
      const rec = { leg_id: `g-${word}`, called: '+13125550199', start: '2024-05-01T10:00:00Z', disposition: word, ...(word === 'answered' ? { answer: '2024-05-01T10:00:05Z', billsec: 25 } : {}) };
      assert.deepEqual(outcome(onlyLeg(parseGenericJson(JSON.stringify(rec), 'application/json', ctx))), [word, null, word === 'answered']);
    });
  }
  test('the generic words are the vocabulary itself', () => {
    assert.deepEqual([...GENERIC_DISPOSITIONS], [...DISPOSITIONS]);
  });
});
