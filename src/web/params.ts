import type { Request } from 'express';
import { NotFoundError } from '../domain/errors';

/** A numeric id from the URL; anything else is simply not found. */
export function idParam(req: Request, name: string): number {
  const raw = req.params[name];
  if (typeof raw !== 'string' || !/^[1-9]\d{0,15}$/.test(raw)) throw new NotFoundError();
  const n = Number(raw);
  if (!Number.isSafeInteger(n)) throw new NotFoundError();
  return n;
}
