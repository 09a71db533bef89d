import crypto from 'node:crypto';
import type { Db } from '../../src/db/knex';
import type { Role } from '../../src/domain/tenancy/roles';
import { hashPassword } from '../../src/modules/auth/passwords';

/** Test data straight into the tables: fast, and independent of the services under test. */

export const PASSWORD = 'correct horse battery staple';
let cachedHash: Promise<string> | undefined;
const passwordHash = () => (cachedHash ??= hashPassword(PASSWORD));

const uniq = () => crypto.randomBytes(4).toString('hex');

export async function makeReseller(db: Db, over: Partial<Record<string, unknown>> = {}) {
  const u = uniq();
  const [row] = await db('resellers')
    .insert({ name: `Reseller ${u}`, code: `r-${u}`, currency: 'USD', contact_email: `ops-${u}@example.com`, ...over })
    .returning('*');
  return row as { id: number; name: string; code: string; status: string };
}

export async function makeSubscriber(db: Db, resellerId: number, over: Partial<Record<string, unknown>> = {}, numbers: string[] = []) {
  const u = uniq();
  const [row] = await db('subscribers')
    .insert({ reseller_id: resellerId, account_number: `ACC-${u}`, name: `Subscriber ${u}`, country: 'US', region: 'NY', city: 'New York', ...over })
    .returning('*');
  for (const n of numbers) await db('phone_numbers').insert({ reseller_id: resellerId, subscriber_id: row.id, number: n });
  return row as { id: number; reseller_id: number; account_number: string; name: string };
}

export async function makeUser(db: Db, role: Role, opts: { resellerId?: number; subscriberId?: number; email?: string; status?: string } = {}) {
  const [row] = await db('users')
    .insert({
      email: opts.email ?? `${role.replace('_', '-')}-${uniq()}@example.com`,
      name: `${role} ${uniq()}`,
      role,
      reseller_id: opts.resellerId ?? null,
      subscriber_id: opts.subscriberId ?? null,
      password_hash: await passwordHash(),
      status: opts.status ?? 'active',
    })
    .returning('*');
  return row as { id: number; email: string; role: Role };
}

/** A rate plan of the operator (resellerId null) or of a reseller, optionally with rates. */
export async function makePlan(db: Db, resellerId: number | null, over: Partial<Record<string, unknown>> = {}) {
  const [row] = await db('rate_plans')
    .insert({ reseller_id: resellerId, name: `Plan ${uniq()}`, currency: 'USD', rounding_decimals: 4, rounding_method: 'half_up', time_zone: 'UTC', ...over })
    .returning('*');
  return row as { id: number; name: string; reseller_id: number | null };
}

/** A random North American number that no other test uses. */
export function randomNumber(): string {
  return `+1212${String(crypto.randomInt(0, 10_000_000)).padStart(7, '0')}`;
}

/** Two resellers, each with every kind of login and a subscriber with a number. */
export async function makeTenants(db: Db) {
  const wholesaleAdmin = await makeUser(db, 'wholesale_admin');
  const wholesaleSupport = await makeUser(db, 'wholesale_support');
  const operatorPlan = await makePlan(db, null);
  const tenant = async () => {
    const reseller = await makeReseller(db);
    const plan = await makePlan(db, reseller.id);
    const subscriber = await makeSubscriber(db, reseller.id, {}, [randomNumber()]);
    const number = await db('phone_numbers').where({ subscriber_id: subscriber.id }).first();
    return {
      reseller,
      subscriber,
      number: number as { id: number; number: string },
      plan,
      admin: await makeUser(db, 'reseller_admin', { resellerId: reseller.id }),
      support: await makeUser(db, 'reseller_support', { resellerId: reseller.id }),
      subscriberUser: await makeUser(db, 'subscriber', { resellerId: reseller.id, subscriberId: subscriber.id }),
    };
  };
  return { wholesaleAdmin, wholesaleSupport, operatorPlan, a: await tenant(), b: await tenant() };
}
