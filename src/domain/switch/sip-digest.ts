import crypto from 'node:crypto';

/**
 * SIP digest credentials (RFC 2617/3261 with MD5), as switches check them: the realm is the SIP
 * domain. Kamailio's auth_db reads `ha1` when the From user has no domain part and `ha1b` when
 * the user name is written user@domain; FreeSWITCH's `a1-hash` is `ha1`. Only these hashes are
 * kept: the password itself cannot be read back from them (they are, though, as good as the
 * password for this one realm, so they are never shown or exported).
 */
export interface SipDigest {
  ha1: string;
  ha1b: string;
}

const md5 = (s: string) => crypto.createHash('md5').update(s, 'utf8').digest('hex');

export function sipDigest(username: string, domain: string, password: string): SipDigest {
  const realm = domain;
  return { ha1: md5(`${username}:${realm}:${password}`), ha1b: md5(`${username}@${domain}:${realm}:${password}`) };
}

/** A generated SIP password: 128 random bits, in characters every phone's keypad form accepts. */
export function generateSipPassword(): string {
  return crypto.randomBytes(16).toString('base64url');
}

/** Characters a SIP password may hold: printable ASCII without spaces, which phones' forms mangle. */
export const SIP_PASSWORD = /^[\x21-\x7e]{12,64}$/;
