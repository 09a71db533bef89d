/**
 * Built-in specifications to start from (a reseller copies one and edits it). The two CDR export
 * layouts follow the column names of the products they are named after, as those products
 * publish them; they are layouts to import into such a system, not a promise of its every rule:
 *
 * - Sipwise NGCP: the columns of its accounting.cdr records, which its CDR exporter
 *   (github.com/sipwise/cdr-exporter) writes to files, as listed in @cdr_fields of
 *   github.com/sipwise/rate-o-mat, rate-o-mat.pl. NGCP keeps costs in cents; these files carry
 *   amounts in currency units with the spec's decimals. Times are epoch seconds, as NGCP's are.
 * - CGRateS: the content fields of the `cdre` "*default" export template in
 *   github.com/cgrates/cgrates, config/config_defaults.go (CgrId, RunId, Tor, AccId, ReqType,
 *   Direction, Tenant, Category, Account, Subject, Destination, SetupTime, AnswerTime, Usage,
 *   Cost), times in its layout "2006-01-02T15:04:05Z07:00" (RFC 3339: our iso8601). Usage is
 *   written in whole seconds.
 */
import { CATALOGUE } from './catalogue';
import { recordSpecSchema, type RecordSpec, type RecordSpecInput } from './spec';

export interface RecordPreset {
  key: string;
  name: string;
  description: string;
  spec: RecordSpecInput;
}

/** Our disposition words in NGCP's call_status vocabulary. */
const SIPWISE_CALL_STATUS = { answered: 'ok', no_answer: 'noanswer', busy: 'busy', cancelled: 'cancel', failed: 'failed' };
/** Our leg status in NGCP's rating_status vocabulary. */
const SIPWISE_RATING_STATUS = { rated: 'ok', partial: 'ok', unrated: 'unrated', blocked: 'failed' };
/** Our directions in CGRateS's (*out: the account pays for a call it made). */
const CGRATES_DIRECTION = { outbound: '*out', forwarded: '*out', onnet: '*out', inbound: '*in' };

export const RECORD_PRESETS: readonly RecordPreset[] = [
  {
    key: 'plain',
    name: 'Plain CSV of everything',
    description: 'Every field of the catalogue under its own id, comma separated, UTF-8, times in ISO 8601 with their offset.',
    spec: { fields: CATALOGUE.map((x) => ({ field: x.id, name: x.id })), timeZone: 'UTC', decimalPlaces: 4 },
  },
  {
    key: 'sipwise',
    name: 'Sipwise NGCP-style CDR export',
    description: 'The columns of Sipwise NGCP accounting.cdr records its CDR exporter writes: source and destination, call status and code, init and start times as epoch seconds, duration, costs.',
    spec: {
      fields: [
        { field: 'leg_id', name: 'id' },
        { field: 'account_number', name: 'source_external_subscriber_id' },
        { field: 'reseller_code', name: 'source_provider_id' },
        { field: 'calling_number', name: 'source_cli' },
        { field: 'raw_calling', name: 'source_user' },
        { field: 'called_number', name: 'destination_user_in' },
        { field: 'raw_called', name: 'destination_user_dialed' },
        { field: 'literal', name: 'call_type', value: 'call' },
        { field: 'disposition', name: 'call_status', map: SIPWISE_CALL_STATUS },
        { field: 'switch_cause', name: 'call_code' },
        { field: 'start_time', name: 'init_time' },
        { field: 'answer_time', name: 'start_time' },
        { field: 'billable_seconds', name: 'duration' },
        { field: 'call_id', name: 'call_id' },
        { field: 'wholesale_amount', name: 'source_reseller_cost' },
        { field: 'retail_amount', name: 'source_customer_cost' },
        { field: 'wholesale_package_seconds', name: 'source_reseller_free_time' },
        { field: 'retail_package_seconds', name: 'source_customer_free_time' },
        { field: 'retail_destination', name: 'source_customer_billing_zone' },
        { field: 'rated_time', name: 'rated_at' },
        { field: 'status', name: 'rating_status', map: SIPWISE_RATING_STATUS },
      ],
      dateFormat: 'epoch',
      decimalPlaces: 4,
      filter: { directions: [], statuses: [], answeredOnly: false },
    },
  },
  {
    key: 'cgrates',
    name: 'CGRateS-style CDR export',
    description: 'The fields of the CGRateS cdre *default template: CgrId, RunId, Tor, AccId, ReqType, Direction, Tenant, Category, Account, Subject, Destination, SetupTime, AnswerTime, Usage, Cost.',
    spec: {
      fields: [
        { field: 'leg_key', name: 'CgrId' },
        { field: 'literal', name: 'RunId', value: '*default' },
        { field: 'literal', name: 'Tor', value: '*voice' },
        { field: 'call_id', name: 'AccId' },
        { field: 'literal', name: 'ReqType', value: '*rated' },
        { field: 'direction', name: 'Direction', map: CGRATES_DIRECTION },
        { field: 'reseller_code', name: 'Tenant' },
        { field: 'literal', name: 'Category', value: 'call' },
        { field: 'account_number', name: 'Account' },
        { field: 'account_number', name: 'Subject' },
        { field: 'called_number', name: 'Destination' },
        { field: 'start_time', name: 'SetupTime' },
        { field: 'answer_time', name: 'AnswerTime' },
        { field: 'billable_seconds', name: 'Usage' },
        { field: 'retail_billed_total', name: 'Cost' },
      ],
      dateFormat: 'iso8601',
      decimalPlaces: 4,
      // CGRateS exports rated CDRs.
      filter: { directions: [], statuses: ['rated'], answeredOnly: false },
    },
  },
];

export function presetByKey(key: string): RecordPreset | undefined {
  return RECORD_PRESETS.find((p) => p.key === key);
}

/** A preset's spec, checked, in a zone of the caller's (the reseller's own). */
export function presetSpec(preset: RecordPreset, timeZone?: string): RecordSpec {
  return recordSpecSchema.parse({ ...preset.spec, ...(timeZone ? { timeZone } : {}) });
}
