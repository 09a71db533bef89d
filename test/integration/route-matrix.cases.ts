/**
 * The role and tenant matrix, generated from the router itself (ARCHITECTURE.md: "cross-tenant and
 * role checks are tests, generated over every route, not written one by one").
 *
 * Every (method, path) that the Express router knows is tried as every role and as nobody, with the
 * ids of the person's own tenant, of another tenant, and (for routes with two or more ids) a mix of
 * both. A new route is covered the moment it is registered; a route under a new URL prefix or with a
 * path parameter this file cannot fill fails here until the tables below say what it is.
 *
 * Cases that must not change anything run on one shared set of tenants with logged-in clients and
 * compare a hash of every table before and after. Cases that may write (an admin on their own rows,
 * anyone on their own login) get a fresh set of tenants and a fresh login, so that deactivating a
 * reseller or logging out cannot disturb the cases after them.
 *
 * The routes are dealt round SHARDS files (route-matrix.test.ts, route-matrix-2.test.ts, ...), each
 * with its own app and database: every route is still tried in exactly one of them, and the files run
 * side by side. Each database then holds a share of the fresh tenants that the writing cases make,
 * and every snapshot and leak check reads that database whole: one file took as long as the rest of
 * the suite on one core.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { Db } from '../../src/db/knex';
import { isReadOnly, portalOf, ROLES, type Portal, type Role } from '../../src/domain/tenancy/roles';
import { isWriteForm, SELF_SERVICE_WRITES } from '../../src/web/guards';
import { INTAKE_PATH } from '../../src/modules/intake/intake.routes';
import { API_MOUNT } from '../../src/web/api';
import { createTestApp, type TestApp } from '../support/app';
import { makeCallLeg, makeCdrReject, makeCharge, makeJurisdiction, makeRates, makeSubscriber, makeTax, makeTenants as makeBaseTenants, makeTollAssignment, makeTollPackage, randomNumber, rateRow } from '../support/factories';
import { Client } from '../support/http';
import { presetSpec, RECORD_PRESETS } from '../../src/domain/records';
import { runReconciliation } from '../../src/modules/reconciliation/reconciliation.service';

/**
 * The two tenants of makeTenants, plus rows for path parameters of operator-level and per-owner
 * tables: two tax jurisdictions (operator-level; "foreign" is simply the other one), the operator's
 * tax and a tax of each reseller.
 */
async function makeTenants(db: Db) {
  const fx = await makeBaseTenants(db);
  const jurisdictions = { a: await makeJurisdiction(db), b: await makeJurisdiction(db) };
  const operatorTax = await makeTax(db, null, jurisdictions.a.id);
  const withTax = async <T extends { reseller: { id: number } }>(x: T) => ({ ...x, tax: await makeTax(db, x.reseller.id, jurisdictions.a.id) });
  // An extension of each tenant's subscriber, in a SIP domain of that tenant's own.
  const withIdentity = async <T extends { reseller: { id: number; code: string }; subscriber: { id: number } }>(x: T) => {
    const [identity] = await db('subscriber_identities').insert({ reseller_id: x.reseller.id, subscriber_id: x.subscriber.id, identity: '1001', domain: `${x.reseller.code}.pbx.example` }).returning('*');
    return { ...x, identity: identity as { id: number; identity: string; domain: string } };
  };
  // A call leg of each tenant's subscriber (from its own number), and a record the intake refused.
  const withLeg = async <T extends { reseller: { id: number }; subscriber: { id: number }; number: { number: string } }>(x: T) => ({
    ...x,
    leg: await makeCallLeg(db, { platformId: fx.platform.id, resellerId: x.reseller.id, subscriberId: x.subscriber.id, calling: x.number.number }),
  });
  // An on-net call that b's subscriber paid for (b's charges) and a's subscriber received: a's
  // people see it, their own side only. Made from a number of b's kept for it, the caller id that
  // a's subscriber's phone showed (see refreshMarkers).
  const callerId = randomNumber();
  await db('phone_numbers').insert({ reseller_id: fx.b.reseller.id, subscriber_id: fx.b.subscriber.id, number: callerId });
  const received = await makeCallLeg(db, {
    platformId: fx.platform.id, resellerId: fx.b.reseller.id, subscriberId: fx.b.subscriber.id, calling: callerId, called: fx.a.number.number, direction: 'onnet',
    calleeResellerId: fx.a.reseller.id, calleeSubscriberId: fx.a.subscriber.id,
  });
  for (const kind of ['wholesale', 'retail'] as const) {
    await makeCharge(db, received, { kind, resellerId: fx.b.reseller.id, subscriberId: fx.b.subscriber.id, ratePlanId: fx.b.plan.id, amount: RECEIVED_CHARGE, direction: 'onnet' });
  }
  const reject = await makeCdrReject(db, { platformId: fx.platform.id });
  // An LD carrier (operator-only, like platforms), with the operator's plan as its cost deck and a trunk of the platform mapped to it.
  const [carrier] = await db('carriers').insert({ name: `LD ${crypto.randomBytes(4).toString('hex')}`, cost_plan_id: fx.operatorPlan.id, credential_hash: crypto.randomBytes(32).toString('hex'), credential_rotated_at: new Date() }).returning('id');
  // A reconciliation run of that carrier (an empty month: no legs, no records).
  const reconRun = await runReconciliation(db, Number((carrier as { id: number }).id), Date.parse('2026-01-01T00:00:00Z'), Date.parse('2026-02-01T00:00:00Z'), { trigger: 'automatic' });
  await db('platforms').where({ id: fx.platform.id }).update({ trunk_carriers: db.raw("jsonb_build_object('gw-ld', (SELECT name FROM carriers WHERE id = ?))", [carrier.id]) });
  // A billing file it sent, with a bad row.
  const carrierFileBody = Buffer.from('record_id,called,start,seconds,cost,currency\nM-1,+442071234567,2026-11-05T10:00:00Z,60,0.01,USD\nM-2,x,2026-11-05T10:00:00Z,60,0.01,USD\n');
  const [carrierFile] = await db('carrier_files').insert({ carrier_id: carrier.id, format: 'carrier-generic-csv', via: 'post', body: carrierFileBody, byte_size: carrierFileBody.length, sha256: crypto.createHash('sha256').update(carrierFileBody).digest('hex'), status: 'stored', records: 1, bad_rows: 1 }).returning('id');
  await db('carrier_file_bad_rows').insert({ file_id: carrierFile.id, line: 3, reason: 'called: not a number', raw: 'M-2,x,2026-11-05T10:00:00Z,60,0.01,USD' });
  // A finished job of the operator's and of each reseller.
  const job = async (resellerId: number | null) => ({ id: (await db('jobs').insert({ reseller_id: resellerId, kind: 'rerate', title: 'Re-rating', total: 1, done: 1, status: 'done', return_to: '/', result: JSON.stringify({ message: 'Done.' }) }).returning('id'))[0].id as number });
  const withJob = async <T extends { reseller: { id: number } }>(x: T) => ({ ...x, job: await job(x.reseller.id) });
  const operatorJob = await job(null);
  // Toll packages: the operator's group and package, held by each reseller; each reseller's own
  // group and package, held by its subscriber (the operator's group in it too), with usage.
  const tolls = await makeTollPackage(db, null);
  const withTolls = async <T extends { reseller: { id: number }; subscriber: { id: number } }>(x: T) => {
    const own = await makeTollPackage(db, x.reseller.id, [tolls.group.id]);
    return {
      ...x, group: own.group, tollPackage: own.tollPackage,
      resellerTollAssignment: await makeTollAssignment(db, { resellerId: x.reseller.id, subscriberId: null, packageId: tolls.tollPackage.id }),
      subscriberTollAssignment: await makeTollAssignment(db, { resellerId: x.reseller.id, subscriberId: x.subscriber.id, packageId: own.tollPackage.id, usedSeconds: 90 }),
    };
  };
  // A rate of each plan (the operator's and each tenant's), for the pages of one rate.
  const rateOf = async (plan: { id: number; reseller_id: number | null }) => {
    await makeRates(db, rateRow(plan, { prefix: '44' }));
    return { id: Number((await db('rates').where({ rate_plan_id: plan.id }).first('id')).id) };
  };
  const operatorRate = await rateOf(fx.operatorPlan);
  const withRate = async <T extends { plan: { id: number; reseller_id: number | null } }>(x: T) => ({ ...x, rate: await rateOf(x.plan) });
  // Feature packages: two features of the operator's catalogue (both its own), a package of the
  // operator's offered to each tenant, each tenant's package built on its offer and assigned to
  // its subscriber.
  const feature = async (code: string) => (await db('features').insert({ code, name: `Feature ${code}` }).returning('*'))[0] as { id: number };
  const u = crypto.randomBytes(4).toString('hex');
  const features = { a: await feature(`fa${u}`), b: await feature(`fb${u}`) };
  const featurePackage = async (resellerId: number | null, base: number | null, name: string) => {
    const [p] = await db('feature_packages').insert({ reseller_id: resellerId, base_package_id: base, name, currency: 'USD', setup_fee: '1', monthly_fee: '2' }).returning('*');
    await db('feature_package_features').insert({ package_id: p.id, feature_id: features.a.id });
    return p as { id: number };
  };
  const operatorFeaturePackage = await featurePackage(null, null, `Operator features ${u}`);
  const withFeatures = async <T extends { reseller: { id: number }; subscriber: { id: number } }>(x: T) => {
    await db('feature_package_offers').insert({ package_id: operatorFeaturePackage.id, reseller_id: x.reseller.id });
    const pkg = await featurePackage(x.reseller.id, operatorFeaturePackage.id, `Features of ${x.reseller.id}`);
    const [assignment] = await db('package_assignments').insert({ reseller_id: x.reseller.id, subscriber_id: x.subscriber.id, feature_package_id: pkg.id, starts_at: '2026-01-01T00:00:00Z' }).returning('*');
    return { ...x, featurePackage: pkg, featureAssignment: assignment as { id: number } };
  };
  // A record specification of each reseller (the plain preset).
  const withRecordSpec = async <T extends { reseller: { id: number } }>(x: T) => {
    const [spec] = await db('record_specifications').insert({ reseller_id: x.reseller.id, name: `Plain ${x.reseller.id}`, period: 'daily', spec: JSON.stringify(presetSpec(RECORD_PRESETS[0]!)) }).returning('id');
    const specId = Number((spec as { id: number }).id);
    // A closed record file of that spec (one chunk) and a record-files API key of the reseller.
    const bytes = Buffer.from(`leg_id\n${x.reseller.id}\n`);
    const [file] = await db('record_files').insert({
      reseller_id: x.reseller.id, spec_id: specId, period_start: '2026-01-01T00:00:00Z', period_end: '2026-01-02T00:00:00Z', status: 'closed', chunks: 1, records: 1,
      byte_size: bytes.length, sha256: crypto.createHash('sha256').update(bytes).digest('hex'), number: 1, filename: `plain-${x.reseller.id}.csv`, closed_at: new Date(),
    }).returning('id');
    const recordFileId = Number((file as { id: number }).id);
    await db('record_file_chunks').insert({ file_id: recordFileId, seq: 0, bytes });
    const [key] = await db('record_file_keys').insert({ reseller_id: x.reseller.id, label: 'Matrix', prefix: 'rfk_matrix', key_hash: crypto.randomBytes(32).toString('hex') }).returning('id');
    return { ...x, recordSpec: { id: specId }, recordFile: { id: recordFileId }, recordFileKey: { id: Number((key as { id: number }).id) }, apiKey: await apiKey(x.reseller.id) };
  };
  // An API key of the reseller's (issue 14), and one of the operator's.
  const apiKey = async (resellerId: number | null) => {
    const [k] = await db('api_keys').insert({ reseller_id: resellerId, name: 'Matrix', access: 'write', key_hash: crypto.randomBytes(32).toString('hex'), key_hint: 'abcd' }).returning('id');
    return { id: Number((k as { id: number }).id) };
  };
  const operatorApiKey = await apiKey(null);
  // A webhook endpoint of the operator and of each reseller, each with one delivery and its attempt.
  const webhook = async (resellerId: number | null) => {
    const [endpoint] = await db('webhook_endpoints').insert({ reseller_id: resellerId, url: `https://hooks.example/${resellerId ?? 'operator'}`, secret: 'v1.sealed.in.matrix' }).returning('id');
    const endpointId = Number((endpoint as { id: number }).id);
    const [delivery] = await db('webhook_deliveries').insert({
      endpoint_id: endpointId, reseller_id: resellerId, event_id: `msg_matrix_${endpointId}`, event_type: 'subscriber.updated', entity_type: 'subscriber', entity_id: 1,
      body: '{}', event_at: new Date(), status: 'delivered', attempts: 1, give_up_at: new Date(), finished_at: new Date(),
    }).returning('id');
    const deliveryId = Number((delivery as { id: number }).id);
    await db('webhook_attempts').insert({ delivery_id: deliveryId, status_code: 200, answer: 'ok', duration_ms: 5 });
    return { webhook: { id: endpointId }, webhookDelivery: { id: deliveryId } };
  };
  const operatorWebhook = await webhook(null);
  const withWebhook = async <T extends { reseller: { id: number } }>(x: T) => ({ ...x, ...(await webhook(x.reseller.id)) });
  const tenant = async <T extends typeof fx.a>(x: T) => withWebhook(await withRecordSpec(await withFeatures(await withRate(await withTolls(await withIdentity(await withJob(await withLeg(await withTax(x)))))))));
  return {
    ...fx, jurisdictions, operatorTax, operatorJob, operatorRate, reject, carrier: { id: Number((carrier as { id: number }).id) }, carrierFile: { id: Number((carrierFile as { id: number }).id) }, reconRun: { id: reconRun.id }, received: { ...received, callerId }, operatorGroup: tolls.group, operatorTollPackage: tolls.tollPackage,
    features, operatorFeaturePackage, operatorApiKey, operatorWebhook,
    a: await tenant(fx.a),
    b: await tenant(fx.b),
  };
}

/** The amount of b's charges on the call a's subscriber received: never on a page of a's people. */
const RECEIVED_CHARGE = '0.9876000000';

type Fixture = Awaited<ReturnType<typeof makeTenants>>;
type Who = Role | 'anonymous';
type TenantKey = 'a' | 'b';
/** own: every id is the person's tenant's (a); foreign: every id is another tenant's (b); mixed: the first id own, the rest foreign. */
type Variant = 'own' | 'foreign' | 'mixed';
/** Who a route is for: anyone, any logged-in person, or the people of one portal. */
type Access = 'public' | 'login' | 'machine' | Portal;

interface RouteInfo {
  method: string;
  path: string;
  key: string;
  params: string[];
}

const WHO: readonly Who[] = [...ROLES, 'anonymous'];

/** Routes anyone may call, logged in or not, each with the reason. */
const PUBLIC_ROUTES: Record<string, string> = {
  'GET /': 'sends people to their home page, or to the login page',
  'GET /healthz': 'health check for the load balancer; says only up or down',
  'GET /favicon.ico': 'the site icon, which browsers fetch before anyone logs in',
  'GET /public/vendor/chart.umd.min.js': "the dashboards' chart library (Chart.js) from its package, a static file like the rest of /public",
  'GET /login': 'the login form',
  'POST /login': 'the login form',
  'GET /login/totp': 'second login step; shows nothing without the first step in the same session',
  'POST /login/totp': 'second login step',
  'GET /login/choose': 'choosing between the logins one email and password open; shows nothing without the password checked in the same session',
  'POST /login/choose': 'choosing between the logins one email and password open',
  'POST /logout': 'ending a session is harmless, with or without one (also a self-service write)',
  // The API's description (issue 14): the same for every installation, no data in it.
  'GET /api/v1/openapi.json': 'the OpenAPI document of the API, generated from its schemas',
  'GET /api/v1/docs': 'the API reference page, drawn from the OpenAPI document',
  'GET /api/v1/docs/swagger-ui.css': 'the reference page’s style sheet, a static file of a package',
  'GET /api/v1/docs/swagger-ui-bundle.js': 'the reference page’s script, a static file of a package',
};

/** The routes whose answer is the same for everyone and holds nothing private: cached. */
const CACHEABLE: Record<string, string> = {
  'GET /favicon.ico': "the site's icon, a static file",
  'GET /public/vendor/chart.umd.min.js': 'the chart library, a static file of a package',
  'GET /api/v1/openapi.json': 'the API’s description: revalidated (no-cache), holds no data',
  'GET /api/v1/docs': 'the API reference page: revalidated (no-cache), holds no data',
  'GET /api/v1/docs/swagger-ui.css': 'a static file of a package',
  'GET /api/v1/docs/swagger-ui-bundle.js': 'a static file of a package',
};

/** URL prefixes and the guard that app.ts mounts on each. */
function accessOf(path: string): Access | undefined {
  const under = (prefix: string) => path === prefix || path.startsWith(`${prefix}/`);
  if (under('/wholesale')) return 'wholesale';
  if (under('/reseller')) return 'reseller';
  if (under('/me')) return 'subscriber';
  if (under('/account')) return 'login';
  // Machine endpoints: a platform's credential or an API key, never a person's session.
  if (under('/api')) return 'machine';
  return undefined;
}

function routeAccess(r: RouteInfo): Access | undefined {
  return r.key in PUBLIC_ROUTES ? 'public' : accessOf(r.path);
}

/**
 * How to fill each path parameter with tenant a's (own) or tenant b's (foreign) row. `portal` is
 * the portal of the route, for ids whose meaning depends on it.
 */
const PARAMS: Record<string, (fx: Fixture, t: TenantKey, portal: Access) => number> = {
  resellerId: (fx, t) => fx[t].reseller.id,
  subscriberId: (fx, t) => fx[t].subscriber.id,
  numberId: (fx, t) => fx[t].number.id,
  identityId: (fx, t) => fx[t].identity.id,
  // A number range the operator gave the tenant (the one holding its subscriber's number).
  rangeId: (fx, t) => fx[t].range.id,
  // Under /wholesale a plan is the operator's own; "foreign" there is a reseller's plan, which the
  // operator's plan pages must not reach. Under /reseller it is that reseller's plan.
  // Platforms are the operator's alone: there is no other tenant's platform, so "foreign" is one that does not exist.
  platformId: (fx, t) => (t === 'a' ? fx.platform.id : 999_999),
  // LD carriers are the operator's alone, like platforms: "foreign" is one that does not exist.
  carrierId: (fx, t) => (t === 'a' ? fx.carrier.id : 999_999),
  // A carrier's received file: "foreign" is one that does not exist (another carrier's is tested in carrier-data.test.ts).
  carrierFileId: (fx, t) => (t === 'a' ? fx.carrierFile.id : 999_999),
  // A reconciliation run of that carrier; "foreign" is one that does not exist.
  runId: (fx, t) => (t === 'a' ? fx.reconRun.id : 999_999),
  planId: (fx, t, portal) => (portal === 'wholesale' ? (t === 'a' ? fx.operatorPlan.id : fx.b.plan.id) : fx[t].plan.id),
  // A rate of that plan: under /wholesale the operator plan's ("foreign": a reseller plan's); under /reseller that reseller plan's.
  rateId: (fx, t, portal) => (portal === 'wholesale' ? (t === 'a' ? fx.operatorRate.id : fx.b.rate.id) : fx[t].rate.id),
  // Taxes, like plans: under /wholesale the operator's own ("foreign": a reseller's, which the
  // operator's tax pages must not reach); under /reseller that reseller's.
  taxId: (fx, t, portal) => (portal === 'wholesale' ? (t === 'a' ? fx.operatorTax.id : fx.b.tax.id) : fx[t].tax.id),
  // Jurisdictions are the operator's list: both are its own (see OPERATOR_REACHES_EVERY_TENANT).
  jurisdictionId: (fx, t) => fx.jurisdictions[t].id,
  // Call legs: under /reseller that reseller's; operator staff reach every tenant's (see OPERATOR_REACHES_EVERY_TENANT).
  legId: (fx, t) => fx[t].leg.id,
  // Jobs: under /reseller that reseller's; operator staff reach every job, every reseller's and the
  // system's periodic work (see OPERATOR_REACHES_EVERY_TENANT).
  jobId: (fx, t) => fx[t].job.id,
  // Rejected records are the operator's alone, like platforms: "foreign" is one that does not exist.
  rejectId: (fx, t) => (t === 'a' ? fx.reject.id : 999_999),
  // /wholesale/users/:userId edits operator staff: "foreign" there is a reseller's login, which the
  // wholesale users pages must not reach. Under /reseller it is that reseller's staff login.
  // Destination groups and toll packages, like plans: under /wholesale the operator's own
  // ("foreign": a reseller's, which the operator's pages must not reach); under /reseller that reseller's.
  destinationGroupId: (fx, t, portal) => (portal === 'wholesale' ? (t === 'a' ? fx.operatorGroup.id : fx.b.group.id) : fx[t].group.id),
  tollPackageId: (fx, t, portal) => (portal === 'wholesale' ? (t === 'a' ? fx.operatorTollPackage.id : fx.b.tollPackage.id) : fx[t].tollPackage.id),
  // A toll-package assignment: under /wholesale the reseller's own (the operator's package it
  // holds); under /reseller its subscriber's. Operator staff reach every reseller's.
  tollAssignmentId: (fx, t, portal) => (portal === 'wholesale' ? fx[t].resellerTollAssignment.id : fx[t].subscriberTollAssignment.id),
  // The operator's catalogue: both features are its own (see OPERATOR_REACHES_EVERY_TENANT).
  featureId: (fx, t) => fx.features[t].id,
  // Under /wholesale the operator's package ("foreign": a reseller's, which the operator's package
  // pages must not reach); under /reseller that reseller's own package.
  featurePackageId: (fx, t, portal) => (portal === 'wholesale' ? (t === 'a' ? fx.operatorFeaturePackage.id : fx.b.featurePackage.id) : fx[t].featurePackage.id),
  // A feature package assignment of the tenant's subscriber.
  featureAssignmentId: (fx, t) => fx[t].featureAssignment.id,
  // A record specification of the tenant: under /wholesale any reseller's (with that reseller's
  // id beside it), under /reseller its own.
  recordSpecId: (fx, t) => fx[t].recordSpec.id,
  // A closed record file of the tenant (under /wholesale with its reseller's id beside it) and a
  // record-files API key (the reseller portal only).
  recordFileId: (fx, t) => fx[t].recordFile.id,
  recordFileKeyId: (fx, t) => fx[t].recordFileKey.id,
  // API keys: under /wholesale/api-keys the operator's own ("foreign": a reseller's, which those
  // pages must not reach); under /reseller that reseller's. Beside a reseller's id on the operator's
  // pages, that reseller's key (resellerApiKeyId; operator staff reach every reseller's).
  apiKeyId: (fx, t, portal) => (portal === 'wholesale' ? (t === 'a' ? fx.operatorApiKey.id : fx.b.apiKey.id) : fx[t].apiKey.id),
  resellerApiKeyId: (fx, t) => fx[t].apiKey.id,
  // Webhook endpoints and their deliveries: under /wholesale the operator's own ("foreign": a
  // reseller's, which the operator's webhook pages must not reach); under /reseller that reseller's.
  webhookEndpointId: (fx, t, portal) => (portal === 'wholesale' ? (t === 'a' ? fx.operatorWebhook.webhook.id : fx.b.webhook.id) : fx[t].webhook.id),
  webhookDeliveryId: (fx, t, portal) => (portal === 'wholesale' ? (t === 'a' ? fx.operatorWebhook.webhookDelivery.id : fx.b.webhookDelivery.id) : fx[t].webhookDelivery.id),
  userId: (fx, t, portal) =>
    portal === 'wholesale' ? (t === 'a' ? fx.wholesaleSupport.id : fx.b.support.id) : portal === 'reseller' ? fx[t].support.id : fx[t].subscriberUser.id,
};

/** Parameters whose tenant-b value operator staff legitimately reach under /wholesale (every reseller is theirs). */
const OPERATOR_REACHES_EVERY_TENANT = new Set(['resellerId', 'subscriberId', 'numberId', 'identityId', 'rangeId', 'jurisdictionId', 'legId', 'jobId', 'tollAssignmentId', 'featureId', 'recordSpecId', 'recordFileId', 'resellerApiKeyId']);

/** GET pages that send some roles elsewhere instead of showing a page: the place they send them. */
const GET_REDIRECTS: Record<string, (who: Role) => string | undefined> = {
  // Two-factor login is for staff; a subscriber is sent back to their login page.
  'GET /account/totp': (who) => (who === 'subscriber' ? '/account' : undefined),
};

/**
 * Pages that show secrets or billing data, named so that a rename cannot drop them from the
 * Cache-Control check (which every answer to a logged-in person passes): the one-time platform
 * credential (shown by creating or rotating), TOTP enrolment, calls, charges and every CSV export.
 */
const NO_STORE_PAGES = [
  'POST /wholesale/platforms', 'POST /wholesale/platforms/:platformId/rotate', 'GET /account/totp',
  // An LD carrier's one-time posting credential (shown by creating or rotating) and the carriers' CSV.
  'POST /wholesale/carriers', 'POST /wholesale/carriers/:carrierId/rotate', 'GET /wholesale/carriers.csv',
  // A carrier's billing files: the list (totals), its CSV, a file's page (its bad rows) and its bytes as received.
  'GET /wholesale/carriers/:carrierId/files', 'GET /wholesale/carriers/:carrierId/files.csv', 'GET /wholesale/carriers/:carrierId/files/:carrierFileId',
  'GET /wholesale/carriers/:carrierId/files/:carrierFileId/download',
  // A carrier's reconciliation: the runs, a run's report with its records, and its CSVs (costs and calls).
  'GET /wholesale/carriers/:carrierId/reconciliation', 'GET /wholesale/carriers/:carrierId/reconciliation/:runId',
  'GET /wholesale/carriers/:carrierId/reconciliation/:runId/items.csv', 'GET /wholesale/carriers/:carrierId/reconciliation/:runId/dispute.csv',
  'GET /wholesale/carriers/report', 'GET /wholesale/carriers/report.csv',
  'GET /wholesale/calls', 'GET /wholesale/calls/:legId', 'GET /reseller/calls', 'GET /reseller/calls/:legId', 'GET /me/calls',
  'GET /wholesale/calls.csv', 'GET /reseller/calls.csv', 'GET /wholesale/rate-plans/:planId/deck.csv', 'GET /wholesale/rate-plans/:planId/bands.csv',
  'GET /reseller/rate-plans/:planId/deck.csv', 'GET /reseller/rate-plans/:planId/bands.csv',
  'GET /me/account', 'GET /reseller/account', 'GET /reseller/subscribers/:subscriberId/account', 'GET /wholesale/resellers/:resellerId/account',
  'GET /wholesale/resellers/:resellerId/subscribers/:subscriberId/account',
  'GET /wholesale/rate-plans/:planId/compare.csv', 'GET /reseller/rate-plans/:planId/compare.csv', 'GET /reseller/wholesale-plan', 'GET /reseller/rate-plans/:planId/margins',
  'GET /me/calls.csv', 'GET /reseller/subscribers/:subscriberId/calls', 'GET /reseller/subscribers/:subscriberId/calls.csv',
  'GET /wholesale/resellers/:resellerId/subscribers/:subscriberId/calls', 'GET /wholesale/resellers/:resellerId/subscribers/:subscriberId/calls.csv',
  // The lists' CSVs (src/web/lists.ts).
  'GET /wholesale/resellers.csv', 'GET /wholesale/resellers/:resellerId/subscribers.csv', 'GET /reseller/subscribers.csv',
  'GET /wholesale/users.csv', 'GET /reseller/users.csv', 'GET /wholesale/resellers/:resellerId/users.csv', 'GET /wholesale/platforms.csv',
  'GET /wholesale/taxes.csv', 'GET /reseller/taxes.csv', 'GET /wholesale/tax-jurisdictions.csv', 'GET /wholesale/exchange-rates.csv',
  'GET /wholesale/resellers/:resellerId/number-ranges.csv', 'GET /reseller/number-ranges.csv', 'GET /wholesale/rejects.csv',
  'GET /wholesale/jobs.csv', 'GET /reseller/jobs.csv', 'GET /wholesale/audit.csv', 'GET /reseller/audit.csv',
  'GET /wholesale/features.csv', 'GET /wholesale/feature-packages.csv', 'GET /reseller/feature-packages.csv',
  'GET /wholesale/toll-packages.csv', 'GET /reseller/toll-packages.csv', 'GET /wholesale/destination-groups.csv', 'GET /reseller/destination-groups.csv',
  'GET /reseller/record-specs.csv', 'GET /wholesale/resellers/:resellerId/record-specs.csv',
  // Record specifications: the preview shows calls and charges, its download is the file.
  'GET /reseller/record-specs/:recordSpecId', 'GET /reseller/record-specs/:recordSpecId/download-preview',
  'GET /wholesale/resellers/:resellerId/record-specs/:recordSpecId', 'GET /wholesale/resellers/:resellerId/record-specs/:recordSpecId/download-preview',
  // Record files: the list (totals), each file's download, and the answer that shows a new API key once.
  'GET /reseller/record-files', 'GET /reseller/record-files.csv', 'GET /reseller/record-files/:recordFileId/download', 'POST /reseller/record-files/keys',
  'GET /wholesale/resellers/:resellerId/record-files.csv',
  'GET /wholesale/resellers/:resellerId/record-files', 'GET /wholesale/resellers/:resellerId/record-files/:recordFileId/download',
  // API keys: the answer that shows a new key once.
  'POST /wholesale/api-keys', 'POST /reseller/api-keys', 'POST /wholesale/resellers/:resellerId/api-keys',
  // Webhook endpoints: registering and rotating answer the signing secret, shown once.
  'POST /wholesale/webhooks', 'POST /reseller/webhooks', 'POST /wholesale/webhooks/:webhookEndpointId/rotate', 'POST /reseller/webhooks/:webhookEndpointId/rotate',
  // The reports (issue 12) and every table's CSV.
  'GET /wholesale/reports', 'GET /reseller/reports',
  ...['days', 'resellers', 'destinations', 'carriers', 'unrated', 'taxes', 'recurring'].map((id) => `GET /wholesale/reports/${id}.csv`),
  ...['days', 'subscribers', 'destinations', 'taxes', 'recurring'].map((id) => `GET /reseller/reports/${id}.csv`),
  'GET /wholesale/resellers/:resellerId/reports',
  ...['days', 'subscribers', 'destinations', 'taxes', 'recurring'].map((id) => `GET /wholesale/resellers/:resellerId/reports/${id}.csv`),
  // The accounting exports (issue 12): the page and its journal and invoice files.
  ...['wholesale', 'reseller'].flatMap((p) => [`GET /${p}/reports/accounting`, ...['journal', 'invoices-quickbooks', 'invoices-xero'].map((f) => `GET /${p}/reports/${f}.csv`)]),
];

/**
 * The same path with letters in another case, or a trailing slash: routing is exact, so neither
 * may reach the route (a support role once opened forms for writing as `/reseller/users/4/eDIT`).
 */
function pathVariants(filled: string): string[] {
  const segments = filled.split('/');
  const out: string[] = [];
  // The last and the first segment with letters, each as eDIT for edit.
  const lettered = segments.map((x, i) => (/[a-z]/.test(x) && !/^\d+$/.test(x) ? i : -1)).filter((i) => i > 0);
  for (const i of new Set([lettered[lettered.length - 1], lettered[0]])) {
    if (i === undefined) continue;
    const seg = segments[i] as string;
    const flipped = seg.slice(0, 1) + seg.slice(1).toUpperCase();
    if (flipped === seg) continue;
    out.push(segments.map((x, j) => (j === i ? flipped : x)).join('/'));
  }
  if (filled !== '/') out.push(`${filled}/`);
  return out;
}

/** What must hold after an allowed write, for routes whose point is a side effect. */
const POSTCONDITIONS: Record<string, (c: Client) => Promise<void>> = {
  'POST /logout': async (c) => {
    const res = await c.get('/account');
    assert.equal(res.status, 302, 'after logout the session must be gone');
    assert.equal(res.headers.location, '/login');
  },
};

// ---------------------------------------------------------------------------------------------
// The routes, read from the router

interface LayerLike {
  route?: { path: unknown; methods: Record<string, boolean> };
  handle?: { stack?: LayerLike[] };
  slash?: boolean;
  rawPath?: unknown;
}

function collectRoutes(app: TestApp['portal']): { routes: RouteInfo[]; problems: string[] } {
  const routes: RouteInfo[] = [];
  const problems: string[] = [];
  const walk = (stack: LayerLike[], prefix: string) => {
    for (const layer of stack) {
      if (layer.route) {
        const p = layer.route.path;
        if (typeof p !== 'string') {
          problems.push(`a route with a non-string path (${String(p)}): the matrix cannot fill it`);
          continue;
        }
        // A mounted router's "/" is its mount path (app.use('/api/v1', router) serves /api/v1 and /api/v1/).
        const path = prefix && p === '/' ? prefix : prefix + p;
        for (const m of Object.keys(layer.route.methods)) {
          if (m === '_all') {
            problems.push(`${path} is registered with .all(): list its methods instead`);
            continue;
          }
          const method = m.toUpperCase();
          routes.push({ method, path, key: `${method} ${path}`, params: [...path.matchAll(/:(\w+)/g)].map((x) => x[1] as string) });
        }
      } else if (Array.isArray(layer.handle?.stack)) {
        // A Router: routes are registered with full paths, but follow a mount path if one appears.
        if (layer.slash) walk(layer.handle.stack, prefix);
        else if (typeof layer.rawPath === 'string') walk(layer.handle.stack, prefix + layer.rawPath);
        else problems.push(`a router mounted at ${String(layer.rawPath)}: the matrix cannot read it`);
      }
    }
  };
  walk((app as unknown as { router: { stack: LayerLike[] } }).router.stack, '');
  // Served in front of the portal's router (see intakeHandler), so not in its stack.
  routes.push({ method: 'POST', path: INTAKE_PATH, key: `POST ${INTAKE_PATH}`, params: [] });
  return { routes, problems };
}

// ---------------------------------------------------------------------------------------------
// What each case must answer

type Expectation =
  | { kind: 'public' }
  | { kind: 'machine-only' }
  | { kind: 'login-redirect' }
  | { kind: 'unauthenticated' }
  | { kind: 'forbidden'; why: string }
  | { kind: 'not-found' }
  | { kind: 'page'; redirectTo?: string }
  | { kind: 'allowed-write'; selfService: boolean };

function expectationFor(r: RouteInfo, access: Access, who: Who, variant: Variant): Expectation {
  const write = r.method !== 'GET';
  if (access === 'public') return { kind: 'public' };
  if (access === 'machine') return { kind: 'machine-only' };
  if (who === 'anonymous') return write ? { kind: 'unauthenticated' } : { kind: 'login-redirect' };
  if (access !== 'login' && portalOf(who) !== access) return { kind: 'forbidden', why: `${who} is not a ${access} portal role` };
  const selfService = SELF_SERVICE_WRITES.has(r.path);
  if (write && isReadOnly(who) && !selfService) return { kind: 'forbidden', why: `${who} is view only` };
  if (!write && isReadOnly(who) && isWriteForm(r.path)) return { kind: 'forbidden', why: `${who} is view only: no forms for writing` };
  if (variant === 'mixed') return { kind: 'not-found' };
  if (variant === 'foreign') {
    const operatorReachesAll = portalOf(who) === 'wholesale' && r.params.every((p) => OPERATOR_REACHES_EVERY_TENANT.has(p));
    if (!operatorReachesAll) return { kind: 'not-found' };
  }
  if (write) return { kind: 'allowed-write', selfService };
  return { kind: 'page', redirectTo: GET_REDIRECTS[r.key]?.(who) };
}

function variantsFor(r: RouteInfo): Variant[] {
  if (r.params.length === 0) return ['own'];
  if (r.params.length === 1) return ['own', 'foreign'];
  return ['own', 'foreign', 'mixed'];
}

function fillPath(r: RouteInfo, access: Access, fx: Fixture, variant: Variant): string {
  let i = 0;
  return r.path.replace(/:(\w+)/g, (_m, name: string) => {
    const fill = PARAMS[name];
    if (!fill) throw new Error(`${r.key}: no value for :${name}`);
    const tenant: TenantKey = variant === 'own' || (variant === 'mixed' && i === 0) ? 'a' : 'b';
    i++;
    return String(fill(fx, tenant, access));
  });
}

// ---------------------------------------------------------------------------------------------
// Database snapshot: every table's row count and a hash of its rows

const NOT_SNAPSHOTTED = new Set(['sessions', 'knex_migrations', 'knex_migrations_lock']);

async function snapshotTables(db: Db): Promise<string[]> {
  const rows = await db('information_schema.tables').where({ table_schema: 'public', table_type: 'BASE TABLE' }).orderBy('table_name').pluck('table_name');
  return (rows as string[]).filter((t) => !NOT_SNAPSHOTTED.has(t));
}

/**
 * Row count and a hash of every row of every table. With `ownUserId`, that person's own users row
 * and the audit rows about their own login are left out (self-service writes may touch them).
 */
async function snapshot(db: Db, tables: string[], ownUserId?: number): Promise<Record<string, string>> {
  const parts: string[] = [];
  const bindings: Array<string | number> = [];
  for (const t of tables) {
    let where = '';
    const extra: number[] = [];
    if (ownUserId !== undefined && t === 'users') {
      where = ' where x.id <> ?';
      extra.push(ownUserId);
    } else if (ownUserId !== undefined && t === 'audit_log') {
      where = " where x.entity_type <> 'user' or x.entity_id is distinct from ? or x.actor_user_id is distinct from ?";
      extra.push(ownUserId, ownUserId);
    }
    // A sum of 64-bit hashes of the rows: any order, no sort (an md5 of the sorted rows made the
    // matrix slower with every row the cases add), and a change that keeps the sum is 2^-64 unlikely.
    parts.push(`select ? as t, count(*)::int as n, coalesce(sum(hashtextextended(x::text, 0)), 0)::text as h from ?? x${where}`);
    bindings.push(t, t, ...extra);
  }
  const res = await db.raw(parts.join(' union all '), bindings);
  const out: Record<string, string> = {};
  for (const row of res.rows as Array<{ t: string; n: number; h: string }>) out[row.t] = `${row.n} rows ${row.h}`;
  return out;
}

// ---------------------------------------------------------------------------------------------

function userFor(fx: Fixture, who: Role) {
  switch (who) {
    case 'wholesale_admin':
      return fx.wholesaleAdmin;
    case 'wholesale_support':
      return fx.wholesaleSupport;
    case 'reseller_admin':
      return fx.a.admin;
    case 'reseller_support':
      return fx.a.support;
    case 'subscriber':
      return fx.a.subscriberUser;
  }
}

async function clientFor(app: TestApp['app'], fx: Fixture, who: Who): Promise<Client> {
  if (who === 'anonymous') {
    // A real CSRF token, so that a refusal is the login guard's and not the CSRF check's.
    const c = Client.anonymous(app);
    await c.refreshCsrf('/login');
    return c;
  }
  return Client.login(app, userFor(fx, who).email);
}

function send(c: Client, method: string, path: string) {
  if (method === 'GET') return c.get(path);
  const agent = c.agent as unknown as Record<string, (p: string) => ReturnType<Client['get']>>;
  const fn = agent[method.toLowerCase()];
  if (!fn) throw new Error(`no client method for ${method}`);
  return fn.call(c.agent, path).type('form').send({ _csrf: c.csrf });
}

const isCsrfRefusal = (text: string) => /Form expired/.test(text);

/** How many files share the routes (each calls routeMatrix with its own part, 1 to SHARDS). */
export const SHARDS = 3;

export function routeMatrix(part: number): void {
  describe(`route matrix: every route x every role x own/foreign tenant (part ${part} of ${SHARDS})`, async () => {
    const t = await createTestApp();
    after(() => t.close());
    const { routes: all, problems } = collectRoutes(t.portal);
    // Every SHARDS-th route from this part's: reads and writes of each portal spread over the files.
    const routes = all.filter((_, i) => i % SHARDS === part - 1);
    test(`part ${part} of ${SHARDS}: its share of the routes`, (ctx) => {
      ctx.diagnostic(`${routes.length} of ${all.length} routes = ${routes.reduce((n, r) => n + WHO.length * variantsFor(r).length, 0)} cases`);
      assert.ok(routes.length > 0, 'a part with no routes: fewer routes than parts?');
    });

    let fx: Fixture;
    let tables: string[];
    const shared = new Map<Who, Client>();

    /** Text that only another tenant's rows (or, for a subscriber, another account's) contain. */
    let markers: Partial<Record<Role, string[]>> = {};

    /**
     * Every other reseller's names, codes, account numbers, phone numbers and login emails (and for
     * a subscriber, those of the other accounts of its reseller): none may appear on a page shown to
     * reseller a's people. Taken from the whole database, so a list that leaks shows it on any page.
     */
    async function refreshMarkers() {
      const a = fx.a.reseller.id;
      const own = fx.a.subscriber.id;
      const db = t.db;
      const [resellers, subs, numbers, users, identities] = await Promise.all([
        db('resellers').whereNot('id', a).select('id', 'name', 'code'),
        db('subscribers').select('id', 'reseller_id', 'name', 'account_number'),
        db('phone_numbers').select('reseller_id', 'subscriber_id', 'number'),
        db('users').whereNotNull('reseller_id').select('reseller_id', 'subscriber_id', 'email'),
        db('subscriber_identities').select('reseller_id', 'subscriber_id', 'identity', 'domain'),
      ]);
      const otherTenant: string[] = [];
      const otherAccount: string[] = [];
      for (const r of resellers) otherTenant.push(r.name, r.code);
      for (const x of subs) (x.reseller_id === a ? (x.id === own ? [] : otherAccount) : otherTenant).push(x.name, x.account_number);
      // The caller id of the call a's subscriber received is shown to it and its reseller, as the phone showed it.
      for (const x of numbers) if (x.number !== fx.received.callerId) (x.reseller_id === a ? (x.subscriber_id === own ? [] : otherAccount) : otherTenant).push(x.number);
      // b's charges on that call, as stored and as the pages print amounts.
      otherTenant.push(RECEIVED_CHARGE, RECEIVED_CHARGE.replace(/0+$/, ''));
      for (const x of identities) (x.reseller_id === a ? (x.subscriber_id === own ? [] : otherAccount) : otherTenant).push(`${x.identity}@${x.domain}`);
      for (const x of users) {
        if (x.reseller_id !== a) otherTenant.push(x.email);
        else if (x.subscriber_id != null && x.subscriber_id !== own) otherAccount.push(x.email);
      }
      markers = { reseller_admin: otherTenant, reseller_support: otherTenant, subscriber: [...otherTenant, ...otherAccount] };
    }

    /** New tenants and logged-in clients for the cases that must not change anything. */
    async function resetShared() {
      fx = await makeTenants(t.db);
      // A second account of reseller a, which a's subscriber must not see, and a change in b's
      // audit log, which a's people must not see.
      await makeSubscriber(t.db, fx.a.reseller.id, {}, [randomNumber()]);
      await t.db('audit_log').insert({
        reseller_id: fx.b.reseller.id,
        actor_user_id: fx.b.admin.id,
        actor_email: fx.b.admin.email,
        actor_role: 'reseller_admin',
        entity_type: 'subscriber',
        entity_id: fx.b.subscriber.id,
        action: 'update',
        after: JSON.stringify({ name: fx.b.subscriber.name }),
      });
      await refreshMarkers();
      for (const who of WHO) shared.set(who, await clientFor(t.app, fx, who));
    }

    before(async () => {
      tables = await snapshotTables(t.db);
      await resetShared();
    });

    // The checks of the whole router: once, in part 1.
    if (part === 1) {
      test('the router can be read, and every route is classified and fillable', (ctx) => {
        ctx.diagnostic(`${all.length} routes x ${WHO.length} kinds of visitor = ${all.reduce((n, r) => n + WHO.length * variantsFor(r).length, 0)} cases, in ${SHARDS} parts`);
        assert.deepEqual(problems, []);
        assert.ok(all.length >= 20, `only ${all.length} routes found: is the router walk still right?`);
        const keys = all.map((r) => r.key);
        const dupes = keys.filter((k, i) => keys.indexOf(k) !== i);
        assert.deepEqual(dupes, [], 'a (method, path) registered twice: the second handler never runs');
        for (const r of all) {
          assert.match(r.path, /^\/((?:[\w.-]+|:\w+)(?:\/(?:[\w.-]+|:\w+))*)?$/, `${r.key}: path syntax the matrix does not understand`);
          assert.ok(routeAccess(r), `${r.key} is under no known portal prefix: add it to accessOf() or PUBLIC_ROUTES (and guard it in app.ts)`);
          for (const p of r.params) assert.ok(PARAMS[p], `${r.key} has path parameter :${p} that the matrix cannot fill: add it to PARAMS`);
        }
        for (const k of Object.keys(PUBLIC_ROUTES)) assert.ok(keys.includes(k), `PUBLIC_ROUTES names ${k}, which is not a route`);
        // The API router (mounted at /api/v1 before the portal's middleware) is read too, not only the intake.
        assert.ok(all.some((r) => r.key === `GET ${API_MOUNT}`), `the API router's routes were not found under ${API_MOUNT}: is the router walk still right?`);
        for (const p of SELF_SERVICE_WRITES) {
          const r = all.find((x) => x.path === p && x.method !== 'GET');
          assert.ok(r, `SELF_SERVICE_WRITES names ${p}, which is not a write route`);
          const access = routeAccess(r);
          assert.ok(access === 'login' || access === 'public', `self-service write ${p} must be about one's own login, not under a business portal`);
        }
      });

      test('the pages that show secrets or billing data are routes (and so checked for Cache-Control: no-store)', () => {
        const keys = new Set(all.map((r) => r.key));
        for (const k of NO_STORE_PAGES) assert.ok(keys.has(k), `NO_STORE_PAGES names ${k}, which is not a route`);
      });
    }

    // Each part tries the variants of its own routes: the parts together, every route's.
    test('a route in another letter case or with a trailing slash matches nothing, for every visitor (this part’s routes)', async () => {
      const failures: string[] = [];
      for (const r of routes) {
        const access = routeAccess(r);
        if (!access || access === 'machine') continue;
        for (const who of WHO) {
          const client = shared.get(who) as Client;
          const ownPortal = who !== 'anonymous' && (access === 'login' || access === 'public' || portalOf(who) === access);
          for (const url of pathVariants(fillPath(r, access, fx, 'own')) as string[]) {
            // Writes only as a person of the route's portal, with a real token: what the router says, not a guard.
            if (r.method !== 'GET' && !ownPortal) continue;
            const res = await send(client, r.method, url);
            const where: string = `${who}: ${r.method} ${url} -> ${res.status}`;
            if (res.status === 200 || (res.status >= 300 && res.status < 400 && r.method !== 'GET')) failures.push(`${where}: a variant of ${r.key} was served`);
            // A view-only role may be refused by its guard first (403: writes, and forms in any case): that too never reaches a route.
            // Under the API, a path that is not a public one asks for a key first (401): it is not served either.
            else if (ownPortal && res.status !== 404 && !(res.status === 403 && isReadOnly(who as Role)) && !(res.status === 401 && url.startsWith(`${API_MOUNT}/`))) failures.push(`${where}: must be not found`);
          }
        }
      }
      assert.deepEqual(failures.slice(0, 20), [], `${failures.length} variant(s) answered as if they were the route`);
    });

    for (const r of routes) {
      test(r.key, async () => {
        const unknown = r.params.filter((p) => !PARAMS[p]);
        assert.deepEqual(unknown, [], `${r.key} has path parameters the matrix cannot fill: add them to PARAMS`);
        const access = routeAccess(r);
        assert.ok(access, `${r.key} is under no known portal prefix`);

        let fresh: Fixture | undefined;
        const failures: string[] = [];
        await refreshMarkers();
        // A GET changes nothing for anyone: one snapshot around all its cases (a snapshot per case
        // made the matrix minutes longer); a case that writes is checked on its own.
        const read = r.method === 'GET';
        const beforeRoute = read ? await snapshot(t.db, tables) : undefined;
        for (const who of WHO) {
          for (const variant of variantsFor(r)) {
            const exp = expectationFor(r, access, who, variant);
            const label = `${who} with ${variant} ids`;
            try {
              await runCase(exp, who, variant, label);
            } catch (err) {
              failures.push(`${label}: ${(err as Error).message.split('\n')[0]}`);
              // The case may have changed the shared tenants or ended a shared session: start the
              // next case from a clean slate so that one failure does not cascade into the others.
              if (!(r.method !== 'GET' && (exp.kind === 'allowed-write' || exp.kind === 'public'))) await resetShared();
            }
          }
        }
        if (failures.length) assert.fail(`${r.key}: ${failures.length} failing case(s):\n  ${failures.join('\n  ')}`);
        if (beforeRoute) assert.deepEqual(await snapshot(t.db, tables), beforeRoute, `${r.key}: a GET changed the database (for one of ${WHO.join(', ')})`);

        async function runCase(exp: Expectation, who: Who, variant: Variant, label: string) {
          const write = r.method !== 'GET';
          // Anything that may change state runs on its own tenants with its own login.
          const mayWrite = write && (exp.kind === 'allowed-write' || exp.kind === 'public');
          let data = fx;
          let client: Client;
          if (mayWrite) {
            fresh ??= await makeTenants(t.db);
            data = fresh;
            client = await clientFor(t.app, fresh, who);
          } else {
            client = shared.get(who) as Client;
          }
          const url = fillPath(r, access as Access, data, variant);
          const ownUserId = who !== 'anonymous' && exp.kind === 'allowed-write' && exp.selfService ? userFor(data, who).id : undefined;
          // Every case but an allowed write must leave the data as it was (reads included); a
          // self-service write may touch only the person's own login.
          const checkUnchanged = !read && (exp.kind !== 'allowed-write' || ownUserId !== undefined);
          const before = checkUnchanged ? await snapshot(t.db, tables, ownUserId) : undefined;
          const res = await send(client, r.method, url);
          const where = `${r.method} ${url} -> ${res.status}${res.headers.location ? ` ${res.headers.location}` : ''}`;

          switch (exp.kind) {
            case 'public':
              assert.ok(res.status < (write ? 500 : 400), `${where}: a public route must answer`);
              if (write && who !== 'anonymous') await POSTCONDITIONS[r.key]?.(client);
              break;
            case 'machine-only': {
              assert.equal(res.status, 401, `${where}: a session is no platform credential or API key`);
              // Machine routes run before the portal's middleware: a session is neither read nor renewed,
              // nobody is sent to a login page, and no answer is a page.
              assert.equal(res.headers['set-cookie'], undefined, `${where}: a machine route must not set a session cookie`);
              assert.ok(!(res.status >= 300 && res.status < 400), `${where}: a machine route must not redirect (to a login page or anywhere)`);
              assert.doesNotMatch(String(res.headers['content-type'] ?? ''), /html/, `${where}: a machine route must not answer with a page`);
              // The API router's errors are problem details (the intake keeps its own JSON answers;
              // the form posts answer as their older callers read, web/api-form.ts: result 20 is no key).
              if (r.path.startsWith(`${API_MOUNT}/form/`)) assert.match(res.text, /^result=20&message=/, `${where}: a form post's answer, unauthenticated`);
              else if (r.key !== `POST ${INTAKE_PATH}`) assert.match(String(res.headers['content-type']), /^application\/problem\+json/, `${where}: API errors are problem details`);
              break;
            }
            case 'login-redirect':
              assert.equal(res.status, 302, `${where}: must send anonymous visitors to /login`);
              assert.equal(res.headers.location, '/login', `${where}: must send anonymous visitors to /login`);
              break;
            case 'unauthenticated':
              assert.ok(res.status === 401 || res.status === 403, `${where}: must refuse anonymous writes`);
              assert.ok(!isCsrfRefusal(res.text), `${where}: refused by the CSRF check, not by the login guard`);
              break;
            case 'forbidden':
              assert.equal(res.status, 403, `${where}: ${exp.why}`);
              assert.ok(!isCsrfRefusal(res.text), `${where}: refused by the CSRF check, not by the role guard`);
              break;
            case 'not-found':
              assert.equal(res.status, 404, `${where}: another tenant's (or a mismatched) id must be not found`);
              break;
            case 'page':
              if (exp.redirectTo) {
                assert.equal(res.status, 302, where);
                assert.equal(res.headers.location, exp.redirectTo, where);
              } else {
                assert.equal(res.status, 200, `${where}: must show the page`);
              }
              break;
            case 'allowed-write':
              assert.ok(res.status < 500 && ![401, 403, 404].includes(res.status), `${where}: must be allowed (any answer but 401/403/404/5xx)`);
              assert.ok(!isCsrfRefusal(res.text), `${where}: refused by the CSRF check`);
              await POSTCONDITIONS[r.key]?.(client);
              break;
          }
          if (who !== 'anonymous' && exp.kind !== 'machine-only' && !(r.key in CACHEABLE)) {
            // Every answer to a logged-in person is theirs alone (see NO_STORE_PAGES): never cached.
            assert.equal(res.headers['cache-control'], 'no-store', `${where}: Cache-Control must be no-store`);
          }
          if (who !== 'anonymous' && !mayWrite) {
            // An image has no text to leak anything in.
            const leaked = (markers[who] ?? []).filter((m) => (res.text ?? '').includes(m));
            assert.deepEqual(leaked, [], `${where}: ${who} of reseller a was shown rows that are not theirs: ${leaked.slice(0, 3).join(', ')}`);
          }
          if (before) {
            const afterSnap = await snapshot(t.db, tables, ownUserId);
            assert.deepEqual(afterSnap, before, `${where}: ${label} changed the database`);
          }
        }
      });
    }
  });
}
