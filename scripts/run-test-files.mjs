// The test files given, in the order given, two at a time, each in its own process (run by
// scripts/run-tests.mjs under tsx, whose flags the files' processes inherit), with the spec reporter.
import path from 'node:path';
import { run } from 'node:test';
import { spec } from 'node:test/reporters';

const files = process.argv.slice(2).map((f) => path.resolve(f));
const stream = run({ files, concurrency: 2 });
// Any failure at any depth (a file that does not load is a failed test too) fails the run.
stream.on('test:fail', () => {
  process.exitCode = 1;
});
stream.compose(new spec()).pipe(process.stdout);
