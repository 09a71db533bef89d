/**
 * Times in the viewer's party's zone: the operator's for its staff, the reseller's for its people,
 * the subscriber's for its portal, each time with the zone's name; date filters read as local
 * days of that zone; the zones set on the operator's settings, reseller and subscriber forms,
 * checked against Intl and audited; CSV keeps UTC.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { parse } from 'csv-parse/sync';
import { createTestApp, type TestApp } from '../support/app';
import { makeCallLeg, makeReseller, makeSubscriber, makeTenants, makeUser, randomNumber } from '../support/factories';
import { Client } from '../support/http';

/** The calls listed on a page, by leg id. */
const legIds = (html: string) => [...html.matchAll(/data-leg="(\d+)"/g)].map((m) => Number(m[1]));

/** The text of a listed call's start cell. */
function startText(html: string, legId: number): string {
  const row = new RegExp(`<tr data-leg="${legId}">\\s*<td[^>]*>(?:<a[^>]*>)?([^<]+)<`).exec(html);
  assert.ok(row, `leg ${legId} not on the page`);
  return (row[1] as string).trim();
}

describe('time zones', () => {
  let t: TestApp;
  let fx: Awaited<ReturnType<typeof makeTenants>>;
  let newYork: { id: number; name: string };
  let tokyo: { id: number; name: string };
  let nyAdmin: Client;
  let tokyoAdmin: Client;
  let operator: Client;
  let nySubscriberId: number;
  /** 2026-12-07 04:30 UTC: 23:30 on the 6th in New York, 13:30 on the 7th in Tokyo. */
  const EARLY = new Date('2026-12-07T04:30:00Z');
  /** 2026-12-07 16:00 UTC: 11:00 on the 7th in New York, 01:00 on the 8th in Tokyo. */
  const LATE = new Date('2026-12-07T16:00:00Z');
  /** 2026-07-01 12:00 UTC: 08:00 EDT (summer time) in New York. */
  const SUMMER = new Date('2026-07-01T12:00:00Z');
  const legs: Record<string, Record<'early' | 'late' | 'summer', number>> = {};

  before(async () => {
    t = await createTestApp();
    fx = await makeTenants(t.db);
    newYork = await makeReseller(t.db, { time_zone: 'America/New_York' });
    tokyo = await makeReseller(t.db, { time_zone: 'Asia/Tokyo' });
    for (const [key, r] of [['ny', newYork], ['tokyo', tokyo]] as const) {
      const number = randomNumber();
      const sub = await makeSubscriber(t.db, r.id, {}, [number]);
      if (key === 'ny') nySubscriberId = sub.id;
      const at = async (startAt: Date) => (await makeCallLeg(t.db, { platformId: fx.platform.id, resellerId: r.id, subscriberId: sub.id, calling: number, startAt })).id;
      legs[key] = { early: await at(EARLY), late: await at(LATE), summer: await at(SUMMER) };
    }
    nyAdmin = await Client.login(t.app, (await makeUser(t.db, 'reseller_admin', { resellerId: newYork.id })).email);
    tokyoAdmin = await Client.login(t.app, (await makeUser(t.db, 'reseller_admin', { resellerId: tokyo.id })).email);
    operator = await Client.login(t.app, fx.wholesaleAdmin.email);
  });
  after(() => t?.close());

  test('a reseller in New York filtering 2026-12-07 gets that local day, times in EST and the zone named', async () => {
    const page = await nyAdmin.get('/reseller/calls?from=2026-12-07&to=2026-12-07');
    assert.equal(page.status, 200);
    assert.deepEqual(legIds(page.text), [legs.ny!.late], 'only the call of 11:00 EST; the one of 04:30 UTC was on the 6th in New York');
    assert.equal(startText(page.text, legs.ny!.late), '2026-12-07 11:00:00 EST');
    assert.match(page.text, /data-testid="zone-hint">Times and dates are in <strong>America\/New_York<\/strong>/);
    assert.match(page.text, /data-testid="time-zone"[^>]*>Times in America\/New_York \(E[SD]T\)/);

    const day6 = await nyAdmin.get('/reseller/calls?from=2026-12-06&to=2026-12-06');
    assert.deepEqual(legIds(day6.text), [legs.ny!.early]);
    assert.equal(startText(day6.text, legs.ny!.early), '2026-12-06 23:30:00 EST');
  });

  test('the same moments for a reseller in Tokyo fall on its own days, shown as UTC+9', async () => {
    const page = await tokyoAdmin.get('/reseller/calls?from=2026-12-07&to=2026-12-07');
    assert.deepEqual(legIds(page.text), [legs.tokyo!.early], 'only the call of 13:30 in Tokyo; 16:00 UTC is already the 8th there');
    assert.equal(startText(page.text, legs.tokyo!.early), '2026-12-07 13:30:00 UTC+9');
    assert.match(page.text, /<strong>Asia\/Tokyo<\/strong>/);
    const day8 = await tokyoAdmin.get('/reseller/calls?from=2026-12-08&to=2026-12-08');
    assert.deepEqual(legIds(day8.text), [legs.tokyo!.late]);
    assert.equal(startText(day8.text, legs.tokyo!.late), '2026-12-08 01:00:00 UTC+9');
  });

  test('a time in summer is named EDT, not EST: unambiguous across the DST change', async () => {
    const page = await nyAdmin.get('/reseller/calls?from=2026-07-01&to=2026-07-01');
    assert.deepEqual(legIds(page.text), [legs.ny!.summer]);
    assert.equal(startText(page.text, legs.ny!.summer), '2026-07-01 08:00:00 EDT');
    const detail = await nyAdmin.get(`/reseller/calls/${legs.ny!.summer}`);
    assert.match(detail.text, /<dt>Start<\/dt><dd>2026-07-01 08:00:00 EDT<\/dd>/);
  });

  test('the unrated page reads its dates in the zone too', async () => {
    await t.db('call_legs').where('id', legs.ny!.early).update({ status: 'unrated', unrated_reason: 'no outbound rate' });
    try {
      const day7 = await nyAdmin.get('/reseller/unrated?from=2026-12-07&to=2026-12-07');
      assert.deepEqual(legIds(day7.text), [], 'the unrated call was on the 6th in New York');
      const day6 = await nyAdmin.get('/reseller/unrated?from=2026-12-06&to=2026-12-06');
      assert.deepEqual(legIds(day6.text), [legs.ny!.early]);
    } finally {
      await t.db('call_legs').where('id', legs.ny!.early).update({ status: 'rated', unrated_reason: null });
    }
  });

  test('CSV exports keep ISO 8601 UTC times, for the rows of the local day', async () => {
    const res = await nyAdmin.get('/reseller/calls.csv?from=2026-12-07&to=2026-12-07');
    assert.equal(res.status, 200);
    const rows = parse(res.text, { columns: true }) as Array<Record<string, string>>;
    assert.deepEqual(rows.map((r) => Number(r.leg_id)), [legs.ny!.late]);
    assert.equal(rows[0]?.start_utc, '2026-12-07T16:00:00.000Z');
  });

  test('a subscriber reads its calls in its reseller’s zone, or in its own once the reseller admin sets one', async () => {
    const login = await makeUser(t.db, 'subscriber', { resellerId: newYork.id, subscriberId: nySubscriberId });
    const me = await Client.login(t.app, login.email);
    const before = await me.get('/me/calls?from=2026-12-07&to=2026-12-07');
    assert.deepEqual(legIds(before.text), [legs.ny!.late]);
    assert.match(before.text, /2026-12-07 11:00:00 EST/);

    const form = await nyAdmin.get(`/reseller/subscribers/${nySubscriberId}/edit`);
    assert.match(form.text, /name="time_zone" value=""/, 'blank: follows the reseller');
    const sub = await t.db('subscribers').where('id', nySubscriberId).first();
    const fields = { account_number: sub.account_number, name: sub.name, country: 'US', time_zone: 'america/los_angeles' };
    const bad = await nyAdmin.submit(`/reseller/subscribers/${nySubscriberId}`, { ...fields, time_zone: 'Mars/Olympus_Mons' }, `/reseller/subscribers/${nySubscriberId}/edit`);
    assert.equal(bad.status, 422);
    assert.match(bad.text, /Unknown time zone/);
    assert.equal((await t.db('subscribers').where('id', nySubscriberId).first()).time_zone, null);

    const saved = await nyAdmin.submit(`/reseller/subscribers/${nySubscriberId}`, fields, `/reseller/subscribers/${nySubscriberId}/edit`);
    assert.equal(saved.status, 303);
    assert.equal((await t.db('subscribers').where('id', nySubscriberId).first()).time_zone, 'America/Los_Angeles', 'stored under its canonical name');
    const audit = await t.db('audit_log').where({ entity_type: 'subscriber', entity_id: nySubscriberId, action: 'update' }).orderBy('id', 'desc').first();
    assert.equal(audit.before.time_zone, null);
    assert.equal(audit.after.time_zone, 'America/Los_Angeles');

    const afterChange = await me.get('/me/calls?from=2026-12-07&to=2026-12-07');
    assert.deepEqual(legIds(afterChange.text), [legs.ny!.late]);
    assert.match(afterChange.text, /2026-12-07 08:00:00 PST/);
    assert.match(afterChange.text, /<strong>America\/Los_Angeles<\/strong>/);
  });

  test('operator staff read times in the operator’s zone, which a wholesale admin sets (audited); resellers without a zone follow it', async () => {
    const utc = await operator.get(`/wholesale/calls?from=2026-12-07&to=2026-12-07&reseller=${newYork.id}`);
    assert.deepEqual(legIds(utc.text).sort(), [legs.ny!.early, legs.ny!.late].sort(), 'both on the 7th in UTC');
    assert.equal(startText(utc.text, legs.ny!.early), '2026-12-07 04:30:00 UTC');

    const bad = await operator.submit('/wholesale/settings', { time_zone: 'Nowhere/Special' }, '/wholesale/settings');
    assert.equal(bad.status, 422);
    assert.match(bad.text, /Unknown time zone/);
    const saved = await operator.submit('/wholesale/settings', { time_zone: 'Asia/Tokyo' }, '/wholesale/settings');
    assert.equal(saved.status, 303);
    try {
      const audit = await t.db('audit_log').where({ entity_type: 'setting', action: 'update' }).orderBy('id', 'desc').first();
      assert.deepEqual([audit.before, audit.after, audit.reseller_id], [{ time_zone: 'UTC' }, { time_zone: 'Asia/Tokyo' }, null]);

      const tokyoDay = await operator.get(`/wholesale/calls?from=2026-12-07&to=2026-12-07&reseller=${newYork.id}`);
      assert.deepEqual(legIds(tokyoDay.text), [legs.ny!.early], 'the operator’s days are Tokyo days now');
      assert.equal(startText(tokyoDay.text, legs.ny!.early), '2026-12-07 13:30:00 UTC+9');

      // Reseller a of the fixture has no zone of its own: its people follow the operator's.
      const follower = await Client.login(t.app, fx.a.admin.email);
      assert.match((await follower.get('/reseller/calls')).text, /<strong>Asia\/Tokyo<\/strong>/);
      assert.match((await operator.get(`/wholesale/resellers/${fx.a.reseller.id}`)).text, /data-testid="reseller-zone">the operator’s \(Asia\/Tokyo\)/);
    } finally {
      await t.db('settings').where({ key: 'operator_time_zone' }).update({ value: 'UTC' });
    }
  });

  test('the wholesale admin sets a reseller’s zone on its form (audited); support cannot', async () => {
    const id = fx.b.reseller.id;
    const r = await t.db('resellers').where('id', id).first();
    const fields = { name: r.name, code: r.code, currency: r.currency, billing_service: 'on', time_zone: 'Europe/Berlin' };
    const saved = await operator.submit(`/wholesale/resellers/${id}`, fields, `/wholesale/resellers/${id}/edit`);
    assert.equal(saved.status, 303);
    assert.equal((await t.db('resellers').where('id', id).first()).time_zone, 'Europe/Berlin');
    const audit = await t.db('audit_log').where({ entity_type: 'reseller', entity_id: id, action: 'update' }).orderBy('id', 'desc').first();
    assert.deepEqual([audit.before.time_zone, audit.after.time_zone], [null, 'Europe/Berlin']);
    const berliner = await Client.login(t.app, fx.b.admin.email);
    assert.match((await berliner.get('/reseller/calls')).text, /<strong>Europe\/Berlin<\/strong>/);

    const support = await Client.login(t.app, fx.wholesaleSupport.email);
    const refused = await support.submit(`/wholesale/settings`, { time_zone: 'Europe/Paris' }, '/wholesale/settings');
    assert.equal(refused.status, 403);
    assert.equal((await t.db('settings').where({ key: 'operator_time_zone' }).first()).value, 'UTC');
  });
});
