import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { sortInMemory, sortOf } from '../../src/db/list';
import { navEntries } from '../../src/web/render';

describe('list sorting: the whitelist and the in-memory order', () => {
  const spec = { sorts: { name: 1, rate: 1 }, defaultSort: 'name', defaultDir: 'desc' as const };

  test('a sort not on the whitelist falls back to the default, with the default direction', () => {
    assert.deepEqual(sortOf(spec, { sort: 'password_hash', dir: 'asc' }), { sort: 'name', dir: 'asc' });
    assert.deepEqual(sortOf(spec, {}), { sort: 'name', dir: 'desc' });
    assert.deepEqual(sortOf(spec, { sort: 'rate' }), { sort: 'rate', dir: 'asc' });
    assert.deepEqual(sortOf(spec, { sort: 'constructor' }), { sort: 'name', dir: 'desc' }, 'an inherited name is not a column');
  });

  test('decimal text sorts by value, exactly; ties keep the order they came in; either direction', () => {
    const rows = [
      { id: 1, rate: '0.5' }, { id: 2, rate: '0.25' }, { id: 3, rate: '10.0000000001' }, { id: 4, rate: '10' }, { id: 5, rate: '0.25' },
    ];
    const sorts = { rate: (r: (typeof rows)[number]) => r.rate };
    const asc = sortInMemory(rows, sorts, { sort: 'rate', dir: 'asc' }, { sort: 'rate', dir: 'asc' });
    assert.deepEqual(asc.rows.map((r) => r.id), [2, 5, 1, 4, 3]);
    assert.equal(asc.count, 5);
    const desc = sortInMemory(rows, sorts, { sort: 'rate', dir: 'desc' }, { sort: 'rate', dir: 'asc' });
    assert.deepEqual(desc.rows.map((r) => r.id), [3, 4, 1, 5, 2]);
  });

  test('text sorts without regard to case, nulls first', () => {
    const rows = [{ n: 'beta' }, { n: null }, { n: 'Alpha' }, { n: 'alpha 2' }];
    const out = sortInMemory(rows, { n: (r) => r.n }, {}, { sort: 'n', dir: 'asc' });
    assert.deepEqual(out.rows.map((r) => r.n), [null, 'Alpha', 'alpha 2', 'beta']);
  });
});

describe('the main menu: grouped by each entry’s group, the current page marked', () => {
  const items = [
    { href: '/wholesale', label: 'Dashboard' },
    { href: '/wholesale/resellers', label: 'Resellers', group: 'Customers' as const },
    { href: '/wholesale/taxes', label: 'Taxes', group: 'Rating' as const },
    { href: '/wholesale/calls', label: 'Calls', group: 'Traffic' as const },
    // Added by another feature further down the list: joins its group where the group first appears.
    { href: '/wholesale/feature-packages', label: 'Feature packages', group: 'Rating' as const },
  ];

  test('groups in the order they first appear, entries in theirs', () => {
    const entries = navEntries(items, '/wholesale/feature-packages/3/edit');
    assert.deepEqual(entries.map((e) => e.label), ['Dashboard', 'Customers', 'Rating', 'Traffic']);
    const rating = entries[2];
    assert.ok(rating && rating.kind === 'group');
    assert.deepEqual(rating.items.map((i) => [i.label, i.active]), [['Taxes', false], ['Feature packages', true]]);
    assert.equal(rating.active, true);
    assert.equal(entries[1]?.active, false);
    assert.equal(entries[0]?.active, false, 'the home page is current only on itself');
  });

  test('a link is current on its page and below it, not on a page that merely starts with its text', () => {
    const at = (path: string) => navEntries(items, path).flatMap((e) => (e.kind === 'group' ? e.items : [e])).filter((i) => i.active).map((i) => i.label);
    assert.deepEqual(at('/wholesale'), ['Dashboard']);
    assert.deepEqual(at('/wholesale/calls'), ['Calls']);
    assert.deepEqual(at('/wholesale/calls/12'), ['Calls']);
    assert.deepEqual(at('/wholesale/taxes-old'), []);
  });
});
