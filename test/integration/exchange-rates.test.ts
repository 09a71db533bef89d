import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Decimal } from '../../src/domain/money/decimal';
import { convert } from '../../src/domain/money/fx';
import { allRatesInOrder, rateInForce } from '../../src/modules/exchange-rates/exchange-rates.repository';
import { RateTable } from '../../src/modules/exchange-rates/rate-cache';
import { createTestApp, type TestApp } from '../support/app';
import { makeExchangeRate, makeReseller, makeUser } from '../support/factories';
import { Client } from '../support/http';

function text(html: string): string {
  return html.replace(/&#34;|&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

function fieldError(html: string, field: string): string | undefined {
  const m = new RegExp(`id="f-${field}-error">([^<]*)<`).exec(html);
  return m ? text(m[1] as string) : undefined;
}

/** The rates of one pair in the list, in the order shown: "rate state". */
function shownRates(html: string, from: string, to: string): string[] {
  return [...html.matchAll(/<tr data-rate="\d+">([\s\S]*?)<\/tr>/g)]
    .map((m) => [...(m[1] as string).matchAll(/<td[^>]*>([^<]*)<\/td>/g)].map((c) => c[1] as string))
    .filter((cells) => cells[0] === from && cells[1] === to)
    .map((cells) => `${cells[3]} ${cells[4]}`);
}

const at = (iso: string) => Date.parse(iso);

describe('exchange rates: added by wholesale admins, never edited, looked up by the call’s start', () => {
  let t: TestApp;
  let admin: Client;

  before(async () => {
    t = await createTestApp();
    admin = await Client.login(t.app, (await makeUser(t.db, 'wholesale_admin')).email);
  });
  after(() => t.close());

  test('the page explains that rates are never edited; bad input is refused beside each field', async () => {
    const empty = await admin.get('/wholesale/exchange-rates');
    assert.equal(empty.status, 200);
    assert.match(text(empty.text), /Rates are never edited or deleted once added/);
    assert.match(text(empty.text), /To correct a rate, add a new one for the same pair from a later moment/);
    assert.match(empty.text, /No exchange rates yet/);

    const form = await admin.get('/wholesale/exchange-rates/new');
    assert.equal(form.status, 200);
    assert.match(text(form.text), /Once added, a rate cannot be edited or deleted/);

    const bad = await admin.submit('/wholesale/exchange-rates', { from_currency: 'usd', to_currency: 'USD', rate: '0', effective_from: 'tomorrow' });
    assert.equal(bad.status, 422);
    assert.equal(fieldError(bad.text, 'rate'), 'Rate must be above zero');
    assert.match(fieldError(bad.text, 'effective_from') ?? '', /Effective from must be a date/);
    const same = await admin.submit('/wholesale/exchange-rates', { from_currency: 'usd', to_currency: 'USD', rate: '1', effective_from: '2026-01-01' });
    assert.equal(fieldError(same.text, 'to_currency'), 'Choose a different currency: the same currency always converts at 1');
    const more = await admin.submit('/wholesale/exchange-rates', { from_currency: 'US', to_currency: 'EUR', rate: '-1.5', effective_from: '2026-01-01' });
    assert.equal(fieldError(more.text, 'from_currency'), 'Currency must be a three-letter ISO 4217 code');
    assert.equal(fieldError(more.text, 'rate'), 'Rate cannot be negative');
    const precise = await admin.submit('/wholesale/exchange-rates', { from_currency: 'USD', to_currency: 'EUR', rate: '0.1234567890123', effective_from: '2026-01-01' });
    assert.equal(fieldError(precise.text, 'rate'), 'Rate can have at most 12 decimals');
    assert.match(precise.text, /value="0.1234567890123"/, 'the values typed are kept');
    assert.equal(Number((await t.db('exchange_rates').count('* as n').first())?.n), 0);
  });

  test('rates are added (audited), listed by pair with the newest first, and a same-moment duplicate is refused', async () => {
    const add = (rate: string, effective: string, from = 'USD', to = 'EUR') => admin.submit('/wholesale/exchange-rates', { from_currency: from, to_currency: to, rate, effective_from: effective });
    assert.equal((await add('0.920000000001', '2026-01-01')).status, 303);
    assert.equal((await add('0.9301', '2026-03-01 12:00')).status, 303);
    assert.equal((await add('0.95', '2099-01-01')).status, 303);
    const added = await add('1.08', '2026-01-01', 'eur', 'usd');
    assert.equal(added.status, 303);
    assert.equal(added.headers.location, '/wholesale/exchange-rates');
    assert.match(text((await admin.get('/wholesale/exchange-rates')).text), /1 EUR = 1.08 USD from 2026-01-01 00:00 UTC/, 'the rate added, as understood');
    const stored = await t.db('exchange_rates').where({ from_currency: 'USD', to_currency: 'EUR' }).orderBy('effective_from');
    assert.deepEqual(stored.map((r) => r.rate), ['0.920000000001', '0.930100000000', '0.950000000000'], 'numeric, exact');
    assert.equal(new Date(stored[1].effective_from).toISOString(), '2026-03-01T12:00:00.000Z');

    const dup = await add('0.93', '2026-03-01T12:00:00Z');
    assert.equal(dup.status, 422);
    assert.match(fieldError(dup.text, 'effective_from') ?? '', /already has a rate from exactly this moment/);

    const list = await admin.get('/wholesale/exchange-rates');
    assert.deepEqual(shownRates(list.text, 'USD', 'EUR'), ['0.95 scheduled', '0.9301 in force', '0.920000000001 superseded']);
    assert.deepEqual(shownRates(list.text, 'EUR', 'USD'), ['1.08 in force']);
    const filtered = await admin.get('/wholesale/exchange-rates?from=eur');
    assert.deepEqual(shownRates(filtered.text, 'EUR', 'USD'), ['1.08 in force']);
    assert.deepEqual(shownRates(filtered.text, 'USD', 'EUR'), []);
    assert.match(list.text, /href="\/wholesale\/exchange-rates\/new\?from=USD&amp;to=EUR"/);
    const prefilled = await admin.get('/wholesale/exchange-rates/new?from=USD&to=EUR');
    assert.match(prefilled.text, /name="to_currency" value="EUR"/);

    const audit = await t.db('audit_log').where({ entity_type: 'exchange_rate' }).orderBy('id');
    assert.equal(audit.length, 4);
    assert.ok(audit.every((a) => a.reseller_id === null && a.action === 'create'));
    assert.deepEqual(audit[1].after, { from_currency: 'USD', to_currency: 'EUR', rate: '0.9301', effective_from: '2026-03-01T12:00:00.000Z' });
  });

  test('there is no way to edit or delete a rate', async () => {
    const [row] = await t.db('exchange_rates').select('id').limit(1);
    assert.ok(row);
    assert.equal((await admin.get(`/wholesale/exchange-rates/${row.id}/edit`)).status, 404);
    assert.equal((await admin.submit(`/wholesale/exchange-rates/${row.id}`, { rate: '9' })).status, 404);
    assert.equal((await admin.agent.delete(`/wholesale/exchange-rates/${row.id}`).type('form').send({ _csrf: admin.csrf })).status, 404);
    const list = await admin.get('/wholesale/exchange-rates');
    assert.doesNotMatch(list.text, /\/edit"|Delete/);
  });

  test('support and resellers: support views only; resellers do not reach the page', async () => {
    const support = await Client.login(t.app, (await makeUser(t.db, 'wholesale_support')).email);
    const page = await support.get('/wholesale/exchange-rates');
    assert.equal(page.status, 200);
    assert.match(page.text, /0.9301/);
    assert.doesNotMatch(page.text, /Add a rate/);
    assert.equal((await support.get('/wholesale/exchange-rates/new')).status, 403);
    assert.equal((await support.submit('/wholesale/exchange-rates', { from_currency: 'USD', to_currency: 'GBP', rate: '0.8', effective_from: '2026-01-01' })).status, 403);
    const r = await makeReseller(t.db);
    const reseller = await Client.login(t.app, (await makeUser(t.db, 'reseller_admin', { resellerId: r.id })).email);
    assert.equal((await reseller.get('/wholesale/exchange-rates')).status, 403);
  });

  describe('rateInForce: what the intake converts with', () => {
    test('the latest rate at or before the moment; the same currency is 1; no rate is undefined; no inverse', async () => {
      await makeExchangeRate(t.db, 'CAD', 'JPY', '110.5', '2026-01-01T00:00:00Z');
      await makeExchangeRate(t.db, 'CAD', 'JPY', '112.25', '2026-05-01T00:00:00Z');
      await makeExchangeRate(t.db, 'CAD', 'JPY', '111.000000000001', '2026-05-01T00:00:00.001Z');

      assert.equal(await rateInForce(t.db, 'CAD', 'JPY', at('2025-12-31T23:59:59.999Z')), undefined, 'before the first rate');
      assert.equal((await rateInForce(t.db, 'CAD', 'JPY', at('2026-01-01T00:00:00Z')))?.toString(), '110.5', 'from its first millisecond');
      assert.equal((await rateInForce(t.db, 'CAD', 'JPY', at('2026-04-30T23:59:59.999Z')))?.toString(), '110.5');
      assert.equal((await rateInForce(t.db, 'CAD', 'JPY', at('2026-05-01T00:00:00Z')))?.toString(), '112.25');
      assert.equal((await rateInForce(t.db, 'cad', 'jpy', at('2027-01-01T00:00:00Z')))?.toString(), '111.000000000001', 'a later correction; codes in any case');
      assert.equal(await rateInForce(t.db, 'JPY', 'CAD', at('2027-01-01T00:00:00Z')), undefined, 'the reverse pair is not inverted');
      assert.equal(await rateInForce(t.db, 'CAD', 'CHF', at('2027-01-01T00:00:00Z')), undefined);
      assert.equal((await rateInForce(t.db, 'CHF', 'chf', 0))?.toString(), '1', 'same currency, no row needed');

      const rate = await rateInForce(t.db, 'USD', 'EUR', at('2026-06-15T10:00:00Z'));
      assert.ok(rate);
      assert.ok(rate instanceof Decimal);
      // 0.1234 USD at 0.9301 = 0.11477434 -> 0.1148 EUR
      assert.equal(convert(new Decimal('0.1234'), rate, { decimals: 4, method: 'half_up' }).toFixed(4), '0.1148');
    });

    test('the intake’s in-memory copy (rate-cache) answers exactly as rateInForce, to the microsecond', async () => {
      await makeExchangeRate(t.db, 'GBP', 'SEK', '13.1', '2026-02-01T00:00:00.000400Z');
      await makeExchangeRate(t.db, 'GBP', 'SEK', '13.2', '2026-02-01T00:00:00.000900Z');
      await makeExchangeRate(t.db, 'GBP', 'SEK', '13.3', '2026-02-01T00:00:00.001Z');
      await makeExchangeRate(t.db, 'SEK', 'GBP', '0.076', '2026-01-01T00:00:00Z');

      const cached = await t.referenceData.exchangeRates.get(t.db);
      const fresh = new RateTable(await allRatesInOrder(t.db));
      const rows = await t.db('exchange_rates');
      const pairs = new Set<string>(['CHF|chf', 'EUR|USD', 'cad|jpy', 'JPY|CAD']);
      const instants = new Set<number>([0, Date.parse('2030-01-01T00:00:00Z')]);
      for (const r of rows) {
        pairs.add(`${r.from_currency}|${r.to_currency}`);
        for (const delta of [-1, 0, 1]) instants.add((r.effective_from as Date).getTime() + delta);
      }
      let compared = 0;
      for (const pair of pairs) {
        const [from, to] = pair.split('|') as [string, string];
        for (const atMs of instants) {
          const sql = (await rateInForce(t.db, from, to, atMs))?.toString();
          assert.equal(cached.rateInForce(from, to, atMs)?.toString(), sql, `${pair} at ${new Date(atMs).toISOString()}`);
          assert.equal(fresh.rateInForce(from, to, atMs)?.toString(), sql);
          compared++;
        }
      }
      assert.ok(compared > 100);
      assert.equal(cached.rateInForce('GBP', 'SEK', at('2026-02-01T00:00:00.000Z')), undefined, 'both sub-millisecond rates start after .000');
      assert.equal(cached.rateInForce('GBP', 'SEK', at('2026-02-01T00:00:00.001Z'))?.toString(), '13.3');
    });
  });
});
