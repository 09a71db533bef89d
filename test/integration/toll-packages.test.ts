/**
 * Toll packages (issue 11): destination groups, toll packages of the operator and of resellers,
 * their assignment to resellers and subscribers with history, and the allowance used and left in
 * the party's current billing cycle, read from allowance_usage.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { cycleAt } from '../../src/domain/billing/cycles';
import { allowancesOf, tollAssignmentsOf } from '../../src/modules/toll-packages/toll-packages.service';
import { createTestApp, type TestApp } from '../support/app';
import { makePlan, makeReseller, makeSubscriber, makeUser } from '../support/factories';
import { Client } from '../support/http';

/** Page text with the HTML entities EJS writes turned back into characters. */
function text(html: string): string {
  return html.replace(/&#34;|&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

/** The allowances table of a page: one [package, group, included, used, left] per row. */
function allowanceRows(html: string): string[][] {
  const table = /data-testid="allowances">([\s\S]*?)<\/table>/.exec(html)?.[1] ?? '';
  return [...table.matchAll(/<tr data-assignment="\d+" data-group="\d+">\s*<td>([^<]*)<\/td>\s*<td>([^<]*)<\/td>\s*<td class="num" data-testid="included">([^<]*)<\/td>\s*<td class="num" data-testid="used">([^<]*)<\/td>\s*<td class="num" data-testid="left">([^<]*)<\/td>/g)].map((m) =>
    m.slice(1, 6).map((x) => text(x as string)),
  );
}

/** The assignments table: [package, state] per row, in page order. */
function assignmentRows(html: string): string[][] {
  const table = /data-testid="assignments">([\s\S]*?)<\/table>/.exec(html)?.[1] ?? '';
  return [...table.matchAll(/<tr data-assignment="\d+">\s*<td>([^<]*)[\s\S]*?data-testid="state"><span[^>]*>([^<]*)<\/span>/g)].map((m) => [text(m[1] as string).trim(), m[2] as string]);
}

describe('toll packages', () => {
  let t: TestApp;
  let ops: Client;

  before(async () => {
    t = await createTestApp();
    ops = await Client.login(t.app, (await makeUser(t.db, 'wholesale_admin')).email);
  });
  after(() => t.close());

  /** A reseller in Tokyo with an admin and a support login, and a subscriber in New York with cycle day 10. */
  async function tenant() {
    const reseller = await makeReseller(t.db, { time_zone: 'Asia/Tokyo', billing_cycle_day: 3 });
    const subscriber = await makeSubscriber(t.db, reseller.id, { time_zone: 'America/New_York', billing_cycle_day: 10 });
    const admin = await Client.login(t.app, (await makeUser(t.db, 'reseller_admin', { resellerId: reseller.id })).email);
    const support = await Client.login(t.app, (await makeUser(t.db, 'reseller_support', { resellerId: reseller.id })).email);
    const me = await Client.login(t.app, (await makeUser(t.db, 'subscriber', { resellerId: reseller.id, subscriberId: subscriber.id })).email);
    return { reseller, subscriber, admin, support, me };
  }

  const newGroup = (c: Client, base: string, form: Record<string, string>) => c.submit(`${base}/destination-groups`, form, `${base}/destination-groups/new`);
  const groupIdOf = (res: { headers: Record<string, string> }) => Number(/\/destination-groups\/(\d+)$/.exec(res.headers.location ?? '')?.[1]);
  const packageIdOf = (res: { headers: Record<string, string> }) => Number(/\/toll-packages\/(\d+)$/.exec(res.headers.location ?? '')?.[1]);

  test('destination groups: prefixes and numbers are normalised, duplicates left out, bad entries named by line; names unique per owner; delete only when unused, after a confirmation; audited', async () => {
    const a = await tenant();
    const made = await newGroup(a.admin, '/reseller', { name: 'UK mobiles', description: 'Mobiles of the UK', prefixes: '+44 7\n447, 33-6\n1 (212); +44 7\n\n  ' });
    assert.equal(made.status, 303, text(made.text));
    const id = groupIdOf(made);
    assert.deepEqual(await t.db('destination_group_prefixes').where({ group_id: id }).orderBy('prefix').pluck('prefix'), ['1212', '336', '447']);
    const page = await a.admin.get(`/reseller/destination-groups/${id}`);
    assert.match(text(page.text), /Destination group UK mobiles created with 3 prefixes \(2 duplicates left out\)/);
    assert.match(page.text, /data-testid="prefix-count">3</);

    const bad = await newGroup(a.admin, '/reseller', { name: 'Bad', prefixes: '44\n44x\n0044 7\n1234567890123456' });
    assert.equal(bad.status, 422);
    const msg = text(bad.text);
    assert.match(msg, /Line 2: "44x" has characters other than digits/);
    assert.match(msg, /Line 3: "0044 7" starts with 0: write it in international form/);
    assert.match(msg, /Line 4: "1234567890123456" is longer than 15 digits/);
    const empty = await newGroup(a.admin, '/reseller', { name: 'Empty', prefixes: ' ,\n' });
    assert.match(text(empty.text), /Give at least one prefix/);
    const same = await newGroup(a.admin, '/reseller', { name: 'uk MOBILES', prefixes: '44' });
    assert.match(text(same.text), /A destination group named uk MOBILES exists already/);
    // Another owner may use the name.
    assert.equal((await newGroup(ops, '/wholesale', { name: 'UK mobiles', prefixes: '447' })).status, 303);

    // Edit: the prefixes replaced, normalised the same way.
    const edited = await a.admin.submit(`/reseller/destination-groups/${id}`, { name: 'UK mobiles', description: '', prefixes: '447 4\n447 5' }, `/reseller/destination-groups/${id}/edit`);
    assert.equal(edited.status, 303, text(edited.text));
    assert.deepEqual(await t.db('destination_group_prefixes').where({ group_id: id }).orderBy('prefix').pluck('prefix'), ['4474', '4475']);

    // In use by a package: refused, named.
    const pkg = await a.admin.submit('/reseller/toll-packages', { name: 'Mobile 100', currency: 'USD', [`group_${id}_on`]: 'on', [`group_${id}_minutes`]: '100' }, '/reseller/toll-packages/new');
    assert.equal(pkg.status, 303, text(pkg.text));
    const refused = await a.admin.submit(`/reseller/destination-groups/${id}/delete`, { confirm: 'yes' });
    assert.equal(refused.status, 303);
    assert.match(text((await a.admin.get(`/reseller/destination-groups/${id}`)).text), /UK mobiles cannot be deleted. It gives an allowance in the toll package Mobile 100/);
    assert.ok(await t.db('destination_groups').where({ id }).first());

    // Unused: asked first, then deleted.
    const spare = groupIdOf(await newGroup(a.admin, '/reseller', { name: 'Spare', prefixes: '1' }));
    const ask = await a.admin.submit(`/reseller/destination-groups/${spare}/delete`, {}, `/reseller/destination-groups/${spare}`);
    assert.equal(ask.status, 200);
    assert.match(text(ask.text), /Delete Spare\?/);
    assert.ok(await t.db('destination_groups').where({ id: spare }).first(), 'nothing deleted before the confirmation');
    const gone = await a.admin.submit(`/reseller/destination-groups/${spare}/delete`, { confirm: 'yes' });
    assert.equal(gone.status, 303);
    assert.equal(await t.db('destination_groups').where({ id: spare }).first(), undefined);

    const audit = await t.db('audit_log').where({ entity_type: 'destination_group', reseller_id: a.reseller.id }).orderBy('id').pluck('action');
    assert.deepEqual(audit, ['create', 'update', 'create', 'delete']);
    // A change of a tenant's group is an event of its outbox.
    assert.ok(await t.db('outbox_events').where({ reseller_id: a.reseller.id, type: 'destination_group.created' }).first());

    // Support reads, never writes.
    assert.equal((await a.support.get(`/reseller/destination-groups/${id}`)).status, 200);
    assert.doesNotMatch((await a.support.get(`/reseller/destination-groups/${id}`)).text, /Delete group|\/edit"/);
    assert.equal((await a.support.submit(`/reseller/destination-groups/${id}/delete`, { confirm: 'yes' }, `/reseller/destination-groups/${id}`)).status, 403);
  });

  test('a reseller reads the operator’s groups and may use them, never another reseller’s; the operator’s group cannot be changed by it', async () => {
    const a = await tenant();
    const b = await tenant();
    const opGroup = groupIdOf(await newGroup(ops, '/wholesale', { name: `US and Canada ${a.reseller.id}`, prefixes: '1' }));
    const bGroup = groupIdOf(await newGroup(b.admin, '/reseller', { name: 'B only', prefixes: '33' }));
    const list = text((await a.admin.get('/reseller/destination-groups')).text);
    assert.match(list, new RegExp(`US and Canada ${a.reseller.id}`));
    assert.doesNotMatch(list, /B only/);
    assert.equal((await a.admin.get(`/reseller/destination-groups/${opGroup}`)).status, 200);
    assert.equal((await a.admin.get(`/reseller/destination-groups/${opGroup}/edit`)).status, 404);
    assert.equal((await a.admin.get(`/reseller/destination-groups/${bGroup}`)).status, 404);
    assert.equal((await a.admin.submit(`/reseller/destination-groups/${opGroup}/delete`, { confirm: 'yes' }, '/reseller/destination-groups')).status, 404);

    const withOperator = await a.admin.submit('/reseller/toll-packages', { name: 'North America', currency: 'USD', [`group_${opGroup}_on`]: 'on', [`group_${opGroup}_unlimited`]: 'on' }, '/reseller/toll-packages/new');
    assert.equal(withOperator.status, 303, text(withOperator.text));
    const withB = await a.admin.submit('/reseller/toll-packages', { name: 'Sneaky', currency: 'USD', [`group_${bGroup}_on`]: 'on', [`group_${bGroup}_minutes`]: '10' }, '/reseller/toll-packages/new');
    assert.equal(withB.status, 422);
    assert.match(text(withB.text), /Choose destination groups from the list/);
    assert.equal(await t.db('toll_packages').where({ name: 'Sneaky' }).first(), undefined);
  });

  test('packages: minutes stored as exact seconds (or unlimited), fees and the rate after the allowance exact; edit shows minutes back; list counts holders; retire after a confirmation', async () => {
    const a = await tenant();
    const g1 = groupIdOf(await newGroup(a.admin, '/reseller', { name: 'Domestic', prefixes: '1' }));
    const g2 = groupIdOf(await newGroup(a.admin, '/reseller', { name: 'Europe', prefixes: '33\n44\n49' }));
    const g3 = groupIdOf(await newGroup(a.admin, '/reseller', { name: 'Asia', prefixes: '81' }));

    const wrong = await a.admin.submit(
      '/reseller/toll-packages',
      { name: 'Talk', currency: 'usd', setup_fee: '-1', [`group_${g1}_on`]: 'on', [`group_${g1}_minutes`]: '0.01', [`group_${g2}_on`]: 'on', [`group_${g2}_overage`]: 'abc', [`group_${g2}_minutes`]: '5' },
      '/reseller/toll-packages/new',
    );
    assert.equal(wrong.status, 422);
    const w = text(wrong.text);
    assert.match(w, /Setup fee cannot be negative/);
    assert.match(w, /Included minutes must be a whole number of seconds/);
    assert.match(w, /Rate after the allowance must be a decimal number/);
    const none = await a.admin.submit('/reseller/toll-packages', { name: 'Nothing', currency: 'USD' }, '/reseller/toll-packages/new');
    assert.match(text(none.text), /Give at least one destination group an allowance/);
    const noMinutes = await a.admin.submit('/reseller/toll-packages', { name: 'Nothing', currency: 'USD', [`group_${g1}_on`]: 'on' }, '/reseller/toll-packages/new');
    assert.match(text(noMinutes.text), /Included minutes are required \(or tick unlimited\)/);

    const made = await a.admin.submit(
      '/reseller/toll-packages',
      {
        name: 'Talk', description: 'Everyday calling', currency: 'usd', setup_fee: '12.5', monthly_fee: '9.99',
        [`group_${g1}_on`]: 'on', [`group_${g1}_minutes`]: '2.25',
        [`group_${g2}_on`]: 'on', [`group_${g2}_minutes`]: '300', [`group_${g2}_overage`]: '0.0125',
        [`group_${g3}_on`]: 'on', [`group_${g3}_unlimited`]: 'on', [`group_${g3}_minutes`]: '7',
      },
      '/reseller/toll-packages/new',
    );
    assert.equal(made.status, 303, text(made.text));
    const id = packageIdOf(made);
    const row = await t.db('toll_packages').where({ id }).first();
    assert.equal(row.currency, 'USD');
    assert.equal(row.setup_fee, '12.5000000000');
    assert.equal(row.monthly_fee, '9.9900000000');
    const groups = await t.db('toll_package_groups').where({ package_id: id }).orderBy('group_id').select('group_id', 'included_seconds', 'overage_rate');
    assert.deepEqual(
      groups.map((g) => [Number(g.group_id), g.included_seconds === null ? null : Number(g.included_seconds), g.overage_rate]),
      [[g1, 135, null], [g2, 18000, '0.0125000000'], [g3, null, null]],
    );
    const shown = text((await a.admin.get(`/reseller/toll-packages/${id}`)).text);
    assert.match(shown, /data-testid="setup-fee">12.50 USD/);
    assert.match(shown, /2 min 15 s/);
    assert.match(shown, /300 min/);
    assert.match(shown, /unlimited/);
    assert.match(shown, /0.0125 USD\/min/);

    const form = text((await a.admin.get(`/reseller/toll-packages/${id}/edit`)).text);
    assert.match(form, new RegExp(`name="group_${g1}_minutes" value="2.25"`));
    assert.match(form, new RegExp(`name="group_${g2}_overage" value="0.0125"`));
    assert.match(form, new RegExp(`name="group_${g3}_unlimited"[^>]*checked`));

    // Edit: Europe out, Domestic to 0.5 minutes (30 s).
    const edited = await a.admin.submit(`/reseller/toll-packages/${id}`, { name: 'Talk', currency: 'USD', monthly_fee: '10', [`group_${g1}_on`]: 'on', [`group_${g1}_minutes`]: '0.5', [`group_${g3}_on`]: 'on', [`group_${g3}_unlimited`]: 'on' });
    assert.equal(edited.status, 303, text(edited.text));
    assert.deepEqual(
      (await t.db('toll_package_groups').where({ package_id: id }).orderBy('group_id')).map((g) => [Number(g.group_id), g.included_seconds === null ? null : Number(g.included_seconds)]),
      [[g1, 30], [g3, null]],
    );
    assert.deepEqual(await t.db('audit_log').where({ entity_type: 'toll_package', entity_id: id }).orderBy('id').pluck('action'), ['create', 'update']);

    // Holders counted on the list.
    assert.equal((await a.admin.submit(`/reseller/subscribers/${a.subscriber.id}/toll-packages`, { toll_package_id: String(id) })).status, 303);
    const list = (await a.admin.get('/reseller/toll-packages')).text;
    assert.match(list, new RegExp(`<tr data-package="${id}">[\\s\\S]*?data-label="Holders now">1<`));

    // Retire: asked first; then not assignable, the current holder keeps it.
    const ask = await a.admin.submit(`/reseller/toll-packages/${id}/retire`, {}, `/reseller/toll-packages/${id}`);
    assert.equal(ask.status, 200);
    assert.match(text(ask.text), /Its 1 assignment \(1 now, 0 starting later\) stay in force until each is ended/);
    assert.equal((await t.db('toll_packages').where({ id }).first()).retired_at, null);
    assert.equal((await a.admin.submit(`/reseller/toll-packages/${id}/retire`, { confirm: 'yes' })).status, 303);
    assert.notEqual((await t.db('toll_packages').where({ id }).first()).retired_at, null);
    const other = await makeSubscriber(t.db, a.reseller.id);
    const refused = await a.admin.submit(`/reseller/subscribers/${other.id}/toll-packages`, { toll_package_id: String(id) }, `/reseller/subscribers/${other.id}/toll-packages`);
    assert.equal(refused.status, 422);
    assert.match(text(refused.text), /Talk is retired: it cannot be given to anyone new/);
    const holder = (await a.admin.get(`/reseller/subscribers/${a.subscriber.id}/toll-packages`)).text;
    assert.deepEqual(assignmentRows(holder), [['Talk', 'active']]);
    assert.match(holder, /Talk <small class="muted">\(retired\)<\/small>/);
  });

  test('a rate after the allowance only in a currency of the owner’s plans (rating ignores it in any other); holders on a plan in another currency are told their plan’s rate applies', async () => {
    const a = await tenant();
    const g = groupIdOf(await newGroup(a.admin, '/reseller', { name: 'Everywhere', prefixes: '1\n44' }));
    const eur = await makePlan(t.db, a.reseller.id, { currency: 'EUR' });
    const usd = await makePlan(t.db, a.reseller.id, { currency: 'USD' });
    const form = (await a.admin.get('/reseller/toll-packages/new')).text;
    assert.match(form, /data-testid="plan-currencies">EUR, USD</, 'the form names the currencies of the plans');
    assert.match(form, /data-testid="overage-currency">[^<]*rating uses it only for a holder whose rate plan is in that currency/);
    const fields = (currency: string, overage: string) => ({ name: `Calls ${currency} ${overage}`, currency, [`group_${g}_on`]: 'on', [`group_${g}_minutes`]: '100', [`group_${g}_overage`]: overage });

    // GBP: no plan of the reseller is in it, so rating would never use the rate: refused, on the rate and on the currency.
    const refused = await a.admin.submit('/reseller/toll-packages', fields('GBP', '0.0125'), '/reseller/toll-packages/new');
    assert.equal(refused.status, 422);
    assert.match(text(refused.text), /Rating would never use this rate: none of your rate plans is in GBP \(they are in EUR, USD\)/);
    assert.match(text(refused.text), /No rate plan of yours is in GBP/);
    assert.match(refused.text, /Rate after, per minute, in GBP<br><small class="muted">not used: no plan of yours is in GBP</);
    assert.equal((await t.db('toll_packages').where({ reseller_id: a.reseller.id, currency: 'GBP' })).length, 0);
    // Without a rate after the allowance a GBP package is fine (its minutes apply whatever the plan).
    assert.equal((await a.admin.submit('/reseller/toll-packages', fields('GBP', ''), '/reseller/toll-packages/new')).status, 303);
    // USD: a plan is in it: accepted.
    const made = await a.admin.submit('/reseller/toll-packages', fields('USD', '0.0125'), '/reseller/toll-packages/new');
    assert.equal(made.status, 303, text(made.text));
    const pid = packageIdOf(made);

    // One holder on the EUR plan, one on the USD plan: the package's page and each holder's page say what applies.
    const onUsd = await makeSubscriber(t.db, a.reseller.id, { retail_plan_id: usd.id });
    await t.db('subscribers').where({ id: a.subscriber.id }).update({ retail_plan_id: eur.id });
    for (const sub of [a.subscriber.id, onUsd.id]) {
      assert.equal((await a.admin.submit(`/reseller/subscribers/${sub}/toll-packages`, { toll_package_id: String(pid) })).status, 303);
    }
    const page = (await a.admin.get(`/reseller/toll-packages/${pid}`)).text;
    assert.match(page, /data-testid="overage-applies">The rates after the allowance are in USD: rating uses them for holders whose plan is in USD\. 1 holder below is on a plan in another currency/);
    assert.deepEqual([...page.matchAll(/data-testid="plan-currency">([^<]*)</g)].map((m) => m[1]).sort(), ['EUR (its plan’s rate after the allowance)', 'USD']);
    const after = async (sub: number) => /data-testid="after">([^<]*)</.exec((await a.admin.get(`/reseller/subscribers/${sub}/toll-packages`)).text)?.[1];
    assert.equal(await after(onUsd.id), '0.0125 USD/min');
    assert.equal(await after(a.subscriber.id), 'plan rate (the plan is in EUR; 0.0125 USD/min applies only to plans in USD)');
    assert.deepEqual((await allowancesOf(t.db, { kind: 'reseller', resellerId: a.reseller.id }, { kind: 'subscriber', subscriberId: a.subscriber.id })).map((x) => [x.planCurrency, x.overageApplies]), [['EUR', false]]);
    // Editing: the form counts the holders on a plan in another currency.
    assert.match((await a.admin.get(`/reseller/toll-packages/${pid}/edit`)).text, /data-testid="other-currency-holders">1 holder of this package is on a plan in another currency</);
  });

  test('assignments: times typed in the viewer’s zone; no overlap of one package for one party; future starts; ending asks first and keeps the row; the operator assigns its packages to resellers', async () => {
    const a = await tenant();
    const g = groupIdOf(await newGroup(a.admin, '/reseller', { name: 'All', prefixes: '1\n44' }));
    const pid = packageIdOf(await a.admin.submit('/reseller/toll-packages', { name: 'Basic', currency: 'USD', [`group_${g}_on`]: 'on', [`group_${g}_minutes`]: '60' }, '/reseller/toll-packages/new'));
    const base = `/reseller/subscribers/${a.subscriber.id}/toll-packages`;

    // Start in the viewer's zone: the reseller admin reads Asia/Tokyo (UTC+9).
    const future = await a.admin.submit(base, { toll_package_id: String(pid), starts_at: '2030-01-15 09:00', ends_at: '2030-02-15 09:00' }, base);
    assert.equal(future.status, 303, text(future.text));
    const [fut] = await t.db('package_assignments').where({ subscriber_id: a.subscriber.id, toll_package_id: pid });
    assert.equal(new Date(fut.starts_at).toISOString(), '2030-01-15T00:00:00.000Z');
    assert.equal(new Date(fut.ends_at).toISOString(), '2030-02-15T00:00:00.000Z');

    // Open from now: overlaps the future one (no end) -> refused, naming it.
    const open = await a.admin.submit(base, { toll_package_id: String(pid) }, base);
    assert.equal(open.status, 422);
    assert.match(text(open.text), /It holds Basic already from 2030-01-15 09:00:00 UTC\+9 until 2030-02-15 09:00:00 UTC\+9: assignments of one package never overlap/);
    // From now until the future one starts: fine (spans touch, they do not overlap).
    const now = await a.admin.submit(base, { toll_package_id: String(pid), ends_at: '2030-01-15 09:00' }, base);
    assert.equal(now.status, 303, text(now.text));
    const bad = await a.admin.submit(base, { toll_package_id: String(pid), starts_at: '2031-02-30 10:00' }, base);
    assert.match(text(bad.text), /The start "?2031-02-30 10:00"? ?is not a real date|The start is not a real date/);
    const backwards = await a.admin.submit(base, { toll_package_id: String(pid), starts_at: '2032-01-02 00:00', ends_at: '2032-01-01 00:00' }, base);
    assert.match(text(backwards.text), /The end must be after the start/);

    let page = await a.admin.get(base);
    assert.deepEqual(assignmentRows(page.text), [['Basic', 'starts later'], ['Basic', 'active']]);

    // The database refuses an overlap whatever writes it.
    await assert.rejects(
      t.db('package_assignments').insert({ reseller_id: a.reseller.id, subscriber_id: a.subscriber.id, toll_package_id: pid, starts_at: '2030-02-01T00:00:00Z' }),
      /package_assignments_toll_no_overlap/,
    );

    // Ending: asked first, then the row stays with its end.
    const current = (await t.db('package_assignments').where({ subscriber_id: a.subscriber.id }).orderBy('starts_at'))[0];
    const ask = await a.admin.submit(`${base}/${current.id}/end`, { ends_at: '' }, base);
    assert.equal(ask.status, 200);
    assert.match(text(ask.text), /End Basic for .*\?/);
    assert.equal((await t.db('package_assignments').where({ id: current.id }).first()).ended_recorded_at, null);
    const ended = await a.admin.submit(`${base}/${current.id}/end`, { ends_at: '', confirm: 'yes' });
    assert.equal(ended.status, 303);
    const row = await t.db('package_assignments').where({ id: current.id }).first();
    assert.ok(row.ends_at && new Date(row.ends_at).getTime() <= Date.now());
    assert.notEqual(row.ended_recorded_at, null);
    page = await a.admin.get(base);
    assert.deepEqual(assignmentRows(page.text), [['Basic', 'starts later'], ['Basic', 'ended']]);
    // Ending it again is refused; a future one cannot end before it starts.
    await a.admin.submit(`${base}/${current.id}/end`, { confirm: 'yes' });
    assert.match(text((await a.admin.get(base)).text), /Basic ended already/);
    await a.admin.submit(`${base}/${fut.id}/end`, { confirm: 'yes' });
    assert.match(text((await a.admin.get(base)).text), /Basic starts at 2030-01-15 09:00:00 UTC\+9: give an end after that/);
    assert.deepEqual(await t.db('audit_log').where({ entity_type: 'toll_package_assignment', reseller_id: a.reseller.id }).orderBy('id').pluck('action'), ['create', 'create', 'end']);

    // History through the service, for other modules.
    const all = await tollAssignmentsOf(t.db, { kind: 'reseller', resellerId: a.reseller.id }, { kind: 'subscriber', subscriberId: a.subscriber.id });
    assert.deepEqual(all.map((x) => x.state), ['scheduled', 'ended']);

    // Support: the page, no forms; a post refused.
    const sup = await a.support.get(base);
    assert.equal(sup.status, 200);
    assert.doesNotMatch(sup.text, /Give package|>End</);
    assert.equal((await a.support.submit(base, { toll_package_id: String(pid) }, base)).status, 403);

    // The operator's packages go to resellers, from the reseller's page.
    const og = groupIdOf(await newGroup(ops, '/wholesale', { name: `World ${a.reseller.id}`, prefixes: '1\n44\n33' }));
    const op = packageIdOf(await ops.submit('/wholesale/toll-packages', { name: `Wholesale bundle ${a.reseller.id}`, currency: 'USD', monthly_fee: '100', [`group_${og}_on`]: 'on', [`group_${og}_minutes`]: '10000' }, '/wholesale/toll-packages/new'));
    const rbase = `/wholesale/resellers/${a.reseller.id}/toll-packages`;
    // A reseller's package is not the operator's to give.
    const notOurs = await ops.submit(rbase, { toll_package_id: String(pid) }, rbase);
    assert.match(text(notOurs.text), /Choose one of the toll packages listed/);
    assert.equal((await ops.submit(rbase, { toll_package_id: String(op) }, rbase)).status, 303);
    const held = await t.db('package_assignments').where({ reseller_id: a.reseller.id, toll_package_id: op }).first();
    assert.equal(held.subscriber_id, null);
    assert.match(text((await a.admin.get('/reseller/toll-packages')).text), new RegExp(`Your wholesale toll packages[\\s\\S]*Wholesale bundle ${a.reseller.id}`));
    assert.match(text((await ops.get(`/wholesale/resellers/${a.reseller.id}`)).text), new RegExp(`Toll packages[\\s\\S]*Wholesale bundle ${a.reseller.id}`));
    // A subscriber never reads its reseller's wholesale packages.
    await assert.rejects(allowancesOf(t.db, { kind: 'subscriber', resellerId: a.reseller.id, subscriberId: a.subscriber.id }, { kind: 'reseller', resellerId: a.reseller.id }));
  });

  test('allowance used and left: the usage of the cycle containing the moment, in the party’s zone and cycle day (New York, day 10, across the DST change)', async () => {
    const a = await tenant();
    const g1 = groupIdOf(await newGroup(a.admin, '/reseller', { name: 'Domestic', prefixes: '1' }));
    const g2 = groupIdOf(await newGroup(a.admin, '/reseller', { name: 'Anywhere', prefixes: '4\n3' }));
    const pid = packageIdOf(await a.admin.submit('/reseller/toll-packages', { name: 'Plenty', currency: 'USD', [`group_${g1}_on`]: 'on', [`group_${g1}_minutes`]: '100', [`group_${g2}_on`]: 'on', [`group_${g2}_unlimited`]: 'on' }, '/reseller/toll-packages/new'));
    const [assignment] = await t.db('package_assignments').insert({ reseller_id: a.reseller.id, subscriber_id: a.subscriber.id, toll_package_id: pid, starts_at: '2026-01-01T00:00:00Z' }).returning('id');
    const id = Number(assignment.id);
    const use = (cycleStart: string, cycleEnd: string, group: number, seconds: number) =>
      t.db('allowance_usage').insert({ assignment_id: id, group_id: group, cycle_start: cycleStart, cycle_end: cycleEnd, seconds_used: seconds });
    // The subscriber's cycles in New York from day 10: February's starts at 00:00 EST (05:00Z),
    // March's at 00:00 EDT (04:00Z: DST began on 8 March 2026).
    await use('2026-02-10T05:00:00Z', '2026-03-10T04:00:00Z', g1, 999);
    await use('2026-03-10T04:00:00Z', '2026-04-10T04:00:00Z', g1, 1234);
    await use('2026-03-10T04:00:00Z', '2026-04-10T04:00:00Z', g2, 50_000);
    const scope = { kind: 'reseller' as const, resellerId: a.reseller.id };
    const party = { kind: 'subscriber' as const, subscriberId: a.subscriber.id };

    const atStart = await allowancesOf(t.db, scope, party, new Date('2026-03-10T04:00:00Z'));
    assert.deepEqual(atStart.map((x) => [x.groupName, x.includedSeconds, x.usedSeconds, x.leftSeconds]), [['Anywhere', null, 50_000, null], ['Domestic', 6000, 1234, 4766]]);
    assert.equal(atStart[0]?.cycle.startDate, '2026-03-10');
    assert.equal(atStart[0]?.cycle.lastDate, '2026-04-09');
    assert.equal(atStart[0]?.cycle.startMs, Date.parse('2026-03-10T04:00:00Z'));
    assert.equal(atStart[0]?.cycle.timeZone, 'America/New_York');
    // A millisecond before local midnight: February's cycle.
    const before = await allowancesOf(t.db, scope, party, new Date('2026-03-10T03:59:59.999Z'));
    assert.deepEqual(before.map((x) => [x.groupName, x.usedSeconds, x.leftSeconds]), [['Anywhere', 0, null], ['Domestic', 999, 5001]]);
    assert.equal(before[0]?.cycle.startMs, Date.parse('2026-02-10T05:00:00Z'));
    // Before the assignment started: nothing.
    assert.deepEqual(await allowancesOf(t.db, scope, party, new Date('2025-12-31T23:59:59Z')), []);

    // The pages read the cycle containing now.
    const cycle = cycleAt(Date.now(), { day: 10, timeZone: 'America/New_York' });
    await use(new Date(cycle.startMs).toISOString(), new Date(cycle.endMs).toISOString(), g1, 4321);
    const prev = cycleAt(cycle.startMs - 1, { day: 10, timeZone: 'America/New_York' });
    if (prev.startMs !== Date.parse('2026-03-10T04:00:00Z') && prev.startMs !== Date.parse('2026-02-10T05:00:00Z')) {
      await use(new Date(prev.startMs).toISOString(), new Date(prev.endMs).toISOString(), g1, 17);
    }
    const expected = [['Plenty', 'Anywhere', 'unlimited', '0 s', 'unlimited'], ['Plenty', 'Domestic', '100 min', '72 min 01 s', '27 min 59 s']];
    for (const [who, path] of [
      [a.me, '/me/toll-packages'],
      [a.admin, `/reseller/subscribers/${a.subscriber.id}/toll-packages`],
      [a.admin, `/reseller/subscribers/${a.subscriber.id}`],
      [a.support, `/reseller/subscribers/${a.subscriber.id}`],
      [ops, `/wholesale/resellers/${a.reseller.id}/subscribers/${a.subscriber.id}`],
    ] as const) {
      const res = await who.get(path);
      assert.equal(res.status, 200, path);
      assert.deepEqual(allowanceRows(res.text), expected, path);
      assert.match(text(res.text), new RegExp(`Current billing cycle: <strong>${cycle.startDate}</strong> to <strong>[0-9-]+</strong> \\(America/New_York\\)`), path);
    }
  });

  test('tenants never see each other’s packages or assignments', async () => {
    const a = await tenant();
    const b = await tenant();
    const g = groupIdOf(await newGroup(b.admin, '/reseller', { name: 'B group', prefixes: '1' }));
    const pid = packageIdOf(await b.admin.submit('/reseller/toll-packages', { name: 'B secret', currency: 'USD', [`group_${g}_on`]: 'on', [`group_${g}_minutes`]: '1' }, '/reseller/toll-packages/new'));
    await b.admin.submit(`/reseller/subscribers/${b.subscriber.id}/toll-packages`, { toll_package_id: String(pid) }, `/reseller/subscribers/${b.subscriber.id}/toll-packages`);
    assert.equal((await a.admin.get(`/reseller/toll-packages/${pid}`)).status, 404);
    assert.equal((await a.admin.get(`/reseller/subscribers/${b.subscriber.id}/toll-packages`)).status, 404);
    // B's package given to A's subscriber by A's admin: not one of A's.
    const res = await a.admin.submit(`/reseller/subscribers/${a.subscriber.id}/toll-packages`, { toll_package_id: String(pid) }, `/reseller/subscribers/${a.subscriber.id}/toll-packages`);
    assert.equal(res.status, 422);
    assert.doesNotMatch(text((await a.admin.get('/reseller/toll-packages')).text), /B secret/);
    assert.doesNotMatch(text((await a.me.get('/me/toll-packages')).text), /B secret/);
  });
});
