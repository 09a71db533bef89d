/**
 * A real Kamailio (Debian's kamailio and kamailio-postgres-modules) with contrib/kamailio/
 * kamailio.cfg, reading the test database through the `kamailio` views as the kamailio_ro role,
 * and a real SIP client (sipsak): a subscriber made in the portal registers straight after its
 * SIP password is set; a wrong password is refused; its number reaches it through alias_db; a
 * deactivated subscriber, or one of a deactivated reseller, is refused at its next REGISTER and
 * INVITE. Skipped, with the reason, without kamailio or sipsak, and on the embedded database
 * (Kamailio connects to a Postgres server over TCP). CI installs both (.ci/run).
 */
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import dgram from 'node:dgram';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { createTestApp, type TestApp } from '../support/app';
import { makeNumberRange, makeReseller, makeUser } from '../support/factories';
import { Client } from '../support/http';

const CFG = path.resolve(__dirname, '../../contrib/kamailio/kamailio.cfg');
const DOMAIN = 'localhost'; // sipsak resolves the domain of the URI it registers
const NUMBER = '+12125550187';

function onPath(bin: string): string | undefined {
  for (const dir of [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/usr/local/sbin']) {
    const p = path.join(dir, bin);
    if (dir && fs.existsSync(p)) return p;
  }
  return undefined;
}

const KAMAILIO = onPath('kamailio');
const SIPSAK = onPath('sipsak');
/** Kamailio's Postgres driver (kamailio-postgres-modules), in Debian's module directory of any architecture. */
const DB_POSTGRES = fs.existsSync('/usr/lib')
  ? fs.readdirSync('/usr/lib').some((d) => fs.existsSync(path.join('/usr/lib', d, 'kamailio/modules/db_postgres.so')))
  : false;
const skip = !process.env.TEST_DATABASE_URL
  ? 'Kamailio connects to Postgres over TCP as its own role: run with TEST_DATABASE_URL (a real server), not the embedded database'
  : !KAMAILIO
    ? 'kamailio is not installed (apt-get install kamailio kamailio-postgres-modules)'
    : !DB_POSTGRES
      ? "Kamailio's Postgres driver is not installed (apt-get install kamailio-postgres-modules)"
      : !SIPSAK
        ? 'sipsak is not installed (apt-get install sipsak)'
        : false;

/** A UDP port that was free a moment ago. */
async function freeUdpPort(): Promise<number> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
  const { port } = s.address();
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

interface SipResult {
  code: number | null;
  /** Every final or provisional status line seen, in order. */
  statuses: number[];
  output: string;
}

function sipsak(args: string[]): Promise<SipResult> {
  return new Promise((resolve) => {
    execFile(SIPSAK as string, args, { timeout: 15_000 }, (err, stdout, stderr) => {
      const output = `${stdout}${stderr}`;
      const statuses = [...output.matchAll(/^\s*SIP\/2\.0 (\d{3}) /gm)].map((m) => Number(m[1]));
      resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, statuses, output });
    });
  });
}

describe('kamailio', { skip }, () => {
  let t: TestApp;
  let kamailio: ChildProcess | undefined;
  let log = '';
  let port: number;
  let dir: string;
  let roleBefore: { rolcanlogin: boolean; rolpassword: string | null } | undefined;
  let admin: Client;
  let ops: Client;
  let reseller: { id: number };
  let subscriberId: number;
  let phone: dgram.Socket;
  const received: string[] = [];
  const password = `sip-${crypto.randomBytes(9).toString('base64url')}`;

  const register = (pw = password) => sipsak(['-U', '-C', `sip:1001@127.0.0.1:${phone.address().port}`, '-s', `sip:1001@${DOMAIN}`, '-p', '127.0.0.1', '-r', String(port), '-u', '1001', '-a', pw, '-x', '60', '-i', '-vv']);
  /** An INVITE from 1001 to `to`, answered 407 first, then again with the credentials. */
  const invite = (to: string, pw = password) => {
    const file = path.join(dir, `invite-${crypto.randomBytes(4).toString('hex')}.txt`);
    fs.writeFileSync(
      file,
      [
        `INVITE sip:${to}@${DOMAIN} SIP/2.0`,
        `From: <sip:1001@${DOMAIN}>;tag=${crypto.randomBytes(4).toString('hex')}`,
        `To: <sip:${to}@${DOMAIN}>`,
        `Call-ID: ${crypto.randomUUID()}@127.0.0.1`,
        'CSeq: 1 INVITE',
        'Contact: <sip:1001@127.0.0.1:9>',
        'Max-Forwards: 70',
        'Content-Length: 0',
        '',
        '',
      ].join('\n'),
    );
    return sipsak(['-f', file, '-s', `sip:${to}@${DOMAIN}`, '-p', '127.0.0.1', '-r', String(port), '-u', '1001', '-a', pw, '-vvv']);
  };
  const finalOf = (r: SipResult) => r.statuses.filter((s) => s >= 200).at(-1);
  const why = (r: SipResult) => `${r.output}\n--- kamailio log ---\n${log.slice(-3000)}`;

  before(async () => {
    t = await createTestApp();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kamailio-test-'));
    // The role is the server's: give it a password for this test, and put back what it had after.
    roleBefore = (await t.db.raw(`SELECT rolcanlogin, rolpassword FROM pg_authid WHERE rolname = 'kamailio_ro'`)).rows[0];
    const rolePassword = crypto.randomBytes(18).toString('hex');
    await t.db.raw(`ALTER ROLE kamailio_ro LOGIN PASSWORD '${rolePassword}'`);
    const url = new URL(t.url);
    const dbUrl = `postgres://kamailio_ro:${rolePassword}@${url.hostname}:${url.port || '5432'}${url.pathname}`;

    port = await freeUdpPort();
    kamailio = spawn(KAMAILIO as string, ['-f', CFG, '-DD', '-E', '-l', `udp:127.0.0.1:${port}`, '-P', path.join(dir, 'kamailio.pid'), '-Y', dir, '-m', '32', '-M', '8', '-n', '1'], {
      env: { ...process.env, KAMAILIO_DB_URL: dbUrl },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    kamailio.stdout?.on('data', (d: Buffer) => (log += d.toString()));
    kamailio.stderr?.on('data', (d: Buffer) => (log += d.toString()));
    // Ready once it answers anything on its port (an OPTIONS without credentials gets 407).
    const deadline = Date.now() + 20_000;
    for (;;) {
      if (kamailio.exitCode !== null) throw new Error(`kamailio exited (${kamailio.exitCode}):\n${log}`);
      const r = await sipsak(['-s', `sip:ping@${DOMAIN}`, '-p', '127.0.0.1', '-r', String(port), '-i', '-vv']);
      if (r.statuses.length) break;
      if (Date.now() > deadline) throw new Error(`kamailio did not answer on udp ${port}:\n${log}`);
      await new Promise((r2) => setTimeout(r2, 200));
    }

    // A phone of our own: the UDP socket every registration names as 1001's contact (so one
    // binding, whatever the order of the tests), busy for every INVITE.
    phone = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => phone.bind(0, '127.0.0.1', resolve));
    phone.on('message', (msg, rinfo) => {
      const text = msg.toString();
      received.push(text);
      if (text.startsWith('SIP/2.0 ') || text.startsWith('ACK ')) return;
      // Requests sipsak sends itself after registering (MESSAGE, OPTIONS): 200; an INVITE: busy.
      const headers = text.split('\r\n').filter((h) => /^(Via|From|To|Call-ID|CSeq):/i.test(h));
      const reply = [text.startsWith('INVITE ') ? 'SIP/2.0 486 Busy Here' : 'SIP/2.0 200 OK', ...headers.map((h) => (/^To:/i.test(h) && !/;tag=/.test(h) ? `${h};tag=phone1` : h)), 'Content-Length: 0', '', ''].join('\r\n');
      phone.send(reply, rinfo.port, rinfo.address);
    });

    reseller = await makeReseller(t.db, { sip_domain: DOMAIN });
    await makeNumberRange(t.db, reseller.id, NUMBER);
    admin = await Client.login(t.app, (await makeUser(t.db, 'reseller_admin', { resellerId: reseller.id })).email);
    ops = await Client.login(t.app, (await makeUser(t.db, 'wholesale_admin')).email);
  });

  after(async () => {
    phone?.close();
    if (kamailio && kamailio.exitCode === null) {
      const exited = new Promise((resolve) => kamailio?.once('exit', resolve));
      kamailio.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (kamailio.exitCode === null) kamailio.kill('SIGKILL');
    }
    if (t && roleBefore) {
      if (roleBefore.rolpassword) await t.db.raw(`ALTER ROLE kamailio_ro ${roleBefore.rolcanlogin ? 'LOGIN' : 'NOLOGIN'} PASSWORD '${roleBefore.rolpassword.replace(/'/g, "''")}'`);
      else await t.db.raw(`ALTER ROLE kamailio_ro ${roleBefore.rolcanlogin ? 'LOGIN' : 'NOLOGIN'} PASSWORD NULL`);
    }
    await t?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test('a subscriber made in the portal registers as soon as its SIP password is set', async () => {
    const made = await admin.submit('/reseller/subscribers', { account_number: 'SIP-1', name: 'Sip One', country: 'US', numbers: `${NUMBER}, 1001` }, '/reseller/subscribers/new');
    assert.equal(made.status, 303, made.text);
    subscriberId = Number(/\/reseller\/subscribers\/(\d+)$/.exec(String(made.headers.location))?.[1]);
    const identity = await t.db('subscriber_identities').where({ subscriber_id: subscriberId, identity: '1001', domain: DOMAIN }).first();
    assert.ok(identity);

    // No credential yet: refused.
    const before = await register();
    assert.notEqual(before.code, 0, why(before));
    assert.equal(finalOf(before), 403, why(before));

    const set = await admin.submit(`/reseller/subscribers/${subscriberId}/identities/${identity.id}/sip-password`, { sip_password: password }, `/reseller/subscribers/${subscriberId}`);
    assert.equal(set.status, 303, set.text);
    // At once: no reload or cache on the switch's side.
    const ok = await register();
    assert.equal(ok.code, 0, why(ok));
    assert.match(ok.output, /completed successful/);
  });

  test('a wrong password is refused', async () => {
    const r = await register('not-the-password-at-all');
    assert.notEqual(r.code, 0, why(r));
    assert.equal(finalOf(r), 403, why(r));
  });

  test('an INVITE is authenticated, and its number reaches the subscriber where it registered, through alias_db', async () => {
    {
      const contact = `sip:1001@127.0.0.1:${phone.address().port}`;
      const reg = await register();
      assert.equal(reg.code, 0, why(reg));

      // The number as phones dial it (without the plus): challenged, then relayed to the contact.
      const held = await invite(NUMBER.slice(1));
      assert.ok(held.statuses.includes(407), why(held));
      assert.equal(finalOf(held), 486, why(held));
      assert.ok(received.some((m) => m.startsWith(`INVITE ${contact} SIP/2.0`)), received.join('\n---\n'));

      const unknown = await invite('19995550100');
      assert.equal(finalOf(unknown), 404, why(unknown));
      const wrong = await invite(NUMBER.slice(1), 'not-the-password-at-all');
      assert.equal(finalOf(wrong), 403, why(wrong));
    }
  });

  test('a deactivated subscriber is refused at its next REGISTER and INVITE, and accepted again once reactivated', async () => {
    const off = await admin.submit(`/reseller/subscribers/${subscriberId}/deactivate`, { confirm: 'yes' });
    assert.equal(off.status, 303, off.text);
    const r = await register();
    assert.equal(finalOf(r), 403, why(r));
    const i = await invite(NUMBER.slice(1));
    assert.equal(finalOf(i), 403, why(i));

    assert.equal((await admin.submit(`/reseller/subscribers/${subscriberId}/activate`, {})).status, 303);
    const back = await register();
    assert.equal(back.code, 0, why(back));
  });

  test('the subscribers of a deactivated reseller are refused, and accepted again once it is reactivated', async () => {
    await ops.refreshCsrf(`/wholesale/resellers/${reseller.id}`);
    const off = await ops.submit(`/wholesale/resellers/${reseller.id}/deactivate`, { confirm: 'yes' });
    assert.equal(off.status, 303, off.text);
    assert.equal((await t.db('resellers').where({ id: reseller.id }).first()).status, 'inactive');
    const r = await register();
    assert.equal(finalOf(r), 403, why(r));
    const i = await invite(NUMBER.slice(1));
    assert.equal(finalOf(i), 403, why(i));

    assert.equal((await ops.submit(`/wholesale/resellers/${reseller.id}/activate`, {})).status, 303);
    const back = await register();
    assert.equal(back.code, 0, why(back));
  });

  test('the role Kamailio logs in with reads its views and nothing else', async () => {
    const url = new URL(t.url);
    // A new password for this check only (the running Kamailio keeps its open connections).
    const rolePassword = crypto.randomBytes(18).toString('hex');
    await t.db.raw(`ALTER ROLE kamailio_ro PASSWORD '${rolePassword}'`);
    const c = new pg.Client({ host: url.hostname, port: Number(url.port || 5432), database: url.pathname.slice(1), user: 'kamailio_ro', password: rolePassword });
    await c.connect();
    try {
      assert.equal((await c.query(`SELECT count(*)::int AS n FROM subscriber WHERE username = '1001' AND domain = $1`, [DOMAIN])).rows[0].n, 1);
      assert.equal((await c.query(`SELECT count(*)::int AS n FROM dbaliases WHERE alias_username = $1`, [NUMBER])).rows[0].n, 1);
      await assert.rejects(c.query('SELECT * FROM public.subscribers'), /permission denied/);
      await assert.rejects(c.query('SELECT * FROM public.sip_credentials'), /permission denied/);
      await assert.rejects(c.query(`DELETE FROM subscriber`), /permission denied|cannot delete/);
    } finally {
      await c.end();
    }
  });
});
