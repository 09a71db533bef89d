/**
 * Webhooks (issue 14): endpoints registered in both portals, the outbox's events fanned out to them
 * and posted as Standard Webhooks messages, verified here with the convention's own published code
 * (npm `standardwebhooks`); retries against a local receiver that fails and then takes them; nothing
 * for a rolled-back change; order per object across retries; each tenant its own events.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import type { Db } from '../../src/db/knex';
import type { Actor } from '../../src/domain/tenancy/actor';
import { WEBHOOK_EVENTS } from '../../src/domain/webhooks/standard-webhooks';
import { SecretBox } from '../../src/modules/auth/secret-box';
import { runReconciliation } from '../../src/modules/reconciliation/reconciliation.service';
import { setStatus, updateSubscriber } from '../../src/modules/subscribers/subscribers.service';
import { subscriberFields } from '../../src/modules/subscribers/subscribers.schemas';
import { createEndpoint, fanOut, sendDue } from '../../src/modules/webhooks/webhooks.service';
import { FieldErrors } from '../../src/domain/errors';
import { createTestApp, TEST_INSTANCE_SECRET, type TestApp } from '../support/app';
import { makeSubscriber, makeTenants, makeUser } from '../support/factories';
import { Client, csrfFrom } from '../support/http';
import { until } from '../support/wait';

type Tenants = Awaited<ReturnType<typeof makeTenants>>;

interface Received {
  id: string;
  type: string;
  data: Record<string, any>;
  verified: boolean;
}

/**
 * A local receiver: checks each message with the convention's library and the endpoint's secret,
 * answers 500 to the messages `fail` says to refuse (the first time each), 200 to the rest.
 */
function receiver() {
  const got: Received[] = [];
  const answered: Array<{ id: string; status: number }> = [];
  let secret = '';
  let fail: (msg: { id: string; type: string; data: Record<string, any> }, seen: number) => boolean = () => false;
  const server = http.createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      const body = Buffer.concat(parts).toString('utf8');
      const headers = { 'webhook-id': String(req.headers['webhook-id']), 'webhook-timestamp': String(req.headers['webhook-timestamp']), 'webhook-signature': String(req.headers['webhook-signature']) };
      let verified = false;
      try {
        new Webhook(secret).verify(body, headers);
        verified = true;
      } catch {
        verified = false;
      }
      const msg = JSON.parse(body) as { type: string; timestamp: string; data: Record<string, any> };
      const seen = answered.filter((a) => a.id === headers['webhook-id']).length;
      const status = !verified ? 401 : fail({ id: headers['webhook-id'], type: msg.type, data: msg.data }, seen) ? 500 : 200;
      answered.push({ id: headers['webhook-id'], status });
      if (status === 200) got.push({ id: headers['webhook-id'], type: msg.type, data: msg.data, verified });
      res.writeHead(status, { 'content-type': 'text/plain' }).end(status === 200 ? 'ok' : status === 500 ? 'down for maintenance' : 'bad signature');
    });
  });
  return {
    got,
    answered,
    server,
    setSecret: (s: string) => void (secret = s),
    failWhen: (f: typeof fail) => void (fail = f),
    async listen(): Promise<string> {
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      return `http://127.0.0.1:${(server.address() as { port: number }).port}/hooks`;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** Posts the endpoint form (events repeated once per type) and answers the response. */
async function register(c: Client, base: string, fields: { url: string; description?: string; events?: string[]; all?: boolean }) {
  c.csrf = csrfFrom((await c.get(`${base}/new`)).text);
  const form = new URLSearchParams({ _csrf: c.csrf, url: fields.url, description: fields.description ?? '' });
  if (fields.all) form.append('all_events', 'on');
  for (const e of fields.events ?? []) form.append('events', e);
  return c.agent.post(base).type('form').send(form.toString());
}

const secretOf = (html: string) => /data-testid="secret">(whsec_[A-Za-z0-9+/=]+)</.exec(html)?.[1];

const actorOf = (user: { id: number; email: string }, resellerId: number): Actor => ({ userId: user.id, email: user.email, role: 'reseller_admin', scope: { kind: 'reseller', resellerId } });

/**
 * How long an event may take to become readable: until every older transaction on the server has
 * ended (modules/changes), and a long transaction of another database on the same server counts.
 */
const READABLE_WITHIN_MS = 300_000;

/** Fans out until at least `n` deliveries exist for the endpoint (an event is readable once older transactions end). */
async function fannedOut(db: Db, endpointId: number, n: number) {
  return until(`${n} deliveries for endpoint ${endpointId}`, async () => {
    await fanOut(db);
    const rows = await db('webhook_deliveries').where({ endpoint_id: endpointId }).orderBy('id');
    return rows.length >= n ? rows : undefined;
  }, READABLE_WITHIN_MS);
}

/** Fans out until the fan-out's cursor is at the outbox's last event. */
async function caughtUp(db: Db) {
  await until('the fan-out at the end of the outbox', async () => {
    await fanOut(db);
    const last = (await db.raw(`SELECT xid::text || '.' || position AS c FROM outbox_events ORDER BY xid DESC, position DESC LIMIT 1`)).rows[0]?.c;
    return (await db('webhook_fanout').first())?.cursor === last;
  }, READABLE_WITHIN_MS);
}

const input = (s: { account_number: string; name: string }, name: string) => subscriberFields.parse({ account_number: s.account_number, name, country: 'US' });

describe('webhooks', () => {
  let t: TestApp;
  let fx: Tenants;
  const box = new SecretBox(TEST_INSTANCE_SECRET);
  before(async () => {
    // Receivers listen on 127.0.0.1 here: private addresses allowed, as for a local receiver (outbound.test.ts and the test below refuse them).
    t = await createTestApp({ OUTBOUND_ALLOW_PRIVATE: 'true' });
    fx = await makeTenants(t.db);
  });
  after(() => t.close());

  test('an endpoint gets a whsec_ secret shown once and stored sealed; the form refuses other addresses and events; support sees but cannot change', async () => {
    const admin = await Client.login(t.app, fx.a.admin.email);
    assert.equal((await register(admin, '/reseller/webhooks', { url: 'ftp://example.com/x', all: true })).status, 422);
    assert.equal((await register(admin, '/reseller/webhooks', { url: 'http://example.com/hooks', all: true })).status, 422, 'plain http only to this machine');
    const operatorOnly = await register(admin, '/reseller/webhooks', { url: 'https://example.com/hooks', events: ['reconciliation.finished'] });
    assert.equal(operatorOnly.status, 422, 'a reseller cannot choose the operator\'s events');
    assert.equal((await register(admin, '/reseller/webhooks', { url: 'https://example.com/hooks' })).status, 422, 'no events chosen');
    const both = await register(admin, '/reseller/webhooks', { url: 'https://example.com/hooks', all: true, events: ['subscriber.updated'] });
    assert.equal(both.status, 422, '"all" and some events: which is meant?');
    assert.match(both.text, /not both/);

    const made = await register(admin, '/reseller/webhooks', { url: 'https://example.com/hooks', description: 'Accounting', events: ['subscriber.updated'] });
    assert.equal(made.status, 201);
    const secret = secretOf(made.text);
    assert.ok(secret, 'the secret is shown');
    assert.ok(Buffer.from(secret.slice(6), 'base64').length >= 24 && Buffer.from(secret.slice(6), 'base64').length <= 64);
    const row = await t.db('webhook_endpoints').where({ reseller_id: fx.a.reseller.id }).first();
    assert.ok(row.secret.startsWith('v1.') && !row.secret.includes(secret.slice(6)) && box.open(row.secret) === secret, 'stored sealed');
    assert.deepEqual(row.event_types, ['subscriber.updated']);
    const page = await admin.get(`/reseller/webhooks/${row.id}`);
    assert.equal(page.status, 200);
    assert.ok(!page.text.includes(secret), 'never shown again');
    assert.match((await admin.get('/reseller/webhooks')).text, /Accounting/);
    const audit = await t.db('audit_log').where({ entity_type: 'webhook_endpoint', entity_id: row.id }).first();
    assert.ok(audit && !JSON.stringify(audit.after).includes(secret.slice(6)), 'audited, without the secret');

    const support = await Client.login(t.app, fx.a.support.email);
    assert.equal((await support.get('/reseller/webhooks')).status, 200);
    assert.equal((await support.get(`/reseller/webhooks/${row.id}`)).status, 200);
    assert.equal((await support.submit(`/reseller/webhooks/${row.id}/rotate`, { confirm: 'yes' }, '/reseller/webhooks')).status, 403);
    // Another reseller's people do not reach it.
    const other = await Client.login(t.app, fx.b.admin.email);
    assert.equal((await other.get(`/reseller/webhooks/${row.id}`)).status, 404);
    assert.equal((await other.submit(`/reseller/webhooks/${row.id}/rotate`, { confirm: 'yes' }, '/reseller/webhooks')).status, 404);
    // Rotating shows a new secret, once.
    const rotated = await admin.submit(`/reseller/webhooks/${row.id}/rotate`, { confirm: 'yes' }, `/reseller/webhooks/${row.id}`);
    const second = secretOf(rotated.text);
    assert.ok(second && second !== secret);
    assert.equal(box.open((await t.db('webhook_endpoints').where({ id: row.id }).first()).secret), second);
    // Disabled: nothing more is made for it.
    const edit = await admin.submit(`/reseller/webhooks/${row.id}`, { url: 'https://example.com/hooks', description: 'Accounting', all_events: 'on' }, `/reseller/webhooks/${row.id}/edit`);
    assert.equal(edit.status, 303);
    const edited = await t.db('webhook_endpoints').where({ id: row.id }).first();
    assert.deepEqual([edited.active, edited.event_types], [false, null]);
  });

  test('messages verify with the convention\'s library; a receiver that fails is tried again with back-off and the same webhook-id; every attempt shown; send again', async () => {
    const rx = receiver();
    const url = await rx.listen();
    try {
      const b = fx.b;
      const admin = await Client.login(t.app, b.admin.email);
      const made = await register(admin, '/reseller/webhooks', { url, events: ['subscriber.updated', 'subscriber.deactivated'] });
      assert.equal(made.status, 201);
      rx.setSecret(secretOf(made.text) as string);
      const endpoint = await t.db('webhook_endpoints').where({ reseller_id: b.reseller.id, url }).first();

      rx.failWhen((m, seen) => m.type === 'subscriber.updated' && seen < 2);
      const sub = await makeSubscriber(t.db, b.reseller.id);
      await updateSubscriber(t.db, actorOf(b.admin, b.reseller.id), { kind: 'reseller', resellerId: b.reseller.id }, sub.id, input(sub, 'Renamed once'));
      await setStatus(t.db, actorOf(b.admin, b.reseller.id), { kind: 'reseller', resellerId: b.reseller.id }, sub.id, 'inactive');
      // A type not chosen makes no delivery.
      await setStatus(t.db, actorOf(b.admin, b.reseller.id), { kind: 'reseller', resellerId: b.reseller.id }, sub.id, 'active');
      await updateSubscriber(t.db, actorOf(fx.a.admin, fx.a.reseller.id), { kind: 'reseller', resellerId: fx.a.reseller.id }, fx.a.subscriber.id, input(fx.a.subscriber, 'Not b'));
      const rows = await fannedOut(t.db, endpoint.id, 2);
      // Fanned out past the activation and a's change: still two.
      await caughtUp(t.db);
      assert.equal((await t.db('webhook_deliveries').where({ endpoint_id: endpoint.id })).length, 2);
      assert.deepEqual(rows.map((r) => r.event_type), ['subscriber.updated', 'subscriber.deactivated']);

      const now = Date.now();
      assert.deepEqual(await sendDue(t.db, box, { allowPrivate: true, nowMs: now }), { tried: 1, delivered: 0 }, 'the endpoint failed: its other delivery waits for the next run');
      assert.equal((await sendDue(t.db, box, { allowPrivate: true, nowMs: now + 30_000 })).tried, 0, 'not due before its back-off');
      assert.deepEqual(await sendDue(t.db, box, { allowPrivate: true, nowMs: now + 61_000 }), { tried: 1, delivered: 0 });
      // The second failure doubled the wait: two minutes.
      assert.equal((await sendDue(t.db, box, { allowPrivate: true, nowMs: now + 61_000 + 90_000 })).tried, 0);
      assert.deepEqual(await sendDue(t.db, box, { allowPrivate: true, nowMs: now + 61_000 + 121_000 }), { tried: 2, delivered: 2 });
      assert.deepEqual(rx.got.map((g) => g.type), ['subscriber.updated', 'subscriber.deactivated']);
      assert.ok(rx.got.every((g) => g.verified));
      const first = rx.answered.filter((a) => a.id === rows[0].event_id);
      assert.deepEqual(first.map((a) => a.status), [500, 500, 200], 'the same webhook-id on every attempt');
      assert.equal(rx.got[0]!.data.entity_id, sub.id);
      assert.equal(rx.got[0]!.data.after.name, 'Renamed once');
      assert.equal(rx.got[0]!.data.reseller_id, b.reseller.id);
      assert.equal(rx.got[0]!.data.actor_email, undefined, 'who made the change is not sent');

      // A message changed on the way, or signed with another secret, does not verify.
      const body = rows[0].body as string;
      const wh = new Webhook(secretOf(made.text) as string);
      const ts = Math.floor(Date.now() / 1000);
      const signature = wh.sign(rows[0].event_id, new Date(ts * 1000), body);
      assert.doesNotThrow(() => wh.verify(body, { 'webhook-id': rows[0].event_id, 'webhook-timestamp': String(ts), 'webhook-signature': signature }));
      assert.throws(() => wh.verify(`${body} `, { 'webhook-id': rows[0].event_id, 'webhook-timestamp': String(ts), 'webhook-signature': signature }));
      assert.throws(() => new Webhook(`whsec_${Buffer.alloc(32, 7).toString('base64')}`).verify(body, { 'webhook-id': rows[0].event_id, 'webhook-timestamp': String(ts), 'webhook-signature': signature }));

      const attempts = await t.db('webhook_attempts').whereIn('delivery_id', rows.map((r) => r.id)).orderBy('id');
      assert.deepEqual(attempts.map((a) => a.status_code), [500, 500, 200, 200]);
      assert.ok(attempts.every((a) => Number.isInteger(a.duration_ms)));
      const page = await admin.get(`/reseller/webhooks/${endpoint.id}`);
      assert.match(page.text, /500 in \d+ ms.*down for maintenance/s, 'each attempt with its answer');
      assert.equal((await t.db('webhook_deliveries').where({ endpoint_id: endpoint.id, status: 'delivered' })).length, 2);

      // Send again by hand: the same message, marked as sent by hand.
      const again = await admin.submit(`/reseller/webhooks/${endpoint.id}/deliveries/${rows[0].id}/send-again`, {}, `/reseller/webhooks/${endpoint.id}`);
      assert.equal(again.status, 303);
      assert.deepEqual(await sendDue(t.db, box, { allowPrivate: true, nowMs: Date.now() }), { tried: 1, delivered: 1 });
      assert.deepEqual(rx.answered.filter((a) => a.id === rows[0].event_id).map((a) => a.status), [500, 500, 200, 200]);
      assert.equal((await t.db('webhook_attempts').where({ delivery_id: rows[0].id }).orderBy('id', 'desc').first()).manual, true);
      // Another reseller's delivery cannot be sent again through this endpoint.
      const foreign = await Client.login(t.app, fx.a.admin.email);
      assert.equal((await foreign.submit(`/reseller/webhooks/${endpoint.id}/deliveries/${rows[0].id}/send-again`, {}, '/reseller/webhooks')).status, 404);

      // Unreachable (nothing listening): an attempt with its error; failed once past the give-up time.
      await t.db('webhook_endpoints').where({ id: endpoint.id }).update({ url: 'http://127.0.0.1:9/closed' });
      await updateSubscriber(t.db, actorOf(b.admin, b.reseller.id), { kind: 'reseller', resellerId: b.reseller.id }, sub.id, input(sub, 'Renamed twice'));
      const [, , third] = await fannedOut(t.db, endpoint.id, 3);
      assert.deepEqual(await sendDue(t.db, box, { allowPrivate: true, nowMs: Date.now() }), { tried: 1, delivered: 0 });
      const unreached = await t.db('webhook_attempts').where({ delivery_id: third.id }).first();
      assert.equal(unreached.status_code, null);
      assert.ok(unreached.error, 'why it was not reached');
      const dayOn = Date.now() + 27 * 3_600_000;
      assert.deepEqual(await sendDue(t.db, box, { allowPrivate: true, nowMs: dayOn }), { tried: 1, delivered: 0 });
      assert.equal((await t.db('webhook_deliveries').where({ id: third.id }).first()).status, 'failed', 'given up after more than a day');
    } finally {
      await rx.close();
    }
  });

  test('outbound to private addresses (SSRF): refused when saved as an address, and at the send when the name resolves to one, the attempt failed with why', async () => {
    const fresh = await makeTenants(t.db);
    const b = fresh.b;
    const actor = actorOf(b.admin, b.reseller.id);
    const strict = { allowPrivate: false };
    for (const url of ['https://10.0.0.1/h', 'https://169.254.169.254/latest', 'https://[::1]/h', 'https://[fd00::1]/h', 'https://2130706433/h', 'https://[::ffff:192.168.0.1]/h', 'https://0.0.0.0/h']) {
      await assert.rejects(createEndpoint(t.db, box, actor, b.reseller.id, { url, description: '', events: 'all' }, strict), (err: unknown) => err instanceof FieldErrors && /Not a public address/.test(err.fields.url ?? ''), url);
    }
    assert.equal(await t.db('webhook_endpoints').where({ reseller_id: b.reseller.id }).first(), undefined, 'none saved');

    // A name that resolves to this machine, saved while private addresses were allowed: refused at the send.
    const rx = receiver();
    const url = (await rx.listen()).replace('127.0.0.1', 'localhost');
    try {
      const made = await createEndpoint(t.db, box, actor, b.reseller.id, { url, description: '', events: ['subscriber.updated'] }, { allowPrivate: true });
      rx.setSecret(made.secret);
      const sub = await makeSubscriber(t.db, b.reseller.id);
      await updateSubscriber(t.db, actor, { kind: 'reseller', resellerId: b.reseller.id }, sub.id, input(sub, 'Named privately'));
      const [d] = await fannedOut(t.db, made.id, 1);
      await sendDue(t.db, box, { nowMs: Date.now() });
      const attempt = await t.db('webhook_attempts').where({ delivery_id: d.id }).first();
      assert.equal(attempt.status_code, null);
      assert.match(attempt.error, /refused: localhost resolves to .* loopback address/);
      assert.equal((await t.db('webhook_deliveries').where({ id: d.id }).first()).status, 'pending', 'tried again with back-off, as any failure');
      assert.deepEqual(rx.answered, [], 'nothing reached the receiver');
      // Allowed (a local receiver): the same delivery is taken.
      await sendDue(t.db, box, { allowPrivate: true, nowMs: Date.now() + 61_000 });
      assert.equal((await t.db('webhook_deliveries').where({ id: d.id }).first()).status, 'delivered');
    } finally {
      await rx.close();
    }
  });

  test('a new secret signs beside the previous one for a day (a receiver with either accepts), then alone; the overlap can be ended early, confirmed', async () => {
    // Keeps every message as sent, to verify it with each secret in turn.
    const got: Array<{ body: string; headers: Record<'webhook-id' | 'webhook-timestamp' | 'webhook-signature', string> }> = [];
    const server = http.createServer((req, res) => {
      const parts: Buffer[] = [];
      req.on('data', (c: Buffer) => parts.push(c));
      req.on('end', () => {
        got.push({ body: Buffer.concat(parts).toString('utf8'), headers: { 'webhook-id': String(req.headers['webhook-id']), 'webhook-timestamp': String(req.headers['webhook-timestamp']), 'webhook-signature': String(req.headers['webhook-signature']) } as Record<'webhook-id' | 'webhook-timestamp' | 'webhook-signature', string> });
        res.writeHead(200).end('ok');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/rotation`;
    const verifies = (secret: string, m: (typeof got)[number]) => {
      try {
        new Webhook(secret).verify(m.body, m.headers);
        return true;
      } catch {
        return false;
      }
    };
    try {
      const fresh = await makeTenants(t.db);
      const b = fresh.b;
      const admin = await Client.login(t.app, b.admin.email);
      const first = secretOf((await register(admin, '/reseller/webhooks', { url, events: ['subscriber.updated'] })).text) as string;
      const endpoint = await t.db('webhook_endpoints').where({ reseller_id: b.reseller.id, url }).first();
      const page = `/reseller/webhooks/${endpoint.id}`;
      const actor = actorOf(b.admin, b.reseller.id);
      const scope = { kind: 'reseller', resellerId: b.reseller.id } as const;
      const sub = await makeSubscriber(t.db, b.reseller.id);
      const change = async (name: string, n: number, nowMs: number) => {
        await updateSubscriber(t.db, actor, scope, sub.id, input(sub, name));
        await fannedOut(t.db, endpoint.id, n);
        // Sent at that time (the delivery is due from its making, after `nowMs` was taken).
        await sendDue(t.db, box, { allowPrivate: true, nowMs: Math.max(nowMs, Date.now() + 1000) });
        const m = got.find((g) => JSON.parse(g.body).data.after?.name === name);
        assert.ok(m, `${name} received`);
        return m;
      };
      const before = await change('Before rotation', 1, Date.now());
      assert.equal(before.headers['webhook-signature'].split(' ').length, 1);

      // The confirmation says how long both sign.
      const asked = await admin.submit(`${page}/rotate`, {}, page);
      assert.match(asked.text, /For 24 hours every message .* signed with both/);
      const rotatedAt = Date.now();
      const rotated = await admin.submit(`${page}/rotate`, { confirm: 'yes' }, page);
      const second = secretOf(rotated.text) as string;
      assert.ok(second && second !== first);
      const shown = await admin.get(page);
      assert.match(shown.text, /data-testid="overlap">still signs until/);
      assert.match(shown.text, /data-testid="end-overlap"/);
      const row = await t.db('webhook_endpoints').where({ id: endpoint.id }).first();
      assert.equal(box.open(row.previous_secret), first);
      const until = new Date(row.previous_secret_until).getTime();
      assert.ok(until > rotatedAt + 23 * 3_600_000 && until < Date.now() + 25 * 3_600_000, 'a day from the rotation');

      // During the overlap: two signatures; a receiver with the old secret and one with the new both accept.
      const during = await change('During overlap', 2, Date.now() + 3_600_000);
      assert.equal(during.headers['webhook-signature'].split(' ').length, 2);
      assert.ok(during.headers['webhook-signature'].split(' ').every((x) => x.startsWith('v1,')));
      assert.deepEqual([verifies(first, during), verifies(second, during)], [true, true]);
      // After it: the new secret only.
      const afterIt = await change('After overlap', 3, until + 60_000);
      assert.deepEqual([verifies(first, afterIt), verifies(second, afterIt)], [false, true]);

      // Ended early: rotate again, then stop the previous secret, confirmed; support cannot.
      const third = secretOf((await admin.submit(`${page}/rotate`, { confirm: 'yes' }, page)).text) as string;
      const support = await Client.login(t.app, b.support.email);
      assert.equal((await support.submit(`${page}/end-overlap`, { confirm: 'yes' }, page)).status, 403);
      const confirm = await admin.submit(`${page}/end-overlap`, {}, page);
      assert.equal(confirm.status, 200);
      assert.match(confirm.text, /Stop signing with the previous secret/);
      assert.ok((await t.db('webhook_endpoints').where({ id: endpoint.id }).first()).previous_secret, 'not ended without confirmation');
      assert.equal((await admin.submit(`${page}/end-overlap`, { confirm: 'yes' }, page)).status, 303);
      const ended = await t.db('webhook_endpoints').where({ id: endpoint.id }).first();
      assert.deepEqual([ended.previous_secret, ended.previous_secret_until], [null, null]);
      assert.doesNotMatch((await admin.get(page)).text, /data-testid="overlap"/);
      const audit = await t.db('audit_log').where({ entity_type: 'webhook_endpoint', entity_id: endpoint.id }).orderBy('id').select('action');
      assert.deepEqual(audit.map((a) => a.action), ['create', 'rotate_secret', 'rotate_secret', 'end_secret_overlap']);
      const last = await change('After ending', 4, Date.now());
      assert.deepEqual([verifies(second, last), verifies(third, last)], [false, true]);
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  test('nothing is sent for a rolled-back change; order per object holds while an earlier message is retried', async () => {
    const rx = receiver();
    const url = await rx.listen();
    try {
      const fresh = await makeTenants(t.db);
      const b = fresh.b;
      const admin = await Client.login(t.app, b.admin.email);
      const made = await register(admin, '/reseller/webhooks', { url, all: true });
      rx.setSecret(secretOf(made.text) as string);
      const endpoint = await t.db('webhook_endpoints').where({ reseller_id: b.reseller.id, url }).first();
      const actor = actorOf(b.admin, b.reseller.id);
      const scope = { kind: 'reseller', resellerId: b.reseller.id } as const;
      const x = await makeSubscriber(t.db, b.reseller.id);
      const y = await makeSubscriber(t.db, b.reseller.id);

      // A transaction that calls the service and then fails: the change and its event are gone.
      await assert.rejects(
        t.db.transaction(async (tx) => {
          await updateSubscriber(tx as unknown as Db, actor, scope, x.id, input(x, 'Never happened'));
          throw new Error('rolled back');
        }),
        /rolled back/,
      );
      // X twice, then Y: X's first message fails the first time it is posted.
      await updateSubscriber(t.db, actor, scope, x.id, input(x, 'X first'));
      await updateSubscriber(t.db, actor, scope, x.id, input(x, 'X second'));
      await updateSubscriber(t.db, actor, scope, y.id, input(y, 'Y only'));
      const rows = await fannedOut(t.db, endpoint.id, 3);
      assert.equal(rows.length, 3, 'one delivery per committed change, none for the rolled-back one');
      assert.equal(await t.db('outbox_events').whereRaw(`payload->'after'->>'name' = ?`, ['Never happened']).first(), undefined);
      assert.equal(await t.db('audit_log').whereRaw(`after->>'name' = ?`, ['Never happened']).first(), undefined);

      rx.failWhen((m, seen) => m.data.after?.name === 'X first' && seen === 0);
      const now = Date.now();
      await sendDue(t.db, box, { allowPrivate: true, nowMs: now });
      // X's first failed; X's second has not been posted: it waits for the first, whatever its own due time.
      const xSecond = rows.find((r) => JSON.parse(r.body).data.after.name === 'X second');
      assert.equal((await t.db('webhook_attempts').where({ delivery_id: xSecond.id })).length, 0);
      // A minute on: X's second is due since the start, X's first only now; the first goes first.
      await sendDue(t.db, box, { allowPrivate: true, nowMs: now + 61_000 });
      const xs = rx.got.filter((g) => g.data.entity_id === x.id).map((g) => g.data.after.name);
      assert.deepEqual(xs, ['X first', 'X second'], 'in the order they happened');
      assert.deepEqual(rx.got.filter((g) => g.data.entity_id === y.id).map((g) => g.data.after.name), ['Y only']);
      assert.ok(!rx.got.some((g) => g.data.after?.name === 'Never happened'));
      assert.equal((await t.db('webhook_deliveries').where({ endpoint_id: endpoint.id, status: 'delivered' })).length, 3);
    } finally {
      await rx.close();
    }
  });

  test('a reseller\'s endpoint gets only its own reseller\'s events; the operator\'s gets every reseller\'s and its own', async () => {
    const fresh = await makeTenants(t.db);
    const a = await Client.login(t.app, fresh.a.admin.email);
    const operator = await Client.login(t.app, fresh.wholesaleAdmin.email);
    assert.equal((await register(a, '/reseller/webhooks', { url: 'https://a.example/hooks', all: true })).status, 201);
    assert.equal((await register(operator, '/wholesale/webhooks', { url: 'https://op.example/hooks', all: true })).status, 201);
    const aEndpoint = await t.db('webhook_endpoints').where({ reseller_id: fresh.a.reseller.id }).first();
    const opEndpoint = await t.db('webhook_endpoints').whereNull('reseller_id').where({ url: 'https://op.example/hooks' }).first();
    // The operator's list holds its own endpoints, not a reseller's; a reseller's endpoint is not found there.
    const support = await Client.login(t.app, fresh.wholesaleSupport.email);
    const list = await support.get('/wholesale/webhooks');
    assert.match(list.text, /op\.example/);
    assert.doesNotMatch(list.text, /a\.example/);
    assert.equal((await support.get(`/wholesale/webhooks/${aEndpoint.id}`)).status, 404);
    assert.equal((await support.get('/wholesale/webhooks/new')).status, 403);

    const bActor = actorOf(fresh.b.admin, fresh.b.reseller.id);
    await updateSubscriber(t.db, bActor, { kind: 'reseller', resellerId: fresh.b.reseller.id }, fresh.b.subscriber.id, input(fresh.b.subscriber, 'B renamed'));
    const aActor = actorOf(fresh.a.admin, fresh.a.reseller.id);
    await updateSubscriber(t.db, aActor, { kind: 'reseller', resellerId: fresh.a.reseller.id }, fresh.a.subscriber.id, input(fresh.a.subscriber, 'A renamed'));
    // A reseller change (the operator's) and an operator-level event (a reconciliation finished).
    const wholesaleAdmin = await t.db('users').where({ id: fresh.wholesaleAdmin.id }).first();
    assert.equal((await operator.submit(`/wholesale/resellers/${fresh.b.reseller.id}/deactivate`, { confirm: 'yes' }, `/wholesale/resellers/${fresh.b.reseller.id}`)).status, 303);
    const [carrier] = await t.db('carriers').insert({ name: `LD hooks ${Date.now()}`, cost_plan_id: fresh.operatorPlan.id, credential_hash: 'x'.repeat(64), credential_rotated_at: new Date() }).returning('id');
    await runReconciliation(t.db, Number(carrier.id), Date.parse('2026-01-01T00:00:00Z'), Date.parse('2026-02-01T00:00:00Z'), { trigger: 'manual', userId: wholesaleAdmin.id });

    const opRows = await until('the operator\'s deliveries', async () => {
      await fanOut(t.db);
      const rows = await t.db('webhook_deliveries').where({ endpoint_id: opEndpoint.id }).orderBy('id');
      return rows.some((r) => r.event_type === 'reconciliation.finished') ? rows : undefined;
    }, READABLE_WITHIN_MS);
    const aRows = await t.db('webhook_deliveries').where({ endpoint_id: aEndpoint.id }).orderBy('id');
    assert.deepEqual(aRows.map((r) => [r.event_type, JSON.parse(r.body).data.reseller_id]), [['subscriber.updated', fresh.a.reseller.id]], 'only its own reseller\'s');
    const opTypes = opRows.map((r) => `${r.event_type} ${JSON.parse(r.body).data.reseller_id}`);
    assert.ok(opTypes.includes(`subscriber.updated ${fresh.a.reseller.id}`) && opTypes.includes(`subscriber.updated ${fresh.b.reseller.id}`), opTypes.join(', '));
    assert.ok(opTypes.includes(`reseller.deactivated ${fresh.b.reseller.id}`), opTypes.join(', '));
    assert.ok(opTypes.includes('reconciliation.finished null'), opTypes.join(', '));
    assert.ok(aRows.every((r) => r.reseller_id === fresh.a.reseller.id) && opRows.every((r) => r.reseller_id === null));
    // Every type the outbox has made is in the catalogue (README "Webhooks").
    const catalogue = new Set(WEBHOOK_EVENTS.map((e) => e.type));
    const made = (await t.db('outbox_events').distinct('type').pluck('type')) as string[];
    assert.deepEqual(made.filter((x) => !catalogue.has(x)), []);
    // The endpoint made after them gets none of the events before it.
    const late = await makeUser(t.db, 'reseller_admin', { resellerId: fresh.a.reseller.id });
    const lateClient = await Client.login(t.app, late.email);
    assert.equal((await register(lateClient, '/reseller/webhooks', { url: 'https://late.example/hooks', all: true })).status, 201);
    await caughtUp(t.db);
    const lateEndpoint = await t.db('webhook_endpoints').where({ url: 'https://late.example/hooks' }).first();
    assert.equal((await t.db('webhook_deliveries').where({ endpoint_id: lateEndpoint.id })).length, 0);
  });
});
