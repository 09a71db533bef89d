import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { DECK_HEADER } from '../support/rating';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rate-cli-'));
const write = (name: string, text: string) => {
  const p = path.join(dir, name);
  fs.writeFileSync(p, text);
  return p;
};
const run = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/rate.ts', ...args], { encoding: 'utf8' });

test('npm run rate prices each call with the live engine and prints its breakdown', () => {
  const deck = write('deck.csv', `${DECK_HEADER}\n1,US,outbound,peak,0,0.10,60,1,,,,\n1,US,outbound,offpeak,0,0.04,60,1,,,,\n44,UK,outbound,,0,0.06,60,30,0.01,,,\n44,UK,outbound,,30,0.06,60,6,,,,\n`);
  const bands = write('bands.csv', 'band,days,start\npeak,mon-fri,08:00\noffpeak,mon-fri,18:00\noffpeak,sat-sun,00:00\n');
  const calls = write('calls.csv', 'destination,start,duration,direction\n+12125550100,2026-11-25T17:58:00-05:00,300,outbound\n+442079460000,2026-11-25T12:00:00Z,35,\n+33123456789,2026-11-25T12:00:00Z,10,\n');
  const r = run('--deck', deck, '--bands', bands, '--calls', calls, '--tz', 'America/New_York', '--format', 'csv');
  assert.equal(r.status, 2, 'one call could not be rated');
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines[0], 'line,destination,start,duration,status,prefix,charged_seconds,amount,currency,breakdown');
  assert.match(lines[1] as string, /^2,\+12125550100,.*,rated,1,300,0\.3200,USD,"?US: 120s peak @ 0\.1\/60s = 0\.2; 180s offpeak @ 0\.04\/60s = 0\.12/);
  assert.match(lines[2] as string, /^3,\+442079460000,.*,rated,44,36,0\.0460,USD,/);
  assert.match(lines[3] as string, /^4,\+33123456789,.*,unrated,.*unrated \(no_rate\)/);
});

test('plan settings come from a plan file, flags override it', () => {
  const deck = write('deck2.csv', `${DECK_HEADER}\n1,US,outbound,,0,0.25,60,1,,,,\n`);
  const calls = write('calls2.csv', 'destination,start,duration\n+12125550100,2026-11-25T12:00:00Z,30\n');
  const plan = write('plan.json', JSON.stringify({ currency: 'EUR', decimals: 2, rounding: 'down' }));
  assert.match(run('--deck', deck, '--calls', calls, '--plan', plan, '--format', 'csv').stdout, /,0\.12,EUR,/);
  assert.match(run('--deck', deck, '--calls', calls, '--plan', plan, '--rounding', 'half_up', '--format', 'csv').stdout, /,0\.13,EUR,/);
});

test('a bad deck is refused with every bad row listed, and --help documents the formats', () => {
  const deck = write('bad.csv', `${DECK_HEADER}\n1,US,sideways,,0,0.25,60,1,,,,\nx,US,outbound,,0,-1,60,0,,,,\n`);
  const calls = write('calls3.csv', 'destination,start,duration\n+12125550100,2026-11-25T12:00:00Z,30\n');
  const r = run('--deck', deck, '--calls', calls);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /line 2: direction "sideways"/);
  assert.match(r.stderr, /line 3: prefix "x" must be 1-15 digits; rate "-1" is not a non-negative decimal number; increment "0"/);
  const help = run('--help');
  assert.equal(help.status, 0);
  assert.match(help.stdout, /--band-mode/);
  assert.match(help.stdout, /destination,start,duration\[,direction\]/);
});

// A deck where reading 2125550100 as international (+212, Morocco) costs 50 times the US rate.
const US_AND_MOROCCO = `${DECK_HEADER}\n1,US,outbound,,0,0.01,60,60,,,,\n212,Morocco,outbound,,0,0.50,60,60,,,,\n`;

test('a national number with no --country-code is refused asking for one, not priced as Morocco', () => {
  const deck = write('us-ma.csv', US_AND_MOROCCO);
  const calls = write('national.csv', 'destination,start,duration\n2125550100,2026-11-25T12:00:00Z,60\n');
  const r = run('--deck', deck, '--calls', calls, '--format', 'csv');
  assert.equal(r.status, 1);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /line 2: destination "2125550100" has no country code: write it with \+ or 00 and its country code, or give --country-code/);
  const us = run('--deck', deck, '--calls', calls, '--format', 'csv', '--country-code', '1');
  assert.equal(us.status, 0, us.stderr);
  assert.match(us.stdout, /^2,2125550100,.*,rated,1,60,0\.0100,USD,/m);
});

test('numbers that carry their country code need no --country-code: +, 00, tel: and sip: forms', () => {
  const deck = write('us-ma2.csv', US_AND_MOROCCO);
  const calls = write('international.csv', 'destination,start,duration\n+1 212 555 0100,2026-11-25T12:00:00Z,60\n0012125550100,2026-11-25T12:00:00Z,60\ntel:+12125550100,2026-11-25T12:00:00Z,60\nsip:+12125550100@gw.example.net,2026-11-25T12:00:00Z,60\n+212522000000,2026-11-25T12:00:00Z,60\n');
  const r = run('--deck', deck, '--calls', calls, '--format', 'json');
  assert.equal(r.status, 0, r.stderr);
  const rows = JSON.parse(r.stdout) as Array<{ prefix: string; amount: string }>;
  assert.deepEqual(rows.map((x) => `${x.prefix} ${x.amount}`), ['1 0.0100', '1 0.0100', '1 0.0100', '1 0.0100', '212 0.5000']);
});

test('every bad calls row is listed by its line, without a stack trace, and no call is priced', () => {
  const deck = write('deck4.csv', US_AND_MOROCCO);
  const calls = write('bad-calls.csv', [
    'destination,start,duration,direction',
    '+12125550100,2026-11-25T12:00:00Z,60,outbound,extra',
    '+12125550100,2026-02-30T10:00:00Z,60,',
    '',
    '+12125550100,2026-01-01T24:61:00Z,60,sideways',
    '+12125550100,2026-11-25T12:00:00Z,1764590400000,',
    '+12125550100,2026-11-25T12:00:00Z,604800,',
    '+12125550100,2026-11-25,60,',
    '',
  ].join('\n'));
  const r = run('--deck', deck, '--calls', calls, '--format', 'csv');
  assert.equal(r.status, 1);
  assert.equal(r.stdout, '', 'all or nothing, as the deck import');
  assert.doesNotMatch(r.stderr, /rate failed|\n\s+at /);
  assert.deepEqual(r.stderr.trim().split('\n'), [
    `${calls}:`,
    '  line 2: 5 fields where the header has 4 (destination,start,duration,direction)',
    '  line 3: start "2026-02-30T10:00:00Z" is not a real date: February 2026 has 28 days',
    '  line 5: direction "sideways" is not outbound, inbound, onnet or forwarded; start "2026-01-01T24:61:00Z" is not a real time: 24:61:00 (hours go to 23, minutes and seconds to 59)',
    '  line 6: duration "1764590400000" is more than 604800 s (7 days), the longest call the intake accepts: a timestamp in the wrong column?',
    '  line 8: start "2026-11-25" must be ISO 8601 with its offset, e.g. 2026-11-25T12:00:00Z',
  ]);
});

test('a calls file with an unknown or missing column is refused at its header', () => {
  const deck = write('deck5.csv', US_AND_MOROCCO);
  const r = run('--deck', deck, '--calls', write('header.csv', 'destination,start,secs,direciton\n+12125550100,2026-11-25T12:00:00Z,60,inbound\n'));
  assert.equal(r.status, 1);
  assert.match(r.stderr, /line 1: missing column: duration; unknown columns: "secs", "direciton" \(the columns are destination, start, duration, direction\)/);
});

test('the plan file is checked by its schema: a string "false" is refused, unknown keys are refused, a JSON error names the file', () => {
  const deck = write('deck6.csv', `${DECK_HEADER}\n1,US,outbound,,0,0.01,60,60,0.05,,,\n`);
  const calls = write('unanswered.csv', 'destination,start,duration\n+12125550100,2026-11-25T12:00:00Z,0\n');
  const stringFalse = write('string-false.json', '{"connectFeeOnUnanswered": "false", "bandmode": "start", "decimals": 2.5}');
  const r = run('--deck', deck, '--calls', calls, '--plan', stringFalse);
  assert.equal(r.status, 1);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, new RegExp(`^${stringFalse.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\n`));
  assert.match(r.stderr, /  connectFeeOnUnanswered: must be true or false \(a JSON boolean\), not "false"/);
  assert.match(r.stderr, /  unknown key "bandmode" \(the keys are currency, decimals, rounding, timeZone, bandMode, connectFeeOnUnanswered\)/);
  assert.match(r.stderr, /  decimals: must be a whole number from 0 to 10/);

  const broken = write('broken.json', '{"currency": "EUR",}');
  const b = run('--deck', deck, '--calls', calls, '--plan', broken);
  assert.equal(b.status, 1);
  assert.match(b.stderr, new RegExp(`^${broken.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\n  not valid JSON: `));

  const amount = (plan: object) => {
    const out = run('--deck', deck, '--calls', calls, '--plan', write('p.json', JSON.stringify(plan)), '--format', 'json');
    assert.equal(out.status, 0, out.stderr);
    return (JSON.parse(out.stdout) as Array<{ amount: string }>)[0]?.amount;
  };
  assert.equal(amount({ connectFeeOnUnanswered: false }), '0.0000');
  assert.equal(amount({ connectFeeOnUnanswered: true }), '0.0500');
});

test('unknown --format values and malformed flags are refused', () => {
  const deck = write('deck7.csv', US_AND_MOROCCO);
  const calls = write('calls7.csv', 'destination,start,duration\n+12125550100,2026-11-25T12:00:00Z,60\n');
  const xml = run('--deck', deck, '--calls', calls, '--format', 'xml');
  assert.equal(xml.status, 1);
  assert.equal(xml.stdout, '');
  assert.match(xml.stderr, /--format must be one of table, csv, json, not "xml"/);
  const flags = run('--deck', deck, '--calls', calls, '--decimals', '1.5', '--band-mode', 'whole');
  assert.equal(flags.status, 1);
  assert.match(flags.stderr, /--decimals: must be a whole number from 0 to 10\n--band-mode: must be split or start/);
  assert.match(run('--deck', deck, '--calls', calls, '--country-code', '44x').stderr, /--country-code must be a calling code of 1-3 digits/);
});

test('a deck prefix written with 00 is refused by the CLI as by the portal', () => {
  const deck = write('deck8.csv', `${DECK_HEADER}\n0044,UK,outbound,,0,0.05,60,60,,,,\n`);
  const calls = write('calls8.csv', 'destination,start,duration\n+442079460000,2026-11-25T12:00:00Z,60\n');
  const r = run('--deck', deck, '--calls', calls);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /line 2: prefix "0044" starts with 0: write the country code without 00 or another access code \(write 44\)/);
});
