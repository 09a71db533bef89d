/**
 * The server on its embedded default (`npm start` with no DATABASE_URL), under concurrent load:
 * PGlite has one session behind its socket, so the app must never interleave two connections'
 * protocol messages. Large batches (Bind messages split across TCP reads) racing single posts and
 * page loads must all be answered correctly.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import request from 'supertest';
import { csrfFrom } from '../support/http';
import { freePort } from '../support/net';

const ROOT = path.resolve(__dirname, '../..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'embedded-load-'));
let child: ChildProcess | undefined;

after(async () => {
  if (child && child.exitCode === null) {
    const done = new Promise((r) => child?.once('exit', r));
    child.kill('SIGTERM');
    const t = setTimeout(() => child?.kill('SIGKILL'), 10_000);
    await done;
    clearTimeout(t);
  }
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('embedded Postgres under concurrent load', () => {
  test('concurrent large batches, single posts and page loads are all answered and stored exactly once', async () => {
    const port = await freePort();
    child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: tmp, NODE_ENV: 'production', LOG_LEVEL: 'silent', PORT: String(port), DATA_DIR: path.join(tmp, 'data'), ADMIN_EMAIL: 'ops@example.com', ADMIN_PASSWORD: 'a-long-admin-password' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    const deadline = Date.now() + 60_000;
    while (!out.includes('VoIP Billing is serving')) {
      assert.equal(child.exitCode, null, 'server exited');
      assert.ok(Date.now() < deadline, 'server started in time');
      await new Promise((r) => setTimeout(r, 50));
    }
    const base = `http://127.0.0.1:${port}`;
    const admin = request.agent(base);
    let csrf = csrfFrom((await admin.get('/login')).text);
    assert.equal((await admin.post('/login').type('form').send({ email: 'ops@example.com', password: 'a-long-admin-password', _csrf: csrf })).status, 303);
    csrf = csrfFrom((await admin.get('/wholesale/platforms/new')).text);
    const created = await admin.post('/wholesale/platforms').type('form').send({ name: 'load', format: 'generic-json', time_zone: 'UTC', country_code: '1', active: 'on', _csrf: csrf });
    assert.equal(created.status, 201);
    const token = /data-testid="platform-credential">([^<]+)</.exec(created.text)?.[1];
    assert.ok(token);

    const leg = (id: string) => ({ leg_id: id, calling: '+12125550100', called: '+442079460000', start: '2026-11-25T12:00:00Z', answer: '2026-11-25T12:00:05Z', end: '2026-11-25T12:01:05Z' });
    const post = (body: unknown) => request(base).post('/api/v1/cdrs').set('Authorization', `Bearer ${token}`).set('Content-Type', 'application/json').send(JSON.stringify(body));
    const work: Array<Promise<request.Response>> = [];
    for (let b = 0; b < 4; b++) work.push(post({ records: Array.from({ length: 400 }, (_, i) => leg(`B${b}-${i}`)) }));
    for (let i = 0; i < 40; i++) work.push(post(leg(`S-${i}`)));
    for (let i = 0; i < 10; i++) work.push(admin.get('/wholesale/calls'));
    const answers = await Promise.all(work);
    assert.deepEqual(answers.map((a) => a.status).filter((s) => s !== 200), [], 'every request answered 200');
    const stored = answers.slice(0, 44).reduce((n, a) => n + a.body.accepted, 0);
    assert.equal(stored, 4 * 400 + 40, 'every record of the four batches and the forty single posts accepted');
    const again = await post({ records: Array.from({ length: 400 }, (_, i) => leg(`B0-${i}`)) });
    assert.equal(again.body.duplicates, 400, 'a re-post of a batch finds every leg stored once');
  });
});
