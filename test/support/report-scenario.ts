/**
 * The scenario of the report tests (reports.test.ts, accounting.test.ts), computed by hand: two
 * resellers in two currencies and zones (Alpha in USD, New York; Beta in EUR, Tokyo), taxes on both
 * sides, recurring charges of a feature package, an unrated and a blocked leg, an LD carrier;
 * written through rating and the ledger's writer as the intake does. The figures each test expects
 * are in the comments beside each call.
 */
import assert from 'node:assert/strict';
import type { NormalisedLeg } from '../../src/domain/legs/leg';
import { insertLine } from '../../src/modules/billing/billing.repository';
import { writeLedger, type LedgerRecord } from '../../src/modules/ledger/ledger.service';
import { ensurePartitions } from '../../src/modules/ledger/partitions';
import { foldUsage } from '../../src/modules/ledger/ledger.repository';
import { rateLegs } from '../../src/modules/rating/rating.service';
import type { TestApp } from './app';
import { makeJurisdiction, makePlan, makeRates, makeReseller, makeSubscriber, makeTax, makeUser, randomNumber, rateRow } from './factories';
import { Client } from './http';
import { makePlatform } from './intake';

export const NY = 'America/New_York';
export const TOKYO = 'Asia/Tokyo';
/** The period every report of the scenario is read over. */
export const PERIOD = 'from=2026-11-09&to=2026-11-12';
let seq = 0;

function leg(calling: string, called: string, startIso: string, seconds: number): NormalisedLeg {
  const key = `rep-${process.pid}-${++seq}`;
  const startMs = Date.parse(startIso);
  const answered = seconds > 0;
  return {
    legKey: key, callId: `call-${key}`, callingNumber: calling, calledNumber: called, rawCalling: calling, rawCalled: called,
    startMs, answerMs: answered ? startMs : null, endMs: startMs + seconds * 1000, billableSeconds: seconds, answered,
    disposition: answered ? 'answered' : 'no_answer', switchCause: null, trunk: null, redirectingNumber: null, accountCode: null,
  };
}

/** Builds the scenario in the test app's database and logs in one person of every role it needs. */
export async function buildReportScenario(t: TestApp) {
  const caches = { plans: t.planCache, refs: t.referenceData, versions: t.cacheVersions };
  const platformId = (await makePlatform(t.db)).id;
  const wsUsd = await makePlan(t.db, null, { name: 'WS USD', currency: 'USD', rounding_decimals: 4 });
  const wsEur = await makePlan(t.db, null, { name: 'WS EUR', currency: 'EUR', rounding_decimals: 4 });
  const resA = await makeReseller(t.db, { name: 'Alpha Telecom', currency: 'USD', wholesale_plan_id: wsUsd.id, time_zone: NY });
  const resB = await makeReseller(t.db, { name: 'Beta Voice', currency: 'EUR', wholesale_plan_id: wsEur.id, time_zone: TOKYO });
  const retailA = await makePlan(t.db, resA.id, { name: 'Retail A', currency: 'USD', rounding_decimals: 4 });
  const retailB = await makePlan(t.db, resB.id, { name: 'Retail B', currency: 'EUR', rounding_decimals: 4 });
  const numA1 = randomNumber();
  const numA2 = randomNumber();
  const numB = randomNumber();
  const numB2 = randomNumber();
  const subA1 = await makeSubscriber(t.db, resA.id, { name: 'Ada Lovelace', retail_plan_id: retailA.id, country: 'US', region: 'NY' }, [numA1]);
  const subA2 = await makeSubscriber(t.db, resA.id, { name: 'Alan Turing', retail_plan_id: retailA.id, country: 'US', region: 'NY' }, [numA2]);
  const subB = await makeSubscriber(t.db, resB.id, { name: 'Grace Hopper', retail_plan_id: retailB.id, country: 'GB', region: null }, [numB]);
  // Inactive: its call is blocked.
  await makeSubscriber(t.db, resB.id, { name: 'Barbara Liskov', retail_plan_id: retailB.id, country: 'GB', region: null, status: 'inactive' }, [numB2]);
  await makeRates(
    t.db,
    rateRow(wsUsd, { prefix: '44', description: 'United Kingdom', rate: '0.0200' }),
    rateRow(wsUsd, { prefix: '33', description: 'France', rate: '0.0300' }),
    rateRow(wsEur, { prefix: '44', description: 'United Kingdom', rate: '0.0150' }),
    rateRow(retailA, { prefix: '44', description: 'UK', rate: '0.0900', increment: 60 }),
    rateRow(retailA, { prefix: '33', description: 'France', rate: '0.1200', increment: 60 }),
    rateRow(retailB, { prefix: '44', description: 'UK', rate: '0.0500', increment: 60 }),
  );
  // Taxes: the operator's 10 % in New York and 20 % in Great Britain on wholesale charges; Alpha's 5 % in New York on its retail charges.
  const nyPlace = await makeJurisdiction(t.db, { country: 'US', region: 'NY', name: 'New York' });
  const gbPlace = await makeJurisdiction(t.db, { country: 'GB', region: null, name: 'Great Britain' });
  const opNy = await makeTax(t.db, null, nyPlace.id, { name: 'NY telecom tax', rate: '10' });
  await makeTax(t.db, null, gbPlace.id, { name: 'UK VAT', rate: '20' });
  const alphaNy = await makeTax(t.db, resA.id, nyPlace.id, { name: 'Alpha sales tax', rate: '5' });

  const calls = [
    // 04:30 UTC: 23:30 on 9 November in New York. 2 min to the UK: wholesale 0.04 (+0.004 tax), retail 0.18 (+0.009).
    { l: leg(numA1, '+442071234567', '2026-11-10T04:30:00Z', 120), carrier: 'Carrier X' },
    // 3 min to France: wholesale 0.09 (+0.009), retail 0.36 (+0.018).
    { l: leg(numA1, '+33142345678', '2026-11-10T15:00:00Z', 180), carrier: null },
    // Unanswered to the UK: charges of nothing.
    { l: leg(numA2, '+442071234568', '2026-11-10T16:00:00Z', 0), carrier: null },
    // To Japan, which no plan prices: unrated, 60 s, no charge.
    { l: leg(numA2, '+819012345678', '2026-11-10T17:00:00Z', 60), carrier: null },
    // 4 min to the UK: wholesale 0.06 EUR (+0.012 VAT), retail 0.20 EUR (no tax of Beta's).
    { l: leg(numB, '+442071234569', '2026-11-10T12:00:00Z', 240), carrier: 'Carrier X' },
    // The inactive subscriber's call: blocked, 60 s, no charge.
    { l: leg(numB2, '+442071234570', '2026-11-10T13:00:00Z', 60), carrier: null },
  ];
  await ensurePartitions(t.db, calls.map((c) => c.l.startMs));
  const { legs: rated } = await rateLegs(t.db, caches, calls.map((c) => c.l));
  assert.deepEqual(rated.map((r) => r.status), ['rated', 'rated', 'rated', 'unrated', 'rated', 'blocked'], 'the scenario rates as planned');
  const rec: LedgerRecord = { platformId, contentType: 'application/json', body: '[]', legs: rated.map((r, i) => ({ rated: r, carrier: calls[i]!.carrier })) };
  await writeLedger(t.db, [{ records: [rec] }], { then: async () => undefined });
  // Half folded into the totals, half still deltas: readers see both.
  await foldUsage(t.db);

  // Recurring charges of a feature package: Alpha pays the operator 5.00 + 10 % (a wholesale
  // line), Ada pays Alpha 2.00 + 5 % (a retail line), both cycles starting on 10 November.
  const [pkg] = await t.db('feature_packages').insert({ reseller_id: null, name: 'Operator features', currency: 'USD', setup_fee: '0', monthly_fee: '5' }).returning('*');
  const [own] = await t.db('feature_packages').insert({ reseller_id: resA.id, base_package_id: pkg.id, name: 'Alpha features', currency: 'USD', setup_fee: '0', monthly_fee: '2' }).returning('*');
  const [assignment] = await t.db('package_assignments').insert({ reseller_id: resA.id, subscriber_id: subA1.id, feature_package_id: own.id, starts_at: '2026-01-01T00:00:00Z' }).returning('*');
  const line = (side: 'wholesale' | 'retail', name: string, fee: string, tax: { id: number; name: string; rate: string; amount: string }, total: string) =>
    insertLine(t.db, {
      assignmentId: assignment.id, side, item: 'monthly', resellerId: resA.id, subscriberId: subA1.id, packageKind: 'feature', packageId: side === 'wholesale' ? pkg.id : own.id,
      packageName: name, cycleStartMs: Date.parse('2026-11-10T05:00:00Z'), cycleEndMs: Date.parse('2026-12-10T05:00:00Z'), cycleStartDate: '2026-11-10', cycleEndDate: '2026-12-10',
      days: 30, cycleDays: 30, fee, currency: 'USD', amount: fee,
      taxes: [{ tax_id: tax.id, name: tax.name, basis: 'percent', rate: tax.rate, taxable: fee, amount: tax.amount }],
      taxAmount: tax.amount, total, billedCurrency: 'USD', exchangeRate: '1', billedTotal: total, chargedAtMs: Date.parse('2026-11-10T05:00:00Z'),
    } as Parameters<typeof insertLine>[1]);
  assert.ok(await line('wholesale', 'Operator features', '5.0000000000', { id: opNy.id, name: 'NY telecom tax', rate: '10', amount: '0.5000000000' }, '5.5000000000'));
  assert.ok(await line('retail', 'Alpha features', '2.0000000000', { id: alphaNy.id, name: 'Alpha sales tax', rate: '5', amount: '0.1000000000' }, '2.1000000000'));

  const operator = await Client.login(t.app, (await makeUser(t.db, 'wholesale_admin')).email);
  const operatorSupport = await Client.login(t.app, (await makeUser(t.db, 'wholesale_support')).email);
  const adminA = await Client.login(t.app, (await makeUser(t.db, 'reseller_admin', { resellerId: resA.id })).email);
  const supportA = await Client.login(t.app, (await makeUser(t.db, 'reseller_support', { resellerId: resA.id })).email);
  const adminB = await Client.login(t.app, (await makeUser(t.db, 'reseller_admin', { resellerId: resB.id })).email);
  const subscriberA = await Client.login(t.app, (await makeUser(t.db, 'subscriber', { resellerId: resA.id, subscriberId: subA1.id })).email);
  return { resA, resB, subA1, subA2, subB, operator, operatorSupport, adminA, supportA, adminB, subscriberA };
}
