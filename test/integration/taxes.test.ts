import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Decimal } from '../../src/domain/money/decimal';
import { computeTaxes } from '../../src/domain/tax/tax';
import { UsageTaxTable } from '../../src/modules/taxes/tax-cache';
import { taxesFor, usageTaxesFor, usageTaxRows, type TaxOwner } from '../../src/modules/taxes/taxes.repository';
import { createTestApp, type TestApp } from '../support/app';
import { makeJurisdiction, makeReseller, makeSubscriber, makeTax, makeUser } from '../support/factories';
import { Client } from '../support/http';

/** Page text with the HTML entities EJS writes turned back into characters. */
function text(html: string): string {
  return html.replace(/&#34;|&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

/** The message shown beside one form field (the field partial's error span). */
function fieldError(html: string, field: string): string | undefined {
  const m = new RegExp(`id="f-${field}-error">([^<]*)<`).exec(html);
  return m ? text(m[1] as string) : undefined;
}

const at = (iso: string) => Date.parse(iso);

describe('taxes: jurisdictions, taxes of both owners, exemptions, and the lookup the intake uses', () => {
  let t: TestApp;
  let admin: Client;
  let support: Client;

  before(async () => {
    t = await createTestApp();
    admin = await Client.login(t.app, (await makeUser(t.db, 'wholesale_admin')).email);
    support = await Client.login(t.app, (await makeUser(t.db, 'wholesale_support')).email);
  });
  after(() => t.close());

  /** A reseller with its admin and support logged in. */
  async function tenant() {
    const reseller = await makeReseller(t.db);
    const adminUser = await makeUser(t.db, 'reseller_admin', { resellerId: reseller.id });
    const supportUser = await makeUser(t.db, 'reseller_support', { resellerId: reseller.id });
    return { reseller, admin: await Client.login(t.app, adminUser.email), support: await Client.login(t.app, supportUser.email) };
  }

  function taxForm(jurisdictionId: number, over: Record<string, string> = {}): Record<string, string> {
    return {
      jurisdiction_id: String(jurisdictionId), name: 'Sales tax', kind: 'usage', basis: 'percent', rate: '8.875', priority: '1',
      compounding: '', effective_from: '2026-01-01', effective_to: '', ...over,
    };
  }

  describe('jurisdictions (wholesale)', () => {
    test('created and edited by a wholesale admin, with errors beside the fields, duplicates refused, audited', async () => {
      const bad = await admin.submit('/wholesale/tax-jurisdictions', { country: 'USA', region: '', name: '' });
      assert.equal(bad.status, 422);
      assert.equal(fieldError(bad.text, 'country'), 'Country must be a two-letter ISO 3166 code');
      assert.equal(fieldError(bad.text, 'name'), 'Name is required');
      assert.match(bad.text, /value="USA"/, 'the values typed are kept');

      const ok = await admin.submit('/wholesale/tax-jurisdictions', { country: 'ca', region: ' ON ', name: 'Ontario' });
      assert.equal(ok.status, 303);
      const row = await t.db('tax_jurisdictions').where({ name: 'Ontario' }).first();
      assert.deepEqual([row.country, row.region], ['CA', 'ON'], 'country upper-cased, region trimmed');
      const whole = await admin.submit('/wholesale/tax-jurisdictions', { country: 'CA', region: '', name: 'Canada' });
      assert.equal(whole.status, 303);
      assert.equal((await t.db('tax_jurisdictions').where({ name: 'Canada' }).first()).region, null, 'blank region is the whole country');

      const dup = await admin.submit('/wholesale/tax-jurisdictions', { country: 'CA', region: 'on', name: 'Ontario again' });
      assert.equal(dup.status, 422);
      assert.equal(fieldError(dup.text, 'region'), 'This country and region is already a jurisdiction');
      const dupWhole = await admin.submit('/wholesale/tax-jurisdictions', { country: 'CA', region: '', name: 'Canada again' });
      assert.equal(dupWhole.status, 422);

      const list = await admin.get('/wholesale/tax-jurisdictions');
      assert.match(list.text, /Ontario/);
      assert.match(list.text, /\(whole country\)/);
      assert.match(list.text, new RegExp(`href="/wholesale/tax-jurisdictions/${row.id}/edit"`));

      const edit = await admin.get(`/wholesale/tax-jurisdictions/${row.id}/edit`);
      assert.equal(edit.status, 200);
      assert.match(edit.text, /value="Ontario"/);
      const badEdit = await admin.submit(`/wholesale/tax-jurisdictions/${row.id}`, { country: 'CA', region: 'ON', name: '' });
      assert.equal(badEdit.status, 422);
      assert.equal(fieldError(badEdit.text, 'name'), 'Name is required');
      const saved = await admin.submit(`/wholesale/tax-jurisdictions/${row.id}`, { country: 'CA', region: 'ON', name: 'Province of Ontario' });
      assert.equal(saved.status, 303);

      const audit = await t.db('audit_log').where({ entity_type: 'tax_jurisdiction', entity_id: row.id }).orderBy('id');
      assert.deepEqual(audit.map((a) => a.action), ['create', 'update']);
      assert.equal(audit[0].reseller_id, null);
      assert.deepEqual([audit[1].before.name, audit[1].after.name], ['Ontario', 'Province of Ontario']);
    });

    test('support sees the list with no write controls, and cannot write', async () => {
      await makeJurisdiction(t.db, { name: 'Visible to support' });
      const list = await support.get('/wholesale/tax-jurisdictions');
      assert.equal(list.status, 200);
      assert.match(list.text, /Visible to support/);
      assert.doesNotMatch(list.text, /New jurisdiction|\/edit"/);
      assert.equal((await support.get('/wholesale/tax-jurisdictions/new')).status, 403);
      assert.equal((await support.submit('/wholesale/tax-jurisdictions', { country: 'US', name: 'Nope' })).status, 403);
    });
  });

  describe('the operator’s taxes (wholesale)', () => {
    test('a tax is created with exact decimals; bad input is refused beside its field', async () => {
      const j = await makeJurisdiction(t.db, { country: 'US', region: 'NY', name: 'New York State' });
      const countBefore = Number((await t.db('taxes').count('* as n').first())?.n);
      const bad = await admin.submit('/wholesale/taxes', taxForm(j.id, { rate: '8,875', priority: '-1', effective_from: '2026-02-30', effective_to: 'soon' }));
      assert.equal(bad.status, 422);
      assert.equal(fieldError(bad.text, 'rate'), 'Rate must be a decimal number such as 8.875');
      assert.equal(fieldError(bad.text, 'priority'), 'Priority must be a whole number from 0 to 999999');
      assert.equal(fieldError(bad.text, 'effective_from'), 'Effective from is not a real date: February 2026 has 28 days');
      assert.match(fieldError(bad.text, 'effective_to') ?? '', /Effective to must be a date/);
      assert.match(bad.text, /value="8,875"/);

      const tooMuch = await admin.submit('/wholesale/taxes', taxForm(j.id, { rate: '100.5', effective_to: '2025-12-31' }));
      assert.equal(tooMuch.status, 422);
      assert.equal(fieldError(tooMuch.text, 'rate'), 'A percentage must be at most 100');
      assert.equal(fieldError(tooMuch.text, 'effective_to'), 'Effective to must be after effective from');
      const decimals = await admin.submit('/wholesale/taxes', taxForm(j.id, { rate: '1.00000000001' }));
      assert.equal(fieldError(decimals.text, 'rate'), 'Rate can have at most 10 decimals');
      const noPlace = await admin.submit('/wholesale/taxes', taxForm(j.id, { jurisdiction_id: '' }));
      assert.equal(fieldError(noPlace.text, 'jurisdiction_id'), 'Choose a jurisdiction');
      const gone = await admin.submit('/wholesale/taxes', taxForm(999_999));
      assert.equal(gone.status, 422);
      assert.equal(fieldError(gone.text, 'jurisdiction_id'), 'Choose a jurisdiction from the list');
      assert.equal(Number((await t.db('taxes').count('* as n').first())?.n), countBefore, 'nothing written');

      const ok = await admin.submit('/wholesale/taxes', taxForm(j.id, { name: 'NY sales tax', compounding: 'on', effective_from: '2026-01-01 06:30' }));
      assert.equal(ok.status, 303);
      const row = await t.db('taxes').where({ name: 'NY sales tax' }).first();
      assert.equal(ok.headers.location, `/wholesale/taxes/${row.id}`);
      assert.equal(row.reseller_id, null, 'the operator’s own tax');
      assert.equal(row.rate, '8.8750000000', 'numeric, exact');
      assert.equal(row.compounding, true);
      assert.equal(new Date(row.effective_from).toISOString(), '2026-01-01T06:30:00.000Z', 'a date and time without offset is UTC');
      assert.equal(row.effective_to, null);

      const page = await admin.get(ok.headers.location as string);
      assert.match(text(page.text), /Tax NY sales tax created/);
      assert.match(page.text, /data-testid="tax-rate">8.875 %</);
      assert.match(page.text, /US \/ NY: New York State/);
      assert.match(page.text, /data-testid="tax-state">in force</);
      const list = await admin.get('/wholesale/taxes');
      assert.match(list.text, new RegExp(`href="/wholesale/taxes/${row.id}">NY sales tax</a>`));
    });

    test('edit, then end a tax by setting effective_to; each change audited with before and after', async () => {
      const j = await makeJurisdiction(t.db, { country: 'US', region: null, name: 'United States' });
      const created = await admin.submit('/wholesale/taxes', taxForm(j.id, { name: 'Federal USF', rate: '5' }));
      const id = Number(/(\d+)$/.exec(created.headers.location as string)?.[1]);

      const edit = await admin.get(`/wholesale/taxes/${id}/edit`);
      assert.equal(edit.status, 200);
      assert.match(edit.text, /value="Federal USF"/);
      assert.match(edit.text, /value="2026-01-01 00:00"/);
      const badEdit = await admin.submit(`/wholesale/taxes/${id}`, taxForm(j.id, { name: 'Federal USF', basis: 'sideways' }));
      assert.equal(badEdit.status, 422);
      assert.equal(fieldError(badEdit.text, 'basis'), 'Choose percent or fixed amount');
      const saved = await admin.submit(`/wholesale/taxes/${id}`, taxForm(j.id, { name: 'Federal USF', basis: 'fixed', rate: '0.05', priority: '0' }));
      assert.equal(saved.status, 303);
      assert.match((await admin.get(`/wholesale/taxes/${id}`)).text, /data-testid="tax-rate">0.05 per charge</);

      const early = await admin.submit(`/wholesale/taxes/${id}/end`, { effective_to: '2025-06-01' });
      assert.equal(early.status, 422);
      assert.equal(fieldError(early.text, 'effective_to'), 'The end must be after the tax’s start');
      const blank = await admin.submit(`/wholesale/taxes/${id}/end`, { effective_to: '' });
      assert.equal(blank.status, 422);
      assert.equal(fieldError(blank.text, 'effective_to'), 'End is required');
      const ended = await admin.submit(`/wholesale/taxes/${id}/end`, { effective_to: '2026-07-01T00:00:00+02:00' });
      assert.equal(ended.status, 303);
      const row = await t.db('taxes').where({ id }).first();
      assert.equal(new Date(row.effective_to).toISOString(), '2026-06-30T22:00:00.000Z', 'an offset is honoured');
      const page = await admin.get(`/wholesale/taxes/${id}`);
      assert.match(page.text, /data-testid="tax-end">2026-06-30 22:00:00 UTC</);

      const audit = await t.db('audit_log').where({ entity_type: 'tax', entity_id: id }).orderBy('id');
      assert.deepEqual(audit.map((a) => a.action), ['create', 'update', 'end']);
      assert.ok(audit.every((a) => a.reseller_id === null));
      assert.deepEqual([audit[0].after.rate, audit[0].after.basis], ['5', 'percent']);
      assert.deepEqual([audit[1].before.basis, audit[1].after.basis, audit[1].after.rate], ['percent', 'fixed', '0.05']);
      assert.deepEqual([audit[2].before.effective_to, audit[2].after.effective_to], [null, '2026-06-30T22:00:00.000Z']);
    });

    test('support sees taxes with no write controls; writes and forms are refused', async () => {
      const j = await makeJurisdiction(t.db);
      const tax = await makeTax(t.db, null, j.id, { name: 'Seen by support' });
      const list = await support.get('/wholesale/taxes');
      assert.match(list.text, /Seen by support/);
      assert.doesNotMatch(list.text, /New tax/);
      const page = await support.get(`/wholesale/taxes/${tax.id}`);
      assert.equal(page.status, 200);
      assert.doesNotMatch(page.text, /\/edit"|action="\/wholesale\/taxes\/\d+\/end"/);
      assert.equal((await support.get(`/wholesale/taxes/${tax.id}/edit`)).status, 403);
      assert.equal((await support.submit(`/wholesale/taxes/${tax.id}/end`, { effective_to: '2027-01-01' })).status, 403);
    });
  });

  describe('a reseller’s taxes (reseller portal) and tenancy', () => {
    test('a reseller admin adds its own tax from the operator’s jurisdictions; nobody else reaches it', async () => {
      const a = await tenant();
      const b = await tenant();
      const j = await makeJurisdiction(t.db, { country: 'US', region: 'NJ', name: 'New Jersey' });
      const operatorTax = await makeTax(t.db, null, j.id, { name: 'Operator NJ tax' });
      const bTax = await makeTax(t.db, b.reseller.id, j.id, { name: 'B retail NJ tax' });

      const form = await a.admin.get('/reseller/taxes/new');
      assert.equal(form.status, 200);
      assert.match(form.text, new RegExp(`<option value="${j.id}"[^>]*>US / NJ: New Jersey</option>`), 'picks from the operator’s list');
      const bad = await a.admin.submit('/reseller/taxes', taxForm(j.id, { name: '', kind: 'monthly' }));
      assert.equal(bad.status, 422);
      assert.equal(fieldError(bad.text, 'name'), 'Name is required');
      assert.equal(fieldError(bad.text, 'kind'), 'Choose usage or recurring');
      const ok = await a.admin.submit('/reseller/taxes', taxForm(j.id, { name: 'A retail NJ tax', rate: '6.625' }));
      assert.equal(ok.status, 303);
      const row = await t.db('taxes').where({ name: 'A retail NJ tax' }).first();
      assert.equal(row.reseller_id, a.reseller.id);
      const audit = await t.db('audit_log').where({ entity_type: 'tax', entity_id: row.id }).first();
      assert.equal(audit.reseller_id, a.reseller.id, 'in the reseller’s own audit log');
      assert.equal(audit.action, 'create');

      // Each list shows its owner's taxes only.
      const aList = text((await a.admin.get('/reseller/taxes')).text);
      assert.match(aList, /A retail NJ tax/);
      assert.doesNotMatch(aList, /B retail NJ tax|Operator NJ tax/);
      const wList = text((await admin.get('/wholesale/taxes')).text);
      assert.match(wList, /Operator NJ tax/);
      assert.doesNotMatch(wList, /A retail NJ tax|B retail NJ tax/);

      // Another reseller's tax (or the operator's) is not found, whatever the verb.
      for (const id of [bTax.id, operatorTax.id]) {
        assert.equal((await a.admin.get(`/reseller/taxes/${id}`)).status, 404);
        assert.equal((await a.admin.get(`/reseller/taxes/${id}/edit`)).status, 404);
        assert.equal((await a.admin.submit(`/reseller/taxes/${id}`, taxForm(j.id, { name: 'Hijacked' }))).status, 404);
        assert.equal((await a.admin.submit(`/reseller/taxes/${id}/end`, { effective_to: '2027-01-01' })).status, 404);
      }
      assert.equal((await admin.get(`/wholesale/taxes/${row.id}`)).status, 404, 'the operator’s tax pages show only its own taxes');
      assert.equal((await admin.submit(`/wholesale/taxes/${row.id}/end`, { effective_to: '2027-01-01' })).status, 404);
      assert.equal((await t.db('taxes').where({ id: bTax.id }).first()).name, 'B retail NJ tax');
      assert.equal((await t.db('taxes').where({ id: bTax.id }).first()).effective_to, null);

      // Its own tax: edit and end.
      assert.equal((await a.admin.submit(`/reseller/taxes/${row.id}`, taxForm(j.id, { name: 'A retail NJ tax', rate: '7' }))).status, 303);
      assert.equal((await a.admin.submit(`/reseller/taxes/${row.id}/end`, { effective_to: '2027-01-01' })).status, 303);
      const actions = await t.db('audit_log').where({ entity_type: 'tax', entity_id: row.id }).orderBy('id').pluck('action');
      assert.deepEqual(actions, ['create', 'update', 'end']);

      // The reseller's support sees, never changes.
      const sList = await a.support.get('/reseller/taxes');
      assert.match(sList.text, /A retail NJ tax/);
      assert.doesNotMatch(sList.text, /New tax/);
      const sPage = await a.support.get(`/reseller/taxes/${row.id}`);
      assert.equal(sPage.status, 200);
      assert.doesNotMatch(sPage.text, /\/edit"|\/end"/);
      assert.equal((await a.support.get('/reseller/taxes/new')).status, 403);
      assert.equal((await a.support.submit('/reseller/taxes', taxForm(j.id))).status, 403);
      assert.equal((await a.support.get(`/reseller/taxes/${bTax.id}`)).status, 404);
    });

    test('with no jurisdictions to pick from, the new-tax page says so', async () => {
      const fresh = await createTestApp();
      try {
        const r = await makeReseller(fresh.db);
        const c = await Client.login(fresh.app, (await makeUser(fresh.db, 'reseller_admin', { resellerId: r.id })).email);
        const page = await c.get('/reseller/taxes/new');
        assert.match(text(page.text), /There are no tax jurisdictions yet\. The operator defines them/);
      } finally {
        await fresh.close();
      }
    });
  });

  describe('tax exemption', () => {
    test('a wholesale admin exempts a reseller and taxes it again; audited; support sees no form', async () => {
      const r = await makeReseller(t.db, { name: 'Exempt Co' });
      const page = await admin.get(`/wholesale/resellers/${r.id}`);
      assert.match(page.text, new RegExp(`action="/wholesale/resellers/${r.id}/tax-exempt"`));
      assert.match(page.text, /name="tax_exempt" value="true"/);

      assert.equal((await admin.submit(`/wholesale/resellers/${r.id}/tax-exempt`, { tax_exempt: 'true' })).status, 303);
      assert.equal((await t.db('resellers').where({ id: r.id }).first()).tax_exempt, true);
      const shown = await admin.get(`/wholesale/resellers/${r.id}`);
      assert.match(text(shown.text), /Exempt Co is tax exempt/);
      assert.match(shown.text, /data-testid="tax-exempt"><strong>Tax exempt:<\/strong>/);
      assert.match(shown.text, /name="tax_exempt" value="false"/);

      const junk = await admin.submit(`/wholesale/resellers/${r.id}/tax-exempt`, { tax_exempt: 'maybe' });
      assert.equal(junk.status, 303);
      assert.equal((await t.db('resellers').where({ id: r.id }).first()).tax_exempt, true, 'an unclear choice changes nothing');
      assert.equal((await admin.submit(`/wholesale/resellers/${r.id}/tax-exempt`, { tax_exempt: 'false' })).status, 303);
      assert.equal((await t.db('resellers').where({ id: r.id }).first()).tax_exempt, false);

      const audit = await t.db('audit_log').where({ entity_type: 'reseller', entity_id: r.id, action: 'tax_exempt' }).orderBy('id');
      assert.deepEqual(audit.map((a) => [a.before.tax_exempt, a.after.tax_exempt]), [[false, true], [true, false]]);
      assert.ok(audit.every((a) => a.reseller_id === r.id));

      const seen = await support.get(`/wholesale/resellers/${r.id}`);
      assert.match(seen.text, /data-testid="tax-exempt"/);
      assert.doesNotMatch(seen.text, /action="\/wholesale\/resellers\/\d+\/tax-exempt"/);
      assert.equal((await support.submit(`/wholesale/resellers/${r.id}/tax-exempt`, { tax_exempt: 'true' })).status, 403);
      assert.equal((await admin.submit('/wholesale/resellers/999999/tax-exempt', { tax_exempt: 'true' })).status, 404);
    });

    test('a reseller admin exempts its own subscriber, never another reseller’s; audited; read-only views show no form', async () => {
      const a = await tenant();
      const b = await tenant();
      const sub = await makeSubscriber(t.db, a.reseller.id);
      const other = await makeSubscriber(t.db, b.reseller.id);

      const page = await a.admin.get(`/reseller/subscribers/${sub.id}`);
      assert.match(page.text, new RegExp(`action="/reseller/subscribers/${sub.id}/tax-exempt"`));
      assert.equal((await a.admin.submit(`/reseller/subscribers/${sub.id}/tax-exempt`, { tax_exempt: 'true' })).status, 303);
      assert.equal((await t.db('subscribers').where({ id: sub.id }).first()).tax_exempt, true);
      assert.match(text((await a.admin.get(`/reseller/subscribers/${sub.id}`)).text), /is tax exempt: your taxes are not added/);

      assert.equal((await a.admin.submit(`/reseller/subscribers/${other.id}/tax-exempt`, { tax_exempt: 'true' })).status, 404);
      assert.equal((await t.db('subscribers').where({ id: other.id }).first()).tax_exempt, false);

      const audit = await t.db('audit_log').where({ entity_type: 'subscriber', entity_id: sub.id, action: 'tax_exempt' });
      assert.equal(audit.length, 1);
      assert.equal(audit[0].reseller_id, a.reseller.id);
      assert.deepEqual([audit[0].before.tax_exempt, audit[0].after.tax_exempt], [false, true]);

      const seen = await a.support.get(`/reseller/subscribers/${sub.id}`);
      assert.match(seen.text, /data-testid="tax-exempt"><strong>Tax exempt:/);
      assert.doesNotMatch(seen.text, /\/tax-exempt"/);
      assert.equal((await a.support.submit(`/reseller/subscribers/${sub.id}/tax-exempt`, { tax_exempt: 'false' })).status, 403);
      const operatorView = await admin.get(`/wholesale/resellers/${a.reseller.id}/subscribers/${sub.id}`);
      assert.equal(operatorView.status, 200);
      assert.match(operatorView.text, /data-testid="tax-exempt"><strong>Tax exempt:/);
      assert.doesNotMatch(operatorView.text, /\/tax-exempt"/, 'the operator views a subscriber; the reseller decides');
    });
  });

  describe('usageTaxesFor: the rules the intake applies', () => {
    test('country-wide and region jurisdictions, effective dates, kinds and owners', async () => {
      const r1 = await makeReseller(t.db);
      const r2 = await makeReseller(t.db);
      const us = await makeJurisdiction(t.db, { country: 'ZZ', region: null, name: 'Zedland' });
      const ny = await makeJurisdiction(t.db, { country: 'ZZ', region: 'Ny', name: 'Zedland NY' });
      const nj = await makeJurisdiction(t.db, { country: 'ZZ', region: 'NJ', name: 'Zedland NJ' });
      const other = await makeJurisdiction(t.db, { country: 'ZY', region: null, name: 'Zyland' });

      const federal = await makeTax(t.db, null, us.id, { name: 'Federal', rate: '5', priority: 1 });
      const state = await makeTax(t.db, null, ny.id, { name: 'NY state', rate: '10', priority: 2, compounding: true });
      await makeTax(t.db, null, nj.id, { name: 'NJ state', rate: '6.625', priority: 2 });
      await makeTax(t.db, null, other.id, { name: 'Zyland VAT', rate: '20', priority: 1 });
      await makeTax(t.db, null, us.id, { name: 'Recurring only', kind: 'recurring', rate: '3' });
      const fee = await makeTax(t.db, null, ny.id, { name: 'NY 911 fee', basis: 'fixed', rate: '0.0500', priority: 0 });
      // Effective dates: an ended one, a later one, and a replacement from July.
      const old = await makeTax(t.db, null, us.id, { name: 'Old levy', rate: '1', priority: 3, effective_from: '2025-01-01T00:00:00Z', effective_to: '2026-07-01T00:00:00Z' });
      await makeTax(t.db, null, us.id, { name: 'New levy', rate: '1.5', priority: 3, effective_from: '2026-07-01T00:00:00Z' });
      // Resellers' own taxes in the same places.
      await makeTax(t.db, r1.id, ny.id, { name: 'R1 retail NY', rate: '4', priority: 1 });
      await makeTax(t.db, r2.id, ny.id, { name: 'R2 retail NY', rate: '9', priority: 1 });

      const operator = { kind: 'operator' } as const;
      const names = (rules: Awaited<ReturnType<typeof usageTaxesFor>>) => rules.map((r) => r.name);

      // New York (region typed in another case, with spaces): country-wide + NY, by priority then id.
      const june = await usageTaxesFor(t.db, operator, { country: 'ZZ', region: ' nY ' }, at('2026-06-15T12:00:00Z'));
      assert.deepEqual(names(june), ['NY 911 fee', 'Federal', 'NY state', 'Old levy']);
      assert.deepEqual(june.map((r) => r.id), [fee.id, federal.id, state.id, old.id]);
      const stateRule = june.find((r) => r.id === state.id);
      assert.ok(stateRule);
      assert.equal(stateRule.rate.toString(), '10');
      assert.equal(stateRule.compounding, true);
      assert.equal(stateRule.basis, 'percent');
      assert.equal(june[0]?.basis, 'fixed');
      assert.equal(june[0]?.rate.toFixed(4), '0.0500');

      // effective_from inclusive, effective_to exclusive.
      assert.deepEqual(names(await usageTaxesFor(t.db, operator, { country: 'ZZ', region: 'NY' }, at('2026-06-30T23:59:59.999Z'))).slice(-1), ['Old levy']);
      assert.deepEqual(names(await usageTaxesFor(t.db, operator, { country: 'ZZ', region: 'NY' }, at('2026-07-01T00:00:00Z'))).slice(-1), ['New levy']);
      assert.ok(!names(await usageTaxesFor(t.db, operator, { country: 'ZZ', region: 'NY' }, at('2025-12-31T23:59:59Z'))).includes('Federal'), 'not yet in force');
      assert.ok(names(await usageTaxesFor(t.db, operator, { country: 'ZZ', region: null }, at('2026-07-01T00:00:00Z'))).includes('New levy'));

      // No region, or a region with no jurisdiction of its own: the country's taxes only.
      assert.deepEqual(names(await usageTaxesFor(t.db, operator, { country: 'ZZ', region: null }, at('2026-06-15T00:00:00Z'))), ['Federal', 'Old levy']);
      assert.deepEqual(names(await usageTaxesFor(t.db, operator, { country: 'zz', region: 'TX' }, at('2026-06-15T00:00:00Z'))), ['Federal', 'Old levy']);
      assert.deepEqual(names(await usageTaxesFor(t.db, operator, { country: 'ZZ', region: '' }, at('2026-06-15T00:00:00Z'))), ['Federal', 'Old levy']);
      assert.deepEqual(names(await usageTaxesFor(t.db, operator, { country: 'ZZ', region: 'NJ' }, at('2026-06-15T00:00:00Z'))), ['Federal', 'NJ state', 'Old levy']);
      assert.deepEqual(names(await usageTaxesFor(t.db, operator, { country: 'ZY', region: 'NY' }, at('2026-06-15T00:00:00Z'))), ['Zyland VAT'], 'another country with the same region name');
      assert.deepEqual(await usageTaxesFor(t.db, operator, { country: 'ZX', region: 'NY' }, at('2026-06-15T00:00:00Z')), []);

      // Recurring taxes (for monthly charges) are a separate lookup of the same shape.
      assert.deepEqual(names(await taxesFor(t.db, operator, 'recurring', { country: 'ZZ', region: 'NY' }, at('2026-06-15T00:00:00Z'))), ['Recurring only']);

      // Owners are separate: the operator's taxes are not a reseller's, and resellers not each other's.
      assert.deepEqual(names(await usageTaxesFor(t.db, { kind: 'reseller', resellerId: r1.id }, { country: 'ZZ', region: 'NY' }, at('2026-06-15T00:00:00Z'))), ['R1 retail NY']);
      assert.deepEqual(names(await usageTaxesFor(t.db, { kind: 'reseller', resellerId: r2.id }, { country: 'ZZ', region: 'ny' }, at('2026-06-15T00:00:00Z'))), ['R2 retail NY']);
      assert.deepEqual(await usageTaxesFor(t.db, { kind: 'reseller', resellerId: r1.id }, { country: 'ZZ', region: null }, at('2026-06-15T00:00:00Z')), []);

      // What the intake then does with them: base 10.0000 in NY in June.
      const taxes = computeTaxes(new Decimal('10.0000'), june, { decimals: 4, method: 'half_up' });
      // 911 fee 0.0500 (priority 0); Federal 5 % of 10 = 0.5000; NY state 10 % compounding on
      // 10 + 0.05 + 0.50 = 1.0550; Old levy 1 % of 10 = 0.1000.
      assert.deepEqual(taxes.lines.map((l) => `${l.name} ${l.amount.toFixed(4)}`), ['NY 911 fee 0.0500', 'Federal 0.5000', 'NY state 1.0550', 'Old levy 0.1000']);
      assert.equal(taxes.total.toFixed(4), '1.7050');
    });

    test('the intake’s in-memory copy (tax-cache) answers exactly as usageTaxesFor: every bound, place and owner', async () => {
      // Bounds stored to the microsecond, between two milliseconds, and a tax of one millisecond.
      const odd = await makeJurisdiction(t.db, { country: 'ZW', region: 'Odd Region', name: 'Oddland' });
      const zw = await makeJurisdiction(t.db, { country: 'ZW', region: null, name: 'Zwland' });
      await makeTax(t.db, null, odd.id, { name: 'Micro', effective_from: '2026-03-01T12:00:00.000500Z', effective_to: '2026-03-01T13:00:00.000500Z' });
      await makeTax(t.db, null, zw.id, { name: 'One ms', priority: 0, effective_from: '2026-03-01T12:00:00Z', effective_to: '2026-03-01T12:00:00.001Z' });
      await makeTax(t.db, null, zw.id, { name: 'Same priority, later id', priority: 0, effective_from: '2026-03-01T12:00:00Z' });

      const cached = await t.referenceData.usageTaxes.get(t.db);
      const fresh = new UsageTaxTable(await usageTaxRows(t.db));
      const rows = await t.db('taxes').where({ kind: 'usage' });
      const instants = new Set<number>([Date.parse('2026-06-15T00:00:00Z')]);
      for (const r of rows) for (const d of [r.effective_from, r.effective_to] as Array<Date | null>) if (d) for (const delta of [-1, 0, 1]) instants.add(d.getTime() + delta);
      const owners: TaxOwner[] = [{ kind: 'operator' }, ...[...new Set(rows.flatMap((r) => (r.reseller_id ? [Number(r.reseller_id)] : [])))].map((id) => ({ kind: 'reseller' as const, resellerId: id }))];
      const places = [['ZZ', 'NY'], ['ZZ', ' nY '], ['zz', null], ['ZZ', ''], ['ZZ', 'TX'], ['ZZ', 'NJ'], ['ZY', 'NY'], ['ZX', 'NY'], ['ZW', 'odd region'], ['ZW', null], ['US', 'NY'], ['US', null]] as const;
      const shown = (rules: Awaited<ReturnType<typeof usageTaxesFor>>) => rules.map((r) => `${r.id} ${r.name} ${r.basis} ${r.rate.toString()} ${r.priority} ${r.compounding}`);
      let compared = 0;
      for (const owner of owners) {
        for (const [country, region] of places) {
          for (const atMs of instants) {
            const address = { country, region };
            const sql = shown(await usageTaxesFor(t.db, owner, address, atMs));
            assert.deepEqual(shown(cached.rulesFor(owner, address, atMs)), sql, `${JSON.stringify(owner)} ${country}/${region} at ${new Date(atMs).toISOString()}`);
            assert.deepEqual(shown(fresh.rulesFor(owner, address, atMs)), sql);
            compared++;
          }
        }
      }
      assert.ok(compared > 300);
      const micro = (atIso: string) => cached.rulesFor({ kind: 'operator' }, { country: 'ZW', region: 'ODD REGION' }, Date.parse(atIso)).map((r) => r.name);
      assert.deepEqual(micro('2026-03-01T12:00:00.000Z'), ['One ms', 'Same priority, later id'], 'Micro starts half a millisecond later');
      assert.deepEqual(micro('2026-03-01T13:00:00.000Z'), ['Same priority, later id', 'Micro'], 'and ends half a millisecond after 13:00');
    });
  });
});
