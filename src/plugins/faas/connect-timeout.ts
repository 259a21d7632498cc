/**
 * A connect timeout on native timers for undici connectors. undici's own
 * `connectTimeout` runs on its ~1 s "fast timers", too coarse for the
 * sub-second `timeout` values users give the FaaS plugins. A socket that connects after the timeout fired is
 * destroyed, so it never leaks into a pool.
 */
import { errors, type buildConnector } from 'undici';

/**
 * @example
 *   const connect = withConnectTimeout(buildConnector({}), 500);
 *   new Pool(origin, { connect });
 */
export function withConnectTimeout(connect: buildConnector.connector, timeoutMs: number): buildConnector.connector {
  return (options, callback) => {
    let done = false;
    const timer = setTimeout(() => {
      if (done) return;
      done = true;
      socket?.destroy();
      callback(new errors.ConnectTimeoutError(`connect to ${options.hostname}:${options.port} timed out after ${timeoutMs} ms`), null);
    }, timeoutMs);
    // undici's connector returns the socket it opens (its type says void).
    const socket = (connect as unknown as (o: typeof options, cb: buildConnector.Callback) => { destroy(): void } | undefined)(
      options,
      (...args) => {
        clearTimeout(timer);
        if (done) {
          args[1]?.destroy();
          return;
        }
        done = true;
        callback(...args);
      },
    );
  };
}
