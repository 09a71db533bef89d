import crypto from 'node:crypto';
import { credentialMatches, hashCredential } from '../platforms/credentials';

/**
 * A carrier's posting credential: `ldc_<carrier id>_<32 random bytes>`, like a platform's. A
 * high-entropy secret needs no slow hash: SHA-256 is stored, and the id finds the carrier.
 */
export function newCarrierCredential(carrierId: number): { token: string; hash: string } {
  const token = `ldc_${carrierId}_${crypto.randomBytes(32).toString('base64url')}`;
  return { token, hash: hashCredential(token) };
}

export function carrierIdOf(token: string): number | undefined {
  const m = /^ldc_([1-9]\d{0,15})_[A-Za-z0-9_-]{20,}$/.exec(token);
  return m ? Number(m[1]) : undefined;
}

export { credentialMatches, hashCredential };
export { sourceAllowed } from '../platforms/credentials';
