import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { makePlan, makeReseller } from '../support/factories';

/** 20261207002100 (data) and 20261207002200 (schema): no stored rate can have a prefix starting with 0. */
describe('migrations: rates whose prefix starts with 0', () => {
  let t: TestDatabase;
  before(async () => {
    t = await createTestDatabase({ migrate: false });
  });
  after(() => t.close());

  const rate = (planId: number, resellerId: number | null, prefix: string) => ({
    rate_plan_id: planId, reseller_id: resellerId, prefix, direction: 'outbound', effective_from: '2026-01-01T00:00:00Z',
    steps: JSON.stringify([{ from: 0, rate: '0.05', rateUnit: 60, increment: 60 }]),
  });

  test('stored 0044 rates are removed into the plan\'s audit log, the plan moves to a new revision, and the check then refuses them', async () => {
    // Up to just before the two migrations (whatever comes after them), with rows an old import could store.
    for (;;) {
      const [, pending] = (await t.db.migrate.list()) as [unknown[], Array<{ file: string }>];
      const next = pending[0]?.file;
      if (!next || next >= '20261207002100') break;
      await t.db.migrate.up();
    }
    const reseller = await makeReseller(t.db);
    const plan = await makePlan(t.db, reseller.id);
    const untouched = await makePlan(t.db, null);
    await t.db('rates').insert([rate(plan.id, reseller.id, '0044'), rate(plan.id, reseller.id, '011'), rate(plan.id, reseller.id, '44'), rate(untouched.id, null, '1')]);

    await t.db.migrate.latest();
    assert.deepEqual(await t.db('rates').where('rate_plan_id', plan.id).pluck('prefix'), ['44']);
    assert.deepEqual(await t.db('rates').where('rate_plan_id', untouched.id).pluck('prefix'), ['1']);
    assert.deepEqual(await t.db('rate_plans').whereIn('id', [plan.id, untouched.id]).orderBy('id').pluck('revision'), [2, 1]);
    const audit = await t.db('audit_log').where({ entity_type: 'rate_plan', action: 'remove_unmatchable_rates' });
    assert.equal(audit.length, 1);
    assert.equal(Number(audit[0].entity_id), plan.id);
    assert.equal(Number(audit[0].reseller_id), reseller.id);
    assert.deepEqual(audit[0].before.rates.map((r: { prefix: string }) => r.prefix), ['0044', '011']);
    assert.equal(audit[0].after.revision, 2);

    await assert.rejects(t.db('rates').insert(rate(plan.id, reseller.id, '0033')), /rates_prefix_check/);
    await t.db('rates').insert(rate(plan.id, reseller.id, '33'));
  });
});
