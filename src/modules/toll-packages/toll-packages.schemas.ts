import { z } from 'zod';
import { currencyField, listParams, optionalText, requiredText } from '../../domain/fields';
import type { Decimal } from '../../domain/money/decimal';
import { minutesToSeconds, parsePrefixList } from '../../domain/packages/toll-catalogue';
import { decimalText } from '../taxes/form-fields';

/** A destination group as typed: its prefixes a textarea (see parsePrefixList). */
export const groupFields = z.object({
  name: requiredText('Name', 100),
  description: optionalText('Description', 1000).transform((v) => v ?? ''),
  prefixes: z
    .string({ error: 'Give at least one prefix' })
    .transform((text, ctx) => {
      const r = parsePrefixList(text);
      if (r.ok) return r;
      ctx.addIssue({ code: 'custom', message: r.problems.join('; ') });
      return z.NEVER;
    }),
});
export type GroupInput = z.infer<typeof groupFields>;

/** Money of a package: numeric(20,10), blank is zero. */
const fee = (label: string) =>
  z
    .string()
    .optional()
    .transform((v) => (v === undefined || v.trim() === '' ? '0' : v))
    .pipe(decimalText(label, { precision: 20, scale: 10 }));

export interface GroupAllowanceInput {
  groupId: number;
  /** Null: unlimited. */
  includedSeconds: number | null;
  overageRate: Decimal | null;
}

const GROUP_FIELD = /^group_(\d{1,15})_(on|minutes|unlimited|overage)$/;
const OVERAGE = decimalText('Rate after the allowance', { precision: 20, scale: 10 });

/**
 * A toll package as typed: its own fields, then per destination group a row of fields named
 * group_<id>_on (the checkbox that gives the group an allowance), group_<id>_minutes (included
 * minutes a cycle, stored as whole seconds), group_<id>_unlimited and group_<id>_overage (per
 * minute after the allowance; blank: the plan's rate). Errors name the row's field. Which group ids
 * the owner may use is the service's to check.
 */
const packageBase = z.object({
  name: requiredText('Name', 100),
  description: optionalText('Description', 1000).transform((v) => v ?? ''),
  currency: currencyField,
  setup_fee: fee('Setup fee'),
  monthly_fee: fee('Monthly fee'),
});

/** The group rows of a package form, each problem on its row's field. */
function groupRows(raw: Record<string, unknown>, issue: (field: string, message: string) => void): GroupAllowanceInput[] {
  const rows = new Map<number, Record<string, string>>();
  for (const [k, v] of Object.entries(raw)) {
    const m = GROUP_FIELD.exec(k);
    if (!m) continue;
    const id = Number(m[1]);
    const row = rows.get(id) ?? {};
    row[m[2] as string] = typeof v === 'string' ? v.trim() : Array.isArray(v) ? String(v[v.length - 1] ?? '').trim() : '';
    rows.set(id, row);
  }
  const groups: GroupAllowanceInput[] = [];
  for (const [groupId, row] of [...rows].sort((a, b) => a[0] - b[0])) {
    if (!['on', 'true', '1'].includes(row.on ?? '')) continue;
    const unlimited = ['on', 'true', '1'].includes(row.unlimited ?? '');
    let includedSeconds: number | null = null;
    let ok = true;
    if (!unlimited) {
      const s = row.minutes ? minutesToSeconds(row.minutes) : undefined;
      if (!s) issue(`group_${groupId}_minutes`, 'Included minutes are required (or tick unlimited)');
      else if (!s.ok) issue(`group_${groupId}_minutes`, `Included minutes ${s.reason}`);
      else includedSeconds = s.seconds;
      ok = Boolean(s?.ok);
    }
    let overageRate: Decimal | null = null;
    if (row.overage) {
      const r = OVERAGE.safeParse(row.overage);
      if (r.success) overageRate = r.data;
      else {
        issue(`group_${groupId}_overage`, r.error.issues[0]?.message ?? 'Not a rate');
        ok = false;
      }
    }
    if (ok) groups.push({ groupId, includedSeconds, overageRate });
  }
  return groups;
}

/**
 * A toll package as typed: its own fields, then per destination group a row of fields named
 * group_<id>_on (the checkbox that gives the group an allowance), group_<id>_minutes (included
 * minutes a cycle, stored as whole seconds), group_<id>_unlimited and group_<id>_overage (per
 * minute after the allowance; blank: the plan's rate). Every problem is reported at once, each on
 * its field. Which group ids the owner may use is the service's to check.
 */
export const packageFields = z.record(z.string(), z.unknown()).transform((raw, ctx) => {
  let problems = 0;
  const issue = (field: string, message: string) => {
    problems++;
    ctx.addIssue({ code: 'custom', path: [field], message });
  };
  const base = packageBase.safeParse(raw);
  if (!base.success) for (const i of base.error.issues) issue(i.path.map(String).join('.') || '_form', i.message);
  const groups = groupRows(raw, issue);
  if (!base.success || problems) return z.NEVER;
  return { ...base.data, groups };
});
export type PackageInput = z.infer<typeof packageFields>;

/** An id chosen in a select; blank or malformed is the message. */
const choice = (message: string) => z.string({ error: message }).trim().regex(/^[1-9]\d{0,15}$/, message).transform(Number);

/**
 * Giving a package to a party: start and end as wall times in the viewer's zone (blank start:
 * now; blank end: open), read by the service, which knows the zone.
 */
export const assignFields = z.object({
  toll_package_id: choice('Choose a toll package'),
  starts_at: z.string().trim().optional().transform((v) => v ?? ''),
  ends_at: z.string().trim().optional().transform((v) => v ?? ''),
});
export type AssignInput = z.infer<typeof assignFields>;

/** Ending an assignment: when (blank: now), a wall time in the viewer's zone. */
export const endFields = z.object({
  ends_at: z.string().trim().optional().transform((v) => v ?? ''),
});
export type EndInput = z.infer<typeof endFields>;

/** The filter of the destination group and toll package lists: a word of the name (packages: in use or retired). */
export const tollListQuery = z.object({
  q: z.string().trim().max(100).optional().catch(undefined),
  status: z.enum(['active', 'retired']).optional().catch(undefined),
  ...listParams,
});
