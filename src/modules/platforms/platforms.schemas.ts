import net from 'node:net';
import { z } from 'zod';
import { requiredText, checkbox, optionalSipDomain } from '../../domain/fields';
import { isValidTimeZone } from '../../domain/rating/zoned-time';
import { SHORT_NUMBER_MODES } from '../../domain/legs/identity';
import { FORMAT_NAMES } from '../../domain/mediation';


/** "10.0.0.0/8, 192.0.2.7" -> ['10.0.0.0/8', '192.0.2.7/32']; each entry checked. */
export const cidrList = z
  .string()
  .optional()
  .transform((v, ctx) => {
    const items = (v ?? '').split(/[\s,;]+/).filter(Boolean);
    const out: string[] = [];
    for (const item of items) {
      const [addr, bits] = item.split('/');
      const family = net.isIP(addr ?? '');
      const max = family === 6 ? 128 : 32;
      if (!family || (bits !== undefined && (!/^\d+$/.test(bits) || Number(bits) > max))) {
        ctx.addIssue({ code: 'custom', message: `"${item}" is not an address or network like 192.0.2.0/24` });
        return z.NEVER;
      }
      out.push(`${addr}/${bits ?? max}`);
    }
    return out.length ? out : null;
  });

/** One "trunk = carrier" per line. */
const trunkMap = z
  .string()
  .optional()
  .transform((v, ctx) => {
    const map: Record<string, string> = {};
    for (const line of (v ?? '').split(/\r?\n/).map((l) => l.trim()).filter(Boolean)) {
      const m = /^([^=]+?)\s*=\s*(.+)$/.exec(line);
      if (!m) {
        ctx.addIssue({ code: 'custom', message: `"${line}" is not "trunk = carrier"` });
        return z.NEVER;
      }
      map[(m[1] as string).trim()] = (m[2] as string).trim();
    }
    return map;
  });

export const platformFields = z.object({
  name: requiredText('Name', 120),
  format: z.enum(FORMAT_NAMES, { error: 'Choose the record format this platform sends' }),
  time_zone: z.string().trim().min(1, 'Time zone is required').refine(isValidTimeZone, 'Unknown time zone: use an IANA name such as America/Chicago'),
  country_code: z.string().trim().regex(/^\+?[1-9]\d{0,2}$/, 'Country calling code: 1 to 3 digits, e.g. 1 or 44').transform((v) => v.replace(/^\+/, '')),
  allowed_sources: cidrList,
  trunk_carriers: trunkMap,
  // Hosted PBX: how short digit strings on its records are read, and the domain of records that name none.
  short_numbers: z.enum(SHORT_NUMBER_MODES, { error: 'Choose how short numbers are read' }).optional().default('national'),
  sip_domain: optionalSipDomain('pbx.example.com'),
  active: checkbox,
  accept_calls_from: z
    .string()
    .trim()
    .optional()
    .refine((v) => !v || (/^\d{4}-\d{2}-\d{2}$/.test(v) && new Date(`${v}T00:00:00Z`).toISOString().startsWith(v) && v >= '1970-01-01'), 'A date such as 2025-01-01')
    .transform((v) => v || undefined),
});
export type PlatformInput = z.infer<typeof platformFields>;
