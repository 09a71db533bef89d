import { z } from 'zod';
import { apiOperation, idParam, iso, isoTime, type ApiOperation } from '../../web/api-operations';
import * as service from './switch.service';

/**
 * SIP credentials through the API (issue 14): a provisioning system lists a subscriber's SIP
 * identities and sets or removes the password of one, as its reseller's admins (or the operator's)
 * do on the subscriber's page; the switch sees the change at its next REGISTER (the Kamailio views and the
 * FreeSWITCH directory read the same rows). Only HA1 hashes are kept; a generated password is
 * answered once.
 */
const params = z.object({ subscriberId: idParam.meta({ description: 'The subscriber’s id.' }) });
const identityParams = params.extend({ identityId: idParam.meta({ description: 'The SIP identity’s id (from the subscriber’s identities).' }) });

const identityOut = z
  .object({
    id: z.number().int(),
    sip_user: z.string().meta({ description: 'identity@domain: the user name and realm of digest authentication.' }),
    label: z.string().nullable(),
    assigned_at: isoTime,
    released_at: isoTime.nullable(),
    credential_set_at: isoTime.nullable().meta({ description: 'When its SIP password was last set; null: it has none (it cannot register).' }),
  })
  .meta({ id: 'SipIdentity' });

const credentialIn = z
  .strictObject({
    password: z.string().optional().meta({ description: '12 to 64 printable characters without spaces; or leave it out and send generate: true.' }),
    generate: z.boolean().optional().meta({ description: 'true: a random password is made and answered once.' }),
  })
  .refine((v) => (v.generate === true) !== (v.password !== undefined), { message: 'Send either password or generate: true', path: ['password'] })
  .meta({ id: 'SipCredentialInput' });

const credentialOut = z
  .object({ sip_user: z.string(), password: z.string().nullable().meta({ description: 'The generated password, shown this once; null when you sent it.' }) })
  .meta({ id: 'SipCredential' });

export function switchApi(): ApiOperation[] {
  return [
    apiOperation({
      method: 'get', path: '/subscribers/:subscriberId/identities', operationId: 'listSipIdentities', tags: ['Subscribers'], audience: 'all',
      summary: 'A subscriber’s SIP identities, and whether each has a SIP password',
      params,
      success: { status: 200, description: 'Its identities, current first.', schema: z.object({ data: z.array(identityOut) }).meta({ id: 'SipIdentityList' }) },
      handler: async ({ db, params: p, actor }) => {
        const identities = await service.identitiesOf(db, actor.scope, p.subscriberId);
        const times = await service.credentialTimes(db, actor.scope, p.subscriberId);
        return {
          body: {
            data: identities.map((i) => ({
              id: Number(i.id), sip_user: `${i.identity}@${i.domain}`, label: i.label ?? null, assigned_at: iso(i.assignedAt) as string, released_at: iso(i.releasedAt),
              credential_set_at: iso(times.get(Number(i.id)) ?? null),
            })),
          },
        };
      },
    }),
    apiOperation({
      method: 'put', path: '/subscribers/:subscriberId/identities/:identityId/sip-credential', operationId: 'setSipCredential', tags: ['Subscribers'], audience: 'all',
      summary: 'Set the SIP password of one identity',
      description: 'The switch accepts the new password at the next REGISTER; the old one stops at once. Only its HA1 hashes are kept. A reseller’s read-write keys (its own subscribers), and the operator’s (any reseller’s, as the operator’s admins do on its view of the subscriber); audited as the key that did it. Read-only keys are refused.',
      params: identityParams,
      reach: ({ db, params: p, actor }) => service.identityOrThrow(db, actor.scope, p.subscriberId, p.identityId),
      body: credentialIn,
      errors: [409],
      success: { status: 200, description: 'Set.', schema: credentialOut },
      handler: async ({ db, params: p, actor, body }) => {
        const made = await service.setSipPassword(db, actor, actor.scope, p.subscriberId, p.identityId, body.generate ? { generate: true } : { generate: false, password: body.password as string });
        return { body: { sip_user: made.sipUser, password: made.password } };
      },
    }),
    apiOperation({
      method: 'delete', path: '/subscribers/:subscriberId/identities/:identityId/sip-credential', operationId: 'removeSipCredential', tags: ['Subscribers'], audience: 'all',
      summary: 'Remove the SIP password of one identity (it can no longer register)',
      description: 'A reseller’s read-write keys (its own subscribers), and the operator’s (any reseller’s); audited as the key that did it. Read-only keys are refused.',
      params: identityParams,
      reach: ({ db, params: p, actor }) => service.identityOrThrow(db, actor.scope, p.subscriberId, p.identityId),
      errors: [409],
      success: { status: 204, description: 'Removed.' },
      handler: async ({ db, params: p, actor }) => {
        await service.removeSipCredential(db, actor, actor.scope, p.subscriberId, p.identityId);
        return {};
      },
    }),
  ];
}
