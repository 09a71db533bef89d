import { Router } from 'express';
import { z } from 'zod';
import { ROUTER_OPTIONS } from '../../web/router';
import type { Db } from '../../db/knex';
import { idParam } from '../../web/params';
import { scope } from '../../web/principal';
import { listParams } from '../../domain/fields';
import { listView, sendListCsv, type Column } from '../../web/lists';
import { allJobsIn, jobIn, listJobsIn, type Job } from './jobs.service';

const listQuery = z.object({
  status: z.enum(['queued', 'running', 'done', 'failed']).optional().catch(undefined),
  q: z.string().trim().max(100).optional().catch(undefined),
  ...listParams,
});

/** The jobs list's columns (the page's table and its CSV); `base` is where each job's page is. */
function jobColumns(base: string): Array<Column<Job>> {
  return [
    { label: 'Queued', sort: 'queued', text: (j, h) => h.dateTime(j.createdAt), href: (j) => `${base}/${j.id}` },
    { label: 'Job', sort: 'title', text: (j) => j.title },
    { label: 'Status', sort: 'status', text: (j) => j.status },
    { label: 'Progress', num: true, text: (j) => (j.total > 0 ? `${j.done} of ${j.total}` : '') },
    { label: 'Attempts', sort: 'attempts', num: true, text: (j) => `${j.attempts} of ${j.maxAttempts}` },
    { label: 'Last error', text: (j) => j.error || '' },
  ];
}

/**
 * Background jobs: the list (the operator's staff see every job, the system's periodic work
 * included; a reseller's people their reseller's), and a job's page with its progress while it
 * runs (the page refreshes itself), its attempts and last error, and its outcome.
 */
export function jobRoutes({ db }: { db: Db }): Router {
  const r = Router(ROUTER_OPTIONS);
  for (const base of ['/wholesale/jobs', '/reseller/jobs']) {
    r.get(base, async (req, res) => {
      const filter = listQuery.parse(req.query);
      const page = await listJobsIn(db, scope(req), filter);
      const list = listView({ columns: jobColumns(base), ...page, filter, path: base, rowKey: 'job', noun: ['job', 'jobs'] });
      res.page('jobs/index', { title: 'Jobs', list, filter, base, refreshSeconds: 0 });
    });
    r.get(`${base}.csv`, async (req, res) => {
      const filter = listQuery.parse(req.query);
      await sendListCsv(req, res, 'jobs', jobColumns(base), allJobsIn(db, scope(req), filter));
    });
    r.get(`${base}/:jobId`, async (req, res) => {
      const job = await jobIn(db, scope(req), idParam(req, 'jobId'));
      const open = job.status === 'running' || job.status === 'queued';
      res.page('jobs/show', { title: job.title, job, refreshSeconds: open ? 1 : 0 });
    });
  }
  return r;
}
