/**
 * `generic-csv`: our documented CSV call-record format (fields and rules: generic-record.ts and
 * docs/CDR-GENERIC.md). RFC 4180 CSV, UTF-8; a header row naming the columns (any order, any
 * subset that includes leg_id, called and start), then one record per line; an empty cell is the
 * same as leaving the field out:
 *
 *   leg_id,call_id,calling,called,start,answer,end,billsec,disposition,direction,trunk
 *   a1f3-01,a1f3,+12125550100,+442071234567,2024-05-01T09:30:00-04:00,2024-05-01T09:30:07-04:00,2024-05-01T09:34:12-04:00,,answered,outbound,carrier-a
 *   a1f4-01,,+12125550100,+13125550199,2024-05-01T09:40:00-04:00,,2024-05-01T09:40:25-04:00,,busy,outbound,carrier-a
 *
 * Broken quoting, an unknown or repeated column, or a missing required column throws a
 * MediationError; a bad row is refused alone with a message naming the record (0-based index),
 * its line and each bad field.
 */
import type { AdapterContext, AdapterResult } from '../legs/leg';
import type { MediationAdapter } from './adapter';
import { csvWithHeader, MediationError, outcome, RecordError } from './common';
import { GENERIC_FIELDS, GENERIC_REQUIRED, genericLeg, LegIdRegister } from './generic-record';

export function parseGenericCsv(body: string, _contentType: string | undefined, ctx: AdapterContext): AdapterResult {
  const csv = csvWithHeader(body, 'generic-csv');
  const known = GENERIC_FIELDS as readonly string[];
  const unknown = csv.header.filter((h) => !known.includes(h));
  if (unknown.length) {
    throw new MediationError(
      `generic-csv: unknown column${unknown.length > 1 ? 's' : ''} ${unknown.map((h) => `"${h}"`).join(', ')} in the header row (the columns are ${GENERIC_FIELDS.join(', ')})`,
      csv.headerLine,
    );
  }
  const missing = GENERIC_REQUIRED.filter((h) => !csv.header.includes(h));
  if (missing.length) {
    throw new MediationError(`generic-csv: the header row has no ${missing.map((h) => `"${h}"`).join(', ')} column${missing.length > 1 ? 's' : ''} (required)`, csv.headerLine);
  }
  const ids = new LegIdRegister();
  return {
    records: csv.rows.map((row, index) =>
      outcome(index, row.raw, () => {
        if (row.extraCells > 0) throw new RecordError(`the row has more cells than the header has columns (${csv.header.length})`);
        const leg = genericLeg(row.values, ctx);
        ids.check(leg.legKey, `record ${index} (line ${row.line})`);
        return [leg];
      }, `record ${index} (line ${row.line})`),
    ),
  };
}

export const genericCsv: MediationAdapter = { format: 'generic-csv', parse: parseGenericCsv };
