import fs from 'node:fs';
import os from 'node:os';
import type { Db } from '../src/db/knex';

export interface Machine {
  cpu: string;
  cores: number;
  ramGiB: number;
  os: string;
  node: string;
  postgres: string;
  postgresSettings: string;
}

function cpuModel(): string {
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'));
    if (m?.[1]) return m[1].trim();
  } catch {
    // not Linux
  }
  return os.cpus()[0]?.model ?? 'unknown';
}

export async function describeMachine(db: Db): Promise<Machine> {
  const version = (await db.raw('select version() as v')).rows[0].v as string;
  const settings = (await db.raw(`select name, current_setting(name) as value from pg_settings where name in ('shared_buffers','synchronous_commit','fsync','max_wal_size') order by name`)).rows as Array<{ name: string; value: string }>;
  return {
    cpu: cpuModel(),
    cores: os.cpus().length,
    ramGiB: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()}`,
    node: process.version,
    postgres: version.split(' on ')[0] ?? version,
    postgresSettings: settings.map((s) => `${s.name}=${s.value}`).join(', '),
  };
}

export function machineLine(m: Machine): string {
  return `${m.cpu}, ${m.cores} cores, ${m.ramGiB} GiB RAM, ${m.os}; Node ${m.node}; ${m.postgres} (${m.postgresSettings}) on the same host`;
}
