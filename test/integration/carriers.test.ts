/**
 * LD carriers as records (issue 13, "Carriers"): the wholesale admin's pages (create, edit, rotate
 * the posting credential, deactivate), the checks of the form, the credential shown once and
 * stored hashed, the audit rows, the platforms' trunk maps held to the carrier records, and the
 * migration that made a record of every carrier name already in use.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { createTestApp, type TestApp } from '../support/app';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { makeCallLeg, makePlan, makeTenants } from '../support/factories';
import { Client } from '../support/http';
import { carrierByCredential, carrierByName } from '../../src/modules/carriers/carriers.service';
import { carrierMappingSchema, parseCarrierFile } from '../../src/domain/reconciliation';

const sha256 = (s: string) => crypto.createHash('sha256').update(s).digest('hex');
const errorOf = (html: string, field: string) => new RegExp(`id="f-${field}-error">([^<]*)<`).exec(html)?.[1];
const tokenOf = (html: string) => /data-testid="carrier-credential">([^<]+)</.exec(html)?.[1];

describe('LD carriers: records of their own, for the operator only', () => {
  let t: TestApp;
  let fx: Awaited<ReturnType<typeof makeTenants>>;
  let admin: Client;
  let n = 0;
  const form = (over: Record<string, string> = {}) => ({
    name: `Carrier ${++n} ${crypto.randomBytes(3).toString('hex')}`, currency: 'usd', time_zone: 'America/New_York', cost_plan_id: String(fx.operatorPlan.id),
    start_tolerance_seconds: '5', duration_tolerance_seconds: '2', cost_tolerance: '0.005', data_format: 'carrier-generic-csv', allowed_sources: '', file_due_at: '06:30', file_due_zone: 'Europe/London',
    ...over,
  });
  const create = async (over: Record<string, string> = {}) => {
    const res = await admin.submit('/wholesale/carriers', form(over), '/wholesale/carriers/new');
    assert.equal(res.status, 201, res.text.slice(0, 2000));
    const token = tokenOf(res.text) as string;
    const row = await t.db('carriers').whereRaw('lower(name) = lower(?)', [over.name ?? `Carrier ${n}`]).first();
    return { res, token, row: row ?? (await t.db('carriers').orderBy('id', 'desc').first()) };
  };

  before(async () => {
    t = await createTestApp();
    fx = await makeTenants(t.db);
    admin = await Client.login(t.app, fx.wholesaleAdmin.email);
  });
  after(() => t.close());

  test('created through the form: every setting stored, the credential shown once, stored only as its hash, and an audit row without it', async () => {
    const { res, token, row } = await create({ name: 'Level Three', allowed_sources: '192.0.2.0/24\n2001:db8::1' });
    assert.match(token, /^ldc_\d+_[A-Za-z0-9_-]{40,}$/);
    assert.equal(row.name, 'Level Three');
    assert.equal(row.currency, 'USD');
    assert.equal(row.time_zone, 'America/New_York');
    assert.equal(Number(row.cost_plan_id), fx.operatorPlan.id);
    assert.equal(row.start_tolerance_seconds, 5);
    assert.equal(row.duration_tolerance_seconds, 2);
    assert.equal(row.cost_tolerance, '0.0050000000');
    assert.equal(row.data_format, 'carrier-generic-csv');
    assert.equal(row.csv_mapping, null);
    assert.equal(String(row.file_due_at), '06:30:00');
    assert.equal(row.file_due_zone, 'Europe/London');
    assert.equal(row.active, true);
    assert.equal(row.credential_hash, sha256(token));
    assert.match(res.headers['cache-control'] ?? '', /no-store/);
    // Nowhere else: not in the audit row, not on the carrier's page.
    const audit = await t.db('audit_log').where({ entity_type: 'carrier', entity_id: row.id });
    assert.deepEqual(audit.map((a) => a.action), ['create']);
    assert.equal(audit[0].actor_email, fx.wholesaleAdmin.email);
    assert.equal(audit[0].after.name, 'Level Three');
    assert.equal(audit[0].after.credential_issued, true);
    assert.ok(!JSON.stringify(audit).includes(token) && !JSON.stringify(audit).includes(row.credential_hash), 'neither the credential nor its hash is audited');
    const page = await admin.get(`/wholesale/carriers/${row.id}`);
    assert.equal(page.status, 200);
    assert.ok(!page.text.includes(token) && !page.text.includes(row.credential_hash));
    assert.match(page.text, /192\.0\.2\.0\/24/);
    // The credential finds the carrier, only from an allowed address; another token finds nothing.
    const found = await carrierByCredential(t.db, token, '192.0.2.77');
    assert.ok(found.ok && found.carrier.id === Number(row.id));
    assert.deepEqual(await carrierByCredential(t.db, token, '198.51.100.1'), { ok: false, reason: 'source' });
    assert.deepEqual(await carrierByCredential(t.db, `${token.slice(0, -2)}xx`, '192.0.2.77'), { ok: false, reason: 'unknown' });
    assert.deepEqual(await carrierByCredential(t.db, 'plt_1_abcdefghijklmnopqrstuvwxyz', '192.0.2.77'), { ok: false, reason: 'unknown' });
    assert.equal((await carrierByName(t.db, 'level three'))?.id, Number(row.id));
  });

  test('the form refuses bad input beside each field, and a name taken in another case', async () => {
    const bad = await admin.submit('/wholesale/carriers', form({ name: ' ', currency: 'dollars', time_zone: 'Mars/Olympus', start_tolerance_seconds: '-1', duration_tolerance_seconds: '4000', cost_tolerance: '0.1.2', file_due_at: '25:00', allowed_sources: 'not-an-ip', data_format: 'fax' }), '/wholesale/carriers/new');
    assert.equal(bad.status, 422);
    for (const field of ['name', 'currency', 'time_zone', 'start_tolerance_seconds', 'duration_tolerance_seconds', 'cost_tolerance', 'file_due_at', 'allowed_sources', 'data_format']) {
      assert.ok(errorOf(bad.text, field), `an error beside ${field}`);
    }
    await create({ name: 'Acme Telecom' });
    const dup = await admin.submit('/wholesale/carriers', form({ name: 'ACME telecom' }), '/wholesale/carriers/new');
    assert.equal(dup.status, 422);
    assert.equal(errorOf(dup.text, 'name'), 'Another carrier already has this name');
    // The cost deck is one of the operator's plans: a reseller's is not found, a retired one is refused.
    const resellers = await admin.submit('/wholesale/carriers', form({ cost_plan_id: String(fx.a.plan.id) }), '/wholesale/carriers/new');
    assert.equal(resellers.status, 422);
    assert.match(errorOf(resellers.text, 'cost_plan_id') ?? '', /operator’s rate plans/);
    const retired = await makePlan(t.db, null, { retired_at: new Date() });
    const r2 = await admin.submit('/wholesale/carriers', form({ cost_plan_id: String(retired.id) }), '/wholesale/carriers/new');
    assert.equal(r2.status, 422);
    assert.match(errorOf(r2.text, 'cost_plan_id') ?? '', /retired/);
    // Whoever writes: the database refuses a reseller's plan as a deck.
    await assert.rejects(t.db('carriers').insert({ name: `direct ${n++}`, cost_plan_id: fx.a.plan.id }), /operator's rate plans/);
    assert.equal(await t.db('carriers').whereRaw("lower(name) = 'acme telecom'").count().first().then((r) => Number(r?.count)), 1);
  });

  test('a mapped CSV needs its mapping, checked by the parsers\' schema field by field, and is stored as the JSON they read', async () => {
    const missing = await admin.submit('/wholesale/carriers', form({ data_format: 'carrier-mapped-csv', map_header: 'on' }), '/wholesale/carriers/new');
    assert.equal(missing.status, 422);
    for (const f of ['map_called', 'map_start', 'map_duration', 'map_cost']) assert.match(errorOf(missing.text, f) ?? '', /required for a mapped CSV/, `an error beside ${f}`);
    // Columns named without a header row.
    const names = await admin.submit('/wholesale/carriers', form({ data_format: 'carrier-mapped-csv', map_called: 'Destination', map_start: '2', map_duration: '3', map_cost: '4', map_skip_lines: '0' }), '/wholesale/carriers/new');
    assert.equal(names.status, 422);
    assert.match(errorOf(names.text, 'map_called') ?? '', /header row/);
    // An unknown zone, a bad currency, a bad country code.
    const wrong = await admin.submit('/wholesale/carriers', form({ data_format: 'carrier-mapped-csv', map_called: '1', map_start: '2', map_duration: '3', map_cost: '4', map_time_zone: 'Nowhere/Else', map_currency: 'euro', map_country_code: '0x' }), '/wholesale/carriers/new');
    assert.equal(wrong.status, 422);
    for (const f of ['map_time_zone', 'map_currency', 'map_country_code']) assert.ok(errorOf(wrong.text, f), `an error beside ${f}`);
    const skip = await admin.submit('/wholesale/carriers', form({ data_format: 'carrier-mapped-csv', map_called: '1', map_start: '2', map_duration: '3', map_cost: '4', map_skip_lines: 'x', map_date_format: 'whenever' }), '/wholesale/carriers/new');
    assert.equal(skip.status, 422);
    for (const f of ['map_skip_lines', 'map_date_format']) assert.ok(errorOf(skip.text, f), `an error beside ${f}`);

    const { row } = await create({
      name: 'Mapped LD', data_format: 'carrier-mapped-csv', map_called: 'Destination', map_calling: '1', map_start: 'Start Time', map_duration: '5', map_cost: 'Charge', map_rate: '', map_record_id: 'CDR ID',
      map_date_format: 'DD/MM/YYYY HH:mm:ss', map_time_zone: 'europe/paris', map_duration_format: 'mm:ss', map_currency: 'eur', map_skip_lines: '2', map_header: 'on', map_delimiter: 'tab',
      map_decimal_separator: ',', map_country_code: '33',
    });
    const mapping = {
      version: 1, delimiter: '\t', skipLines: 2, header: true,
      columns: { called: 'Destination', calling: 1, start: 'Start Time', duration: 5, cost: 'Charge', recordId: 'CDR ID' },
      dateFormat: 'DD/MM/YYYY HH:mm:ss', timeZone: 'Europe/Paris', durationFormat: 'mm:ss', currency: { fixed: 'EUR' }, decimalSeparator: ',', countryCode: '33',
    };
    assert.deepEqual(row.csv_mapping, mapping);
    // Exactly what the parser takes: a file in that layout reads.
    const file = ['Report', 'generated', 'Caller\tCDR ID\tDestination\tStart Time\tLength\tCharge', '+33140000000\tx1\t0612345678\t29/03/2026 10:00:00\t01:05\t0,0425'].join('\n');
    const parsed = parseCarrierFile('carrier-mapped-csv', file, { mapping: carrierMappingSchema.parse(row.csv_mapping) });
    assert.deepEqual(parsed.badRows, []);
    assert.equal(parsed.records.length, 1);
    const rec = parsed.records[0];
    assert.deepEqual([rec?.carrierRecordId, rec?.called, rec?.secondsBilled, rec?.cost, rec?.currency, rec?.startUtc.toISOString()], ['x1', '+33612345678', 65, '0.0425', 'EUR', '2026-03-29T08:00:00.000Z']);
    // The edit form shows it back as typed; switching to another format drops the mapping.
    const edit = await admin.get(`/wholesale/carriers/${row.id}/edit`);
    assert.match(edit.text, /name="map_start" value="Start Time"/);
    assert.match(edit.text, /<option value="tab" selected>/);
    const same = await admin.submit(`/wholesale/carriers/${row.id}`, { ...form({ name: 'Mapped LD' }), ...Object.fromEntries([...edit.text.matchAll(/name="(map_\w+)" value="([^"]*)"/g)].map((m) => [m[1], m[2]])), data_format: 'carrier-mapped-csv', map_delimiter: 'tab', map_header: 'on', map_date_format: 'DD/MM/YYYY HH:mm:ss', map_duration_format: 'mm:ss', map_decimal_separator: ',' }, `/wholesale/carriers/${row.id}/edit`);
    assert.equal(same.status, 303);
    assert.deepEqual((await t.db('carriers').where({ id: row.id }).first()).csv_mapping, mapping, 'saved back unchanged from its own edit form');
    const res = await admin.submit(`/wholesale/carriers/${row.id}`, { ...form({ name: 'Mapped LD' }), data_format: 'didww-cdr-out', map_called: 'ignored' }, `/wholesale/carriers/${row.id}/edit`);
    assert.equal(res.status, 303);
    const after = await t.db('carriers').where({ id: row.id }).first();
    assert.equal(after.data_format, 'didww-cdr-out');
    assert.equal(after.csv_mapping, null);
    await assert.rejects(t.db('carriers').insert({ name: `mapless ${n++}`, data_format: 'carrier-mapped-csv' }), /carriers_mapping_check/);
  });

  test('edited: audited before and after; a new name carried into the trunk maps that named it (after a confirmation)', async () => {
    const { row } = await create({ name: 'Old Name LD' });
    const [p] = await t.db('platforms').insert({ name: `sw-${n++}`, format: 'generic-json', credential_hash: '0'.repeat(64), trunk_carriers: JSON.stringify({ 'gw-a': 'Old Name LD', 'gw-b': 'Other' }) }).returning('id');
    const url = `/wholesale/carriers/${row.id}`;
    const ask = await admin.submit(url, form({ name: 'New Name LD', cost_tolerance: '0.02' }), `${url}/edit`);
    assert.equal(ask.status, 200);
    assert.match(ask.text, /Rename Old Name LD to New Name LD\?/);
    assert.match(ask.text, /gw-a/);
    assert.equal((await t.db('carriers').where({ id: row.id }).first()).name, 'Old Name LD', 'nothing changed before the confirmation');
    const done = await admin.submit(url, { ...form({ name: 'New Name LD', cost_tolerance: '0.02' }), confirm: 'yes' });
    assert.equal(done.status, 303);
    const after = await t.db('carriers').where({ id: row.id }).first();
    assert.equal(after.name, 'New Name LD');
    assert.equal(after.cost_tolerance, '0.0200000000');
    const platform = await t.db('platforms').where({ id: p.id }).first();
    assert.deepEqual(platform.trunk_carriers, { 'gw-a': 'New Name LD', 'gw-b': 'Other' });
    const audit = await t.db('audit_log').where({ entity_type: 'carrier', entity_id: row.id, action: 'update' }).first();
    assert.equal(audit.before.name, 'Old Name LD');
    assert.equal(audit.after.name, 'New Name LD');
    assert.equal(audit.before.cost_tolerance, '0.005');
    assert.equal(audit.after.cost_tolerance, '0.02');
    assert.deepEqual(audit.after.trunk_maps_renamed_on_platforms, [Number(p.id)]);
    // The page names the trunks now pointing at it.
    assert.match((await admin.get(url)).text, new RegExp(`data-testid="carrier-trunks">[^<]*gw-a`));
    // Invalid edits change nothing.
    const bad = await admin.submit(url, form({ name: 'New Name LD', duration_tolerance_seconds: 'x' }), `${url}/edit`);
    assert.equal(bad.status, 422);
    assert.equal((await t.db('audit_log').where({ entity_type: 'carrier', entity_id: row.id, action: 'update' })).length, 1);
  });

  test('rotating the credential: confirmation first, then a new one shown once; the old one stops working', async () => {
    const { row, token } = await create({ name: 'Rotating LD' });
    const url = `/wholesale/carriers/${row.id}/rotate`;
    const ask = await admin.submit(url, {}, `/wholesale/carriers/${row.id}`);
    assert.equal(ask.status, 200);
    assert.match(ask.text, /stops working at once/);
    assert.equal((await t.db('carriers').where({ id: row.id }).first()).credential_hash, sha256(token), 'unchanged before the confirmation');
    const done = await admin.submit(url, { confirm: 'yes' });
    assert.equal(done.status, 200);
    const fresh = tokenOf(done.text) as string;
    assert.ok(fresh && fresh !== token);
    assert.equal((await t.db('carriers').where({ id: row.id }).first()).credential_hash, sha256(fresh));
    assert.deepEqual(await carrierByCredential(t.db, token, undefined), { ok: false, reason: 'unknown' });
    assert.equal((await carrierByCredential(t.db, fresh, undefined)).ok, true);
    const audit = await t.db('audit_log').where({ entity_type: 'carrier', entity_id: row.id, action: 'rotate_credential' });
    assert.equal(audit.length, 1);
    assert.ok(!JSON.stringify(audit).includes(fresh) && !JSON.stringify(audit).includes(sha256(fresh)));
  });

  test('deactivated after a confirmation (posts refused, audited), and reactivated', async () => {
    const { row, token } = await create({ name: 'Leaving LD' });
    const url = `/wholesale/carriers/${row.id}`;
    const ask = await admin.submit(`${url}/deactivate`, {}, url);
    assert.equal(ask.status, 200);
    assert.match(ask.text, /Deactivate Leaving LD\?/);
    assert.equal((await t.db('carriers').where({ id: row.id }).first()).active, true);
    assert.equal((await admin.submit(`${url}/deactivate`, { confirm: 'yes' })).status, 303);
    assert.equal((await t.db('carriers').where({ id: row.id }).first()).active, false);
    assert.deepEqual(await carrierByCredential(t.db, token, undefined), { ok: false, reason: 'inactive' });
    assert.equal((await admin.submit(`${url}/activate`, {}, url)).status, 303);
    assert.equal((await t.db('carriers').where({ id: row.id }).first()).active, true);
    const actions = await t.db('audit_log').where({ entity_type: 'carrier', entity_id: row.id }).orderBy('id').pluck('action');
    assert.deepEqual(actions, ['create', 'deactivate', 'activate']);
  });

  test('platform trunk maps must name carrier records: unknown names refused, the record\'s spelling stored, no new trunk to an inactive carrier', async () => {
    await create({ name: 'TrunkCo' });
    const { row: gone } = await create({ name: 'Gone LD' });
    const pform = (trunks: string) => ({ name: `pf-${n}`, format: 'generic-json', time_zone: 'UTC', country_code: '1', allowed_sources: '', trunk_carriers: trunks, active: 'on' });
    const bad = await admin.submit('/wholesale/platforms', pform('gw-1 = TrunkCo\ngw-2 = Nobody Telecom'), '/wholesale/platforms/new');
    assert.equal(bad.status, 422);
    assert.match(errorOf(bad.text, 'trunk_carriers') ?? '', /No carrier is named &#34;Nobody Telecom&#34;/);
    assert.equal(await t.db('platforms').where({ name: `pf-${n}` }).first(), undefined);
    const ok = await admin.submit('/wholesale/platforms', pform('gw-1 = trunkco\ngw-2 = Gone LD'), '/wholesale/platforms/new');
    assert.equal(ok.status, 201);
    const p = await t.db('platforms').where({ name: `pf-${n}` }).first();
    assert.deepEqual(p.trunk_carriers, { 'gw-1': 'TrunkCo', 'gw-2': 'Gone LD' });
    // Gone LD deactivated: the platform keeps its trunk (and can be saved), but no new trunk may point at it.
    await admin.submit(`/wholesale/carriers/${gone.id}/deactivate`, { confirm: 'yes' }, `/wholesale/carriers/${gone.id}`);
    const keep = await admin.submit(`/wholesale/platforms/${p.id}`, pform('gw-1 = TrunkCo\ngw-2 = Gone LD'), `/wholesale/platforms/${p.id}/edit`);
    assert.equal(keep.status, 303);
    const add = await admin.submit(`/wholesale/platforms/${p.id}`, pform('gw-1 = TrunkCo\ngw-2 = Gone LD\ngw-3 = gone ld'), `/wholesale/platforms/${p.id}/edit`);
    assert.equal(add.status, 422);
    assert.match(errorOf(add.text, 'trunk_carriers') ?? '', /Gone LD is inactive/);
    assert.deepEqual((await t.db('platforms').where({ id: p.id }).first()).trunk_carriers, { 'gw-1': 'TrunkCo', 'gw-2': 'Gone LD' });
    // The carrier's page and the list count its trunks.
    const list = await admin.get('/wholesale/carriers?q=trunkco');
    assert.match(list.text, /1 trunk mapped/);
  });

  test('operator support staff read but change nothing; a reseller\'s people and subscribers are kept out', async () => {
    const { row } = await create({ name: 'Read Only LD' });
    const support = await Client.login(t.app, fx.wholesaleSupport.email);
    assert.equal((await support.get('/wholesale/carriers')).status, 200);
    const page = await support.get(`/wholesale/carriers/${row.id}`);
    assert.equal(page.status, 200);
    assert.doesNotMatch(page.text, /Issue a new credential|Deactivate|\/edit"/);
    assert.equal((await support.get('/wholesale/carriers/new')).status, 403);
    assert.equal((await support.get(`/wholesale/carriers/${row.id}/edit`)).status, 403);
    await support.refreshCsrf('/wholesale/carriers');
    for (const path of ['/wholesale/carriers', `/wholesale/carriers/${row.id}`, `/wholesale/carriers/${row.id}/rotate`, `/wholesale/carriers/${row.id}/deactivate`]) {
      assert.equal((await support.submit(path, { ...form(), confirm: 'yes' })).status, 403, path);
    }
    for (const who of [fx.a.admin, fx.a.support, fx.a.subscriberUser]) {
      const c = await Client.login(t.app, who.email);
      const res = await c.get(`/wholesale/carriers/${row.id}`);
      assert.equal(res.status, 403);
      assert.doesNotMatch(res.text, /Read Only LD/);
    }
    assert.equal((await admin.get('/wholesale/carriers/999999')).status, 404);
    assert.deepEqual(await t.db('carriers').where({ id: row.id }).first().then((r) => [r.name, r.active]), ['Read Only LD', true]);
  });

  test('the wholesale menu links to the carriers', async () => {
    assert.match((await admin.get('/wholesale')).text, /href="\/wholesale\/carriers"/);
  });
});

describe('migration 20261213001100: a carrier record for every carrier name in use', () => {
  let t: TestDatabase;
  before(async () => {
    t = await createTestDatabase({ migrate: false });
  });
  after(() => t.close());

  test('names from trunk maps and legs, one per name whatever its case, audited; maps rewritten to the record\'s spelling', async () => {
    for (;;) {
      const [, pending] = (await t.db.migrate.list()) as [unknown[], Array<{ file: string }>];
      const next = pending[0]?.file;
      if (!next || next >= '20261213001000') break;
      await t.db.migrate.up();
    }
    const [p1] = await t.db('platforms').insert({ name: 'sw-1', format: 'generic-json', credential_hash: '0'.repeat(64), trunk_carriers: JSON.stringify({ 'gw-a': 'Level3', 'gw-b': 'Acme ' }) }).returning('id');
    const [p2] = await t.db('platforms').insert({ name: 'sw-2', format: 'generic-json', credential_hash: '0'.repeat(64), trunk_carriers: JSON.stringify({ 'gw-c': 'LEVEL3' }) }).returning('id');
    await t.db('platforms').insert({ name: 'sw-3', format: 'generic-json', credential_hash: '0'.repeat(64) });
    for (const carrier of ['Zeta Telecom', 'level3', 'Zeta Telecom', null]) {
      const leg = await makeCallLeg(t.db, { platformId: Number(p1.id) });
      await t.db('call_legs').where({ id: leg.id }).update({ carrier });
    }

    await t.db.migrate.latest();
    const carriers = await t.db('carriers').orderBy('name').select('*');
    // 'Level3' (the first platform's map) beats 'LEVEL3' (a later platform's, as often used) and 'level3' (legs').
    assert.deepEqual(carriers.map((c) => c.name), ['Acme', 'Level3', 'Zeta Telecom']);
    for (const c of carriers) {
      assert.equal(c.credential_hash, null, 'no credential until an admin issues one');
      assert.equal(c.cost_plan_id, null);
      assert.equal(c.active, true);
    }
    const audit = await t.db('audit_log').where({ entity_type: 'carrier', action: 'create' }).orderBy('entity_id');
    assert.deepEqual(audit.map((a) => Number(a.entity_id)).sort(), carriers.map((c) => Number(c.id)).sort());
    assert.ok(audit.every((a) => a.actor_email === 'migration 20261213001100' && a.reseller_id === null));
    assert.deepEqual((await t.db('platforms').where({ id: p1.id }).first()).trunk_carriers, { 'gw-a': 'Level3', 'gw-b': 'Acme' });
    assert.deepEqual((await t.db('platforms').where({ id: p2.id }).first()).trunk_carriers, { 'gw-c': 'Level3' });
    // Legs keep the name they were tagged with.
    assert.deepEqual((await t.db('call_legs').whereNotNull('carrier').orderBy('carrier').pluck('carrier')), ['Zeta Telecom', 'Zeta Telecom', 'level3']);
    // The name is unique whatever its case.
    await assert.rejects(t.db('carriers').insert({ name: 'ACME' }), /carriers_name_key/);
  });
});
