/**
 * Open-loop load generator, run in a worker thread so that its timing does not depend on the
 * server's event loop in the main thread. Post k is due at start + k / rate; it is sent when due,
 * whether or not earlier posts have been answered (no coordinated omission), by client k mod
 * `clients`, each client with its own keep-alive agent. Latency is measured from the time the post
 * was DUE, so any lag of the generator itself counts against the server, never for it.
 */
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';

export interface LoadInput {
  url: string;
  token: string;
  bodies: string[];
  clients: number;
  rate: number;
  durationMs: number;
  timeoutMs: number;
}

export interface LoadOutput {
  due: number;
  sent: number;
  ok: number;
  errors: Record<string, number>;
  /** Latencies of 2xx answers, ms from due time. */
  latencies: number[];
  /** When each of those posts was due, ms from the start (same order as latencies). */
  dueAtMs: number[];
  /** Latest send behind its due time, ms. */
  maxSendLagMs: number;
  firstSendMs: number;
  lastSendMs: number;
  lastDoneMs: number;
  /** Leg ids answered 2xx, and every leg id sent. */
  okIds: number[];
}

function run(input: LoadInput): Promise<LoadOutput> {
  const target = new URL('/api/v1/cdrs', input.url);
  const agents = Array.from({ length: input.clients }, () => new http.Agent({ keepAlive: true, maxSockets: 16 }));
  const total = Math.min(input.bodies.length, Math.floor((input.rate * input.durationMs) / 1000));
  const out: LoadOutput = { due: total, sent: 0, ok: 0, errors: {}, latencies: [], dueAtMs: [], maxSendLagMs: 0, firstSendMs: 0, lastSendMs: 0, lastDoneMs: 0, okIds: [] };
  const err = (kind: string) => (out.errors[kind] = (out.errors[kind] ?? 0) + 1);
  let done = 0;
  let next = 0;
  const t0 = performance.now() + 20;

  return new Promise((resolve) => {
    const finish = () => {
      for (const a of agents) a.destroy();
      resolve(out);
    };
    const complete = () => {
      done++;
      if (done === total) finish();
    };
    const send = (k: number, dueAt: number) => {
      const body = input.bodies[k] as string;
      const sentAt = performance.now();
      if (out.sent === 0) out.firstSendMs = sentAt - t0;
      out.sent++;
      out.lastSendMs = sentAt - t0;
      out.maxSendLagMs = Math.max(out.maxSendLagMs, sentAt - dueAt);
      let settled = false;
      // A hard limit from the moment of sending (time queued in the agent included).
      const timer = setTimeout(() => req.destroy(new Error('timeout')), input.timeoutMs);
      const settle = (fn: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        fn();
        out.lastDoneMs = performance.now() - t0;
        complete();
      };
      const req = http.request(
        target,
        {
          method: 'POST',
          agent: agents[k % input.clients],
          headers: { authorization: `Bearer ${input.token}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        },
        (res) => {
          const parts: Buffer[] = [];
          res.on('data', (c: Buffer) => parts.push(c));
          res.on('end', () =>
            settle(() => {
              const status = res.statusCode ?? 0;
              if (status >= 200 && status < 300) {
                out.ok++;
                out.latencies.push(performance.now() - dueAt);
                out.dueAtMs.push(dueAt - t0);
                out.okIds.push(k);
              } else err(`HTTP ${status}`);
            }),
          );
          res.on('error', () => settle(() => err('response error')));
        },
      );
      req.on('error', (e) => settle(() => err(e.message === 'timeout' ? `timeout > ${input.timeoutMs} ms` : `network: ${(e as NodeJS.ErrnoException).code ?? e.message}`)));
      req.end(body);
    };
    const tick = () => {
      const now = performance.now();
      while (next < total) {
        const dueAt = t0 + (next * 1000) / input.rate;
        if (dueAt > now) break;
        send(next, dueAt);
        next++;
      }
      if (next < total) {
        const wait = t0 + (next * 1000) / input.rate - performance.now();
        setTimeout(tick, Math.max(0, Math.floor(wait)));
      }
    };
    if (total === 0) finish();
    else setTimeout(tick, 20);
  });
}

if (parentPort) {
  const port = parentPort;
  run(workerData as LoadInput).then((r) => port.postMessage(r));
}
