import { wallToUtc } from '../../domain/reconciliation';
import { addDays, localDate } from '../../domain/time/zones';

/**
 * A carrier's daily file deadline ("HH:MM" in its zone) around `nowMs`: today's due instant in that
 * zone and the one before it (yesterday's, a DST change making the day 23 or 25 hours). `passed`
 * says today's has come.
 */
export function fileDeadlines(dueAt: string, zone: string, nowMs: number): { today: number; previous: number; passed: boolean } {
  const [h, mi] = dueAt.split(':').map(Number) as [number, number];
  const at = (date: string) => {
    const [y, mo, d] = date.split('-').map(Number) as [number, number, number];
    return wallToUtc(y, mo, d, h, mi, 0, undefined, zone);
  };
  const date = localDate(nowMs, zone);
  const today = at(date);
  return { today, previous: at(addDays(date, -1)), passed: nowMs >= today };
}

/**
 * Whether an active carrier's file is missing now: today's deadline has passed and no file was
 * stored since the deadline before it (a file may arrive early, or late: either counts). A carrier
 * made after today's deadline owes nothing yet.
 */
export function fileMissing(c: { fileDueAt: string | null; fileDueZone: string; active: boolean; createdAt: Date }, lastReceived: Date | undefined, nowMs: number): { missing: boolean; dueAt?: Date } {
  if (!c.active || !c.fileDueAt) return { missing: false };
  const d = fileDeadlines(c.fileDueAt, c.fileDueZone, nowMs);
  if (!d.passed || c.createdAt.getTime() > d.today) return { missing: false };
  const missing = !lastReceived || lastReceived.getTime() <= d.previous;
  return missing ? { missing, dueAt: new Date(d.today) } : { missing: false };
}
