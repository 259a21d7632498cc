/**
 * fngate's own metric: how often, how long and with what outcome the
 * serverless plugins run their functions — `serverless_function_duration_seconds`
 * (histogram, seconds; labels `plugin`, `route`, `outcome`).
 *
 * The serverless plugins and the FaaS plugins call {@link timeFunctionCall}
 * (or {@link recordFunctionCall}) around each call; both cost one boolean
 * check while the prometheus plugin is not installed in this worker. The
 * plugin's `init` starts recording and its `destroy` stops it.
 *
 * Outcomes: `ok` (the function returned, or the platform answered — its own
 * status is in `http_status`), `timeout` (the call ran out of time), `error`
 * (anything else: a throw, a refused connection, a bad answer).
 */
import type { SeriesData } from './families.js';
import { HistogramCell, SeriesTable } from './series-table.js';
import { isThenable } from '../../util/maybe-async.js';

export type FunctionOutcome = 'ok' | 'error' | 'timeout';

let table: SeriesTable<HistogramCell> | undefined;
let bucketsKey = '';
let recording = false;
/** Reused label values: plugin, route, outcome. */
const key: string[] = ['', '', ''];

/**
 * Start (or restart) recording with these bucket bounds, in seconds. Counts
 * are kept across restarts unless the buckets changed.
 */
export function startFunctionMetrics(buckets: readonly number[]): void {
  const next = buckets.join(',');
  if (table === undefined || next !== bucketsKey) {
    table = new SeriesTable(3, () => new HistogramCell(buckets));
    bucketsKey = next;
  }
  recording = true;
}

/** Stop recording (the prometheus plugin was removed); counts stay for the next start. */
export function stopFunctionMetrics(): void {
  recording = false;
}

/** The series recorded so far; undefined when recording never started. */
export function functionMetricsSeries(): SeriesData[] | undefined {
  return table?.rows().map(({ labels, cell }) => ({ labels, values: cell.values() }));
}

/**
 * Count one function call. A no-op unless the prometheus plugin is installed.
 *
 * @example
 *   recordFunctionCall('openwhisk', ctx.route_id, 0.012, 'ok');
 */
export function recordFunctionCall(plugin: string, route: string | undefined, seconds: number, outcome: FunctionOutcome): void {
  if (!recording) return;
  key[0] = plugin;
  key[1] = route ?? '';
  key[2] = outcome;
  (table as SeriesTable<HistogramCell>).at(key).observe(seconds);
}

/**
 * `timeout` when `err` (or an error it wraps) says the call ran out of time:
 * the FaaS client's `reason: 'timeout'`, a `*TIMEOUT*` code, or a
 * sandbox's "timed out" message.
 */
export function outcomeOfError(err: unknown): 'error' | 'timeout' {
  let current: unknown = err;
  for (let depth = 0; depth < 4 && typeof current === 'object' && current !== null; depth++) {
    const e = current as { reason?: unknown; code?: unknown; message?: unknown; cause?: unknown };
    if (e.reason === 'timeout') return 'timeout';
    if (typeof e.code === 'string' && e.code.includes('TIMEOUT')) return 'timeout';
    if (typeof e.message === 'string' && /timed out/i.test(e.message)) return 'timeout';
    current = e.cause;
  }
  return 'error';
}

/**
 * Run `call` and count it: `ok` when it returns (or its promise resolves),
 * else the outcome of what it threw (or rejected with), which is passed on.
 * Without the prometheus plugin this is just `call()`.
 *
 * @example
 *   const response = await timeFunctionCall('aws-lambda', ctx.route_id, () => endpoint.send(request));
 */
export function timeFunctionCall<T>(plugin: string, route: string | undefined, call: () => T): T {
  if (!recording) return call();
  const started = performance.now();
  let result: T;
  try {
    result = call();
  } catch (err) {
    recordFunctionCall(plugin, route, (performance.now() - started) / 1000, outcomeOfError(err));
    throw err;
  }
  if (!isThenable(result)) {
    recordFunctionCall(plugin, route, (performance.now() - started) / 1000, 'ok');
    return result;
  }
  return Promise.resolve(result).then(
    (value) => {
      recordFunctionCall(plugin, route, (performance.now() - started) / 1000, 'ok');
      return value;
    },
    (err: unknown) => {
      recordFunctionCall(plugin, route, (performance.now() - started) / 1000, outcomeOfError(err));
      throw err;
    },
  ) as T;
}
