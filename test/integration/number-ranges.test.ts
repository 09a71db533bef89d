/**
 * Number ranges (DOMAIN.md): the operator gives each reseller ranges of numbers, which never
 * overlap; a reseller assigns only numbers of its own ranges, and sees them read only.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestApp, type TestApp } from '../support/app';
import { makeReseller, makeSubscriber, makeUser } from '../support/factories';
import { Client } from '../support/http';

/** Page text with the HTML entities EJS writes turned back into characters. */
function text(html: string): string {
  return html.replace(/&#34;|&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

/** The ranges table of a page (the reseller's page, or the list): [first, last, in use] per row. */
function rangeRows(html: string): string[][] {
  const table = /(?:data-testid="ranges"|data-list="number ranges")>([\s\S]*?)<\/table>/.exec(html)?.[1] ?? '';
  const body = /<tbody>([\s\S]*?)<\/tbody>/.exec(table)?.[1] ?? '';
  return [...body.matchAll(/<tr[^>]*>([\s\S]*?)<\/tr>/g)].map((tr) => {
    const cells = [...(tr[1] as string).matchAll(/<td([^>]*)>([\s\S]*?)<\/td>/g)].filter((m) => !(m[1] as string).includes('data-list-extra')).map((m) => (m[2] as string).replace(/<[^>]*>/g, '').trim());
    return [cells[0], cells[1], cells[cells.length - 1]] as string[];
  });
}

describe('number ranges: given by the operator, used by the reseller', () => {
  let t: TestApp;
  let ops: Client;

  before(async () => {
    t = await createTestApp();
    ops = await Client.login(t.app, (await makeUser(t.db, 'wholesale_admin')).email);
  });
  after(() => t.close());

  async function tenant(name?: string) {
    const reseller = await makeReseller(t.db, name ? { name } : {});
    const admin = await Client.login(t.app, (await makeUser(t.db, 'reseller_admin', { resellerId: reseller.id })).email);
    return { reseller, admin };
  }
  const addRange = (resellerId: number, first: string, last: string) =>
    ops.submit(`/wholesale/resellers/${resellerId}/number-ranges`, { first_number: first, last_number: last }, `/wholesale/resellers/${resellerId}/number-ranges`);

  test('the operator adds ranges; an overlap with any range is refused naming it, as are bounds of two lengths or in the wrong order; each change is audited', async () => {
    const a = await tenant('Alpha Range Telecom');
    const b = await tenant();
    const added = await addRange(a.reseller.id, '+1 212 555 0000', '+1 212 555 0999');
    assert.equal(added.status, 303, text(added.text));
    assert.deepEqual(await t.db('number_ranges').where({ reseller_id: a.reseller.id }).pluck('first_number'), ['+12125550000']);

    const overlap = await addRange(b.reseller.id, '+12125550900', '+12125551099');
    assert.equal(overlap.status, 422);
    assert.match(text(overlap.text), /\+12125550900 to \+12125551099 overlaps the range of Alpha Range Telecom \+12125550000 to \+12125550999/);
    const own = await addRange(a.reseller.id, '+12125550999', '+12125550999');
    assert.match(text(own.text), /overlaps Alpha Range Telecom’s own range \+12125550000 to \+12125550999/);
    const lengths = await addRange(b.reseller.id, '+12125551000', '+121255519999');
    assert.match(text(lengths.text), /a range's first and last number have the same length/);
    const order = await addRange(b.reseller.id, '+12125551999', '+12125551000');
    assert.match(text(order.text), /\+12125551000 comes before \+12125551999/);
    const national = await addRange(b.reseller.id, '2125551000', '2125551999');
    assert.match(text(national.text), /has no country code \(type it in international form/);
    assert.deepEqual(await t.db('number_ranges').where({ reseller_id: b.reseller.id }).pluck('id'), []);

    // Right after a's range, and a number of another length inside a's span: neither overlaps.
    assert.equal((await addRange(b.reseller.id, '+12125551000', '+12125551999')).status, 303);
    assert.equal((await addRange(b.reseller.id, '+121255500001', '+121255500001')).status, 303);
    // The database refuses an overlap on its own as well (two operators at once).
    await assert.rejects(t.db('number_ranges').insert({ reseller_id: b.reseller.id, first_number: '+12125550500', last_number: '+12125550500' }), /number_ranges_no_overlap/);

    const audit = await t.db('audit_log').where({ entity_type: 'number_range' }).whereIn('reseller_id', [a.reseller.id, b.reseller.id]).orderBy('id');
    assert.deepEqual(audit.map((x) => [x.action, x.after.first_number]), [['create', '+12125550000'], ['create', '+12125551000'], ['create', '+121255500001']]);
  });

  test("a range holding another reseller's subscriber's number is refused, naming the number (the operator may know)", async () => {
    const a = await tenant();
    const b = await tenant('Holder Telecom');
    await makeSubscriber(t.db, b.reseller.id, {}, ['+13125550105']);
    // Held from before ranges existed, with no range of b's around it (the factory makes one).
    await t.db('number_ranges').where({ reseller_id: b.reseller.id }).del();
    const res = await addRange(a.reseller.id, '+13125550100', '+13125550199');
    assert.equal(res.status, 422);
    assert.match(text(res.text), /assigned to subscribers of other resellers: \+13125550105 \(Holder Telecom\)/);
  });

  test('the reseller assigns numbers of its ranges only; the pages count the numbers in use; a range is removed after asking, and not while a number of it is assigned', async () => {
    const a = await tenant();
    const b = await tenant();
    assert.equal((await addRange(a.reseller.id, '+14155550000', '+14155550099')).status, 303);
    assert.equal((await addRange(b.reseller.id, '+14155550100', '+14155550199')).status, 303);
    const sub = await makeSubscriber(t.db, a.reseller.id);
    const inRange = await a.admin.submit(`/reseller/subscribers/${sub.id}/numbers`, { number: '+1 415 555 0042' }, `/reseller/subscribers/${sub.id}`);
    assert.equal(inRange.status, 303, text(inRange.text));
    const outside = await a.admin.submit(`/reseller/subscribers/${sub.id}/numbers`, { number: '+1 415 555 0142' });
    assert.equal(outside.status, 422);
    assert.match(text(outside.text), /\+14155550142 is not in your number ranges \(your operator assigns them\)/);

    const [range] = await t.db('number_ranges').where({ reseller_id: a.reseller.id });
    // The operator's pages and the reseller's own, with the count in use; never another reseller's range.
    assert.deepEqual(rangeRows((await ops.get(`/wholesale/resellers/${a.reseller.id}/number-ranges`)).text), [['+14155550000', '+14155550099', '1']]);
    assert.deepEqual(rangeRows((await ops.get(`/wholesale/resellers/${a.reseller.id}`)).text), [['+14155550000', '+14155550099', '1']]);
    const mine = await a.admin.get('/reseller/number-ranges');
    assert.equal(mine.status, 200);
    assert.deepEqual(rangeRows(mine.text), [['+14155550000', '+14155550099', '1']]);
    assert.ok(!mine.text.includes('+14155550100'), "not b's range");
    assert.ok(!/action="[^"]*number-ranges/.test(mine.text) && !mine.text.includes('Add range'), 'read only: no forms');

    // Removal asks first, then is refused while the number is assigned.
    const remove = `/wholesale/resellers/${a.reseller.id}/number-ranges/${range.id}/remove`;
    const ask = await ops.submit(remove, {}, `/wholesale/resellers/${a.reseller.id}/number-ranges`);
    assert.equal(ask.status, 200);
    assert.match(text(ask.text), /Remove \+14155550000 to \+14155550099\?/);
    assert.match(text(ask.text), /1 of its numbers is assigned/);
    const refused = await ops.submit(remove, { confirm: 'yes' });
    assert.equal(refused.status, 303);
    assert.match(text((await ops.get(refused.headers.location as string)).text), /cannot be removed: 1 of its numbers is assigned\. Release them first\./);
    assert.ok(await t.db('number_ranges').where({ id: range.id }).first(), 'kept');

    const n = await t.db('phone_numbers').where({ subscriber_id: sub.id }).first();
    assert.equal((await a.admin.submit(`/reseller/subscribers/${sub.id}/numbers/${n.id}/release`, { confirm: 'yes' })).status, 303);
    const removed = await ops.submit(remove, { confirm: 'yes' }, `/wholesale/resellers/${a.reseller.id}/number-ranges`);
    assert.equal(removed.status, 303);
    assert.equal(await t.db('number_ranges').where({ id: range.id }).first(), undefined);
    const audit = await t.db('audit_log').where({ entity_type: 'number_range', entity_id: range.id }).orderBy('id');
    assert.deepEqual(audit.map((x) => x.action), ['create', 'delete']);
    assert.equal(audit[1].before.first_number, '+14155550000');
    // Its numbers can no longer be assigned.
    const after = await a.admin.submit(`/reseller/subscribers/${sub.id}/numbers`, { number: '+1 415 555 0042' }, `/reseller/subscribers/${sub.id}`);
    assert.match(text(after.text), /\+14155550042 is not in your number ranges/);
  });

  test('support roles see ranges but change none: the server refuses their writes', async () => {
    const a = await tenant();
    assert.equal((await addRange(a.reseller.id, '+16175550000', '+16175550009')).status, 303);
    const [range] = await t.db('number_ranges').where({ reseller_id: a.reseller.id });
    const support = await Client.login(t.app, (await makeUser(t.db, 'wholesale_support')).email);
    const page = await support.get(`/wholesale/resellers/${a.reseller.id}/number-ranges`);
    assert.equal(page.status, 200);
    assert.deepEqual(rangeRows(page.text), [['+16175550000', '+16175550009', '0']]);
    assert.ok(!page.text.includes('Add range') && !page.text.includes('>Remove<'));
    await support.refreshCsrf();
    assert.equal((await support.submit(`/wholesale/resellers/${a.reseller.id}/number-ranges`, { first_number: '+16175550100', last_number: '+16175550109' })).status, 403);
    assert.equal((await support.submit(`/wholesale/resellers/${a.reseller.id}/number-ranges/${range.id}/remove`, { confirm: 'yes' })).status, 403);
    const resellerSupport = await Client.login(t.app, (await makeUser(t.db, 'reseller_support', { resellerId: a.reseller.id })).email);
    assert.deepEqual(rangeRows((await resellerSupport.get('/reseller/number-ranges')).text), [['+16175550000', '+16175550009', '0']]);
    assert.equal((await resellerSupport.submit(`/wholesale/resellers/${a.reseller.id}/number-ranges`, { first_number: '+16175550100', last_number: '+16175550109' })).status, 403);
    assert.equal(await t.db('number_ranges').where({ reseller_id: a.reseller.id }).count<{ count: number }[]>('* as count').then((r) => Number(r[0]?.count)), 1);
  });
});
