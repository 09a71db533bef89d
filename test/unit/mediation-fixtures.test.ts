import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import type { AdapterContext } from '../../src/domain/legs/leg';
import { ADAPTERS, FORMAT_NAMES, getAdapter, isFormatName, MediationError, type FormatName } from '../../src/domain/mediation';
import { dumpObjects } from '../fixtures/cdr/sql-dump';

const FIXTURES = path.resolve(__dirname, '../fixtures/cdr');
const SRC = path.resolve(__dirname, '../../src/domain/mediation');

function walk(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : [path.relative(FIXTURES, path.join(dir, e.name))]));
}

type Plan = { format: FormatName; body: (text: string) => string; ctx: AdapterContext; expect: 'legs' | 'refused' } | { notCdr: string };

/** Every fixture file, and what it is. A new file fails this test until it is placed here. */
function planFor(file: string): Plan {
  const utc855: AdapterContext = { timeZone: 'UTC', countryCode: '855' };
  const utc1: AdapterContext = { timeZone: 'UTC', countryCode: '1' };
  if (file === 'SOURCES.md') return { notCdr: 'provenance notes' };
  if (file === 'LICENSES.md') return { notCdr: 'licence notes' };
  if (file === 'sql-dump.ts') return { notCdr: 'our test helper that reads rows out of the Kamailio dump' };
  if (file === 'cucm/cdr.txt') return { format: 'cucm-csv', body: (t) => t, ctx: utc1, expect: 'legs' };
  if (file === 'freeswitch/not-well-formed_xmlcdr.xml') return { format: 'freeswitch-xml', body: (t) => t, ctx: { timeZone: 'Asia/Kolkata', countryCode: '91' }, expect: 'refused' };
  if (/^freeswitch\/.*\.json$/.test(file)) return { format: 'freeswitch-json', body: (t) => t, ctx: utc855, expect: 'legs' };
  if (/^freeswitch\/.*\.xml$/.test(file)) return { format: 'freeswitch-xml', body: (t) => t, ctx: utc855, expect: 'legs' };
  if (/^asterisk\/.*CEL.*\.csv$/.test(file)) return { notCdr: 'CEL events (one row per channel event), not CDRs' };
  if (/^asterisk\/.*\.ya?ml$/.test(file)) return { notCdr: 'testsuite expectations (fields as regular expressions)' };
  if (/^asterisk\/.*\.conf$/.test(file)) return { notCdr: 'cel_custom column configuration' };
  if (/^asterisk\/.*(Master\d*|cdrlib_good)\.csv$/.test(file)) return { format: 'asterisk-csv', body: (t) => t, ctx: utc1, expect: 'legs' };
  if (file === 'broadworks/radius-dictionary.broadsoft') return { notCdr: 'field list (attribute number = CDR field number); records are built in the broadworks test' };
  if (/^kamailio\/.*\.sql$/.test(file)) return { format: 'kamailio-acc', body: (t) => JSON.stringify(dumpObjects(t, 'acc')), ctx: utc1, expect: 'legs' };
  throw new Error(`fixture ${file} is not known to the mediation tests: say which adapter reads it (and test its legs) or why it is not a CDR`);
}

describe('mediation: every call-record fixture is read by its adapter', () => {
  for (const file of walk(FIXTURES).sort()) {
    test(file, () => {
      const plan = planFor(file);
      if ('notCdr' in plan) return;
      const text = fs.readFileSync(path.join(FIXTURES, file), 'utf8');
      const adapter = ADAPTERS[plan.format];
      if (plan.expect === 'refused') {
        assert.throws(() => adapter.parse(plan.body(text), undefined, plan.ctx), MediationError);
        return;
      }
      const result = adapter.parse(plan.body(text), undefined, plan.ctx);
      const legs = result.records.flatMap((r) => (r.ok ? r.legs : []));
      assert.ok(legs.length > 0, `${file}: no legs`);
      for (const l of legs) {
        assert.ok(l.legKey !== '' && l.callId !== '', `${file}: empty key`);
        assert.ok(Number.isInteger(l.startMs) && Number.isInteger(l.billableSeconds) && l.billableSeconds >= 0);
        assert.equal(l.answered, l.answerMs !== null, `${file}: answered and answerMs disagree for ${l.legKey}`);
        if (!l.answered) assert.equal(l.billableSeconds, 0);
        for (const n of [l.callingNumber, l.calledNumber, l.redirectingNumber]) if (n !== null) assert.match(n, /^\+[1-9]\d{1,14}$/);
      }
      const again = adapter.parse(plan.body(text), undefined, plan.ctx).records.flatMap((r) => (r.ok ? r.legs : []));
      assert.deepEqual(again.map((l) => l.legKey), legs.map((l) => l.legKey), `${file}: keys differ between two parses`);
    });
  }
});

describe('mediation index', () => {
  test('every format name has its adapter, and only those', () => {
    assert.deepEqual(Object.keys(ADAPTERS).sort(), [...FORMAT_NAMES].sort());
    for (const name of FORMAT_NAMES) {
      assert.equal(ADAPTERS[name].format, name);
      assert.equal(getAdapter(name), ADAPTERS[name]);
      assert.ok(isFormatName(name));
    }
    assert.equal(getAdapter('toString'), undefined);
    assert.equal(getAdapter('cisco-cucm'), undefined);
    assert.equal(isFormatName('generic'), false);
  });

  test('the adapters are pure domain code: allowed imports only, no clock, no I/O', () => {
    const allowed = new Set(['decimal.js', 'zod', 'csv-parse/sync', 'fast-xml-parser']);
    for (const file of fs.readdirSync(SRC).filter((f) => f.endsWith('.ts'))) {
      const text = fs.readFileSync(path.join(SRC, file), 'utf8');
      for (const m of text.matchAll(/^import\s[^;]*?from\s+'([^']+)'/gm)) {
        const spec = m[1] as string;
        assert.ok(spec.startsWith('./') || spec.startsWith('../legs/') || spec.startsWith('../numbers/') || spec.startsWith('../rating/zoned-time') || spec.startsWith('../time/') || allowed.has(spec), `${file} imports ${spec}`);
      }
      assert.doesNotMatch(text, /Date\.now\(|new Date\(\)|process\.|require\(/, `${file} reads the clock or the process`);
    }
  });
});
