import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { parse } from 'csv-parse/sync';
import { isDirection, type Direction } from '../domain/legs/direction';
import { ROUNDING_METHODS, type RoundingMethod } from '../domain/money/decimal';
import { normaliseE164 } from '../domain/numbers/e164';
import { isUnratable, rateLeg } from '../domain/rating/engine';
import { compilePlan, type RatePlanSettings } from '../domain/rating/plan';
import { isValidTimeZone } from '../domain/rating/zoned-time';
import { readBandsCsv, readDeckCsv } from '../modules/rate-plans/deck-csv';

const HELP = `Rates calls offline with the same engine as the live intake.

Usage: npm run rate -- --deck deck.csv [--bands bands.csv] --calls calls.csv [options]

Files
  --deck FILE        rate deck CSV: prefix,description,direction,band,interval_start,rate,rate_unit,
                     increment,connect_fee,min_charge,max_cost,effective_from (one row per step)
  --bands FILE       time bands CSV: band,days,start  (days: mon-fri | sat,sun | 2026-12-25; start: HH:MM)
  --calls FILE       calls CSV with a header: destination,start,duration[,direction]
                     start in ISO 8601 with its offset; duration in answered seconds (0 = unanswered);
                     direction outbound (default), inbound, onnet or forwarded
  --plan FILE        plan settings as JSON, e.g. {"currency":"EUR","decimals":4,"rounding":"half_up",
                     "timeZone":"Europe/Berlin","bandMode":"split","connectFeeOnUnanswered":false};
                     flags below override it

Plan settings (defaults in brackets)
  --currency CODE            [USD]
  --decimals N               decimals of the rounded amount [4]
  --rounding METHOD          half_up | half_even | up | down [half_up]
  --tz ZONE                  IANA time zone of the bands and of date-only effective_from [UTC]
  --band-mode MODE           split (each part by its band) | start (whole call by its starting band) [split]
  --connect-fee-on-unanswered  charge the connect fee on unanswered calls
  --country-code CC          calling code for destinations written without one (e.g. 1, 44)

Output
  --format table|csv|json    [table]
  -h, --help
`;

class UsageError extends Error {}

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
  const file = (p: string) => {
    try {
      return fs.readFileSync(p, 'utf8');
    } catch {
      throw new UsageError(`cannot read ${p}`);
    }
  };
  const fromFile = values.plan ? (JSON.parse(file(values.plan)) as Record<string, unknown>) : {};
  const pick = <T>(flag: T | undefined, key: string, dflt: T): T => (flag !== undefined ? flag : ((fromFile[key] as T | undefined) ?? dflt));
  const decimals = Number(pick(values.decimals, 'decimals', '4'));
  const rounding = pick(values.rounding, 'rounding', 'half_up') as RoundingMethod;
  const timeZone = pick(values.tz, 'timeZone', 'UTC');
  const bandMode = pick(values['band-mode'], 'bandMode', 'split');
  const currency = String(pick(values.currency, 'currency', 'USD')).toUpperCase();
  if (!Number.isInteger(decimals) || decimals < 0 || decimals > 10) throw new UsageError('--decimals must be 0-10');
  if (!ROUNDING_METHODS.includes(rounding)) throw new UsageError(`--rounding must be one of ${ROUNDING_METHODS.join(', ')}`);
  if (!isValidTimeZone(timeZone)) throw new UsageError(`unknown time zone ${timeZone}`);
  if (bandMode !== 'split' && bandMode !== 'start') throw new UsageError('--band-mode must be split or start');
  if (!/^[A-Z]{3}$/.test(currency)) throw new UsageError('--currency must be a three-letter code');

  const settings: RatePlanSettings = {
    id: 0, name: values.deck, currency, rounding: { decimals, method: rounding }, timeZone, bandMode,
    connectFeeOnUnanswered: Boolean(values['connect-fee-on-unanswered'] ?? fromFile.connectFeeOnUnanswered ?? false),
  };
  const bands = values.bands ? readBandsCsv(file(values.bands)) : { ok: true as const, value: [] };
  if (!bands.ok) throw new UsageError(`${values.bands}:\n${bands.errors.map((e) => `  line ${e.line}: ${e.message}`).join('\n')}`);
  const deck = readDeckCsv(file(values.deck), { timeZone, bands: values.bands ? new Set(bands.value.map((b) => b.band)) : undefined });
  if (!deck.ok) throw new UsageError(`${values.deck}:\n${deck.errors.map((e) => `  line ${e.line}: ${e.message}`).join('\n')}`);
  const plan = compilePlan(settings, deck.value, bands.value);

  const calls = parse(file(values.calls), { columns: (h: string[]) => h.map((c) => c.trim().toLowerCase()), skip_empty_lines: true, trim: true }) as Array<Record<string, string>>;
  const out: Array<Record<string, string>> = [];
  let failures = 0;
  calls.forEach((call, i) => {
    const line = i + 2;
    const row: Record<string, string> = { line: String(line), destination: call.destination ?? '', start: call.start ?? '', duration: call.duration ?? '' };
    const fail = (why: string) => {
      failures++;
      out.push({ ...row, status: 'error', amount: '', currency, prefix: '', charged_seconds: '', breakdown: why });
    };
    const direction = (call.direction || 'outbound').toLowerCase();
    if (!isDirection(direction)) return fail(`direction "${call.direction}" is not outbound, inbound, onnet or forwarded`);
    const num = normaliseE164(call.destination ?? '', values['country-code']);
    const number = num.ok ? num.number : /^\d{2,15}$/.test(call.destination ?? '') ? `+${call.destination}` : undefined;
    if (!number) return fail(num.ok ? '' : num.reason);
    const startMs = Date.parse(call.start ?? '');
    if (!/([zZ]|[+-]\d{2}:?\d{2})$/.test(call.start ?? '') || Number.isNaN(startMs)) return fail(`start "${call.start}" must be ISO 8601 with an offset`);
    if (!/^\d+$/.test(call.duration ?? '')) return fail(`duration "${call.duration}" must be whole seconds`);
    const seconds = Number(call.duration);
    const result = rateLeg({ direction: direction as Direction, number, startMs, answerMs: seconds > 0 ? startMs : null, billableSeconds: seconds }, plan);
    if (isUnratable(result)) return fail(`unrated (${result.unratable}): ${result.detail}`);
    const parts = result.pieces.map((p) => `${p.seconds}s${p.band ? ` ${p.band}` : ''} @ ${p.rate.toString()}/${p.rateUnit}s = ${p.amount.toString()}`);
    if (!result.connectFee.isZero()) parts.unshift(`connect ${result.connectFee.toString()}`);
    if (result.minChargeApplied) parts.push('minimum charge');
    if (result.maxCostApplied) parts.push('maximum cost');
    out.push({
      ...row, status: 'rated', amount: result.amount.toFixed(decimals), currency, prefix: result.prefix,
      charged_seconds: String(result.chargedSeconds), breakdown: `${result.description ? `${result.description}: ` : ''}${parts.join('; ') || 'no charge'}`,
    });
  });

  if (values.format === 'json') process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  else if (values.format === 'csv') {
    const cols = ['line', 'destination', 'start', 'duration', 'status', 'prefix', 'charged_seconds', 'amount', 'currency', 'breakdown'];
    const q = (v: string) => (/[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
    process.stdout.write(`${cols.join(',')}\n${out.map((r) => cols.map((c) => q(r[c] ?? '')).join(',')).join('\n')}\n`);
  } else {
    for (const r of out as Array<Record<'line' | 'destination' | 'start' | 'duration' | 'status' | 'amount' | 'currency' | 'prefix' | 'breakdown', string>>) {
      process.stdout.write(`${r.line.padStart(4)}  ${r.destination.padEnd(16)} ${r.start.padEnd(25)} ${r.duration.padStart(6)}s  ${r.status === 'rated' ? `${r.amount} ${r.currency}`.padStart(16) : 'ERROR'.padStart(16)}  ${r.prefix ? `[${r.prefix}] ` : ''}${r.breakdown}\n`);
    }
  }
  return failures > 0 ? 2 : 0;
}

try {
  process.exitCode = main(process.argv.slice(2));
} catch (err) {
  process.stderr.write(`${err instanceof UsageError || err instanceof SyntaxError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') ? (err as Error).message : `rate failed: ${(err as Error).stack}`}\n`);
  process.exitCode = 1;
}
