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
  assert.match(lines[3] as string, /^4,\+33123456789,.*,error,.*unrated \(no_rate\)/);
});

test('plan settings come from a plan file, flags override it', () => {
  const deck = write('deck2.csv', `${DECK_HEADER}\n1,US,outbound,,0,0.25,60,1,,,,\n`);
  const calls = write('calls2.csv', 'destination,start,duration\n12125550100,2026-11-25T12:00:00Z,30\n');
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
