import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parse } from 'csv-parse/sync';
import { csvCell, csvCellRead } from '../../src/domain/csv-cell';
import { csvWriter } from '../../src/modules/csv/csv-writer';

test('a cell a spreadsheet would run as a formula is written as text with a leading apostrophe', () => {
  for (const evil of ['=HYPERLINK("http://evil.example","x")', '+1+cmd|\' /C calc\'!A0', '-2+3', '@SUM(A1:A9)', '\t=1+1', '\r=1+1']) {
    assert.equal(csvCell(evil), `'${evil}`, JSON.stringify(evil));
  }
});

test('numbers stay what they are: E.164 numbers quoted as text, plain negative amounts left as numbers, the rest untouched', () => {
  assert.equal(csvCell('+12125550100'), "'+12125550100");
  assert.equal(csvCell('-0.0150000000'), '-0.0150000000');
  assert.equal(csvCell('-12'), '-12');
  for (const plain of ['0.0300000000', '12125550100', 'Acme Dental', '', 'a=b', "'already"]) assert.equal(csvCell(plain), plain);
});

test('csvCellRead undoes csvCell, so an exported deck imports back as it was', () => {
  for (const v of ['=1+1', '+12125550100', '-0.5', 'plain', '@x', "'quoted"]) assert.equal(csvCellRead(csvCell(v)), v);
});

test('csvWriter neutralises every text cell, not the header, and writes numbers as they are', async () => {
  const out = csvWriter(['name', 'number', 'seconds']);
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  const done = new Promise((r) => out.on('end', r));
  out.write({ name: '=cmd()', number: '+442071234567', seconds: 60 });
  out.write({ name: 'Acme', number: '-7', seconds: -1 });
  out.end();
  await done;
  const rows = parse(Buffer.concat(chunks).toString('utf8')) as string[][];
  assert.deepEqual(rows, [['name', 'number', 'seconds'], ["'=cmd()", "'+442071234567", '60'], ['Acme', '-7', '-1']]);
});
