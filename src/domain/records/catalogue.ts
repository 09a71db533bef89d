/**
 * The catalogue of fields a record specification may put in a reseller's record files
 * (docs/RECORD-FORMATS.md): one leg and the charges on it, each field with its type and the roles
 * that may see it. A specification belongs to a reseller and its files go to that reseller, so
 * every field in one must be visible to `reseller_admin` (validateSpec checks it); subscribers
 * never get specifications (no field would make a subscriber's file safe: the wholesale charge is
 * its reseller's cost).
 */
import type { Role } from '../tenancy/roles';

/** How a value is written: text as is, integers and money by the spec's number rules, instants by its date format. */
export type FieldType = 'text' | 'integer' | 'money' | 'rate' | 'datetime' | 'boolean';

/** One charge of a leg as a record file reads it: amounts are the stored numeric text, never a JS number. */
export interface RecordCharge {
  /** The plan's currency and the amounts in it. */
  currency: string;
  amount: string;
  taxAmount: string;
  total: string;
  /** What the party is billed: the total converted at `exchangeRate`. */
  billedCurrency: string;
  billedTotal: string;
  exchangeRate: string;
  /** Seconds a toll package covered (0 when none). */
  coveredSeconds: number;
  /** The deck row that priced the leg. */
  prefix: string;
  description: string;
}

/**
 * One leg as the formatter reads it: what the ledger holds for a leg the reseller pays for, with
 * the charges of that reseller only (the ledger's record read confines both).
 */
export interface LegRecord {
  id: number;
  legKey: string;
  callId: string;
  platform: string;
  resellerCode: string | null;
  accountNumber: string | null;
  subscriberName: string | null;
  callingNumber: string | null;
  calledNumber: string | null;
  rawCalling: string;
  rawCalled: string;
  redirectingNumber: string | null;
  accountCode: string | null;
  /** UTC epoch milliseconds. */
  startMs: number;
  answerMs: number | null;
  endMs: number | null;
  ratedMs: number | null;
  billableSeconds: number;
  answered: boolean;
  disposition: string;
  switchCause: string | null;
  direction: string | null;
  status: string;
  reason: string | null;
  trunk: string | null;
  carrier: string | null;
  wholesale: RecordCharge | null;
  retail: RecordCharge | null;
  /**
   * Set when a record file carries this leg again after an earlier file of the same specification
   * did (it was re-rated): that file's number and each total's change since (stored numeric text,
   * in the charge's plan currency; the whole new total when the earlier line had none).
   */
  correction?: RecordCorrection | null;
}

export interface RecordCorrection {
  ofFile: number;
  wholesaleDifference: string | null;
  retailDifference: string | null;
}

export type FieldValue = string | number | boolean | null;

export interface CatalogueField {
  id: string;
  label: string;
  type: FieldType;
  description: string;
  /** Roles that may see this field. */
  roles: readonly Role[];
  get: (leg: LegRecord) => FieldValue;
}

const STAFF: readonly Role[] = ['wholesale_admin', 'wholesale_support', 'reseller_admin', 'reseller_support'];
/** What a subscriber's own calls pages show it as well (its retail charge, never its reseller's cost). */
const ALL: readonly Role[] = [...STAFF, 'subscriber'];

const fld = (id: string, label: string, type: FieldType, description: string, get: (leg: LegRecord) => FieldValue, roles: readonly Role[] = STAFF): CatalogueField => ({ id, label, type, description, roles, get });
const f = fld;
/** A field the subscriber's own pages show too. */
const fa = (id: string, label: string, type: FieldType, description: string, get: (leg: LegRecord) => FieldValue) => fld(id, label, type, description, get, ALL);

type ChargeKind = 'wholesale' | 'retail';
const CHARGE_WORDS: Record<ChargeKind, string> = {
  wholesale: "the wholesale charge (what the operator bills the reseller: the reseller's cost)",
  retail: 'the retail charge (what the reseller bills its subscriber)',
};

function chargeFields(kind: ChargeKind): CatalogueField[] {
  const roles = kind === 'retail' ? ALL : STAFF;
  const f = (id: string, label: string, type: FieldType, description: string, get: (leg: LegRecord) => FieldValue) => fld(id, label, type, description, get, roles);
  const c = (leg: LegRecord) => leg[kind];
  const of = CHARGE_WORDS[kind];
  const K = kind === 'wholesale' ? 'Wholesale' : 'Retail';
  return [
    f(`${kind}_currency`, `${K} currency`, 'text', `The plan's currency of ${of}.`, (l) => c(l)?.currency ?? null),
    f(`${kind}_amount`, `${K} amount`, 'money', `The amount of ${of} before tax, in its plan's currency.`, (l) => c(l)?.amount ?? null),
    f(`${kind}_tax`, `${K} tax`, 'money', `The tax on ${of}, in its plan's currency.`, (l) => c(l)?.taxAmount ?? null),
    f(`${kind}_total`, `${K} total`, 'money', `Amount plus tax of ${of}, in its plan's currency.`, (l) => c(l)?.total ?? null),
    f(`${kind}_billed_currency`, `${K} billed currency`, 'text', `The currency the party is billed in for ${of}.`, (l) => c(l)?.billedCurrency ?? null),
    f(`${kind}_billed_total`, `${K} billed total`, 'money', `The total of ${of} converted to the billed currency.`, (l) => c(l)?.billedTotal ?? null),
    f(`${kind}_exchange_rate`, `${K} exchange rate`, 'rate', `The rate the total of ${of} was converted at (1 when the currencies are the same).`, (l) => c(l)?.exchangeRate ?? null),
    f(`${kind}_package_seconds`, `${K} package seconds`, 'integer', `Seconds of ${of} covered by a toll package.`, (l) => c(l)?.coveredSeconds ?? null),
    f(`${kind}_prefix`, `${K} matched prefix`, 'text', `The deck prefix that priced ${of}.`, (l) => c(l)?.prefix ?? null),
    f(`${kind}_destination`, `${K} destination`, 'text', `The destination description of the deck row that priced ${of}.`, (l) => c(l)?.description ?? null),
  ];
}

/** Every field, in the order the documentation and the "Plain CSV of everything" preset list them. */
export const CATALOGUE: readonly CatalogueField[] = [
  fa('leg_id', 'Leg id', 'integer', 'Our id of the leg: unique, never reused.', (l) => l.id),
  f('leg_key', 'Leg key', 'text', "The platform's key of the leg (unique per platform).", (l) => l.legKey),
  fa('call_id', 'Call id', 'text', 'Links the legs of one call (as the switch sent it).', (l) => l.callId),
  f('platform', 'Platform', 'text', 'The name of the switch that sent the record.', (l) => l.platform),
  f('reseller_code', 'Reseller code', 'text', "The reseller's code.", (l) => l.resellerCode),
  fa('account_number', 'Account number', 'text', "The paying subscriber's account number (empty when no subscriber matched).", (l) => l.accountNumber),
  fa('subscriber_name', 'Subscriber name', 'text', "The paying subscriber's name.", (l) => l.subscriberName),
  fa('calling_number', 'Calling number', 'text', 'E.164 (+ and digits); empty when the record carries no usable number.', (l) => l.callingNumber),
  fa('called_number', 'Called number', 'text', 'E.164 (+ and digits); empty when the record carries no usable number.', (l) => l.calledNumber),
  f('raw_calling', 'Calling number as sent', 'text', 'The calling number exactly as the switch sent it.', (l) => l.rawCalling),
  f('raw_called', 'Called number as sent', 'text', 'The called number exactly as the switch sent it.', (l) => l.rawCalled),
  f('redirecting_number', 'Redirecting number', 'text', 'For a forwarded leg, the subscriber number that forwarded it.', (l) => l.redirectingNumber),
  f('account_code', 'Account code', 'text', "The switch's account code, when it sends one.", (l) => l.accountCode),
  fa('start_time', 'Start time', 'datetime', 'When the leg started (set up).', (l) => l.startMs),
  fa('answer_time', 'Answer time', 'datetime', 'When it was answered; empty when unanswered.', (l) => l.answerMs),
  fa('end_time', 'End time', 'datetime', 'When it ended.', (l) => l.endMs),
  f('rated_time', 'Rated time', 'datetime', 'When it was last rated; empty when it never was.', (l) => l.ratedMs),
  fa('duration_seconds', 'Duration (s)', 'integer', 'End minus start in whole seconds, ringing included; empty without an end.', (l) => (l.endMs === null ? null : Math.max(0, Math.floor((l.endMs - l.startMs) / 1000)))),
  fa('billable_seconds', 'Billable seconds', 'integer', 'Answered (talk) seconds; 0 when unanswered.', (l) => l.billableSeconds),
  fa('answered', 'Answered', 'boolean', 'true or false.', (l) => l.answered),
  fa('disposition', 'Disposition', 'text', 'answered, no_answer, busy, failed or cancelled.', (l) => l.disposition),
  f('switch_cause', 'Switch cause', 'text', "The switch's own word for how the leg ended.", (l) => l.switchCause),
  fa('direction', 'Direction', 'text', 'outbound, inbound, onnet or forwarded; empty when not classified.', (l) => l.direction),
  fa('status', 'Status', 'text', 'rated, partial, unrated or blocked.', (l) => l.status),
  f('unrated_reason', 'Unrated reason', 'text', 'Why a leg is unrated, partial or blocked.', (l) => l.reason),
  f('trunk', 'Trunk', 'text', 'The trunk, gateway or route the leg used.', (l) => l.trunk),
  f('ld_carrier', 'LD carrier', 'text', 'The long-distance carrier an outbound or forwarded leg left by.', (l) => l.carrier),
  f('destination', 'Destination', 'text', 'The destination description of the retail charge, else of the wholesale charge.', (l) => l.retail?.description ?? l.wholesale?.description ?? null),
  f('matched_prefix', 'Matched prefix', 'text', 'The matched prefix of the retail charge, else of the wholesale charge.', (l) => l.retail?.prefix ?? l.wholesale?.prefix ?? null),
  ...chargeFields('wholesale'),
  ...chargeFields('retail'),
  // Record files (issue 12): a leg re-rated after a file carried it comes again as a correction.
  f('record_kind', 'Record kind', 'text', 'original (the first line of this leg in the files of this specification) or correction (the leg again, re-rated after an earlier file carried it).', (l) => (l.correction ? 'correction' : 'original')),
  f('corrects_file', 'Corrects file', 'integer', 'For a correction, the number of the file whose line it corrects (the latest before it); empty for an original.', (l) => l.correction?.ofFile ?? null),
  f('wholesale_difference', 'Wholesale difference', 'money', 'For a correction, the wholesale total now minus the one the corrected line carried; empty for an original.', (l) => l.correction?.wholesaleDifference ?? null),
  f('retail_difference', 'Retail difference', 'money', 'For a correction, the retail total now minus the one the corrected line carried; empty for an original.', (l) => l.correction?.retailDifference ?? null),
];

/** The one field that is no leg's: the same text on every row (a constant column some importers need). */
export const LITERAL_FIELD = 'literal';

const BY_ID = new Map(CATALOGUE.map((x) => [x.id, x]));

export function catalogueField(id: string): CatalogueField | undefined {
  return BY_ID.get(id);
}

export const FIELD_IDS: readonly string[] = CATALOGUE.map((x) => x.id);

/** The fields a role may see; a subscriber none of the wholesale charge. */
export function fieldsFor(role: Role): CatalogueField[] {
  return CATALOGUE.filter((x) => x.roles.includes(role));
}
