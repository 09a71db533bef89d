/**
 * The intake rates small posts with holders of numbers from memory (HoldersCache) and checks, in
 * the statement that stores the legs, that no number, subscriber or reseller has changed since
 * (party_version). These tests change holders between posts, by direct SQL as another process
 * would, and find every post charged to the holder of its time.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestApp, type TestApp } from '../support/app';
import { makePlan, makeReseller, makeSubscriber, makeRates, rateRow } from '../support/factories';
import { makePlatform, postCdrs } from '../support/intake';
import { HoldersCache, holdersOf, StaleHoldersError } from '../../src/modules/rating/holders';
import { IntakePipeline } from '../../src/modules/intake/pipeline';
import { parsePost, ratePosts, writePosts, writeSimplePosts, type ParsedPost } from '../../src/modules/intake/intake.service';
import { getPlatform } from '../../src/modules/platforms/platforms.repository';

describe('CDR intake: holders of numbers from memory, never stale', () => {
  let t: TestApp;
  let token: string;
  let platformId: number;
  let reseller: { id: number; name: string };
  let a: { id: number };
  let b: { id: number };
  // Queries that read phone_numbers (the holders look-up and the cache's load).
  let numberQueries = 0;

  before(async () => {
    t = await createTestApp();
    ({ token, id: platformId } = await makePlatform(t.db));
    const wholesale = await makePlan(t.db, null, { name: 'WS', currency: 'USD', rounding_decimals: 4 });
    reseller = await makeReseller(t.db, { wholesale_plan_id: wholesale.id, billing_service: false });
    a = await makeSubscriber(t.db, reseller.id, {}, ['+12125550100']);
    b = await makeSubscriber(t.db, reseller.id);
    await t.db('phone_numbers').where({ number: '+12125550100' }).update({ assigned_at: '2026-01-01T00:00:00Z' });
    await makeRates(t.db, rateRow(wholesale, { rate: '0.0600' }));
    t.db.on('query', (q: { sql?: string }) => {
      if (typeof q.sql === 'string' && q.sql.includes('phone_numbers')) numberQueries++;
    });
  });
  after(() => t.close());

  const leg = (id: string, calling: string, at: string) => ({
    leg_id: id, calling, called: '+442079460000', start: at, answer: at, end: new Date(Date.parse(at) + 60_000).toISOString(),
  });
  const storedLeg = (id: number) => t.db('call_legs').where({ id }).first();

  /** Parses and rates posts as the pipeline's rating stage does, with holders from `holders`. */
  const rateWith = async (holders: HoldersCache, at: string, ids: string[]) => {
    const platform = (await getPlatform(t.db, platformId))!;
    const parsed: ParsedPost[] = [];
    for (const id of ids) parsed.push((await parsePost(t.db, { platform, body: JSON.stringify(leg(id, '+12125550100', at)), contentType: 'application/json', sourceIp: '127.0.0.1' })) as ParsedPost);
    return ratePosts(t.db, { plans: t.planCache, refs: t.referenceData }, parsed, { holders: (db, n) => holders.get(db, n) });
  };

  test('a post whose numbers are known is rated without a query; a change of holder between posts is seen at once', async () => {
    const first = await postCdrs(t, token, leg('H-1', '+12125550100', '2026-11-25T12:00:00Z'));
    assert.equal(first.body.records[0].legs[0].status, 'rated', JSON.stringify(first.body));
    assert.equal((await storedLeg(first.body.records[0].legs[0].id)).subscriber_id, a.id);

    // The first post was read from the database while the numbers loaded beside it.
    await postCdrs(t, token, leg('H-1b', '+12125550100', '2026-11-25T12:05:00Z'));
    const before = numberQueries;
    const second = await postCdrs(t, token, leg('H-2', '+12125550100', '2026-11-25T12:10:00Z'));
    assert.equal((await storedLeg(second.body.records[0].legs[0].id)).subscriber_id, a.id);
    // The called number is nobody's and the calling one is remembered: nothing was read.
    assert.equal(numberQueries, before, 'the second post read phone_numbers');

    // The number moves from A to B at 13:00, written as another process would.
    await t.db.transaction(async (tx) => {
      await tx('phone_numbers').where({ number: '+12125550100' }).update({ released_at: '2026-11-25T13:00:00Z' });
      await tx('phone_numbers').insert({ reseller_id: reseller.id, subscriber_id: b.id, number: '+12125550100', assigned_at: '2026-11-25T13:00:00Z' });
    });
    const moved = await postCdrs(t, token, leg('H-3', '+12125550100', '2026-11-25T14:00:00Z'));
    const l = moved.body.records[0].legs[0];
    assert.equal(l.status, 'rated', JSON.stringify(moved.body));
    assert.equal((await storedLeg(l.id)).subscriber_id, b.id);
    // A call of before the move still goes to A.
    const earlier = await postCdrs(t, token, leg('H-4', '+12125550100', '2026-11-25T12:30:00Z'));
    assert.equal((await storedLeg(earlier.body.records[0].legs[0].id)).subscriber_id, a.id);
  });

  test('a number that becomes ours, and a subscriber or reseller that is deactivated, count from the next post', async () => {
    const before = await postCdrs(t, token, leg('N-1', '+13055550199', '2026-11-25T15:00:00Z'));
    assert.equal(before.body.records[0].legs[0].status, 'unrated');
    assert.match(before.body.records[0].legs[0].reason, /no subscriber has/);

    await t.db('phone_numbers').insert({ reseller_id: reseller.id, subscriber_id: b.id, number: '+13055550199', assigned_at: '2026-01-01T00:00:00Z' });
    const after = await postCdrs(t, token, leg('N-2', '+13055550199', '2026-11-25T15:05:00Z'));
    assert.equal(after.body.records[0].legs[0].status, 'rated', JSON.stringify(after.body));
    assert.equal((await storedLeg(after.body.records[0].legs[0].id)).subscriber_id, b.id);

    await t.db('subscribers').where({ id: b.id }).update({ status: 'inactive' });
    const inactive = await postCdrs(t, token, leg('N-3', '+13055550199', '2026-11-25T15:10:00Z'));
    await t.db('subscribers').where({ id: b.id }).update({ status: 'active' });
    assert.equal(inactive.body.records[0].legs[0].status, 'blocked');

    await t.db('resellers').where({ id: reseller.id }).update({ status: 'inactive' });
    const blocked = await postCdrs(t, token, leg('N-4', '+13055550199', '2026-11-25T15:15:00Z'));
    await t.db('resellers').where({ id: reseller.id }).update({ status: 'active' });
    assert.equal(blocked.body.records[0].legs[0].status, 'blocked');
    assert.match(blocked.body.records[0].legs[0].reason, new RegExp(`${reseller.name} is inactive`));

    const again = await postCdrs(t, token, leg('N-5', '+13055550199', '2026-11-25T15:20:00Z'));
    assert.equal(again.body.records[0].legs[0].status, 'rated');
  });

  test('a write of legs rated at an older party version stores nothing, on both write paths', async () => {
    const holders = new HoldersCache();
    const [one, two] = await rateWith(holders, '2026-11-25T16:00:00Z', ['S-1', 'S-2']);
    assert.ok(one?.partyVersion && two?.partyVersion === one.partyVersion);

    // Any change to a subscriber as rating sees it moves the version on.
    await t.db('subscribers').where({ id: a.id }).update({ region: 'NJ' });
    await assert.rejects(writeSimplePosts(t.db, [one!]), StaleHoldersError);
    await assert.rejects(t.db.transaction((tx) => writePosts(tx, [two!])), StaleHoldersError);
    assert.equal(await t.db('call_legs').whereIn('leg_key', ['S-1', 'S-2']).first(), undefined);

    // Memory alone cannot tell (the change was elsewhere): the refused write is what tells. Rated
    // again after that, as the pipeline does, the cache reloads at the new version.
    holders.invalidate();
    const [again] = await rateWith(holders, '2026-11-25T16:00:00Z', ['S-1']);
    assert.notEqual(again!.partyVersion, one!.partyVersion);
    const [written] = (await writeSimplePosts(t.db, [again!]))!;
    assert.equal(written!.records[0]!.status, 'accepted');
  });

  test('on the COPY path too, a post rated with a holder that changed is rated again before it is stored', async () => {
    const platform = (await getPlatform(t.db, platformId))!;
    const pipeline = new IntakePipeline(t.db, { plans: t.planCache, refs: t.referenceData }, { copy: !t.embedded, copyFromLegs: 1 });
    const submit = (id: string, at: string) => pipeline.submit({ platform, body: JSON.stringify(leg(id, '+13055550188', at)), contentType: 'application/json', sourceIp: '127.0.0.1' });
    await t.db('phone_numbers').insert({ reseller_id: reseller.id, subscriber_id: a.id, number: '+13055550188', assigned_at: '2026-01-01T00:00:00Z' });
    const first = await submit('K-1', '2026-11-25T18:00:00Z');
    assert.equal((await storedLeg(first.body.records[0]!.legs[0]!.id)).subscriber_id, a.id);
    await t.db('phone_numbers').where({ number: '+13055550188' }).update({ subscriber_id: b.id });
    const second = await submit('K-2', '2026-11-25T18:05:00Z');
    assert.equal(second.httpStatus, 200);
    assert.equal((await storedLeg(second.body.records[0]!.legs[0]!.id)).subscriber_id, b.id);
  });

  test('party_version moves on with what rating reads of numbers, subscribers and resellers, and only with that', async () => {
    const version = async () => String((await t.db('party_version').first('version'))?.version);
    const before = await version();
    // A subscriber's name or email is not read by rating: holders stay as they are.
    await t.db('subscribers').where({ id: a.id }).update({ name: 'Renamed', email: 'renamed@example.com' });
    await t.db('resellers').where({ id: reseller.id }).update({ contact_email: 'ops@example.com' });
    assert.equal(await version(), before);
    for (const change of [
      () => t.db('subscribers').where({ id: a.id }).update({ retail_plan_id: null }),
      () => t.db('resellers').where({ id: reseller.id }).update({ currency: 'USD' }),
      () => t.db('phone_numbers').insert({ reseller_id: reseller.id, subscriber_id: b.id, number: '+13055550177' }),
      () => t.db('phone_numbers').where({ number: '+13055550177' }).del(),
    ]) {
      const was = await version();
      await change();
      assert.notEqual(await version(), was);
    }
  });

  test('the cache answers the same as the database, also when it starts again for want of room', async () => {
    const holders = new HoldersCache(2);
    const numbers = ['+12125550100', '+13055550199', '+13055550188', '+442079460000', 'anonymous', '+0123', '+1212555010'];
    for (let round = 0; round < 3; round++) {
      const got = await holders.get(t.db, numbers);
      await holders.loaded();
      const want = await holdersOf(t.db, numbers);
      assert.equal(got.version, want.version);
      assert.deepEqual([...got.assignments.entries()].sort(), [...want.assignments.entries()].sort());
      assert.deepEqual([...got.parties.keys()].sort(), [...want.parties.keys()].sort());
      assert.ok(holders.size <= 3, `remembers ${holders.size} numbers, room for 2 (+1 read)`);
    }
    assert.equal(holders.isOurs('+0123'), false);
    assert.equal(holders.isOurs('+12125550100'), true);
    assert.equal(holders.isOurs('+1212555010'), false);
  });

  test('short identities: party_version moves with subscriber_identities, and the cache knows them and answers as the database does', async () => {
    const version = async () => String((await t.db('party_version').first('version'))?.version);
    const holders = new HoldersCache();
    const keys = ['1001@pbx.cache.example', '1002@pbx.cache.example', 'alice@pbx.cache.example', '+12125550100'];
    await holders.get(t.db, keys);
    await holders.loaded();
    assert.equal(holders.isOurs('1001@pbx.cache.example'), false);
    const was = await version();
    await t.db('subscriber_identities').insert({ reseller_id: reseller.id, subscriber_id: a.id, domain: 'pbx.cache.example', identity: '1001', assigned_at: '2026-01-01T00:00:00Z' });
    assert.notEqual(await version(), was, 'a new extension moves the version');
    // The cache read at the old version is not trusted: it starts again, and answers as the database does.
    const got = await holders.get(t.db, keys);
    await holders.loaded();
    const again = await holders.get(t.db, keys);
    const want = await holdersOf(t.db, keys);
    for (const g of [got, again]) {
      assert.equal(g.version, want.version);
      assert.deepEqual([...g.assignments.entries()].sort(), [...want.assignments.entries()].sort());
    }
    assert.deepEqual(want.assignments.get('1001@pbx.cache.example')?.map((x) => x.subscriberId), [a.id]);
    assert.equal(holders.isOurs('1001@pbx.cache.example'), true);
    assert.equal(holders.isOurs('1002@pbx.cache.example'), false);
    const moved = await version();
    await t.db('subscriber_identities').where({ identity: '1001', domain: 'pbx.cache.example' }).update({ released_at: '2026-06-01T00:00:00Z' });
    assert.notEqual(await version(), moved, 'a release moves it too');
  });

  test('posts rated at two versions in one group are refused together', async () => {
    const holders = new HoldersCache();
    const [older] = await rateWith(holders, '2026-11-25T17:00:00Z', ['V-1']);
    await t.db('resellers').where({ id: reseller.id }).update({ tax_exempt: true });
    holders.invalidate();
    const [newer] = await rateWith(holders, '2026-11-25T17:00:00Z', ['V-2']);
    assert.notEqual(older!.partyVersion, newer!.partyVersion);
    await assert.rejects(writeSimplePosts(t.db, [older!, newer!]), StaleHoldersError);
    await t.db('resellers').where({ id: reseller.id }).update({ tax_exempt: false });
  });
});
