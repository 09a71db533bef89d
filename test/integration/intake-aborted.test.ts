import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { intakeHandler, INTAKE_PATH } from '../../src/modules/intake/intake.routes';
import { createTestApp, type TestApp } from '../support/app';
import { makePlatform } from '../support/intake';

describe('the intake\'s request log', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp();
  });
  after(() => t.close());

  test('a switch that aborts its post is logged at info, not as our error', async () => {
    const lines: Array<{ level: number; msg: string }> = [];
    const sink = new Writable({ write: (chunk, _enc, cb) => (lines.push(JSON.parse(String(chunk))), cb()) });
    const logger = pino({ level: 'debug' }, sink);
    const handler = intakeHandler({ db: t.db, caches: { plans: t.planCache, refs: t.referenceData }, logger, copy: !t.embedded, trustProxy: () => () => false });
    const server = http.createServer((req, res) => handler(req, res, () => res.writeHead(404).end())).listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    try {
      const { token } = await makePlatform(t.db);
      const { port } = server.address() as AddressInfo;
      const req = http.request({ port, host: '127.0.0.1', path: INTAKE_PATH, method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': 100_000 } });
      req.on('error', () => undefined);
      req.write('{"leg_id": "half a post", ');
      await sleep(200);
      req.destroy();
      for (let i = 0; i < 50 && !lines.some((l) => /aborted/.test(l.msg)); i++) await sleep(20);
      assert.deepEqual(lines.filter((l) => l.level >= 50).map((l) => l.msg), [], 'nothing at error level');
      assert.ok(lines.some((l) => l.level === 30 && l.msg === 'cdr post aborted by the client'), JSON.stringify(lines));
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
});
