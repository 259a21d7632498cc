/**
 * Runs one phase of a plugin list. The loop is synchronous until a plugin
 * returns a promise; only then does it continue asynchronously, so a chain
 * of synchronous plugins never pays for promises (STYLE.md, after fastify's
 * hook runner).
 *
 * Request phases stop at the first verdict and hand it back as a
 * {@link Stop}; the caller writes the response (plugins never do).
 * Response phases never stop: a throw is logged and the next plugin runs.
 */
import type { Logger } from '../log.js';
import type { RequestPhase, ResponsePhase, Verdict } from '../pdk/plugin.js';
import { FngateError } from '../errors.js';
import type { ChainEntry, PhaseList } from './chain.js';
import { GatewayContext } from './context.js';
import { messageOf } from './user-function.js';
import { isThenable } from '../util/maybe-async.js';

/** A request phase ended the request. */
export interface Stop {
  readonly status: number;
  /** undefined: empty body (nginx's page for error codes); string: as is; else JSON + newline. */
  readonly body: unknown;
  readonly headers: Readonly<Record<string, string | number | readonly string[]>> | undefined;
  /** The plugin that answered. */
  readonly plugin: string;
}

/** A plugin threw in a request phase, or returned something that is not a verdict: the request fails with 500. */
export class PluginPhaseError extends FngateError {
  readonly code = 'PLUGIN_PHASE_FAILED';
  constructor(readonly plugin: string, readonly phase: string, cause: unknown, detail?: string) {
    super(detail ?? `plugin ${plugin} failed in ${phase}: ${messageOf(cause)}`, { cause });
  }
}

/** Skip entries (prefer_route, consumer re-run) without copying lists. */
export type EntryFilter = (entry: ChainEntry) => boolean;

/** `_meta.filter`: computed the first time the plugin is reached in this request, then reused. */
function passesFilter(entry: ChainEntry, ctx: GatewayContext): boolean {
  const filter = entry.meta.filter;
  if (filter === undefined) return true;
  const results = GatewayContext.filterResults(ctx);
  let result = results.get(entry.conf);
  if (result === undefined) {
    const core = GatewayContext.coreOf(ctx);
    result = filter((name) => core.getVar(name));
    results.set(entry.conf, result);
  }
  return result;
}

/** Turn a phase function's return value into a Stop (or nothing). */
function toStop(entry: ChainEntry, phase: string, verdict: Verdict | unknown): Stop | undefined {
  if (verdict === undefined || verdict === null) return undefined;
  let status: unknown;
  let body: unknown;
  let headers: Stop['headers'];
  if (typeof verdict === 'number') {
    status = verdict;
  } else if (Array.isArray(verdict)) {
    [status, body, headers] = verdict as [unknown, unknown, Stop['headers']];
  } else {
    throw new PluginPhaseError(entry.name, phase, verdict, `plugin ${entry.name} returned ${typeof verdict} in ${phase}; expected a status or [status, body]`);
  }
  if (typeof status !== 'number' || !Number.isInteger(status) || status < 100 || status > 599) {
    throw new PluginPhaseError(entry.name, phase, status, `plugin ${entry.name} returned an invalid status ${JSON.stringify(status)} in ${phase}`);
  }
  // spec/plugins.md §5.2: `_meta.error_response` replaces the body of returned errors.
  if (status >= 400 && entry.meta.errorResponse !== undefined) body = entry.meta.errorResponse;
  return { status, body, headers, plugin: entry.name };
}

/** `_meta.pre_function`: runs before the plugin's phase function; its errors are logged and ignored. */
function runPreFunction(entry: ChainEntry, ctx: GatewayContext, logger: Logger): unknown {
  const pre = entry.meta.preFunction;
  if (pre === undefined) return undefined;
  try {
    const result = pre(entry.conf, ctx);
    if (isThenable(result)) {
      return Promise.resolve(result).catch((err: unknown) => {
        logger.error({ plugin: entry.name, err: messageOf(err) }, 'pre_function failed');
      });
    }
  } catch (err) {
    logger.error({ plugin: entry.name, err: messageOf(err) }, 'pre_function failed');
  }
  return undefined;
}

/**
 * Run `phase` over `list` from `start`; resolves with the first Stop.
 * Throws {@link PluginPhaseError} (or rejects with it) when a plugin throws.
 *
 * @example
 *   const stop = runRequestPhase('access', route.chain.access, ctx, logger);
 *   const result = stop instanceof Promise ? await stop : stop;
 */
export function runRequestPhase(
  phase: RequestPhase,
  list: PhaseList,
  ctx: GatewayContext,
  logger: Logger,
  skip?: EntryFilter,
  start = 0,
): Stop | undefined | Promise<Stop | undefined> {
  if (list === null) return undefined;
  for (let i = start; i < list.length; i++) {
    const entry = list[i] as ChainEntry;
    if (skip?.(entry) === true || !passesFilter(entry, ctx)) continue;
    GatewayContext.enter(ctx, phase, entry.name);
    const pre = runPreFunction(entry, ctx, logger);
    if (pre !== undefined) {
      return (pre as Promise<void>).then(() => callThen(phase, list, ctx, logger, skip, i));
    }
    const result = call(entry, phase, ctx);
    if (isThenable(result)) return continueAfter(phase, list, ctx, logger, skip, i, result);
    const stop = toStop(entry, phase, result);
    if (stop) return stop;
  }
  GatewayContext.enter(ctx, phase, undefined);
  return undefined;
}

/** Call entry `i` (its pre_function already ran), then go on. */
function callThen(phase: RequestPhase, list: readonly ChainEntry[], ctx: GatewayContext, logger: Logger, skip: EntryFilter | undefined, i: number): Stop | undefined | Promise<Stop | undefined> {
  const entry = list[i] as ChainEntry;
  GatewayContext.enter(ctx, phase, entry.name);
  const result = call(entry, phase, ctx);
  if (isThenable(result)) return continueAfter(phase, list, ctx, logger, skip, i, result);
  return toStop(entry, phase, result) ?? runRequestPhase(phase, list, ctx, logger, skip, i + 1);
}

async function continueAfter(
  phase: RequestPhase,
  list: readonly ChainEntry[],
  ctx: GatewayContext,
  logger: Logger,
  skip: EntryFilter | undefined,
  i: number,
  pending: PromiseLike<unknown>,
): Promise<Stop | undefined> {
  const entry = list[i] as ChainEntry;
  let verdict: unknown;
  try {
    verdict = await pending;
  } catch (err) {
    throw err instanceof PluginPhaseError ? err : new PluginPhaseError(entry.name, phase, err);
  }
  return toStop(entry, phase, verdict) ?? runRequestPhase(phase, list, ctx, logger, skip, i + 1);
}

function call(entry: ChainEntry, phase: RequestPhase | ResponsePhase, ctx: GatewayContext): unknown {
  const fn = entry.plugin.definition[phase] as ((conf: unknown, ctx: unknown) => unknown) | undefined;
  if (fn === undefined) return undefined;
  try {
    return fn.call(entry.plugin.definition, entry.conf, ctx);
  } catch (err) {
    throw new PluginPhaseError(entry.name, phase, err);
  }
}

/**
 * Run a response phase (header_filter, body_filter, log) over `list`. Never
 * throws: a failing plugin is logged with the route and phase, and the next
 * one runs.
 */
export function runResponsePhase(
  phase: ResponsePhase,
  list: PhaseList,
  ctx: GatewayContext,
  logger: Logger,
  skip?: EntryFilter,
  start = 0,
): void | Promise<void> {
  if (list === null) return undefined;
  for (let i = start; i < list.length; i++) {
    const entry = list[i] as ChainEntry;
    if (skip?.(entry) === true || !passesFilter(entry, ctx)) continue;
    GatewayContext.enter(ctx, phase, entry.name);
    const pre = runPreFunction(entry, ctx, logger);
    let result: unknown;
    try {
      result = pre === undefined ? call(entry, phase, ctx) : undefined;
    } catch (err) {
      logFailure(logger, ctx, entry, phase, err);
      continue;
    }
    if (pre !== undefined) {
      return (pre as Promise<void>)
        .then(() => call(entry, phase, ctx))
        .then(undefined, (err: unknown) => logFailure(logger, ctx, entry, phase, err))
        .then(() => runResponsePhase(phase, list, ctx, logger, skip, i + 1));
    }
    if (isThenable(result)) {
      return Promise.resolve(result).then(
        () => runResponsePhase(phase, list, ctx, logger, skip, i + 1),
        (err: unknown) => {
          logFailure(logger, ctx, entry, phase, err);
          return runResponsePhase(phase, list, ctx, logger, skip, i + 1);
        },
      );
    }
  }
  GatewayContext.enter(ctx, phase, undefined);
  return undefined;
}

function logFailure(logger: Logger, ctx: GatewayContext, entry: ChainEntry, phase: string, err: unknown): void {
  const cause = err instanceof PluginPhaseError ? err.cause : err;
  logger.error(
    { route: GatewayContext.coreOf(ctx).route?.id, plugin: entry.name, phase, err: messageOf(cause), stack: (cause as { stack?: unknown })?.stack },
    'plugin failed in a response phase; continuing',
  );
}
