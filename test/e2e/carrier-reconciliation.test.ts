/**
 * LD carrier reconciliation in a real browser (issue 13): the wholesale admin defines a carrier
 * whose files are a German-style CSV (two banner lines, a header, semicolons, decimal commas,
 * Berlin wall times) through the form's column mapping, tries the mapping on the file and sees its
 * first rows read right; maps the switch's trunk to it on the platform's page; calls leave by that
 * trunk (posted to the CDR intake, so they carry the deck's expected cost); the admin uploads the
 * carrier's file (one record overbilled, one billed too long, one we have no leg for, one of our
 * legs missing, and a trailer line that is a bad row), sees it listed with its counts, reconciles
 * last month in the page, sees each class's count and money at stake, and downloads the dispute
 * file: exactly the records the carrier overbilled, our figures beside its own. At 1366 px and
 * on a phone.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse } from 'csv-parse/sync';
import Decimal from 'decimal.js';
import type { Page } from 'playwright-core';
import { addDays, formatDateTime, localDate } from '../../src/domain/time/zones';
import type { TestApp } from '../support/app';
import { BrowserHarness, navLink, SHOTS, skipWithoutChromium } from '../support/browser';
import { makePlan, makeRates, makeReseller, makeSubscriber, makeUser, randomNumber, rateRow } from '../support/factories';
import { makePlatform, postCdrs } from '../support/intake';

const skip = skipWithoutChromium;
const CARRIER = 'TeleTransit';
const TRUNK = 'gw-teletransit';
/** The deck's rates, EUR a minute, per second. */
const UK_RATE = '0.0140';
const FR_RATE = '0.0300';

/** The page never scrolls sideways (a wide table scrolls in its own box). */
async function noSideScroll(page: Page, what: string): Promise<void> {
  const overflow = await page.locator('html').evaluate((el) => el.scrollWidth - el.clientWidth);
  if (overflow <= 0) return;
  const culprit = await page.locator('body *').evaluateAll((els, width) => {
    const out = els.filter((e) => e.getBoundingClientRect().right > width && e.getBoundingClientRect().width <= width + 2000);
    const last = out[out.length - 1];
    return last ? `${last.tagName.toLowerCase()}.${last.className} "${(last.textContent ?? '').trim().slice(0, 60)}" (right ${Math.round(last.getBoundingClientRect().right)})` : 'nothing found';
  }, page.viewportSize()?.width ?? 0);
  assert.fail(`${what}: the page is ${overflow} px wider than the screen: ${culprit}`);
}

/** "DD.MM.YYYY HH:mm:ss", Berlin wall time: how the carrier writes its starts. */
function berlin(ms: number): string {
  const [date, time] = formatDateTime(ms, 'Europe/Berlin').split(' ');
  const [y, m, d] = date!.split('-');
  return `${d}.${m}.${y} ${time}`;
}

/** The carrier's own figure: the exact rate for the seconds, to six decimals, written with a comma. */
const theirCost = (rate: string, seconds: number) => new Decimal(rate).times(seconds).dividedBy(60).toDecimalPlaces(6, Decimal.ROUND_HALF_UP);
const comma = (d: Decimal | string) => new Decimal(d).toFixed().replace('.', ',');
const text = async (page: Page, testId: string) => ((await page.getByTestId(testId).textContent()) ?? '').replace(/\s+/g, ' ').trim();

describe('LD carrier reconciliation in a browser', { skip }, () => {
  const h = new BrowserHarness();
  let t: TestApp;
  let dir: string;

  before(async () => {
    await h.start();
    t = h.t;
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'carrier-recon-'));
  });
  after(async () => {
    await h.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('a carrier defined with a mapped CSV, its file uploaded, last month reconciled, the dispute file downloaded holding exactly what it overbilled', async () => {
    const platform = await makePlatform(t.db);
    const wholesale = await makePlan(t.db, null, { currency: 'USD', rounding_decimals: 4 });
    const deck = await makePlan(t.db, null, { name: 'TeleTransit deck 2026', currency: 'EUR', rounding_decimals: 4 });
    const reseller = await makeReseller(t.db, { currency: 'USD', wholesale_plan_id: wholesale.id });
    const retail = await makePlan(t.db, reseller.id, { currency: 'USD', rounding_decimals: 2 });
    const number = randomNumber();
    await makeSubscriber(t.db, reseller.id, { retail_plan_id: retail.id }, [number]);
    await makeRates(
      t.db,
      rateRow(wholesale, { prefix: '44', rate: '0.0200' }), rateRow(wholesale, { prefix: '33', rate: '0.0400' }),
      rateRow(retail, { prefix: '44', rate: '0.0900', increment: 60 }), rateRow(retail, { prefix: '33', rate: '0.1200', increment: 60 }),
      rateRow(deck, { prefix: '44', description: 'United Kingdom', rate: UK_RATE }), rateRow(deck, { prefix: '33', description: 'France', rate: FR_RATE }),
    );
    const admin = await makeUser(t.db, 'wholesale_admin');

    // The calls: last month (UTC, the admin's zone), the 10th and 11th. The switch starts a leg at
    // the setup, the carrier at the answer, 2 s later: within the start tolerance.
    const today = localDate(Date.now(), 'UTC');
    const monthStart = `${addDays(`${today.slice(0, 7)}-01`, -1).slice(0, 7)}-01`;
    const monthEnd = addDays(`${today.slice(0, 7)}-01`, -1);
    const at = (day: number, hms: string) => Date.parse(`${monthStart.slice(0, 8)}${String(day).padStart(2, '0')}T${hms}Z`);
    const uk = () => `+44207946${String(crypto.randomInt(0, 10_000)).padStart(4, '0')}`;
    type Call = { key: string; called: string; start: number; talk: number; rate: string; file: 'same' | 'overbilled' | 'too-long' | 'missing' };
    const calls: Call[] = [
      { key: 'a', called: uk(), start: at(10, '08:15:00'), talk: 95, rate: UK_RATE, file: 'same' },
      { key: 'b', called: '+33142000001', start: at(10, '09:02:30'), talk: 61, rate: FR_RATE, file: 'same' },
      { key: 'c', called: uk(), start: at(10, '11:40:10'), talk: 240, rate: UK_RATE, file: 'overbilled' },
      { key: 'd', called: uk(), start: at(10, '14:00:00'), talk: 33, rate: UK_RATE, file: 'same' },
      { key: 'e', called: '+33142000002', start: at(10, '23:30:00'), talk: 180, rate: FR_RATE, file: 'too-long' },
      { key: 'f', called: uk(), start: at(11, '07:05:05'), talk: 12, rate: UK_RATE, file: 'same' },
      { key: 'g', called: uk(), start: at(11, '10:20:00'), talk: 600, rate: UK_RATE, file: 'missing' },
      { key: 'h', called: uk(), start: at(11, '16:45:00'), talk: 75, rate: UK_RATE, file: 'same' },
    ];
    const OVERCHARGE = '0.05';
    const EXTRA_SECONDS = 30;
    const lost = { called: uk(), start: at(11, '12:00:00'), talk: 120, rate: UK_RATE };

    // The carrier's file for the month, as it sends it.
    const rows: string[][] = [];
    for (const c of calls) {
      if (c.file === 'missing') continue;
      const seconds = c.talk + (c.file === 'too-long' ? EXTRA_SECONDS : 0);
      const cost = theirCost(c.rate, seconds).plus(c.file === 'overbilled' ? OVERCHARGE : 0);
      rows.push([`TT-${c.key}`, `00${number.slice(1)}`, `00${c.called.slice(1)}`, berlin(c.start + 2000), String(seconds), comma(c.rate), comma(cost), 'EUR']);
    }
    rows.splice(5, 0, ['TT-lost', `00${number.slice(1)}`, `00${lost.called.slice(1)}`, berlin(lost.start), String(lost.talk), comma(lost.rate), comma(theirCost(lost.rate, lost.talk)), 'EUR']);
    const fileText = [
      'TeleTransit GmbH - Einzelverbindungsnachweis',
      `Zeitraum: ${berlin(at(1, '00:00:00')).slice(0, 10)} - ${monthEnd.split('-').reverse().join('.')}`,
      'CDR-ID;A-Nummer;B-Nummer;Beginn;Dauer (s);Tarif/min;Betrag;Waehrung',
      ...rows.map((r) => r.join(';')),
      `Summe;;;;;;${comma(rows.reduce((s, r) => s.plus(r[6]!.replace(',', '.')), new Decimal(0)))};EUR`,
      '',
    ].join('\r\n');
    const filePath = path.join(dir, `teletransit-${monthStart.slice(0, 7)}.csv`);
    fs.writeFileSync(filePath, fileText);

    // The admin, at 1366 px, from the menu to a new carrier.
    const page = await h.loginAs(admin.email, { width: 1366, height: 768 });
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console: ${m.text()}`);
    });
    await Promise.all([page.waitForURL('**/wholesale/carriers'), (await navLink(page, 'LD carriers')).click()]);
    await noSideScroll(page, 'carriers at 1366 px');
    await Promise.all([page.waitForURL('**/wholesale/carriers/new'), page.getByRole('link', { name: /new/i }).first().click()]);

    await page.getByLabel(/^Name/).fill(CARRIER);
    await page.getByLabel(/^Currency it bills in/).fill('EUR');
    await page.getByLabel(/^Time zone of its files/).fill('Europe/Berlin');
    await page.getByLabel('Cost deck').selectOption({ label: 'TeleTransit deck 2026 (EUR)' });
    await page.getByLabel(/^Start time tolerance/).fill('5');
    await page.getByLabel(/^Duration tolerance/).fill('1');
    await page.getByLabel(/^Cost rounding tolerance/).fill('0.01');
    await page.getByLabel('Format', { exact: true }).selectOption({ label: 'CSV with a column mapping' });
    await page.getByLabel('Called number column').fill('B-Nummer');
    await page.getByLabel('Calling number column').fill('A-Nummer');
    await page.getByLabel('Start time column').fill('Beginn');
    await page.getByLabel('Duration column').fill('Dauer (s)');
    await page.getByLabel('Cost column').fill('Betrag');
    await page.getByLabel('Rate column').fill('Tarif/min');
    await page.getByLabel('Record id column').fill('CDR-ID');
    await page.getByLabel('Start time format').selectOption('DD.MM.YYYY HH:mm:ss');
    await page.getByLabel('Time zone of its times').fill('Europe/Berlin');
    await page.getByLabel('Duration written as').selectOption('seconds');
    await page.getByLabel('or the column naming each row’s currency').fill('Waehrung');
    await page.getByLabel('Lines to skip at the top').fill('2');
    await page.getByLabel('The first line read is a header row').check();
    await page.getByLabel('Delimiter').selectOption({ label: 'semicolon (;)' });
    await page.getByLabel('Decimal separator').selectOption({ label: 'comma (1,25)' });

    // The mapping tried on the file itself: its first rows, each read as it should be.
    await page.getByLabel('or a sample file').setInputFiles(filePath);
    await Promise.all([page.waitForURL('**/wholesale/carriers/preview'), page.getByTestId('mapping-preview-button').click()]);
    const preview = page.getByTestId('mapping-preview');
    await preview.waitFor();
    const previewRows = preview.locator('tbody tr');
    assert.equal(await previewRows.count(), rows.length + 1, 'every row of the short file, the trailer too');
    for (const [i, r] of rows.entries()) {
      const cells = (await previewRows.nth(i).locator('td').allTextContents()).map((c) => c.replace(/\s+/g, ' ').trim());
      assert.equal(cells[0], String(i + 4), 'its line in the file: after two banner lines and the header');
      const readAs = cells[1];
      const startMs = r[0] === 'TT-lost' ? lost.start : calls.find((c) => `TT-${c.key}` === r[0])!.start + 2000;
      assert.equal(readAs, `+${r[2]!.slice(2)}, ${formatDateTime(startMs, 'UTC')}, ${r[4]} s, ${new Decimal(r[6]!.replace(',', '.')).toFixed()} EUR`, `row ${i + 1} read right`);
    }
    // What each row was read as is in sight beside its line, not past the raw cells in the box's scroll.
    assert.deepEqual((await preview.locator('thead th').allTextContents()).slice(0, 2).map((x) => x.trim()), ['Line', 'Read as']);
    const inSight = await preview.locator('tbody tr td[data-label="Read as"]').first().evaluate((td) => {
      const box = td.closest('.table-wrap')!.getBoundingClientRect();
      return td.getBoundingClientRect().right <= box.right + 1;
    });
    assert.ok(inSight, 'the reading of a row is in sight at 1366 px');
    const trailer = previewRows.nth(rows.length);
    assert.equal(await trailer.getAttribute('class'), 'has-error', 'the trailer line is a bad row');
    assert.match((await trailer.textContent()) ?? '', /bad row/);
    // The form came back as it was typed.
    assert.equal(await page.getByLabel('Called number column').inputValue(), 'B-Nummer');
    assert.equal(await page.getByLabel('Format', { exact: true }).inputValue(), 'carrier-mapped-csv');
    await noSideScroll(page, 'the carrier form with its preview at 1366 px');
    await page.screenshot({ path: path.join(SHOTS, 'carrier-mapping-preview-1366.png'), fullPage: true });

    await Promise.all([page.waitForURL('**/wholesale/carriers'), page.getByRole('button', { name: 'Create carrier' }).click()]);
    assert.match(await text(page, 'carrier-credential'), /\S{20,}/, 'its posting credential, shown once');
    const carrier = await t.db('carriers').where({ name: CARRIER }).first();
    assert.ok(carrier, 'the carrier is stored');
    assert.equal(carrier.data_format, 'carrier-mapped-csv');
    await Promise.all([page.waitForURL(`**/wholesale/carriers/${carrier.id}`), page.getByRole('link', { name: 'Done' }).click()]);
    assert.match((await page.locator('dl.facts').first().textContent()) ?? '', /EUR[\s\S]*Europe\/Berlin[\s\S]*TeleTransit deck 2026[\s\S]*5 s[\s\S]*1 s[\s\S]*0\.01 EUR/);

    // The switch's trunk mapped to it, on the platform's page.
    await Promise.all([page.waitForURL('**/wholesale/platforms'), (await navLink(page, 'Platforms')).click()]);
    await page.goto(`/wholesale/platforms/${platform.id}/edit`);
    await page.getByLabel('Trunk to LD carrier').fill(`${TRUNK} = ${CARRIER}`);
    await Promise.all([page.waitForURL(`**/wholesale/platforms/${platform.id}`), page.getByRole('button', { name: 'Save' }).click()]);
    await page.goto(`/wholesale/carriers/${carrier.id}`);
    assert.match(await text(page, 'carrier-trunks'), new RegExp(`: ${TRUNK}$`));

    // The calls leave by that trunk.
    const res = await postCdrs(t, platform.token, calls.map((c) => ({
      leg_id: `TT-${c.key}-${crypto.randomUUID().slice(0, 8)}`, calling: number, called: c.called, trunk: TRUNK,
      start: new Date(c.start).toISOString(), answer: new Date(c.start + 2000).toISOString(), end: new Date(c.start + 2000 + c.talk * 1000).toISOString(),
    })));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const legIds = (res.body.records as Array<{ legs: Array<{ id: number; status: string }> }>).map((r) => r.legs[0]!);
    assert.ok(legIds.every((l) => l.status === 'rated'), JSON.stringify(legIds));
    const legOf = new Map(calls.map((c, i) => [c.key, String(legIds[i]!.id)]));
    const costs = await t.db('charges').where({ kind: 'carrier_cost' }).whereIn('leg_id', [...legOf.values()]).select('leg_id', 'total', 'currency');
    const ours = new Map(costs.map((c) => [String(c.leg_id), new Decimal(c.total)]));
    assert.equal(ours.size, calls.length, 'every leg has its expected carrier cost');
    for (const c of calls) {
      // Our deck's figure: the same rate, rounded to the deck's four decimals.
      assert.ok(ours.get(legOf.get(c.key)!)!.eq(theirCost(c.rate, c.talk).toDecimalPlaces(4, Decimal.ROUND_HALF_UP)), `leg ${c.key}'s expected cost`);
    }
    assert.ok(costs.every((c) => c.currency.trim() === 'EUR'));

    // The file uploaded on the carrier's page.
    await page.getByLabel(/^Upload a file TeleTransit sent/).setInputFiles(filePath);
    await Promise.all([page.waitForURL(new RegExp(`/wholesale/carriers/${carrier.id}/files/\\d+$`)), page.getByRole('button', { name: 'Upload and store' }).click()]);
    assert.match((await page.locator('.flash').textContent()) ?? '', new RegExp(`${rows.length} records stored, 0 duplicates \\(already stored\\), 1 bad row, 0 skipped`));
    assert.equal(await text(page, 'carrier-file-records'), String(rows.length));
    assert.equal(await text(page, 'carrier-file-bad'), '1');
    const badRows = await page.getByTestId('carrier-file-bad-rows').locator('tbody tr td').allTextContents();
    assert.equal(badRows[0], String(rows.length + 4), 'the trailer\'s line');
    assert.match(badRows[1]!, /called/, 'its reason names what is wrong');
    await noSideScroll(page, 'the file page at 1366 px');
    await Promise.all([page.waitForURL(`**/wholesale/carriers/${carrier.id}/files`), page.getByRole('link', { name: /All files of/ }).click()]);
    const fileId = Number(/files\/(\d+)/.exec((await page.locator('tr[data-carrier-file] a').first().getAttribute('href')) ?? '')![1]);
    const fileRow = page.locator(`tr[data-carrier-file="${fileId}"]`);
    const fileCell = async (label: string) => ((await fileRow.locator(`td[data-label="${label}"]`).textContent()) ?? '').trim();
    assert.equal(await fileCell('File'), path.basename(filePath));
    assert.equal(await fileCell('Status'), 'stored');
    assert.equal(await fileCell('Records stored'), String(rows.length));
    assert.equal(await fileCell('Bad rows'), '1');
    assert.match(await fileCell('How'), /^upload by /);
    await noSideScroll(page, 'the files at 1366 px');
    await page.screenshot({ path: path.join(SHOTS, 'carrier-files-1366.png'), fullPage: true });

    // Last month reconciled: the form offers it.
    await page.goto(`/wholesale/carriers/${carrier.id}`);
    await Promise.all([page.waitForURL(`**/wholesale/carriers/${carrier.id}/reconciliation`), page.getByTestId('reconciliation-link').click()]);
    const form = page.getByTestId('reconcile-form');
    assert.equal(await form.getByLabel('From').inputValue(), monthStart);
    assert.equal(await form.getByLabel('To (inclusive)').inputValue(), monthEnd);
    await noSideScroll(page, 'the runs at 1366 px');
    await Promise.all([page.waitForURL(new RegExp(`/reconciliation/\\d+$`)), form.getByRole('button', { name: 'Reconcile' }).click()]);
    assert.match((await page.locator('.flash').textContent()) ?? '', new RegExp(`Reconciled ${calls.length} legs and ${rows.length} carrier records`));

    // What is at stake, per class: carrier's minus ours.
    const byKey = (k: string) => calls.find((c) => c.key === k)!;
    const ourCost = (k: string) => ours.get(legOf.get(k)!)!;
    const overbilled = theirCost(byKey('c').rate, byKey('c').talk).plus(OVERCHARGE).minus(ourCost('c'));
    const tooLong = theirCost(byKey('e').rate, byKey('e').talk + EXTRA_SECONDS).minus(ourCost('e'));
    const lostCost = theirCost(lost.rate, lost.talk);
    const missing = ourCost('g').negated();
    const eur = (d: Decimal) => `${d.toFixed()} EUR`;
    const perClass = new Map<string, [string, string]>();
    for (const tr of await page.getByTestId('per-class').locator('tbody tr').all()) {
      const [label, count, money] = (await tr.locator('td').allTextContents()).map((c) => c.trim());
      perClass.set(label!, [count!, money!]);
    }
    assert.deepEqual(perClass.get('Matched, equal'), [String(calls.length - 3), '0 EUR'], 'the others, within the tolerances: starts 2 s apart, costs to six decimals against our four');
    assert.deepEqual(perClass.get('Duration mismatch'), ['1', eur(tooLong)]);
    assert.deepEqual(perClass.get('Rate mismatch'), ['0', '0']);
    assert.deepEqual(perClass.get('Cost mismatch'), ['1', eur(overbilled)]);
    assert.deepEqual(perClass.get('Not in our records'), ['1', eur(lostCost)]);
    assert.deepEqual(perClass.get('Not billed by carrier'), ['1', eur(missing)]);
    const total = (await page.getByTestId('per-class').locator('tfoot th').allTextContents()).map((c) => c.trim());
    assert.deepEqual(total, ['Total', String(calls.length + 1), eur(overbilled.plus(tooLong).plus(lostCost).plus(missing))]);
    await noSideScroll(page, 'the run at 1366 px');
    await page.screenshot({ path: path.join(SHOTS, 'carrier-reconciliation-run-1366.png'), fullPage: true });
    const runUrl = page.url();

    // The dispute file, downloaded: the records overbilled, time order, ours beside theirs.
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('dispute-csv').click()]);
    assert.match(download.suggestedFilename(), /^dispute-\d+\.csv$/);
    const [head, ...lines] = parse(fs.readFileSync((await download.path()) as string, 'utf8'), { bom: true }) as string[][];
    const col = (name: string) => head!.indexOf(name);
    for (const name of ['Class', 'Called', 'Our seconds', 'Carrier seconds', 'Our expected cost', 'Carrier cost', 'Cost difference', 'Money at stake', 'Leg', 'Carrier record']) assert.ok(col(name) >= 0, `a column ${name}`);
    const items = lines.filter((l) => !l[0]!.startsWith('Total'));
    const pick = (l: string[]) => ({
      class: l[col('Class')], called: l[col('Called')], ourSeconds: l[col('Our seconds')], carrierSeconds: l[col('Carrier seconds')],
      ourCost: l[col('Our expected cost')], carrierCost: l[col('Carrier cost')], money: l[col('Money at stake')], leg: l[col('Leg')], record: l[col('Carrier record')],
    });
    const norm = (v: string | undefined) => (v ? new Decimal(v).toFixed() : '');
    // Numbers in E.164 are written as text for a spreadsheet ('+44…, domain/csv-cell.ts).
    const asText = (e164: string) => `'${e164}`;
    assert.deepEqual(
      items.map(pick).map((x) => ({ ...x, ourCost: norm(x.ourCost), carrierCost: norm(x.carrierCost), money: norm(x.money) })),
      [
        { class: 'Cost mismatch', called: asText(byKey('c').called), ourSeconds: '240', carrierSeconds: '240', ourCost: ourCost('c').toFixed(), carrierCost: theirCost(UK_RATE, 240).plus(OVERCHARGE).toFixed(), money: overbilled.toFixed(), leg: legOf.get('c'), record: 'id:TT-c' },
        { class: 'Duration mismatch', called: asText(byKey('e').called), ourSeconds: '180', carrierSeconds: '210', ourCost: ourCost('e').toFixed(), carrierCost: theirCost(FR_RATE, 210).toFixed(), money: tooLong.toFixed(), leg: legOf.get('e'), record: 'id:TT-e' },
        { class: 'Not in our records', called: asText(lost.called), ourSeconds: '', carrierSeconds: '120', ourCost: '', carrierCost: lostCost.toFixed(), money: lostCost.toFixed(), leg: '', record: 'id:TT-lost' },
      ],
      'exactly the records it overbilled, in time order',
    );
    const totalLine = lines.find((l) => l[0] === 'Total')!;
    assert.equal(totalLine[col('Money at stake')], eur(overbilled.plus(tooLong).plus(lostCost)), 'the sum to claim back');

    // The run on the carrier's list of runs: its discrepancies and what they come to.
    await Promise.all([page.waitForURL(`**/wholesale/carriers/${carrier.id}/reconciliation`), page.getByRole('link', { name: 'All runs' }).click()]);
    const runRow = page.getByTestId('runs').locator('tbody tr').first();
    const runCell = async (label: string) => ((await runRow.locator(`td[data-label="${label}"]`).textContent()) ?? '').trim();
    assert.equal(await runCell('Status'), 'done');
    assert.equal(await runCell('By'), admin.email);
    assert.deepEqual([await runCell('Legs'), await runCell('Records'), await runCell('Discrepancies')], [String(calls.length), String(rows.length), '4']);
    assert.equal(await runCell('Money at stake'), eur(overbilled.plus(tooLong).plus(lostCost).plus(missing)));

    // On a phone: every page of the journey holds in the screen's width.
    await page.setViewportSize({ width: 390, height: 844 });
    for (const [url, what] of [
      [runUrl, 'the run'], [`/wholesale/carriers/${carrier.id}/reconciliation`, 'the runs'], [`/wholesale/carriers/${carrier.id}/files`, 'the files'],
      [`/wholesale/carriers/${carrier.id}/files/${fileId}`, 'the file'], [`/wholesale/carriers/${carrier.id}`, 'the carrier'], [`/wholesale/carriers/${carrier.id}/edit`, 'the carrier form'],
      ['/wholesale/carriers', 'the carriers'],
    ] as const) {
      await page.goto(url);
      await noSideScroll(page, `${what} at 390 px`);
    }
    // The stored mapping, tried again on the file from the edit form: the same rows read, on a phone too.
    await page.goto(`/wholesale/carriers/${carrier.id}/edit`);
    await page.getByLabel('or a sample file').setInputFiles(filePath);
    await Promise.all([page.waitForURL('**/wholesale/carriers/preview'), page.getByTestId('mapping-preview-button').click()]);
    assert.equal(await page.getByTestId('mapping-preview').locator('tbody tr:not(.has-error)').count(), rows.length);
    await noSideScroll(page, 'the mapping preview at 390 px');
    await page.screenshot({ path: path.join(SHOTS, 'carrier-mapping-preview-390.png'), fullPage: true });
    await page.goto(runUrl);
    assert.ok(await page.getByTestId('dispute-csv').isVisible(), 'the dispute file\'s link on a phone');
    await page.screenshot({ path: path.join(SHOTS, 'carrier-reconciliation-run-390.png'), fullPage: true });
    assert.deepEqual(problems, []);
  });
});
