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

    const again = await firstStart(d.db, { email: 'ops@operator.example' }, { demo: true });
    assert.deepEqual(again, { first: undefined, demo: null });
  });
});
