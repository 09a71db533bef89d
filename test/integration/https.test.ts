import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createTestDatabase } from '../support/db';
import { freePort } from '../support/net';

/**
 * The real server (src/server.ts) as an operator starts it: a child process configured by its
 * environment. With TEST_DATABASE_URL each server gets a fresh database there; otherwise it starts
 * the embedded Postgres in a temporary DATA_DIR, exactly as a first install does.
 */

const ROOT = path.resolve(__dirname, '../..');
const STARTUP_MS = 90_000;
const children = new Set<ChildProcess>();
const cleanups: Array<() => Promise<void>> = [];
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'voip-https-test-'));

after(async () => {
  // Every child, even when a test failed half-way; then the databases they used.
  await Promise.all([...children].map((c) => stopChild(c)));
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** Environment for one server's database: a DATA_DIR for the embedded default, or a fresh database. */
async function serverDatabase(name: string): Promise<Record<string, string>> {
  const dataDir = fs.mkdtempSync(path.join(tmp, `${name}-`));
  if (!process.env.TEST_DATABASE_URL) return { DATA_DIR: dataDir };
  const database = await createTestDatabase({ migrate: false });
  cleanups.push(() => database.close());
  return { DATA_DIR: dataDir, DATABASE_URL: database.url };
}

/** Only what the server is given: no DATABASE_URL or other settings leak in from the test runner. */
function baseEnv(): Record<string, string> {
  return { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? tmp, NODE_ENV: 'production', LOG_LEVEL: 'silent' };
}

interface Running {
  child: ChildProcess;
  port: number;
  stdout(): string;
  stderr(): string;
  exited: Promise<number | null>;
}

function spawnServer(env: Record<string, string>): Running {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], { cwd: ROOT, env: { ...baseEnv(), ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      children.delete(child);
      resolve(code);
    }),
  );
  return { child, port: Number(env.PORT), stdout: () => out, stderr: () => err, exited };
}

/** Starts a server and waits until it says it is serving. */
async function startServer(env: Record<string, string>): Promise<Running> {
  const s = spawnServer(env);
  const deadline = Date.now() + STARTUP_MS;
  while (!s.stdout().includes('VoIP Billing is serving')) {
    if (s.child.exitCode !== null) throw new Error(`server exited with ${s.child.exitCode}: ${s.stderr()}`);
    if (Date.now() > deadline) throw new Error(`server did not start in time: ${s.stderr()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return s;
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const done = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await done;
  clearTimeout(timer);
}

/** Runs a server expected to refuse to start; returns its exit code and output. */
async function runToFailure(env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const s = spawnServer(env);
  const timer = setTimeout(() => s.child.kill('SIGKILL'), STARTUP_MS);
  const code = await s.exited;
  clearTimeout(timer);
  return { code, stdout: s.stdout(), stderr: s.stderr() };
}

function assertOneReadableLine(result: { code: number | null; stdout: string; stderr: string }, pattern: RegExp) {
  assert.notEqual(result.code, 0, 'non-zero exit');
  assert.notEqual(result.code, null, 'exited by itself');
  const lines = result.stderr.split('\n').filter((l) => l.trim() !== '');
  assert.equal(lines.length, 1, `one line on stderr, got:\n${result.stderr}`);
  assert.match(lines[0] as string, pattern);
  assert.doesNotMatch(result.stderr + result.stdout, /^\s+at .+[:(]/m, 'no stack trace');
  assert.doesNotMatch(lines[0] as string, /Error:|\{|\[object/, 'a sentence, not a dump');
}

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  socket: net.Socket;
}

/** One request over HTTP or HTTPS (self-signed certificates accepted), with an optional form body. */
function call(url: string, opts: { method?: string; headers?: Record<string, string>; form?: Record<string, string> } = {}): Promise<Reply> {
  const body = opts.form ? new URLSearchParams(opts.form).toString() : undefined;
  const headers: Record<string, string | number> = { ...opts.headers };
  if (body !== undefined) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    headers['content-length'] = Buffer.byteLength(body);
  }
  const lib = url.startsWith('https:') ? https : http;
  return new Promise((resolve, reject) => {
    const req = lib.request(url, { method: opts.method ?? (body ? 'POST' : 'GET'), headers, rejectUnauthorized: false, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text, socket: res.socket }));
    });
    req.on('error', reject);
    req.setTimeout(15_000, () => req.destroy(new Error('request timed out')));
    req.end(body);
  });
}

function setCookies(r: Reply): string[] {
  return r.headers['set-cookie'] ?? [];
}

function sessionCookieOf(r: Reply): string | undefined {
  return setCookies(r).find((c) => c.startsWith('vb.sid='));
}

/** Logs in through the real form; returns the login response and the cookie that the browser keeps. */
async function login(base: string, email: string, password: string, headers: Record<string, string> = {}) {
  const page = await call(`${base}/login`, { headers });
  assert.equal(page.status, 200);
  const first = sessionCookieOf(page);
  assert.ok(first, 'the login page starts a session');
  const csrf = /name="csrf-token" content="([^"]+)"/.exec(page.body)?.[1];
  assert.ok(csrf, 'the login page has a CSRF token');
  const res = await call(`${base}/login`, { headers: { ...headers, cookie: first.split(';')[0] as string }, form: { email, password, _csrf: csrf } });
  const cookie = sessionCookieOf(res);
  return { res, setCookie: cookie, cookie: cookie?.split(';')[0] };
}

describe('HTTPS served by the app itself (TLS_CERT_FILE, TLS_KEY_FILE)', () => {
  let server: Running;
  let base: string;
  const ADMIN_EMAIL = 'ops@example.com';
  const ADMIN_PASSWORD = 'an-admin-password-from-env';

  before(async () => {
    const certFile = path.join(tmp, 'cert.pem');
    const keyFile = path.join(tmp, 'key.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-days', '1', '-keyout', keyFile, '-out', certFile], { stdio: 'ignore' });
    const port = await freePort();
    server = await startServer({ ...(await serverDatabase('tls')), PORT: String(port), TLS_CERT_FILE: certFile, TLS_KEY_FILE: keyFile, ADMIN_EMAIL, ADMIN_PASSWORD });
    base = `https://localhost:${port}`;
  });

  test('serves HTTPS with the configured certificate, and announces an https URL', async () => {
    const res = await call(`${base}/healthz`);
    assert.equal(res.status, 200);
    assert.equal(JSON.parse(res.body).status, 'ok');
    const cert = (res.socket as import('node:tls').TLSSocket).getPeerCertificate();
    assert.equal(cert.subject.CN, 'localhost');
    assert.match(server.stdout(), new RegExp(`serving https://localhost:${server.port}`));
  });

  test('does not also answer plain HTTP on the TLS port', async () => {
    await assert.rejects(call(`http://localhost:${server.port}/healthz`));
  });

  test('sends Strict-Transport-Security and a CSP that upgrades insecure requests', async () => {
    const res = await call(`${base}/login`);
    assert.match(String(res.headers['strict-transport-security']), /max-age=31536000/);
    assert.match(String(res.headers['strict-transport-security']), /includeSubDomains/);
    assert.match(String(res.headers['content-security-policy']), /upgrade-insecure-requests/);
  });

  test('the first admin from ADMIN_EMAIL/ADMIN_PASSWORD logs in, and the session cookie is Secure and HttpOnly', async () => {
    const out = server.stdout();
    assert.match(out, /First wholesale admin created: ops@example\.com with the password in ADMIN_PASSWORD/);
    assert.ok(!out.includes(ADMIN_PASSWORD), 'the password is not echoed');
    const { res, setCookie, cookie } = await login(base, ADMIN_EMAIL, ADMIN_PASSWORD);
    assert.equal(res.status, 303);
    assert.equal(res.headers.location, '/wholesale');
    assert.ok(setCookie, 'a session cookie after login');
    assert.match(setCookie, /;\s*Secure/i);
    assert.match(setCookie, /;\s*HttpOnly/i);
    const home = await call(`${base}/wholesale`, { headers: { cookie: cookie as string } });
    assert.equal(home.status, 200);
  });
});

describe('behind a TLS proxy (TRUST_PROXY=loopback), first start without ADMIN_EMAIL/ADMIN_PASSWORD', () => {
  let server: Running;
  let base: string;
  let dbEnv: Record<string, string>;
  let port: number;
  let generated: string;
  const proxied = { 'x-forwarded-proto': 'https', 'x-forwarded-for': '203.0.113.7' };

  before(async () => {
    port = await freePort();
    dbEnv = await serverDatabase('proxy');
    server = await startServer({ ...dbEnv, PORT: String(port), TRUST_PROXY: 'loopback' });
    base = `http://127.0.0.1:${port}`;
  });

  test('a generated password for admin@localhost is printed once on stdout, and it works', async () => {
    const m = /First wholesale admin created: admin@localhost with password (\S+)/.exec(server.stdout());
    assert.ok(m?.[1], `the generated password is printed:\n${server.stdout()}`);
    generated = m[1];
    assert.ok(generated.length >= 12);
    assert.equal(server.stdout().split('First wholesale admin created').length - 1, 1, 'printed once');
    assert.ok(!server.stderr().includes(generated), 'not on stderr (logs)');
    const { res } = await login(base, 'admin@localhost', generated, proxied);
    assert.equal(res.status, 303);
    assert.equal(res.headers.location, '/wholesale');
  });

  test('X-Forwarded-Proto: https from the trusted proxy gives a Secure session cookie and HSTS', async () => {
    const res = await call(`${base}/login`, { headers: proxied });
    const cookie = sessionCookieOf(res);
    assert.ok(cookie);
    assert.match(cookie, /;\s*Secure/i);
    assert.match(String(res.headers['strict-transport-security']), /max-age=/);
  });

  test('a plain-HTTP request that did not come through TLS is never handed a session cookie', async () => {
    const res = await call(`${base}/login`);
    assert.equal(res.status, 200);
    assert.equal(sessionCookieOf(res), undefined);
  });

  test('a restart on the same database creates and prints no second admin; the password and the session still work', async () => {
    assert.ok(generated, 'needs the password from the first start');
    const { cookie } = await login(base, 'admin@localhost', generated, proxied);
    assert.ok(cookie);
    await stopChild(server.child);
    server = await startServer({ ...dbEnv, PORT: String(port), TRUST_PROXY: 'loopback' });
    assert.doesNotMatch(server.stdout(), /First wholesale admin created/);
    const home = await call(`${base}/wholesale`, { headers: { ...proxied, cookie } });
    assert.equal(home.status, 200, 'the instance secret persisted, so the session survived the restart');
    const again = await login(base, 'admin@localhost', generated, proxied);
    assert.equal(again.res.status, 303);
  });
});

describe('configuration errors at start-up: one readable line on stderr, no stack trace, non-zero exit', () => {
  test('DATABASE_URL that is not a URL', async () => {
    const r = await runToFailure({ DATABASE_URL: 'nonsense', DATA_DIR: path.join(tmp, 'unused-1'), PORT: String(await freePort()) });
    assertOneReadableLine(r, /DATABASE_URL: must be a URL like postgres:\/\//);
  });

  test('a database that cannot be reached', async () => {
    const r = await runToFailure({ DATABASE_URL: 'postgres://postgres@127.0.0.1:1/x', DATA_DIR: path.join(tmp, 'unused-2'), PORT: String(await freePort()) });
    assertOneReadableLine(r, /Cannot reach the database at 127\.0\.0\.1:1\/x: ECONNREFUSED/);
  });

  test('PORT that is not a port number', async () => {
    for (const bad of ['http', '70000', '-1']) {
      const r = await runToFailure({ PORT: bad, DATA_DIR: path.join(tmp, 'unused-3') });
      assertOneReadableLine(r, /^Invalid configuration: PORT: /);
    }
  });

  test('TLS_CERT_FILE without TLS_KEY_FILE', async () => {
    const r = await runToFailure({ TLS_CERT_FILE: path.join(tmp, 'cert.pem'), DATA_DIR: path.join(tmp, 'unused-4'), PORT: String(await freePort()) });
    assertOneReadableLine(r, /TLS_CERT_FILE and TLS_KEY_FILE must be given together/);
  });

  test('a port already in use', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '0.0.0.0', resolve));
    const { port } = blocker.address() as net.AddressInfo;
    try {
      const r = await runToFailure({ ...(await serverDatabase('busy')), PORT: String(port) });
      assertOneReadableLine(r, new RegExp(`Port ${port} is already in use`));
    } finally {
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
    }
  });
});
