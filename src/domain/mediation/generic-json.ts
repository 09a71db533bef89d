/**
 * `generic-json`: our documented JSON call-record format (fields and rules: generic-record.ts and
 * docs/CDR-GENERIC.md). The body is one record object, an array of record objects, or
 * `{ "records": [ ... ] }`:
 *
 *   { "records": [
 *     { "leg_id": "a1f3-01", "call_id": "a1f3", "calling": "+12125550100", "called": "+442071234567",
 *       "start": "2024-05-01T09:30:00-04:00", "answer": "2024-05-01T09:30:07-04:00",
 *       "end": "2024-05-01T09:34:12-04:00", "disposition": "answered", "direction": "outbound",
 *       "trunk": "carrier-a" },
 *     { "leg_id": "a1f4-01", "calling": "+12125550100", "called": "+13125550199",
 *       "start": "2024-05-01T09:40:00-04:00", "end": "2024-05-01T09:40:25-04:00", "disposition": "busy" }
 *   ] }
 *
 * Invalid JSON or an envelope of another shape throws a MediationError; a bad record is refused
 * alone with a message naming the record (0-based index) and each bad field.
 */
import type { AdapterContext, AdapterResult } from '../legs/leg';
import type { MediationAdapter } from './adapter';
import { isPlainObject, MediationError, outcome, parseJsonBody, RecordError } from './common';
import { genericLeg, LegIdRegister } from './generic-record';

export function parseGenericJson(body: string, _contentType: string | undefined, ctx: AdapterContext): AdapterResult {
  const doc = parseJsonBody(body, 'generic-json');
  let items: unknown[];
  let single = false;
  if (Array.isArray(doc)) items = doc;
  else if (isPlainObject(doc) && 'records' in doc) {
    const others = Object.keys(doc).filter((k) => k !== 'records');
    if (others.length) throw new MediationError(`generic-json: unknown top-level field${others.length > 1 ? 's' : ''} ${others.map((k) => `"${k}"`).join(', ')} beside "records"`);
    if (!Array.isArray(doc['records'])) throw new MediationError('generic-json: "records" must be an array of record objects');
    items = doc['records'];
  } else if (isPlainObject(doc)) {
    items = [doc];
    single = true;
  } else {
    throw new MediationError('generic-json: the body must be a record object, an array of records, or { "records": [...] }');
  }
  const ids = new LegIdRegister();
  return {
    records: items.map((item, index) =>
      outcome(index, single ? body : JSON.stringify(item), () => {
        if (!isPlainObject(item)) throw new RecordError(`expected a record object, got ${Array.isArray(item) ? 'an array' : item === null ? 'null' : typeof item}`);
        const leg = genericLeg(item, ctx);
        ids.check(leg.legKey, `record ${index}`);
        return [leg];
      }, `record ${index}`),
    ),
  };
}

export const genericJson: MediationAdapter = { format: 'generic-json', parse: parseGenericJson };
