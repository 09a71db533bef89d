import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { makeReseller, makeSubscriber, makeUser } from '../support/factories';

/**
 * 20261208005000 (emails unique per party), 20261208005010 and 20261208005020 (number ranges and
 * their backfill): data of before them stays valid after them.
 */
describe('migrations: logins per party, number ranges backfilled', () => {
  let t: TestDatabase;
  before(async () => {
    t = await createTestDatabase({ migrate: false });
  });
  after(() => t.close());

  test("every active number gets a range of its reseller's (consecutive numbers of one length merged; released ones left out), and emails become unique per party", async () => {
    // Up to just before the three migrations (whatever comes after them).
    for (;;) {
      const [, pending] = (await t.db.migrate.list()) as [unknown[], Array<{ file: string }>];
      const next = pending[0]?.file;
      if (!next || next >= '20261208005000') break;
      await t.db.migrate.up();
    }
    const a = await makeReseller(t.db);
    const b = await makeReseller(t.db);
    // The factory would add ranges; before the migration there is no table for them, so numbers go in directly.
    const subA = await makeSubscriber(t.db, a.id);
    const subA2 = await makeSubscriber(t.db, a.id);
    const subB = await makeSubscriber(t.db, b.id);
    const number = (reseller: number, subscriber: number, n: string, released = false) =>
      t.db('phone_numbers').insert({ reseller_id: reseller, subscriber_id: subscriber, number: n, released_at: released ? new Date() : null });
    // a: a run of three across two subscribers, a lone number, one of another length right after the run; b: the number after a's run.
    await number(a.id, subA.id, '+12125550100');
    await number(a.id, subA2.id, '+12125550101');
    await number(a.id, subA.id, '+12125550102');
    await number(a.id, subA.id, '+12125550200');
    await number(a.id, subA.id, '+121255501030');
    await number(b.id, subB.id, '+12125550103');
    // Released: no range (it is nobody's now).
    await number(a.id, subA.id, '+12125550300', true);

    await t.db.migrate.latest();
    const ranges = await t.db('number_ranges').orderBy(['reseller_id', 'first_number']).select('reseller_id', 'first_number', 'last_number');
    assert.deepEqual(ranges.map((r) => [Number(r.reseller_id) === a.id ? 'a' : 'b', r.first_number, r.last_number]), [
      ['a', '+12125550100', '+12125550102'],
      ['a', '+121255501030', '+121255501030'],
      ['a', '+12125550200', '+12125550200'],
      ['b', '+12125550103', '+12125550103'],
    ]);
    // The exclusion constraint holds from now on.
    await assert.rejects(t.db('number_ranges').insert({ reseller_id: b.id, first_number: '+12125550150', last_number: '+12125550250' }), /number_ranges_no_overlap/);

    // One email in two parties is allowed now; twice in one party is not (in any case).
    await makeUser(t.db, 'wholesale_admin', { email: 'same@example.com' });
    await makeUser(t.db, 'reseller_admin', { resellerId: a.id, email: 'same@example.com' });
    await makeUser(t.db, 'subscriber', { resellerId: b.id, subscriberId: subB.id, email: 'same@example.com' });
    await assert.rejects(makeUser(t.db, 'reseller_support', { resellerId: a.id, email: 'SAME@example.com' }), /users_party_email_key/);
    await assert.rejects(makeUser(t.db, 'wholesale_support', { email: 'Same@Example.com' }), /users_party_email_key/);
  });
});
