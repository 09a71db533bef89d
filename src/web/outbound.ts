import dns from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { Readable } from 'node:stream';
import ipaddr from 'ipaddr.js';
import { FieldErrors } from '../domain/errors';

/**
 * Posts of ours to other systems' addresses (record-file push, webhooks): the address check, the
 * back-off between tries, and one try with its answer kept, shared so that both behave alike.
 *
 * An address a tenant types must not make this server post into its own network (SSRF): the
 * cloud's metadata service at 169.254.169.254, a database on 10.x, this machine's own ports. So
 * only public unicast addresses are posted to: an address written as such is refused when it is
 * saved (`checkPushUrl`), and a name is resolved at each send and refused when any of its
 * addresses is not public; the connection then goes to an address that was checked (`postOnce`
 * pins it through the socket's `lookup`), so a name that changes its answer between the check and
 * the connection (DNS rebinding) cannot slip through. `allowPrivate` (OUTBOUND_ALLOW_PRIVATE, off
 * by default) lifts both, and allows plain HTTP to this machine: a local receiver, tests.
 */

/** Whether posts may go to private, loopback and other non-public addresses (config outboundAllowPrivate). */
export interface OutboundPolicy {
  allowPrivate: boolean;
  /** The resolver (default: the system's, dns.lookup); tests give names addresses of their own. */
  resolve?: (hostname: string) => Promise<dns.LookupAddress[]>;
}

const systemResolve = (hostname: string) => dns.promises.lookup(hostname, { all: true, verbatim: true });

/** Wait before the retry after the `attempt`-th failure: 1 minute doubling, at most an hour. */
export function retryDelayMs(attempt: number): number {
  return Math.min(3_600_000, 60_000 * 2 ** Math.max(0, attempt - 1));
}

/** `[::1]` -> `::1`; `example.com.` -> `example.com` (a URL's hostname as a name or an address). */
function bareHost(hostname: string): string {
  return hostname.replace(/^\[(.*)\]$/, '$1').replace(/\.$/, '').toLowerCase();
}

/**
 * The range of an address that is not a public unicast one ('private', 'loopback', 'linkLocal',
 * 'uniqueLocal', 'multicast', 'unspecified', 'reserved', …, as ipaddr.js names them), or null for
 * a public one. An IPv4-mapped IPv6 address is judged as its IPv4 address; anything that is not
 * an address at all is refused too.
 */
export function nonPublicRange(address: string): string | null {
  let ip: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    ip = ipaddr.parse(address.replace(/%.*$/, ''));
  } catch {
    return 'invalid';
  }
  if (ip.kind() === 'ipv6' && (ip as ipaddr.IPv6).isIPv4MappedAddress()) ip = (ip as ipaddr.IPv6).toIPv4Address();
  const range = ip.range();
  return range === 'unicast' ? null : range;
}

/** Names that are this machine whatever the resolver says. */
const isLocalName = (host: string) => host === 'localhost' || host.endsWith('.localhost');

/** Thrown (and kept as the attempt's error) when an address is refused by the policy. */
export class PrivateAddressError extends Error {
  constructor(host: string, address: string, range: string) {
    super(`refused: ${host}${host === address ? '' : ` resolves to ${address}, which`} is a ${range} address; posts go to public addresses only (OUTBOUND_ALLOW_PRIVATE)`);
  }
}

/**
 * An address to post to: HTTPS to a public host, or plain HTTP to this machine itself when
 * `allowPrivate` (a local receiver; tests). Field errors name `field`. A name is checked again at
 * each send (its addresses may change); an address written as such is checked here.
 */
export function checkPushUrl(url: string, opts: OutboundPolicy & { field?: string }): string {
  const field = opts.field ?? 'url';
  let u: URL;
  try {
    u = new URL(url.trim());
  } catch {
    throw new FieldErrors({ [field]: 'Not an address (https://…)' });
  }
  // The parser has normalised the host: 0x7f.1, 2130706433 and 017700000001 are all 127.0.0.1 here.
  const host = bareHost(u.hostname);
  const literal = net.isIP(host) !== 0;
  const range = literal ? nonPublicRange(host) : isLocalName(host) ? 'loopback' : null;
  const local = range === 'loopback';
  const allowed = u.protocol === 'https:' || (u.protocol === 'http:' && local && opts.allowPrivate);
  if (!allowed) throw new FieldErrors({ [field]: 'The address must be https://' });
  if (u.username || u.password) throw new FieldErrors({ [field]: 'No user or password in the address' });
  if (range !== null && !opts.allowPrivate) {
    throw new FieldErrors({ [field]: `Not a public address (${host} is ${range === 'invalid' ? 'not an address' : `a ${range} address`}): posts go to the internet only` });
  }
  return u.toString();
}

/**
 * A `lookup` for the socket that resolves the name, refuses it when any address is not public,
 * and hands the socket only addresses it checked: the connection goes where the check looked.
 */
export function guardedLookup(policy: OutboundPolicy): net.LookupFunction {
  return (hostname, options, callback) => {
    const answer = callback as unknown as (err: Error | null, address: string | dns.LookupAddress[], family?: number) => void;
    (policy.resolve ?? systemResolve)(hostname).then((found) => {
      const family = (options as { family?: number }).family;
      const list = family === 4 || family === 6 ? found.filter((a) => a.family === family) : found;
      if (!list.length) throw Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' });
      if (!policy.allowPrivate) {
        const host = bareHost(hostname);
        for (const a of list) {
          const range = nonPublicRange(a.address) ?? (isLocalName(host) ? 'loopback' : null);
          if (range !== null) throw new PrivateAddressError(host, a.address, range);
        }
      }
      if ((options as { all?: boolean }).all) answer(null, list);
      else answer(null, list[0]!.address, list[0]!.family);
    }).catch((err: Error) => answer(err, '', 0));
  };
}

/** One try's outcome: the answer's status and its first characters, or why there was none. */
export interface PostOutcome {
  ok: boolean;
  statusCode: number | null;
  /** The answer's body, cut to `answerChars`. */
  answer: string;
  durationMs: number;
  /** Why no answer came (refused, timed out, a private address, …); null when one came. */
  error: string | null;
}

/**
 * Posts once, to a public address only unless the policy allows others (see above); never throws
 * for the receiver's fault (a refused connection, a timeout, a 500, an address refused). Redirects
 * are not followed. A stream body is sent as it is read (give its content-length in `headers`).
 */
export async function postOnce(
  url: string,
  init: { body: string | Buffer | Readable; headers: Record<string, string>; policy: OutboundPolicy; timeoutMs?: number; answerChars?: number },
): Promise<PostOutcome> {
  const started = performance.now();
  const chars = init.answerChars ?? 500;
  const took = () => Math.round(performance.now() - started);
  const body = init.body;
  try {
    const u = new URL(url);
    const client = u.protocol === 'https:' ? https : u.protocol === 'http:' ? http : undefined;
    if (!client) throw new Error(`refused: ${u.protocol} is not http(s)`);
    // An address written as such is not looked up: it is checked here.
    const host = bareHost(u.hostname);
    const range = net.isIP(host) ? nonPublicRange(host) : null;
    if (range !== null && !init.policy.allowPrivate) throw new PrivateAddressError(host, host, range);
    const headers = { ...init.headers };
    if (!(body instanceof Readable)) headers['content-length'] ??= String(Buffer.byteLength(body));
    const { statusCode, answer } = await new Promise<{ statusCode: number; answer: string }>((resolve, reject) => {
      const fail = (err: Error) => {
        if (body instanceof Readable) body.destroy();
        reject(err);
      };
      const req = client.request(u, { method: 'POST', headers, lookup: guardedLookup(init.policy), agent: false, signal: AbortSignal.timeout(init.timeoutMs ?? 30_000) }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          if (text.length < chars) text += c;
        });
        res.on('end', () => resolve({ statusCode: res.statusCode ?? 0, answer: text.slice(0, chars) }));
        res.on('error', fail);
        res.on('close', () => {
          if (!res.complete) fail(new Error('the answer was cut off'));
        });
      });
      req.on('error', fail);
      if (body instanceof Readable) {
        body.on('error', (err) => req.destroy(err));
        body.pipe(req);
      } else req.end(body);
    });
    return { ok: statusCode >= 200 && statusCode < 300, statusCode, answer, durationMs: took(), error: null };
  } catch (err) {
    const cause = (err as { cause?: { message?: string } }).cause?.message;
    const error = `${(err as Error).message}${cause ? `: ${cause}` : ''}`.slice(0, chars);
    return { ok: false, statusCode: null, answer: '', durationMs: took(), error };
  }
}
