/**
 * Short identities on hosted PBX platforms (DOMAIN.md: a subscriber is found by its E.164 numbers
 * and by its extensions and SIP user names, unique within a SIP domain). A leg's party that is not
 * an E.164 number may still be one of ours: `1002` on a platform that writes extensions, or
 * `alice` (a SIP user name) anywhere. Identities are named "identity@domain", the key under which
 * subscriber_identities holds them.
 */

/** How a platform's short digit strings are read: national numbers of its country code, or extensions. */
export const SHORT_NUMBER_MODES = ['national', 'extension'] as const;
export type ShortNumberMode = (typeof SHORT_NUMBER_MODES)[number];

/** What a platform says about the short identities on its records. */
export interface ShortNumberRule {
  shortNumbers: ShortNumberMode;
  /** The SIP domain of records that carry none (lower case), or null. */
  sipDomain: string | null;
  /** The platform's country code: the on-net and inbound rates of calls to a short identity are found by it. */
  countryCode: string;
}

const IDENTITY = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const DOMAIN = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/;
const IPV4 = /^\d+(\.\d+){3}$/;

/** The user and host parts of a party as a platform wrote it (sip:1002@pbx.example;user=phone). */
function split(raw: string): { user: string; host: string | null } {
  let s = raw.trim().replace(/^(sips?|tel):/i, '');
  s = s.replace(/;.*$/, '');
  const at = s.indexOf('@');
  if (at < 0) return { user: s, host: null };
  return { user: s.slice(0, at), host: s.slice(at + 1).replace(/:\d+$/, '') };
}

/**
 * The identity key ("1002@pbx.example") of a party that is not an E.164 number, or null: digits
 * are an extension only where the platform reads short numbers as extensions; a name with a letter
 * is a SIP user name. The domain is the party's own (user@host), else the record's, else the
 * platform's default.
 */
export function identityKeyOf(raw: string, e164: string | null, recordDomain: string | null | undefined, rule: ShortNumberRule | undefined): string | null {
  if (e164 !== null || !rule || !raw) return null;
  const { user, host } = split(raw);
  const id = user.toLowerCase();
  if (!IDENTITY.test(id)) return null;
  const digits = /^\d+$/.test(id);
  if (digits && rule.shortNumbers !== 'extension') return null;
  // An address is where the switch is, not whose domain it is: the next candidate then.
  const domain = [host, recordDomain, rule.sipDomain].map((d) => (d ?? '').toLowerCase()).find((d) => DOMAIN.test(d) && !IPV4.test(d));
  return domain ? `${id}@${domain}` : null;
}

/**
 * A short identity as typed on the subscriber form: "1001", "alice", or either with "@domain".
 * Digits of at most 6 are an extension (no national number is that short); a name starts with a
 * letter or digit and holds letters, digits, '.', '_' or '-'.
 */
export function parseTypedIdentity(text: string, defaultDomain: string | null): { ok: true; identity: string; domain: string } | { ok: false; reason: string } {
  const { user, host } = split(text);
  const id = user.toLowerCase();
  const digits = /^\d+$/.test(id);
  if (digits && id.length > 6) return { ok: false, reason: `"${text}" is neither a phone number nor an extension (extensions have at most 6 digits)` };
  if (!IDENTITY.test(id) || (!digits && !/[a-z]/.test(id))) {
    return { ok: false, reason: `"${text}" is not a phone number, an extension or a SIP user name (letters, digits, . _ -)` };
  }
  const domain = (host ?? defaultDomain ?? '').toLowerCase();
  if (!domain) return { ok: false, reason: `"${text}" needs its SIP domain (${id}@pbx.example): the reseller has no default SIP domain` };
  if (!DOMAIN.test(domain)) return { ok: false, reason: `"${domain}" is not a SIP domain name` };
  return { ok: true, identity: id, domain };
}

/** Whether a holders key names a short identity (E.164 numbers start with '+'). */
export const isIdentityKey = (key: string): boolean => key.includes('@');
