import { Router } from 'express';
import { ROUTER_OPTIONS } from '../../web/router';
import type { Db } from '../../db/knex';
import { NotFoundError } from '../../domain/errors';
import { idParam } from '../../web/params';
import { scope } from '../../web/principal';
import { getJob } from './jobs.repository';

/** A long job's page: its progress while it runs (the page refreshes itself), its outcome after. */
export function jobRoutes({ db }: { db: Db }): Router {
  const r = Router(ROUTER_OPTIONS);
  for (const base of ['/wholesale/jobs', '/reseller/jobs']) {
    r.get(`${base}/:jobId`, async (req, res) => {
      const job = await getJob(db, scope(req), idParam(req, 'jobId'));
      if (!job) throw new NotFoundError();
      res.page('jobs/show', { title: job.title, job, refreshSeconds: job.status === 'running' ? 1 : 0 });
    });
  }
  return r;
}
