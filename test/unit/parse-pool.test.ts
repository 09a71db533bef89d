import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import type { AdapterContext } from '../../src/domain/legs/leg';
import { ParsePool } from '../../src/modules/intake/parse-pool';
import { parseBody, type ParseTask } from '../../src/modules/intake/parse.worker';

const FIXTURES = path.resolve(__dirname, '../fixtures/cdr');
const utc1: AdapterContext = { timeZone: 'UTC', countryCode: '1' };

/** A generic-json body of n records, each padded to about `pad` characters. */
function genericBody(n: number, tag: string, pad = 0): string {
  const recs = Array.from({ length: n }, (_, i) => ({
    leg_id: `${tag}-${i}`,
    calling: '+12125550100',
    called: '+442079460000',
    start: '2026-11-25T12:00:00Z',
    duration: 60,
    ...(pad ? { note: 'x'.repeat(pad) } : {}),
  }));
  return JSON.stringify(recs);
}

/** Large bodies are parsed in worker threads (parse-pool.ts): the same records as on the event loop, in turn per platform. */
describe('intake parse pool', () => {
  const pools: ParsePool[] = [];
  const pool = (threads: number, maxHeapMb?: number) => {
    const p = new ParsePool({ threads, inlineBelow: 0, maxHeapMb });
    pools.push(p);
    return p;
  };
  after(async () => {
    await Promise.all(pools.map((p) => p.close()));
  });

  test('a body parsed in a thread gives exactly what the adapter gives inline: every record, leg and refusal of the fixtures', async () => {
    const p = pool(1);
    const tasks: ParseTask[] = [
      { format: 'freeswitch-json', body: fs.readFileSync(path.join(FIXTURES, 'freeswitch', fs.readdirSync(path.join(FIXTURES, 'freeswitch')).find((f) => f.endsWith('.json')) as string), 'utf8'), contentType: 'application/json', ctx: { timeZone: 'UTC', countryCode: '855' } },
      { format: 'cucm-csv', body: fs.readFileSync(path.join(FIXTURES, 'cucm/cdr.txt'), 'utf8'), contentType: 'text/csv', ctx: utc1 },
      { format: 'freeswitch-xml', body: fs.readFileSync(path.join(FIXTURES, 'freeswitch/not-well-formed_xmlcdr.xml'), 'utf8'), contentType: 'application/xml', ctx: utc1 },
      { format: 'generic-json', body: genericBody(500, 'EQ') + '', contentType: 'application/json', ctx: utc1 },
      { format: 'generic-json', body: '[{"leg_id":"x"},{"leg_id":"y","calling":"+12125550100","called":"+14155550100","start":"0050-06-15T00:00:00Z"}]', contentType: 'application/json', ctx: utc1 },
      { format: 'generic-json', body: '['.repeat(5000) + ']'.repeat(5000), contentType: 'application/json', ctx: utc1 },
    ];
    for (const t of tasks) {
      const inline = parseBody(t);
      const threaded = await p.parse(1, t);
      assert.deepEqual(threaded, inline, `${t.format}: ${t.body.slice(0, 40)}`);
    }
    const refused = await p.parse(1, tasks[2] as ParseTask);
    assert.equal(refused.ok, false);
  });

  test('small bodies are parsed at once on the event loop; large ones go to a thread', async () => {
    const p = new ParsePool({ threads: 1, inlineBelow: 10_000 });
    pools.push(p);
    const small = p.parse(1, { format: 'generic-json', body: genericBody(1, 'S'), contentType: undefined, ctx: utc1 });
    assert.equal(p.backlog, 0, 'a small body never waits for a thread');
    assert.equal((await small).ok, true);
    const large = p.parse(1, { format: 'generic-json', body: genericBody(200, 'L'), contentType: undefined, ctx: utc1 });
    assert.equal(p.backlog, 1, 'a large body is handed to a thread');
    const answer = await large;
    assert.ok(answer.ok && answer.records.length === 200);
    assert.equal(p.backlog, 0);
  });

  test('platforms are served in turn: one platform with many large bodies waiting does not go before another platform', async () => {
    const p = pool(1);
    const order: string[] = [];
    const run = (platform: number, name: string) =>
      p.parse(platform, { format: 'generic-json', body: genericBody(2000, name), contentType: undefined, ctx: utc1 }).then(() => order.push(name));
    // Platform 1 queues four bodies, then platform 2 one: 2's is second, not fifth.
    const all = [run(1, 'A1'), run(1, 'A2'), run(1, 'A3'), run(1, 'A4'), run(2, 'B1')];
    await Promise.all(all);
    assert.deepEqual(order, ['A1', 'B1', 'A2', 'A3', 'A4']);
  });

  test('a body that takes more memory to read than a thread may use is refused with the reason, and the next body is read', async () => {
    const p = pool(1, 32);
    const huge = await p.parse(1, { format: 'generic-json', body: genericBody(80_000, 'H', 200), contentType: undefined, ctx: utc1 });
    assert.deepEqual(huge, { ok: false, tooLarge: true, error: 'the body takes more memory to read than a post may use: send fewer records per post' });
    const next = await p.parse(1, { format: 'generic-json', body: genericBody(10, 'N'), contentType: undefined, ctx: utc1 });
    assert.ok(next.ok && next.records.length === 10, JSON.stringify(next).slice(0, 300));
  });

  test('warmed, a pool has its thread ready before the first large body: that body is parsed without starting one', async () => {
    const p = pool(1);
    assert.equal(p.threads, 0, 'no thread before it is needed');
    await p.warm();
    assert.equal(p.threads, 1, 'warm() started the thread');
    const answer = await p.parse(1, { format: 'generic-json', body: genericBody(100, 'W'), contentType: undefined, ctx: utc1 });
    assert.ok(answer.ok && answer.records.length === 100);
    assert.equal(p.threads, 1, 'the body used it, none more');
  });

  test('after close, a large body is refused as a passing fault (the process is ending), not as bad content', async () => {
    const p = pool(1);
    await p.close();
    await assert.rejects(p.parse(1, { format: 'generic-json', body: genericBody(10, 'C'), contentType: undefined, ctx: utc1 }), /shutting down/);
  });
});
