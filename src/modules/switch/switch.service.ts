import type { Db } from '../../db/knex';
import { ConflictError, FieldErrors, NotFoundError } from '../../domain/errors';
import { featureVariable, type DirectoryUser } from '../../domain/switch/freeswitch-directory';
import { generateSipPassword, SIP_PASSWORD, sipDigest } from '../../domain/switch/sip-digest';
import type { Actor } from '../../domain/tenancy/actor';
import type { Scope } from '../../domain/tenancy/roles';
import { subscriberEffectiveStatus } from '../../domain/tenancy/status';
import { recordAudit } from '../audit/audit.repository';
import { featureSetOf } from '../feature-packages/feature-packages.service';
import * as subscribers from '../subscribers/subscribers.repository';
import * as repo from './switch.repository';

/**
 * Real-time provisioning of the switch. A SIP credential belongs to one SIP identity of a
 * subscriber (subscriber_identities: its identity is the SIP user name, its domain the realm); a
 * subscriber with several identities has a credential for each that registers. The switch reads
 * the same rows live: Kamailio through the `kamailio` views, FreeSWITCH through directoryUser.
 */

/** When each identity of the subscriber got its SIP credential, for its page. */
export async function credentialTimes(db: Db, scope: Scope, subscriberId: number): Promise<Map<number, Date>> {
  const sub = await subscribers.getSubscriber(db, scope, subscriberId);
  if (!sub) throw new NotFoundError();
  const ids = (await subscribers.listIdentities(db, sub.resellerId, sub.id)).filter((i) => !i.releasedAt).map((i) => i.id);
  return repo.credentialTimes(db, sub.resellerId, ids);
}

/** The subscriber's SIP identities, current first (NotFoundError for a subscriber out of scope). */
export async function identitiesOf(db: Db, scope: Scope, subscriberId: number): Promise<subscribers.ShortIdentity[]> {
  const sub = await subscribers.getSubscriber(db, scope, subscriberId);
  if (!sub) throw new NotFoundError();
  return subscribers.listIdentities(db, sub.resellerId, sub.id);
}

/** The subscriber's identity (current or released), or NotFoundError: checked before a form is read. */
export async function identityOrThrow(db: Db, scope: Scope, subscriberId: number, identityId: number): Promise<subscribers.ShortIdentity> {
  const sub = await subscribers.getSubscriber(db, scope, subscriberId);
  const identity = sub ? await subscribers.getIdentity(db, sub.resellerId, sub.id, identityId) : undefined;
  if (!identity) throw new NotFoundError();
  return identity;
}

export type SetSipPassword = { generate: true } | { generate: false; password: string };

/**
 * Sets the SIP password of one current identity of the subscriber (typed, or generated and
 * answered once), keeping only its HA1 hashes. Audited without a secret.
 */
export async function setSipPassword(db: Db, actor: Actor, scope: Scope, subscriberId: number, identityId: number, input: SetSipPassword): Promise<{ sipUser: string; password: string | null }> {
  if (!input.generate && !SIP_PASSWORD.test(input.password)) throw new FieldErrors({ sip_password: 'A SIP password is 12 to 64 printable characters, without spaces' });
  const password = input.generate ? generateSipPassword() : input.password;
  return db.transaction(async (tx) => {
    const sub = await subscribers.getSubscriber(tx, scope, subscriberId, { forUpdate: true });
    if (!sub) throw new NotFoundError();
    const identity = await subscribers.getIdentity(tx, sub.resellerId, sub.id, identityId);
    if (!identity) throw new NotFoundError();
    const sipUser = `${identity.identity}@${identity.domain}`;
    if (identity.releasedAt) throw new ConflictError(`${sipUser} was released: it has no SIP credential to set.`);
    const { ha1, ha1b } = sipDigest(identity.identity, identity.domain, password);
    const { replaced } = await repo.upsertCredential(tx, { resellerId: sub.resellerId, identityId, ha1, ha1b });
    await recordAudit(tx, actor, {
      resellerId: sub.resellerId,
      entityType: 'sip_credential',
      entityId: identityId,
      action: replaced ? 'update' : 'create',
      after: { sip_user: sipUser, subscriber_id: sub.id, account_number: sub.accountNumber, generated: input.generate },
    });
    return { sipUser, password: input.generate ? password : null };
  });
}

/** Removes the identity's SIP credential: the switch refuses it from its next request. */
export async function removeSipCredential(db: Db, actor: Actor, scope: Scope, subscriberId: number, identityId: number): Promise<{ sipUser: string }> {
  return db.transaction(async (tx) => {
    const sub = await subscribers.getSubscriber(tx, scope, subscriberId, { forUpdate: true });
    if (!sub) throw new NotFoundError();
    const identity = await subscribers.getIdentity(tx, sub.resellerId, sub.id, identityId);
    if (!identity) throw new NotFoundError();
    const sipUser = `${identity.identity}@${identity.domain}`;
    if (!(await repo.deleteCredential(tx, sub.resellerId, identityId))) throw new ConflictError(`${sipUser} has no SIP credential.`);
    await recordAudit(tx, actor, { resellerId: sub.resellerId, entityType: 'sip_credential', entityId: identityId, action: 'delete', before: { sip_user: sipUser, subscriber_id: sub.id, account_number: sub.accountNumber } });
    return { sipUser };
  });
}

/**
 * What FreeSWITCH's directory gets for user@domain: undefined (not found) unless the identity is
 * current, has a credential, and its subscriber and reseller are active. Its variables: the
 * dialplan context, the account code (the subscriber's account number, which its call records
 * carry back), its caller id, and `feature_<code>=true` for each feature its packages give it now.
 * (Platforms are the operator's, with no reseller of their own: any platform may ask for any user.)
 */
export async function directoryUser(db: Db, username: string, domain: string, opts: { now?: Date } = {}): Promise<DirectoryUser | undefined> {
  const e = await repo.directoryEntry(db, username, domain);
  if (!e) return undefined;
  if (subscriberEffectiveStatus(e.resellerStatus, e.subscriberStatus) !== 'active') return undefined;
  const features = await featureSetOf(db, { kind: 'wholesale' }, e.subscriberId, opts.now ?? new Date());
  const variables: Array<[string, string]> = [
    ['user_context', 'default'],
    ['accountcode', e.accountNumber],
    ['effective_caller_id_name', e.subscriberName],
    ...(e.firstNumber ? [['effective_caller_id_number', e.firstNumber] as [string, string]] : []),
    ['billing_reseller_id', String(e.resellerId)],
    ['billing_subscriber_id', String(e.subscriberId)],
    ...features.map((f) => [featureVariable(f.code), 'true'] as [string, string]),
  ];
  return { username: e.username, domain: e.domain, ha1: e.ha1, variables };
}
