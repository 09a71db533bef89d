/**
 * Open-loop GETs for bench part (j), in a process of its own (as real clients are: its work and its
 * garbage collection are not the app's; a worker thread would share the app's process): read k
 * is due at start + k / rate and sent when due by client k mod `clients`, each client with its own
 * keep-alive agent and its own API key (the throttle is per key). Latency counts from the time the
 * read was DUE, so the generator's own lag counts against the server.
 */
import http from 'node:http';
import { performance } from 'node:perf_hooks';

export interface ReadLoadInput {
  url: string;
  /** One key per client. */
  tokens: string[];
  /** Per client, the paths under /api/v1 it reads in turn (its key's own objects). */
  paths: string[][];
  clients: number;
  rate: number;
  durationMs: number;
  timeoutMs: number;
}

export interface ReadLoadOutput {
  due: number;
  sent: number;
  ok: number;
  errors: Record<string, number>;
  latencies: number[];
  maxSendLagMs: number;
  lastSendMs: number;
  lastDoneMs: number;
}

function run(input: ReadLoadInput): Promise<ReadLoadOutput> {
  const agents = Array.from({ length: input.clients }, () => new http.Agent({ keepAlive: true, maxSockets: 16 }));
  const total = Math.floor((input.rate * input.durationMs) / 1000);
  const out: ReadLoadOutput = { due: total, sent: 0, ok: 0, errors: {}, latencies: [], maxSendLagMs: 0, lastSendMs: 0, lastDoneMs: 0 };
  const err = (kind: string) => (out.errors[kind] = (out.errors[kind] ?? 0) + 1);
  let done = 0;
  let next = 0;
  const t0 = performance.now() + 20;
  return new Promise((resolve) => {
    const finish = () => {
      for (const a of agents) a.destroy();
      resolve(out);
    };
    const pathOf = (k: number, client: number) => {
      const own = input.paths[client % input.paths.length] as string[];
      return own[Math.floor(k / input.clients) % own.length] as string;
    };
    const send = (k: number, dueAt: number) => {
      const client = k % input.clients;
      const sentAt = performance.now();
      out.sent++;
      out.lastSendMs = sentAt - t0;
      out.maxSendLagMs = Math.max(out.maxSendLagMs, sentAt - dueAt);
      let settled = false;
      const timer = setTimeout(() => req.destroy(new Error('timeout')), input.timeoutMs);
      const settle = (fn: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        fn();
        out.lastDoneMs = performance.now() - t0;
        if (++done === total) finish();
      };
      const req = http.request(new URL(`/api/v1${pathOf(k, client)}`, input.url), {
        method: 'GET',
        agent: agents[client],
        headers: { authorization: `Bearer ${input.tokens[client % input.tokens.length]}`, accept: 'application/json' },
      }, (res) => {
        res.on('data', () => undefined);
        res.on('end', () =>
          settle(() => {
            const status = res.statusCode ?? 0;
            if (status === 200) {
              out.ok++;
              out.latencies.push(performance.now() - dueAt);
            } else err(`HTTP ${status}`);
          }),
        );
        res.on('error', () => settle(() => err('response error')));
      });
      req.on('error', (e) => settle(() => err(e.message === 'timeout' ? `timeout > ${input.timeoutMs} ms` : `network: ${(e as NodeJS.ErrnoException).code ?? e.message}`)));
      req.end();
    };
    const tick = () => {
      const now = performance.now();
      while (next < total) {
        const dueAt = t0 + (next * 1000) / input.rate;
        if (dueAt > now) break;
        send(next, dueAt);
        next++;
      }
      if (next < total) setTimeout(tick, Math.max(0, Math.floor(t0 + (next * 1000) / input.rate - performance.now())));
    };
    if (total === 0) finish();
    else setTimeout(tick, 20);
  });
}

// Started by bench/api-reads.ts with an IPC channel: the input comes as the first message.
if (process.send) {
  process.once('message', (input: ReadLoadInput) => {
    void run(input).then((r) => process.send?.(r, () => process.exit(0)));
  });
}
