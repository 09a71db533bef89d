import type { Request, Response } from 'express';

/**
 * Asking before a hard-to-undo action (a deactivation, a number released, a credential replaced, a
 * re-rating of a whole period). The form posts as before; without confirm=yes the answer is a page
 * that says what will happen, in words, with a button that posts the same fields again plus
 * confirm=yes. It needs no JavaScript (the CSP allows none inline), and support roles never see it:
 * the read-only guard refuses their posts before any route runs.
 */
export interface Confirmation {
  /** The question, e.g. "Deactivate Acme Ltd?". */
  title: string;
  /** What will happen, one sentence each. */
  consequences: string[];
  /** The button's words, e.g. "Deactivate Acme Ltd". */
  confirmLabel: string;
  /** Where "Cancel" goes: the page the form was on. */
  cancelHref: string;
  /** The fields of the original form, posted again with the confirmation. */
  fields?: Record<string, string | string[] | undefined>;
  /** Other text for the page (e.g. a field not carried over). */
  note?: string;
}

export function isConfirmed(req: Request): boolean {
  const v = (req.body as Record<string, unknown> | undefined)?.confirm;
  return v === 'yes' || (Array.isArray(v) && v.includes('yes'));
}

/** Answers the confirmation page for the request's own URL. */
export function askConfirmation(req: Request, res: Response, c: Confirmation): void {
  const hidden: Array<{ name: string; value: string }> = [];
  for (const [name, v] of Object.entries(c.fields ?? {})) {
    if (name === '_csrf' || name === 'confirm' || v === undefined) continue;
    for (const value of Array.isArray(v) ? v : [v]) hidden.push({ name, value });
  }
  res.page('confirm', { title: c.title, confirmation: c, action: req.originalUrl, hidden });
}

/** "1 subscriber", "41 subscribers". */
export function countOf(n: number, one: string, many = `${one}s`): string {
  return `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;
}
