import session from 'express-session';
import type { Db } from '../db/knex';

/**
 * express-session store on the app's own Knex pool (table `sessions`). Sharing the pool matters
 * for the embedded Postgres: PGlite has one session, so every query must go through one connection
 * (see db/embedded.ts); a second pool would interleave its messages with ours.
 */
export class KnexSessionStore extends session.Store {
  private readonly pruneTimer?: NodeJS.Timeout;

  constructor(
    private readonly db: Db,
    opts: { pruneEveryMs?: number } = {},
  ) {
    super();
    if (opts.pruneEveryMs) {
      this.pruneTimer = setInterval(() => void this.prune().catch(() => undefined), opts.pruneEveryMs);
      this.pruneTimer.unref();
    }
  }

  override get(sid: string, cb: (err: unknown, session?: session.SessionData | null) => void): void {
    this.db('sessions')
      .where('sid', sid)
      .where('expire', '>', this.db.fn.now())
      .first('sess')
      .then((row) => cb(null, row ? (typeof row.sess === 'string' ? JSON.parse(row.sess) : row.sess) : null), cb);
  }

  override set(sid: string, sess: session.SessionData, cb?: (err?: unknown) => void): void {
    const expire = this.expiry(sess);
    this.db
      .raw(`insert into sessions (sid, sess, expire) values (?, ?::json, ?) on conflict (sid) do update set sess = excluded.sess, expire = excluded.expire`, [
        sid,
        JSON.stringify(sess),
        expire,
      ])
      .then(() => cb?.(), (err) => cb?.(err));
  }

  override touch(sid: string, sess: session.SessionData, cb?: (err?: unknown) => void): void {
    this.db('sessions')
      .where('sid', sid)
      .update({ expire: this.expiry(sess) })
      .then(() => cb?.(), (err) => cb?.(err));
  }

  override destroy(sid: string, cb?: (err?: unknown) => void): void {
    this.db('sessions')
      .where('sid', sid)
      .del()
      .then(() => cb?.(), (err) => cb?.(err));
  }

  async prune(): Promise<number> {
    return this.db('sessions').where('expire', '<', this.db.fn.now()).del();
  }

  close(): void {
    if (this.pruneTimer) clearInterval(this.pruneTimer);
  }

  private expiry(sess: session.SessionData): Date {
    const c = sess.cookie;
    return c?.expires ? new Date(c.expires) : new Date(Date.now() + (c?.maxAge ?? 86_400_000));
  }
}
