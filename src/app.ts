import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { csrfSync } from 'csrf-sync';
import express from 'express';
import session from 'express-session';
import helmet from 'helmet';
import passport from 'passport';
import { pinoHttp } from 'pino-http';
import { requestIdOf } from './web/request-id';
import type { Config } from './config';
import { CacheVersions } from './db/cache-versions';
import { listenForChanges, REFERENCE_DATA_CHANNEL } from './db/change-notices';
import type { Db } from './db/knex';
import type { Logger } from './logger';
import { authRoutes } from './modules/auth/auth.routes';
import { SecretBox } from './modules/auth/secret-box';
import { auditRoutes } from './modules/audit/audit.routes';
import { callRoutes } from './modules/calls/calls.routes';
import { rejectRoutes } from './modules/calls/rejects.routes';
import { jobRoutes } from './modules/jobs/jobs.routes';
import { JobKinds } from './modules/jobs/jobs.service';
import { JobWorker } from './modules/jobs/worker';
import { registerRerateJobs } from './modules/calls/rerate.jobs';
import { registerIntakeJobs } from './modules/intake/intake.jobs';
import { registerBillingJobs } from './modules/billing/billing.jobs';
import { registerRecordFileJobs } from './modules/record-files/record-files.jobs';
import { RECORD_FILES_API, recordFilesApi } from './modules/record-files/record-files.api';
import { CARRIER_DATA_API, carrierDataApi } from './modules/carrier-data/carrier-data.api';
import { FREESWITCH_API, freeswitchApi } from './modules/switch/freeswitch.api';
import { registerCarrierDataJobs } from './modules/carrier-data/carrier-data.jobs';
import { registerReconciliationJobs } from './modules/reconciliation/reconciliation.jobs';
import { carrierDataRoutes } from './modules/carrier-data/carrier-data.routes';
import { missingNow } from './modules/carrier-data/carrier-data.service';
import { recordFileRoutes } from './modules/record-files/record-files.routes';
import { registerWebhookJobs } from './modules/webhooks/webhooks.jobs';
import { webhookRoutes } from './modules/webhooks/webhooks.routes';
import { billingRoutes } from './modules/billing/billing.routes';
import { reportRoutes } from './modules/reports/reports.routes';
import { accountingRoutes } from './modules/accounting/accounting.routes';
import { portalRoutes } from './modules/portal/portal.routes';
import { intakeHandler } from './modules/intake/intake.routes';
import { platformRoutes } from './modules/platforms/platforms.routes';
import { carrierRoutes } from './modules/carriers/carriers.routes';
import { reconciliationRoutes } from './modules/reconciliation/reconciliation.routes';
import { PLAN_CHANGED_CHANNEL, PlanCache } from './modules/rate-plans/plan-cache';
import { ReferenceData } from './modules/reference-data/reference-data';
import { registerDeckImportJobs } from './modules/rate-plans/deck-import.jobs';
import { ratePlanManageRoutes } from './modules/rate-plans/plan-manage.routes';
import { planAssignmentRoutes, ratePlanRoutes } from './modules/rate-plans/rate-plans.routes';
import { exchangeRateRoutes } from './modules/exchange-rates/exchange-rates.routes';
import { jurisdictionRoutes, taxExemptionRoutes, taxRoutes } from './modules/taxes/taxes.routes';
import { numberRangeRoutes } from './modules/number-ranges/number-ranges.routes';
import { tollPackageRoutes } from './modules/toll-packages/toll-packages.routes';
import { featurePackageRoutes } from './modules/feature-packages/feature-packages.routes';
import { recordSpecRoutes } from './modules/record-specs/record-specs.routes';
import { resellerRoutes } from './modules/resellers/resellers.routes';
import { settingsRoutes } from './modules/settings/settings.routes';
import { subscriberRoutes } from './modules/subscribers/subscribers.routes';
import { selfCareRoutes } from './modules/selfcare/selfcare.routes';
import { userRoutes } from './modules/users/users.routes';
import { API_MOUNT, apiRouter, type ApiKeyCheck } from './web/api';
import { apiKeyCheck } from './modules/api-keys/api-keys.auth';
import { apiKeyRoutes } from './modules/api-keys/api-keys.routes';
import { apiDocument, apiOperations } from './api';
import { configurePassport } from './web/passport';
import { enforceAccountStatus, readOnlyGuard, requireLogin, requirePortal } from './web/guards';
import { errorHandler, notFoundHandler } from './web/errors';
import { API_PREFIX } from './web/problems';
import { homeFor, renderSetup } from './web/render';
import { KnexSessionStore } from './web/session-store';
import { UsageFolder } from './modules/ledger/usage-folder';
import { LoginThrottle } from './web/throttle';
import { uploads } from './web/uploads';

export interface AppDeps {
  config: Config;
  db: Db;
  /** The same database as db, for the change listener's own connection (plans and reference data). */
  databaseUrl: string;
  /**
   * The embedded PGlite: one session behind the socket, so the app keeps to one connection and
   * listens for no notifications (it is the only process on that data folder anyway).
   */
  embedded?: boolean;
  /** Instance secret: signs session cookies and derives the key for secrets at rest. */
  instanceSecret: string;
  logger: Logger;
  /** Compiled rate plans; one per process, shared with the CDR intake. */
  planCache?: PlanCache;
  /** Platforms, usage taxes and exchange rates held in memory for the CDR intake; one per process. */
  referenceData?: ReferenceData;
  /** How long the caches serve a copy on one confirmation of its version (default: config.cacheMaxAgeMs). */
  cacheMaxAgeMs?: number;
  /**
   * Whether this process's job worker also turns due schedules into jobs (the server: yes; test
   * apps: no, they run only the jobs they queue). The worker itself runs in every app.
   */
  schedules?: boolean;
  /** Set false for an app that runs no background jobs at all (queued jobs wait for another process). */
  worker?: boolean;
  /** Who an API bearer key acts as (web/api.ts); by default no key is accepted (API keys are issue 14). */
  apiKeys?: ApiKeyCheck;
}

export interface BuiltApp {
  /** The request listener for an HTTP(S) server: the CDR intake, and the portal's Express app for everything else. */
  app: (req: IncomingMessage, res: ServerResponse) => void;
  /** The portal's Express app alone. */
  portal: express.Express;
  planCache: PlanCache;
  referenceData: ReferenceData;
  /** The versions every cache of this process follows. */
  cacheVersions: CacheVersions;
  /** The job kinds (handlers and schedules) of this process, for queuing. */
  jobs: JobKinds;
  /** This process's job worker (absent with worker: false). */
  worker?: JobWorker;
  /** Readies what the first requests would otherwise wait for (the intake's parse threads); the server awaits it before it listens. */
  warmUp(): Promise<void>;
  close(): Promise<void>;
}

export function createApp(deps: AppDeps): BuiltApp {
  const { config, db, logger } = deps;
  const app = express();
  const box = new SecretBox(deps.instanceSecret);
  const throttle = new LoginThrottle(config.loginThrottle);
  const planCache = deps.planCache ?? new PlanCache();
  const referenceData = deps.referenceData ?? new ReferenceData();
  // Every cache follows one protocol (db/cache-versions.ts): versions in the database, checked at
  // least every cacheMaxAgeMs; notices only make the check come sooner.
  const versions = new CacheVersions(db, { maxAgeMs: deps.cacheMaxAgeMs ?? config.cacheMaxAgeMs });
  versions.register(planCache);
  referenceData.follow(versions);
  // What rating reads from memory; the intake and re-rating are handed all of it.
  const caches = { plans: planCache, refs: referenceData, versions };
  // One connection hears every other process's changes (none to hear with the embedded database,
  // whose caches then check the versions before serving once their confirmation runs out).
  const changeListener = deps.embedded
    ? { close: async () => undefined }
    : listenForChanges(deps.databaseUrl, versions.subscribers([PLAN_CHANGED_CHANNEL, REFERENCE_DATA_CHANNEL]), logger);

  // Background work: handlers by kind, run by this process's worker as any other process's would.
  const jobs = new JobKinds();
  registerRerateJobs(jobs, { db, caches });
  registerIntakeJobs(jobs, { db, caches });
  registerBillingJobs(jobs, { db });
  registerRecordFileJobs(jobs, { db, box, allowPrivate: config.outboundAllowPrivate });
  registerCarrierDataJobs(jobs, { db });
  registerReconciliationJobs(jobs, { db, embedded: deps.embedded });
  registerWebhookJobs(jobs, { db, box, allowPrivate: config.outboundAllowPrivate, retentionDays: config.webhookRetentionDays });
  registerDeckImportJobs(jobs, { db, cache: planCache, embedded: deps.embedded });
  // The dashboards' usage deltas folded into their totals (off the intake's write; ledger/usage-folder.ts),
  // where schedules run (the server); a test folds when it means to (readers are exact either way).
  const usageFolder = deps.schedules ? new UsageFolder(db, { log: logger }).start() : undefined;
  const worker = deps.worker === false ? undefined : new JobWorker({ db, kinds: jobs, log: logger, leaseSeconds: config.jobLeaseSeconds, schedules: deps.schedules ?? false }).start();

  app.set('view engine', 'ejs');
  app.set('views', path.resolve(__dirname, '../views'));
  app.disable('x-powered-by');
  // Paths match exactly (see web/router.ts): the app's own routes and mounts as well as the modules'.
  app.set('case sensitive routing', true);
  app.set('strict routing', true);
  if (config.trustProxy !== undefined) app.set('trust proxy', config.trustProxy);

  // Machine intake in front of the portal (see intakeHandler): no session, no CSRF, its own body
  // parser, credential and request log.
  const intake = intakeHandler({ db, caches, logger, copy: !deps.embedded, trustProxy: () => app.get('trust proxy fn'), limits: config.intakeLimits, parseThreads: config.intakeParseThreads });

  app.use(
    pinoHttp({
      logger,
      genReqId: (req, res) => {
        const id = requestIdOf(req);
        res.setHeader('X-Request-Id', id);
        return id;
      },
      customLogLevel: (_req, res, err) => (err || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info'),
      autoLogging: { ignore: (req) => req.url === '/healthz' },
    }),
  );

  app.use(
    helmet({
      contentSecurityPolicy: {
        directives: {
          defaultSrc: ["'self'"],
          imgSrc: ["'self'", 'data:'],
          formAction: ["'self'"],
          frameAncestors: ["'none'"],
          upgradeInsecureRequests: config.secureCookies ? [] : null,
        },
      },
      // HSTS only when we know the browser reached us over TLS.
      strictTransportSecurity: config.secureCookies ? { maxAge: 31536000, includeSubDomains: true } : false,
    }),
  );

  // Everything but the static files is one person's or of the moment: billing data, calls, exports,
  // a platform's one-time credential, a TOTP secret, the health check. No cache may keep any of it.
  app.use((req, res, next) => {
    // Static files and the icon hold nothing private: cached; everything else is not.
    if (!req.path.startsWith('/public/') && req.path !== '/favicon.ico') res.set('Cache-Control', 'no-store');
    next();
  });

  // Healthy means reachable and able to store a post: a monitor or load balancer must not keep
  // sending switches to an instance whose intake answers every post with 503.
  app.get('/healthz', async (_req, res) => {
    try {
      await db.raw('select 1');
    } catch (err) {
      logger.error({ err }, 'health check failed: database');
      return void res.status(503).json({ status: 'error', database: 'unreachable', intake: 'unknown' });
    }
    try {
      await intake.probe();
      res.json({ status: 'ok', database: 'ok', intake: 'ok' });
    } catch (err) {
      logger.error({ err }, 'health check failed: intake');
      res.status(503).json({ status: 'error', database: 'ok', intake: 'failing' });
    }
  });

  // The machine API, like the intake a machine's and not a person's: mounted before the static
  // files, body parsers, sessions, CSRF and the portal's guards, so none of them runs for it (no
  // session cookie, no login redirect, no HTML). Its own bearer keys, JSON and problem details.
  // Record files' own narrow keys (record-files.api.ts), in front of the general API router.
  app.use(RECORD_FILES_API, recordFilesApi({ db }));
  // LD carriers' billing data, with the carriers' own posting credentials (carrier-data.api.ts).
  app.use(CARRIER_DATA_API, carrierDataApi({ db }));
  // FreeSWITCH's directory lookups (mod_xml_curl), with a platform's credential (freeswitch.api.ts).
  app.use(FREESWITCH_API, freeswitchApi({ db, caches }));
  const operations = apiOperations();
  app.use(API_MOUNT, apiRouter({ keys: deps.apiKeys ?? apiKeyCheck(db), requestsPerSecondPerKey: config.apiRequestsPerSecondPerKey, operations, db, document: apiDocument(operations) }));
  // Any other path under /api (another version, a typo): problem details, still without a session.
  app.use(API_PREFIX, notFoundHandler);

  // Browsers ask for /favicon.ico on a first visit whatever the page links: answer it, cached,
  // before sessions (no cookie or session row for an icon).
  const favicon = path.resolve(__dirname, '../public/favicon.ico');
  app.get('/favicon.ico', (_req, res) => res.sendFile(favicon, { maxAge: '7d' }));
  // The dashboards' chart library, from the package itself (no CDN: the CSP allows scripts from 'self' only).
  const chartJs = path.join(path.dirname(require.resolve('chart.js')), 'chart.umd.min.js');
  app.get('/public/vendor/chart.umd.min.js', (_req, res) => res.sendFile(chartJs, { maxAge: '1h' }));
  app.use('/public', express.static(path.resolve(__dirname, '../public'), { maxAge: '1h' }));
  app.use(express.urlencoded({ extended: false, limit: '100kb' }));
  app.use(express.json({ limit: '1mb' }));

  const store = new KnexSessionStore(db, { pruneEveryMs: config.env === 'test' ? undefined : 15 * 60 * 1000 });
  app.use(
    session({
      name: 'vb.sid',
      store,
      secret: deps.instanceSecret,
      resave: false,
      saveUninitialized: false,
      rolling: true,
      cookie: { httpOnly: true, sameSite: 'lax', secure: config.secureCookies, maxAge: config.sessionMaxAgeMs },
    }),
  );

  // One authenticator per app, not passport's global singleton: a second app in the same process
  // (tests, tools) would otherwise chain its deserializer behind the first app's database.
  const authenticator = new passport.Passport();
  configurePassport(authenticator, db);
  app.use(authenticator.initialize());
  app.use(authenticator.session());

  const { csrfSynchronisedProtection, isRequestValid } = csrfSync({
    getTokenFromRequest: (req) => (req.body?._csrf as string | undefined) ?? (req.headers['x-csrf-token'] as string | undefined),
  });
  // Deck and band imports arrive as multipart forms: role and token first, then streamed to disk
  // (see web/uploads.ts), before the CSRF check, which reads the token from the form fields.
  app.use(uploads(isRequestValid));

  // A refused token still gets the friendly 403 page, which needs res.page (renderSetup) installed.
  app.use((req, res, next) => csrfSynchronisedProtection(req, res, (err?: unknown) => (err ? renderSetup(req, res, () => next(err)) : next())));
  app.use(renderSetup);
  app.use(enforceAccountStatus);

  app.get('/', (req, res) => res.redirect(req.user ? homeFor(req.user.role) : '/login'));
  // Before authRoutes: it registers the /account pages, which need a logged-in person.
  app.use('/account', requireLogin);
  app.use(authRoutes({ db, box, throttle }));

  app.use('/wholesale', requirePortal('wholesale'));
  app.use('/reseller', requirePortal('reseller'));
  app.use('/me', requirePortal('subscriber'));
  app.use(readOnlyGuard);

  app.use(portalRoutes({ db }));
  app.use(resellerRoutes({ db }));
  app.use(numberRangeRoutes({ db }));
  app.use(userRoutes({ db }));
  app.use(subscriberRoutes({ db }));
  app.use(auditRoutes({ db }));
  app.use(ratePlanRoutes({ db, cache: planCache, jobs }));
  app.use(ratePlanManageRoutes({ db, cache: planCache }));
  app.use(planAssignmentRoutes({ db }));
  app.use(tollPackageRoutes({ db }));
  app.use(taxRoutes({ db, refs: referenceData }));
  app.use(jurisdictionRoutes({ db, refs: referenceData }));
  app.use(taxExemptionRoutes({ db }));
  app.use(featurePackageRoutes({ db }));
  app.use(exchangeRateRoutes({ db, refs: referenceData }));
  app.use(platformRoutes({ db, refs: referenceData }));
  // Before the carriers' routes: /wholesale/carriers/report is not a carrier.
  app.use(reconciliationRoutes({ db, jobs, inlineMax: config.reconcileInlineMax }));
  app.use(carrierRoutes({ db, refs: referenceData, missingFiles: (list) => missingNow(db, list) }));
  app.use(carrierDataRoutes({ db }));
  app.use(callRoutes({ db, caches, jobs }));
  app.use(recordSpecRoutes({ db }));
  app.use(recordFileRoutes({ db, box, outbound: { allowPrivate: config.outboundAllowPrivate } }));
  // Private addresses (and plain HTTP to this machine) only when OUTBOUND_ALLOW_PRIVATE says so (a local receiver, tests).
  app.use(webhookRoutes({ db, box, outbound: { allowPrivate: config.outboundAllowPrivate } }));
  app.use(selfCareRoutes({ db, plans: planCache }));
  app.use(rejectRoutes({ db }));
  app.use(jobRoutes({ db }));
  app.use(settingsRoutes({ db }));
  app.use(apiKeyRoutes({ db }));
  app.use(billingRoutes({ db }));
  app.use(reportRoutes({ db }));
  app.use(accountingRoutes({ db }));

  app.use(notFoundHandler);
  app.use(errorHandler);

  return {
    app: (req, res) => intake(req, res, () => app(req, res)),
    portal: app,
    planCache,
    referenceData,
    cacheVersions: versions,
    jobs,
    worker,
    warmUp: () => intake.warm(),
    async close() {
      await worker?.stop();
      await intake.close();
      await usageFolder?.stop();
      await changeListener.close();
      store.close();
    },
  };
}
