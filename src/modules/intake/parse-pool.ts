import path from 'node:path';
import { Piscina } from 'piscina';
import { parseBody, type ParseAnswer, type ParseTask } from './parse.worker';

/**
 * Where posts' bodies become records. A small body (one call, a few calls) is parsed at once on
 * the event loop: handing it to a thread would cost more than reading it. A large one is parsed
 * in a worker thread, so a 10 MB post never holds the event loop, and with it every other
 * platform's posts, for the second its adapter takes. Large bodies wait in one queue per
 * platform, served in turn: a platform that sends many large posts waits behind its own, not
 * in front of everyone else's.
 */
export interface ParsePoolOptions {
  /** Worker threads for large bodies; 0 parses everything on the event loop. */
  threads: number;
  /** Bodies shorter than this (characters) are parsed on the event loop. */
  inlineBelow: number;
  /** Heap a worker may use before its post is refused as too large to read. */
  maxHeapMb?: number;
}

interface Waiting {
  task: ParseTask;
  resolve(a: ParseAnswer): void;
  reject(err: unknown): void;
}

/** Measured: a single-record post parses in tens of microseconds; posting it to a thread costs more. */
export const DEFAULT_PARSE_INLINE_BELOW = 64 * 1024;

export class ParsePool {
  private pool: Piscina | undefined;
  private readonly waiting = new Map<number, Waiting[]>();
  /** Platforms with bodies waiting, in the order they are served next. */
  private readonly turn: number[] = [];
  private running = 0;
  /** When each platform last had a body handed to a thread (a count of hand-overs); bounded: see pump. */
  private readonly served = new Map<number, number>();
  private dispatched = 0;
  private closed = false;

  constructor(private readonly opts: ParsePoolOptions) {}

  /** The records of a body, or the reason it cannot be read. Rejects only for a passing fault. */
  parse(platformId: number, task: ParseTask): Promise<ParseAnswer> {
    if (this.opts.threads <= 0 || task.body.length < this.opts.inlineBelow) return Promise.resolve(parseBody(task));
    if (this.closed) return Promise.reject(new Error('the intake is shutting down'));
    return new Promise((resolve, reject) => {
      const queue = this.waiting.get(platformId);
      if (queue) queue.push({ task, resolve, reject });
      else {
        this.waiting.set(platformId, [{ task, resolve, reject }]);
        this.turn.push(platformId);
      }
      this.pump();
    });
  }

  /**
   * Starts the threads now and waits until one has read a body: a thread loads the adapters
   * (about a second of one core), which the first large post after a start would otherwise wait
   * for, beside everyone else's posts.
   */
  async warm(): Promise<void> {
    if (this.opts.threads <= 0 || this.closed) return;
    await this.threadPool().run({ format: 'generic-json', body: '[]', contentType: undefined, ctx: { timeZone: 'UTC', countryCode: '1' } } satisfies ParseTask);
  }

  /** Threads running now. */
  get threads(): number {
    return this.pool?.threads.length ?? 0;
  }

  /** Bodies waiting for a thread and being parsed (for tests and the health of the intake). */
  get backlog(): number {
    let n = this.running;
    for (const q of this.waiting.values()) n += q.length;
    return n;
  }

  async close(): Promise<void> {
    this.closed = true;
    const pool = this.pool;
    this.pool = undefined;
    if (pool) await pool.destroy();
  }

  private pump(): void {
    while (this.running < this.opts.threads && this.turn.length) {
      // The platform served longest ago goes next (one never served first): a platform whose body
      // was just parsed waits for the others even if its next body arrived before theirs.
      let pick = 0;
      for (let i = 1; i < this.turn.length; i++) if ((this.served.get(this.turn[i] as number) ?? -1) < (this.served.get(this.turn[pick] as number) ?? -1)) pick = i;
      const platformId = this.turn.splice(pick, 1)[0] as number;
      this.served.set(platformId, ++this.dispatched);
      const queue = this.waiting.get(platformId) as Waiting[];
      const next = queue.shift() as Waiting;
      if (queue.length) this.turn.push(platformId);
      else this.waiting.delete(platformId);
      this.running++;
      const done = (settle: () => void) => {
        this.running--;
        // Forget platforms with nothing waiting once the map grows: a fresh one then counts as never served, which is fair.
        if (this.served.size > 1000) for (const id of this.served.keys()) if (!this.waiting.has(id)) this.served.delete(id);
        settle();
        this.pump();
      };
      this.threadPool()
        .run(next.task)
        .then(
          (a: ParseAnswer) => done(() => next.resolve(a)),
          (err: unknown) =>
            done(() => {
              // A worker that ran out of its heap was killed by the body it read: the content's
              // doing, refused with the reason (sending it again would do the same).
              if ((err as { code?: string }).code === 'ERR_WORKER_OUT_OF_MEMORY') {
                // Piscina does not always replace a worker killed for its heap: start afresh.
                void this.pool?.destroy().catch(() => undefined);
                this.pool = undefined;
                next.resolve({ ok: false, tooLarge: true, error: 'the body takes more memory to read than a post may use: send fewer records per post' });
              } else next.reject(err);
            }),
        );
    }
  }

  /** Started at the first large body: most processes (and tests) never need a thread. */
  private threadPool(): Piscina {
    if (this.pool) return this.pool;
    this.pool = new Piscina({
      filename: path.join(__dirname, 'parse.worker.ts'),
      minThreads: 1,
      maxThreads: this.opts.threads,
      // One body at a time per thread: the queue that decides whose body is next is ours.
      concurrentTasksPerWorker: 1,
      resourceLimits: { maxOldGenerationSizeMb: this.opts.maxHeapMb ?? 1024 },
    });
    // A worker's death is also the failure of the body it was reading, answered there; the
    // pool starts a new worker for the next body.
    this.pool.on('error', () => undefined);
    return this.pool;
  }
}
