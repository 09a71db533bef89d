/**
 * The schema as a whole: tenancy is a column on every tenant table (ARCHITECTURE.md: "every
 * tenant-owned table carries reseller_id", which is also what lets it be distributed on Citus),
 * and the migrations go down as cleanly as they come up.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { describe, test } from 'node:test';
import { MIGRATIONS_DIR, type Db } from '../../src/db/knex';
import { createTestDatabase } from '../support/db';

/** Tables without reseller_id, each with the reason. Anything else without it fails. */
const OPERATOR_TABLES: Record<string, string> = {
  settings: 'operator-level key/value configuration of the one deployment',
  sessions: "express-session store keyed by an opaque sid; the person inside is scoped on every request",
  knex_migrations: "Knex's record of applied migrations",
  knex_migrations_lock: "Knex's migration lock",
  resellers: 'the tenant table itself: its id is the reseller_id of everything else',
  exchange_rates: 'operator-wide currency conversion rates, managed by wholesale admins',
  tax_jurisdictions: "the operator's list of taxing places (country or country+region), managed by wholesale admins and picked by every reseller",
  platforms: "the operator's switches; machine credentials, not tenant data",
  carriers: "the operator's LD carriers: they bill the operator, not a reseller; wholesale staff only, machine credentials for their billing data",
  carrier_files: "LD carriers' billing files as received: the operator's, about its own costs; no reseller's data",
  carrier_file_bad_rows: "rows of a carrier's file that could not be read: the operator's, as the file is",
  carrier_record_keys: "each carrier's record keys, claimed once whatever partition the record is in: the operator's",
  carrier_records: "LD carriers' billing records in our local form, for reconciliation: the operator's costs, never a reseller's",
  carrier_missing_files: "deadlines an LD carrier's billing file missed: the operator's, about its carriers",
  reconciliation_runs: "runs of reconciliation of an LD carrier's records against our legs: the operator's costs, no reseller's",
  reconciliation_items: "the legs and carrier records of one reconciliation run (the run's carrier is the operator's)",
  cdrs: 'records exactly as a platform sent them, before any leg is matched to a reseller',
  cdr_rejects: 'bodies that could not be parsed, so no reseller is known',
  pending_records: 'half of a call waiting for its other half: no leg, so no reseller, yet',
  reject_quota: "each platform's bytes of rejects kept per day, so a broken switch cannot fill the database",
  leg_keys: "each platform's leg keys, claimed once whatever partition the leg is in; read only by the intake, never shown",
  job_schedules: "the operator's periodic work (half-call expiry, reject pruning, partitions, recurring charges): the system's, no tenant's",
  party_version: 'one counter of changes to numbers, subscribers and resellers, for the intake\'s holders cache',
  cache_versions: 'one counter per kind of reference data held in memory (rate plans, platforms, taxes, exchange rates), for every process\'s caches',
  features: "the operator's catalogue of switch features, offered to resellers only inside packages",
  // Rows of a parent that carries reseller_id, read and written only through it.
  feature_package_features: 'the features of one feature package (the package carries reseller_id)',
  destination_group_prefixes: 'the prefixes of one destination group (the group carries reseller_id)',
  toll_package_groups: 'the allowances of one toll package (the package carries reseller_id)',
  allowance_usage: 'seconds used per cycle of one package assignment (the assignment carries reseller_id)',
  record_file_chunks: 'the bytes of one record file (the file carries reseller_id)',
  record_file_entries: 'which file of one record specification carried a leg (the specification carries reseller_id)',
  record_file_deferred: 'a leg waiting for a later period of one record specification (the specification carries reseller_id)',
  record_file_delivery_attempts: 'the attempts of one push delivery (the delivery carries reseller_id)',
  webhook_attempts: 'the attempts of one webhook delivery (the delivery carries reseller_id)',
  webhook_fanout: "the webhook fan-out's one cursor over the whole outbox: the system's, no reseller's",
};

/** Tables whose reseller_id may be null, each with the reason. Everywhere else it is NOT NULL. */
const NULLABLE_TENANT: Record<string, string> = {
  api_idempotency: 'answers to the operator’s keys belong to no reseller',
  api_keys: 'the operator’s keys belong to no reseller; a reseller’s keys carry it',
  users: 'operator staff (wholesale_admin, wholesale_support) belong to no reseller',
  audit_log: 'changes to operator-level entities (wholesale users, settings) belong to no reseller',
  jobs: 'a job the operator\'s staff started (re-rating across resellers), or the system\'s periodic work, belongs to no reseller',
  rate_plans: "the operator's own plans (sold to resellers) belong to no reseller",
  rate_plan_bands: "bands of the operator's own plans",
  rates: "rates of the operator's own plans",
  taxes: "the operator's own taxes (on its wholesale charges to resellers) belong to no reseller",
  call_legs: 'a leg whose numbers match no subscriber is kept, unrated, with no reseller',
  feature_packages: "the operator's own feature packages (offered to resellers) belong to no reseller",
  destination_groups: "the operator's own destination groups belong to no reseller",
  toll_packages: "the operator's own toll packages (held by resellers) belong to no reseller",
  rate_plan_imports: "a large deck file waiting for its import job into one of the operator's own plans belongs to no reseller",
  leg_changes: "a change of a leg matched to no subscriber (the leg's reseller_id is null) belongs to no reseller",
  account_codes: "the operator's own account codes (its books in the accounting exports) belong to no reseller",
  outbox_events: "an operator-level event (a reconciliation finished) belongs to no reseller: the operator's webhooks alone receive it",
  webhook_endpoints: "the operator's own webhook endpoints (every reseller's events) belong to no reseller",
  webhook_deliveries: "deliveries to the operator's own webhook endpoints belong to no reseller",
};

/** Knex's own bookkeeping, present whenever it has run at all. */
const KNEX_TABLES = ['knex_migrations', 'knex_migrations_lock'];

async function tables(db: Db): Promise<string[]> {
  const rows = await db('information_schema.tables').where({ table_schema: 'public', table_type: 'BASE TABLE' }).orderBy('table_name').pluck('table_name');
  return rows as string[];
}

/** Everything in the public schema that a migration can leave behind, other than Knex's own. */
async function leftovers(db: Db): Promise<string[]> {
  const rel = await db.raw(`select c.relkind::text || ' ' || c.relname as o from pg_class c where c.relnamespace = 'public'::regnamespace and c.relname not like 'knex\\_migrations%' order by 1`);
  const fn = await db.raw(`select 'function ' || p.proname as o from pg_proc p where p.pronamespace = 'public'::regnamespace order by 1`);
  const ty = await db.raw(
    `select 'type ' || t.typname as o from pg_type t where t.typnamespace = 'public'::regnamespace and t.typtype in ('e','d','c','r','m') and (t.typrelid = 0 or exists (select 1 from pg_class c where c.oid = t.typrelid and c.relkind = 'c')) order by 1`,
  );
  return [...rel.rows, ...fn.rows, ...ty.rows].map((r: { o: string }) => r.o);
}

/** A description of the whole schema (columns, constraints, indexes) to compare two builds. */
async function schemaShape(db: Db): Promise<string[]> {
  const cols = await db.raw(
    `select 'column ' || table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable || ' ' || coalesce(column_default, '') as o
       from information_schema.columns where table_schema = 'public' order by 1`,
  );
  const cons = await db.raw(
    `select 'constraint ' || conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(oid) as o
       from pg_constraint where connamespace = 'public'::regnamespace order by 1`,
  );
  const idx = await db.raw(`select 'index ' || indexname || ' ' || indexdef as o from pg_indexes where schemaname = 'public' order by 1`);
  return [...cols.rows, ...cons.rows, ...idx.rows].map((r: { o: string }) => r.o);
}

const migrationFiles = () =>
  fs
    .readdirSync(MIGRATIONS_DIR)
    .filter((f) => /\.(ts|js)$/.test(f) && !f.endsWith('.d.ts'))
    .sort();

describe('schema', () => {
  test('every table carries reseller_id, except the listed operator-level tables', async () => {
    const t = await createTestDatabase();
    try {
      const all = await tables(t.db);
      let cols = (await t.db('information_schema.columns')
        .where({ table_schema: 'public', column_name: 'reseller_id' })
        .select('table_name', 'is_nullable', 'data_type')) as Array<{ table_name: string; is_nullable: string; data_type: string }>;
      // Tables only: a view (usage_figures) is read through the tables it is made of.
      cols = cols.filter((c) => all.includes(c.table_name));
      const byTable = new Map(cols.map((c) => [c.table_name, c]));

      const missing = all.filter((name) => !byTable.has(name) && !(name in OPERATOR_TABLES));
      assert.deepEqual(missing, [], `tables without reseller_id: add the column, or list the table in OPERATOR_TABLES with the reason`);

      for (const name of Object.keys(OPERATOR_TABLES)) {
        assert.ok(all.includes(name), `OPERATOR_TABLES lists ${name}, which does not exist`);
        assert.ok(!byTable.has(name), `${name} has reseller_id after all: take it off OPERATOR_TABLES`);
      }

      for (const c of cols) {
        assert.equal(c.data_type, 'bigint', `${c.table_name}.reseller_id must be bigint like resellers.id`);
        if (c.table_name in NULLABLE_TENANT) {
          assert.equal(c.is_nullable, 'YES', `${c.table_name}.reseller_id is NOT NULL now: take it off NULLABLE_TENANT`);
        } else {
          assert.equal(c.is_nullable, 'NO', `${c.table_name}.reseller_id must be NOT NULL (or list the table in NULLABLE_TENANT with the reason)`);
        }
      }
      for (const name of Object.keys(NULLABLE_TENANT)) assert.ok(byTable.has(name), `NULLABLE_TENANT lists ${name}, which has no reseller_id`);
    } finally {
      await t.close();
    }
  });

  test('migrations go up, all the way down, and up again to the same schema', async () => {
    const t = await createTestDatabase({ migrate: false });
    try {
      const files = migrationFiles();
      assert.ok(files.length > 0, 'no migrations found');
      assert.deepEqual(await tables(t.db), [], 'a fresh test database must be empty');

      const [, applied] = (await t.db.migrate.latest()) as [number, string[]];
      assert.deepEqual(applied, files, 'latest applies every migration file, in order');
      const upTables = await tables(t.db);
      for (const name of ['settings', 'resellers', 'subscribers', 'phone_numbers', 'users', 'sessions', 'audit_log', ...KNEX_TABLES]) {
        assert.ok(upTables.includes(name), `${name} missing after migrating up`);
      }
      const upShape = await schemaShape(t.db);

      const [, rolledBack] = (await t.db.migrate.rollback(undefined, true)) as [number, string[]];
      assert.deepEqual([...rolledBack].sort(), files, 'rollback undoes every migration');
      assert.deepEqual(await tables(t.db), KNEX_TABLES, 'after rolling everything back only Knex\u2019s own tables remain');
      assert.deepEqual(await leftovers(t.db), [], 'down migrations left objects behind');
      assert.equal(Number((await t.db('knex_migrations').count<{ count: number }[]>('* as count'))[0]?.count), 0);

      const [, again] = (await t.db.migrate.latest()) as [number, string[]];
      assert.deepEqual(again, files);
      assert.deepEqual(await tables(t.db), upTables, 'the same tables after going up again');
      assert.deepEqual(await schemaShape(t.db), upShape, 'the same columns, constraints and indexes after going up again');
    } finally {
      await t.close();
    }
  });

  test('each migration\u2019s down undoes exactly its up', async () => {
    const t = await createTestDatabase({ migrate: false });
    try {
      const files = migrationFiles();
      const shapes: string[][] = [await schemaShape(t.db)];
      const tableLists: string[][] = [await tables(t.db)];
      for (const file of files) {
        const [, ran] = (await t.db.migrate.up()) as [number, string[]];
        assert.deepEqual(ran, [file], 'up runs the next migration');
        shapes.push(await schemaShape(t.db));
        tableLists.push(await tables(t.db));
      }
      for (let i = files.length - 1; i >= 0; i--) {
        const [, ran] = (await t.db.migrate.down()) as [number, string[]];
        assert.deepEqual(ran, [files[i]], 'down undoes the last migration');
        const expectedTables = i === 0 ? KNEX_TABLES : tableLists[i];
        assert.deepEqual(await tables(t.db), expectedTables, `tables after undoing ${files[i]}`);
        // Before the first migration Knex's own tables did not exist yet; compare the rest.
        const shape = (await schemaShape(t.db)).filter((o) => !/knex_migrations/.test(o));
        assert.deepEqual(shape, (shapes[i] as string[]).filter((o) => !/knex_migrations/.test(o)), `schema after undoing ${files[i]}`);
      }
    } finally {
      await t.close();
    }
  });
});
