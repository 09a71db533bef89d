/**
 * Record files in a real browser (issue 12): a reseller's admin builds a record specification in
 * the portal's editor from a preset, watches the preview of its recent calls follow the edits,
 * saves it; a day of the reseller's zone closes (the closing code with a clock); the file is on the
 * Record files list with its count, totals and checksum, is downloaded through the browser, and
 * parsed back it holds exactly the calls of that local day (not those just before or after its
 * midnights, which fall on the same UTC dates), each formatted per the spec. At 1366 px and 390 px.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse } from 'csv-parse/sync';
import Decimal from 'decimal.js';
import type { Page } from 'playwright-core';
import { addDays, localDate, startOfLocalDay } from '../../src/domain/time/zones';
import { changesHorizon } from '../../src/modules/changes/changes.service';
import { closeDueFiles } from '../../src/modules/record-files/record-files.service';
import type { TestApp } from '../support/app';
import { BrowserHarness, navLink, SHOTS, skipWithoutChromium } from '../support/browser';
import { makePlan, makeRates, makeReseller, makeSubscriber, makeUser, randomNumber, rateRow } from '../support/factories';
import { makePlatform, postCdrs } from '../support/intake';

const skip = skipWithoutChromium;
const ZONE = 'America/New_York';
const HOUR = 3_600_000;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The page never scrolls sideways (a wide table scrolls in its own box). */
async function noSideScroll(page: Page, what: string): Promise<void> {
  const overflow = await page.locator('html').evaluate((el) => el.scrollWidth - el.clientWidth);
  if (overflow <= 0) return;
  // Name what sticks out, for whoever fixes it.
  const culprit = await page.locator('body *').evaluateAll((els, width) => {
    const out = els.filter((e) => e.getBoundingClientRect().right > width && e.getBoundingClientRect().width <= width + 2000);
    const last = out[out.length - 1];
    return last ? `${last.tagName.toLowerCase()}.${last.className} "${(last.textContent ?? '').trim().slice(0, 60)}" (right ${Math.round(last.getBoundingClientRect().right)})` : 'nothing found';
  }, page.viewportSize()?.width ?? 0);
  assert.fail(`${what}: the page is ${overflow} px wider than the screen: ${culprit}`);
}

/** "DD/MM/YYYY HH:mm:ss" of an instant in Tokyo (UTC+9 all year: no DST to get wrong). */
function tokyo(ms: number): string {
  const d = new Date(ms + 9 * HOUR).toISOString();
  return `${d.slice(8, 10)}/${d.slice(5, 7)}/${d.slice(0, 4)} ${d.slice(11, 19)}`;
}

describe('record files in a browser', { skip }, () => {
  const h = new BrowserHarness();
  let t: TestApp;

  before(async () => {
    await h.start();
    t = h.t;
  });
  after(() => h.close());

  test('a reseller builds its format from a preset with a live preview, a day closes, the file is listed and downloaded, and holds exactly that day\'s calls as specified', async () => {
    const platform = await makePlatform(t.db);
    const wholesale = await makePlan(t.db, null, { currency: 'USD', rounding_decimals: 4 });
    const reseller = await makeReseller(t.db, { currency: 'USD', wholesale_plan_id: wholesale.id, time_zone: ZONE });
    const retail = await makePlan(t.db, reseller.id, { currency: 'USD', rounding_decimals: 2 });
    const number = randomNumber();
    const sub = await makeSubscriber(t.db, reseller.id, { retail_plan_id: retail.id }, [number]);
    await makeRates(t.db, rateRow(wholesale, { rate: '0.0213' }), rateRow(retail, { rate: '0.0900', increment: 60 }));
    const admin = await makeUser(t.db, 'reseller_admin', { resellerId: reseller.id });

    // The day: three local days ago in New York (its midnight is 05:00 UTC in December). Calls on
    // the day before and after too, some a minute from a local midnight: on the UTC date of the
    // neighbouring local day.
    const day = localDate(Date.now() - 3 * 24 * HOUR, ZONE);
    // Elapsed time from a local midnight, or (for the late calls) seconds before the next one: right on a 23- or 25-hour day too.
    const at = (date: string, hms: string) => startOfLocalDay(date, ZONE) + Date.parse(`1970-01-01T${hms}Z`);
    const beforeMidnight = (date: string, seconds: number) => startOfLocalDay(addDays(date, 1), ZONE) - seconds * 1000;
    const calls = [
      { key: 'before-noon', start: at(addDays(day, -1), '12:00:00'), on: 'before' },
      { key: 'before-late', start: beforeMidnight(addDays(day, -1), 30), on: 'before' },
      { key: 'day-first', start: at(day, '00:00:20'), on: 'day' },
      { key: 'day-midday', start: at(day, '13:15:00'), on: 'day' },
      { key: 'day-last', start: beforeMidnight(day, 60), on: 'day' },
      { key: 'after-first', start: at(addDays(day, 1), '00:00:30'), on: 'after' },
      { key: 'after-morning', start: at(addDays(day, 1), '09:00:00'), on: 'after' },
    ];
    assert.equal(new Date(calls[1]!.start).toISOString().slice(0, 10), day, 'the last call of the day before is on the day\'s UTC date');
    assert.equal(new Date(calls[4]!.start).toISOString().slice(0, 10), addDays(day, 1), 'the last call of the day is on the next UTC date');
    const legIdOf = new Map<string, number>();
    for (const [i, c] of calls.entries()) {
      const talk = 30 + 17 * i;
      const res = await postCdrs(t, platform.token, {
        leg_id: `RF-${c.key}-${crypto.randomUUID().slice(0, 8)}`, calling: number, called: '+442079460000',
        start: new Date(c.start).toISOString(), answer: new Date(c.start + 3000).toISOString(), end: new Date(c.start + 3000 + talk * 1000).toISOString(),
      });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      legIdOf.set(c.key, res.body.records[0].legs[0].id as number);
    }
    const legs = await t.db('call_legs').whereIn('id', [...legIdOf.values()]).select('*');
    assert.ok(legs.every((l) => l.status === 'rated'), 'every call rated');

    // The editor, reached from the menu, from the CGRateS preset.
    const page = await h.loginAs(admin.email, { width: 1366, height: 768 });
    await Promise.all([page.waitForURL('**/reseller/record-specs'), (await navLink(page, 'Record formats')).click()]);
    await noSideScroll(page, 'record formats at 1366 px');
    await Promise.all([page.waitForURL('**/reseller/record-specs/new?preset=cgrates'), page.getByRole('link', { name: 'CGRateS-style CDR export' }).click()]);
    const preview = page.getByTestId('preview');
    const headers = () => preview.locator('thead th').allTextContents();
    // The preview is there from the start: the preset on the seven calls, newest first.
    assert.deepEqual(await headers(), ['CgrId', 'RunId', 'Tor', 'AccId', 'ReqType', 'Direction', 'Tenant', 'Category', 'Account', 'Subject', 'Destination', 'SetupTime', 'AnswerTime', 'Usage', 'Cost']);
    assert.equal(await preview.locator('tbody tr').count(), calls.length);

    const form = page.getByTestId('spec-form');
    await page.getByRole('textbox', { name: 'Name', exact: true }).fill('Acme billing');
    await form.locator('select[name=period]').selectOption('daily');
    // Its files begin with the day before the test day (the calls are of days past: the intake
    // takes calls at most a day ahead), so that day's file is the first and the day's own the second.
    assert.equal(await page.getByLabel('Post calls from').inputValue(), localDate(Date.now(), ZONE), 'today, in the reseller\'s zone, unless changed');
    await page.getByLabel('Post calls from').fill(addDays(day, -1));
    // Columns dropped (RunId, Tor, ReqType, Category, Subject, AnswerTime), Cost renamed, the leg id added first.
    for (const n of [2, 3, 5, 8, 10, 13]) await page.getByLabel(`Field of column ${n}`, { exact: true }).selectOption('');
    await page.getByLabel('Name of column 15', { exact: true }).fill('Price');
    await page.getByLabel('Field of column 16', { exact: true }).selectOption('leg_id');
    await page.getByLabel('Name of column 16', { exact: true }).fill('LegId');
    await page.getByLabel('Order of column 16', { exact: true }).fill('0');
    await page.getByLabel('Delimiter').selectOption('Semicolon ;');
    await page.getByLabel('Date and time format').selectOption('DD/MM/YYYY HH:mm:ss');
    await page.getByLabel(/^Time zone of the dates/).fill('Asia/Tokyo');
    await page.getByLabel('Decimals of amounts').fill('2');
    await page.getByLabel('Decimal separator').selectOption('Comma ,');
    // The preview follows the edits without a click (the page's script posts the form as Preview does).
    const columns = ['LegId', 'CgrId', 'AccId', 'Direction', 'Tenant', 'Account', 'Destination', 'SetupTime', 'Usage', 'Price'];
    const shownFile = () => preview.getByTestId('preview-file').textContent().then((x) => x ?? '');
    for (const until = Date.now() + 10_000; ; await sleep(100)) {
      const [ths, text] = await Promise.all([headers().catch(() => []), shownFile().catch(() => '')]);
      if (JSON.stringify(ths) === JSON.stringify(columns) && text.split('\n')[0] === columns.join(';') && /;0,\d\d$/m.test(text)) break;
      assert.ok(Date.now() < until, `the preview did not follow the edits: ${JSON.stringify(ths)}`);
    }
    const newest = legs.find((l) => Number(l.id) === legIdOf.get('after-morning'))!;
    const firstRow = await preview.locator('tbody tr').first().locator('td').allTextContents();
    assert.equal(firstRow[0], String(newest.id), 'the newest call first, its leg id in the first column');
    assert.equal(firstRow[7], tokyo(new Date(newest.start_at).getTime()), 'its start in Tokyo, as chosen');
    await noSideScroll(page, 'the editor at 1366 px');
    await page.screenshot({ path: path.join(SHOTS, 'record-spec-editor-1366.png'), fullPage: true });
    // The Preview button still works without the script's help, and saves nothing.
    await Promise.all([page.waitForURL('**/reseller/record-specs#preview'), page.getByRole('button', { name: 'Preview' }).click()]);
    assert.deepEqual(await headers(), columns);
    assert.equal(await t.db('record_specifications').where({ reseller_id: reseller.id }).count<Array<{ n: number }>>('* as n').then((r) => Number(r[0]!.n)), 0, 'a preview saves nothing');

    await Promise.all([page.waitForURL(/\/reseller\/record-specs\/\d+$/), page.getByRole('button', { name: 'Save' }).click()]);
    assert.match((await page.locator('.flash').textContent()) ?? '', /Record specification Acme billing saved/);
    assert.deepEqual(await page.getByTestId('spec-columns').locator('tbody tr td:nth-child(2)').allTextContents(), columns);
    const specId = Number(/\/(\d+)$/.exec(page.url())![1]);
    const stored = await t.db('record_specifications').where({ id: specId }).first();
    assert.equal(stored.period, 'daily');
    assert.equal(stored.spec.delimiter, ';');
    assert.equal(stored.spec.timeZone, 'Asia/Tokyo');

    assert.equal(stored.posts_from, addDays(day, -1));
    await settled(reseller.id);
    const closeAt = startOfLocalDay(addDays(day, 1), ZONE) + 6 * 60_000;
    const closed = await closeDueFiles(t.db, { nowMs: closeAt, resellerIds: [reseller.id] });
    assert.equal(closed.closed, 2, 'the day before and the day: the day after has not ended at that clock');
    const files = await t.db('record_files').where({ spec_id: specId }).orderBy('period_start').select('*');
    const file = files[1];
    assert.equal(new Date(file.period_start).getTime(), startOfLocalDay(day, ZONE));
    assert.equal(file.filename, `Acme-billing-${day}.csv`);

    // The list, from the menu: the day's file with its count, totals and checksum.
    await Promise.all([page.waitForURL('**/reseller/record-files'), (await navLink(page, 'Record files')).click()]);
    assert.match((await page.getByTestId('zone-note').textContent()) ?? '', new RegExp(`Times in ${ZONE} \\(E[SD]T\\)`));
    assert.equal(((await page.getByTestId('list-count').textContent()) ?? '').replace(/\s+/g, ' ').trim(), '2 record files');
    const dayKeys = calls.filter((c) => c.on === 'day').map((c) => legIdOf.get(c.key)!);
    const charges = await t.db('charges').whereIn('leg_id', dayKeys).select('*');
    const sum = (kind: string) => charges.filter((c) => c.kind === kind).reduce((s, c) => s.plus(c.total), new Decimal(0));
    const money = (d: Decimal) => `${d.toFixed(Math.max(2, d.decimalPlaces()))} USD`;
    const row = page.locator(`tr[data-file="${file.id}"]`);
    const cell = async (label: string) => ((await row.locator(`td[data-label="${label}"]`).textContent()) ?? '').trim();
    assert.equal(await cell('No.'), '2');
    assert.equal(await cell('Records'), String(dayKeys.length));
    assert.equal(await cell('Wholesale totals'), money(sum('wholesale')));
    assert.equal(await cell('Retail totals'), money(sum('retail')));
    assert.match(await cell('Period from'), new RegExp(`^${day} 00:00:00 E[SD]T$`), 'the local midnight, in the viewer\'s (the reseller\'s) zone');
    assert.equal(await cell('SHA-256'), file.sha256);
    const totals = await page.getByTestId('list-total').allTextContents();
    assert.equal(totals[0], `Records: ${calls.filter((c) => c.on !== 'after').length}`);
    await noSideScroll(page, 'record files at 1366 px');
    await page.screenshot({ path: path.join(SHOTS, 'record-files-1366.png'), fullPage: true });

    // Downloaded as a person does: the link, the browser's download.
    const [download] = await Promise.all([page.waitForEvent('download'), row.getByRole('link', { name: file.filename }).click()]);
    assert.equal(download.suggestedFilename(), file.filename);
    const bytes = fs.readFileSync((await download.path()) as string);
    assert.equal(crypto.createHash('sha256').update(bytes).digest('hex'), await cell('SHA-256'), 'the bytes are those of the checksum shown');
    const [head, ...rows] = parse(bytes.toString('utf8'), { delimiter: ';', bom: true }) as string[][];
    assert.deepEqual(head, columns);
    const retailOf = new Map(charges.filter((c) => c.kind === 'retail').map((c) => [Number(c.leg_id), new Decimal(c.billed_total)]));
    const expected = calls.flatMap((c, i) => {
      if (c.on !== 'day') return [];
      const leg = legs.find((l) => Number(l.id) === legIdOf.get(c.key))!;
      return [[
        String(leg.id), leg.leg_key, leg.call_id, '*out', reseller.code, String(sub.account_number), '+442079460000', tokyo(c.start), String(30 + 17 * i),
        (retailOf.get(Number(leg.id)) as Decimal).toFixed(2).replace('.', ','),
      ]];
    });
    assert.deepEqual(rows, expected, 'exactly the day\'s calls, in call order, as the spec writes them');
    // The day before's file holds the day before's calls only.
    const beforeBytes = Buffer.concat((await t.db('record_file_chunks').where({ file_id: files[0].id }).orderBy('seq').select('bytes')).map((r) => r.bytes as Buffer));
    const beforeRows = (parse(beforeBytes.toString('utf8'), { delimiter: ';', bom: true }) as string[][]).slice(1);
    assert.deepEqual(beforeRows.map((r) => Number(r[0])), calls.filter((c) => c.on === 'before').map((c) => legIdOf.get(c.key)));

    // On a phone: the list and the editor hold in the screen's width.
    await page.setViewportSize({ width: 390, height: 844 });
    await page.reload();
    await noSideScroll(page, 'record files at 390 px');
    assert.ok(await page.getByTestId('list-csv').isVisible(), 'the list\'s CSV link on a phone');
    await page.screenshot({ path: path.join(SHOTS, 'record-files-390.png'), fullPage: true });
    await page.goto(`/reseller/record-specs/${specId}/edit`);
    await noSideScroll(page, 'the editor at 390 px');
    await page.screenshot({ path: path.join(SHOTS, 'record-spec-editor-390.png'), fullPage: true });
    await page.goto('/reseller/record-specs');
    await noSideScroll(page, 'record formats at 390 px');
  });

  /**
   * Waits until every change of the reseller's calls may be read: the change log's horizon is held
   * back by any long transaction on the server (as the closing job would wait, by running later).
   */
  async function settled(resellerId: number, timeoutMs = Number(process.env.SETTLE_MS ?? 300_000)): Promise<void> {
    const { rows } = (await t.db.raw("SELECT xid::text || '.' || position AS c FROM leg_changes WHERE reseller_id = ? ORDER BY xid DESC, position DESC LIMIT 1", [resellerId])) as { rows: Array<{ c: string }> };
    const last = rows[0]?.c ?? null;
    const until = Date.now() + timeoutMs;
    for (;;) {
      if ((await changesHorizon(t.db, { kind: 'reseller', resellerId }, null)) === last) return;
      assert.ok(Date.now() < until, 'the change log did not settle');
      await sleep(200);
    }
  }
});
