/**
 * Our own call-record format, for any platform that has no adapter of its own. The same fields in
 * JSON (`generic-json`) and CSV (`generic-csv`); docs/CDR-GENERIC.md is the sender's reference.
 *
 * | field        | required | meaning                                                                        |
 * |--------------|----------|--------------------------------------------------------------------------------|
 * | leg_id       | yes      | the leg's id, unique per platform; re-sending the same leg_id is idempotent     |
 * | call_id      | no       | links the legs of one call (A leg, B leg, forwarded leg); defaults to leg_id     |
 * | calling      | no       | calling number as sent (E.164 preferred: +12125550100); empty = anonymous        |
 * | called       | yes      | called number as dialled                                                         |
 * | start        | yes      | ISO 8601 time with its UTC offset: 2024-05-01T09:30:00+02:00 or ...Z            |
 * | answer       | answered | when the call was answered (same syntax); required when disposition = answered  |
 * | end          | no       | when the leg ended (same syntax)                                                |
 * | billsec      | no       | billable (talk) seconds, a whole number; default: end − answer rounded up       |
 * | disposition  | no       | answered, no_answer, busy, failed, cancelled; default: answered if answer is set, else no_answer |
 * | direction    | no       | inbound or outbound, relative to the sending platform                           |
 * | trunk        | no       | trunk / gateway / route the leg used (for outbound legs: maps to an LD carrier) |
 * | redirecting  | no       | for a forwarded leg, the number that forwarded it                               |
 * | account_code | no       | the platform's account code                                                     |
 *
 * Rules: an empty value or JSON null is the same as leaving the field out; unknown fields are
 * refused (a misspelt "bilsec" must not be silently ignored); start ≤ answer ≤ end; a record that
 * is not answered has no answer time and billsec 0; an answered record needs `answer`, and either
 * `billsec` or `end`; billsec may not exceed end − answer (rounded up); leg_id appears once per post.
 */
import { z } from 'zod';
import { DISPOSITIONS, type AdapterContext, type NormalisedLeg } from '../legs/leg';
import { ceilSeconds, party, readIsoInstant, RecordError } from './common';

export const GENERIC_FIELDS = [
  'leg_id',
  'call_id',
  'calling',
  'called',
  'start',
  'answer',
  'end',
  'billsec',
  'disposition',
  'direction',
  'trunk',
  'redirecting',
  'account_code',
] as const;

export const GENERIC_REQUIRED = ['leg_id', 'called', 'start'] as const;

/** The generic formats speak our vocabulary itself: their disposition is ours, with no switch cause. */
export const GENERIC_DISPOSITIONS = DISPOSITIONS;

const text = (field: string, max: number) =>
  z
    .string({ error: (iss) => (iss.input === undefined ? `${field} is required` : `${field} must be a string`) })
    .max(max, `${field} must be at most ${max} characters`);

const instant = (field: string) =>
  z
    .string({ error: (iss) => (iss.input === undefined ? `${field} is required` : `${field} must be a string such as "2024-05-01T09:30:00+02:00"`) })
    .transform((s, ctx) => {
      const at = readIsoInstant(s);
      if (!at.ok) {
        ctx.addIssue({ code: 'custom', message: at.impossible ? `${field} "${s}" ${at.reason}` : `${field} "${s}" is not an ISO 8601 time with a UTC offset, e.g. 2024-05-01T09:30:00+02:00 or 2024-05-01T07:30:00Z` });
        return z.NEVER;
      }
      return at.ms;
    });

const billsec = z
  .union([z.number(), z.string()], { error: 'billsec must be a whole number of seconds' })
  .transform((v, ctx) => {
    const n = typeof v === 'number' ? v : /^\d+$/.test(v) ? Number(v) : NaN;
    if (!Number.isSafeInteger(n) || n < 0) {
      ctx.addIssue({ code: 'custom', message: `billsec ${JSON.stringify(v)} is not a whole, non-negative number of seconds` });
      return z.NEVER;
    }
    return n;
  });

export const genericRecordSchema = z.strictObject({
  leg_id: text('leg_id', 255),
  call_id: text('call_id', 255).optional(),
  calling: text('calling', 64).optional(),
  called: text('called', 64),
  start: instant('start'),
  answer: instant('answer').optional(),
  end: instant('end').optional(),
  billsec: billsec.optional(),
  disposition: z.enum(GENERIC_DISPOSITIONS, { error: (iss) => `disposition ${JSON.stringify(iss.input)} is not one of ${GENERIC_DISPOSITIONS.join(', ')}` }).optional(),
  direction: z.enum(['inbound', 'outbound'], { error: (iss) => `direction ${JSON.stringify(iss.input)} is not inbound or outbound` }).optional(),
  trunk: text('trunk', 100).optional(),
  redirecting: text('redirecting', 64).optional(),
  account_code: text('account_code', 100).optional(),
});

export type GenericRecord = z.output<typeof genericRecordSchema>;

/** JSON null and empty (or blank) strings mean "not given". */
function dropEmpty(input: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(input)) {
    if (v === null || v === undefined) continue;
    if (typeof v === 'string') {
      const t = v.trim();
      if (t === '') continue;
      out[k] = t;
    } else out[k] = v;
  }
  return out;
}

function issueText(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((k) => `unknown field "${k}" (the fields are ${GENERIC_FIELDS.join(', ')})`).join('; ');
  }
  return issue.message;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** One record (already a plain object) -> its leg, or a RecordError naming every bad field. */
export function genericLeg(input: Record<string, unknown>, ctx: AdapterContext): NormalisedLeg {
  const parsed = genericRecordSchema.safeParse(dropEmpty(input));
  if (!parsed.success) throw new RecordError(parsed.error.issues.map(issueText).join('; '));
  const r = parsed.data;
  const problems: string[] = [];
  const disposition = r.disposition ?? (r.answer !== undefined ? 'answered' : 'no_answer');
  const answered = disposition === 'answered';
  if (r.answer !== undefined && r.answer < r.start) problems.push(`answer ${iso(r.answer)} is before start ${iso(r.start)}`);
  if (r.end !== undefined && r.end < r.start) problems.push(`end ${iso(r.end)} is before start ${iso(r.start)}`);
  if (r.end !== undefined && r.answer !== undefined && r.end < r.answer) problems.push(`end ${iso(r.end)} is before answer ${iso(r.answer)}`);
  let billableSeconds = 0;
  if (answered) {
    if (r.answer === undefined) problems.push('answer is required when disposition is answered');
    else if (r.billsec !== undefined) {
      billableSeconds = r.billsec;
      if (r.end !== undefined && r.end >= r.answer && r.billsec > ceilSeconds(r.end - r.answer)) {
        problems.push(`billsec ${r.billsec} is more than end − answer (${ceilSeconds(r.end - r.answer)} s)`);
      }
    } else if (r.end !== undefined) billableSeconds = ceilSeconds(r.end - r.answer);
    else problems.push('billsec or end is required when disposition is answered');
  } else {
    if (r.answer !== undefined) problems.push(`answer is set but disposition is ${disposition}`);
    if (r.billsec !== undefined && r.billsec > 0) problems.push(`billsec is ${r.billsec} but disposition is ${disposition}`);
  }
  if (problems.length) throw new RecordError(problems.join('; '));

  const calling = party(r.calling, ctx);
  const called = party(r.called, ctx);
  return {
    legKey: r.leg_id,
    callId: r.call_id ?? r.leg_id,
    callingNumber: calling.e164,
    calledNumber: called.e164,
    rawCalling: calling.raw,
    rawCalled: called.raw,
    startMs: r.start,
    answerMs: answered ? (r.answer as number) : null,
    endMs: r.end ?? null,
    billableSeconds,
    answered,
    disposition,
    switchCause: null,
    ...(r.direction ? { platformDirection: r.direction } : {}),
    trunk: r.trunk ?? null,
    redirectingNumber: r.redirecting ? party(r.redirecting, ctx).e164 : null,
    accountCode: r.account_code ?? null,
  };
}

/** Refuses a leg_id already used earlier in the same post. */
export class LegIdRegister {
  private readonly seen = new Map<string, string>();
  check(legId: string, where: string): void {
    const first = this.seen.get(legId);
    if (first !== undefined) throw new RecordError(`leg_id "${legId}" is already used by ${first} of this post`);
    this.seen.set(legId, where);
  }
}
