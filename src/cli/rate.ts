import fs from 'node:fs';
import { parseArgs } from 'node:util';
import type { RowError } from '../domain/rating/deck';
import { chargeDecimals } from '../domain/rating/charge';
import { isUnratable, rateLeg } from '../domain/rating/engine';
import { compilePlan, type RatePlanSettings } from '../domain/rating/plan';
import { readBandsCsv, readDeckCsv } from '../modules/rate-plans/deck-csv';
import { planSettingsSchema, readCallsCsv, readPlanFile, settingsIssues } from './rate-input';

const HELP = `Rates calls offline with the same engine as the live intake.

Usage: npm run rate -- --deck deck.csv [--bands bands.csv] --calls calls.csv [options]

Files
  --deck FILE        rate deck CSV: prefix,description,direction,band,interval_start,rate,rate_unit,
                     increment,connect_fee,min_charge,max_cost,effective_from (one row per step);
                     prefix: the E.164 digits, country code first (44, not 0044)
  --bands FILE       time bands CSV: band,days,start  (days: mon-fri | sat,sun | 2026-12-25; start: HH:MM)
  --calls FILE       calls CSV with a header: destination,start,duration[,direction]
                     destination: +44..., 0044..., tel:/sip: URIs, or national with --country-code;
                     start: ISO 8601 with its offset (2026-11-25T12:00:00Z);
                     duration: answered seconds, 0 = unanswered, at most 604800 (7 days);
                     direction: outbound (default), inbound, onnet or forwarded
  --plan FILE        plan settings as a JSON object, any of {"currency":"EUR","decimals":4,
                     "rounding":"half_up","timeZone":"Europe/Berlin","bandMode":"split",
                     "connectFeeOnUnanswered":false} (other keys refused, booleans as true/false);
                     flags below override it

Plan settings (defaults in brackets)
  --currency CODE            [USD]
  --decimals N               decimals of the rounded amount, 0-10 [4]
  --rounding METHOD          half_up | half_even | up | down [half_up]
  --tz ZONE                  IANA time zone of the bands and of date-only effective_from [UTC]
  --band-mode MODE           split (each part by its band) | start (whole call by its starting band) [split]
  --connect-fee-on-unanswered  charge the connect fee on unanswered calls
  --country-code CC          calling code of national destinations (e.g. 1, 44); without it a
                             destination must carry its own (+ or 00)

Output
  --format table|csv|json    [table]
  -h, --help

A bad deck, bands, plan or calls file is refused whole, every bad row listed by line on stderr,
and nothing is priced (exit 1). Exit 2: every call was read but some could not be rated.
`;

class UsageError extends Error {}

const FORMATS = ['table', 'csv', 'json'];
const DEFAULTS = { currency: 'USD', decimals: 4, rounding: 'half_up', timeZone: 'UTC', bandMode: 'split', connectFeeOnUnanswered: false } as const;
const FLAG_OF: Record<string, string> = { currency: '--currency', decimals: '--decimals', rounding: '--rounding', timeZone: '--tz', bandMode: '--band-mode' };

/** A file's problems, one per line under its name, as the deck import lists them. */
const listed = (file: string, lines: string[]) => `${file}:\n${lines.map((l) => `  ${l}`).join('\n')}`;
const byLine = (errors: RowError[]) => errors.map((e) => `line ${e.line}: ${e.message}`);

function main(argv: string[]): number {
  const { values } = parseArgs({
    args: argv,
    options: {
      deck: { type: 'string' }, bands: { type: 'string' }, calls: { type: 'string' }, plan: { type: 'string' },
      currency: { type: 'string' }, decimals: { type: 'string' }, rounding: { type: 'string' }, tz: { type: 'string' },
      'band-mode': { type: 'string' }, 'connect-fee-on-unanswered': { type: 'boolean' }, 'country-code': { type: 'string' },
      format: { type: 'string', default: 'table' }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (!values.deck || !values.calls) throw new UsageError('--deck and --calls are required (see --help)');
  if (!FORMATS.includes(values.format)) throw new UsageError(`--format must be one of ${FORMATS.join(', ')}, not "${values.format}"`);
  const countryCode = values['country-code']?.replace(/^\+/, '');
  if (countryCode !== undefined && !/^[1-9]\d{0,2}$/.test(countryCode)) throw new UsageError(`--country-code must be a calling code of 1-3 digits such as 1 or 44, not "${countryCode}"`);
  const file = (p: string) => {
    try {
      return fs.readFileSync(p, 'utf8');
    } catch {
      throw new UsageError(`cannot read ${p}`);
    }
  };

  // Settings: flags over the plan file over the defaults, both checked by the same schema.
  const fromFile = values.plan ? readPlanFile(file(values.plan)) : { ok: true as const, value: {} };
  if (!fromFile.ok) throw new UsageError(listed(values.plan as string, fromFile.errors));
  const flags = planSettingsSchema.safeParse({
    currency: values.currency, rounding: values.rounding, timeZone: values.tz, bandMode: values['band-mode'],
    decimals: values.decimals !== undefined && /^\d{1,3}$/.test(values.decimals) ? Number(values.decimals) : values.decimals,
    connectFeeOnUnanswered: values['connect-fee-on-unanswered'],
  });
  if (!flags.success) throw new UsageError(settingsIssues(flags.error, (k) => FLAG_OF[k] ?? k).join('\n'));
  const given = Object.fromEntries(Object.entries(flags.data).filter(([, v]) => v !== undefined));
  const { currency, decimals, rounding, timeZone, bandMode, connectFeeOnUnanswered } = { ...DEFAULTS, ...fromFile.value, ...given };
  const settings: RatePlanSettings = { id: 0, name: values.deck, currency, rounding: { decimals, method: rounding }, timeZone, bandMode, connectFeeOnUnanswered };

  const bands = values.bands ? readBandsCsv(file(values.bands)) : { ok: true as const, value: [] };
  if (!bands.ok) throw new UsageError(listed(values.bands as string, byLine(bands.errors)));
  const deck = readDeckCsv(file(values.deck), { timeZone, bands: values.bands ? new Set(bands.value.map((b) => b.band)) : undefined });
  if (!deck.ok) throw new UsageError(listed(values.deck, byLine(deck.errors)));
  const calls = readCallsCsv(file(values.calls), countryCode);
  if (!calls.ok) throw new UsageError(listed(values.calls, byLine(calls.errors)));
  const plan = compilePlan(settings, deck.value, bands.value);

  const out: Array<Record<string, string>> = [];
  let unrated = 0;
  for (const call of calls.value) {
    const row: Record<string, string> = { line: String(call.line), destination: call.destination, start: call.start, duration: call.duration };
    const result = rateLeg({ direction: call.direction, number: call.number, startMs: call.startMs, answerMs: call.seconds > 0 ? call.startMs : null, billableSeconds: call.seconds }, plan);
    if (isUnratable(result)) {
      unrated++;
      out.push({ ...row, status: 'unrated', amount: '', currency, prefix: '', charged_seconds: '', breakdown: `unrated (${result.unratable}): ${result.detail}` });
      continue;
    }
    const shown = chargeDecimals(result);
    const parts = result.pieces.map((p, i) => `${p.seconds}s${p.band ? ` ${p.band}` : ''} @ ${shown.pieces[i]!.rate.toString()}/${p.rateUnit}s = ${shown.pieces[i]!.amount.toString()}`);
    if (!shown.connectFee.isZero()) parts.unshift(`connect ${shown.connectFee.toString()}`);
    if (result.minChargeApplied) parts.push('minimum charge');
    if (result.maxCostApplied) parts.push('maximum cost');
    out.push({
      ...row, status: 'rated', amount: shown.amount.toFixed(decimals), currency, prefix: result.prefix,
      charged_seconds: String(result.chargedSeconds), breakdown: `${result.description ? `${result.description}: ` : ''}${parts.join('; ') || 'no charge'}`,
    });
  }

  if (values.format === 'json') process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  else if (values.format === 'csv') {
    const cols = ['line', 'destination', 'start', 'duration', 'status', 'prefix', 'charged_seconds', 'amount', 'currency', 'breakdown'];
    const q = (v: string) => (/[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
    process.stdout.write(`${cols.join(',')}\n${out.map((r) => cols.map((c) => q(r[c] ?? '')).join(',')).join('\n')}\n`);
  } else {
    for (const r of out as Array<Record<'line' | 'destination' | 'start' | 'duration' | 'status' | 'amount' | 'currency' | 'prefix' | 'breakdown', string>>) {
      process.stdout.write(`${r.line.padStart(4)}  ${r.destination.padEnd(16)} ${r.start.padEnd(25)} ${r.duration.padStart(6)}s  ${r.status === 'rated' ? `${r.amount} ${r.currency}`.padStart(16) : 'UNRATED'.padStart(16)}  ${r.prefix ? `[${r.prefix}] ` : ''}${r.breakdown}\n`);
    }
  }
  return unrated > 0 ? 2 : 0;
}

try {
  process.exitCode = main(process.argv.slice(2));
} catch (err) {
  // Bad input is a message; only a fault of our own shows a stack.
  process.stderr.write(`${err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') ? (err as Error).message : `rate failed: ${(err as Error).stack}`}\n`);
  process.exitCode = 1;
}
