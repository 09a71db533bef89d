import { z } from 'zod';
import type { ZodOpenApiPathsObject } from 'zod-openapi';
import { billingApi } from './modules/billing/billing.api';
import { callApi } from './modules/calls/calls.api';
import { featurePackageApi } from './modules/feature-packages/feature-packages.api';
import { ratePlanApi } from './modules/rate-plans/rate-plans.api';
import { resellerApi } from './modules/resellers/resellers.api';
import { switchApi } from './modules/switch/switch.api';
import { subscriberApi } from './modules/subscribers/subscribers.api';
import { tollPackageApi } from './modules/toll-packages/toll-packages.api';
import type { ApiOperation } from './web/api-operations';
import { openApiDocument } from './web/openapi';

/**
 * The JSON API's operations, from the feature modules (each module's *.api.ts), composed here as
 * app.ts composes the portal's routes; and its OpenAPI document, made from them.
 */
export function apiOperations(): ApiOperation[] {
  return [...resellerApi(), ...subscriberApi(), ...switchApi(), ...ratePlanApi(), ...featurePackageApi(), ...tollPackageApi(), ...callApi(), ...billingApi()];
}

// The machine endpoints served in front of the API router, with their own credentials: described
// here so that one document covers every path under /api/v1.
const legOutcome = z.object({
  leg_key: z.string(), id: z.number().int(), call_id: z.string(), status: z.string(), reason: z.string().nullable(), direction: z.string().nullable(),
  duplicate: z.boolean(), differs: z.array(z.string()).optional(),
});
const intakeAnswer = z
  .object({
    accepted: z.number().int(), duplicates: z.number().int(), rejected: z.number().int(), pending: z.number().int().optional(),
    records: z.array(z.object({ index: z.number().int(), status: z.enum(['accepted', 'duplicate', 'rejected', 'pending']), error: z.string().optional(), reject_id: z.number().int().optional(), legs: z.array(legOutcome) })),
    error: z.string().optional(), reject_id: z.number().int().optional(),
  })
  .meta({ id: 'CdrPostResult' });

const machinePaths: ZodOpenApiPathsObject = {
  '/cdrs': {
    post: {
      operationId: 'postCdrs',
      tags: ['CDR intake'],
      summary: 'Post call records from a switch',
      description: [
        'A platform (switch) posts the records of calls as they end, with its own credential (`Authorization: Bearer plt_<id>_…`, made on the platform’s page), not an API key.',
        'The body is in the platform’s format (generic JSON or CSV, Kamailio acc, FreeSWITCH JSON/XML CDR, Asterisk, Cisco, Sipwise, CGRateS: see docs/CDR-FORMATS.md), gzip or deflate allowed.',
        'Answered after the records are committed: each record’s legs, their status and id. Duplicates are recognised and answered as such.',
      ].join(' '),
      security: [{ platformCredential: [] }],
      requestBody: { required: true, content: { 'application/json': { schema: z.unknown() }, 'text/csv': { schema: z.string() }, 'application/xml': { schema: z.string() } } },
      responses: {
        200: { description: 'Stored: every record accepted, duplicate or pending.', content: { 'application/json': { schema: intakeAnswer } } },
        207: { description: 'Stored in part: some records rejected (each with its reason, kept for inspection).', content: { 'application/json': { schema: intakeAnswer } } },
        400: { description: 'Unreadable body (kept in the rejects).', content: { 'application/json': { schema: intakeAnswer } } },
        401: { description: 'No valid platform credential.' },
        403: { description: 'The platform is inactive, or the source address is not allowed.' },
        413: { description: 'Too many bytes or records in one post.' },
        422: { description: 'Nothing storable.' },
        429: { description: 'Too many posts from the platform: see Retry-After.' },
        503: { description: 'A passing fault: nothing stored, post again.' },
      },
    },
  },
  '/carrier-data': {
    post: {
      operationId: 'postCarrierData',
      tags: ['LD carrier data'],
      summary: 'Post an LD carrier’s billing file or stream chunk',
      description: 'With the carrier’s own credential (`Bearer ldc_<id>_…`, made on the carrier’s page). The body is in the carrier’s format (docs/CARRIER-FORMATS.md), gzip allowed. Answered after commit; records are stored once however often posted.',
      security: [{ carrierCredential: [] }],
      requestBody: { required: true, content: { 'text/csv': { schema: z.string() }, 'application/x-ndjson': { schema: z.string() } } },
      responses: { 200: { description: 'Stored: counts of records, duplicates and bad rows (each with its line and reason).' }, 401: { description: 'No valid carrier credential.' }, 422: { description: 'The file could not be read at all (kept as refused, with the reason).' } },
    },
  },
  '/freeswitch/directory': {
    post: {
      operationId: 'freeswitchDirectory',
      tags: ['Switch'],
      summary: 'FreeSWITCH directory lookups (mod_xml_curl)',
      description: 'FreeSWITCH posts its directory requests here (`section=directory`, `user`, `domain`, `action=sip_auth`, …, form-encoded) with a platform’s credential as HTTP basic auth (`gateway-credentials`) or Bearer. An active subscriber’s SIP identity with a SIP password answers its user entry (`a1-hash`, and variables for the account and each active feature); anything else answers the `not found` result. Sample configuration: contrib/freeswitch/xml_curl.conf.xml.',
      security: [{ platformCredential: [] }],
      requestBody: { required: true, content: { 'application/x-www-form-urlencoded': { schema: z.object({ section: z.string(), user: z.string().optional(), domain: z.string().optional(), action: z.string().optional() }) } } },
      responses: { 200: { description: 'The directory document (text/xml), or the not-found result.' }, 401: { description: 'No valid platform credential.' }, 403: { description: 'The platform is inactive or the address not allowed.' } },
    },
  },
  '/record-files': {
    get: {
      operationId: 'listRecordFiles',
      tags: ['Record files'],
      summary: 'A reseller’s closed record files after a cursor',
      description: 'With a record-files key (`rfk_…`, made on the reseller’s record files page). `after` is the number of the last file taken: nothing is skipped or repeated.',
      security: [{ recordFilesKey: [] }],
      requestParams: { query: z.object({ after: z.string().optional() }) },
      responses: { 200: { description: 'The files after the cursor, oldest first, each with its download address.' }, 401: { description: 'No valid record-files key.' } },
    },
  },
};

export function apiDocument(ops: ApiOperation[]) {
  const doc = openApiDocument(ops, {
    paths: machinePaths,
    tags: [
      { name: 'Resellers', description: 'The operator’s resellers: create, change, activate and deactivate (operator keys); a reseller’s key reads its own.' },
      { name: 'Subscribers', description: 'A reseller’s subscribers and their numbers: create, change, activate and deactivate, one by one or in bulk. A reseller’s key reaches its own; an operator’s key every reseller’s.' },
      { name: 'Plans and packages', description: 'The rate plans and feature and toll packages a key may assign; a reseller’s wholesale plan (operator keys), a subscriber’s retail plan, and package assignments of subscribers and resellers, with the portal’s rules.' },
      { name: 'Calls and accounts', description: 'Call legs with the charges the key’s party may see (never the operator’s carrier cost to a reseller), and account status by billing cycle.' },
      { name: 'CDR intake', description: 'Switches post call records.' },
      { name: 'Switch', description: 'The switch reads subscribers’ SIP credentials and features (FreeSWITCH’s directory; Kamailio reads its views: README).' },
      { name: 'LD carrier data', description: 'LD carriers post their billing data for reconciliation.' },
      { name: 'Record files', description: 'Resellers take their rated records.' },
    ],
  });
  const schemes = (doc.components ??= {}).securitySchemes ?? {};
  doc.components.securitySchemes = {
    ...schemes,
    platformCredential: { type: 'http', scheme: 'bearer', description: 'A platform’s credential: `plt_<id>_<secret>`.' },
    carrierCredential: { type: 'http', scheme: 'bearer', description: 'An LD carrier’s credential: `ldc_<id>_<secret>`.' },
    recordFilesKey: { type: 'http', scheme: 'bearer', description: 'A reseller’s record-files key: `rfk_…`.' },
  };
  return doc;
}
