import { ConfigError, loadConfig } from '../config';
import { openDatabase } from '../server';

/**
 * npm run migrate            brings the schema up to date (the server also does this at start)
 * npm run migrate -- status  lists applied and pending migrations
 * npm run migrate -- down    rolls back the last batch
 */
async function main() {
  const command = process.argv[2] ?? 'latest';
  const config = loadConfig();
  const { db, embedded } = await openDatabase(config, { migrate: command === 'latest' });
  try {
    if (command === 'status') {
      const [done, pending] = (await db.migrate.list()) as [Array<{ name: string }>, Array<{ file: string }>];
      for (const m of done) process.stdout.write(`applied  ${m.name}\n`);
      for (const m of pending) process.stdout.write(`pending  ${m.file}\n`);
    } else if (command === 'down') {
      const [, rolledBack] = (await db.migrate.rollback()) as [number, string[]];
      process.stdout.write(rolledBack.length ? `rolled back: ${rolledBack.join(', ')}\n` : 'nothing to roll back\n');
    } else if (command === 'latest') {
      process.stdout.write('schema is up to date\n');
    } else {
      throw new ConfigError(`unknown command "${command}": use latest, status or down`);
    }
  } finally {
    await db.destroy();
    await embedded?.stop();
  }
}

main().catch((err) => {
  process.stderr.write(`${err instanceof ConfigError ? err.message : `Migration failed: ${(err as Error).message}`}\n`);
  process.exit(1);
});
