import { RateLimiterMemory } from 'rate-limiter-flexible';

/**
 * Login throttling: failed attempts are counted per account and per client address over a window.
 * Kept in memory: the product runs as one process, and a restart forgetting counts is acceptable.
 */
export class LoginThrottle {
  private readonly byAccount: RateLimiterMemory;
  private readonly byAddress: RateLimiterMemory;
  /**
   * Wrong second-factor codes per login, on their own: a correct password resets the password
   * count, and must not give whoever knows it a fresh set of guesses at the code.
   */
  private readonly secondFactor: RateLimiterMemory;
  /** Wrong current passwords given by a logged-in person (changing the password, turning TOTP off). */
  private readonly currentPassword: RateLimiterMemory;

  constructor(opts: { perAccount: number; perAddress: number; windowSeconds: number }) {
    this.byAccount = new RateLimiterMemory({ keyPrefix: 'acct', points: opts.perAccount, duration: opts.windowSeconds });
    this.byAddress = new RateLimiterMemory({ keyPrefix: 'addr', points: opts.perAddress, duration: opts.windowSeconds });
    this.secondFactor = new RateLimiterMemory({ keyPrefix: 'totp', points: opts.perAccount, duration: opts.windowSeconds });
    this.currentPassword = new RateLimiterMemory({ keyPrefix: 'pass', points: opts.perAccount, duration: opts.windowSeconds });
  }

  /** Undefined when a second-factor code may be checked; otherwise the message to show. */
  async codeBlocked(userId: number, address: string): Promise<string | undefined> {
    const [user, addr] = await Promise.all([this.secondFactor.get(String(userId)), this.byAddress.get(address)]);
    if (user && user.remainingPoints <= 0) return `Too many wrong codes for this account. Try again in ${minutes(user.msBeforeNext)}.`;
    if (addr && addr.remainingPoints <= 0) return `Too many failed logins from your address. Try again in ${minutes(addr.msBeforeNext)}.`;
    return undefined;
  }

  async codeFailed(userId: number, address: string): Promise<void> {
    await Promise.all([this.secondFactor.penalty(String(userId), 1), this.byAddress.penalty(address, 1)]);
  }

  async codeSucceeded(userId: number): Promise<void> {
    await this.secondFactor.delete(String(userId));
  }

  /** Undefined when a logged-in person's current password may be checked; otherwise the message. */
  async currentPasswordBlocked(userId: number): Promise<string | undefined> {
    const user = await this.currentPassword.get(String(userId));
    if (user && user.remainingPoints <= 0) return `Too many wrong passwords. Try again in ${minutes(user.msBeforeNext)}.`;
    return undefined;
  }

  async currentPasswordFailed(userId: number): Promise<void> {
    await this.currentPassword.penalty(String(userId), 1);
  }

  async currentPasswordSucceeded(userId: number): Promise<void> {
    await this.currentPassword.delete(String(userId));
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
