import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { classifyLeg, type NumberOwner } from '../../src/domain/legs/classify';
import type { NormalisedLeg } from '../../src/domain/legs/leg';

const ALICE: NumberOwner = { subscriberId: 1, resellerId: 10 };
const BOB: NumberOwner = { subscriberId: 2, resellerId: 10 };
const OURS: Record<string, NumberOwner> = { '+12125550101': ALICE, '+12125550102': BOB };
const ownerOf = (n: string | null) => (n ? OURS[n] : undefined);

const leg = (calling: string | null, called: string | null, redirecting: string | null = null): NormalisedLeg => ({
  legKey: 'k', callId: 'c', callingNumber: calling, calledNumber: called, rawCalling: calling ?? 'anonymous', rawCalled: called ?? '1001',
  startMs: 0, answerMs: 0, endMs: 60_000, billableSeconds: 60, answered: true, disposition: 'answered', switchCause: 'ANSWERED', trunk: null, redirectingNumber: redirecting, accountCode: null,
});

describe('who pays: leg classification by our numbers', () => {
  test('our subscriber calls off-net: outbound, the caller pays, rated by the called number', () => {
    assert.deepEqual(classifyLeg(leg('+12125550101', '+442079460000'), ownerOf), { matched: true, direction: 'outbound', payer: ALICE, ratedNumber: '+442079460000' });
  });

  test('off-net calls our subscriber: inbound, the number’s owner is charged (at the inbound rates, by the DID)', () => {
    assert.deepEqual(classifyLeg(leg('+442079460000', '+12125550102'), ownerOf), { matched: true, direction: 'inbound', payer: BOB, callee: BOB, ratedNumber: '+12125550102' });
  });

  test('subscriber to subscriber: on-net, the caller pays, the callee is kept as who received it', () => {
    assert.deepEqual(classifyLeg(leg('+12125550101', '+12125550102'), ownerOf), { matched: true, direction: 'onnet', payer: ALICE, callee: BOB, ratedNumber: '+12125550102' });
  });

  test('a call forwarded off-net by our subscriber: the forwarding subscriber pays the forwarded leg', () => {
    assert.deepEqual(classifyLeg(leg('+442079460000', '+33123456789', '+12125550102'), ownerOf), { matched: true, direction: 'forwarded', payer: BOB, ratedNumber: '+33123456789' });
    // Anonymous original caller: still the forwarder's leg.
    assert.equal((classifyLeg(leg(null, '+33123456789', '+12125550101'), ownerOf) as { direction: string }).direction, 'forwarded');
  });

  test('a forward to another of our subscribers is on-net or inbound, not an off-net forwarded leg', () => {
    const r = classifyLeg(leg('+442079460000', '+12125550101', '+12125550102'), ownerOf);
    assert.deepEqual(r, { matched: true, direction: 'inbound', payer: ALICE, callee: ALICE, ratedNumber: '+12125550101' });
  });

  test('no number of ours, or no usable called number: not matched, with the reason', () => {
    const none = classifyLeg(leg('+13055550100', '+442079460000'), ownerOf);
    assert.deepEqual(none, { matched: false, reason: 'no subscriber has +13055550100 or +442079460000' });
    const ext = classifyLeg(leg('+12125550101', null), ownerOf);
    assert.equal(ext.matched, false);
    assert.match((ext as { reason: string }).reason, /called number "1001" is not a phone number/);
  });

  test('hosted PBX: extension to extension is on-net, rated by the platform\'s country code; an extension not ours is not a phone number', () => {
    const EXT: Record<string, NumberOwner> = { '1001@pbx.example': ALICE, '1002@pbx.example': BOB };
    const owner = (n: string | null) => (n ? (OURS[n] ?? EXT[n]) : undefined);
    const extLeg = { ...leg(null, null), rawCalling: '1001', rawCalled: '1002' };
    const short = { calling: '1001@pbx.example', called: '1002@pbx.example', ratedNumber: '+1' };
    assert.deepEqual(classifyLeg(extLeg, owner, undefined, short), { matched: true, direction: 'onnet', payer: ALICE, callee: BOB, ratedNumber: '+1' });
    // An extension calling out: outbound, rated by the E.164 number dialled.
    assert.deepEqual(classifyLeg({ ...extLeg, calledNumber: '+442079460000' }, owner, undefined, { ...short, called: null }), { matched: true, direction: 'outbound', payer: ALICE, ratedNumber: '+442079460000' });
    const stranger = classifyLeg({ ...extLeg, rawCalled: '1009' }, owner, undefined, { ...short, called: '1009@pbx.example' });
    assert.deepEqual(stranger, { matched: false, reason: 'called number "1009" is not a phone number, nor an extension or SIP user name of ours' });
  });

  test('a number of ours that nobody held at the call\'s time: not matched, saying so (the other number still decides when it is ours)', () => {
    const vacancy = (n: string) => (n === '+12125550199' ? 'nobody held +12125550199 at the call\'s time (first assigned 2026-12-01T00:00:00.000Z)' : undefined);
    const r = classifyLeg(leg('+12125550199', '+442079460000'), ownerOf, vacancy);
    assert.deepEqual(r, { matched: false, reason: "nobody held +12125550199 at the call's time (first assigned 2026-12-01T00:00:00.000Z)" });
    assert.deepEqual(classifyLeg(leg('+12125550199', '+12125550102'), ownerOf, vacancy), { matched: true, direction: 'inbound', payer: BOB, callee: BOB, ratedNumber: '+12125550102' });
  });
});
