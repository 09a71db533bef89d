import { RateLimiterMemory } from 'rate-limiter-flexible';

/**
 * Login throttling: failed attempts are counted per account and per client address over a window.
 * Kept in memory: the product runs as one process, and a restart forgetting counts is acceptable.
 */
export class LoginThrottle {
  private readonly byAccount: RateLimiterMemory;
  private readonly byAddress: RateLimiterMemory;

  constructor(opts: { perAccount: number; perAddress: number; windowSeconds: number }) {
    this.byAccount = new RateLimiterMemory({ keyPrefix: 'acct', points: opts.perAccount, duration: opts.windowSeconds });
    this.byAddress = new RateLimiterMemory({ keyPrefix: 'addr', points: opts.perAddress, duration: opts.windowSeconds });
  }

  /** Undefined when the attempt may proceed; otherwise the message to show. */
  async blocked(email: string, address: string): Promise<string | undefined> {
    const [acct, addr] = await Promise.all([this.byAccount.get(email.toLowerCase()), this.byAddress.get(address)]);
    if (acct && acct.remainingPoints <= 0) {
      return `Too many failed logins for this account. Try again in ${minutes(acct.msBeforeNext)}.`;
    }
    if (addr && addr.remainingPoints <= 0) {
      return `Too many failed logins from your address. Try again in ${minutes(addr.msBeforeNext)}.`;
    }
    return undefined;
  }

  async failed(email: string, address: string): Promise<void> {
    await Promise.all([
      this.byAccount.penalty(email.toLowerCase(), 1),
      this.byAddress.penalty(address, 1),
    ]);
  }

  async succeeded(email: string): Promise<void> {
    await this.byAccount.delete(email.toLowerCase());
  }
}

function minutes(ms: number): string {
  const m = Math.max(1, Math.ceil(ms / 60000));
  return m === 1 ? '1 minute' : `${m} minutes`;
}
