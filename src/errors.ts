/**
 * Base class of every error fngate raises on purpose. `code` is stable and
 * is what tests and callers branch on; the message is for humans.
 *
 * @example
 *   class CasConflictError extends FngateError { readonly code = 'STORE_CAS_CONFLICT' }
 */
export abstract class FngateError extends Error {
  abstract readonly code: string;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Narrow an unknown throw to a message, for logs and error bodies. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
