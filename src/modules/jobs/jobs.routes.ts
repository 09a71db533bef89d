import { Router } from 'express';
import { z } from 'zod';
import { ROUTER_OPTIONS } from '../../web/router';
import type { Db } from '../../db/knex';
import { idParam } from '../../web/params';
import { scope } from '../../web/principal';
import { jobIn, listJobsIn } from './jobs.service';

const listQuery = z.object({
  status: z.enum(['queued', 'running', 'done', 'failed']).optional().catch(undefined),
  cursor: z.string().max(200).optional(),
});

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
      res.page('jobs/index', { title: 'Jobs', page, filter, base, refreshSeconds: 0 });
    });
    r.get(`${base}/:jobId`, async (req, res) => {
      const job = await jobIn(db, scope(req), idParam(req, 'jobId'));
      const open = job.status === 'running' || job.status === 'queued';
      res.page('jobs/show', { title: job.title, job, refreshSeconds: open ? 1 : 0 });
    });
  }
  return r;
}
