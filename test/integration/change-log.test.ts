/**
 * The change log of legs (leg_changes) and the outbox of domain events (outbox_events), read in
 * commit order (docs/ARCHITECTURE.md, "The change log and the outbox"). Writers take their positions in one order and
 * commit in another; a reader following the log with changesAfter / eventsAfter must see every
 * committed change exactly once: never skip one that committed late with a smaller position,
 * never read one twice. A naive "position > last seen" reader does skip, and is shown to.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Db } from '../../src/db/knex';
import type { RatedLeg } from '../../src/domain/legs/rated';
import { SYSTEM_ACTOR, type Actor } from '../../src/domain/tenancy/actor';
import { recordAudit } from '../../src/modules/audit/audit.repository';
import { changesAfter, eventsAfter, type ChangeCursor } from '../../src/modules/changes/changes.service';
import { planCopies, storeInTransaction, writeLedger, type LedgerRecord } from '../../src/modules/ledger/ledger.service';
import { ensurePartitions } from '../../src/modules/ledger/partitions';
import { rerateLegs } from '../../src/modules/rating/rerate.service';
import { addRange } from '../../src/modules/number-ranges/number-ranges.service';
import { setStatus as setResellerStatus } from '../../src/modules/resellers/resellers.service';
import { setStatus as setSubscriberStatus } from '../../src/modules/subscribers/subscribers.service';
import { createTestApp, type TestApp } from '../support/app';
import { makeReseller, makeSubscriber } from '../support/factories';
import { makePlatform } from '../support/intake';

const WHOLESALE = { kind: 'wholesale' } as const;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const START = Date.now() - 3_600_000;
let seq = 0;

/** A leg nobody's numbers match (unrated, no charges): what the ledger stores is all that matters here. */
function ratedLeg(resellerId: number | null = null): RatedLeg {
  const key = `chg-${process.pid}-${++seq}`;
  const startMs = START + seq;
  return {
    leg: {
      legKey: key, callId: `call-${key}`, callingNumber: '+19995550100', calledNumber: '+19995550199', rawCalling: '+19995550100', rawCalled: '+19995550199',
      startMs, answerMs: startMs, endMs: startMs + 60_000, billableSeconds: 60, answered: true, disposition: 'answered', switchCause: null,
      trunk: null, redirectingNumber: null, accountCode: null,
    },
    direction: resellerId === null ? null : 'outbound', resellerId, subscriberId: null, calleeResellerId: null, calleeSubscriberId: null,
    status: 'unrated', reason: 'no subscriber holds +19995550100', charges: [],
  };
}

function record(platformId: number, legs: number, resellerId: number | null = null): LedgerRecord {
  const ls = Array.from({ length: legs }, () => ({ rated: ratedLeg(resellerId), carrier: null }));
  return { platformId, contentType: 'application/json', body: JSON.stringify(ls.map((l) => l.rated.leg.legKey)), legs: ls };
}

/** The three ways the ledger writes new legs, each optionally holding its transaction open before commit. */
const write = {
  /** One statement, no transaction of our own (insertGroup). */
  oneStatement: (db: Db, rec: LedgerRecord) => writeLedger(db, [{ records: [rec] }], { then: async () => undefined }),
  /** INSERT ... ON CONFLICT in a transaction, which waits `holdMs` after writing, before it commits. */
  inTransaction: (db: Db, rec: LedgerRecord, holdMs = 0) =>
    db.transaction(async (tx) => {
      await storeInTransaction(tx, [{ records: [rec] }]);
      await sleep(holdMs);
    }),
  /** COPY (a Postgres server only), prepared outside the transaction as the intake does. */
  copy: async (db: Db, rec: LedgerRecord, holdMs = 0) => {
    const [plan] = await planCopies(db, [[rec]]);
    await db.transaction(async (tx) => {
      await storeInTransaction(tx, [{ records: [rec], copy: plan }]);
      await sleep(holdMs);
    });
  },
};

/** Every change in the table, as cursors, in commit order's key. */
async function allCursors(db: Db, table: 'leg_changes' | 'outbox_events'): Promise<string[]> {
  const { rows } = (await db.raw(`SELECT xid::text || '.' || position AS c FROM ${table} ORDER BY xid, position`)) as { rows: Array<{ c: string }> };
  return rows.map((r) => r.c);
}

const keyOf = (c: string) => c.split('.').map(BigInt) as [bigint, bigint];
const before_ = (a: string, b: string) => {
  const [ax, ap] = keyOf(a);
  const [bx, bp] = keyOf(b);
  return ax < bx || (ax === bx && ap < bp);
};

/**
 * A reader following a log: reads a page after its cursor, again and again, recording what it
 * reads. Fails the test if it reads anything twice or out of order.
 */
function follower(read: (cursor: ChangeCursor | null) => Promise<{ items: Array<{ cursor: string }>; cursor: ChangeCursor | null }>) {
  const seen: string[] = [];
  const set = new Set<string>();
  let cursor: ChangeCursor | null = null;
  return {
    seen,
    async step(): Promise<number> {
      const page = await read(cursor);
      for (const it of page.items) {
        assert.ok(!set.has(it.cursor), `read ${it.cursor} twice`);
        if (seen.length) assert.ok(before_(seen[seen.length - 1] as string, it.cursor), `${it.cursor} read after ${seen[seen.length - 1]}`);
        set.add(it.cursor);
        seen.push(it.cursor);
      }
      cursor = page.cursor;
      return page.items.length;
    },
    /** Reads until it has `n` changes (other transactions on the server may hold readers back for a while). */
    async drainTo(n: number, timeoutMs = 60_000) {
      const until = Date.now() + timeoutMs;
      while (seen.length < n && Date.now() < until) if ((await this.step()) === 0) await sleep(20);
    },
  };
}

const legFollower = (db: Db, limit = 7) =>
  follower(async (c) => {
    const p = await changesAfter(db, WHOLESALE, c, limit);
    return { items: p.changes, cursor: p.cursor };
  });
const eventFollower = (db: Db, limit = 5) =>
  follower(async (c) => {
    const p = await eventsAfter(db, WHOLESALE, c, limit);
    return { items: p.events, cursor: p.cursor };
  });

describe('the change log and the outbox', () => {
  let t: TestApp;
  let platformId: number;
  let reseller: { id: number };
  let other: { id: number };

  before(async () => {
    t = await createTestApp();
    platformId = (await makePlatform(t.db)).id;
    reseller = await makeReseller(t.db);
    other = await makeReseller(t.db);
    await ensurePartitions(t.db, [START]);
  });
  after(() => t.close());

  test('every write path and re-rating leave one change per leg, read once each in order (one connection)', async () => {
    const reader = legFollower(t.db, 3);
    await write.oneStatement(t.db, record(platformId, 2));
    await reader.step();
    await write.inTransaction(t.db, record(platformId, 3));
    await reader.step();
    // A re-post stores nothing new: no change.
    const again = record(platformId, 1);
    await write.oneStatement(t.db, again);
    await write.oneStatement(t.db, { ...again, body: `${again.body} ` });
    if (!t.embedded) await write.copy(t.db, record(platformId, 4));
    const stored = Number((await t.db('call_legs').count('* as n').first())?.n);
    await reader.drainTo(stored);

    const ids = (await t.db('call_legs').orderBy('id').limit(2).pluck('id')) as number[];
    const outcome = await rerateLegs(t.db, { plans: t.planCache, refs: t.referenceData }, WHOLESALE, { ids });
    assert.equal(outcome.total, 2);
    await reader.drainTo(stored + 2);
    assert.equal(await reader.step(), 0, 'nothing more');

    assert.deepEqual(reader.seen, await allCursors(t.db, 'leg_changes'), 'every change read once, in commit order');
    const kinds = (await t.db('leg_changes').select('kind').count('* as n').groupBy('kind').orderBy('kind')) as Array<{ kind: string; n: string }>;
    assert.deepEqual(kinds.map((k) => [k.kind, Number(k.n)]), [['rerated', 2], ['stored', stored]], 'one change per leg stored, one per leg re-rated');
    const unlogged = await t.db('call_legs as l').leftJoin('leg_changes as c', function () {
      this.on('c.leg_id', 'l.id').andOnVal('c.kind', 'stored');
    }).whereNull('c.leg_id').count('* as n').first();
    assert.equal(Number(unlogged?.n), 0, 'every stored leg has its change');
  });

  test("a reseller's people follow only the changes of their own legs; a bad cursor is refused", async () => {
    await write.oneStatement(t.db, record(platformId, 2, reseller.id));
    await write.oneStatement(t.db, record(platformId, 3, other.id));
    // A change becomes readable once every older transaction on the server has ended (a test file
    // beside this one may hold one open a while): waited for, as a follower does.
    let mine = await changesAfter(t.db, { kind: 'reseller', resellerId: reseller.id }, null, 100);
    for (const until = Date.now() + 60_000; mine.changes.length < 2 && Date.now() < until; ) {
      await sleep(20);
      mine = await changesAfter(t.db, { kind: 'reseller', resellerId: reseller.id }, null, 100);
    }
    assert.equal(mine.changes.length, 2);
    assert.ok(mine.changes.every((c) => c.resellerId === reseller.id && c.kind === 'stored'));
    await assert.rejects(changesAfter(t.db, { kind: 'subscriber', resellerId: reseller.id, subscriberId: 1 }, null, 10), /Subscribers/);
    await assert.rejects(changesAfter(t.db, WHOLESALE, "1.1' or 1=1", 10), /Not a cursor/);
  });

  test('tenant changes make outbox events beside their audit rows, in commit order (one connection)', async () => {
    const reader = eventFollower(t.db, 2);
    const sub = await makeSubscriber(t.db, reseller.id);
    const adminOf = (resellerId: number): Actor => ({ userId: null, email: null, role: 'reseller_admin', scope: { kind: 'reseller', resellerId } });
    await setSubscriberStatus(t.db, adminOf(reseller.id), { kind: 'reseller', resellerId: reseller.id }, sub.id, 'inactive');
    await reader.step();
    await addRange(t.db, SYSTEM_ACTOR, reseller.id, { first_number: '+19995550000', last_number: '+19995550099' });
    await setResellerStatus(t.db, SYSTEM_ACTOR, other.id, 'inactive');
    // Operator-level changes (a setting) are audited but make no event.
    await recordAudit(t.db, SYSTEM_ACTOR, { resellerId: null, entityType: 'setting', entityId: null, action: 'update', after: { time_zone: 'UTC' } });
    await reader.drainTo(3);
    assert.equal(await reader.step(), 0);

    const { events } = await eventsAfter(t.db, WHOLESALE, null, 100);
    assert.deepEqual(events.map((e) => [e.type, e.resellerId]), [['subscriber.deactivated', reseller.id], ['number_range.created', reseller.id], ['reseller.deactivated', other.id]]);
    assert.deepEqual(reader.seen, events.map((e) => e.cursor));
    const sub0 = events[0]!;
    assert.equal(sub0.entityId, sub.id);
    assert.equal((sub0.payload as { after: { status: string } }).after.status, 'inactive');
    assert.ok(!JSON.stringify(sub0.payload).includes('reseller_admin'), 'the payload says what changed, not who changed it');
    const audit = await t.db('audit_log').where({ id: sub0.auditId }).first();
    assert.equal(audit.entity_type, 'subscriber');
    const own = await eventsAfter(t.db, { kind: 'reseller', resellerId: other.id }, null, 100);
    assert.deepEqual(own.events.map((e) => e.type), ['reseller.deactivated'], "a reseller reads only its own events");
  });

  test('a transaction that took its position first and commits last is neither skipped nor read twice; a naive reader skips it', async (ctx) => {
    if (t.embedded) return ctx.skip('the embedded server runs one transaction at a time: no commit can overtake another');
    const base = (await allCursors(t.db, 'leg_changes')).length;
    const reader = legFollower(t.db);
    await reader.drainTo(base);
    let naiveAfter = Number((await t.db('leg_changes').max('position as p').first())?.p ?? 0);
    const naive: number[] = [];
    const naiveStep = async () => {
      const rows = (await t.db('leg_changes').where('position', '>', naiveAfter).orderBy('position').pluck('position')) as string[];
      for (const p of rows) naive.push(Number(p));
      if (rows.length) naiveAfter = Number(rows[rows.length - 1]);
    };

    // A: takes its positions, then waits to commit.
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let taken!: () => void;
    const tookPositions = new Promise<void>((r) => (taken = r));
    const slow = t.db.transaction(async (tx) => {
      await storeInTransaction(tx, [{ records: [record(platformId, 2)] }]);
      taken();
      await gate;
    });
    await tookPositions;
    // B: takes later positions and commits first (the one-statement path); C rolls back.
    await write.oneStatement(t.db, record(platformId, 1));
    await t.db.transaction(async (tx) => {
      await storeInTransaction(tx, [{ records: [record(platformId, 1)] }]);
      tx.rollback(new Error('rolled back on purpose'));
    }).catch(() => undefined);

    await naiveStep();
    await reader.step();
    assert.equal(naive.length, 1, "the naive reader reads B's change and moves past A's positions");
    assert.equal(reader.seen.length, base, "B's change waits while A, older, is still open");

    release();
    await slow;
    await naiveStep();
    await reader.drainTo(base + 3);
    const committed = await allCursors(t.db, 'leg_changes');
    assert.equal(committed.length, base + 3, "A's two changes and B's; nothing of C");
    assert.deepEqual(reader.seen, committed, 'the reader has every change once, A before B (commit order by transaction)');
    assert.equal(naive.length, 1, "the naive reader never sees A's changes: they committed behind its cursor");
  });

  test('the outbox too: an event committed late behind a later one is read, in commit order; a naive reader skips it', async (ctx) => {
    if (t.embedded) return ctx.skip('the embedded server runs one transaction at a time: no commit can overtake another');
    const base = (await allCursors(t.db, 'outbox_events')).length;
    const reader = eventFollower(t.db);
    await reader.drainTo(base);
    let naiveAfter = Number((await t.db('outbox_events').max('position as p').first())?.p ?? 0);
    const naive: number[] = [];
    const naiveStep = async () => {
      const rows = (await t.db('outbox_events').where('position', '>', naiveAfter).orderBy('position').pluck('position')) as string[];
      for (const p of rows) naive.push(Number(p));
      if (rows.length) naiveAfter = Number(rows[rows.length - 1]);
    };
    const change = (name: string) => ({ resellerId: reseller.id, entityType: 'subscriber', entityId: 1, action: 'update', before: { name: 'old' }, after: { name } });

    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let taken!: () => void;
    const tookPosition = new Promise<void>((r) => (taken = r));
    const slow = t.db.transaction(async (tx) => {
      await recordAudit(tx, SYSTEM_ACTOR, change('first'));
      taken();
      await gate;
    });
    await tookPosition;
    await recordAudit(t.db, SYSTEM_ACTOR, change('second'));
    await naiveStep();
    await reader.step();
    assert.equal(naive.length, 1);
    assert.equal(reader.seen.length, base, 'the later event waits while the earlier transaction is open');

    release();
    await slow;
    await naiveStep();
    await reader.drainTo(base + 2);
    assert.deepEqual(reader.seen, await allCursors(t.db, 'outbox_events'));
    const { events } = await eventsAfter(t.db, WHOLESALE, reader.seen[base - 1] ?? null, 10);
    assert.deepEqual(events.map((e) => (e.payload as { after: { name: string } }).after.name), ['first', 'second'], 'in commit order by transaction');
    assert.equal(naive.length, 1, 'the naive reader never sees the first event');
  });

  test('concurrent writers on every path, committing out of the order of their positions: a follower reads each change exactly once', async (ctx) => {
    if (t.embedded) return ctx.skip('concurrency needs a Postgres server (the embedded one runs one transaction at a time)');
    const caches = { plans: t.planCache, refs: t.referenceData };
    const base = (await allCursors(t.db, 'leg_changes')).length;
    const rerated = async () => Number((await t.db('leg_changes').where({ kind: 'rerated' }).count('* as n').first())?.n);
    const reratedBefore = await rerated();
    // A leg re-rated away from its reseller (to another, or to none) is a change for the one it left too.
    const moves = async () => {
      const { rows } = (await t.db.raw(
        `SELECT count(*)::int AS n, count(*) FILTER (WHERE count_distinct < 2)::int AS same FROM (
           SELECT count(DISTINCT coalesce(reseller_id, 0)) AS count_distinct FROM leg_changes WHERE kind = 'rerated' GROUP BY xid, leg_id HAVING count(*) > 1) x`,
      )) as { rows: Array<{ n: number; same: number }> };
      assert.equal(rows[0]!.same, 0, 'two changes of one leg in one re-rating are for two resellers');
      return rows[0]!.n;
    };
    const movesBefore = await moves();
    let reratedNow = 0;
    const reader = legFollower(t.db, 13);
    await reader.drainTo(base);
    let writing = true;
    const following = (async () => {
      while (writing) if ((await reader.step()) === 0) await sleep(2);
    })();

    const hold = () => Math.floor(Math.random() * 40);
    const lanes = [
      async () => { for (let i = 0; i < 15; i++) await write.oneStatement(t.db, record(platformId, 1 + (i % 3))); },
      async () => { for (let i = 0; i < 12; i++) await write.inTransaction(t.db, record(platformId, 2), hold()); },
      async () => { for (let i = 0; i < 12; i++) await write.inTransaction(t.db, record(platformId, 1), hold()); },
      async () => { for (let i = 0; i < 6; i++) await write.copy(t.db, record(platformId, 5), hold()); },
      async () => {
        for (let i = 0; i < 8; i++) {
          const ids = (await t.db('call_legs').orderByRaw('random()').limit(3).pluck('id')) as number[];
          // The checkpoint runs inside the batch's transaction: holding there delays its commit.
          reratedNow += (await rerateLegs(t.db, caches, WHOLESALE, { ids }, { checkpoint: () => sleep(hold()) })).total;
        }
      },
    ];
    await Promise.all(lanes.map((l) => l()));
    writing = false;
    await following;
    const committed = await allCursors(t.db, 'leg_changes');
    await reader.drainTo(committed.length);
    assert.equal(await reader.step(), 0);
    assert.equal(new Set(reader.seen).size, reader.seen.length, 'no change read twice');
    assert.deepEqual(reader.seen, committed, 'every committed change read, none skipped, in (xid, position) order');
    assert.equal(await rerated(), reratedBefore + reratedNow + (await moves()) - movesBefore, 'one change per re-rated leg, and one more for the reseller a leg left');
  });

  test('concurrent audited changes: an outbox follower reads each event exactly once', async (ctx) => {
    if (t.embedded) return ctx.skip('concurrency needs a Postgres server');
    const base = (await allCursors(t.db, 'outbox_events')).length;
    const reader = eventFollower(t.db, 4);
    await reader.drainTo(base);
    let writing = true;
    const following = (async () => {
      while (writing) if ((await reader.step()) === 0) await sleep(2);
    })();
    const lane = (resellerId: number, n: number) => async () => {
      for (let i = 0; i < n; i++) {
        await t.db.transaction(async (tx) => {
          await recordAudit(tx, SYSTEM_ACTOR, { resellerId, entityType: 'subscriber', entityId: i, action: 'update', before: { name: 'a' }, after: { name: `b${i}` } });
          await sleep(Math.floor(Math.random() * 30));
        });
      }
    };
    await Promise.all([lane(reseller.id, 20)(), lane(other.id, 20)(), lane(reseller.id, 20)(), lane(other.id, 20)()]);
    writing = false;
    await following;
    const committed = await allCursors(t.db, 'outbox_events');
    assert.equal(committed.length, base + 80);
    await reader.drainTo(committed.length);
    assert.deepEqual(reader.seen, committed, 'every event read once, in commit order');
  });
});
