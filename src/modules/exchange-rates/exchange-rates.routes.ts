import { Router } from 'express';
import { ROUTER_OPTIONS } from '../../web/router';
import type { ReferenceInvalidator } from '../../db/change-notices';
import type { Db } from '../../db/knex';
import { seriesStates } from '../../domain/time/in-force';
import { submitForm } from '../../web/forms';
import { actor } from '../../web/principal';
import { flash } from '../../web/render';
import { listInMemory, sendListCsv, type Column } from '../../web/lists';
import { momentText } from '../taxes/form-fields';
import { exchangeRateFields, exchangeRateListQuery } from './exchange-rates.schemas';
import * as service from './exchange-rates.service';

interface PairView {
  from: string;
  to: string;
  rates: Array<{ id: number; rate: string; effectiveFrom: Date; createdAt: Date; state: 'in force' | 'superseded' | 'scheduled' }>;
}

/**
 * Rates grouped by pair, newest first, each marked: the one in force now, the ones it replaced,
 * and any that take effect later. Worked out here so the template only prints.
 */
function byPair(rows: service.ExchangeRateRow[], nowMs: number): PairView[] {
  const groups: service.ExchangeRateRow[][] = [];
  for (const r of rows) {
    const last = groups[groups.length - 1];
    if (last && last[0]!.from === r.from && last[0]!.to === r.to) last.push(r);
    else groups.push([r]);
  }
  return groups.map((g) => {
    const states = seriesStates(g, (r) => r.effectiveFrom.getTime(), nowMs);
    return { from: g[0]!.from, to: g[0]!.to, rates: g.map((r, i) => ({ id: r.id, rate: r.rate.toString(), effectiveFrom: r.effectiveFrom, createdAt: r.createdAt, state: states[i]! })) };
  });
}

type RateRow = PairView['rates'][number] & { from: string; to: string };

/** The exchange rates list's columns: the page's table and its CSV (the pair's newest first within it). */
const RATE_COLUMNS: Array<Column<RateRow>> = [
  { label: 'From', sort: 'pair', text: (r) => r.from },
  { label: 'To', text: (r) => r.to },
  { label: 'Effective from', sort: 'effective', text: (r, h) => h.dateTime(r.effectiveFrom) },
  { label: 'Rate', sort: 'rate', num: true, text: (r) => r.rate },
  { label: 'State', sort: 'state', text: (r) => r.state },
  { label: 'Added', sort: 'added', text: (r, h) => h.dateTime(r.createdAt) },
];

/** Exchange rates: wholesale admins add them; nobody edits or deletes one. */
export function exchangeRateRoutes({ db, refs }: { db: Db; refs: ReferenceInvalidator }): Router {
  const r = Router(ROUTER_OPTIONS);
  const base = '/wholesale/exchange-rates';

  /** Every rate of the filter, each marked, in one list sorted as asked: the page and its CSV. */
  async function rateList(query: unknown) {
    const filter = exchangeRateListQuery.parse(query);
    const rows = byPair(await service.listRates(db, { from: filter.from, to: filter.to }), Date.now())
      .flatMap((p) => p.rates.map((r) => ({ ...r, from: p.from, to: p.to })))
      .filter((r) => !filter.state || r.state === filter.state);
    return listInMemory(rows, {
      columns: RATE_COLUMNS, filter, path: base, rowKey: 'rate', noun: ['rate', 'rates'],
      sorts: { pair: (r) => `${r.from}/${r.to}`, effective: (r) => r.effectiveFrom.getTime(), rate: (r) => r.rate, state: (r) => r.state, added: (r) => r.createdAt.getTime() },
      defaultSort: 'pair', defaultDir: 'asc',
    });
  }

  r.get(base, async (req, res) => {
    const list = await rateList(req.query);
    res.page('exchange-rates/list', { title: 'Exchange rates', base, list, filter: list.filter });
  });

  r.get(`${base}.csv`, async (req, res) => {
    const list = await rateList(req.query);
    await sendListCsv(req, res, 'exchange-rates', list.columns, list.rows);
  });

  r.get(`${base}/new`, (req, res) => {
    // "Add a rate" beside a pair comes with the pair filled in.
    const pair = exchangeRateListQuery.parse(req.query);
    res.page('exchange-rates/new', { title: 'New exchange rate', base, values: { from_currency: pair.from ?? 'USD', to_currency: pair.to ?? '', effective_from: momentText(Date.now() - (Date.now() % 60_000)) } });
  });

  r.post(base, async (req, res) => {
    await submitForm(
      req, res, exchangeRateFields,
      async (data) => {
        const rate = await service.addRate(db, refs, actor(req), data);
        flash(req, 'success', `1 ${rate.from} = ${rate.rate.toString()} ${rate.to} from ${momentText(rate.effectiveFrom)} UTC.`);
        res.redirect(303, base);
      },
      (errors) => res.page('exchange-rates/new', { title: 'New exchange rate', base, errors, values: req.body }),
    );
  });

  return r;
}
