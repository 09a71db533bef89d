/**
 * FreeSWITCH's directory over mod_xml_curl: what it asks (the form fields it posts) and the XML it
 * expects back. A user found answers a `directory` section with its domain and user (the digest
 * credential as `a1-hash`, and channel variables); anything else answers the `result` section
 * with status "not found", after which FreeSWITCH refuses the registration or call.
 */

/** The fields of a directory request that matter here (mod_xml_curl posts many more). */
export interface DirectoryQuery {
  section: string;
  user: string | undefined;
  domain: string | undefined;
  action: string | undefined;
}

const one = (v: unknown): string | undefined => {
  const s = Array.isArray(v) ? v[0] : v;
  return typeof s === 'string' && s !== '' ? s : undefined;
};

/**
 * Reads a posted directory request. The user is `user` (sip_auth, user_call, voicemail lookups),
 * else `sip_auth_username`; the domain `domain`, else the looked-up key_value when the tag is the
 * domain, else `sip_auth_realm`. Both are compared in lower case as our identities are stored.
 */
export function readDirectoryQuery(body: Record<string, unknown>): DirectoryQuery {
  const tagIsDomain = one(body.tag_name) === 'domain' && one(body.key_name) === 'name';
  const user = one(body.user) ?? one(body.sip_auth_username);
  const domain = one(body.domain) ?? (tagIsDomain ? one(body.key_value) : undefined) ?? one(body.sip_auth_realm);
  return { section: one(body.section) ?? '', user: user?.toLowerCase(), domain: domain?.toLowerCase(), action: one(body.action) };
}

export interface DirectoryUser {
  username: string;
  domain: string;
  ha1: string;
  variables: Array<[string, string]>;
}

export function xmlEscape(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c] as string);
}

/** A channel variable name from a feature code: FreeSWITCH's names are letters, digits and underscores. */
export function featureVariable(code: string): string {
  return `feature_${code.toLowerCase().replace(/[^a-z0-9_]/g, '_')}`;
}

export function directoryDocument(u: DirectoryUser): string {
  const vars = u.variables.map(([k, v]) => `            <variable name="${xmlEscape(k)}" value="${xmlEscape(v)}"/>`).join('\n');
  return `<?xml version="1.0" encoding="UTF-8" standalone="no"?>
<document type="freeswitch/xml">
  <section name="directory">
    <domain name="${xmlEscape(u.domain)}">
      <params>
        <param name="dial-string" value="{^^:sip_invite_domain=\${dialed_domain}:presence_id=\${dialed_user}@\${dialed_domain}}\${sofia_contact(*/\${dialed_user}@\${dialed_domain})}"/>
      </params>
      <groups>
        <group name="default">
          <users>
            <user id="${xmlEscape(u.username)}">
              <params>
                <param name="a1-hash" value="${xmlEscape(u.ha1)}"/>
              </params>
              <variables>
${vars}
              </variables>
            </user>
          </users>
        </group>
      </groups>
    </domain>
  </section>
</document>
`;
}

export const NOT_FOUND_DOCUMENT = `<?xml version="1.0" encoding="UTF-8" standalone="no"?>
<document type="freeswitch/xml">
  <section name="result">
    <result status="not found"/>
  </section>
</document>
`;
