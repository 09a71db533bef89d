/**
 * `freeswitch-json`: mod_json_cdr (docs/CDR-FORMATS.md section 1). One CDR per channel (leg).
 *
 * Body: the CDR object as raw JSON (encode=false), or a JSON array of CDR objects (a batch), or a
 * form `cdr=<url-encoded JSON>` (encode=true, content type application/x-www-form-urlencoded).
 * Variable values are URL-decoded (encode-values=true writes `2013-05-16%2014%3A33%3A28`).
 * Invalid JSON throws a MediationError with line and column; a CDR that cannot be read (no
 * variables, no uuid, no start) is refused alone.
 */
import type { AdapterContext, AdapterResult } from '../legs/leg';
import type { MediationAdapter } from './adapter';
import { fail, isPlainObject, outcome, parseJsonBody } from './common';
import { type FsCdr, fsCallflow, fsLeg, fsScalars, fsText, fsUnwrapForm, sortCallflows } from './freeswitch-cdr';

function fromJson(doc: unknown): FsCdr {
  if (!isPlainObject(doc)) fail(`expected a CDR object, got ${Array.isArray(doc) ? 'an array' : doc === null ? 'null' : typeof doc}`);
  const variables = doc['variables'];
  if (!isPlainObject(variables)) fail('the CDR has no "variables" object');
  const cf = doc['callflow'];
  const flows = (Array.isArray(cf) ? cf : cf === undefined ? [] : [cf]).map(fsCallflow).filter((f) => f !== null);
  const channelData = isPlainObject(doc['channel_data']) ? doc['channel_data'] : {};
  return {
    variables: fsScalars(variables),
    channelDirection: fsText(channelData['direction']),
    topUuid: fsText(doc['uuid']),
    callflows: sortCallflows(flows),
  };
}

export function parseFreeswitchJson(body: string, contentType: string | undefined, ctx: AdapterContext): AdapterResult {
  const text = fsUnwrapForm(body, contentType, 'freeswitch-json');
  const doc = parseJsonBody(text, 'freeswitch-json');
  if (Array.isArray(doc)) {
    return { records: doc.map((item, index) => outcome(index, JSON.stringify(item), () => [fsLeg(fromJson(item), ctx)])) };
  }
  return { records: [outcome(0, text, () => [fsLeg(fromJson(doc), ctx)])] };
}

export const freeswitchJson: MediationAdapter = { format: 'freeswitch-json', parse: parseFreeswitchJson };
