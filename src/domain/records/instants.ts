/**
 * Instants as a record file writes them, in the spec's IANA zone. Local patterns take the zone's
 * offset at that instant (so a time is right on both sides of a DST change); `iso8601` writes the
 * offset too (2026-03-08T01:59:59-05:00, then 03:00:00-04:00), which also tells apart the two
 * 01:30 of the night clocks go back; epochs are zone-free.
 */
import { zoneOffsetMs } from '../rating/zoned-time';
import type { DateFormat } from './spec';

const p2 = (n: number) => (n < 10 ? `0${n}` : String(n));
const p4 = (n: number) => String(n).padStart(4, '0');

export function formatInstant(ms: number, format: DateFormat, timeZone: string): string {
  if (format === 'epoch') return String(Math.floor(ms / 1000));
  if (format === 'epoch_ms') return String(Math.trunc(ms));
  const offset = zoneOffsetMs(timeZone, ms);
  const d = new Date(ms + offset);
  const Y = p4(d.getUTCFullYear());
  const M = p2(d.getUTCMonth() + 1);
  const D = p2(d.getUTCDate());
  const h = p2(d.getUTCHours());
  const m = p2(d.getUTCMinutes());
  const s = p2(d.getUTCSeconds());
  switch (format) {
    case 'iso8601': {
      const mins = Math.round(offset / 60_000);
      const a = Math.abs(mins);
      return `${Y}-${M}-${D}T${h}:${m}:${s}${mins < 0 ? '-' : '+'}${p2(Math.floor(a / 60))}:${p2(a % 60)}`;
    }
    case 'YYYY-MM-DD HH:mm:ss': return `${Y}-${M}-${D} ${h}:${m}:${s}`;
    case 'YYYY-MM-DDTHH:mm:ss': return `${Y}-${M}-${D}T${h}:${m}:${s}`;
    case 'DD/MM/YYYY HH:mm:ss': return `${D}/${M}/${Y} ${h}:${m}:${s}`;
    case 'MM/DD/YYYY HH:mm:ss': return `${M}/${D}/${Y} ${h}:${m}:${s}`;
    case 'YYYYMMDDHHmmss': return `${Y}${M}${D}${h}${m}${s}`;
  }
}
