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

/** Accepts the current code and one step either side, for clock drift. */
export function checkTotp(secretBase32: string, code: string): boolean {
  const token = code.replace(/\s/g, '');
  if (!/^\d{6}$/.test(token)) return false;
  return totpFor(secretBase32, 'check').validate({ token, window: 1 }) !== null;
}

/** For tests and the demo: the code an authenticator app would show now. */
export function currentTotp(secretBase32: string): string {
  return totpFor(secretBase32, 'check').generate();
}
