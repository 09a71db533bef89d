import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { CacheVersions } from '../../src/db/cache-versions';
import { createPeerApp, createTestApp, type TestApp } from '../support/app';
import { makeExchangeRate, makeJurisdiction, makePlan, makeRates, makeReseller, makeSubscriber, makeTax, rateRow, step, stepsJson } from '../support/factories';
import { makePlatform, postCdrs } from '../support/intake';

/**
 * One protocol for every in-memory cache (db/cache-versions.ts, docs/ARCHITECTURE.md, "Caches"): a
 * change that no notice tells of (a hand edit, a notice sent while the listener was down, the
 * embedded database that has no listener) is seen within the bound by every cache the intake
 * reads: platforms, rate plans, usage taxes, exchange rates, holders of numbers.
 */
describe('caches: a change nobody announced is seen within the bound, by every cache', () => {
  /** CACHE_CHECK_SECONDS of the apps here: the longest a copy is served unconfirmed. */
  const BOUND_MS = 300;
  /** What a loaded two-core machine may add to it (the copies would otherwise be served for ever). */
  const SLACK_MS = 2700;
  const NUMBER = '+12125550177';
  const CALL_START = '2026-11-25T12:00:00Z';
  let t: TestApp;
  let platform: { id: number; token: string };
  let planId: number;
  let taxId: number;
  let fxId: number;
  let subscriberId: number;
  let seq = 0;

  const post = (app: TestApp) => {
    const end = new Date(Date.parse(CALL_START) + 60_000).toISOString();
    return postCdrs(app, platform.token, { leg_id: `cv-${++seq}`, calling: NUMBER, called: '+442079460000', start: CALL_START, answer: CALL_START, end });
  };
  /** What a post through `app` is answered and priced with: every cache the intake reads shows in it. */
  const seen = async (app: TestApp) => {
    const res = await post(app);
    if (res.status !== 200) return { status: res.status };
    const leg = res.body.records[0].legs[0];
    if (leg.status !== 'rated') return { status: res.status, leg: leg.status };
    const charge = await t.db('charges').where({ leg_id: leg.id, kind: 'wholesale' }).first();
    const taxes = (typeof charge.taxes === 'string' ? JSON.parse(charge.taxes) : charge.taxes) as Array<{ rate: string }>;
    return { status: res.status, leg: leg.status, revision: charge.plan_revision, fx: Number(charge.exchange_rate).toString(), tax: taxes.map((x) => Number(x.rate)) };
  };
  /** Polls until `app` answers `want`; returns how long that took after the change. */
  const within = async (app: TestApp, want: object, changedAt: number) => {
    let got: object = await seen(app);
    while (JSON.stringify(got) !== JSON.stringify(want) && Date.now() - changedAt < BOUND_MS + SLACK_MS) {
      await new Promise((r) => setTimeout(r, 25));
      got = await seen(app);
    }
    const took = Date.now() - changedAt;
    assert.deepEqual(got, want, `still served ${JSON.stringify(got)} ${took} ms after the change`);
    return took;
  };
  /**
   * Changes every kind in one transaction, as a hand edit would: no NOTIFY, nothing dropped in this
   * process (the test app drops its copies only on writes outside a transaction).
   */
  const editByHand = (round: number) =>
    t.db.transaction(async (tx) => {
      await tx('taxes').where({ id: taxId }).update({ rate: String(round) });
      await tx('exchange_rates').where({ id: fxId }).update({ rate: `0.9${round}` });
      await tx('rates').where({ rate_plan_id: planId }).update({ steps: stepsJson(step(`0.0${round}00`)) });
      await tx('rate_plans').where({ id: planId }).update({ revision: tx.raw('revision + 1') });
    });
  const revisionNow = async () => (await t.db('rate_plans').where({ id: planId }).first()).revision as number;

  before(async () => {
    t = await createTestApp({ CACHE_CHECK_SECONDS: String(BOUND_MS / 1000) });
    platform = await makePlatform(t.db);
    const plan = await makePlan(t.db, null, { currency: 'USD' });
    planId = plan.id;
    await makeRates(t.db, rateRow(plan, { rate: '0.0100' }));
    const reseller = await makeReseller(t.db, { currency: 'EUR', wholesale_plan_id: plan.id, billing_service: false });
    subscriberId = (await makeSubscriber(t.db, reseller.id, { country: 'US', region: 'NY' }, [NUMBER])).id;
    const jurisdiction = await makeJurisdiction(t.db, { country: 'US', region: 'NY' });
    taxId = (await makeTax(t.db, null, jurisdiction.id, { rate: '1', effective_from: '2020-01-01T00:00:00Z' })).id;
    fxId = (await makeExchangeRate(t.db, 'USD', 'EUR', '0.91', '2020-01-01T00:00:00Z')).id;
  });
  after(() => t.close());

  test('a hand edit (no notice) of plans, taxes, exchange rates, platforms and parties: every cache sees it within the bound, embedded or not', async () => {
    assert.deepEqual(await seen(t), { status: 200, leg: 'rated', revision: await revisionNow(), fx: '0.91', tax: [1] });
    const checks = t.cacheVersions.checks;
    const began = Date.now();
    for (let i = 0; i < 10; i++) await seen(t);
    // At most one check per bound that passed (plus the one under way), however slow the machine:
    // the posts between checks are served from memory.
    const allowed = 2 + Math.floor((Date.now() - began) / BOUND_MS);
    assert.ok(t.cacheVersions.checks - checks <= Math.min(allowed, 9), `served from memory between checks (${t.cacheVersions.checks - checks} checks for 10 posts in ${Date.now() - began} ms)`);

    let changedAt = Date.now();
    await editByHand(2);
    await within(t, { status: 200, leg: 'rated', revision: await revisionNow(), fx: '0.92', tax: [2] }, changedAt);

    changedAt = Date.now();
    await t.db.transaction((tx) => tx('subscribers').where({ id: subscriberId }).update({ status: 'inactive' }));
    await within(t, { status: 200, leg: 'blocked' }, changedAt);
    await t.db.transaction((tx) => tx('subscribers').where({ id: subscriberId }).update({ status: 'active' }));

    changedAt = Date.now();
    await t.db.transaction((tx) => tx('platforms').where({ id: platform.id }).update({ active: false }));
    await within(t, { status: 403 }, changedAt);
    await t.db('platforms').where({ id: platform.id }).update({ active: true });
    assert.equal((await post(t)).status, 200);
  });

  test('a plan changed behind the cache is compiled again within the bound; a plan whose revision did not move is kept', async () => {
    const other = await makePlan(t.db, null, { currency: 'USD' });
    await makeRates(t.db, rateRow(other, { rate: '0.0500' }));
    const held = await t.planCache.get(t.db, planId);
    const kept = await t.planCache.get(t.db, other.id);
    assert.ok(held && kept);
    const changedAt = Date.now();
    await editByHand(5);
    let fresh = await t.planCache.get(t.db, planId);
    while (fresh === held && Date.now() - changedAt < BOUND_MS + SLACK_MS) {
      await new Promise((r) => setTimeout(r, 25));
      fresh = await t.planCache.get(t.db, planId);
    }
    assert.notEqual(fresh, held, 'compiled again');
    assert.equal(fresh?.revision, await revisionNow());
    assert.equal(await t.planCache.get(t.db, other.id), kept, 'the other plan is not compiled again');
  });

  test('a read inside a transaction whose check is due checks through that transaction (embedded: another connection would wait for it)', async () => {
    await t.planCache.get(t.db, planId);
    await new Promise((r) => setTimeout(r, BOUND_MS + 50));
    const plan = await Promise.race([
      t.db.transaction(async (tx) => {
        await tx('taxes').where({ id: taxId }).update({ rate: '6' });
        return t.planCache.get(tx, planId);
      }),
      new Promise((_, reject) => setTimeout(() => reject(new Error('the read waited on another connection')), 5000)),
    ]);
    assert.ok(plan);
  });

  test('a reader that comes after a hint does not settle for a check begun before it (whose snapshot may miss the change)', async () => {
    const versions = new CacheVersions(t.db, { maxAgeMs: 60_000 });
    const seenVersions: string[] = [];
    let open: () => void = () => undefined;
    const gate = new Promise<void>((r) => (open = r));
    versions.register({
      kind: 'taxes',
      async versionMoved(_db, version) {
        seenVersions.push(version);
        if (seenVersions.length === 1) await gate; // the first check stays in flight
      },
    });
    const first = versions.ready(t.db);
    assert.ok(first, 'nothing confirmed yet: the reader waits for a check');
    while (seenVersions.length === 0) await new Promise((r) => setTimeout(r, 5));
    await t.db.transaction((tx) => tx('taxes').where({ id: taxId }).update({ rate: '7' }));
    const committed = (await t.db('cache_versions').where({ kind: 'taxes' }).first()).version as string;
    versions.unconfirm(); // the change's notice
    const second = versions.ready(t.db);
    open();
    await Promise.all([first, second]);
    assert.equal(seenVersions.at(-1), String(committed), 'the later reader waited for a check that saw the change');
    assert.equal(versions.ready(t.db), undefined, 'and that check confirms');
  });

  test(
    'with its listener connection killed and kept down, a process sees a change made meanwhile within the bound, and checks everything once it listens again',
    { skip: process.env.TEST_DATABASE_URL ? false : 'the embedded database has no change listener (the test above covers it)' },
    async () => {
      // The peer's listener reaches Postgres through a proxy this test can keep from reconnecting.
      const target = new URL(t.url);
      const upstream = new Set<net.Socket>();
      /** Connections taken and never answered while the way is cut (a firewall dropping packets). */
      const held = new Set<net.Socket>();
      let refusing = false;
      const proxy = net.createServer((client) => {
        if (refusing) {
          held.add(client);
          client.on('error', () => undefined);
          return;
        }
        const server = net.connect(Number(target.port || 5432), target.hostname);
        upstream.add(server);
        server.on('close', () => upstream.delete(server));
        client.pipe(server).pipe(client);
        client.on('error', () => server.destroy());
        server.on('error', () => client.destroy());
        client.on('close', () => server.destroy());
      });
      await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
      const listenUrl = new URL(t.url);
      listenUrl.host = `127.0.0.1:${(proxy.address() as net.AddressInfo).port}`;
      const peer = await createPeerApp(t, { CACHE_CHECK_SECONDS: String(BOUND_MS / 1000) }, { listenUrl: listenUrl.toString() });
      try {
        for (let i = 0; i < 100 && !peer.cacheVersions.isListening; i++) await new Promise((r) => setTimeout(r, 20));
        assert.ok(peer.cacheVersions.isListening, 'the peer listens');
        const before = await seen(peer);
        assert.equal(before.leg, 'rated');

        // The listener's backend, by the proxy's port on the server's side; its reconnection then hangs.
        refusing = true;
        const ports = [...upstream].map((s) => String(s.localPort));
        const killed = await t.db.raw(
          `select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and application_name = 'voip-billing change listener' and client_port = any(?::int[])`,
          [ports],
        );
        assert.equal(killed.rows.length, 1, 'the peer has one listener connection');
        for (let i = 0; i < 100 && peer.cacheVersions.isListening; i++) await new Promise((r) => setTimeout(r, 10));
        assert.ok(!peer.cacheVersions.isListening, 'the peer knows its listener is down');
        // Read while it is down: what a process holds then must not outlive a change either.
        assert.equal((await seen(peer)).leg, 'rated');

        const changedAt = Date.now();
        await editByHand(3);
        const took = await within(peer, { status: 200, leg: 'rated', revision: await revisionNow(), fx: '0.93', tax: [3] }, changedAt);
        // Still down well past the listener's retries: copies are served from memory between checks.
        await new Promise((r) => setTimeout(r, Math.max(0, 1500 - took)));
        assert.ok(!peer.cacheVersions.isListening, 'still down');
        const checks = peer.cacheVersions.checks;
        for (let i = 0; i < 10; i++) await seen(peer);
        assert.ok(peer.cacheVersions.checks - checks <= 3, `a check at most every ${BOUND_MS} ms, not one a post (${peer.cacheVersions.checks - checks} for 10 posts)`);

        // Back up: the listener reconnects (within a second or so) and everything is checked first.
        refusing = false;
        for (const s of held) s.destroy();
        for (let i = 0; i < 200 && !peer.cacheVersions.isListening; i++) await new Promise((r) => setTimeout(r, 20));
        assert.ok(peer.cacheVersions.isListening, 'listening again');
        const again = Date.now();
        await editByHand(4);
        await within(peer, { status: 200, leg: 'rated', revision: await revisionNow(), fx: '0.94', tax: [4] }, again);
      } finally {
        refusing = false;
        for (const s of held) s.destroy();
        await peer.close();
        for (const s of upstream) s.destroy();
        await new Promise((r) => proxy.close(r));
      }
    },
  );
});
