import fs from 'node:fs';
import path from 'node:path';
import type { EngineResult } from './engine';
import type { HostileOutput } from './hostile-worker';
import type { BatchResult, LoadResult } from './intake';
import { machineLine, type Machine } from './machine';

export interface BenchResults {
  date: string;
  command: string;
  machine: Machine;
  /** 1-minute load average at the start of each part: other work on the machine skews results. */
  load: Record<string, number>;
  setup?: { resellers: number; subscribers: number; prefixes: number; rateRows: number; taxes: number; seconds: number };
  engine?: EngineResult;
  batch?: BatchResult;
  single?: LoadResult;
  /** (b) again, first, at a rate below saturation. */
  singleLow?: LoadResult;
  /** (b) at the low rate again, with a hostile platform posting bad and huge bodies beside it. */
  singleHostile?: LoadResult & { hostile: HostileOutput };
  /** (b) at the target rate again, every subscriber holding a toll package (--toll-packages). */
  singleTolls?: LoadResult;
}

const n0 = (x: number) => Math.round(x).toLocaleString('en-US');
const ms = (x: number) => (Number.isFinite(x) ? `${x.toFixed(1)} ms` : '—');
const ratio = (a: number, b: number) => (a / b).toFixed(2);
const yes = (ok: boolean) => (ok ? 'met' : 'missed');

export const TARGETS = { batchRatio: 0.5, p99Ms: 20, singleRate: 1000, engine: 500_000, hostileP99Ratio: 2, tollsP99Ratio: 1.2 };

const answersLine = (h: HostileOutput) =>
  Object.entries(h.answers)
    .map(([kind, by]) => `${kind}: ${Object.entries(by).map(([st, n]) => `${n}× ${st}`).join(', ')}`)
    .join('; ');

/** The results as a markdown section: what ran, where, and the table with baselines beside. */
export function markdown(r: BenchResults): string {
  const lines: string[] = [];
  lines.push(`### Run of ${r.date}`, '');
  lines.push(`- Machine: ${machineLine(r.machine)}`);
  lines.push(`- Command: \`${r.command}\``);
  lines.push(`- Load average (1 min) when each part started: ${Object.entries(r.load).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ')}`);
  if (r.setup) {
    lines.push(
      `- Data: ${r.setup.resellers} resellers, ${n0(r.setup.subscribers)} subscribers with a number each, an operator plan and ${r.setup.resellers} retail plans of ${n0(r.setup.prefixes)} prefixes (${n0(r.setup.rateRows)} rate rows), 2 USD→EUR exchange rates, ${r.setup.taxes} usage taxes; set up in ${r.setup.seconds.toFixed(1)} s`,
    );
  }
  lines.push('');
  lines.push('| Part | Measured | Baseline in the same run | Ratio | Target | |');
  lines.push('|---|---|---|---|---|---|');
  if (r.batch) {
    const b = r.batch;
    lines.push(
      `| (a) batch intake, generic JSON, ${n0(b.perRequest)} legs/post, ${b.concurrency} posts in flight, ${n0(b.legs)} legs, rated (wholesale + retail) and committed | **${n0(b.intakeLegsPerSecond)} legs/s** (${b.intakeSeconds.toFixed(1)} s; post p50 ${ms(b.requestP50Ms)}, max ${ms(b.requestMaxMs)}) | COPY of the same ${n0(b.legRows)} leg + ${n0(b.chargeRows)} charge rows, same batches and connections: **${n0(b.copyLegsPerSecond)} legs/s** | **${ratio(b.intakeLegsPerSecond, b.copyLegsPerSecond)}** | ≥ ${TARGETS.batchRatio} of COPY | ${yes(b.intakeLegsPerSecond / b.copyLegsPerSecond >= TARGETS.batchRatio)} |`,
    );
    lines.push(
      `| | | COPY of the same legs + charges + raw records (cdrs): ${n0(b.copyWithCdrsLegsPerSecond)} legs/s | ${ratio(b.intakeLegsPerSecond, b.copyWithCdrsLegsPerSecond)} | | |`,
    );
    const c = b.cpuPer1000;
    if (c) {
      const pg = (v: number | null) => (v === null ? 'n/a (server elsewhere)' : `${v.toFixed(0)} ms`);
      lines.push(`| | CPU per 1,000 legs: app process ${c.app.toFixed(0)} ms, Postgres ${pg(c.postgres)} | COPY: Postgres ${pg(c.copyPostgres)} | | | |`);
    }
  }
  for (const s of [r.singleLow, r.single]) {
    if (!s) continue;
    const errors = Object.entries(s.errors).map(([k, v]) => `${v} ${k}`).join(', ') || 'none';
    const target = s.targetRate >= TARGETS.singleRate ? `p99 ≤ ${TARGETS.p99Ms} ms at ${n0(TARGETS.singleRate)}/s` : `(below saturation; p99 ≤ ${TARGETS.p99Ms} ms)`;
    lines.push(
      `| (b) single-record posts, ${s.clients} clients, open loop at ${n0(s.targetRate)}/s for ${s.durationS} s | **${n0(s.achievedRate)} posts/s** answered 2xx (${n0(s.ok)} of ${n0(s.due)}); latency from due time p50 ${ms(s.p50Ms)}, p95 ${ms(s.p95Ms)}, **p99 ${ms(s.p99Ms)}**, max ${ms(s.maxMs)}; errors: ${errors} | offered rate ${n0(s.targetRate)}/s (generator lag max ${ms(s.maxSendLagMs)}); ${n0(s.storedOk)} legs stored | ${ratio(s.achievedRate, s.targetRate)} of offered | ${target} | ${yes(s.p99Ms <= TARGETS.p99Ms && s.ok === s.due)} |`,
    );
  }
  if (r.singleHostile && r.singleLow) {
    const s = r.singleHostile;
    const alone = r.singleLow;
    const errors = Object.entries(s.errors).map(([k, v]) => `${v} ${k}`).join(', ') || 'none';
    const loop = (x: { loopP99Ms?: number; loopMaxMs?: number }) => (x.loopMaxMs === undefined ? '' : `; server event loop delay p99 ${ms(x.loopP99Ms as number)}, max ${ms(x.loopMaxMs)}`);
    lines.push(
      `| (b) again at ${n0(s.targetRate)}/s for ${s.durationS} s, with a hostile platform beside it (${s.hostile.sent} posts: ${answersLine(s.hostile)}; slowest answer to a huge post ${ms(s.hostile.hugeMaxMs)}) | good posts: **${n0(s.achievedRate)} posts/s** (${n0(s.ok)} of ${n0(s.due)}); p50 ${ms(s.p50Ms)}, p95 ${ms(s.p95Ms)}, **p99 ${ms(s.p99Ms)}**, max ${ms(s.maxMs)}; errors: ${errors}${loop(s)} | (b) alone at the same rate, earlier in this run: p99 ${ms(alone.p99Ms)}${loop(alone)} | **${ratio(s.p99Ms, alone.p99Ms)}** of alone | p99 ≤ ${TARGETS.hostileP99Ratio}× alone | ${yes(s.p99Ms <= TARGETS.hostileP99Ratio * alone.p99Ms && s.ok === s.due)} |`,
    );
  }
  if (r.singleTolls && r.single) {
    const s = r.singleTolls;
    const errors = Object.entries(s.errors).map(([k, v]) => `${v} ${k}`).join(', ') || 'none';
    lines.push(
      `| (b) again at ${n0(s.targetRate)}/s for ${s.durationS} s, every subscriber holding a toll package | **${n0(s.achievedRate)} posts/s** (${n0(s.ok)} of ${n0(s.due)}); p50 ${ms(s.p50Ms)}, p95 ${ms(s.p95Ms)}, **p99 ${ms(s.p99Ms)}**, max ${ms(s.maxMs)}; errors: ${errors} | (b) without packages, earlier in this run: p99 ${ms(r.single.p99Ms)} | **${ratio(s.p99Ms, r.single.p99Ms)}** of without | p99 ≤ ${TARGETS.tollsP99Ratio}× without | ${yes(s.p99Ms <= TARGETS.tollsP99Ratio * r.single.p99Ms && s.ok === s.due)} |`,
    );
  }
  if (r.engine) {
    const e = r.engine;
    lines.push(
      `| (c) rating engine alone: \`rateLeg\` on a compiled ${n0(e.prefixes)}-prefix deck (${n0(e.rates)} rates, peak/offpeak bands split in America/New_York), ${n0(e.legs)} legs, one core | **${n0(e.rateLeg)} legs/s** | \`findRate\` alone: ${n0(e.findRate)} legs/s; no-op loop over the same legs: ${n0(e.noop)} legs/s | ${ratio(e.rateLeg, e.findRate)} of findRate | ${n0(TARGETS.engine)} legs/s | ${yes(e.rateLeg >= TARGETS.engine)} |`,
    );
    lines.push(`| | \`priceCharge\` (rateLeg + 2 taxes + conversion): ${n0(e.priceCharge)} legs/s | plan compile: ${e.compileMs.toFixed(0)} ms | | | |`);
  }
  lines.push('');
  return lines.join('\n');
}

export function printTable(r: BenchResults): void {
  const rows: Array<[string, string, string, string]> = [];
  if (r.batch) {
    const b = r.batch;
    rows.push(['(a) batch intake legs/s', n0(b.intakeLegsPerSecond), `COPY ${n0(b.copyLegsPerSecond)} (+cdrs ${n0(b.copyWithCdrsLegsPerSecond)})`, `${ratio(b.intakeLegsPerSecond, b.copyLegsPerSecond)} (target ≥ ${TARGETS.batchRatio})`]);
    if (b.cpuPer1000) {
      const c = b.cpuPer1000;
      const pg = (v: number | null) => (v === null ? 'n/a' : `${v.toFixed(0)} ms`);
      rows.push(['(a) CPU per 1,000 legs', `app ${c.app.toFixed(0)} ms, pg ${pg(c.postgres)}`, `COPY: pg ${pg(c.copyPostgres)}`, '']);
    }
  }
  for (const s of [r.singleLow, r.single]) {
    if (!s) continue;
    rows.push([`(b) single posts/s @${s.targetRate}`, n0(s.achievedRate), `offered ${n0(s.targetRate)}`, `errors ${Object.values(s.errors).reduce((a, b) => a + b, 0)}`]);
    rows.push([`(b) p50/p95/p99 @${s.targetRate}`, `${s.p50Ms.toFixed(1)}/${s.p95Ms.toFixed(1)}/${s.p99Ms.toFixed(1)} ms`, `max ${s.maxMs.toFixed(1)} ms`, `target p99 ≤ ${TARGETS.p99Ms} ms`]);
  }
  if (r.singleHostile && r.singleLow) {
    const s = r.singleHostile;
    rows.push([`(b) p99 @${s.targetRate} + hostile`, `${s.p99Ms.toFixed(1)} ms (max ${s.maxMs.toFixed(1)})`, `alone ${r.singleLow.p99Ms.toFixed(1)} ms`, `${ratio(s.p99Ms, r.singleLow.p99Ms)} (target ≤ ${TARGETS.hostileP99Ratio})`]);
  }
  if (r.singleTolls && r.single) {
    const s = r.singleTolls;
    rows.push([`(b) p99 @${s.targetRate} + toll packages`, `${s.p99Ms.toFixed(1)} ms (max ${s.maxMs.toFixed(1)})`, `without ${r.single.p99Ms.toFixed(1)} ms`, `${ratio(s.p99Ms, r.single.p99Ms)} (target ≤ ${TARGETS.tollsP99Ratio})`]);
  }
  if (r.engine) {
    const e = r.engine;
    rows.push(['(c) rateLeg legs/s', n0(e.rateLeg), `findRate ${n0(e.findRate)}, no-op ${n0(e.noop)}`, `target ${n0(TARGETS.engine)}`]);
    rows.push(['(c) priceCharge legs/s', n0(e.priceCharge), '', '']);
  }
  const widths = [0, 1, 2, 3].map((i) => Math.max(...rows.map((row) => row[i]!.length), ['part', 'result', 'baseline', 'ratio / target'][i]!.length));
  const fmt = (row: string[]) => row.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  process.stdout.write(`\n${machineLine(r.machine)}\n${fmt(['part', 'result', 'baseline', 'ratio / target'])}\n${widths.map((w) => '-'.repeat(w)).join('  ')}\n`);
  for (const row of rows) process.stdout.write(`${fmt(row)}\n`);
  process.stdout.write('\n');
}

export const START = '<!-- bench:latest:start (written by npm run bench) -->';
export const END = '<!-- bench:latest:end -->';

/** Replaces the marked "latest run" section of docs/PERFORMANCE.md (created if missing). */
export function writeDoc(file: string, r: BenchResults): void {
  const section = `${START}\n${markdown(r)}${END}`;
  let text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  const a = text.indexOf(START);
  const b = text.indexOf(END);
  if (a >= 0 && b > a) text = text.slice(0, a) + section + text.slice(b + END.length);
  else text = `${text || '# Performance\n'}\n## Latest run\n\n${section}\n`;
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
}
