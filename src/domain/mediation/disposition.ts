/**
 * One disposition vocabulary for every format (legs/leg.ts DISPOSITIONS): how each switch's own
 * word for the end of a leg maps onto it. docs/CDR-FORMATS.md ("Disposition") is the same table
 * for people. An answered leg is `answered` whatever cause ended it (a normal hang-up, or a
 * network failure after answer: the talk time is billed either way); the causes below decide
 * only for legs that were never answered. A cause we do not know is `failed`: it is kept beside
 * the disposition (switchCause), so nothing is lost.
 */
import type { Disposition } from '../legs/leg';

/**
 * Q.850 cause values (BroadWorks terminationCause, Cisco CUCM orig/destCause_value, FreeSWITCH
 * hangup_cause_q850) of a leg that was not answered.
 *   17 user busy -> busy
 *   18 no user responding, 19 no answer from user, 20 subscriber absent -> no_answer
 *   16 normal clearing, 31 normal unspecified: nobody failed, someone hung up before the answer
 *     (the caller giving up while it rang) -> cancelled
 *   anything else (1 unallocated number, 21 call rejected, 34 no circuit, 0 none, ...) -> failed
 */
export function q850Disposition(cause: number | null): Exclude<Disposition, 'answered'> {
  if (cause === 17) return 'busy';
  if (cause === 18 || cause === 19 || cause === 20) return 'no_answer';
  if (cause === 16 || cause === 31) return 'cancelled';
  return 'failed';
}

/** A Q.850 cause as the switch wrote it ("16", "016"); null when it is not a number from 0 to 127. */
export function q850Value(text: string | undefined): number | null {
  const t = (text ?? '').trim();
  if (!/^\d{1,3}$/.test(t)) return null;
  const n = Number(t);
  return n <= 127 ? n : null;
}

/**
 * SIP final response of an INVITE (Kamailio) that was not answered:
 *   486 Busy Here, 600 Busy Everywhere -> busy
 *   487 Request Terminated (the caller's CANCEL) -> cancelled
 *   408 Request Timeout, 480 Temporarily Unavailable -> no_answer
 *   any other 3xx-6xx -> failed
 */
export function sipDisposition(code: number): Exclude<Disposition, 'answered'> {
  if (code === 486 || code === 600) return 'busy';
  if (code === 487) return 'cancelled';
  if (code === 408 || code === 480) return 'no_answer';
  return 'failed';
}

/**
 * Asterisk cdr_csv disposition: ANSWERED, NO ANSWER, BUSY, FAILED, CONGESTION (congestion=yes).
 * Asterisk writes NO ANSWER also when the caller hangs up while it rings: it does not tell the two
 * apart, so neither can we. CONGESTION (all circuits busy) is a failure of the network, not the
 * callee being busy.
 */
export function asteriskDisposition(word: string): Disposition {
  switch (word.trim().toUpperCase()) {
    case 'ANSWERED':
      return 'answered';
    case 'NO ANSWER':
      return 'no_answer';
    case 'BUSY':
      return 'busy';
    default: // FAILED, CONGESTION, anything newer
      return 'failed';
  }
}

const FS_BUSY = new Set(['USER_BUSY']);
const FS_NO_ANSWER = new Set(['NO_ANSWER', 'NO_USER_RESPONSE', 'SUBSCRIBER_ABSENT', 'RECOVERY_ON_TIMER_EXPIRE', 'ALLOTTED_TIMEOUT']);
// LOSE_RACE: another leg of the fork answered; PICKED_OFF: picked up elsewhere; NORMAL_CLEARING on
// a leg never answered: someone hung up while it rang.
const FS_CANCELLED = new Set(['ORIGINATOR_CANCEL', 'LOSE_RACE', 'PICKED_OFF', 'NORMAL_CLEARING', 'NORMAL_UNSPECIFIED']);

/**
 * FreeSWITCH hangup_cause (Q.850 names and FreeSWITCH's own) of a leg that was not answered; the
 * numeric hangup_cause_q850 when the name is missing.
 */
export function freeswitchDisposition(cause: string | undefined, q850: string | undefined): Exclude<Disposition, 'answered'> {
  const name = (cause ?? '').trim().toUpperCase();
  if (name === '') return q850Disposition(q850Value(q850));
  if (FS_BUSY.has(name)) return 'busy';
  if (FS_NO_ANSWER.has(name)) return 'no_answer';
  if (FS_CANCELLED.has(name)) return 'cancelled';
  return 'failed';
}
