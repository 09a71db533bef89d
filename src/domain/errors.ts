/** Errors that services raise and the web layer turns into status codes. */
export class NotFoundError extends Error {
  constructor(what = 'Not found') {
    super(what);
  }
}

export class ForbiddenError extends Error {
  constructor(message = 'You are not allowed to do that') {
    super(message);
  }
}

/** Bad input tied to form fields; the form re-renders with each message beside its field. */
export class FieldErrors extends Error {
  constructor(public readonly fields: Record<string, string>) {
    super(Object.values(fields).join('; '));
  }
}

/** A conflict with the current state (e.g. deactivating what is already inactive). */
export class ConflictError extends Error {}

/** A request this app never makes (e.g. a tampered paging link): 400, with a message for the person. */
export class BadRequestError extends Error {}
