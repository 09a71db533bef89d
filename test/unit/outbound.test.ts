/**
 * Outbound posts (web/outbound.ts) and SSRF: an address written as a private, loopback, link-local,
 * unique-local, multicast or unspecified one is refused when it is saved, in any of the forms the
 * URL parser reads (decimal, octal, hex IPv4; IPv4-mapped IPv6); a name is resolved at the send and
 * refused when any address is such, the connection going to the address that was checked. A local
 * receiver stands for the private network.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import { FieldErrors } from '../../src/domain/errors';
import { checkPushUrl, nonPublicRange, postOnce, type OutboundPolicy } from '../../src/web/outbound';

const strict: OutboundPolicy = { allowPrivate: false };
const open: OutboundPolicy = { allowPrivate: true };

function refusal(url: string, policy: OutboundPolicy = strict): string | undefined {
  try {
    checkPushUrl(url, policy);
    return undefined;
  } catch (err) {
    assert.ok(err instanceof FieldErrors);
    return err.fields.url;
  }
}

describe('outbound addresses', () => {
  test('ranges: only public unicast addresses pass, IPv4-mapped IPv6 judged as its IPv4', () => {
    for (const [ip, range] of [
      ['10.1.2.3', 'private'], ['172.16.0.1', 'private'], ['192.168.1.1', 'private'], ['127.0.0.1', 'loopback'], ['127.8.9.10', 'loopback'],
      ['169.254.169.254', 'linkLocal'], ['0.0.0.0', 'unspecified'], ['224.0.0.1', 'multicast'], ['255.255.255.255', 'broadcast'], ['100.64.0.1', 'carrierGradeNat'],
      ['::1', 'loopback'], ['::', 'unspecified'], ['fc00::1', 'uniqueLocal'], ['fd12:3456::1', 'uniqueLocal'], ['fe80::1', 'linkLocal'], ['ff02::1', 'multicast'],
      ['::ffff:127.0.0.1', 'loopback'], ['::ffff:7f00:1', 'loopback'], ['::ffff:10.0.0.1', 'private'], ['::ffff:169.254.169.254', 'linkLocal'], ['not-an-ip', 'invalid'],
    ] as const) assert.equal(nonPublicRange(ip), range, ip);
    for (const ip of ['93.184.216.34', '8.8.8.8', '2606:4700:4700::1111', '::ffff:8.8.8.8']) assert.equal(nonPublicRange(ip), null, ip);
  });

  test('at save: a private address in any written form is refused; names and public addresses are kept', () => {
    for (const url of [
      'https://10.0.0.5/hooks', 'https://192.168.1.1/', 'https://169.254.169.254/latest/meta-data/', 'https://127.0.0.1/', 'https://127.1/', 'https://0.0.0.0/',
      'https://[::1]/', 'https://[::]/', 'https://[fc00::1]/', 'https://[fd00::abcd]/', 'https://[fe80::1]/', 'https://[::ffff:127.0.0.1]/', 'https://[::ffff:a9fe:a9fe]/',
      'https://2130706433/', 'https://0x7f.0.0.1/', 'https://017700000001/', 'https://0x7f000001/', 'https://0251.0376.0251.0376/', 'https://224.0.0.251/',
      'https://localhost/', 'https://LOCALHOST./', 'https://printer.localhost/',
    ]) assert.match(refusal(url) ?? 'accepted', /Not a public address/, url);
    assert.equal(refusal('https://example.com/hooks'), undefined);
    assert.equal(refusal('https://93.184.216.34/hooks'), undefined);
    assert.equal(refusal('https://[2606:4700:4700::1111]/x'), undefined);
    assert.match(refusal('http://example.com/') ?? '', /https/);
    assert.match(refusal('http://127.0.0.1:9/x') ?? '', /https/, 'plain HTTP to this machine only when private addresses are allowed');
    assert.match(refusal('https://user:pw@example.com/') ?? '', /No user/);
  });

  test('at save, with private addresses allowed (a local receiver): plain HTTP to this machine, private HTTPS', () => {
    assert.equal(refusal('http://127.0.0.1:9/x', open), undefined);
    assert.equal(refusal('http://localhost:9/x', open), undefined);
    assert.equal(refusal('http://[::1]:9/x', open), undefined);
    assert.equal(refusal('https://10.0.0.5/x', open), undefined);
    assert.match(refusal('http://10.0.0.5/x', open) ?? '', /https/, 'plain HTTP never leaves this machine');
  });

  describe('at send', () => {
    let server: http.Server;
    let port = 0;
    const got: string[] = [];
    before(async () => {
      server = http.createServer((req, res) => {
        let body = '';
        req.on('data', (c) => (body += c));
        req.on('end', () => {
          got.push(`${req.headers.host} ${body}`);
          res.writeHead(200).end('thanks');
        });
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      port = (server.address() as { port: number }).port;
    });
    after(() => new Promise<void>((r) => server.close(() => r())));

    const send = (url: string, policy: OutboundPolicy) => postOnce(url, { body: 'hello', headers: { 'content-type': 'text/plain' }, policy, timeoutMs: 5_000 });

    test('a private address written in the URL is refused without a connection', async () => {
      got.length = 0;
      const out = await send(`http://127.0.0.1:${port}/x`, strict);
      assert.equal(out.ok, false);
      assert.equal(out.statusCode, null);
      assert.match(out.error ?? '', /refused: 127\.0\.0\.1 is a loopback address/);
      assert.deepEqual(got, []);
    });

    test('a name resolving to a private address is refused, whichever of its addresses it is', async () => {
      got.length = 0;
      const out = await send(`http://localhost:${port}/x`, strict);
      assert.match(out.error ?? '', /refused: localhost resolves to .* loopback address/);
      const twoFaced = { allowPrivate: false, resolve: async () => [{ address: '93.184.216.34', family: 4 }, { address: '10.0.0.7', family: 4 }] };
      const mixed = await send(`http://hooks.example.test:${port}/x`, twoFaced);
      assert.match(mixed.error ?? '', /refused: hooks\.example\.test resolves to 10\.0\.0\.7, which is a private address/);
      const metadata = await send(`http://metadata.example.test:${port}/x`, { allowPrivate: false, resolve: async () => [{ address: '::ffff:169.254.169.254', family: 6 }] });
      assert.match(metadata.error ?? '', /linkLocal/);
      assert.deepEqual(got, [], 'nothing reached the receiver');
    });

    test('the connection goes to the address the check resolved (pinned), and the name is kept as the host', async () => {
      got.length = 0;
      let asked = 0;
      const pinned: OutboundPolicy = { allowPrivate: true, resolve: async () => (asked++, [{ address: '127.0.0.1', family: 4 }]) };
      const out = await send(`http://receiver.example.test:${port}/x`, pinned);
      assert.equal(out.error, null);
      assert.equal(out.statusCode, 200);
      assert.equal(out.answer, 'thanks');
      assert.equal(asked, 1, 'resolved once, by the socket: no second lookup between check and connect');
      assert.deepEqual(got, [`receiver.example.test:${port} hello`]);
    });
  });
});
