/**
 * Process start-up for user functions: install the sandbox that
 * `fngate.serverless` asks for (src/plugin/user-function.ts), and in
 * workers the watchdog report (src/plugins/serverless/watchdog.ts).
 *
 * - `vm` (default): a node:vm context per function; `allowed_modules` gives
 *   them `require()` for exactly those names.
 * - `isolated`: an isolated-vm isolate per function, with `timeout_ms` and
 *   `memory_mb`. isolated-vm must load (it is an optional dependency built
 *   from source), else the node does not start. It needs
 *   `--no-node-snapshot`, which the primary adds to the workers
 *   ({@link workerNodeFlags}); the primary itself usually runs without it,
 *   so there it validates with a vm context offering exactly the isolate's
 *   globals (what passes there also passes in a worker, except the memory
 *   cap, which only workers enforce).
 */
import type { Logger } from '../../log.js';
import type { FngateConfig } from '../../config/types.js';
import { createVmSandbox, useUserFunctionSandbox, type UserFunctionSandbox } from '../../plugin/user-function.js';
import { NO_NODE_SNAPSHOT, createIsolatedSandbox, loadIsolatedVm } from './isolated-sandbox.js';
import { Watchdog } from './watchdog.js';
import { ServerlessConfigError } from './errors.js';

export interface ServerlessStartOptions {
  readonly logger: Logger;
  /** `worker`: runs functions for requests; `primary`: only validates configurations (Admin API, load). */
  readonly role: 'primary' | 'worker';
  /** Fields of the watchdog's report lines, as the worker's own log lines carry them (`name`, `pid`, `worker`). */
  readonly logBindings?: Readonly<Record<string, unknown>>;
}

export interface ServerlessRuntime {
  readonly sandbox: UserFunctionSandbox;
  /** Workers only. */
  readonly watchdog: Watchdog | undefined;
}

/**
 * Node flags the data-plane workers need for `fngate.serverless`.
 *
 * @example
 *   cluster.setupPrimary({ execArgv: [...process.execArgv, ...workerNodeFlags(config)] });
 */
export function workerNodeFlags(config: FngateConfig): string[] {
  return config.fngate.serverless.sandbox === 'isolated' ? [NO_NODE_SNAPSHOT] : [];
}

/**
 * Install this process's user-function sandbox. Throws a
 * ServerlessConfigError (the node must not start) when the settings cannot
 * be honoured.
 *
 * @example
 *   await configureServerless(config, { role: 'worker', logger, logBindings: { name: 'fngate', pid: process.pid, worker: '0' } });
 */
export async function configureServerless(config: FngateConfig, options: ServerlessStartOptions): Promise<ServerlessRuntime> {
  const settings = config.fngate.serverless;
  const logger = options.logger.child({ module: 'user-function' });
  if (settings.sandbox === 'isolated' && settings.allowed_modules.length > 0) {
    throw new ServerlessConfigError('fngate.serverless.allowed_modules cannot be used with sandbox "isolated": host modules cannot enter an isolate');
  }
  const watchdog = options.role === 'worker'
    ? new Watchdog({
      // Half the primary's timeout: the report is written well before the kill.
      stallMs: Math.max(50, Math.floor((config.fngate.worker_watchdog_timeout * 1000) / 2)),
      ...(options.logBindings ? { bindings: options.logBindings } : {}),
    })
    : undefined;
  let sandbox: UserFunctionSandbox;
  if (settings.sandbox === 'vm') {
    sandbox = createVmSandbox({ logger, allowedModules: settings.allowed_modules, ...(watchdog ? { hooks: watchdog } : {}) });
  } else {
    const ivm = await loadIsolatedVm();
    const canCreateIsolates = process.execArgv.includes(NO_NODE_SNAPSHOT);
    if (canCreateIsolates) {
      sandbox = createIsolatedSandbox({ ivm, timeoutMs: settings.timeout_ms, memoryMb: settings.memory_mb, logger, ...(watchdog ? { hooks: watchdog } : {}) });
    } else if (options.role === 'primary') {
      sandbox = createVmSandbox({ logger, globals: 'ecmascript' });
    } else {
      throw new ServerlessConfigError(`fngate.serverless.sandbox "isolated" needs node's ${NO_NODE_SNAPSHOT} flag in the worker processes`);
    }
  }
  useUserFunctionSandbox(sandbox);
  return { sandbox, watchdog };
}
