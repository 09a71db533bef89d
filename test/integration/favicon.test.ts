import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestApp, type TestApp } from '../support/app';
import { Client } from '../support/http';

describe('favicon', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp();
  });
  after(() => t?.close());

  test('/favicon.ico is an icon, not a 404, served without a session', async () => {
    const res = await Client.anonymous(t.app).get('/favicon.ico').buffer(true);
    assert.equal(res.status, 200);
    assert.match(String(res.headers['content-type']), /^image\/(x-icon|vnd\.microsoft\.icon)/);
    assert.match(String(res.headers['cache-control']), /max-age=\d+/);
    assert.equal(res.headers['set-cookie'], undefined, 'an icon starts no session');
    const body = res.body as Buffer;
    assert.deepEqual([...body.subarray(0, 4)], [0, 0, 1, 0], 'ICO header');
  });

  test('the layout links it', async () => {
    const page = await Client.anonymous(t.app).get('/login');
    assert.match(page.text, /<link rel="icon" href="\/favicon.ico"/);
  });
});
