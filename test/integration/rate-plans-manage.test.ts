import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { isUnratable, rateLeg } from '../../src/domain/rating/engine';
import { createTestApp, type TestApp } from '../support/app';
import { makeReseller, makeSubscriber, makeUser } from '../support/factories';
import { Client } from '../support/http';
import { decimalCharge, DECK_HEADER } from '../support/rating';

async function upload(c: Client, path: string, csv: string, fields: Record<string, string> = {}) {
  let req = c.agent.post(path).field('_csrf', c.csrf);
  for (const [k, v] of Object.entries(fields)) req = req.field(k, v);
  return req.attach('file', Buffer.from(csv), 'upload.csv');
}

const PLAN = { currency: 'USD', rounding_decimals: '4', rounding_method: 'half_up', time_zone: 'UTC', band_mode: 'split' };
const BANDS = 'band,days,start\npeak,mon-fri,08:00\noffpeak,mon-fri,18:00\noffpeak,sat-sun,00:00\n';
const DECK = `${DECK_HEADER}
1,US,outbound,peak,0,0.10,60,30,0.01,,,
1,US,outbound,offpeak,0,0.04,60,1,,,,
44,UK,outbound,,0,0.05,60,60,,0.02,3.00,
`;

/** The bad rows a form and a file must refuse with the same words. */
const BAD_ROWS: Array<{ why: string; row: Record<string, string>; steps?: Array<Record<string, string>> }> = [
  { why: 'access code prefix and a rate that is not a number', row: { prefix: '0044', rate: 'abc' } },
  { why: 'connect fee above the cap', row: { connect_fee: '0.75', max_cost: '0.50' } },
  { why: 'a band the plan does not have', row: { band: 'weekend' } },
  { why: 'a direction the deck does not know, a zero increment', row: { direction: 'sideways', increment: '0' } },
  { why: 'no first step at 0', row: { interval_start: '30' } },
];

const rowOf = (o: Record<string, string>) => ({
  prefix: '44', description: 'UK', direction: 'outbound', band: '', interval_start: '0', rate: '0.05', rate_unit: '60', increment: '60', connect_fee: '', min_charge: '', max_cost: '', effective_from: '', ...o,
});
const csvLine = (r: ReturnType<typeof rowOf>) => [r.prefix, r.description, r.direction, r.band, r.interval_start, r.rate, r.rate_unit, r.increment, r.connect_fee, r.min_charge, r.max_cost, r.effective_from].join(',');
const formOf = (r: ReturnType<typeof rowOf>, extra: Record<string, string> = {}) => ({
  prefix: r.prefix, description: r.description, direction: r.direction, band: r.band, connect_fee: r.connect_fee, min_charge: r.min_charge, max_cost: r.max_cost, effective_at: '',
  step_0_interval_start: r.interval_start, step_0_rate: r.rate, step_0_rate_unit: r.rate_unit, step_0_increment: r.increment, ...extra,
});
const decode = (s: string) => s.replace(/&#34;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&').replace(/&lt;/g, '<').replace(/&gt;/g, '>');

describe('rate plans managed in the page: list, clone, rename, retire, rates edited and scheduled, versions, comparison', () => {
  let t: TestApp;
  let admin: Client;
  let support: Client;

  before(async () => {
    t = await createTestApp();
    admin = await Client.login(t.app, (await makeUser(t.db, 'wholesale_admin')).email);
    support = await Client.login(t.app, (await makeUser(t.db, 'wholesale_support')).email);
  });
  after(() => t.close());

  async function newPlan(c: Client, base: string, name: string, extra: Record<string, string> = {}) {
    const res = await c.submit(base, { name, ...PLAN, ...extra }, `${base}/new`);
    assert.equal(res.status, 303, res.text.slice(0, 300));
    const id = Number(/\/(\d+)$/.exec(res.headers.location as string)?.[1]);
    await c.refreshCsrf(`${base}/${id}`);
    return id;
  }
  const revision = async (id: number) => Number((await t.db('rate_plans').where({ id }).first('revision')).revision);
  const deckCsv = async (c: Client, base: string, id: number) => (await c.get(`${base}/${id}/deck.csv`)).text;

  test('the list counts plans, active and retired, destinations and assignments', async () => {
    const a = await newPlan(admin, '/wholesale/rate-plans', 'Listed A');
    await newPlan(admin, '/wholesale/rate-plans', 'Listed B');
    assert.equal((await upload(admin, `/wholesale/rate-plans/${a}/bands`, BANDS)).status, 303);
    assert.equal((await upload(admin, `/wholesale/rate-plans/${a}/deck`, DECK, { mode: 'replace' })).status, 303);
    const r = await makeReseller(t.db);
    assert.equal((await admin.submit(`/wholesale/resellers/${r.id}/plan`, { wholesale_plan_id: String(a) })).status, 303);
    const list = await admin.get('/wholesale/rate-plans');
    const row = new RegExp(`data-plan="${a}">[\\s\\S]*?</tr>`).exec(list.text)?.[0] ?? '';
    assert.match(row, /status-active">active</);
    assert.match(row, /data-testid="destinations">2</, 'two destinations (1 and 44) over three rates');
    assert.match(row, /data-testid="assigned">1 reseller</);
    const all = await t.db('rate_plans').whereNull('reseller_id');
    assert.match(list.text, new RegExp(`data-testid="plan-counts"><strong>${all.length}</strong> plans: ${all.length} active, 0 retired`));
  });

  test('clone copies settings, rates and bands under a new name; a taken name is refused; rename through the settings', async () => {
    const id = await newPlan(admin, '/wholesale/rate-plans', 'Original', { time_zone: 'Europe/London', rounding_decimals: '2' });
    assert.equal((await upload(admin, `/wholesale/rate-plans/${id}/bands`, BANDS)).status, 303);
    assert.equal((await upload(admin, `/wholesale/rate-plans/${id}/deck`, DECK, { mode: 'replace' })).status, 303);

    const taken = await admin.submit(`/wholesale/rate-plans/${id}/clone`, { clone_name: 'original' });
    assert.equal(taken.status, 303);
    assert.match((await admin.get(taken.headers.location as string)).text, /You already have a plan with this name/);
    assert.equal(await t.db('rate_plans').whereRaw('lower(name) = ?', ['original']).count('* as n').first().then((x) => Number(x?.n)), 1);

    const res = await admin.submit(`/wholesale/rate-plans/${id}/clone`, { clone_name: 'Original 2027' });
    assert.equal(res.status, 303);
    const copy = Number(/\/(\d+)$/.exec(res.headers.location as string)?.[1]);
    assert.notEqual(copy, id);
    const [o, c] = await Promise.all([t.db('rate_plans').where({ id }).first(), t.db('rate_plans').where({ id: copy }).first()]);
    assert.equal(c.name, 'Original 2027');
    for (const k of ['currency', 'rounding_decimals', 'rounding_method', 'time_zone', 'band_mode', 'connect_fee_on_unanswered', 'reseller_id']) assert.deepEqual(c[k], o[k], k);
    assert.equal(c.retired_at, null);
    assert.equal(await deckCsv(admin, '/wholesale/rate-plans', copy), await deckCsv(admin, '/wholesale/rate-plans', id), 'the same deck');
    assert.equal((await admin.get(`/wholesale/rate-plans/${copy}/bands.csv`)).text, (await admin.get(`/wholesale/rate-plans/${id}/bands.csv`)).text, 'the same bands');
    const audit = await t.db('audit_log').where({ entity_type: 'rate_plan', entity_id: copy, action: 'clone' }).first();
    assert.equal(audit.after.cloned_from, id);
    assert.equal(audit.after.rates, 3);

    // Rename: the settings form, audited with the old and new name.
    const renamed = await admin.submit(`/wholesale/rate-plans/${copy}`, { name: 'Original 2028', ...PLAN, time_zone: 'Europe/London', rounding_decimals: '2' });
    assert.equal(renamed.status, 303);
    assert.equal((await t.db('rate_plans').where({ id: copy }).first()).name, 'Original 2028');
    const update = await t.db('audit_log').where({ entity_type: 'rate_plan', entity_id: copy, action: 'update' }).first();
    assert.deepEqual([update.before.name, update.after.name], ['Original 2027', 'Original 2028']);
    // A support role sees neither the clone form nor the retire button, and cannot post them.
    const page = await support.get(`/wholesale/rate-plans/${id}`);
    assert.doesNotMatch(page.text, /name="clone_name"|\/retire"/);
  });

  test('retire asks first; a retired plan is assigned to no one new, keeps rating who holds it, and comes back', async () => {
    const id = await newPlan(admin, '/wholesale/rate-plans', 'Retiring');
    assert.equal((await upload(admin, `/wholesale/rate-plans/${id}/deck`, `${DECK_HEADER}\n1,US,outbound,,0,0.06,60,60,,,,\n`, { mode: 'replace' })).status, 303);
    const holder = await makeReseller(t.db);
    const newcomer = await makeReseller(t.db);
    assert.equal((await admin.submit(`/wholesale/resellers/${holder.id}/plan`, { wholesale_plan_id: String(id) })).status, 303);

    const ask = await admin.submit(`/wholesale/rate-plans/${id}/retire`, {});
    assert.equal(ask.status, 200);
    assert.match(ask.text, /data-testid="confirm"/);
    assert.match(ask.text, /The 1 reseller that hold it keep it/);
    assert.equal((await t.db('rate_plans').where({ id }).first()).retired_at, null, 'nothing until confirmed');
    const before = await revision(id);
    assert.equal((await admin.submit(`/wholesale/rate-plans/${id}/retire`, { confirm: 'yes' })).status, 303);
    assert.ok((await t.db('rate_plans').where({ id }).first()).retired_at);
    assert.equal(await revision(id), before, 'retiring changes no price');
    assert.match((await admin.get(`/wholesale/rate-plans/${id}`)).text, /data-testid="plan-status">retired</);

    await admin.submit(`/wholesale/resellers/${newcomer.id}/plan`, { wholesale_plan_id: String(id) });
    assert.equal((await t.db('resellers').where({ id: newcomer.id }).first()).wholesale_plan_id, null, 'not assigned to anyone new');
    assert.match((await admin.get(`/wholesale/resellers/${newcomer.id}`)).text, /Retiring is retired: it is assigned to no one new/);
    assert.equal((await t.db('resellers').where({ id: holder.id }).first()).wholesale_plan_id, id, 'its holder keeps it');
    const plan = await t.planCache.get(t.db, id);
    assert.ok(plan);
    const charge = rateLeg({ direction: 'outbound', number: '+12125550100', startMs: Date.now(), answerMs: Date.now(), billableSeconds: 60 }, plan);
    assert.ok(!isUnratable(charge));
    assert.equal(decimalCharge(charge).amount.toFixed(4), '0.0600', 'and is still rated by it');

    assert.equal((await admin.submit(`/wholesale/rate-plans/${id}/unretire`, {})).status, 303);
    assert.equal((await t.db('rate_plans').where({ id }).first()).retired_at, null);
    assert.equal((await admin.submit(`/wholesale/resellers/${newcomer.id}/plan`, { wholesale_plan_id: String(id) })).status, 303);
    assert.equal((await t.db('resellers').where({ id: newcomer.id }).first()).wholesale_plan_id, id);
    const actions = await t.db('audit_log').where({ entity_type: 'rate_plan', entity_id: id }).whereIn('action', ['retire', 'unretire']).orderBy('id').pluck('action');
    assert.deepEqual(actions, ['retire', 'unretire']);
    assert.equal((await support.submit(`/wholesale/rate-plans/${id}/retire`, { confirm: 'yes' })).status, 403);
  });

  test('a rate entered in the page is refused with exactly the words the deck import uses for the same row', async () => {
    const id = await newPlan(admin, '/wholesale/rate-plans', 'Strict form');
    assert.equal((await upload(admin, `/wholesale/rate-plans/${id}/bands`, BANDS)).status, 303);
    for (const bad of BAD_ROWS) {
      const row = rowOf(bad.row);
      const file = await upload(admin, `/wholesale/rate-plans/${id}/deck`, `${DECK_HEADER}\n${csvLine(row)}\n`, { mode: 'merge' });
      assert.equal(file.status, 422, bad.why);
      const fromFile = [...file.text.matchAll(/<li>Line (\d+): ([^<]*)<\/li>/g)].map((m) => decode(m[2] as string));
      assert.ok(fromFile.length > 0, bad.why);
      const form = await admin.submit(`/wholesale/rate-plans/${id}/rates`, formOf(row));
      assert.equal(form.status, 422, bad.why);
      const fromForm = [...form.text.matchAll(/<li>Step (\d+): ([^<]*)<\/li>/g)].map((m) => decode(m[2] as string));
      assert.deepEqual(fromForm, fromFile, bad.why);
    }
    // Steps agree with each other as file rows do: a second step starting where the first does.
    const twoSteps = formOf(rowOf({}), { step_1_interval_start: '0', step_1_rate: '0.04', step_1_rate_unit: '60', step_1_increment: '6' });
    const dup = await admin.submit(`/wholesale/rate-plans/${id}/rates`, twoSteps);
    assert.equal(dup.status, 422);
    assert.match(decode(dup.text), /<li>Step 2: duplicate step: line 2 already has interval_start 0 for outbound 44<\/li>/);
    assert.equal(Number((await t.db('rates').where({ rate_plan_id: id }).count('* as n').first())?.n), 0, 'nothing saved');
    assert.equal((await support.submit(`/wholesale/rate-plans/${id}/rates`, formOf(rowOf({})))).status, 403);
  });

  test('add, change and remove a rate and a step in the page: each moves the revision, is audited, and the plan cache prices the change', async () => {
    const id = await newPlan(admin, '/wholesale/rate-plans', 'Edited');
    const price = async (seconds: number) => {
      const plan = await t.planCache.get(t.db, id);
      assert.ok(plan);
      const r = rateLeg({ direction: 'outbound', number: '+442079460000', startMs: Date.now(), answerMs: Date.now(), billableSeconds: seconds }, plan);
      return isUnratable(r) ? r.unratable : decimalCharge(r).amount.toFixed(4);
    };
    assert.equal(await price(60), 'no_rate');
    let rev = await revision(id);

    const added = await admin.submit(`/wholesale/rate-plans/${id}/rates`, formOf(rowOf({ rate: '0.05' })));
    assert.equal(added.status, 303, added.text.slice(0, 500));
    assert.ok((await revision(id)) > rev, 'adding moves the revision');
    rev = await revision(id);
    assert.equal(await price(120), '0.1000');
    const rateId = Number((await t.db('rates').where({ rate_plan_id: id, prefix: '44' }).first()).id);

    // The edit page shows the rate as it is; a second step from minute 2 at 0.02 is added.
    const edit = await admin.get(`/wholesale/rate-plans/${id}/rates/${rateId}/edit`);
    assert.equal(edit.status, 200);
    assert.match(edit.text, /name="step_0_rate" value="0.05"/);
    const changed = await admin.submit(`/wholesale/rate-plans/${id}/rates/${rateId}`, formOf(rowOf({ rate: '0.05' }), { step_1_interval_start: '60', step_1_rate: '0.02', step_1_rate_unit: '60', step_1_increment: '60' }));
    assert.equal(changed.status, 303);
    assert.ok((await revision(id)) > rev, 'changing moves the revision');
    rev = await revision(id);
    assert.equal(await price(120), '0.0700', 'first minute 0.05, second 0.02');

    // Removing the step: its row emptied.
    assert.equal((await admin.submit(`/wholesale/rate-plans/${id}/rates/${rateId}`, formOf(rowOf({ rate: '0.03' })))).status, 303);
    assert.ok((await revision(id)) > rev);
    rev = await revision(id);
    assert.equal(await price(120), '0.0600');

    // Removing the rate asks first.
    const ask = await admin.submit(`/wholesale/rate-plans/${id}/rates/${rateId}/delete`, {});
    assert.equal(ask.status, 200);
    assert.match(ask.text, /Remove the rate of 44 UK/);
    assert.equal(await revision(id), rev, 'nothing until confirmed');
    assert.equal((await admin.submit(`/wholesale/rate-plans/${id}/rates/${rateId}/delete`, { confirm: 'yes' })).status, 303);
    assert.ok((await revision(id)) > rev);
    assert.equal(await price(60), 'no_rate');

    const audit = await t.db('audit_log').where({ entity_type: 'rate_plan', entity_id: id }).orderBy('id').select('action', 'before', 'after');
    assert.deepEqual(audit.map((a) => a.action), ['create', 'add_rate', 'change_rate', 'change_rate', 'remove_rate']);
    assert.deepEqual(audit[2].before.steps, [{ from: 0, rate: '0.05', rate_unit: 60, increment: 60 }]);
    assert.deepEqual(audit[2].after.steps.map((s: { rate: string }) => s.rate), ['0.05', '0.02']);
    // Another plan's rate is not found under this one.
    const other = await newPlan(admin, '/wholesale/rate-plans', 'Other');
    assert.equal((await admin.submit(`/wholesale/rate-plans/${other}/rates`, formOf(rowOf({})))).status, 303);
    const otherRate = Number((await t.db('rates').where({ rate_plan_id: other }).first()).id);
    assert.equal((await admin.get(`/wholesale/rate-plans/${id}/rates/${otherRate}/edit`)).status, 404);
  });

  test('bands edited in the page: the current ones shown as lines, changed with the file\'s checks and words, the revision moved', async () => {
    const id = await newPlan(admin, '/wholesale/rate-plans', 'Banded in page');
    assert.equal((await upload(admin, `/wholesale/rate-plans/${id}/bands`, BANDS)).status, 303);
    assert.equal((await upload(admin, `/wholesale/rate-plans/${id}/deck`, DECK, { mode: 'replace' })).status, 303);
    const page = await admin.get(`/wholesale/rate-plans/${id}`);
    const shown = decode(/<textarea id="f-bands-text" name="csv"[^>]*>([\s\S]*?)<\/textarea>/.exec(page.text)?.[1] ?? '');
    assert.equal(shown, 'band,days,start\noffpeak,"sun,sat",00:00\noffpeak,"mon,tue,wed,thu,fri",18:00\npeak,"mon,tue,wed,thu,fri",08:00');
    const rev = await revision(id);
    // Peak from 07:30 now: the text as edited goes through the band import.
    const edited = shown.replace('08:00', '07:30');
    assert.equal((await admin.submit(`/wholesale/rate-plans/${id}/bands`, { csv: edited })).status, 303);
    assert.equal((await admin.get(`/wholesale/rate-plans/${id}/bands.csv`)).text.includes('peak,"mon,tue,wed,thu,fri",07:30'), true);
    assert.ok((await revision(id)) > rev);
    const bad = `${shown}\nlunch,mon,25:00`;
    const fromPage = await admin.submit(`/wholesale/rate-plans/${id}/bands`, { csv: bad });
    const fromFile = await upload(admin, `/wholesale/rate-plans/${id}/bands`, bad);
    assert.equal(fromPage.status, 422);
    const lines = (html: string) => [...html.matchAll(/<li>Line (\d+): ([^<]*)<\/li>/g)].map((m) => `${m[1]} ${decode(m[2] as string)}`);
    assert.deepEqual(lines(fromPage.text), ['5 start "25:00" must be a time HH:MM']);
    assert.deepEqual(lines(fromPage.text), lines(fromFile.text));
    const dropped = await admin.submit(`/wholesale/rate-plans/${id}/bands`, { csv: 'band,days,start\npeak,mon-sun,00:00' });
    assert.equal(dropped.status, 422);
    assert.match(dropped.text, /rates of this plan use band offpeak/);
    assert.equal((await support.submit(`/wholesale/rate-plans/${id}/bands`, { csv: edited })).status, 403);
  });

  test('a reseller schedules a new version from a time in its own zone; versions list their standing; two instants compare row by row, and as CSV', async () => {
    const r = await makeReseller(t.db, { time_zone: 'America/New_York' });
    const radmin = await Client.login(t.app, (await makeUser(t.db, 'reseller_admin', { resellerId: r.id })).email);
    const base = '/reseller/rate-plans';
    const id = await newPlan(radmin, base, 'Retail versions');
    assert.equal((await upload(radmin, `${base}/${id}/deck`, `${DECK_HEADER}\n44,UK,outbound,,0,0.05,60,60,,,,\n1,US,outbound,,0,0.02,60,60,,,,\n`, { mode: 'replace' })).status, 303);
    const uk = Number((await t.db('rates').where({ rate_plan_id: id, prefix: '44' }).first()).id);

    // "Schedule a change" opens the form with the rate's prices and no start; a start is required.
    const form = await radmin.get(`${base}/${id}/rates/new?from=${uk}`);
    assert.match(form.text, /Schedule a new version of 44/);
    assert.match(form.text, /name="step_0_rate" value="0.05"/);
    const noStart = await radmin.submit(`${base}/${id}/rates`, { ...formOf(rowOf({ rate: '0.07' })), scheduling: '1' });
    assert.equal(noStart.status, 422);
    assert.match(noStart.text, /Give the date and time the new version takes effect from/);
    // Midnight of 1 January 2030 in New York is 05:00 UTC.
    const scheduled = await radmin.submit(`${base}/${id}/rates`, { ...formOf(rowOf({ rate: '0.07' })), effective_at: '2030-01-01 00:00', scheduling: '1' });
    assert.equal(scheduled.status, 303, scheduled.text.slice(0, 400));
    const v2 = await t.db('rates').where({ rate_plan_id: id, prefix: '44' }).orderBy('effective_from');
    assert.equal(v2.length, 2);
    assert.equal(new Date(v2[1].effective_from).toISOString(), '2030-01-01T05:00:00.000Z');
    // The same start again is refused, not a second row.
    const clash = await radmin.submit(`${base}/${id}/rates`, { ...formOf(rowOf({ rate: '0.08' })), effective_at: '2030-01-01 00:00', scheduling: '1' });
    assert.equal(clash.status, 422);
    assert.match(clash.text, /already has a rate for this prefix, direction and band from that instant/);
    // A whole new deck version from an instant: France added, the US changed, from 1 February 2030.
    assert.equal((await upload(radmin, `${base}/${id}/deck`, `${DECK_HEADER}\n33,France,outbound,,0,0.09,60,60,,,,2020-01-01\n1,US,outbound,,0,0.03,60,60,,,,\n`, { mode: 'merge', effective_at: '2030-02-01 00:00' })).status, 303);
    assert.deepEqual(
      (await t.db('rates').where({ rate_plan_id: id }).whereIn('prefix', ['33', '1']).orderBy(['prefix', 'effective_from']).select('prefix', 'effective_from')).map((x) => `${x.prefix} ${new Date(x.effective_from).toISOString()}`),
      ['1 1970-01-01T00:00:00.000Z', '1 2030-02-01T05:00:00.000Z', '33 2030-02-01T05:00:00.000Z'],
      'every row of the file from the instant given, its own effective_from set aside',
    );

    const versions = await radmin.get(`${base}/${id}/versions`);
    assert.equal(versions.status, 200);
    const states = [...versions.text.matchAll(/<tr data-state="([^"]+)">\s*<td class="nowrap">([^<]+)<\/td>/g)].map((m) => `${m[2]}: ${m[1]}`);
    assert.deepEqual(states, ['always (no start): in force', '2030-01-01 00:00:00 EST: scheduled', '2030-02-01 00:00:00 EST: scheduled']);

    // Now against 1 March 2030: 44 and 1 changed, 33 added.
    const cmp = await radmin.get(`${base}/${id}/compare?from=2026-12-01+00:00&to=2030-03-01+00:00`);
    assert.equal(cmp.status, 200);
    assert.match(cmp.text, /data-testid="compare-counts"><strong>1<\/strong> added, <strong>0<\/strong> removed, <strong>2<\/strong> changed, 0 unchanged/);
    const changed = [...(/data-testid="changed">([\s\S]*?)<\/table>/.exec(cmp.text)?.[1] ?? '').matchAll(/<code>(\d+)<\/code>[\s\S]*?<td class="num">([\d.]+)<\/td>[\s\S]*?<td class="num">([\d.]+)<\/td><\/tr>/g)].map((m) => `${m[1]} ${m[2]} -> ${m[3]}`);
    assert.deepEqual(changed, ['1 0.02 -> 0.03', '44 0.05 -> 0.07']);
    // Between the two scheduled versions only the February one's rows differ.
    const mid = await radmin.get(`${base}/${id}/compare?from=2030-01-15+00:00&to=2030-03-01+00:00`);
    assert.match(mid.text, /<strong>1<\/strong> added, <strong>0<\/strong> removed, <strong>1<\/strong> changed, 1 unchanged/);
    // Backwards, what was added is removed.
    const back = await radmin.get(`${base}/${id}/compare?from=2030-03-01+00:00&to=2026-12-01+00:00`);
    assert.match(back.text, /<strong>0<\/strong> added, <strong>1<\/strong> removed, <strong>2<\/strong> changed/);

    const csv = await radmin.get(`${base}/${id}/compare.csv?from=2026-12-01+00:00&to=2030-03-01+00:00`);
    assert.equal(csv.status, 200);
    assert.match(csv.headers['content-type'] as string, /text\/csv/);
    const lines = csv.text.trim().split('\n');
    assert.equal(lines[0], 'change,prefix,description,direction,band,old_effective_from,old_steps,old_connect_fee,old_min_charge,old_max_cost,new_effective_from,new_steps,new_connect_fee,new_min_charge,new_max_cost');
    assert.deepEqual(lines.slice(1), [
      'added,33,France,outbound,,,,,,,2030-02-01T05:00:00.000Z,"0s: 0.09 / 60s, 60s",0,,',
      'changed,1,US,outbound,,1970-01-01T00:00:00.000Z,"0s: 0.02 / 60s, 60s",0,,,2030-02-01T05:00:00.000Z,"0s: 0.03 / 60s, 60s",0,,',
      'changed,44,UK,outbound,,1970-01-01T00:00:00.000Z,"0s: 0.05 / 60s, 60s",0,,,2030-01-01T05:00:00.000Z,"0s: 0.07 / 60s, 60s",0,,',
    ]);
    // A bad time is said, and the page still answers.
    const bad = await radmin.get(`${base}/${id}/compare?from=2030-13-01+00:00`);
    assert.equal(bad.status, 200);
    assert.match(bad.text, /The first time /);
    // The subscriber pages are not touched; a subscriber of this reseller can be assigned the plan.
    const sub = await makeSubscriber(t.db, r.id);
    assert.equal((await radmin.submit(`/reseller/subscribers/${sub.id}/plan`, { retail_plan_id: String(id) })).status, 303);
    assert.equal((await t.db('subscribers').where({ id: sub.id }).first()).retail_plan_id, id);
  });
});
