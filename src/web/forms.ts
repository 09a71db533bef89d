import type { Request, Response } from 'express';
import type { z } from 'zod';
import { FieldErrors } from '../domain/errors';
import { wantsProblem } from './problems';

export type FormResult<T> =
  | { ok: true; data: T }
  | { ok: false; errors: Record<string, string>; values: Record<string, unknown> };

/** Parses a form body with zod; on failure returns one message per field and the values as typed. */
export function parseForm<S extends z.ZodType>(schema: S, body: unknown): FormResult<z.infer<S>> {
  const values = (body && typeof body === 'object' ? body : {}) as Record<string, unknown>;
  const parsed = schema.safeParse(values);
  if (parsed.success) return { ok: true, data: parsed.data };
  const errors: Record<string, string> = {};
  for (const issue of parsed.error.issues) {
    const field = issue.path.length ? issue.path.map(String).join('.') : '_form';
    if (!(field in errors)) errors[field] = issue.message;
  }
  return { ok: false, errors, values };
}

/**
 * One form's submission, the same for every form: the body parsed by `schema`, then `action` with
 * the data. Bad input, the schema's or a FieldErrors from the service, answers 422 through `again`
 * (the form once more, each message beside its field, the values as typed). A program's request
 * (web/problems.ts) gets the FieldErrors instead, which the error handler answers as problem
 * details naming each field. Anything else thrown goes on to the error handler as it is.
 */
export async function submitForm<S extends z.ZodType>(
  req: Request,
  res: Response,
  schema: S,
  action: (data: z.infer<S>) => unknown,
  again: (errors: Record<string, string>) => unknown,
): Promise<void> {
  const form = parseForm(schema, req.body);
  try {
    if (!form.ok) throw new FieldErrors(form.errors);
    await action(form.data);
  } catch (err) {
    if (!(err instanceof FieldErrors) || wantsProblem(req)) throw err;
    res.status(422);
    await again(err.fields);
  }
}

/** Query-string values arrive as string | string[] | undefined; take the first string. */
export function queryString(value: unknown): string | undefined {
  if (Array.isArray(value)) value = value[0];
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}
