import { FieldErrors } from '../domain/errors';

/**
 * Posts of ours to other systems' addresses (record-file push, webhooks): the address check, the
 * back-off between tries, and one try with its answer kept, shared so that both behave alike.
 */

/** Wait before the retry after the `attempt`-th failure: 1 minute doubling, at most an hour. */
export function retryDelayMs(attempt: number): number {
  return Math.min(3_600_000, 60_000 * 2 ** Math.max(0, attempt - 1));
}

const LOCAL_HOSTS = ['localhost', '127.0.0.1', '[::1]'];

/**
 * An address to post to: HTTPS, or plain HTTP to this machine itself when `allowLocalHttp` (a
 * local receiver; tests). Field errors name `field`.
 */
export function checkPushUrl(url: string, opts: { allowLocalHttp?: boolean; field?: string } = {}): string {
  const field = opts.field ?? 'url';
  let u: URL;
  try {
    u = new URL(url.trim());
  } catch {
    throw new FieldErrors({ [field]: 'Not an address (https://…)' });
  }
  const local = LOCAL_HOSTS.includes(u.hostname);
  const allowed = u.protocol === 'https:' || (u.protocol === 'http:' && local && (opts.allowLocalHttp ?? true));
  if (!allowed) throw new FieldErrors({ [field]: 'The address must be https://' });
  if (u.username || u.password) throw new FieldErrors({ [field]: 'No user or password in the address' });
  return u.toString();
}

/** One try's outcome: the answer's status and its first characters, or why there was none. */
export interface PostOutcome {
  ok: boolean;
  statusCode: number | null;
  /** The answer's body, cut to `answerChars`. */
  answer: string;
  durationMs: number;
  /** Why no answer came (refused, timed out, …); null when one came. */
  error: string | null;
}

/** Posts once; never throws for the receiver's fault (a refused connection, a timeout, a 500). */
export async function postOnce(
  url: string,
  init: { body: string | Buffer | ReadableStream; headers: Record<string, string>; timeoutMs?: number; answerChars?: number; duplex?: 'half' },
): Promise<PostOutcome> {
  const started = performance.now();
  const chars = init.answerChars ?? 500;
  try {
    const res = await fetch(url, {
      method: 'POST', body: init.body, headers: init.headers, redirect: 'manual',
      signal: AbortSignal.timeout(init.timeoutMs ?? 30_000),
      ...(init.duplex ? { duplex: init.duplex } : {}),
    } as RequestInit);
    const answer = (await res.text()).slice(0, chars);
    return { ok: res.status >= 200 && res.status < 300, statusCode: res.status, answer, durationMs: Math.round(performance.now() - started), error: null };
  } catch (err) {
    const cause = (err as { cause?: { message?: string } }).cause?.message;
    const error = `${(err as Error).message}${cause ? `: ${cause}` : ''}`.slice(0, chars);
    return { ok: false, statusCode: null, answer: '', durationMs: Math.round(performance.now() - started), error };
  }
}
