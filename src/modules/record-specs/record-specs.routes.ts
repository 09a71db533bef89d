import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { ROUTER_OPTIONS } from '../../web/router';
import type { Db } from '../../db/knex';
import { ConflictError, FieldErrors } from '../../domain/errors';
import { listParams } from '../../domain/fields';
import { DIRECTIONS } from '../../domain/legs/direction';
import { ALIGNMENTS, CHARSETS, DATE_FORMATS, FieldOverflowError, LEG_STATUSES, LITERAL_FIELD, QUOTINGS, type RecordSpec } from '../../domain/records';
import { idParam } from '../../web/params';
import { actor, resellerIdOf, scope } from '../../web/principal';
import { askConfirmation, isConfirmed } from '../../web/confirm';
import { flash } from '../../web/render';
import { listInMemory, sendListCsv, type Column } from '../../web/lists';
import { queryString } from '../../web/forms';
import { getOrThrow as getReseller } from '../resellers/resellers.service';
import { localDate } from '../../domain/time/zones';
import { formRows, readSpecForm, specFormValues } from './record-specs.schemas';
import * as service from './record-specs.service';

const specListQuery = z.object({ ...listParams });

/** The list's columns: the page's table and its CSV. */
const SPEC_COLUMNS: Array<Column<service.RecordSpecView>> = [
  { label: 'Name', sort: 'name', text: (s) => s.name },
  { label: 'Columns', sort: 'columns', num: true, text: (s) => String(s.spec.fields.length) },
  { label: 'Layout', text: (s) => (s.spec.layout === 'fixed' ? 'fixed width' : s.spec.delimiter === '\t' ? 'tab separated' : `separated by ${s.spec.delimiter}`) },
  { label: 'Period', sort: 'period', text: (s) => s.period },
  { label: 'Status', sort: 'status', style: 'status', text: (s) => (s.active ? 'active' : 'retired') },
  { label: 'Changed', sort: 'changed', text: (s, h) => h.dateTime(s.updatedAt) },
];

/** What the form's selects offer. */
const FORM_OPTIONS = {
  fields: [{ value: '', label: '(none: drop this column)' }, ...service.CATALOGUE.map((f) => ({ value: f.id, label: `${f.label} (${f.id})` })), { value: LITERAL_FIELD, label: 'Constant text (literal)' }],
  layouts: [{ value: 'delimited', label: 'Delimited (CSV)' }, { value: 'fixed', label: 'Fixed width' }],
  delimiters: [{ value: ',', label: 'Comma ,' }, { value: ';', label: 'Semicolon ;' }, { value: 'tab', label: 'Tab' }, { value: '|', label: 'Pipe |' }, { value: ':', label: 'Colon :' }],
  quotings: QUOTINGS.map((q) => ({ value: q, label: q === 'minimal' ? 'Only where needed' : q === 'all' ? 'Every value' : 'None (backslash escapes)' })),
  lineEndings: [{ value: 'LF', label: 'LF (Unix)' }, { value: 'CRLF', label: 'CRLF (Windows)' }],
  charsets: CHARSETS.map((c) => ({ value: c, label: c })),
  dateFormats: DATE_FORMATS.map((d) => ({ value: d, label: d === 'iso8601' ? 'ISO 8601 with offset' : d === 'epoch' ? 'Epoch seconds' : d === 'epoch_ms' ? 'Epoch milliseconds' : d })),
  separators: [{ value: '.', label: 'Point .' }, { value: ',', label: 'Comma ,' }],
  periods: [{ value: 'daily', label: 'Daily' }, { value: 'hourly', label: 'Hourly' }],
  aligns: [{ value: '', label: 'auto' }, ...ALIGNMENTS.map((a) => ({ value: a, label: a }))],
  directions: DIRECTIONS,
  statuses: LEG_STATUSES,
};

/**
 * Record specifications in both portals: a reseller's admins keep their own
 * (`/reseller/record-specs`), the operator's admins any reseller's
 * (`/wholesale/resellers/:resellerId/record-specs`); support roles see both, change nothing (the
 * read-only guard refuses their posts and forms). Each spec's page previews it on the reseller's
 * most recent calls; a form's "Preview" button shows the edited spec without saving it.
 */
export function recordSpecRoutes({ db }: { db: Db }): Router {
  const r = Router(ROUTER_OPTIONS);

  for (const portal of ['wholesale', 'reseller'] as const) {
    const base = portal === 'wholesale' ? '/wholesale/resellers/:resellerId/record-specs' : '/reseller/record-specs';

    /** The reseller whose specs these are (operator staff: the one in the path, if it exists) and the paths of its pages. */
    async function owner(req: Request) {
      const reseller = await getReseller(db, scope(req), portal === 'wholesale' ? idParam(req, 'resellerId') : resellerIdOf(req));
      const path = portal === 'wholesale' ? `/wholesale/resellers/${reseller.id}/record-specs` : '/reseller/record-specs';
      return { reseller, path, portal };
    }

    async function specList(req: Request, resellerId: number, path: string) {
      const filter = specListQuery.parse(req.query);
      const rows = await service.listSpecs(db, resellerId);
      return listInMemory(rows, {
        columns: SPEC_COLUMNS.map((c) => (c.label === 'Name' ? { ...c, href: (s: service.RecordSpecView) => `${path}/${s.id}` } : c)),
        filter, path, rowKey: 'spec', noun: ['record specification', 'record specifications'],
        totalLines: [`${rows.filter((s) => s.active).length} active`],
        sorts: { name: (s) => s.name.toLowerCase(), columns: (s) => s.spec.fields.length, period: (s) => s.period, status: (s) => (s.active ? 0 : 1), changed: (s) => s.updatedAt.getTime() },
        defaultSort: 'name', defaultDir: 'asc',
      });
    }

    r.get(base, async (req, res) => {
      const o = await owner(req);
      const list = await specList(req, o.reseller.id, o.path);
      res.page('record-specs/list', { title: portal === 'wholesale' ? `${o.reseller.name}: record specifications` : 'Record specifications', ...o, list, filter: list.filter, presets: service.RECORD_PRESETS });
    });

    r.get(`${base}.csv`, async (req, res) => {
      const o = await owner(req);
      const list = await specList(req, o.reseller.id, o.path);
      await sendListCsv(req, res, 'record-specifications', list.columns, list.rows);
    });

    async function form(req: Request, res: Response, o: Awaited<ReturnType<typeof owner>>, locals: { title: string; action: string; values: Record<string, unknown>; errors?: Record<string, string>; preview?: service.Preview | null; spec?: service.RecordSpecView | null }) {
      res.page('record-specs/form', { ...o, options: FORM_OPTIONS, rows: formRows(locals.values), errors: {}, preview: null, spec: null, ...locals });
    }

    /** A submitted form: saved, or with "Preview" shown again with the preview of what was typed. */
    async function submit(req: Request, res: Response, o: Awaited<ReturnType<typeof owner>>, title: string, action: string, save: (data: ReturnType<typeof readSpecForm>) => Promise<service.RecordSpecView>, spec: service.RecordSpecView | null) {
      const body = (req.body ?? {}) as Record<string, unknown>;
      const wantsPreview = body.preview !== undefined;
      let data: ReturnType<typeof readSpecForm>;
      try {
        data = readSpecForm(body);
      } catch (err) {
        if (!(err instanceof FieldErrors)) throw err;
        res.status(422);
        return form(req, res, o, { title, action, values: body, errors: err.fields, spec });
      }
      if (wantsPreview) return form(req, res, o, { title, action, values: body, preview: await service.preview(db, o.reseller.id, data.spec), spec });
      try {
        const saved = await save(data);
        flash(req, 'success', `Record specification ${saved.name} saved.`);
        res.redirect(303, `${o.path}/${saved.id}`);
      } catch (err) {
        if (err instanceof FieldErrors) {
          res.status(422);
          return form(req, res, o, { title, action, values: body, errors: err.fields, spec });
        }
        if (!(err instanceof ConflictError)) throw err;
        flash(req, 'error', err.message);
        res.redirect(303, spec ? `${o.path}/${spec.id}` : o.path);
      }
    }

    r.get(`${base}/new`, async (req, res) => {
      const o = await owner(req);
      const preset = service.presetFor(queryString(req.query.preset) ?? 'plain', o.reseller.timeZone ?? 'UTC') ?? service.presetFor('plain', 'UTC');
      const p = preset as NonNullable<typeof preset>;
      // The preview from the start: the preset on the reseller's recent calls, before anything is changed.
      await form(req, res, o, { title: `New record specification: ${p.preset.name}`, action: o.path, values: specFormValues({ name: p.preset.name, period: 'daily', postsFrom: localDate(Date.now(), o.reseller.timeZone ?? 'UTC') }, p.spec), preview: await service.preview(db, o.reseller.id, p.spec) });
    });

    r.post(base, async (req, res) => {
      const o = await owner(req);
      await submit(req, res, o, 'New record specification', o.path, (data) => service.createSpec(db, actor(req), o.reseller.id, data), null);
    });

    r.get(`${base}/:recordSpecId`, async (req, res) => {
      const o = await owner(req);
      const spec = await service.getSpecOrThrow(db, o.reseller.id, idParam(req, 'recordSpecId'));
      const preview = await service.preview(db, o.reseller.id, spec.spec);
      res.page('record-specs/show', { title: spec.name, ...o, spec, preview, describe: describeSpec(spec.spec) });
    });

    r.get(`${base}/:recordSpecId/download-preview`, async (req, res) => {
      const o = await owner(req);
      const spec = await service.getSpecOrThrow(db, o.reseller.id, idParam(req, 'recordSpecId'));
      try {
        const file = await service.previewFile(db, o.reseller.id, spec);
        res.type(file.contentType).attachment(file.filename).send(file.bytes);
      } catch (err) {
        if (!(err instanceof FieldOverflowError)) throw err;
        flash(req, 'error', err.message);
        res.redirect(303, `${o.path}/${spec.id}`);
      }
    });

    r.get(`${base}/:recordSpecId/edit`, async (req, res) => {
      const o = await owner(req);
      const spec = await service.getSpecOrThrow(db, o.reseller.id, idParam(req, 'recordSpecId'));
      await form(req, res, o, { title: `Edit ${spec.name}`, action: `${o.path}/${spec.id}`, values: specFormValues(spec, spec.spec), spec, preview: await service.preview(db, o.reseller.id, spec.spec) });
    });

    r.post(`${base}/:recordSpecId`, async (req, res) => {
      const o = await owner(req);
      const spec = await service.getSpecOrThrow(db, o.reseller.id, idParam(req, 'recordSpecId'));
      await submit(req, res, o, `Edit ${spec.name}`, `${o.path}/${spec.id}`, (data) => service.updateSpec(db, actor(req), o.reseller.id, spec.id, data), spec);
    });

    r.post(`${base}/:recordSpecId/retire`, async (req, res) => {
      const o = await owner(req);
      const spec = await service.getSpecOrThrow(db, o.reseller.id, idParam(req, 'recordSpecId'));
      const back = `${o.path}/${spec.id}`;
      if (!spec.active) {
        flash(req, 'error', `${spec.name} is retired already.`);
        return res.redirect(303, back);
      }
      if (!isConfirmed(req)) {
        return askConfirmation(req, res, {
          title: `Retire ${spec.name}?`,
          consequences: [`No more files are made in ${spec.name}'s format; files already made stay as they are.`, 'Retiring cannot be undone; the specification stays visible.'],
          confirmLabel: `Retire ${spec.name}`,
          cancelHref: back,
        });
      }
      try {
        await service.retireSpec(db, actor(req), o.reseller.id, spec.id);
        flash(req, 'success', `${spec.name} is retired.`);
      } catch (err) {
        if (!(err instanceof ConflictError)) throw err;
        flash(req, 'error', err.message);
      }
      res.redirect(303, back);
    });
  }

  return r;
}

/** The spec's options in words, for its page. */
function describeSpec(s: RecordSpec): Array<[string, string]> {
  return [
    ['Layout', s.layout === 'fixed' ? 'Fixed width' : `Delimited by ${s.delimiter === '\t' ? 'tab' : s.delimiter}, quoting ${s.quoting}`],
    ['Line ending', s.lineEnding],
    ['Header row', s.header ? 'yes' : 'no'],
    ['Character set', `${s.charset}${s.bom ? ' with byte order mark' : ''}`],
    ['Dates', `${s.dateFormat} in ${s.timeZone}`],
    ['Money', `${s.decimalPlaces} decimals, separator ${s.decimalSeparator}`],
    ['Formula guard', s.formulaGuard ? 'on' : 'off'],
    ['Directions', s.filter.directions.length ? s.filter.directions.join(', ') : 'all'],
    ['Statuses', s.filter.statuses.length ? s.filter.statuses.join(', ') : 'all'],
    ['Answered only', s.filter.answeredOnly ? 'yes' : 'no'],
  ];
}
