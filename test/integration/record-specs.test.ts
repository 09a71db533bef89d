/**
 * Record specifications in the portals (issue 12): a reseller's admins keep their own, the
 * operator's admins any reseller's, support roles read only; the preview and its download are the
 * reseller's own recent calls with its own charges, never another tenant's.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { parse } from 'csv-parse/sync';
import { formatFile, presetSpec, RECORD_PRESETS, readRecordSpec, recordSpecSchema } from '../../src/domain/records';
import { recentRecordLegs } from '../../src/modules/ledger/record-reads';
import { recordFileChunks } from '../../src/modules/record-specs/record-specs.service';
import { specFormValues } from '../../src/modules/record-specs/record-specs.schemas';
import { createTestApp, type TestApp } from '../support/app';
import { makeCallLeg, makeCharge, makeTenants, randomNumber } from '../support/factories';
import { Client } from '../support/http';

function text(html: string): string {
  return html.replace(/&#34;|&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

/** A form body as the browser sends it: text values only, repeated keys as arrays. */
function body(values: Record<string, unknown>): Record<string, string> {
  const out: Record<string, any> = {};
  for (const [k, v] of Object.entries(values)) if (v !== undefined) out[k] = Array.isArray(v) ? v : String(v);
  return out;
}

describe('record specifications in the portals', () => {
  let t: TestApp;
  let fx: Awaited<ReturnType<typeof makeTenants>>;
  let admin: Client;
  let support: Client;
  let ops: Client;
  let opsSupport: Client;
  const A_CHARGE = '0.1234500000';
  const B_CHARGE = '0.9876500000';
  const legsA: Array<{ id: number; calling: string }> = [];

  before(async () => {
    t = await createTestApp();
    fx = await makeTenants(t.db);
    const db = t.db;
    // Three calls of a's subscriber with a's charges; one call of b's; one b paid for that a's subscriber received.
    for (let i = 0; i < 3; i++) {
      const calling = randomNumber();
      const leg = await makeCallLeg(db, { platformId: fx.platform.id, resellerId: fx.a.reseller.id, subscriberId: fx.a.subscriber.id, calling, startAt: new Date(Date.now() - (i + 1) * 600_000) });
      await makeCharge(db, leg, { kind: 'wholesale', resellerId: fx.a.reseller.id, subscriberId: fx.a.subscriber.id, ratePlanId: fx.operatorPlan.id, amount: A_CHARGE });
      await makeCharge(db, leg, { kind: 'retail', resellerId: fx.a.reseller.id, subscriberId: fx.a.subscriber.id, ratePlanId: fx.a.plan.id, amount: '0.2000000000' });
      legsA.push({ id: leg.id, calling });
    }
    const bLeg = await makeCallLeg(db, { platformId: fx.platform.id, resellerId: fx.b.reseller.id, subscriberId: fx.b.subscriber.id });
    await makeCharge(db, bLeg, { kind: 'wholesale', resellerId: fx.b.reseller.id, subscriberId: fx.b.subscriber.id, ratePlanId: fx.operatorPlan.id, amount: B_CHARGE });
    const received = await makeCallLeg(db, { platformId: fx.platform.id, resellerId: fx.b.reseller.id, subscriberId: fx.b.subscriber.id, called: fx.a.number.number, direction: 'onnet', calleeResellerId: fx.a.reseller.id, calleeSubscriberId: fx.a.subscriber.id });
    await makeCharge(db, received, { kind: 'retail', resellerId: fx.b.reseller.id, subscriberId: fx.b.subscriber.id, ratePlanId: fx.b.plan.id, amount: B_CHARGE, direction: 'onnet' });
    admin = await Client.login(t.app, fx.a.admin.email);
    support = await Client.login(t.app, fx.a.support.email);
    ops = await Client.login(t.app, fx.wholesaleAdmin.email);
    opsSupport = await Client.login(t.app, fx.wholesaleSupport.email);
  });
  after(() => t.close());

  const presetBody = (key: string, name: string, edit: (v: Record<string, unknown>) => void = () => {}) => {
    const preset = RECORD_PRESETS.find((p) => p.key === key)!;
    const values = specFormValues({ name, period: 'daily' }, presetSpec(preset, 'America/New_York'));
    edit(values);
    return body(values);
  };
  const idOf = (res: { headers: Record<string, string> }) => Number(/\/record-specs\/(\d+)$/.exec(res.headers.location ?? '')?.[1]);

  test('a reseller admin creates a spec from a preset: stored valid, audited, listed with its count', async () => {
    const form = await admin.get('/reseller/record-specs/new?preset=sipwise');
    assert.equal(form.status, 200);
    assert.match(text(form.text), /name="f_0_field"/);
    assert.match(text(form.text), /value="source_cli"/, 'the preset\'s column names fill the form');
    const res = await admin.submit('/reseller/record-specs', presetBody('plain', 'Everything, "quoted"'), '/reseller/record-specs/new');
    assert.equal(res.status, 303, text(res.text).slice(0, 500));
    const id = idOf(res);
    const row = await t.db('record_specifications').where({ id }).first();
    assert.equal(Number(row.reseller_id), fx.a.reseller.id);
    assert.equal(row.period, 'daily');
    assert.ok(readRecordSpec(row.spec).ok);
    assert.equal(row.spec.timeZone, 'America/New_York');
    assert.equal(row.spec.fields.length, presetSpec(RECORD_PRESETS[0]!).fields.length);
    const audit = await t.db('audit_log').where({ entity_type: 'record_specification', entity_id: id, action: 'create' }).first();
    assert.equal(Number(audit.reseller_id), fx.a.reseller.id);
    const list = await admin.get('/reseller/record-specs');
    assert.equal(list.status, 200);
    assert.match(text(list.text), /Everything, "quoted"/);
    assert.match(list.text, /<strong>1<\/strong> record specification</);
    // The same name again, in another case: refused beside the name.
    const again = await admin.submit('/reseller/record-specs', presetBody('plain', 'EVERYTHING, "QUOTED"'), '/reseller/record-specs/new');
    assert.equal(again.status, 422);
    assert.match(text(again.text), /exists already/);
  });

  test('the preview and its download are the reseller’s own calls with its own charges; parsed back they equal the ledger', async () => {
    const res = await admin.submit('/reseller/record-specs', presetBody('plain', 'Preview me'), '/reseller/record-specs/new');
    const id = idOf(res);
    const page = await admin.get(`/reseller/record-specs/${id}`);
    assert.equal(page.status, 200);
    const html = text(page.text);
    for (const l of legsA) assert.ok(html.includes(l.calling), `a's call from ${l.calling} in the preview`);
    assert.ok(html.includes('0.1235'), "a's wholesale cost, at the spec's 4 decimals");
    assert.ok(!html.includes('0.9877') && !html.includes('0.98765'), "never b's charges, not even on the call a's subscriber received");
    const file = await admin.get(`/reseller/record-specs/${id}/download-preview`);
    assert.equal(file.status, 200);
    assert.match(String(file.headers['content-type']), /^text\/csv; charset=utf-8/);
    assert.match(String(file.headers['content-disposition']), /attachment; filename="?Preview-me-preview.csv"?$/);
    const rows = parse(file.text, { columns: true }) as Array<Record<string, string>>;
    const ledger = await t.db('call_legs').where({ reseller_id: fx.a.reseller.id }).orderBy([{ column: 'start_at', order: 'desc' }, { column: 'id', order: 'desc' }]).limit(20);
    assert.deepEqual(rows.map((r) => Number(r.leg_id)), ledger.map((l: { id: number }) => Number(l.id)), 'the most recent legs a pays for, newest first');
    for (const r of rows) {
      assert.equal(r.reseller_code, fx.a.reseller.code);
      const leg = ledger.find((l: { id: number }) => Number(l.id) === Number(r.leg_id));
      assert.equal(r.calling_number, leg.calling_number);
      assert.equal(r.start_time, new Date(leg.start_at).toLocaleString('sv-SE', { timeZone: 'America/New_York' }).replace(' ', 'T') + r.start_time!.slice(19));
      assert.match(r.start_time, /-0[45]:00$/, 'New York offset');
    }
    assert.deepEqual(new Set(rows.filter((r) => legsA.some((l) => l.id === Number(r.leg_id))).map((r) => r.wholesale_amount)), new Set(['0.1235']));
    // Support reads the same pages and the download, changes nothing.
    assert.equal((await support.get(`/reseller/record-specs/${id}`)).status, 200);
    assert.equal((await support.get(`/reseller/record-specs/${id}/download-preview`)).status, 200);
    assert.equal((await support.get('/reseller/record-specs/new')).status, 403);
    assert.equal((await support.get(`/reseller/record-specs/${id}/edit`)).status, 403);
    assert.equal((await support.submit(`/reseller/record-specs/${id}/retire`, { confirm: 'yes' })).status, 403);
  });

  test('editing: columns reordered and renamed by their numbers, a Preview that saves nothing, errors beside their fields', async () => {
    const made = await admin.submit('/reseller/record-specs', presetBody('cgrates', 'CGR'), '/reseller/record-specs/new');
    const id = idOf(made);
    const before = await t.db('record_specifications').where({ id }).first();
    const edit = (change: (v: Record<string, unknown>) => void) => {
      const values = specFormValues({ name: 'CGR', period: 'hourly' }, presetSpec(RECORD_PRESETS[2]!, 'UTC'));
      change(values);
      return body(values);
    };
    // Move Cost (the last column, row 14) to the front and rename it; drop RunId (row 1).
    const reorder = (v: Record<string, unknown>) => {
      v.f_14_order = '0';
      v.f_14_name = 'Price';
      v.f_1_field = '';
    };
    const preview = await admin.submit(`/reseller/record-specs/${id}`, { ...edit(reorder), preview: '1' }, `/reseller/record-specs/${id}/edit`);
    assert.equal(preview.status, 200);
    const shown = /data-testid="preview-file">([^<]*)</.exec(text(preview.text))?.[1] ?? text(preview.text).slice(text(preview.text).indexOf('data-testid="preview'), text(preview.text).indexOf('data-testid="preview') + 600);
    assert.match(shown, /^Price,CgrId,Tor,/);
    assert.deepEqual((await t.db('record_specifications').where({ id }).first()).spec, before.spec, 'a preview saves nothing');
    const saved = await admin.submit(`/reseller/record-specs/${id}`, edit(reorder), `/reseller/record-specs/${id}/edit`);
    assert.equal(saved.status, 303);
    const after = await t.db('record_specifications').where({ id }).first();
    assert.equal(after.period, 'hourly');
    assert.deepEqual(after.spec.fields.slice(0, 3).map((f: { name: string }) => f.name), ['Price', 'CgrId', 'Tor']);
    assert.equal(after.spec.fields.length, before.spec.fields.length - 1);
    assert.ok(await t.db('audit_log').where({ entity_type: 'record_specification', entity_id: id, action: 'update' }).first());
    // Fixed width without widths; a bad zone; a bad map: each error beside its field, nothing saved.
    const bad = await admin.submit(`/reseller/record-specs/${id}`, edit((v) => {
      v.layout = 'fixed';
      v.f_0_width = '30';
      v.time_zone = 'Nowhere/City';
      v.f_5_map = 'nonsense';
    }), `/reseller/record-specs/${id}/edit`);
    assert.equal(bad.status, 422);
    const h = text(bad.text);
    assert.match(h, /not a time zone/);
    assert.match(h, /is not value=text/);
    assert.match(h, /needs the width of every column/);
    assert.deepEqual((await t.db('record_specifications').where({ id }).first()).spec, after.spec);
  });

  test('wholesale admins keep any reseller’s specs; a spec is only ever reached under its own reseller', async () => {
    const base = `/wholesale/resellers/${fx.b.reseller.id}/record-specs`;
    const made = await ops.submit(base, presetBody('plain', 'Set by the operator'), `${base}/new`);
    assert.equal(made.status, 303);
    const id = idOf(made);
    assert.equal(Number((await t.db('record_specifications').where({ id }).first()).reseller_id), fx.b.reseller.id);
    const page = await ops.get(`${base}/${id}`);
    assert.equal(page.status, 200);
    assert.ok(text(page.text).includes('0.9877'), "b's own cost in b's preview");
    assert.equal((await ops.get(`/wholesale/resellers/${fx.a.reseller.id}/record-specs/${id}`)).status, 404, "under a's path, b's spec is not found");
    assert.equal((await admin.get(`/reseller/record-specs/${id}`)).status, 404, "a's admin never reaches b's spec");
    assert.equal((await opsSupport.get(`${base}/${id}`)).status, 200);
    assert.equal((await opsSupport.submit(`${base}/${id}/retire`, { confirm: 'yes' })).status, 403);
    // Retire: asked first, then done; a retired spec is not edited.
    const ask = await ops.submit(`${base}/${id}/retire`, {});
    assert.equal(ask.status, 200);
    assert.match(text(ask.text), /Retire Set by the operator\?/);
    assert.equal((await ops.submit(`${base}/${id}/retire`, { confirm: 'yes' })).status, 303);
    const row = await t.db('record_specifications').where({ id }).first();
    assert.equal(row.active, false);
    assert.ok(row.retired_at);
    const late = await ops.submit(`${base}/${id}`, presetBody('plain', 'Renamed after retiring'), `${base}/${id}/edit`);
    assert.equal(late.status, 303);
    assert.match(text((await ops.get(`${base}/${id}`)).text), /is retired: it can no longer be changed/);
    assert.equal((await t.db('record_specifications').where({ id }).first()).name, 'Set by the operator');
  });

  test('a period’s file streams in call order by keyset batches, equal to the same legs formatted whole; filter, period and tenant hold', async () => {
    const db = t.db;
    const base = Date.UTC(2026, 0, 10, 0, 0, 0);
    const made: number[] = [];
    for (let i = 0; i < 7; i++) {
      // Two legs at the same instant (the keyset's tie-break), one outside the period, one unanswered.
      const startAt = new Date(base + (i === 6 ? 86_400_000 : Math.min(i, 4) * 3_600_000));
      const leg = await makeCallLeg(db, { platformId: fx.platform.id, resellerId: fx.a.reseller.id, subscriberId: fx.a.subscriber.id, startAt, direction: i === 3 ? 'inbound' : 'outbound' });
      await makeCharge(db, leg, { kind: 'retail', resellerId: fx.a.reseller.id, subscriberId: fx.a.subscriber.id, ratePlanId: fx.a.plan.id, amount: `0.${i}100000000` });
      made.push(leg.id);
    }
    await makeCallLeg(db, { platformId: fx.platform.id, resellerId: fx.b.reseller.id, subscriberId: fx.b.subscriber.id, startAt: new Date(base + 60_000) });
    const spec = recordSpecSchema.parse({ fields: [{ field: 'leg_id', name: 'id' }, { field: 'start_time', name: 'start' }, { field: 'retail_total', name: 'total' }, { field: 'subscriber_name', name: 'name' }], charset: 'Windows-1252', lineEnding: 'CRLF', filter: { directions: ['outbound'], statuses: [], answeredOnly: false } });
    const chunks: Buffer[] = [];
    for await (const c of recordFileChunks(db, fx.a.reseller.id, spec, { fromMs: base, toMs: base + 86_400_000 }, 2)) chunks.push(c);
    const file = Buffer.concat(chunks);
    const rows = parse(file.toString('latin1'), { record_delimiter: '\r\n', columns: true }) as Array<Record<string, string>>;
    const expected = await t.db('call_legs').whereIn('id', made.slice(0, 6)).where('direction', 'outbound').orderBy([{ column: 'start_at', order: 'asc' }, { column: 'id', order: 'asc' }]).pluck('id');
    assert.deepEqual(rows.map((r) => Number(r.id)), expected.map(Number), 'every outbound leg of the period once, in call order, none of b');
    assert.equal(rows.length, 5);
    // The same legs formatted whole give the same bytes.
    const legs = (await recentRecordLegs(db, fx.a.reseller.id, { filter: spec.filter, fromMs: base, toMs: base + 86_400_000 }, 100)).reverse();
    assert.deepEqual(file, formatFile(spec, legs).bytes);
  });

  test('the database refuses what is plainly not a spec, and a second name in another case', async () => {
    await assert.rejects(t.db('record_specifications').insert({ reseller_id: fx.a.reseller.id, name: 'x', spec: JSON.stringify({ nofields: true }) }));
    await assert.rejects(t.db('record_specifications').insert({ reseller_id: fx.a.reseller.id, name: 'y', spec: JSON.stringify({ fields: [] }), period: 'weekly' }));
    await assert.rejects(t.db('record_specifications').insert({ reseller_id: fx.a.reseller.id, name: 'z', spec: JSON.stringify({ fields: [] }), active: false }));
  });
});
