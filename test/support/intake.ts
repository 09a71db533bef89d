import request from 'supertest';
import { announceReferenceChange } from '../../src/db/change-notices';
import type { Db } from '../../src/db/knex';
import { newCredential } from '../../src/modules/platforms/credentials';
import type { TestApp } from './app';

/** A platform with a known credential, straight into the table (announced: see factories.ts). */
export async function makePlatform(db: Db, over: Partial<Record<string, unknown>> = {}) {
  const [row] = await db('platforms')
    // Tests post calls of any date since 2000 (fixtures from real switches are years old).
    .insert({ name: `pbx-${Math.random().toString(36).slice(2, 8)}`, format: 'generic-json', time_zone: 'UTC', country_code: '1', credential_hash: '0'.repeat(64), accept_calls_from: '2000-01-01T00:00:00Z', ...over })
    .returning('*');
  const { token, hash } = newCredential(row.id);
  await db('platforms').where({ id: row.id }).update({ credential_hash: hash });
  await announceReferenceChange(db, 'platforms');
  return { id: row.id as number, token };
}

export function postCdrs(t: TestApp, token: string, body: string | object, contentType = 'application/json') {
  return request(t.app)
    .post('/api/v1/cdrs')
    .set('Authorization', `Bearer ${token}`)
    .set('Content-Type', contentType)
    .send(typeof body === 'string' ? body : JSON.stringify(body));
}
