import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';

/** What one platform may ask of the CDR intake at once, so that it cannot hold up the others (429 past it). */
export interface IntakeLimits {
  inFlightPerPlatform: number;
  postsPerSecondPerPlatform: number;
  /** Bytes of bodies being received or worked on at once (as sent, before decompression). */
  bytesInFlightPerPlatform: number;
}

/** Thrown for any configuration the operator must fix; the server prints only its message. */
export class ConfigError extends Error {}

const postgresUrl = z
  .string()
  .trim()
  .refine((value) => {
    try {
      const url = new URL(value);
      return (url.protocol === 'postgres:' || url.protocol === 'postgresql:') && url.hostname !== '';
    } catch {
      return false;
    }
  }, 'must be a URL like postgres://user:password@host:5432/database');

const schema = z
  .object({
    NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
    PORT: z.coerce
      .number({ error: 'must be a port number from 0 to 65535' })
      .int('must be a port number from 0 to 65535')
      .min(0, 'must be a port number from 0 to 65535')
      .max(65535, 'must be a port number from 0 to 65535')
      .default(3000),
    HOST: z.string().min(1).default('0.0.0.0'),
    DATABASE_URL: postgresUrl.optional(),
    DATA_DIR: z.string().min(1).default('./data'),
    SESSION_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
    SESSION_MAX_AGE_HOURS: z.coerce.number().positive().max(24 * 30).default(12),
    TLS_CERT_FILE: z.string().min(1).optional(),
    TLS_KEY_FILE: z.string().min(1).optional(),
    TRUST_PROXY: z.string().optional(),
    ADMIN_EMAIL: z.email().optional(),
    ADMIN_PASSWORD: z.string().min(12, 'must be at least 12 characters').optional(),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    LOGIN_MAX_FAILURES_PER_ACCOUNT: z.coerce.number().int().positive().default(5),
    LOGIN_MAX_FAILURES_PER_ADDRESS: z.coerce.number().int().positive().default(30),
    LOGIN_THROTTLE_MINUTES: z.coerce.number().int().positive().default(15),
    INTAKE_MAX_IN_FLIGHT_PER_PLATFORM: z.coerce.number().int().positive().default(1000),
    INTAKE_MAX_POSTS_PER_SECOND_PER_PLATFORM: z.coerce.number().int().positive().default(5000),
    INTAKE_MAX_MB_IN_FLIGHT_PER_PLATFORM: z.coerce.number().int().positive().default(100),
    INTAKE_PARSE_THREADS: z.coerce.number().int().min(0).max(64).default(Math.max(1, Math.min(4, os.availableParallelism() - 1))),
    API_MAX_REQUESTS_PER_SECOND_PER_KEY: z.coerce.number().int().positive().default(100),
    JOB_LEASE_SECONDS: z.coerce.number().int().min(2).max(3600).default(60),
    RECONCILE_INLINE_MAX: z.coerce.number().int().min(0).default(200_000),
    CACHE_CHECK_SECONDS: z.coerce.number().positive().max(3600).default(5),
    WEBHOOK_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(90),
    OUTBOUND_ALLOW_PRIVATE: z.enum(['true', 'false', '1', '0'], { error: 'must be true or false' }).default('false'),
  })
  .refine((c) => Boolean(c.TLS_CERT_FILE) === Boolean(c.TLS_KEY_FILE), {
    message: 'TLS_CERT_FILE and TLS_KEY_FILE must be given together',
    path: ['TLS_CERT_FILE'],
  });

export interface Config {
  env: 'development' | 'production' | 'test';
  port: number;
  host: string;
  /** Absent: the embedded Postgres in dataDir is used. */
  databaseUrl?: string;
  dataDir: string;
  sessionSecret?: string;
  sessionMaxAgeMs: number;
  tls?: { certFile: string; keyFile: string };
  /** Express "trust proxy" setting, when the app sits behind a TLS proxy. */
  trustProxy?: boolean | number | string;
  /** Cookies are marked Secure when the app serves TLS itself or trusts a TLS proxy. */
  secureCookies: boolean;
  admin: { email?: string; password?: string };
  logLevel: string;
  loginThrottle: { perAccount: number; perAddress: number; windowSeconds: number };
  intakeLimits: IntakeLimits;
  /** Requests a second one API key may make (429 with Retry-After past it), so one system cannot crowd out the others. */
  apiRequestsPerSecondPerKey: number;
  /** Worker threads that parse large CDR posts (0: all on the event loop). */
  intakeParseThreads: number;
  /** How long a claimed background job is its worker's without a renewal: a killed process's job is taken up again after it. */
  jobLeaseSeconds: number;
  /** Legs and records (together) above which a reconciliation asked for from the page runs as a job with a progress page. */
  reconcileInlineMax: number;
  /** How long an in-memory copy (plans, platforms, taxes, rates) is served on one check of its version: the longest a missed change goes unseen. */
  cacheMaxAgeMs: number;
  /** Days a finished webhook delivery (delivered, or given up) is kept with its attempts before it is deleted. */
  webhookRetentionDays: number;
  /** Webhooks and the record-file push may post to private, loopback and link-local addresses (and plain HTTP to this machine): a local receiver, tests. Off: public HTTPS addresses only (web/outbound.ts). */
  outboundAllowPrivate: boolean;
}

function parseTrustProxy(raw: string | undefined): boolean | number | string | undefined {
  if (raw === undefined || raw === '' || raw === 'false' || raw === '0') return undefined;
  if (raw === 'true') return true;
  if (/^\d+$/.test(raw)) return Number(raw);
  return raw; // an address list or "loopback", passed to Express as is
}

/** Reads the environment once. Throws ConfigError with one readable line per bad value. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `${issue.path.join('.') || 'config'}: ${issue.message}`);
    throw new ConfigError(`Invalid configuration: ${lines.join('; ')}`);
  }
  const c = parsed.data;
  const trustProxy = parseTrustProxy(c.TRUST_PROXY);
  const tls = c.TLS_CERT_FILE && c.TLS_KEY_FILE ? { certFile: c.TLS_CERT_FILE, keyFile: c.TLS_KEY_FILE } : undefined;
  return {
    env: c.NODE_ENV,
    port: c.PORT,
    host: c.HOST,
    databaseUrl: c.DATABASE_URL,
    dataDir: path.resolve(c.DATA_DIR),
    sessionSecret: c.SESSION_SECRET,
    sessionMaxAgeMs: c.SESSION_MAX_AGE_HOURS * 3600 * 1000,
    tls,
    trustProxy,
    secureCookies: Boolean(tls) || trustProxy !== undefined,
    admin: { email: c.ADMIN_EMAIL, password: c.ADMIN_PASSWORD },
    logLevel: c.LOG_LEVEL,
    loginThrottle: {
      perAccount: c.LOGIN_MAX_FAILURES_PER_ACCOUNT,
      perAddress: c.LOGIN_MAX_FAILURES_PER_ADDRESS,
      windowSeconds: c.LOGIN_THROTTLE_MINUTES * 60,
    },
    intakeLimits: {
      inFlightPerPlatform: c.INTAKE_MAX_IN_FLIGHT_PER_PLATFORM,
      postsPerSecondPerPlatform: c.INTAKE_MAX_POSTS_PER_SECOND_PER_PLATFORM,
      bytesInFlightPerPlatform: c.INTAKE_MAX_MB_IN_FLIGHT_PER_PLATFORM * 1024 * 1024,
    },
    apiRequestsPerSecondPerKey: c.API_MAX_REQUESTS_PER_SECOND_PER_KEY,
    intakeParseThreads: c.INTAKE_PARSE_THREADS,
    jobLeaseSeconds: c.JOB_LEASE_SECONDS,
    reconcileInlineMax: c.RECONCILE_INLINE_MAX,
    cacheMaxAgeMs: Math.round(c.CACHE_CHECK_SECONDS * 1000),
    webhookRetentionDays: c.WEBHOOK_RETENTION_DAYS,
    outboundAllowPrivate: c.OUTBOUND_ALLOW_PRIVATE === 'true' || c.OUTBOUND_ALLOW_PRIVATE === '1',
  };
}
