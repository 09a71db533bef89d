import crypto from 'node:crypto';
import type { Queryable } from './knex';

/**
 * Returns the instance secret stored under `key`, creating a random one on first use. Lets a fresh
 * install keep sessions and encrypted fields valid across restarts without any configuration.
 */
export async function getOrCreateSecret(db: Queryable, key: string): Promise<string> {
  const fresh = crypto.randomBytes(32).toString('base64url');
  await db('settings').insert({ key, value: fresh }).onConflict('key').ignore();
  const row = await db('settings').where({ key }).first('value');
  return row.value as string;
}
