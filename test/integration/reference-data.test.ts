import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createPeerApp, createTestApp, type TestApp } from '../support/app';
import { makePlan, makeReseller, makeSubscriber, makeUser, makeRates, rateRow } from '../support/factories';
import { Client } from '../support/http';
import { postCdrs } from '../support/intake';

/**
 * The intake reads platforms, usage taxes and exchange rates from memory (modules/reference-data).
 * Every change made through the portals must reach it at once in the process that made it, and
 * within a second in every other process on the same database.
 */
describe('reference data held in memory by the intake: changes are seen at once', () => {
  let t: TestApp;
  let admin: Client;
  let platformId: number;
  let token: string;
  let taxId: number;
  let jurisdictionId: number;
  let seq = 0;
  /** When the posted calls start. */
  let callStart = '2026-11-25T12:00:00Z';
  const NUMBER = '+12125550142';

  const credentialIn = (html: string) => {
    const m = /data-testid="platform-credential">([^<]+)</.exec(html);
    assert.ok(m, 'the credential is shown');
    return m[1] as string;
  };
  const platformForm = (over: Record<string, string> = {}) => ({ name: 'ref-switch', format: 'generic-json', time_zone: 'UTC', country_code: '1', allowed_sources: '', trunk_carriers: '', active: 'on', ...over });
  const taxForm = (over: Record<string, string> = {}) => ({
    jurisdiction_id: String(jurisdictionId), name: 'NY usage tax', kind: 'usage', basis: 'percent', rate: '5', priority: '1', compounding: '', effective_from: '2020-01-01', effective_to: '', ...over,
  });

  /** Posts one fresh leg (a 60 s call to London from callStart) through `app`. */
  const post = (app: TestApp, bearer = token) => {
    const id = `ref-${++seq}`;
    const end = new Date(Date.parse(callStart) + 60_000).toISOString();
    return postCdrs(app, bearer, { leg_id: id, calling: NUMBER, called: '+442079460000', start: callStart, answer: callStart, end });
  };
  /** The wholesale charge of a posted leg: the exchange rate and the taxes it was priced with. */
  const priced = async (app: TestApp, bearer = token) => {
    const res = await post(app, bearer);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const leg = res.body.records[0].legs[0];
    assert.equal(leg.status, 'rated', leg.reason);
    const charge = await t.db('charges').where({ leg_id: leg.id, kind: 'wholesale' }).first();
    const taxes = (typeof charge.taxes === 'string' ? JSON.parse(charge.taxes) : charge.taxes) as Array<{ name: string; rate: string }>;
    return { fx: Number(charge.exchange_rate).toString(), taxes: taxes.map((x) => `${x.name} ${Number(x.rate)}`) };
  };

  before(async () => {
    t = await createTestApp();
    admin = await Client.login(t.app, (await makeUser(t.db, 'wholesale_admin')).email);
    // Reference data through the portal, as the operator enters it.
    const created = await admin.submit('/wholesale/platforms', platformForm(), '/wholesale/platforms/new');
    assert.equal(created.status, 201);
    token = credentialIn(created.text);
    platformId = Number(/^plt_(\d+)_/.exec(token)?.[1]);
    assert.equal((await admin.submit('/wholesale/exchange-rates', { from_currency: 'USD', to_currency: 'EUR', rate: '0.9', effective_from: '2020-01-01' })).status, 303);
    assert.equal((await admin.submit('/wholesale/tax-jurisdictions', { country: 'US', region: 'NY', name: 'New York' })).status, 303);
    jurisdictionId = (await t.db('tax_jurisdictions').where({ name: 'New York' }).first()).id;
    assert.equal((await admin.submit('/wholesale/taxes', taxForm())).status, 303);
    taxId = (await t.db('taxes').where({ name: 'NY usage tax' }).first()).id;
    // The operator's USD plan sold to a reseller billed in EUR, whose subscriber is in New York.
    const plan = await makePlan(t.db, null, { currency: 'USD' });
    await makeRates(t.db, rateRow(plan, { rate: '0.0600' }));
    const reseller = await makeReseller(t.db, { currency: 'EUR', wholesale_plan_id: plan.id, billing_service: false });
    await makeSubscriber(t.db, reseller.id, { country: 'US', region: 'NY' }, [NUMBER]);
  });
  after(() => t.close());

  test('what was entered prices the call, and is then served from memory', async () => {
    assert.deepEqual(await priced(t), { fx: '0.9', taxes: ['NY usage tax 5'] });
    // On a real server the caches keep nothing until the change listener is connected.
    for (let i = 0; i < 100 && !(t.referenceData.platforms.cached && t.referenceData.usageTaxes.cached && t.referenceData.exchangeRates.cached); i++) {
      await new Promise((r) => setTimeout(r, 20));
      await priced(t);
    }
    assert.ok(t.referenceData.platforms.cached && t.referenceData.usageTaxes.cached && t.referenceData.exchangeRates.cached);
    // A change that bypasses the services (in a transaction, unannounced) is not seen: memory is used.
    await t.db.transaction((tx) => tx('taxes').where({ id: taxId }).update({ rate: '50' }));
    assert.deepEqual((await priced(t)).taxes, ['NY usage tax 5'], 'served from memory');
    await t.db('taxes').where({ id: taxId }).update({ rate: '5' }); // outside a transaction: the test app drops its copy
  });

  test('a tax edited, its jurisdiction moved, the tax ended: the next call in this process sees each', async () => {
    assert.equal((await admin.submit(`/wholesale/taxes/${taxId}`, taxForm({ rate: '7.5' }))).status, 303);
    assert.deepEqual((await priced(t)).taxes, ['NY usage tax 7.5']);

    assert.equal((await admin.submit(`/wholesale/tax-jurisdictions/${jurisdictionId}`, { country: 'US', region: 'NJ', name: 'New York' })).status, 303);
    assert.deepEqual((await priced(t)).taxes, [], 'the jurisdiction no longer matches a New York address');
    assert.equal((await admin.submit(`/wholesale/tax-jurisdictions/${jurisdictionId}`, { country: 'US', region: 'ny', name: 'New York' })).status, 303);
    assert.deepEqual((await priced(t)).taxes, ['NY usage tax 7.5']);

    assert.equal((await admin.submit('/wholesale/taxes', taxForm({ name: 'NY surcharge', rate: '1', priority: '2' }))).status, 303);
    assert.deepEqual((await priced(t)).taxes, ['NY usage tax 7.5', 'NY surcharge 1'], 'a new tax');

    assert.equal((await admin.submit(`/wholesale/taxes/${taxId}/end`, { effective_to: '2026-11-25T12:00:00Z' })).status, 303);
    assert.deepEqual((await priced(t)).taxes, ['NY surcharge 1'], 'ended at the very instant the call starts');
  });

  test('a new exchange rate is used by the next call', async () => {
    assert.equal((await admin.submit('/wholesale/exchange-rates', { from_currency: 'USD', to_currency: 'EUR', rate: '0.95', effective_from: '2026-11-25 12:00' })).status, 303);
    assert.equal((await priced(t)).fx, '0.95', 'in force from the call’s very start');
    assert.equal((await admin.submit('/wholesale/exchange-rates', { from_currency: 'USD', to_currency: 'EUR', rate: '0.97', effective_from: '2026-11-25 12:01' })).status, 303);
    assert.equal((await priced(t)).fx, '0.95', 'a rate from after the call’s start does not apply');
  });

  test('a rotated credential: the old one is refused at once, the new one accepted', async () => {
    assert.equal((await post(t)).status, 200);
    const rotated = await admin.submit(`/wholesale/platforms/${platformId}/rotate`, { confirm: 'yes' }, `/wholesale/platforms/${platformId}`);
    assert.equal(rotated.status, 200);
    const old = token;
    token = credentialIn(rotated.text);
    assert.notEqual(token, old);
    assert.equal((await post(t, old)).status, 401);
    assert.equal((await post(t, token)).status, 200);
  });

  test('a deactivated platform is refused at once, and accepted again once reactivated; so is an allow-list change', async () => {
    assert.equal((await admin.submit(`/wholesale/platforms/${platformId}`, platformForm({ active: '', confirm: 'yes' }))).status, 303);
    const off = await post(t);
    assert.equal(off.status, 403);
    assert.match(off.body.error, /not active/);
    assert.equal((await admin.submit(`/wholesale/platforms/${platformId}`, platformForm())).status, 303);
    assert.equal((await post(t)).status, 200);

    assert.equal((await admin.submit(`/wholesale/platforms/${platformId}`, platformForm({ allowed_sources: '192.0.2.0/24' }))).status, 303);
    assert.equal((await post(t)).status, 403);
    assert.equal((await admin.submit(`/wholesale/platforms/${platformId}`, platformForm())).status, 303);
    assert.equal((await post(t)).status, 200);
  });

  // With the listener down, or a change that no notice tells of: cache-versions.test.ts.

  test(
    'another process on the same database drops its copy through NOTIFY within a second',
    { skip: process.env.TEST_DATABASE_URL ? false : 'embedded Postgres serves one process only (PGlite does not pass NOTIFY between its socket connections)' },
    async () => {
      const peer = await createPeerApp(t);
      try {
        /** Polls `probe` on the peer until it answers `want` (at most a second after the change). */
        const eventually = async <T>(what: string, probe: () => Promise<T>, want: T) => {
          const started = Date.now();
          let got = await probe();
          while (JSON.stringify(got) !== JSON.stringify(want) && Date.now() - started < 1000) {
            await new Promise((r) => setTimeout(r, 20));
            got = await probe();
          }
          assert.deepEqual(got, want, `${what}: the peer still answers ${JSON.stringify(got)} after ${Date.now() - started} ms`);
        };
        // The peer serves from memory once its listener is up.
        await eventually('warm', async () => {
          await priced(peer);
          return peer.referenceData.platforms.cached && peer.referenceData.usageTaxes.cached && peer.referenceData.exchangeRates.cached;
        }, true);
        callStart = '2026-11-26T12:00:00Z'; // after every rate added so far: 0.97 is in force
        assert.deepEqual(await priced(peer), { fx: '0.97', taxes: ['NY surcharge 1'] });

        const surcharge = (await t.db('taxes').where({ name: 'NY surcharge' }).first()).id;
        assert.equal((await admin.submit(`/wholesale/taxes/${surcharge}`, taxForm({ name: 'NY surcharge', rate: '2', priority: '2' }))).status, 303);
        await eventually('tax', async () => (await priced(peer)).taxes, ['NY surcharge 2']);

        assert.equal((await admin.submit(`/wholesale/tax-jurisdictions/${jurisdictionId}`, { country: 'US', region: 'NJ', name: 'New York' })).status, 303);
        await eventually('jurisdiction', async () => (await priced(peer)).taxes, []);

        assert.equal((await admin.submit('/wholesale/exchange-rates', { from_currency: 'USD', to_currency: 'EUR', rate: '0.99', effective_from: '2026-11-26 00:00' })).status, 303);
        await eventually('exchange rate', async () => (await priced(peer)).fx, '0.99');

        const rotated = await admin.submit(`/wholesale/platforms/${platformId}/rotate`, { confirm: 'yes' }, `/wholesale/platforms/${platformId}`);
        const old = token;
        token = credentialIn(rotated.text);
        await eventually('rotated credential', async () => [(await post(peer, old)).status, (await post(peer, token)).status], [401, 200]);

        assert.equal((await admin.submit(`/wholesale/platforms/${platformId}`, platformForm({ active: '', confirm: 'yes' }))).status, 303);
        await eventually('deactivated', async () => (await post(peer)).status, 403);
      } finally {
        await peer.close();
      }
    },
  );
});
