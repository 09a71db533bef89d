/**
 * Webhook deliveries do not pile up for ever: the hourly pruning job deletes finished deliveries
 * (delivered, or given up) older than the retention, with their attempts; pending ones stay however
 * old, and so does everything newer than the retention.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Job } from '../../src/modules/jobs/jobs.repository';
import { JobKinds } from '../../src/modules/jobs/jobs.service';
import { SecretBox } from '../../src/modules/auth/secret-box';
import { registerWebhookJobs, WEBHOOK_PRUNING_JOB } from '../../src/modules/webhooks/webhooks.jobs';
import { pruneDeliveries } from '../../src/modules/webhooks/webhooks.retention';
import { insertEndpoint } from '../../src/modules/webhooks/webhooks.repository';
import { createTestApp, TEST_INSTANCE_SECRET, type TestApp } from '../support/app';
import { makeTenants } from '../support/factories';

const DAY = 86_400_000;

describe('webhook deliveries: retention', () => {
  let t: TestApp;
  let endpointId: number;
  let resellerId: number;

  before(async () => {
    t = await createTestApp();
    resellerId = (await makeTenants(t.db)).a.reseller.id;
    endpointId = await insertEndpoint(t.db, { resellerId, url: 'https://hooks.example.com/in', description: 'retention', eventTypes: null, secret: 'sealed' });
  });
  after(() => t.close());

  /** A delivery of `status` that finished `ageDays` ago (pending: made then), with two attempts. */
  const delivery = async (status: 'pending' | 'delivered' | 'failed', ageDays: number): Promise<number> => {
    const at = new Date(Date.now() - ageDays * DAY).toISOString();
    const [row] = await t.db('webhook_deliveries')
      .insert({
        endpoint_id: endpointId, reseller_id: resellerId, event_id: `msg_${status}_${ageDays}_${Math.random().toString(36).slice(2)}`, event_type: 'subscriber.updated',
        entity_type: 'subscriber', entity_id: 1, body: '{}', event_at: at, status, attempts: 2, next_at: at, give_up_at: at, created_at: at, finished_at: status === 'pending' ? null : at,
      })
      .returning('id');
    await t.db('webhook_attempts').insert([1, 2].map(() => ({ delivery_id: row.id, at, status_code: 500, answer: 'no', duration_ms: 5 })));
    return Number(row.id);
  };
  const ids = async () => ((await t.db('webhook_deliveries').where({ endpoint_id: endpointId }).orderBy('id').pluck('id')) as Array<string | number>).map(Number);

  test('finished deliveries past the retention go with their attempts, in batches; pending ones and newer ones stay', async () => {
    const oldDelivered = await Promise.all([1, 2, 3, 4, 5].map(() => delivery('delivered', 40)));
    const oldFailed = await delivery('failed', 31);
    const oldPending = await delivery('pending', 60);
    const recent = await Promise.all([delivery('delivered', 29), delivery('failed', 2)]);
    // A batch of 2: the loop must go on until a short batch.
    assert.equal(await pruneDeliveries(t.db, new Date(Date.now() - 30 * DAY), { batch: 2 }), 6);
    assert.deepEqual(await ids(), [oldPending, ...recent].sort((a, b) => a - b));
    const orphans = await t.db('webhook_attempts').whereIn('delivery_id', [...oldDelivered, oldFailed]).count<{ count: string }[]>('* as count');
    assert.equal(Number(orphans[0]?.count), 0, 'their attempts went with them');
    assert.equal(Number((await t.db('webhook_attempts').whereIn('delivery_id', [oldPending, ...recent]).count<{ count: string }[]>('* as count'))[0]?.count), 6);
    assert.equal(await pruneDeliveries(t.db, new Date(Date.now() - 30 * DAY)), 0, 'nothing more to prune');
  });

  test('the pruning job uses the configured retention and says how many it deleted', async () => {
    const kept = await delivery('delivered', 8);
    const gone = await delivery('delivered', 11);
    // The first test's delivery finished 29 days ago is past 10 days too.
    const due = Number((await t.db('webhook_deliveries').where({ endpoint_id: endpointId }).whereNot('status', 'pending').where('finished_at', '<', new Date(Date.now() - 10 * DAY)).count<{ count: string }[]>('* as count'))[0]?.count);
    assert.equal(due, 2);
    const kinds = new JobKinds();
    registerWebhookJobs(kinds, { db: t.db, box: new SecretBox(TEST_INSTANCE_SECRET), allowPrivate: false, retentionDays: 10 });
    const handler = kinds.get(WEBHOOK_PRUNING_JOB);
    assert.ok(handler, 'the pruning job is registered');
    const result = await handler.run({ job: {} as Job, payload: {}, checkpoint: null, save: async () => undefined, signal: new AbortController().signal } as never);
    assert.equal(result.deleted, 2);
    assert.match(String(result.message), /^2 finished deliveries deleted/);
    const left = await ids();
    assert.ok(left.includes(kept) && !left.includes(gone));
  });
});
