import crypto from 'node:crypto';
import net from 'node:net';

/**
 * Machine credentials: `plt_<platform id>_<32 random bytes>`. High-entropy secrets need no slow
 * hash, so SHA-256 is stored; the id in the token finds the platform without a scan.
 */
export function newCredential(platformId: number): { token: string; hash: string } {
  const token = `plt_${platformId}_${crypto.randomBytes(32).toString('base64url')}`;
  return { token, hash: hashCredential(token) };
}

export function hashCredential(token: string): string {
  return crypto.createHash('sha256').update(token).digest('hex');
}

export function platformIdOf(token: string): number | undefined {
  const m = /^plt_([1-9]\d{0,15})_[A-Za-z0-9_-]{20,}$/.exec(token);
  return m ? Number(m[1]) : undefined;
}

export function credentialMatches(token: string, storedHash: string): boolean {
  const a = Buffer.from(hashCredential(token), 'hex');
  const b = Buffer.from(storedHash, 'hex');
  return a.length === b.length && crypto.timingSafeEqual(a, b);
}

/** Whether a source address is inside the platform's allow-list (no list: any address). */
export function sourceAllowed(allowed: string[] | null, address: string | undefined): boolean {
  if (!allowed || allowed.length === 0) return true;
  if (!address) return false;
  const ip = address.startsWith('::ffff:') && net.isIPv4(address.slice(7)) ? address.slice(7) : address;
  const family = net.isIPv4(ip) ? 'ipv4' : net.isIPv6(ip) ? 'ipv6' : undefined;
  if (!family) return false;
  const list = new net.BlockList();
  for (const cidr of allowed) {
    const [addr, bits] = cidr.split('/');
    const fam = net.isIPv4(addr ?? '') ? 'ipv4' : 'ipv6';
    list.addSubnet(addr as string, Number(bits ?? (fam === 'ipv4' ? 32 : 128)), fam);
  }
  return list.check(ip, family);
}
