import { Router } from 'express';
import { ROUTER_OPTIONS } from '../../web/router';
import { z } from 'zod';
import type { Db } from '../../db/knex';
import { listParams } from '../../domain/fields';
import { listView, sendListCsv, type Column } from '../../web/lists';
import { scope } from '../../web/principal';
import { allAudit, auditPage, type AuditRow } from './audit.service';

const auditQuery = z.object({
  entityType: z.enum(['reseller', 'subscriber', 'user', 'phone_number', 'setting', 'platform', 'carrier']).optional().catch(undefined),
  action: z.string().trim().max(40).regex(/^[a-z_]+$/).optional().catch(undefined),
  resellerId: z.coerce.number().int().positive().optional().catch(undefined),
  entityId: z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER).optional().catch(undefined),
  who: z.string().trim().max(100).optional().catch(undefined),
  ...listParams,
});

const blank = (v: unknown) => v === null || v === undefined || v === '';

/** A change's fields as lines of text ("name: Old → New"); a creation lists the fields it set. */
function changesText(a: AuditRow, h: { changes: (b: AuditRow['before'], c: AuditRow['after']) => Array<{ field: string; before: unknown; after: unknown }>; json: (v: unknown) => string }): string {
  return h
    .changes(a.before, a.after)
    .filter((c) => a.before || !blank(c.after))
    .map((c) => `${c.field}: ${a.before ? `${blank(c.before) ? '' : `${h.json(c.before)} `}→ ` : ''}${blank(c.after) ? 'empty' : h.json(c.after)}`)
    .join('\n');
}

/** The audit log's columns (the page and its CSV); the operator's staff see whose reseller. */
function auditColumns(portal: 'wholesale' | 'reseller'): Array<Column<AuditRow>> {
  return [
    { label: 'When', sort: 'when', text: (a, h) => h.dateTime(a.occurredAt) },
    { label: 'Who', sort: 'who', text: (a, h) => `${a.actorEmail || (a.actorRole?.startsWith('wholesale_') ? 'Operator' : 'system')}${a.actorRole ? ` (${h.roleLabel(a.actorRole)})` : ''}` },
    ...(portal === 'wholesale'
      ? [{ label: 'Reseller', sort: 'reseller', text: (a: AuditRow) => a.resellerName || '—', href: (a: AuditRow) => (a.resellerId ? `/wholesale/resellers/${a.resellerId}` : undefined) }]
      : []),
    { label: 'What', sort: 'what', text: (a) => `${a.action} ${a.entityType}${a.entityId ? ` #${a.entityId}` : ''}` },
    { label: 'Changes', style: 'lines', text: changesText },
  ];
}

/** The audit log: wholesale sees every change, a reseller the changes to its own rows. */
export function auditRoutes({ db }: { db: Db }): Router {
  const r = Router(ROUTER_OPTIONS);
  for (const portal of ['wholesale', 'reseller'] as const) {
    const parse = (query: unknown) => {
      const filter = auditQuery.parse(query);
      if (portal === 'reseller') delete filter.resellerId;
      return filter;
    };
    r.get(`/${portal}/audit`, async (req, res) => {
      const filter = parse(req.query);
      const page = await auditPage(db, scope(req), filter);
      const list = listView({ columns: auditColumns(portal), ...page, filter, path: `/${portal}/audit`, noun: ['change', 'changes'] });
      res.page('audit/list', { title: 'Audit log', list, filter, portal });
    });
    r.get(`/${portal}/audit.csv`, async (req, res) => {
      await sendListCsv(req, res, 'audit-log', auditColumns(portal), allAudit(db, scope(req), parse(req.query)));
    });
  }
  return r;
}
