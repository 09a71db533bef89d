import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DEMO_PASSWORD, firstStart } from '../../src/cli/demo-data';
import { verifyPassword } from '../../src/modules/auth/passwords';
import { createTestDatabase, type TestDatabase } from '../support/db';

describe('the first start with the demo data (npm run demo)', () => {
  let d: TestDatabase;
  before(async () => {
    d = await createTestDatabase();
  });
  after(() => d.close());

  test('ADMIN_EMAIL naming a demo login starts (was a duplicate-email failure), and no admin@localhost is made beside the demo operator; a second start changes nothing', async () => {
    const start = await firstStart(d.db, { email: 'ops@operator.example', password: 'an-admin-password-1' }, { demo: true });
    assert.equal(start.first, undefined, 'the demo operator is the first admin');
    assert.ok(start.demo?.some((l) => l.email === 'ops@operator.example'));
    const admins = await d.db('users').where({ role: 'wholesale_admin' }).pluck('email');
    assert.deepEqual(admins, ['ops@operator.example']);
    assert.equal(await d.db('users').where({ email: 'admin@localhost' }).first(), undefined);
    const ops = await d.db('users').where({ email: 'ops@operator.example' }).first();
    assert.ok(await verifyPassword(ops.password_hash, DEMO_PASSWORD), 'the demo login uses the demo password, as the start says');

    // Feature packages: a catalogue, the operator's packages offered to both resellers, and every
    // demo subscriber holding one of its reseller's packages built on them.
    assert.ok(Number((await d.db('features').count('* as n').first())?.n) >= 6);
    assert.equal(Number((await d.db('feature_package_offers').count('* as n').first())?.n), 4);
    const without = await d.db('subscribers as s').whereNotExists(d.db('package_assignments as a').whereRaw('a.subscriber_id = s.id').whereNotNull('a.feature_package_id').select(d.db.raw('1'))).pluck('s.account_number');
    assert.deepEqual(without, []);

    const again = await firstStart(d.db, { email: 'ops@operator.example' }, { demo: true });
    assert.deepEqual(again, { first: undefined, demo: null });
  });
});
