/**
 * Values that are usually ready now and sometimes a promise. The request
 * path runs plugins synchronously until one of them returns a promise
 * (STYLE.md, after fastify's hook runner): an `async` function there would
 * cost a promise and a microtask turn per step even when every plugin is
 * synchronous, which is most of the time.
 */

export type MaybePromise<T> = T | Promise<T>;

/** True for promises and other thenables (what `await` would wait for). */
export function isThenable<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return (typeof value === 'object' || typeof value === 'function') && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

/**
 * `next(value)` now when `value` is ready, after it settles otherwise.
 *
 * @example
 *   andThen(runRequestPhase('rewrite', list, ctx, logger), (stop) => stop ?? runAccess());
 */
export function andThen<T, U>(value: T | PromiseLike<T>, next: (ready: T) => MaybePromise<U>): MaybePromise<U> {
  if (isThenable(value)) return Promise.resolve(value).then(next);
  return next(value);
}
