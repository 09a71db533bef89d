import * as OTPAuth from 'otpauth';

const ISSUER = 'VoIP Billing';

export function newTotpSecret(): string {
  return new OTPAuth.Secret({ size: 20 }).base32;
}

function totpFor(secretBase32: string, label: string) {
  return new OTPAuth.TOTP({ issuer: ISSUER, label, algorithm: 'SHA1', digits: 6, period: 30, secret: OTPAuth.Secret.fromBase32(secretBase32) });
}

export function totpUri(secretBase32: string, label: string): string {
  return totpFor(secretBase32, label).toString();
}

const PERIOD_MS = 30_000;

/**
 * The time step a code belongs to, accepting the current step and one either side for clock
 * drift; null when the code is wrong. Callers refuse a step already used (no replay).
 */
export function totpStep(secretBase32: string, code: string, nowMs = Date.now()): number | null {
  const token = code.replace(/\s/g, '');
  if (!/^\d{6}$/.test(token)) return null;
  const delta = totpFor(secretBase32, 'check').validate({ token, window: 1, timestamp: nowMs });
  return delta === null ? null : Math.floor(nowMs / PERIOD_MS) + delta;
}

export function checkTotp(secretBase32: string, code: string): boolean {
  return totpStep(secretBase32, code) !== null;
}

/** For tests and the demo: the code an authenticator app shows at `timestamp` (now by default). */
export function currentTotp(secretBase32: string, timestamp = Date.now()): string {
  return totpFor(secretBase32, 'check').generate({ timestamp });
}
