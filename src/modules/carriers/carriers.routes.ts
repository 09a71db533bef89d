import { Router } from 'express';
import { ROUTER_OPTIONS } from '../../web/router';
import type { ReferenceInvalidator } from '../../db/change-notices';
import type { Db } from '../../db/knex';
import { CARRIER_DATE_FORMATS, CARRIER_FORMATS, DURATION_FORMATS, type CarrierMapping } from '../../domain/reconciliation';
import { submitForm } from '../../web/forms';
import { idParam } from '../../web/params';
import { actor } from '../../web/principal';
import { askConfirmation, isConfirmed } from '../../web/confirm';
import { flash } from '../../web/render';
import { listInMemory, sendListCsv, type Column } from '../../web/lists';
import { CARRIER_FORMAT_LABELS, carrierFields, carrierListQuery } from './carriers.schemas';
import * as service from './carriers.service';

const BASE = '/wholesale/carriers';
const FORMAT_OPTIONS = CARRIER_FORMATS.map((f) => ({ value: f, label: CARRIER_FORMAT_LABELS[f] }));
const DATE_FORMAT_OPTIONS = CARRIER_DATE_FORMATS.map((f) => ({ value: f, label: f }));
const DURATION_FORMAT_OPTIONS = DURATION_FORMATS.map((f) => ({ value: f, label: f }));

type CarrierRow = service.CarrierSummary;

const dueText = (c: CarrierRow) => (c.fileDueAt ? `${c.fileDueAt} ${c.fileDueZone}` : '');

/** The carriers list's columns: the page's table and its CSV. */
const CARRIER_COLUMNS: Array<Column<CarrierRow>> = [
  { label: 'Name', sort: 'name', text: (c) => c.name, href: (c) => `${BASE}/${c.id}` },
  { label: 'Currency', sort: 'currency', text: (c) => c.currency },
  { label: 'Cost deck', sort: 'deck', text: (c) => c.costPlanName ?? '', href: (c) => (c.costPlanId ? `/wholesale/rate-plans/${c.costPlanId}` : undefined) },
  { label: 'Billing data', sort: 'format', style: 'code', text: (c) => c.dataFormat },
  { label: 'Trunks', sort: 'trunks', num: true, text: (c) => String(c.trunks.length) },
  { label: 'File due', sort: 'due', text: dueText },
  { label: 'Status', sort: 'status', style: 'status', text: (c) => (c.active ? 'active' : 'inactive') },
  { label: 'Credential since', sort: 'credential', text: (c, h) => (c.credentialRotatedAt ? h.dateTime(c.credentialRotatedAt) : 'none issued') },
];

/** The form's values from a stored carrier (the mapping's fields as map_*). */
function formValues(c: service.Carrier): Record<string, string> {
  const m: Partial<CarrierMapping> = c.csvMapping ?? {};
  const col = (v: unknown) => (v === null || v === undefined ? '' : String(v));
  const cols: Partial<CarrierMapping['columns']> = m.columns ?? {};
  return {
    name: c.name, currency: c.currency, time_zone: c.timeZone, cost_plan_id: c.costPlanId ? String(c.costPlanId) : '',
    start_tolerance_seconds: String(c.startToleranceSeconds), duration_tolerance_seconds: String(c.durationToleranceSeconds), cost_tolerance: c.costTolerance.toString(),
    data_format: c.dataFormat, allowed_sources: (c.allowedSources ?? []).join('\n'), file_due_at: c.fileDueAt ?? '', file_due_zone: c.fileDueZone,
    ...(c.csvMapping
      ? {
          map_called: col(cols.called), map_calling: col(cols.calling), map_start: col(cols.start), map_duration: col(cols.duration), map_cost: col(cols.cost), map_rate: col(cols.rate), map_record_id: col(cols.recordId),
          map_date_format: col(m.dateFormat), map_time_zone: col(m.timeZone), map_duration_format: col(m.durationFormat),
          map_currency: m.currency && 'fixed' in m.currency ? m.currency.fixed : '', map_currency_column: m.currency && 'column' in m.currency ? col(m.currency.column) : '',
          map_skip_lines: col(m.skipLines), map_header: m.header ? 'on' : '', map_delimiter: m.delimiter === '\t' ? 'tab' : col(m.delimiter),
          map_decimal_separator: col(m.decimalSeparator), map_country_code: col(m.countryCode),
        }
      : MAPPING_DEFAULTS),
  };
}

/** What the mapping fields start with (a mapped CSV chosen later starts from them too). */
const MAPPING_DEFAULTS = { map_date_format: 'YYYY-MM-DD HH:mm:ss', map_time_zone: 'UTC', map_duration_format: 'seconds', map_skip_lines: '0', map_header: 'on', map_delimiter: ',', map_decimal_separator: '.' };

const NEW_VALUES = {
  currency: 'USD', time_zone: 'UTC', start_tolerance_seconds: '5', duration_tolerance_seconds: '1', cost_tolerance: '0.01', data_format: 'carrier-generic-csv', file_due_zone: 'UTC', ...MAPPING_DEFAULTS,
};

/** Wholesale portal: the LD carriers that terminate outbound calls and bill the operator (issue 13). */
export function carrierRoutes({ db, refs }: { db: Db; refs: ReferenceInvalidator }): Router {
  const r = Router(ROUTER_OPTIONS);
  const common = { base: BASE, formatOptions: FORMAT_OPTIONS, formatLabels: CARRIER_FORMAT_LABELS, dateFormatOptions: DATE_FORMAT_OPTIONS, durationFormatOptions: DURATION_FORMAT_OPTIONS };

  async function carrierList(query: unknown) {
    const filter = carrierListQuery.parse(query);
    const q = filter.q?.toLowerCase();
    const rows = (await service.listCarriers(db)).filter(
      (c) => (!q || c.name.toLowerCase().includes(q) || c.dataFormat.includes(q)) && (!filter.status || (filter.status === 'active') === c.active),
    );
    const active = rows.filter((c) => c.active).length;
    const trunks = rows.reduce((n, c) => n + c.trunks.length, 0);
    return listInMemory(rows, {
      columns: CARRIER_COLUMNS, filter, path: BASE, noun: ['carrier', 'carriers'], rowKey: 'carrier',
      totalLines: [`${active} active of ${rows.length}`, `${trunks} ${trunks === 1 ? 'trunk' : 'trunks'} mapped`, `${rows.filter((c) => !c.costPlanId).length} without a cost deck`],
      sorts: {
        name: (c) => c.name.toLowerCase(), currency: (c) => c.currency, deck: (c) => c.costPlanName?.toLowerCase() ?? null, format: (c) => c.dataFormat, trunks: (c) => c.trunks.length,
        due: (c) => c.fileDueAt, status: (c) => (c.active ? 'active' : 'inactive'), credential: (c) => c.credentialRotatedAt?.getTime() ?? null,
      },
      defaultSort: 'name', defaultDir: 'asc',
    });
  }

  r.get(BASE, async (req, res) => {
    const list = await carrierList(req.query);
    res.page('carriers/list', { title: 'LD carriers', ...common, list, filter: list.filter });
  });

  r.get(`${BASE}.csv`, async (req, res) => {
    const list = await carrierList(req.query);
    await sendListCsv(req, res, 'carriers', list.columns, list.rows);
  });

  r.get(`${BASE}/new`, async (_req, res) => {
    res.page('carriers/new', { title: 'New LD carrier', ...common, planOptions: await service.costPlanChoices(db, null), values: NEW_VALUES });
  });

  r.post(BASE, async (req, res) => {
    await submitForm(
      req, res, carrierFields,
      async (data) => {
        const { carrier, token } = await service.createCarrier(db, actor(req), data, refs);
        res.status(201);
        res.page('carriers/credential', { title: carrier.name, carrier, token, created: true });
      },
      async (errors) => res.page('carriers/new', { title: 'New LD carrier', ...common, planOptions: await service.costPlanChoices(db, null), errors, values: req.body }),
    );
  });

  const load = (id: number) => service.getOrThrow(db, id);

  r.get(`${BASE}/:carrierId`, async (req, res) => {
    const carrier = await load(idParam(req, 'carrierId'));
    res.page('carriers/show', { title: carrier.name, ...common, carrier });
  });

  r.get(`${BASE}/:carrierId/edit`, async (req, res) => {
    const c = await load(idParam(req, 'carrierId'));
    res.page('carriers/edit', { title: `Edit ${c.name}`, ...common, carrier: c, planOptions: await service.costPlanChoices(db, c.costPlanId), values: formValues(c) });
  });

  r.post(`${BASE}/:carrierId`, async (req, res) => {
    const id = idParam(req, 'carrierId');
    const carrier = await load(id);
    await submitForm(
      req, res, carrierFields,
      async (data) => {
        if (data.name !== carrier.name && carrier.trunks.length > 0 && !isConfirmed(req)) {
          return askConfirmation(req, res, {
            title: `Rename ${carrier.name} to ${data.name}?`,
            consequences: [
              `${carrier.trunks.length === 1 ? 'The trunk' : `The ${carrier.trunks.length} trunks`} mapped to ${carrier.name} (${carrier.trunks.map((t) => `${t.platformName}: ${t.trunk}`).join(', ')}) will name ${data.name}; outbound legs from now on carry the new name.`,
              `Legs already stored keep the name ${carrier.name}.`,
            ],
            confirmLabel: `Rename to ${data.name}`,
            cancelHref: `${BASE}/${id}`,
            fields: req.body as Record<string, string>,
          });
        }
        await service.updateCarrier(db, refs, actor(req), id, data);
        flash(req, 'success', 'Carrier saved.');
        res.redirect(303, `${BASE}/${id}`);
      },
      async (errors) => res.page('carriers/edit', { title: `Edit ${carrier.name}`, ...common, carrier, planOptions: await service.costPlanChoices(db, carrier.costPlanId), errors, values: req.body }),
    );
  });

  r.post(`${BASE}/:carrierId/rotate`, async (req, res) => {
    const carrier = await load(idParam(req, 'carrierId'));
    if (!isConfirmed(req)) {
      return askConfirmation(req, res, {
        title: `${carrier.credentialHash ? 'Issue a new' : 'Issue a'} posting credential for ${carrier.name}?`,
        consequences: [
          ...(carrier.credentialHash ? [`The credential ${carrier.name} posts its billing data with now stops working at once: its posts are refused (401) until it is given the new one.`] : []),
          'The new credential is shown once, on the next page: copy it to the carrier straight away. It is stored hashed and cannot be shown again.',
        ],
        confirmLabel: 'Issue a new credential',
        cancelHref: `${BASE}/${carrier.id}`,
      });
    }
    const { carrier: after, token } = await service.rotateCredential(db, actor(req), carrier.id);
    res.page('carriers/credential', { title: after.name, carrier: after, token, created: false });
  });

  r.post(`${BASE}/:carrierId/deactivate`, async (req, res) => {
    const carrier = await load(idParam(req, 'carrierId'));
    if (carrier.active && !isConfirmed(req)) {
      return askConfirmation(req, res, {
        title: `Deactivate ${carrier.name}?`,
        consequences: [
          `Billing data ${carrier.name} posts from now on is refused (403) and not stored, and no file is expected from it, until it is made active again.`,
          carrier.trunks.length
            ? `Its ${carrier.trunks.length === 1 ? 'trunk stays' : `${carrier.trunks.length} trunks stay`} mapped (${carrier.trunks.map((t) => `${t.platformName}: ${t.trunk}`).join(', ')}) and legs keep being tagged with it; no new trunk can be mapped to it.`
            : 'No trunk is mapped to it; no new trunk can be mapped to it while it is inactive.',
        ],
        confirmLabel: `Deactivate ${carrier.name}`,
        cancelHref: `${BASE}/${carrier.id}`,
      });
    }
    await service.setCarrierActive(db, actor(req), carrier.id, false);
    flash(req, 'success', `${carrier.name} is inactive.`);
    res.redirect(303, `${BASE}/${carrier.id}`);
  });

  r.post(`${BASE}/:carrierId/activate`, async (req, res) => {
    const id = idParam(req, 'carrierId');
    const carrier = await service.setCarrierActive(db, actor(req), id, true);
    flash(req, 'success', `${carrier.name} is active again.`);
    res.redirect(303, `${BASE}/${id}`);
  });

  return r;
}
