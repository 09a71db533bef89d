import { z } from 'zod';
import type { Cycle } from '../../domain/billing/cycles';
import { apiOperation, idParam, iso, isoTime, type ApiOperation } from '../../web/api-operations';
import { displayAmount } from '../calls/format';
import { allowanceJsonOf, allowanceOut } from '../toll-packages/toll-packages.api';
import { allowancesOf } from '../toll-packages/toll-packages.service';
import * as service from './billing.service';

/**
 * Account status in the API (issue 14): a subscriber's retail account and a reseller's wholesale
 * account, as the account pages show them (billing.service accountStatus: the cycle, its usage and
 * recurring charges, taxes and totals, and the past cycles), with the toll allowances of the cycle.
 */

const money = z.string().meta({ description: 'A decimal amount, exact.' });

const cycleOut = z
  .object({
    start_date: z.string().meta({ description: 'The cycle’s first local day (YYYY-MM-DD in the party’s time zone).' }),
    end_date: z.string().meta({ description: 'The next cycle’s first local day (exclusive).' }),
    starts_at: isoTime,
    ends_at: isoTime.meta({ description: 'Exclusive.' }),
    days: z.number().int(),
  })
  .meta({ id: 'BillingCycle' });
const cycleJson = (c: Cycle) => ({ start_date: c.startDate, end_date: c.endDate, starts_at: iso(new Date(c.startMs)) as string, ends_at: iso(new Date(c.endMs)) as string, days: c.days });

const figuresOut = z
  .object({
    cycle: cycleOut,
    usage: z.object({
      calls: z.number().int().meta({ description: 'Legs the party pays for that started in the cycle.' }),
      seconds: z.number().int().meta({ description: 'Their billable seconds.' }),
      charges: z.array(z.object({ currency: z.string(), billed_currency: z.string(), charges: z.number().int(), amount: money, tax_amount: money, total: money, billed_total: money })),
    }),
    recurring: z.array(z.object({ currency: z.string(), billed_currency: z.string(), lines: z.number().int(), amount: money, tax_amount: money, total: money, billed_total: money })),
    totals: z.array(z.object({ billed_currency: z.string(), usage: money, recurring: money, total: money })).meta({ description: 'Usage and recurring billed totals, per billed currency.' }),
  })
  .meta({ id: 'CycleFigures' });

const figuresJson = (f: service.CycleFigures): z.infer<typeof figuresOut> => ({
  cycle: cycleJson(f.cycle),
  usage: {
    calls: f.usage.calls, seconds: f.usage.seconds,
    charges: f.usage.charges.map((c) => ({ currency: c.currency, billed_currency: c.billedCurrency, charges: c.charges, amount: displayAmount(c.amount), tax_amount: displayAmount(c.taxAmount), total: displayAmount(c.total), billed_total: displayAmount(c.billedTotal) })),
  },
  recurring: f.recurring.map((r) => ({ currency: r.currency, billed_currency: r.billedCurrency, lines: Number(r.lines), amount: displayAmount(r.amount), tax_amount: displayAmount(r.taxAmount), total: displayAmount(r.total), billed_total: displayAmount(r.billedTotal) })),
  totals: f.totals.map((t) => ({ billed_currency: t.billedCurrency, usage: displayAmount(t.usage), recurring: displayAmount(t.recurring), total: displayAmount(t.total) })),
});

const accountOut = z
  .object({
    side: z.enum(['wholesale', 'retail']).meta({ description: 'wholesale: a reseller’s account with the operator; retail: a subscriber’s with its reseller.' }),
    reseller_id: z.number().int(),
    subscriber_id: z.number().int().nullable(),
    name: z.string(),
    account_number: z.string().nullable(),
    billed_currency: z.string(),
    cycle_day: z.number().int(),
    time_zone: z.string(),
    tax_exempt: z.boolean(),
    charged: z.boolean().meta({ description: 'False: the reseller bills its subscribers itself; usage only, no charges.' }),
    current_cycle: cycleOut,
    shown: figuresOut.meta({ description: 'The cycle asked for (`cycle`), the current one by default.' }),
    lines: z.array(
      z.object({
        id: z.number().int(), item: z.string(), package_kind: z.enum(['feature', 'toll']), package_name: z.string(), subscriber_id: z.number().int().nullable(),
        cycle_start_date: z.string(), cycle_end_date: z.string(), days: z.number().int(), cycle_days: z.number().int(), fee: money, currency: z.string(), amount: money,
        tax_amount: money, total: money, exchange_rate: z.string(), billed_currency: z.string(), billed_total: money, charged_at: isoTime, posted_at: isoTime,
      }),
    ).meta({ description: 'The recurring charges posted for the shown cycle.' }),
    past: z.array(figuresOut).meta({ description: 'Earlier cycles, latest first (at most 12).' }),
    allowances: z.array(allowanceOut).meta({ description: 'Toll package allowances of the current cycle.' }),
  })
  .meta({ id: 'AccountStatus' });

const accountQuery = z.object({
  cycle: z.string().regex(/^\d{4}-\d{2}-\d{2}$/).optional().meta({ description: 'The start date (YYYY-MM-DD) of an earlier cycle to show; absent: the current one.' }),
});

function accountJson(s: service.AccountStatus, allowances: Awaited<ReturnType<typeof allowancesOf>>): z.infer<typeof accountOut> {
  const p = s.party;
  return {
    side: p.side, reseller_id: p.resellerId, subscriber_id: p.subscriberId, name: p.name, account_number: p.accountNumber, billed_currency: p.billedCurrency,
    cycle_day: p.cycleDay, time_zone: p.timeZone, tax_exempt: p.taxExempt, charged: s.charged, current_cycle: cycleJson(s.current), shown: figuresJson(s.shown),
    lines: s.lines.map((l) => ({
      id: Number(l.id), item: l.item, package_kind: l.packageKind, package_name: l.packageName, subscriber_id: l.subscriberId, cycle_start_date: l.cycleStartDate, cycle_end_date: l.cycleEndDate,
      days: l.days, cycle_days: l.cycleDays, fee: displayAmount(l.fee), currency: l.currency, amount: displayAmount(l.amount), tax_amount: displayAmount(l.taxAmount), total: displayAmount(l.total),
      exchange_rate: l.exchangeRate, billed_currency: l.billedCurrency, billed_total: displayAmount(l.billedTotal), charged_at: iso(l.chargedAt) as string, posted_at: iso(l.postedAt) as string,
    })),
    past: s.past.map(figuresJson),
    allowances: allowances.map(allowanceJsonOf),
  };
}

export function billingApi(): ApiOperation[] {
  return [
    apiOperation({
      method: 'get', path: '/subscribers/:subscriberId/account', operationId: 'getSubscriberAccount', tags: ['Calls and accounts'], audience: 'all',
      summary: 'A subscriber’s account status',
      description: 'As its account page shows it: the billing cycle’s usage (retail charges), recurring charges, taxes and totals, the past cycles, and its toll allowances.',
      params: z.object({ subscriberId: idParam.meta({ description: 'The subscriber’s id.' }) }),
      query: accountQuery,
      success: { status: 200, description: 'The account.', schema: accountOut, etag: true },
      handler: async ({ db, params, query, actor }) => {
        const status = await service.accountStatus(db, actor.scope, { kind: 'subscriber', subscriberId: params.subscriberId }, { cycleDate: query.cycle });
        return { body: accountJson(status, await allowancesOf(db, actor.scope, { kind: 'subscriber', subscriberId: params.subscriberId })) };
      },
    }),
    apiOperation({
      method: 'get', path: '/resellers/:resellerId/account', operationId: 'getResellerAccount', tags: ['Calls and accounts'], audience: 'all',
      summary: 'A reseller’s wholesale account',
      description: 'As the reseller’s wholesale account page shows it: its wholesale charges (usage and recurring) with the operator by billing cycle, and its toll allowances. A reseller’s key reads its own.',
      params: z.object({ resellerId: idParam.meta({ description: 'The reseller’s id.' }) }),
      query: accountQuery,
      success: { status: 200, description: 'The account.', schema: accountOut, etag: true },
      handler: async ({ db, params, query, actor }) => {
        const status = await service.accountStatus(db, actor.scope, { kind: 'reseller', resellerId: params.resellerId }, { cycleDate: query.cycle });
        return { body: accountJson(status, await allowancesOf(db, actor.scope, { kind: 'reseller', resellerId: params.resellerId })) };
      },
    }),
  ];
}
