import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestApp, type TestApp } from '../support/app';
import { makeReseller, makeUser } from '../support/factories';
import { Client } from '../support/http';

describe('audit log pages', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp();
  });
  after(() => t.close());

  test('a change by operator staff shows the person to wholesale, and only "Operator" to the reseller', async () => {
    const r = await makeReseller(t.db);
    const staff = await makeUser(t.db, 'wholesale_admin');
    const resellerAdmin = await makeUser(t.db, 'reseller_admin', { resellerId: r.id });
    const operator = await Client.login(t.app, staff.email);
    const edit = await operator.submit(`/wholesale/resellers/${r.id}`, { name: `${r.name} renamed`, code: r.code, currency: 'USD' });
    assert.equal(edit.status, 303);

    const wholesaleView = await operator.get(`/wholesale/audit?resellerId=${r.id}`);
    assert.match(wholesaleView.text, new RegExp(staff.email.replace('.', '\\.')));
    assert.match(wholesaleView.text, /renamed/);

    const resellerView = await (await Client.login(t.app, resellerAdmin.email)).get('/reseller/audit');
    assert.equal(resellerView.status, 200);
    assert.match(resellerView.text, /renamed/, 'the reseller sees the change to its own record');
    assert.ok(!resellerView.text.includes(staff.email), 'but not who on the operator side made it');
    assert.match(resellerView.text, />Operator \(Wholesale admin\)</);
  });

  test('filters by entity and action, and pages by keyset', async () => {
    const staff = await makeUser(t.db, 'wholesale_admin');
    const c = await Client.login(t.app, staff.email);
    for (let i = 0; i < 27; i++) {
      const r = await makeReseller(t.db);
      assert.equal((await c.submit(`/wholesale/resellers/${r.id}/deactivate`, { confirm: 'yes' })).status, 303);
    }
    const page1 = await c.get('/wholesale/audit?action=deactivate');
    const rows = (html: string) => (html.match(/>deactivate reseller #\d+</g) ?? []).length;
    assert.equal(rows(page1.text), 25);
    const next = /href="([^"]*cursor=[^"]+)"/.exec(page1.text)?.[1]?.replace(/&amp;/g, '&');
    assert.ok(next);
    assert.equal(rows((await c.get(`/wholesale/audit${next}`)).text), 2);
    const users = await c.get('/wholesale/audit?entityType=user&action=deactivate');
    assert.equal(rows(users.text), 0);
  });
});
