/**
 * Errors of the serverless plugins and their sandboxes.
 */
import { FngateError } from '../../errors.js';
import { messageOf } from '../../plugin/user-function.js';

/**
 * A user function threw (or returned something that is not a verdict).
 * The message names the function (`functions[1] threw: boom`), so the
 * framework's log line — route, plugin, phase, message — names all four;
 * `stack` is the user function's own stack, the useful one.
 */
export class ServerlessFunctionError extends FngateError {
  readonly code = 'SERVERLESS_FUNCTION_FAILED';

  constructor(readonly where: string, detail: string, cause?: unknown) {
    super(`${where} ${detail}`, { cause });
    const stack = (cause as { stack?: unknown } | undefined)?.stack;
    if (typeof stack === 'string') this.stack = stack;
  }

  /** `where` threw `cause`. */
  static threw(where: string, cause: unknown): ServerlessFunctionError {
    return new ServerlessFunctionError(where, `threw: ${messageOf(cause)}`, cause);
  }
}

/** `fngate.serverless` asks for something this installation cannot do (e.g. isolated-vm is missing). */
export class ServerlessConfigError extends FngateError {
  readonly code = 'SERVERLESS_CONFIG_INVALID';
}
