import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ReferenceCache } from '../../src/db/change-notices';
import type { Queryable } from '../../src/db/knex';
import { Decimal } from '../../src/domain/money/decimal';
import { RateTable } from '../../src/modules/exchange-rates/rate-cache';
import type { RateRow } from '../../src/modules/exchange-rates/exchange-rates.repository';
import { UsageTaxTable } from '../../src/modules/taxes/tax-cache';
import type { UsageTaxRow } from '../../src/modules/taxes/taxes.repository';

const at = (iso: string) => Date.parse(iso);
const OPERATOR = { kind: 'operator' } as const;

let nextId = 1;
/** A usage tax row as taxes.repository's usageTaxRows yields it. */
function tax(over: { owner?: number; country?: string; region?: string | null; from?: string | number; to?: string | number | null; name: string; priority?: number; id?: number }): UsageTaxRow {
  const id = over.id ?? nextId++;
  const ms = (v: string | number) => (typeof v === 'number' ? v : at(v));
  return {
    ownerKey: over.owner ?? 0,
    country: over.country ?? 'US',
    regionKey: over.region === undefined ? null : over.region === null ? null : over.region.toLowerCase(),
    fromMs: ms(over.from ?? '2026-01-01T00:00:00Z'),
    toMs: over.to === undefined || over.to === null ? null : ms(over.to),
    rule: { id, name: over.name, basis: 'percent', rate: new Decimal('5'), priority: over.priority ?? 1, compounding: false },
  };
}

describe('UsageTaxTable: usageTaxesFor answered in memory', () => {
  const table = new UsageTaxTable([
    tax({ name: 'Federal', priority: 1, id: 10 }),
    tax({ name: 'NY state', region: 'Ny', priority: 2, id: 11 }),
    tax({ name: 'NJ state', region: 'NJ', priority: 2, id: 12 }),
    tax({ name: 'NY 911 fee', region: 'NY', priority: 0, id: 13 }),
    // Overlapping in time, same priority: by id.
    tax({ name: 'Levy B', priority: 3, id: 15 }),
    tax({ name: 'Levy A', priority: 3, id: 14, from: '2025-01-01T00:00:00Z', to: '2026-07-01T00:00:00Z' }),
    tax({ name: 'Summer levy', priority: 3, id: 16, from: '2026-07-01T00:00:00Z', to: '2026-09-01T00:00:00Z' }),
    tax({ name: 'Zyland VAT', country: 'ZY', id: 17 }),
    tax({ name: 'R1 retail NY', owner: 1, region: 'NY', id: 18 }),
    tax({ name: 'R2 retail NY', owner: 2, region: 'NY', id: 19 }),
  ]);
  const names = (owner: Parameters<UsageTaxTable['rulesFor']>[0], country: string, region: string | null, iso: string | number) =>
    table.rulesFor(owner, { country, region }, typeof iso === 'number' ? iso : at(iso)).map((r) => r.name);

  test('country-wide plus the region’s own, by priority then id; region in any case and spacing', () => {
    assert.deepEqual(names(OPERATOR, 'US', ' nY ', '2026-06-15T12:00:00Z'), ['NY 911 fee', 'Federal', 'NY state', 'Levy A', 'Levy B']);
    assert.deepEqual(names(OPERATOR, 'US', 'NJ', '2026-06-15T12:00:00Z'), ['Federal', 'NJ state', 'Levy A', 'Levy B']);
  });

  test('no region, a blank one, or a region with no jurisdiction: the country’s taxes only', () => {
    const countryOnly = ['Federal', 'Levy A', 'Levy B'];
    assert.deepEqual(names(OPERATOR, 'US', null, '2026-06-15T00:00:00Z'), countryOnly);
    assert.deepEqual(names(OPERATOR, 'US', '  ', '2026-06-15T00:00:00Z'), countryOnly);
    assert.deepEqual(names(OPERATOR, ' us ', 'TX', '2026-06-15T00:00:00Z'), countryOnly, 'country code trimmed, any case');
    assert.deepEqual(names(OPERATOR, 'ZY', 'NY', '2026-06-15T00:00:00Z'), ['Zyland VAT'], 'another country with the same region name');
    assert.deepEqual(names(OPERATOR, 'ZX', 'NY', '2026-06-15T00:00:00Z'), []);
  });

  test('in force from effective_from (inclusive) to effective_to (exclusive), to the millisecond', () => {
    assert.deepEqual(names(OPERATOR, 'US', null, '2025-12-31T23:59:59.999Z'), ['Levy A'], 'the others not yet');
    assert.deepEqual(names(OPERATOR, 'US', null, '2026-01-01T00:00:00Z'), ['Federal', 'Levy A', 'Levy B'], 'from its first millisecond');
    assert.deepEqual(names(OPERATOR, 'US', null, '2026-06-30T23:59:59.999Z'), ['Federal', 'Levy A', 'Levy B']);
    assert.deepEqual(names(OPERATOR, 'US', null, '2026-07-01T00:00:00Z'), ['Federal', 'Levy B', 'Summer levy'], 'ends exactly when the next starts');
    assert.deepEqual(names(OPERATOR, 'US', null, '2026-09-01T00:00:00Z'), ['Federal', 'Levy B']);
    // A fraction of a millisecond is dropped, as new Date(atMs).toISOString() drops it for the SQL.
    assert.deepEqual(names(OPERATOR, 'US', null, at('2026-07-01T00:00:00Z') - 0.5), ['Federal', 'Levy A', 'Levy B']);
  });

  test('owners are separate: the operator’s taxes, each reseller’s own', () => {
    assert.deepEqual(names({ kind: 'reseller', resellerId: 1 }, 'US', 'NY', '2026-06-15T00:00:00Z'), ['R1 retail NY']);
    assert.deepEqual(names({ kind: 'reseller', resellerId: 2 }, 'US', 'ny', '2026-06-15T00:00:00Z'), ['R2 retail NY']);
    assert.deepEqual(names({ kind: 'reseller', resellerId: 1 }, 'US', null, '2026-06-15T00:00:00Z'), []);
    assert.ok(!names(OPERATOR, 'US', 'NY', '2026-06-15T00:00:00Z').some((n) => n.startsWith('R')));
  });

  test('sub-millisecond bounds (stored in microseconds, loaded rounded up) compare as Postgres does', () => {
    // effective_from 12:00:00.0005 and effective_to 13:00:00.0005, loaded as ...001 ms.
    const t = new UsageTaxTable([tax({ name: 'Odd', from: at('2026-01-01T12:00:00.001Z'), to: at('2026-01-01T13:00:00.001Z') })]);
    const n = (iso: string) => t.rulesFor(OPERATOR, { country: 'US', region: null }, at(iso)).map((r) => r.name);
    assert.deepEqual(n('2026-01-01T12:00:00.000Z'), [], '12:00:00.000 is before 12:00:00.0005');
    assert.deepEqual(n('2026-01-01T12:00:00.001Z'), ['Odd']);
    assert.deepEqual(n('2026-01-01T13:00:00.000Z'), ['Odd'], '13:00:00.000 is before the end at 13:00:00.0005');
    assert.deepEqual(n('2026-01-01T13:00:00.001Z'), []);
  });

  test('each answer is a new list of shared, frozen rules; an impossible instant throws as toISOString does', () => {
    const a = table.rulesFor(OPERATOR, { country: 'US', region: 'NY' }, at('2026-06-15T00:00:00Z'));
    a.pop();
    const b = table.rulesFor(OPERATOR, { country: 'US', region: 'NY' }, at('2026-06-15T00:00:00Z'));
    assert.equal(b.length, a.length + 1);
    assert.ok(Object.isFrozen(b[0]));
    assert.throws(() => table.rulesFor(OPERATOR, { country: 'US', region: null }, Number.NaN), RangeError);
  });
});

describe('RateTable: rateInForce answered in memory', () => {
  const row = (from: string, to: string, rate: string, iso: string): RateRow => ({ from, to, rate: new Decimal(rate), fromMs: at(iso) });
  const table = new RateTable([
    row('CAD', 'JPY', '110.5', '2026-01-01T00:00:00Z'),
    row('CAD', 'JPY', '112.25', '2026-05-01T00:00:00Z'),
    row('CAD', 'JPY', '111.000000000001', '2026-05-01T00:00:00.001Z'),
    row('USD', 'EUR', '0.92', '2020-01-01T00:00:00Z'),
  ]);
  const rate = (from: string, to: string, iso: string | number) => table.rateInForce(from, to, typeof iso === 'number' ? iso : at(iso))?.toString();

  test('the latest rate at or before the moment, from its first millisecond', () => {
    assert.equal(rate('CAD', 'JPY', '2025-12-31T23:59:59.999Z'), undefined, 'before the first rate');
    assert.equal(rate('CAD', 'JPY', '2026-01-01T00:00:00Z'), '110.5');
    assert.equal(rate('CAD', 'JPY', '2026-04-30T23:59:59.999Z'), '110.5');
    assert.equal(rate('CAD', 'JPY', '2026-05-01T00:00:00Z'), '112.25');
    assert.equal(rate('cad', ' jpy', '2027-01-01T00:00:00Z'), '111.000000000001', 'a later correction; codes in any case');
    assert.equal(rate('CAD', 'JPY', at('2026-05-01T00:00:00.001Z') - 0.5), '112.25', 'a fraction of a millisecond is dropped');
  });

  test('same currency is 1 without a row; no rate is undefined; the reverse pair is not inverted', () => {
    assert.equal(rate('CHF', 'chf', 0), '1');
    assert.equal(table.rateInForce('CHF', 'CHF', Number.NaN)?.toString(), '1', 'no instant needed, as in the SQL version');
    assert.equal(rate('JPY', 'CAD', '2027-01-01T00:00:00Z'), undefined);
    assert.equal(rate('CAD', 'CHF', '2027-01-01T00:00:00Z'), undefined);
    assert.throws(() => table.rateInForce('CAD', 'JPY', Number.NaN), RangeError);
  });

  test('two rates from the same instant (sub-millisecond apart, or equal): the later in the list wins', () => {
    const t = new RateTable([row('EUR', 'GBP', '0.8', '2026-01-01T00:00:00.001Z'), row('EUR', 'GBP', '0.9', '2026-01-01T00:00:00.001Z')]);
    assert.equal(t.rateInForce('EUR', 'GBP', at('2026-01-01T00:00:00.000Z')), undefined);
    assert.equal(t.rateInForce('EUR', 'GBP', at('2026-01-01T00:00:00.001Z'))?.toString(), '0.9');
  });

  test('rows out of effective_from order are refused (the table relies on the query’s order)', () => {
    assert.throws(() => new RateTable([row('EUR', 'GBP', '0.9', '2026-02-01T00:00:00Z'), row('EUR', 'GBP', '0.8', '2026-01-01T00:00:00Z')]), /order/);
  });
});

describe('ReferenceCache: loaded once, dropped on change, never storing what may be stale (its versions: cache-versions.test.ts)', () => {
  const pool = {} as Queryable;
  /** A loader whose loads finish when the test says so. */
  function gatedLoader() {
    let version = 0;
    const gates: Array<() => void> = [];
    let calls = 0;
    const load = async () => {
      calls++;
      const seen = ++version;
      await new Promise<void>((resolve) => gates.push(resolve));
      return seen;
    };
    return { load, open: () => gates.splice(0).forEach((g) => g()), calls: () => calls };
  }

  test('concurrent first reads share one load; later reads are served from memory', async () => {
    const l = gatedLoader();
    const cache = new ReferenceCache('taxes', l.load);
    const a = cache.get(pool);
    const b = cache.get(pool);
    l.open();
    assert.deepEqual(await Promise.all([a, b]), [1, 1]);
    assert.equal(await cache.get(pool), 1);
    assert.equal(l.calls(), 1);
    assert.ok(cache.cached);
  });

  test('a load that began before an invalidation answers its callers but is not stored, and nobody joins it afterwards', async () => {
    const l = gatedLoader();
    const cache = new ReferenceCache('taxes', l.load);
    const early = cache.get(pool); // reads the rows as they were before a change commits
    cache.invalidate(); // the writer, after its commit
    const late = cache.get(pool); // must not join the early load
    l.open();
    assert.equal(await early, 1);
    assert.equal(await late, 2);
    assert.equal(await cache.get(pool), 2, 'the later load is the one kept');
    assert.equal(l.calls(), 2);
  });

  test('a read through a caller’s transaction (which may have changed the rows) reads them, and is never kept or shared', async () => {
    let n = 0;
    const cache = new ReferenceCache('exchange_rates', async () => ++n);
    const tx = { isTransaction: true } as unknown as Queryable;
    assert.equal(await cache.get(tx), 1);
    assert.ok(!cache.cached);
    assert.equal(await cache.get(pool), 2);
    assert.equal(await cache.get(tx), 3, 'the transaction may have changed the rows itself: it reads them');
    assert.equal(await cache.get(pool), 2);
  });

  test('a failed load is not kept; the next read tries again', async () => {
    let n = 0;
    const cache = new ReferenceCache('taxes', async () => {
      if (++n === 1) throw new Error('connection reset');
      return n;
    });
    await assert.rejects(cache.get(pool), /connection reset/);
    assert.equal(await cache.get(pool), 2);
  });
});
