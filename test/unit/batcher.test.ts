import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Batcher } from '../../src/modules/intake/pipeline';

/** A Batcher whose runs finish when the test says, recording each group it was given. */
function controlled(lanes: number) {
  const groups: string[][] = [];
  const finishers: Array<() => void> = [];
  const batcher = new Batcher<string, string>(
    (items) => {
      groups.push(items);
      return new Promise((resolve) => finishers.push(() => resolve(items.map((value) => ({ status: 'fulfilled', value })))));
    },
    () => 1,
    100,
    lanes,
  );
  const tick = () => new Promise((r) => setImmediate(r));
  return { batcher, groups, finishNext: async () => (finishers.shift() as () => void)(), tick };
}

describe('intake batcher: parts of large posts give way to posts', () => {
  test('one lane: posts that arrive while a run is busy go before the parts of a large post that arrived earlier, grouped', async () => {
    const { batcher, groups, finishNext, tick } = controlled(1);
    const done = [batcher.submit('A'), batcher.submit('P1', true), batcher.submit('P2', true), batcher.submit('C'), batcher.submit('D')];
    await tick();
    assert.deepEqual(groups, [['A']]);
    await finishNext();
    await tick();
    assert.deepEqual(groups, [['A'], ['C', 'D']], 'posts waiting are taken before parts');
    await finishNext();
    await tick();
    assert.deepEqual(groups.slice(2), [['P1', 'P2']], 'parts (of any posts) group with each other, never with posts');
    await finishNext();
    assert.deepEqual(await Promise.all(done), ['A', 'P1', 'P2', 'C', 'D']);
  });

  test('two lanes: parts take one lane at most, so a post never waits behind them', async () => {
    const { batcher, groups, finishNext, tick } = controlled(2);
    const parts = [batcher.submit('P1', true), batcher.submit('P2', true)];
    await tick();
    assert.deepEqual(groups, [['P1']], 'the second part waits though a lane is free');
    const post = batcher.submit('N');
    await tick();
    assert.deepEqual(groups, [['P1'], ['N']], 'a post starts at once in the free lane');
    await finishNext(); // P1
    await tick();
    assert.deepEqual(groups.slice(2), [['P2']]);
    await finishNext(); // N
    await finishNext(); // P2
    assert.deepEqual(await Promise.all([...parts, post]), ['P1', 'P2', 'N']);
  });
});
