import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { importDeck, INLINE_IMPORT_MAX_LINES } from '../../src/modules/rate-plans/rate-plans.service';
import { createTestApp, type TestApp } from '../support/app';
import { makeUser } from '../support/factories';
import { Client } from '../support/http';
import { DECK_HEADER } from '../support/rating';
import { until } from '../support/wait';

async function upload(c: Client, path: string, csv: string, fields: Record<string, string> = {}) {
  let req = c.agent.post(path).field('_csrf', c.csrf);
  for (const [k, v] of Object.entries(fields)) req = req.field(k, v);
  return req.attach('file', Buffer.from(csv), 'deck.csv');
}

/** A deck of `n` one-step rates, generated here; `bad` rows (1-based among the data rows) get a rate that is no number. */
function deck(n: number, bad: number[] = []): string {
  const out = [DECK_HEADER];
  for (let i = 1; i <= n; i++) out.push(`${1_000_000 + i},Destination ${i},outbound,,0,${bad.includes(i) ? 'x' : '0.0100'},60,60,,,,`);
  return `${out.join('\n')}\n`;
}

describe('a large deck imports as a job: progress, all or nothing, every refused row by line', () => {
  let t: TestApp;
  let admin: Client;
  let adminUser: Awaited<ReturnType<typeof makeUser>>;

  before(async () => {
    t = await createTestApp();
    adminUser = await makeUser(t.db, 'wholesale_admin');
    admin = await Client.login(t.app, adminUser.email);
  });
  after(() => t.close());

  async function newPlan(name: string) {
    const res = await admin.submit('/wholesale/rate-plans', { name, currency: 'USD', rounding_decimals: '4', rounding_method: 'half_up', time_zone: 'UTC', band_mode: 'split' }, '/wholesale/rate-plans/new');
    assert.equal(res.status, 303);
    const id = Number(/\/(\d+)$/.exec(res.headers.location as string)?.[1]);
    await admin.refreshCsrf(`/wholesale/rate-plans/${id}`);
    return id;
  }
  const rateCount = async (id: number) => Number((await t.db('rates').where({ rate_plan_id: id }).count('* as n').first())?.n);
  const finished = (jobId: number) => until(`job ${jobId} ends`, async () => {
    const j = await t.db('jobs').where({ id: jobId }).first();
    return j.status === 'done' || j.status === 'failed' ? j : undefined;
  }, 300_000);

  test('100,000 rows with a bad rate on row 99,999: nothing imported, the row named by its line, the file dropped; then the good file: every rate, once', async () => {
    const id = await newPlan('Big deck');
    const revision = Number((await t.db('rate_plans').where({ id }).first()).revision);
    const bad = await upload(admin, `/wholesale/rate-plans/${id}/deck`, deck(100_000, [99_999]), { mode: 'replace' });
    assert.equal(bad.status, 303, bad.text.slice(0, 300));
    const badJob = Number(/^\/wholesale\/jobs\/(\d+)$/.exec(bad.headers.location as string)?.[1]);
    assert.ok(badJob, `sent to the job's page, not ${bad.headers.location}`);
    assert.equal(Number((await t.db('rate_plan_imports').count('* as n').first())?.n), 1, 'the file waits for its job');
    const failed = await finished(badJob);
    assert.equal(failed.result.ok, false);
    assert.deepEqual(failed.result.rowErrors, [{ line: 100_000, message: 'rate "x" is not a non-negative decimal number' }], 'header on line 1: data row 99,999 is line 100,000');
    assert.equal(await rateCount(id), 0, 'all or nothing');
    assert.equal(Number((await t.db('rate_plans').where({ id }).first()).revision), revision);
    assert.equal(Number((await t.db('rate_plan_imports').count('* as n').first())?.n), 0, 'the file is dropped');
    const page = await admin.get(`/wholesale/jobs/${badJob}`);
    assert.match(page.text, /Nothing was imported: 1 row refused/);
    assert.match(page.text, /<li>Line 100000: rate &#34;x&#34; is not a non-negative decimal number<\/li>/);
    assert.match(page.text, new RegExp(`href="/wholesale/rate-plans/${id}"`), 'the way back to the plan');

    const good = await upload(admin, `/wholesale/rate-plans/${id}/deck`, deck(100_000), { mode: 'replace' });
    const goodJob = Number(/^\/wholesale\/jobs\/(\d+)$/.exec(good.headers.location as string)?.[1]);
    const done = await finished(goodJob);
    assert.equal(done.status, 'done');
    assert.equal(done.result.ok, true);
    assert.equal(done.result.rates, 100_000);
    assert.deepEqual([done.done, done.total], [100_000, 100_000], 'its progress ends at the whole deck');
    assert.equal(await rateCount(id), 100_000);
    assert.ok(Number((await t.db('rate_plans').where({ id }).first()).revision) > revision, 'the revision moved');
    const audit = await t.db('audit_log').where({ entity_type: 'rate_plan', entity_id: id, action: 'import_deck' });
    assert.equal(audit.length, 1);
    assert.equal(audit[0].after.rows, 100_000);
    assert.equal(audit[0].actor_user_id, adminUser.id, 'audited as the person who imported it');
    assert.match((await admin.get(`/wholesale/jobs/${goodJob}`)).text, /Deck imported \(replace\): 100000 rates, 100000 new/);
    assert.match((await admin.get(`/wholesale/rate-plans/${id}`)).text, /data-testid="rate-count">100000</);
    const plan = await t.planCache.get(t.db, id);
    assert.ok(plan, 'the plan compiles with every rate');
  });

  test('a small file stays inline; the import reports its progress batch by batch from inside its transaction', async () => {
    const id = await newPlan('Small deck');
    const small = await upload(admin, `/wholesale/rate-plans/${id}/deck`, deck(INLINE_IMPORT_MAX_LINES - 1), { mode: 'replace' });
    assert.equal(small.status, 303);
    assert.equal(small.headers.location, `/wholesale/rate-plans/${id}`, 'no job');
    assert.equal(await rateCount(id), INLINE_IMPORT_MAX_LINES - 1);

    const seen: Array<[number, number]> = [];
    const actor = { userId: adminUser.id, email: adminUser.email, role: 'wholesale_admin' as const, scope: { kind: 'wholesale' as const } };
    await importDeck(t.db, t.planCache, actor, { kind: 'operator' }, id, deck(5000), { mode: 'replace', progress: async (p) => void seen.push([p.done, p.total]) });
    assert.deepEqual(seen, [[0, 5000], [2000, 5000], [4000, 5000], [5000, 5000]]);
  });

  test("while an import waits or runs, the plan's page points at its progress", async () => {
    const id = await newPlan('Waiting deck');
    await t.worker!.stop();
    let jobId: number;
    try {
      const res = await upload(admin, `/wholesale/rate-plans/${id}/deck`, deck(INLINE_IMPORT_MAX_LINES + 1), { mode: 'replace' });
      jobId = Number(/^\/wholesale\/jobs\/(\d+)$/.exec(res.headers.location as string)?.[1]);
      const page = await admin.get(`/wholesale/rate-plans/${id}`);
      assert.match(page.text, new RegExp(`data-testid="import-running">A deck import is queued\\. <a href="/wholesale/jobs/${jobId}">See its progress</a>`));
      assert.match((await admin.get(`/wholesale/jobs/${jobId}`)).text, /data-testid="job-queued"/);
    } finally {
      t.worker!.start();
    }
    const done = await finished(jobId);
    assert.equal(done.result.rates, INLINE_IMPORT_MAX_LINES + 1);
    assert.doesNotMatch((await admin.get(`/wholesale/rate-plans/${id}`)).text, /data-testid="import-running"/);
  });

  test('the deck template: the header and two example rows that import as they are', async () => {
    const res = await admin.get('/wholesale/rate-plans/deck-template.csv');
    assert.equal(res.status, 200);
    assert.match(res.headers['content-type'] as string, /text\/csv/);
    const lines = res.text.trim().split('\n');
    assert.equal(lines[0], DECK_HEADER);
    assert.equal(lines.length, 3);
    const id = await newPlan('From the template');
    assert.equal((await upload(admin, `/wholesale/rate-plans/${id}/deck`, res.text, { mode: 'merge' })).status, 303);
    const rate = await t.db('rates').where({ rate_plan_id: id }).first();
    assert.equal(rate.prefix, '44');
    assert.equal(rate.steps.length, 2, 'two steps of one rate');
  });
});
