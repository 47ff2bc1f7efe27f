/**
 * One error type for everything a user can cause (bad input, unavailable backend, bad config).
 * The CLI prints `message` (plus `hint`) without a stack trace and exits with `exitCode`;
 * anything that is not a UlearnError is a bug and is printed with its stack.
 */
export class UlearnError extends Error {
  readonly code: string;
  readonly hint?: string;
  readonly exitCode: number;

  constructor(message: string, opts: { code?: string; hint?: string; exitCode?: number; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'UlearnError';
    this.code = opts.code ?? 'E_ULEARN';
    this.hint = opts.hint;
    this.exitCode = opts.exitCode ?? 2;
  }
}

/** Formats any thrown value as the one or two lines a user sees. */
export function describeError(err: unknown): string {
  if (err instanceof UlearnError) return err.hint ? `${err.message}\n  hint: ${err.hint}` : err.message;
  if (err instanceof Error) return err.stack ?? err.message;
  return String(err);
}
