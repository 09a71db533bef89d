import { getCountryCallingCode, isSupportedCountry } from 'libphonenumber-js';
import type { Db, Tx } from '../../db/knex';
import { rethrowDuplicate, uniqueViolation } from '../../db/knex';
import { ConflictError, FieldErrors, NotFoundError } from '../../domain/errors';
import { parseTypedIdentity } from '../../domain/legs/identity';
import { normaliseE164 } from '../../domain/numbers/e164';
import type { Actor } from '../../domain/tenancy/actor';
import type { Scope } from '../../domain/tenancy/roles';
import { subscriberEffectiveStatus, type Status } from '../../domain/tenancy/status';
import { recordAudit, recordAudits } from '../audit/audit.repository';
import { hashPassword } from '../auth/passwords';
import { inRanges, rangeOf } from '../number-ranges/number-ranges.repository';
import { getPlan } from '../rate-plans/rate-plans.repository';
import { getReseller } from '../resellers/resellers.repository';
import * as users from '../users/users.repository';
import * as repo from './subscribers.repository';
import type { NewSubscriberInput, SubscriberInput } from './subscribers.schemas';

const UNIQUE_FIELDS: Record<string, [string, string]> = {
  subscribers_reseller_account_key: ['account_number', 'Another subscriber already has this account number'],
  // Within the reseller only (its staff and subscribers): another tenant's logins are never compared.
  users_party_email_key: ['login_email', 'A login with this email already exists'],
};

/** The calling code for national numbers typed for a subscriber in this country. */
export function callingCodeFor(country: string): string | undefined {
  return isSupportedCountry(country) ? getCountryCallingCode(country) : undefined;
}

function checkCountry(country: string): void {
  if (!callingCodeFor(country)) throw new FieldErrors({ country: `Unknown country code ${country}` });
}

/** What a subscriber holds: E.164 numbers, and extensions or SIP user names within a SIP domain. */
interface Typed {
  numbers: string[];
  identities: Array<{ identity: string; domain: string }>;
}

/**
 * Reads what was typed: a phone number (international, or national for the subscriber's country)
 * is normalised to E.164; else an extension (at most 6 digits) or a SIP user name, in its own
 * domain (1001@pbx.example) or the reseller's. Names every bad entry.
 */
function normaliseAll(raw: string[], country: string, field: string, defaultDomain: string | null): Typed {
  const cc = callingCodeFor(country);
  const out: Typed = { numbers: [], identities: [] };
  const bad: string[] = [];
  for (const n of raw) {
    const r = normaliseE164(n, cc);
    if (r.ok) {
      if (!out.numbers.includes(r.number)) out.numbers.push(r.number);
      continue;
    }
    // Typed as an extension (digits only, at most 6) or a SIP user name (starting with a letter),
    // else it was meant as a phone number and the number's own reason is the clearer one.
    const user = n.trim().replace(/^sips?:/i, '').split('@')[0] as string;
    const extension = /^\d{1,6}$/.test(user);
    if (!extension && !/^[a-z][a-z0-9._-]*$/i.test(user)) {
      bad.push(/^\d{7,}$/.test(user) && !user.startsWith('0') ? `${r.reason} (an extension has at most 6 digits)` : r.reason);
      continue;
    }
    const id = parseTypedIdentity(n, defaultDomain);
    if (!id.ok) bad.push(extension ? `${r.reason}; as an extension, ${id.reason}` : id.reason);
    else if (!out.identities.some((x) => x.identity === id.identity && x.domain === id.domain)) out.identities.push({ identity: id.identity, domain: id.domain });
  }
  if (bad.length) throw new FieldErrors({ [field]: bad.join('; ') });
  return out;
}

/** The reseller's default SIP domain, for extensions typed without one. */
async function defaultDomainOf(db: Db | Tx, resellerId: number): Promise<string | null> {
  return (await getReseller(db, { kind: 'wholesale' }, resellerId))?.sipDomain ?? null;
}

/**
 * Assigns an extension or SIP user name, naming it when someone else holds it in that domain. Only
 * in the reseller's own SIP domain: another domain may be another tenant's, and "already held"
 * there would tell who uses what in it.
 */
async function assignIdentity(tx: Tx, actor: Actor, sub: repo.Subscriber, v: { identity: string; domain: string }, label: string | null, field: string, ownDomain: string | null) {
  const name = `${v.identity}@${v.domain}`;
  if (v.domain !== ownDomain) throw new FieldErrors({ [field]: `${name}: ${v.domain} is not your SIP domain` });
  try {
    const added = await tx.transaction((sp) => repo.insertIdentity(sp, sub.resellerId, sub.id, { ...v, label }));
    await recordAudit(tx, actor, { resellerId: sub.resellerId, entityType: 'subscriber_identity', entityId: added.id, action: 'assign', after: { identity: v.identity, domain: v.domain, subscriber_id: sub.id, account_number: sub.accountNumber, label } });
    return added;
  } catch (err) {
    if (uniqueViolation(err) === 'subscriber_identities_active_key') throw new FieldErrors({ [field]: `${name} is already held by another subscriber` });
    throw err;
  }
}

/**
 * Assigns a number of one of the reseller's ranges. Ranges never overlap, so a number of its own
 * range can be held only by its own subscribers, and "already assigned" may name the holder; any
 * other number gets one answer, whether another tenant holds it or nobody does.
 */
async function assignNumber(tx: Tx, actor: Actor, sub: repo.Subscriber, number: string, label: string | null, field: string) {
  // FOR SHARE: the range cannot be removed while this assignment is in progress.
  if (!(await rangeOf(tx, sub.resellerId, number, { lock: true }))) throw new FieldErrors({ [field]: `${number} is not in your number ranges (your operator assigns them)` });
  try {
    // A savepoint, so a duplicate can be reported without aborting the outer transaction on Postgres.
    const added = await tx.transaction((sp) => repo.insertNumber(sp, sub.resellerId, sub.id, number, label));
    await recordAudit(tx, actor, { resellerId: sub.resellerId, entityType: 'phone_number', entityId: added.id, action: 'assign', after: { number, subscriber_id: sub.id, account_number: sub.accountNumber, label } });
    return added;
  } catch (err) {
    if (uniqueViolation(err) === 'phone_numbers_active_number_key') {
      const holder = await repo.holderOf(tx, sub.resellerId, number);
      throw new FieldErrors({ [field]: holder ? `${number} is already assigned to ${holder.accountNumber} (${holder.name})` : `${number} is already assigned` });
    }
    throw err;
  }
}

const duplicateToFieldErrors = (err: unknown): never => rethrowDuplicate(err, UNIQUE_FIELDS);

export async function getOrThrow(db: Db, scope: Scope, id: number): Promise<repo.Subscriber> {
  const sub = await repo.getSubscriber(db, scope, id);
  if (!sub) throw new NotFoundError();
  return sub;
}

/** Everything the subscriber page shows. */
export async function details(db: Db, scope: Scope, id: number) {
  const subscriber = await getOrThrow(db, scope, id);
  const [numbers, identities, login, reseller] = await Promise.all([
    repo.listNumbers(db, subscriber.resellerId, id, { includeReleased: true }),
    repo.listIdentities(db, subscriber.resellerId, id),
    users.findUserBySubscriber(db, scope, id),
    getReseller(db, { kind: 'wholesale' }, subscriber.resellerId),
  ]);
  if (!reseller) throw new NotFoundError();
  return {
    subscriber,
    reseller,
    effectiveStatus: subscriberEffectiveStatus(reseller.status, subscriber.status),
    activeNumbers: numbers.filter((n) => !n.releasedAt),
    releasedNumbers: numbers.filter((n) => n.releasedAt),
    activeIdentities: identities.filter((i) => !i.releasedAt),
    releasedIdentities: identities.filter((i) => i.releasedAt),
    login,
  };
}

/** A subscriber with its numbers and optional portal login, all or nothing. */
export async function createSubscriber(db: Db, actor: Actor, resellerId: number, input: NewSubscriberInput): Promise<repo.Subscriber> {
  checkCountry(input.country);
  const ownDomain = await defaultDomainOf(db, resellerId);
  const { numbers, identities } = normaliseAll(input.numbers, input.country, 'numbers', ownDomain);
  const passwordHash = input.login_password ? await hashPassword(input.login_password) : undefined;
  try {
    return await db.transaction(async (tx) => {
      let sub = await repo.insertSubscriber(tx, resellerId, input);
      if (input.retail_plan_id !== null) {
        // Assigned in the creating transaction, so its first call is rated by the plan chosen for it.
        if (!(await getPlan(tx, { kind: 'reseller', resellerId }, input.retail_plan_id))) throw new FieldErrors({ retail_plan_id: 'Choose one of your rate plans' });
        sub = await repo.setRetailPlan(tx, resellerId, sub.id, input.retail_plan_id);
      }
      await recordAudit(tx, actor, { resellerId, entityType: 'subscriber', entityId: sub.id, action: 'create', after: { ...sub, numbers, identities: identities.map((i) => `${i.identity}@${i.domain}`) } });
      for (const n of numbers) await assignNumber(tx, actor, sub, n, null, 'numbers');
      for (const i of identities) await assignIdentity(tx, actor, sub, i, null, 'numbers', ownDomain);
      if (input.login_email && passwordHash) {
        const login = await users.insertUser(tx, { email: input.login_email, name: input.name, role: 'subscriber', resellerId, subscriberId: sub.id, passwordHash });
        await recordAudit(tx, actor, { resellerId, entityType: 'user', entityId: login.id, action: 'create', after: { ...login } });
      }
      return sub;
    });
  } catch (err) {
    if (err instanceof FieldErrors) throw err;
    return duplicateToFieldErrors(err);
  }
}

/**
 * Many subscribers of one reseller (the API's bulk): each as createSubscriber makes it, with the
 * same checks, messages, rows and audit, each item's outcome its own (the subscriber, or the
 * FieldErrors createSubscriber would throw for it). `db` must be a transaction. Set-based: the
 * checks read every item's account number, plan and numbers at once, and the rows are written by
 * a few statements for the whole batch (per-item statements were 12 round trips an item, and each
 * bumped party_version, serialising concurrent requests on its row). Items with a portal login or
 * an extension, and the whole batch should its insert still meet a conflict (a concurrent writer),
 * go through createSubscriber one by one, each in its own savepoint.
 */
export async function createMany(db: Db, actor: Actor, resellerId: number, inputs: NewSubscriberInput[]): Promise<Array<repo.Subscriber | FieldErrors>> {
  const out: Array<repo.Subscriber | FieldErrors | undefined> = new Array(inputs.length);
  const one = async (i: number) => {
    try {
      out[i] = await createSubscriber(db, actor, resellerId, inputs[i] as NewSubscriberInput);
    } catch (err) {
      if (!(err instanceof FieldErrors)) throw err;
      out[i] = err;
    }
  };
  const ownDomain = await defaultDomainOf(db, resellerId);
  type Ready = { i: number; input: NewSubscriberInput; numbers: string[] };
  let ready: Ready[] = [];
  const slow: number[] = [];
  // The account numbers and numbers of the items made one by one: a batch item sharing one goes one
  // by one too, so that the earlier item wins, as in the items' order.
  const slowKeys = new Set<string>();
  for (const [i, input] of inputs.entries()) {
    try {
      checkCountry(input.country);
      const { numbers, identities } = normaliseAll(input.numbers, input.country, 'numbers', ownDomain);
      if (identities.length || input.login_email || input.login_password) {
        slow.push(i);
        slowKeys.add(input.account_number.toLowerCase());
        for (const n of numbers) slowKeys.add(n);
      } else ready.push({ i, input, numbers });
    } catch (err) {
      if (!(err instanceof FieldErrors)) throw err;
      out[i] = err;
    }
  }
  // The checks in createSubscriber's order: the account number, the plan, then each number's range and holder.
  const taken = await repo.takenAccounts(db, resellerId, ready.map((r) => r.input.account_number));
  const plans = new Map<number, boolean>();
  for (const id of new Set(ready.map((r) => r.input.retail_plan_id).filter((p): p is number => p !== null))) plans.set(id, !!(await getPlan(db, { kind: 'reseller', resellerId }, id)));
  const allNumbers = [...new Set(ready.flatMap((r) => r.numbers))];
  const ranged = await inRanges(db, resellerId, allNumbers);
  const held = await repo.holdersOf(db, resellerId, allNumbers);
  const heldHere = new Map<string, { accountNumber: string; name: string }>();
  ready = ready.filter((r) => {
    const fail = (fields: Record<string, string>) => ((out[r.i] = new FieldErrors(fields)), false);
    const account = r.input.account_number.toLowerCase();
    if (slowKeys.has(account) || r.numbers.some((n) => slowKeys.has(n))) return (slow.push(r.i), false);
    if (taken.has(account)) return fail({ account_number: UNIQUE_FIELDS.subscribers_reseller_account_key![1] });
    if (r.input.retail_plan_id !== null && !plans.get(r.input.retail_plan_id)) return fail({ retail_plan_id: 'Choose one of your rate plans' });
    for (const n of r.numbers) {
      if (!ranged.has(n)) return fail({ numbers: `${n} is not in your number ranges (your operator assigns them)` });
      const holder = heldHere.get(n) ?? held.get(n);
      if (holder !== undefined) return fail({ numbers: holder ? `${n} is already assigned to ${holder.accountNumber} (${holder.name})` : `${n} is already assigned` });
    }
    taken.add(account);
    for (const n of r.numbers) heldHere.set(n, { accountNumber: r.input.account_number, name: r.input.name });
    return true;
  });
  try {
    await db.transaction(async (sp) => {
      await repo.deferPartyBump(sp);
      const subs = await repo.insertSubscribers(sp, resellerId, ready.map((r) => r.input));
      const numberRows = ready.flatMap((r, k) => r.numbers.map((number) => ({ subscriberId: (subs[k] as repo.Subscriber).id, number })));
      const added = await repo.insertNumbers(sp, resellerId, numberRows);
      const bySub = new Map(subs.map((s, k) => [s.id, ready[k] as Ready]));
      const subById = new Map(subs.map((s) => [s.id, s]));
      await recordAudits(sp, actor, [
        ...subs.map((sub, k) => ({ resellerId, entityType: 'subscriber', entityId: sub.id, action: 'create', after: { ...sub, numbers: (ready[k] as Ready).numbers, identities: [] } })),
        ...added.map((n) => {
          const sub = subById.get(n.subscriberId) as repo.Subscriber;
          return { resellerId, entityType: 'phone_number', entityId: n.id, action: 'assign', after: { number: n.number, subscriber_id: sub.id, account_number: sub.accountNumber, label: null } };
        }),
      ]);
      await repo.bumpPartyVersion(sp);
      subs.forEach((sub) => (out[(bySub.get(sub.id) as Ready).i] = sub));
    });
  } catch (err) {
    // A conflict the checks could not see (a concurrent writer): each item alone, as createSubscriber does it.
    if (!uniqueViolation(err)) throw err;
    slow.push(...ready.map((r) => r.i));
  }
  for (const i of slow.sort((a, b) => a - b)) await one(i);
  return out as Array<repo.Subscriber | FieldErrors>;
}

export async function updateSubscriber(db: Db, actor: Actor, scope: Scope, id: number, input: SubscriberInput): Promise<repo.Subscriber> {
  checkCountry(input.country);
  try {
    return await db.transaction(async (tx) => {
      const before = await repo.getSubscriber(tx, scope, id, { forUpdate: true });
      if (!before) throw new NotFoundError();
      const after = await repo.updateSubscriber(tx, before.resellerId, id, input);
      await recordAudit(tx, actor, { resellerId: before.resellerId, entityType: 'subscriber', entityId: id, action: 'update', before: { ...before }, after: { ...after } });
      return after;
    });
  } catch (err) {
    if (err instanceof NotFoundError) throw err;
    return duplicateToFieldErrors(err);
  }
}

export async function setStatus(db: Db, actor: Actor, scope: Scope, id: number, status: Status): Promise<repo.Subscriber> {
  return db.transaction(async (tx) => {
    const before = await repo.getSubscriber(tx, scope, id, { forUpdate: true });
    if (!before) throw new NotFoundError();
    if (before.status === status) throw new ConflictError(`${before.name} is already ${status}.`);
    const after = await repo.setSubscriberStatus(tx, before.resellerId, id, status);
    await recordAudit(tx, actor, {
      resellerId: before.resellerId,
      entityType: 'subscriber',
      entityId: id,
      action: status === 'active' ? 'activate' : 'deactivate',
      before: { status: before.status },
      after: { status: after.status },
    });
    return after;
  });
}

/** Assigns a number, extension or SIP user name; answers what was assigned, as the page names it. */
export async function addNumber(db: Db, actor: Actor, scope: Scope, id: number, raw: string, label: string | null, opts: { phoneOnly?: boolean } = {}): Promise<repo.PhoneNumber | { number: string }> {
  return db.transaction(async (tx) => {
    const sub = await repo.getSubscriber(tx, scope, id, { forUpdate: true });
    if (!sub) throw new NotFoundError();
    const ownDomain = await defaultDomainOf(tx, sub.resellerId);
    const { numbers, identities } = normaliseAll([raw], sub.country, 'number', ownDomain);
    if (numbers[0]) return assignNumber(tx, actor, sub, numbers[0], label, 'number');
    // The API's numbers are phone numbers (E.164); an extension there would be a number it cannot list.
    if (opts.phoneOnly) throw new FieldErrors({ number: `${raw.trim()} is not a phone number (international, or national for ${sub.country})` });
    const i = await assignIdentity(tx, actor, sub, identities[0] as { identity: string; domain: string }, label, 'number', ownDomain);
    return { number: `${i.identity}@${i.domain}` };
  });
}

export async function releaseIdentity(db: Db, actor: Actor, scope: Scope, id: number, identityId: number): Promise<repo.ShortIdentity> {
  return db.transaction(async (tx) => {
    const sub = await repo.getSubscriber(tx, scope, id, { forUpdate: true });
    if (!sub) throw new NotFoundError();
    const i = await repo.getIdentity(tx, sub.resellerId, id, identityId);
    if (!i) throw new NotFoundError();
    const name = `${i.identity}@${i.domain}`;
    if (i.releasedAt) throw new ConflictError(`${name} was already released.`);
    const released = await repo.releaseIdentity(tx, sub.resellerId, identityId);
    await recordAudit(tx, actor, { resellerId: sub.resellerId, entityType: 'subscriber_identity', entityId: identityId, action: 'release', before: { identity: name, subscriber_id: id }, after: { identity: name, released_at: released.releasedAt } });
    return released;
  });
}

export async function releaseNumber(db: Db, actor: Actor, scope: Scope, id: number, numberId: number): Promise<repo.PhoneNumber> {
  return db.transaction(async (tx) => {
    const sub = await repo.getSubscriber(tx, scope, id, { forUpdate: true });
    if (!sub) throw new NotFoundError();
    const n = await repo.getNumber(tx, sub.resellerId, id, numberId);
    if (!n) throw new NotFoundError();
    if (n.releasedAt) throw new ConflictError(`${n.number} was already released.`);
    const released = await repo.releaseNumber(tx, sub.resellerId, numberId);
    await recordAudit(tx, actor, { resellerId: sub.resellerId, entityType: 'phone_number', entityId: numberId, action: 'release', before: { number: n.number, subscriber_id: id }, after: { number: n.number, released_at: released.releasedAt } });
    return released;
  });
}

/** Creates the subscriber's portal login, or sets a new password on the existing one. */
export async function setLogin(db: Db, actor: Actor, scope: Scope, id: number, email: string, password: string): Promise<'created' | 'reset'> {
  const passwordHash = await hashPassword(password);
  try {
    return await db.transaction(async (tx) => {
      const sub = await repo.getSubscriber(tx, scope, id, { forUpdate: true });
      if (!sub) throw new NotFoundError();
      const existing = await users.findUserBySubscriber(tx, scope, id);
      if (existing) {
        const after = await users.updateUser(tx, scope, existing.id, { email });
        await users.setPasswordHash(tx, existing.id, passwordHash);
        await recordAudit(tx, actor, { resellerId: sub.resellerId, entityType: 'user', entityId: existing.id, action: 'password_reset', before: { email: existing.email }, after: { email: after?.email } });
        return 'reset';
      }
      const login = await users.insertUser(tx, { email, name: sub.name, role: 'subscriber', resellerId: sub.resellerId, subscriberId: sub.id, passwordHash });
      await recordAudit(tx, actor, { resellerId: sub.resellerId, entityType: 'user', entityId: login.id, action: 'create', after: { ...login } });
      return 'created';
    });
  } catch (err) {
    if (err instanceof NotFoundError) throw err;
    return duplicateToFieldErrors(err);
  }
}

// ---- Reads: what the portal's pages show, and the API will share (routes never read a repository) ----

export type { PhoneNumber as PhoneNumberRow, Subscriber, SubscriberFilter, SubscriberSummary } from './subscribers.repository';

export async function listSubscribers(db: Db, scope: Scope, filter: repo.SubscriberFilter) {
  return repo.listSubscribers(db, scope, filter);
}

/** Every subscriber the list's filter matches, in its order: the CSV of exactly that list. */
export function allSubscribers(db: Db, scope: Scope, filter: repo.SubscriberFilter) {
  return repo.allSubscribers(db, scope, filter);
}

/** A subscriber with what the API shows beside it: its reseller's status, its active numbers and SIP identities. */
export interface SubscriberView {
  subscriber: repo.Subscriber;
  effectiveStatus: ReturnType<typeof subscriberEffectiveStatus>;
  numbers: string[];
  identities: string[];
}

/** The views of many subscribers in a few queries (a page, a bulk answer), in their order. */
export async function viewsOf(db: Db, subs: repo.Subscriber[]): Promise<SubscriberView[]> {
  const held = await repo.holdingsOf(db, subs);
  return subs.map((s) => {
    const h = held.get(s.id) ?? { resellerStatus: 'active' as Status, numbers: [], identities: [] };
    return { subscriber: s, effectiveStatus: subscriberEffectiveStatus(h.resellerStatus, s.status), numbers: h.numbers, identities: h.identities };
  });
}

/** One subscriber's view; with forUpdate its row is locked (an If-Match compared in the write's transaction). */
export async function viewOf(db: Db, scope: Scope, id: number, opts: { forUpdate?: boolean } = {}): Promise<SubscriberView> {
  const sub = await repo.getSubscriber(db, scope, id, opts);
  if (!sub) throw new NotFoundError();
  return (await viewsOf(db, [sub]))[0] as SubscriberView;
}

/** The subscriber's numbers, active and released (the API's numbers list). */
export async function numbersOf(db: Db, scope: Scope, id: number): Promise<repo.PhoneNumber[]> {
  const sub = await getOrThrow(db, scope, id);
  return repo.listNumbers(db, sub.resellerId, id, { includeReleased: true });
}

/** Many subscribers by id, within the scope (the bulk answer). */
export async function subscribersByIds(db: Db, scope: Scope, ids: number[]): Promise<repo.Subscriber[]> {
  return repo.subscribersByIds(db, scope, ids);
}
