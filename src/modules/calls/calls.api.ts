import { z } from 'zod';
import { NotFoundError } from '../../domain/errors';
import { DIRECTIONS, type Direction } from '../../domain/legs/direction';
import { apiOperation, idParam, iso, isoTime, pageOf, pageQuery, type ApiOperation } from '../../web/api-operations';
import { LEG_STATUSES } from '../ledger/ledger.repository';
import * as reads from '../ledger/ledger.reads';
import { getOrThrow as getSubscriber } from '../subscribers/subscribers.service';
import { CALLS_DEFAULT_DAYS } from './calls.service';
import { displayAmount } from './format';

/**
 * Calls in the API (issue 14): the legs a key may see and their charges, read by the same ledger
 * reads as the calls pages (ledger.reads: who sees which legs and which charges is decided there).
 * A reseller's key sees its legs (paid or received) with its wholesale and retail charges, never
 * the operator's expected carrier cost; the operator's keys see every leg and, on one leg, that
 * cost too. Amounts are the stored decimals (trailing zeros past the cents dropped), each with its currency.
 */

const DAY_MS = 86_400_000;

const money = z.string().meta({ description: 'A decimal amount, exact as stored (e.g. "0.0123").' });

const chargeSummary = z
  .object({
    kind: z.enum(['wholesale', 'retail']).meta({ description: 'wholesale: what the reseller pays the operator; retail: what the subscriber pays the reseller.' }),
    currency: z.string().meta({ description: 'The plan’s currency (amount, tax_amount, total).' }),
    amount: money,
    tax_amount: money,
    total: money,
    exchange_rate: z.string(),
    billed_currency: z.string(),
    billed_total: money.meta({ description: 'What is billed, in billed_currency.' }),
    covered_seconds: z.number().int().nullable().meta({ description: 'Seconds a toll package covered (null: not recorded).' }),
  })
  .meta({ id: 'ChargeSummary' });

const legOut = z
  .object({
    id: z.number().int(),
    call_id: z.string(),
    start_at: isoTime,
    answer_at: isoTime.nullable(),
    end_at: isoTime.nullable(),
    direction: z.string().nullable(),
    calling_number: z.string().nullable().meta({ description: 'E.164 when it could be read; raw_calling otherwise.' }),
    called_number: z.string().nullable(),
    raw_calling: z.string(),
    raw_called: z.string(),
    billable_seconds: z.number().int(),
    answered: z.boolean(),
    disposition: z.string(),
    status: z.enum(LEG_STATUSES),
    unrated_reason: z.string().nullable(),
    received: z.boolean().meta({ description: 'Seen as who received it (an on-net call another party paid): only the receiver’s own charges, usually none.' }),
    reseller_id: z.number().int().nullable(),
    subscriber_id: z.number().int().nullable(),
    account_number: z.string().nullable(),
    charges: z.array(chargeSummary),
  })
  .meta({ id: 'CallLeg' });

type LegJson = z.infer<typeof legOut>;

const summaryOf = (kind: 'wholesale' | 'retail', c: reads.ChargeSummary | null): z.infer<typeof chargeSummary>[] =>
  c
    ? [{
        kind, currency: c.currency, amount: displayAmount(c.amount), tax_amount: displayAmount(c.taxAmount), total: displayAmount(c.total), exchange_rate: c.exchangeRate.replace(/(\.\d*?[1-9])0+$|\.0+$/, '$1'),
        billed_currency: c.billedCurrency, billed_total: displayAmount(c.billedTotal), covered_seconds: c.coveredSeconds,
      }]
    : [];

function legJsonOf(r: reads.CallRow): LegJson {
  return {
    id: Number(r.id), call_id: r.callId, start_at: iso(r.startAt) as string, answer_at: iso(r.answerAt), end_at: iso(r.endAt), direction: r.direction,
    calling_number: r.callingNumber, called_number: r.calledNumber, raw_calling: r.rawCalling, raw_called: r.rawCalled, billable_seconds: Number(r.billableSeconds),
    answered: r.answered, disposition: r.disposition, status: r.status, unrated_reason: r.reason, received: r.received,
    reseller_id: r.resellerId === null ? null : Number(r.resellerId), subscriber_id: r.subscriberId === null ? null : Number(r.subscriberId), account_number: r.accountNumber,
    charges: [...summaryOf('wholesale', r.wholesale), ...summaryOf('retail', r.retail)],
  };
}

const chargeDetail = z
  .object({
    kind: z.enum(['wholesale', 'retail', 'carrier_cost']).meta({ description: 'carrier_cost: the LD carrier’s expected cost of the leg (operator keys only).' }),
    rate_plan_id: z.number().int(),
    rate_plan_name: z.string().nullable(),
    plan_revision: z.number().int(),
    direction: z.string(),
    prefix: z.string(),
    description: z.string(),
    rate_effective_from: isoTime,
    billable_seconds: z.number().int(),
    charged_seconds: z.number().int(),
    pieces: z.array(z.object({ band: z.string().nullable(), step: z.number().int(), from: z.number().int(), seconds: z.number().int(), rate: money, rate_unit: z.number().int(), amount: money })),
    currency: z.string(),
    connect_fee: money,
    usage: money,
    amount: money,
    taxes: z.array(z.object({ name: z.string(), basis: z.string(), rate: z.string(), taxable: money, amount: money })),
    tax_amount: money,
    total: money,
    exchange_rate: z.string(),
    billed_currency: z.string(),
    billed_total: money,
    covered_seconds: z.number().int().nullable(),
    rated_at: isoTime,
  })
  .meta({ id: 'Charge' });

const legDetailOut = legOut.omit({ charges: true }).extend({ charges: z.array(chargeDetail).meta({ description: 'Each charge with its pieces and taxes.' }) }).meta({ id: 'CallLegDetail' });

const chargeDetailOf = (c: reads.ChargeDetail): z.infer<typeof chargeDetail> => ({
  kind: c.kind, rate_plan_id: Number(c.planId), rate_plan_name: c.planName, plan_revision: Number(c.planRevision), direction: c.direction, prefix: c.prefix, description: c.description,
  rate_effective_from: iso(c.rateEffectiveFrom) as string, billable_seconds: Number(c.billableSeconds), charged_seconds: Number(c.chargedSeconds),
  pieces: c.pieces.map((p) => ({ band: p.band ?? null, step: Number(p.step), from: Number(p.from), seconds: Number(p.seconds), rate: displayAmount(String(p.rate)), rate_unit: Number(p.rate_unit), amount: displayAmount(String(p.amount)) })),
  currency: c.currency, connect_fee: displayAmount(c.connectFee), usage: displayAmount(c.usage), amount: displayAmount(c.amount),
  taxes: c.taxes.map((t) => ({ name: t.name, basis: t.basis, rate: String(t.rate), taxable: displayAmount(String(t.taxable)), amount: displayAmount(String(t.amount)) })),
  tax_amount: displayAmount(c.taxAmount), total: displayAmount(c.total), exchange_rate: c.exchangeRate.replace(/(\.\d*?[1-9])0+$|\.0+$/, '$1'),
  billed_currency: c.billedCurrency, billed_total: displayAmount(c.billedTotal), covered_seconds: c.coveredSeconds, rated_at: iso(c.ratedAt) as string,
});

const callsQuery = z
  .object({
    from: isoTime.optional().meta({ description: 'Legs that started at or after this instant; absent: 7 days before `to`.' }),
    to: isoTime.optional().meta({ description: 'Legs that started before this instant; absent: now.' }),
    subscriber_id: z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER).optional().meta({ description: 'One subscriber’s legs (one the key may see).' }),
    direction: z.enum(DIRECTIONS).optional(),
    status: z.enum(LEG_STATUSES).optional(),
    ...pageQuery,
  })
  .refine((q) => !q.from || !q.to || Date.parse(q.from) < Date.parse(q.to), { path: ['from'], message: 'from must be before to' });

export function callApi(): ApiOperation[] {
  return [
    apiOperation({
      method: 'get', path: '/calls', operationId: 'listCalls', tags: ['Calls and accounts'], audience: 'all',
      summary: 'A page of call legs',
      description: 'Newest first. A reseller’s key: its legs (and those its subscribers received), each with its wholesale and retail charges. An operator key: every leg.',
      query: callsQuery,
      success: { status: 200, description: 'A page of legs, newest first.', schema: pageOf(legOut, 'CallLegPage') },
      handler: async ({ db, query, actor }) => {
        const toMs = query.to ? Date.parse(query.to) : Date.now();
        const fromMs = query.from ? Date.parse(query.from) : toMs - CALLS_DEFAULT_DAYS * DAY_MS;
        // Another tenant's subscriber is not found, as in a path.
        if (query.subscriber_id !== undefined) await getSubscriber(db, actor.scope, query.subscriber_id);
        const selection = { fromMs, toMs, subscriberId: query.subscriber_id, direction: query.direction as Direction | undefined, statuses: query.status ? [query.status] : undefined };
        const [page, totals] = await Promise.all([
          reads.listCalls(db, actor.scope, { ...selection, cursor: query.cursor, limit: query.limit, sort: 'start', order: 'desc' }),
          reads.callTotals(db, actor.scope, selection),
        ]);
        return { body: { data: page.rows.map(legJsonOf), count: totals.calls, next_cursor: page.nextCursor ?? null } };
      },
    }),
    apiOperation({
      method: 'get', path: '/calls/:legId', operationId: 'getCall', tags: ['Calls and accounts'], audience: 'all',
      summary: 'A call leg with its charges in detail',
      description: 'Pieces and taxes of each charge the key’s party may see; the expected LD carrier cost for operator keys only.',
      params: z.object({ legId: idParam.meta({ description: 'The leg’s id.' }) }),
      success: { status: 200, description: 'The leg.', schema: legDetailOut, etag: true },
      handler: async ({ db, params, actor }) => {
        // The read the call page makes (callDetails), less the raw record: one statement.
        const found = await reads.getCallWithCharges(db, actor.scope, params.legId);
        if (!found) throw new NotFoundError();
        return { body: { ...legJsonOf(found.leg), charges: found.charges.map(chargeDetailOf) } };
      },
    }),
  ];
}
