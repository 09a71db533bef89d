// Runs the test files of the given suites (unit, integration, e2e; all by default) with node's test
// runner, TypeScript loaded by tsx. Node 20 has no glob support in --test, hence this script.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const suites = process.argv.slice(2).length ? process.argv.slice(2) : ['unit', 'integration', 'e2e'];
const files = [];
const walk = (dir) => {
  if (!fs.existsSync(dir)) return;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) walk(p);
    else if (entry.name.endsWith('.test.ts')) files.push(p);
  }
};
for (const s of suites) walk(path.join('test', s));
// The runner starts files in the order given, two at a time: a long file started late runs on alone
// at the end while the other core idles. So the longest files (measured on both databases) start
// first, the rest in folder order behind them.
const LONGEST_FIRST = [
  // Measured on real Postgres (December 2026: seconds of its tests, the route matrix before it was
  // split in three: 388 s of a 672 s run, on one core); the embedded runs' long files are kept high.
  'test/integration/route-matrix.test.ts',
  'test/integration/route-matrix-2.test.ts',
  'test/integration/route-matrix-3.test.ts',
  'test/integration/https.test.ts', // 55 s
  'test/integration/lists.test.ts', // 52 s
  'test/integration/route-matrix-api.test.ts', // 38 s
  'test/integration/record-files.test.ts', // 32 s
  'test/integration/jobs-crash.test.ts', // 27 s
  'test/unit/rate-cli.test.ts', // 23 s
  'test/integration/subscribers.test.ts', // 21 s
  'test/unit/parse-pool.test.ts', // 20 s
  'test/integration/intake-crash.test.ts', // 16 s (longer embedded)
  'test/integration/rate-plans-import-job.test.ts', // 16 s
  'test/integration/embedded-concurrency.test.ts', // 13 s (longer embedded)
  'test/integration/taxes.test.ts', // 13 s
  // Browser tests: each starts Chromium and walks many pages.
  'test/e2e/portals.test.ts',
  'test/e2e/navigation.test.ts',
  'test/e2e/packages-journey.test.ts',
  'test/e2e/dashboards.test.ts',
  'test/e2e/calls.test.ts',
  'test/e2e/selfcare.test.ts',
  'test/integration/selfcare.test.ts', // 12 s
  'test/integration/auth.test.ts', // 11 s
  'test/unit/rating-exactness.test.ts', // 10 s
  'test/integration/schema.test.ts', // 9 s
  'test/integration/rerate.test.ts', // 9 s
  'test/integration/toll-allowances.test.ts', // 8 s
  'test/integration/intake.test.ts', // 8 s
  'test/integration/feature-packages.test.ts', // 8 s
  'test/integration/reconciliation.test.ts', // 7 s
  'test/integration/carriers.test.ts', // 7 s
  'test/integration/intake-limits.test.ts', // 7 s
  'test/integration/toll-packages.test.ts', // 6 s
  'test/integration/create-forms.test.ts',
];
const rank = (f) => {
  const i = LONGEST_FIRST.indexOf(f.split(path.sep).join('/'));
  return i === -1 ? LONGEST_FIRST.length : i;
};
files.sort((a, b) => rank(a) - rank(b));
if (files.length === 0) {
  console.error(`no test files in ${suites.join(', ')}`);
  process.exit(1);
}
if (process.env.DATABASE_URL && !process.env.TEST_DATABASE_URL) {
  console.log('Note: tests ignore DATABASE_URL; they use TEST_DATABASE_URL or an embedded database.');
}
const where = process.env.TEST_DATABASE_URL ? `TEST_DATABASE_URL (${new URL(process.env.TEST_DATABASE_URL).host})` : 'embedded Postgres';
console.log(`Running ${files.length} test files against ${where}`);
const env = { ...process.env, NODE_ENV: 'test' };
delete env.DATABASE_URL; // belt and braces: nothing under test can reach a live database
// `node --test FILES` sorts the files by name, so the order above would be lost: the runner's run()
// keeps it. It runs in a child started with tsx, as each test file's process inherits its flags.
const result = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('run-test-files.mjs', import.meta.url)), ...files], { stdio: 'inherit', env });
process.exit(result.status ?? 1);
