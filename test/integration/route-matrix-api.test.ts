/**
 * The route matrix of the JSON API (issue 14), generated from its operations (src/api.ts): every
 * operation x every kind of API key (the operator's read-write and read-only, a reseller's
 * read-write and read-only) x own and another tenant's ids. Every answer is also held to the
 * served OpenAPI document. A new operation is covered the moment it is declared; one with a path
 * parameter this file cannot fill fails here until API_PARAMS says how.
 *
 * What each case must answer:
 * - a reseller's key on an operator operation, an operator key on a reseller's: 403, whatever the ids;
 * - a read-only key on a write: 403;
 * - a reseller's key with another tenant's ids: 404 (never a sign that the row exists);
 * - otherwise the operation runs: not 401, 403, 404 or 5xx (an empty body may well be a 422).
 * Cases that may write run on fresh tenants, so that a deactivation cannot disturb the others.
 *
 * The same matrix runs through the form adapter (POST /api/v1/form/<operationId>, web/api-form.ts):
 * each case must answer the status the JSON request answered, with the result code of that status.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import request from 'supertest';
import { apiOperations } from '../../src/api';
import { SYSTEM_ACTOR } from '../../src/domain/tenancy/actor';
import { OPERATOR, type Owner } from '../../src/domain/tenancy/owner';
import { createKey } from '../../src/modules/api-keys/api-keys.service';
import { resultOf } from '../../src/web/api-form';
import type { ApiOperation } from '../../src/web/api-operations';
import { createTestApp, type TestApp } from '../support/app';
import { makeCallLeg, makeTenants, makeTollAssignment, makeTollPackage } from '../support/factories';
import { OpenApiChecker } from '../support/openapi';

type Tenants = Awaited<ReturnType<typeof apiTenants>>;
type KeyKind = 'operator-write' | 'operator-read' | 'reseller-write' | 'reseller-read';
const KINDS: KeyKind[] = ['operator-write', 'operator-read', 'reseller-write', 'reseller-read'];

/** How to fill each path parameter: the row of tenant a ("own" for reseller a's keys) or b. */
const API_PARAMS: Record<string, (fx: Tenants, t: 'a' | 'b') => number> = {
  resellerId: (fx, t) => fx[t].reseller.id,
  subscriberId: (fx, t) => fx[t].subscriber.id,
  numberId: (fx, t) => fx[t].number.id,
  legId: (fx, t) => fx[t].leg.id,
  identityId: (fx, t) => fx[t].identity.id,
  featureAssignmentId: (fx, t) => fx[t].featureAssignment.id,
  // The operator's package offered to each tenant.
  featurePackageId: (fx) => fx.operatorFeaturePackage.id,
  // The reseller's own toll assignment where the path is a reseller's, else its subscriber's.
  tollAssignmentId: (fx, t) => fx[t].tollAssignment.id,
};

/**
 * The tenants with a row behind every path parameter: a leg of each subscriber, a feature package
 * assignment, and toll package assignments of the subscriber and of the reseller.
 */
async function apiTenants(db: TestApp['db']) {
  const fx = await makeTenants(db);
  const u = crypto.randomBytes(4).toString('hex');
  const [feature] = await db('features').insert({ code: `api${u}`, name: `Feature ${u}` }).returning('*');
  const [operatorPackage] = await db('feature_packages').insert({ name: `Operator ${u}`, currency: 'USD', monthly_fee: '2' }).returning('*');
  await db('feature_package_features').insert({ package_id: operatorPackage.id, feature_id: feature.id });
  const operatorToll = await makeTollPackage(db, null);
  const more = async (x: typeof fx.a) => {
    const leg = await makeCallLeg(db, { platformId: fx.platform.id, resellerId: x.reseller.id, subscriberId: x.subscriber.id });
    await db('feature_package_offers').insert({ package_id: operatorPackage.id, reseller_id: x.reseller.id });
    const [own] = await db('feature_packages').insert({ reseller_id: x.reseller.id, base_package_id: operatorPackage.id, name: `Own ${u}`, currency: 'USD', monthly_fee: '3' }).returning('*');
    await db('feature_package_features').insert({ package_id: own.id, feature_id: feature.id });
    const [featureAssignment] = await db('package_assignments').insert({ reseller_id: x.reseller.id, subscriber_id: x.subscriber.id, feature_package_id: own.id, starts_at: '2026-01-01T00:00:00Z' }).returning('id');
    const toll = await makeTollPackage(db, x.reseller.id);
    const tollAssignment = await makeTollAssignment(db, { resellerId: x.reseller.id, subscriberId: x.subscriber.id, packageId: toll.tollPackage.id });
    const resellerTollAssignment = await makeTollAssignment(db, { resellerId: x.reseller.id, subscriberId: null, packageId: operatorToll.tollPackage.id });
    // A SIP identity of the subscriber (its SIP credential is set and removed through the API).
    const [identity] = await db('subscriber_identities').insert({ reseller_id: x.reseller.id, subscriber_id: x.subscriber.id, identity: '1001', domain: `${x.reseller.code}.pbx.example` }).returning('id');
    return { ...x, leg: { id: Number(leg.id) }, featureAssignment: { id: Number(featureAssignment.id) }, tollAssignment, resellerTollAssignment, identity: { id: Number(identity.id) } };
  };
  return { ...fx, operatorFeaturePackage: { id: Number(operatorPackage.id) }, a: await more(fx.a), b: await more(fx.b) };
}

async function keysFor(t: TestApp, fx: Tenants): Promise<Record<KeyKind, string>> {
  const make = async (owner: Owner, access: 'read' | 'write') => (await createKey(t.db, SYSTEM_ACTOR, owner, { name: `matrix ${access}`, access })).token;
  const a: Owner = { kind: 'reseller', resellerId: fx.a.reseller.id };
  return { 'operator-write': await make(OPERATOR, 'write'), 'operator-read': await make(OPERATOR, 'read'), 'reseller-write': await make(a, 'write'), 'reseller-read': await make(a, 'read') };
}

function expectation(op: ApiOperation, kind: KeyKind, variant: 'own' | 'foreign'): 403 | 404 | 'runs' {
  const reseller = kind.startsWith('reseller');
  if (reseller && op.audience === 'operator') return 403;
  if (!reseller && op.audience === 'reseller') return 403;
  if (kind.endsWith('read') && op.method !== 'get') return 403;
  if (reseller && variant === 'foreign') return 404;
  return 'runs';
}

/** A path parameter's value for this operation (a toll assignment under /resellers is the reseller's own). */
function paramValue(op: ApiOperation, name: string, fx: Tenants, t: 'a' | 'b'): string {
  if (name === 'tollAssignmentId' && op.path.startsWith('/resellers/')) return String(fx[t].resellerTollAssignment.id);
  const f = API_PARAMS[name];
  if (!f) throw new Error(`${op.method} ${op.path}: add :${name} to API_PARAMS`);
  return String(f(fx, t));
}

const fill = (op: ApiOperation, fx: Tenants, t: 'a' | 'b') => op.path.replace(/:(\w+)/g, (_m, name: string) => paramValue(op, name, fx, t));

describe('route matrix: every API operation x every kind of key x own/foreign tenant', () => {
  let t: TestApp;
  let oa: OpenApiChecker;
  const ops = apiOperations();

  before(async () => {
    t = await createTestApp({ API_MAX_REQUESTS_PER_SECOND_PER_KEY: '100000' });
    oa = new OpenApiChecker((await request(t.app).get('/api/v1/openapi.json')).body);
  });
  after(() => t.close());

  test('every operation is in the OpenAPI document and every path parameter can be filled', () => {
    for (const op of ops) {
      assert.ok(oa.doc.paths[op.path.replace(/:(\w+)/g, '{$1}')]?.[op.method], `${op.method} ${op.path} is not documented`);
      for (const [, name] of op.path.matchAll(/:(\w+)/g)) assert.ok(API_PARAMS[name as string], `${op.method} ${op.path}: add :${name} to API_PARAMS`);
    }
  });

  test('reads: each key as its role may, another tenant’s ids answering 404 to a reseller’s key', async () => {
    const fx = await apiTenants(t.db);
    const keys = await keysFor(t, fx);
    const failures: string[] = [];
    for (const op of ops.filter((o) => o.method === 'get')) {
      for (const kind of KINDS) {
        for (const variant of op.path.includes(':') ? (['own', 'foreign'] as const) : (['own'] as const)) {
          const url = `/api/v1${fill(op, fx, variant === 'own' ? 'a' : 'b')}`;
          const res = await request(t.app).get(url).set('Authorization', `Bearer ${keys[kind]}`);
          const where = `${kind}: GET ${url} -> ${res.status}`;
          try {
            oa.check('get', op.path.replace(/:(\w+)/g, '{$1}'), res);
          } catch (err) {
            failures.push(`${where}: ${(err as Error).message.slice(0, 200)}`);
          }
          const want = expectation(op, kind, variant);
          if (want === 'runs' ? [401, 403, 404].includes(res.status) || res.status >= 500 : res.status !== want) failures.push(`${where}: expected ${want}`);
        }
      }
    }
    assert.deepEqual(failures, []);
  });

  test('writes: each on fresh tenants; refused as the roles say, and never reaching another tenant', async () => {
    const failures: string[] = [];
    for (const op of ops.filter((o) => o.method !== 'get')) {
      for (const kind of KINDS) {
        for (const variant of op.path.includes(':') ? (['own', 'foreign'] as const) : (['own'] as const)) {
          const fx = await apiTenants(t.db);
          const keys = await keysFor(t, fx);
          const before = await t.db('audit_log').max('id as m').first();
          const url = `/api/v1${fill(op, fx, variant === 'own' ? 'a' : 'b')}`;
          const res = await request(t.app)[op.method](url).set('Authorization', `Bearer ${keys[kind]}`).send({});
          const where = `${kind}: ${op.method.toUpperCase()} ${url} -> ${res.status}`;
          try {
            oa.check(op.method, op.path.replace(/:(\w+)/g, '{$1}'), res);
          } catch (err) {
            failures.push(`${where}: ${(err as Error).message.slice(0, 200)}`);
          }
          const want = expectation(op, kind, variant);
          if (want === 'runs') {
            if ([401, 403, 404].includes(res.status) || res.status >= 500) failures.push(`${where}: expected it to run`);
          } else {
            if (res.status !== want) failures.push(`${where}: expected ${want}`);
            // A refusal changes nothing.
            const now = await t.db('audit_log').max('id as m').first();
            if (String(now?.m) !== String(before?.m)) failures.push(`${where}: a refused write left an audit row`);
          }
        }
      }
    }
    assert.deepEqual(failures, []);
  });
  /** The operation's path parameters as the form's fields (their snake_case names, as documented). */
  const formFields = (op: ApiOperation, fx: Tenants, t: 'a' | 'b'): Record<string, string> => {
    const documented = oa.doc.paths[`/form/${op.operationId}`]?.post?.requestBody?.content?.['application/x-www-form-urlencoded']?.schema?.properties ?? {};
    const fields: Record<string, string> = {};
    for (const [, name] of op.path.matchAll(/:(\w+)/g)) {
      const snake = (name as string).replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
      fields[snake in documented ? snake : (name as string)] = paramValue(op, name as string, fx, t);
    }
    return fields;
  };

  test('the form adapter: every operation x every kind of key x own/foreign answers as its JSON twin, with the result code of that status', async () => {
    const failures: string[] = [];
    const shared = await apiTenants(t.db);
    const sharedKeys = await keysFor(t, shared);
    for (const op of ops) {
      for (const kind of KINDS) {
        for (const variant of op.path.includes(':') ? (['own', 'foreign'] as const) : (['own'] as const)) {
          const tenant = variant === 'own' ? 'a' : 'b';
          const want = expectation(op, kind, variant);
          // A write that runs changes its tenants: each way in gets fresh ones; a read or a refusal changes nothing.
          const writes = op.method !== 'get' && want === 'runs';
          const answer = async (how: 'json' | 'form') => {
            const fx = writes ? await apiTenants(t.db) : shared;
            const keys = writes ? await keysFor(t, fx) : sharedKeys;
            const before = await t.db('audit_log').max('id as m').first();
            const res =
              how === 'json'
                ? op.method === 'get'
                  ? await request(t.app).get(`/api/v1${fill(op, fx, tenant)}`).set('Authorization', `Bearer ${keys[kind]}`)
                  : await request(t.app)[op.method](`/api/v1${fill(op, fx, tenant)}`).set('Authorization', `Bearer ${keys[kind]}`).send({})
                : await request(t.app).post(`/api/v1/form/${op.operationId}`).type('form').send(new URLSearchParams({ ...formFields(op, fx, tenant), api_key: keys[kind] }).toString());
            const now = await t.db('audit_log').max('id as m').first();
            return { res, wrote: String(now?.m) !== String(before?.m) };
          };
          const json = await answer('json');
          const form = await answer('form');
          const where = `${kind} ${variant}: ${op.operationId} by form -> ${form.res.status} (JSON ${json.res.status})`;
          try {
            oa.check('post', `/form/${op.operationId}`, form.res);
          } catch (err) {
            failures.push(`${where}: ${(err as Error).message.slice(0, 200)}`);
          }
          // The form answers a 204 as 200 (its answer always has a body: the result code).
          if (form.res.status !== (json.res.status === 204 ? 200 : json.res.status)) failures.push(`${where}: not the JSON API's status`);
          const result = new URLSearchParams(form.res.text.trim()).get('result');
          if (result !== String(resultOf(form.res.status, form.res.status === 422 ? { any: 'field' } : undefined)) && !(form.res.status === 422 && result === '11')) failures.push(`${where}: result ${result}`);
          if (want !== 'runs' && form.res.status !== want) failures.push(`${where}: expected ${want}`);
          if (want !== 'runs' && form.wrote) failures.push(`${where}: a refused write left an audit row`);
        }
      }
    }
    assert.deepEqual(failures, []);
  });
});
