import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config';

describe('configuration', () => {
  test('defaults: port 3000, embedded database in ./data, plain cookies', () => {
    const c = loadConfig({});
    assert.equal(c.port, 3000);
    assert.equal(c.databaseUrl, undefined);
    assert.match(c.dataDir, /data$/);
    assert.equal(c.secureCookies, false);
  });

  test('one readable line per bad value', () => {
    assert.throws(() => loadConfig({ DATABASE_URL: 'nonsense' }), (e: Error) => e instanceof ConfigError && /DATABASE_URL: must be a URL like postgres:\/\//.test(e.message));
    assert.throws(() => loadConfig({ PORT: 'eighty' }), (e: Error) => e instanceof ConfigError && /PORT:/.test(e.message));
    assert.throws(() => loadConfig({ TLS_CERT_FILE: 'cert.pem' }), /TLS_CERT_FILE and TLS_KEY_FILE must be given together/);
    assert.throws(() => loadConfig({ ADMIN_PASSWORD: 'short' }), /ADMIN_PASSWORD: must be at least 12 characters/);
  });

  test('TLS or a trusted proxy marks cookies secure', () => {
    assert.equal(loadConfig({ TLS_CERT_FILE: 'c', TLS_KEY_FILE: 'k' }).secureCookies, true);
    const proxied = loadConfig({ TRUST_PROXY: '1' });
    assert.equal(proxied.trustProxy, 1);
    assert.equal(proxied.secureCookies, true);
    assert.equal(loadConfig({ TRUST_PROXY: 'loopback' }).trustProxy, 'loopback');
  });

  test('outbound posts to private addresses: off unless OUTBOUND_ALLOW_PRIVATE says so, in any environment', () => {
    assert.equal(loadConfig({}).outboundAllowPrivate, false);
    assert.equal(loadConfig({ NODE_ENV: 'test' }).outboundAllowPrivate, false);
    assert.equal(loadConfig({ NODE_ENV: 'development' }).outboundAllowPrivate, false);
    assert.equal(loadConfig({ OUTBOUND_ALLOW_PRIVATE: 'true' }).outboundAllowPrivate, true);
    assert.equal(loadConfig({ OUTBOUND_ALLOW_PRIVATE: '1' }).outboundAllowPrivate, true);
    assert.equal(loadConfig({ OUTBOUND_ALLOW_PRIVATE: '0' }).outboundAllowPrivate, false);
    assert.throws(() => loadConfig({ OUTBOUND_ALLOW_PRIVATE: 'yes please' }), /OUTBOUND_ALLOW_PRIVATE: must be true or false/);
  });
});
