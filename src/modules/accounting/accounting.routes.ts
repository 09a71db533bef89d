import { Router, type Request, type Response } from 'express';
import { ROUTER_OPTIONS } from '../../web/router';
import type { Db } from '../../db/knex';
import { BadRequestError } from '../../domain/errors';
import { QUICKBOOKS_COLUMNS, quickbooksRows, XERO_COLUMNS, xeroRows } from '../../domain/accounting/invoices';
import { ACCOUNT_CODE_LABELS, JOURNAL_COLUMNS, journalLines } from '../../domain/accounting/journal';
import { submitForm } from '../../web/forms';
import { sendListCsv } from '../../web/lists';
import { idParam } from '../../web/params';
import { actor, scope, timeZoneOf } from '../../web/principal';
import { flash, viewHelpers } from '../../web/render';
import { accountCodesFields, exportQuery } from './accounting.schemas';
import * as service from './accounting.service';

/** Rows of text straight to the shared CSV writer (formula-safe cells, web/lists.ts). */
async function sendRows(req: Request, res: Response, name: string, columns: readonly string[], rows: string[][]): Promise<void> {
  await sendListCsv(req, res, name, columns.map((label, i) => ({ label, text: (r: string[]) => r[i] ?? '' })), rows);
}

/**
 * Accounting exports (issue 12), beside the reports: a page per portal ("Export for accounting",
 * linked from the report with its period) with the general-ledger journal and the QuickBooks Online
 * and Xero invoice imports of the period, and the account-codes forms (a reseller's admin its own;
 * operator admins the operator's and any reseller's; support roles read the codes on the page).
 */
export function accountingRoutes({ db }: { db: Db }): Router {
  const r = Router(ROUTER_OPTIONS);

  for (const portal of ['wholesale', 'reseller'] as const) {
    const base = `/${portal}/reports`;
    const bookFor = (req: Request, reseller?: number) => service.bookOf(scope(req), portal === 'wholesale' ? reseller : undefined);

    r.get(`${base}/accounting`, async (req, res) => {
      const q = exportQuery.parse(req.query);
      const book = bookFor(req, q.reseller);
      if (book.kind === 'operator' && book.resellerId !== null) await service.codesOf(db, scope(req), book.resellerId); // 404 for no such reseller
      const f = await service.bookFigures(db, book, q, timeZoneOf(req));
      const period = { from: f.period.from, to: f.period.to, ...(q.reseller ? { reseller: q.reseller } : {}) };
      const codesHref = portal === 'wholesale' ? '/wholesale/account-codes/edit' : '/reseller/account-codes/edit';
      res.page('accounting/exports', {
        title: 'Export for accounting', base, book, f, summary: service.summary(f), labels: ACCOUNT_CODE_LABELS, codesHref,
        href: (file: string, extra: Record<string, string> = {}) => `${base}/${file}${viewHelpers.query({ ...period, ...extra })}`,
      });
    });

    const csv = (file: string, send: (req: Request, res: Response, f: Awaited<ReturnType<typeof service.bookFigures>>, name: string, q: ReturnType<typeof exportQuery.parse>) => Promise<void>) =>
      r.get(`${base}/${file}.csv`, async (req, res) => {
        const q = exportQuery.parse(req.query);
        const book = bookFor(req, q.reseller);
        if (book.kind === 'operator' && book.resellerId !== null) await service.codesOf(db, scope(req), book.resellerId);
        const f = await service.bookFigures(db, book, q, timeZoneOf(req));
        // A period that cannot be read: say so, never answer another period's figures under this name.
        if (f.problem) throw new BadRequestError(f.problem);
        const who = book.kind === 'operator' ? (book.resellerId === null ? 'operator' : `operator-reseller-${book.resellerId}`) : 'reseller';
        await send(req, res, f, `${who}-${file}-${f.period.from}-to-${f.period.to}`, q);
      });

    csv('journal', async (req, res, f, name, q) => {
      const lines = journalLines(f.figures, f.codes, { grouping: q.entries, periodEnd: f.period.to });
      await sendRows(req, res, name, JOURNAL_COLUMNS, lines.map((l) => [l.entry, l.date, l.account, l.description, l.debit, l.credit, l.currency, l.taxCode]));
    });
    csv('invoices-quickbooks', (req, res, f, name) => sendRows(req, res, name, QUICKBOOKS_COLUMNS, quickbooksRows(f.invoices)));
    csv('invoices-xero', (req, res, f, name) => sendRows(req, res, name, XERO_COLUMNS, xeroRows(f.invoices, f.codes.revenue)));
  }

  // Account codes: the operator's, a reseller's by operator admins, a reseller's own.
  const forms: Array<{ path: string; owner: (req: Request) => 'operator' | number; back: (req: Request) => string }> = [
    { path: '/wholesale/account-codes', owner: () => 'operator', back: () => '/wholesale/reports/accounting' },
    { path: '/wholesale/resellers/:resellerId/account-codes', owner: (req) => idParam(req, 'resellerId'), back: (req) => `/wholesale/resellers/${idParam(req, 'resellerId')}` },
    { path: '/reseller/account-codes', owner: (req) => (scope(req) as { resellerId: number }).resellerId, back: () => '/reseller/reports/accounting' },
  ];
  for (const form of forms) {
    const show = async (req: Request, res: Response, values?: Record<string, unknown>, errors?: Record<string, string>) => {
      const c = await service.codesOf(db, scope(req), form.owner(req));
      res.page('accounting/codes', {
        title: c.reseller ? `Account codes: ${c.reseller.name}` : 'Account codes', c, labels: ACCOUNT_CODE_LABELS,
        action: req.path.replace(/\/edit$/, ''), back: form.back(req), values: values ?? c.codes, errors,
      });
    };
    r.get(`${form.path}/edit`, (req, res) => show(req, res));
    r.post(form.path, async (req, res) => {
      await submitForm(
        req, res, accountCodesFields,
        async (data) => {
          await service.saveCodes(db, scope(req), actor(req), form.owner(req), data);
          flash(req, 'success', 'Account codes saved.');
          res.redirect(303, form.back(req));
        },
        (errors) => show(req, res, req.body, errors),
      );
    });
  }

  return r;
}
