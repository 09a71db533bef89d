import type { Db } from '../../db/knex';
import { writePost, writePosts, type PreparedPost, type RecordResult } from './intake.service';

interface Waiting {
  prepared: PreparedPost;
  resolve(results: RecordResult[]): void;
  reject(err: unknown): void;
}

/**
 * Group commit: posts that arrive while a transaction is being committed wait, and the next
 * transaction writes all of them; each caller is answered only after that commit. Under load this
 * turns many small commits (one WAL flush each) into a few, without delaying a lone post. If a
 * group's transaction fails, each post in it is retried alone, so one bad post fails alone.
 */
export class GroupCommitter {
  private queue: Waiting[] = [];
  private running = false;

  constructor(
    private readonly db: Db,
    private readonly maxPerCommit = 200,
  ) {}

  write(prepared: PreparedPost): Promise<RecordResult[]> {
    return new Promise((resolve, reject) => {
      this.queue.push({ prepared, resolve, reject });
      if (!this.running) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      while (this.queue.length) {
        const group = this.queue.splice(0, this.maxPerCommit);
        try {
          // One multi-row write for the whole group (writePosts), one commit.
          const results = await this.db.transaction((tx) => writePosts(tx, group.map((w) => w.prepared)));
          group.forEach((w, i) => w.resolve(results[i] as RecordResult[]));
        } catch {
          for (const w of group) {
            try {
              w.resolve(await this.db.transaction((tx) => writePost(tx, w.prepared)));
            } catch (err) {
              w.reject(err);
            }
          }
        }
      }
    } finally {
      this.running = false;
    }
  }
}
