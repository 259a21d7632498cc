/**
 * The primary process of a node: owns the control plane (config store and
 * Admin API), forks `nginx_config.worker_processes` data-plane workers with
 * node:cluster, relays the store to them, and supervises them:
 *
 * - a worker that exits unexpectedly is replaced (with backoff);
 * - a worker whose event loop stops sending heartbeats for
 *   `fngate.worker_watchdog_timeout` seconds is killed and replaced, and the
 *   cause is logged (a runaway user function must not take the node down);
 * - SIGTERM / SIGINT drain: workers stop accepting and finish in-flight
 *   requests within `worker_shutdown_timeout`, then the store is closed.
 */
import cluster, { type Worker } from 'node:cluster';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../log.js';
import type { FngateConfig } from '../config/types.js';
import { loadConfig } from '../config/load.js';
import { loadRegistry } from '../plugin/load-registry.js';
import { PluginHost } from '../plugin/plugin-host.js';
import { startControlPlane, type ControlPlane } from '../control-plane.js';
import { errorMessage } from '../errors.js';
import { VERSION } from '../version.js';
import { isWorkerMessage, type PrimaryMessage, type WorkerMessage } from './messages.js';
import { StoreRelay } from './store-relay.js';
import { LocalCounters, handleCounterMessage } from './counters.js';

/**
 * V8 flags for workers. A proxy allocates a lot of short-lived garbage per
 * request; with V8's default young generation, the gateway's larger heap made
 * V8 promote that garbage and scavenges took ~5 ms instead of ~1 ms, costing
 * ~20% throughput (measured with ../shared/bench's workload). Flags the user
 * sets through NODE_OPTIONS or execArgv win.
 */
const WORKER_V8_FLAGS = ['--max-semi-space-size=32'];

export interface PrimaryOptions {
  readonly config: FngateConfig;
  readonly logger: Logger;
}

interface WorkerState {
  readonly worker: Worker;
  readonly slot: number;
  readonly relay: StoreRelay;
  lastHeartbeat: number;
  ready: boolean;
  /** Set when we killed it on purpose (watchdog or shutdown): exit is expected. */
  reason: string | undefined;
}

function workerEntry(): { exec: string; execArgv: string[] } {
  // From sources (tsx) the worker is the .ts file and needs the same loader flags.
  const fromSource = import.meta.url.endsWith('.ts');
  const exec = fileURLToPath(new URL(fromSource ? './worker-main.ts' : './worker-main.js', import.meta.url));
  const present = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)];
  const extra = WORKER_V8_FLAGS.filter((flag) => !present.some((arg) => arg.startsWith(flag.split('=')[0] as string)));
  return { exec, execArgv: [...process.execArgv, ...extra] };
}

/**
 * Run the node until it is told to stop; resolves with the exit code.
 *
 * @example
 *   process.exitCode = await runPrimary({ config, logger });
 */
export async function runPrimary(options: PrimaryOptions): Promise<number> {
  const { config, logger } = options;
  const workerCount = config.nginx_config.worker_processes;
  let control: ControlPlane;
  let pluginConfig = config;
  let reloadSeq = 0;
  const pendingReloads = new Map<number, { left: number; errors: string[]; done: () => void }>();
  try {
    const plugins = new PluginHost(await loadRegistry(config, logger, { fresh: false }), logger.child({ module: 'plugins' }));
    control = await startControlPlane({ config, logger, plugins, reloadPlugins: () => reloadPlugins(plugins) });
  } catch (err) {
    logger.fatal({ err: errorMessage(err), code: (err as { code?: string }).code }, 'fngate failed to start');
    return 1;
  }

  // Workers accept connections themselves (like nginx workers), so the
  // primary is never in the request path.
  cluster.schedulingPolicy = cluster.SCHED_NONE;
  cluster.setupPrimary({ ...workerEntry(), serialization: 'advanced' });

  const workers = new Map<number, WorkerState>();
  // The node's shared counters (limit-count local policy): workers increment them over IPC.
  const counters = new LocalCounters();
  let stopping = false;
  let started = false;
  let respawnDelayMs = 100;

  const watchdogMs = config.fngate.worker_watchdog_timeout * 1000;

  function fork(slot: number): WorkerState {
    const worker = cluster.fork({ FNGATE_WORKER_SLOT: String(slot) });
    const state: WorkerState = {
      worker,
      slot,
      relay: new StoreRelay(control.store, { isConnected: () => worker.isConnected(), send: (m: PrimaryMessage) => worker.send(m) }, logger),
      lastHeartbeat: Date.now(),
      ready: false,
      reason: undefined,
    };
    workers.set(worker.id, state);
    worker.on('message', (message: unknown) => {
      if (!isWorkerMessage(message)) return;
      onWorkerMessage(state, message);
    });
    worker.on('exit', (code, signal) => onWorkerExit(state, code, signal));
    return state;
  }

  /**
   * `PUT /apisix/admin/plugins/reload` (spec/plugins.md §7): re-read the
   * plugin settings of config.yaml, load plugin code fresh from disk, and
   * have every worker do the same; resolves when all have.
   */
  async function reloadPlugins(host: PluginHost): Promise<void> {
    const reread = config.configPath ? await loadConfig(config.configPath, { logger }) : config;
    pluginConfig = {
      ...config,
      plugins: reread.plugins,
      plugin_attr: reread.plugin_attr,
      fngate: { ...config.fngate, custom_plugin_dirs: reread.fngate.custom_plugin_dirs },
    };
    await host.replace(await loadRegistry(pluginConfig, logger, { fresh: true }), false);
    const id = ++reloadSeq;
    const targets = [...workers.values()].filter((w) => w.ready && w.worker.isConnected());
    if (targets.length === 0) return;
    const errors = await new Promise<string[]>((resolve) => {
      const entry = { left: targets.length, errors: [] as string[], done: () => resolve(entry.errors) };
      pendingReloads.set(id, entry);
      for (const target of targets) target.worker.send({ t: 'plugins.reload', id, config: pluginConfig } satisfies PrimaryMessage);
      // A worker that never answers must not hang the Admin API; the watchdog deals with it.
      setTimeout(() => {
        if (pendingReloads.delete(id)) resolve([...entry.errors, `${entry.left} worker(s) did not confirm the reload in time`]);
      }, 30_000).unref();
    });
    pendingReloads.delete(id);
    logger.info({ plugins: host.list('http').length, errors }, 'plugins reloaded');
    if (errors.length > 0) throw new Error(`plugin reload failed on some workers: ${errors.join('; ')}`);
  }

  function onWorkerMessage(state: WorkerState, message: WorkerMessage): void {
    state.lastHeartbeat = Date.now();
    if (handleCounterMessage(message, counters, state.worker)) return;
    if (state.relay.handle(message)) return;
    if (message.t === 'plugins.reloaded') {
      const pending = pendingReloads.get(message.id);
      if (!pending) return;
      if (message.error) pending.errors.push(message.error);
      if (--pending.left === 0) pending.done();
    } else if (message.t === 'hello') {
      // Asked for, not pushed on 'online': an ES module worker may not be listening yet then.
      // A worker started after a plugin reload gets the reloaded plugin settings.
      state.worker.send({ t: 'config', config: pluginConfig, prefix: control.prefix } satisfies PrimaryMessage);
    } else if (message.t === 'ready') {
      state.ready = true;
      respawnDelayMs = 100;
      logger.info({ worker: state.worker.process.pid, slot: state.slot }, 'worker ready');
      maybeStarted();
    }
  }

  let readyResolve: ((ok: boolean) => void) | undefined;
  const allReady = new Promise<boolean>((resolve) => { readyResolve = resolve; });
  function maybeStarted(): void {
    if (started) return;
    if ([...workers.values()].filter((w) => w.ready).length === workerCount) {
      started = true;
      readyResolve?.(true);
    }
  }

  function onWorkerExit(state: WorkerState, code: number | null, signal: string | null): void {
    workers.delete(state.worker.id);
    state.relay.close();
    if (stopping) return;
    if (!started) {
      // A worker that cannot start (port in use, bad config for the data plane) will not start on a retry either.
      logger.fatal({ worker: state.worker.process.pid, code, signal }, 'worker failed during start-up');
      readyResolve?.(false);
      return;
    }
    const cause = state.reason ?? `exited unexpectedly (code ${code ?? 'none'}, signal ${signal ?? 'none'})`;
    logger.error({ worker: state.worker.process.pid, slot: state.slot, cause }, 'worker replaced');
    const delay = respawnDelayMs;
    respawnDelayMs = Math.min(respawnDelayMs * 2, 5_000);
    setTimeout(() => {
      if (!stopping) fork(state.slot);
    }, delay).unref();
  }

  // Watchdog: a worker stuck in a loop cannot answer anything; replace it.
  const watchdog = setInterval(() => {
    const now = Date.now();
    for (const state of workers.values()) {
      if (state.reason !== undefined || !state.ready) continue;
      const silentMs = now - state.lastHeartbeat;
      if (silentMs > watchdogMs) {
        state.reason = `event loop stalled for ${Math.round(silentMs)} ms (watchdog timeout ${watchdogMs} ms)`;
        logger.error({ worker: state.worker.process.pid, slot: state.slot, silent_ms: silentMs }, 'worker watchdog: event loop stalled; killing the worker');
        state.worker.process.kill('SIGKILL');
      }
    }
  }, Math.min(1_000, Math.max(100, watchdogMs / 4)));
  watchdog.unref();

  for (let slot = 0; slot < workerCount; slot++) fork(slot);

  const exitCode = new Promise<number>((resolveExit) => {
    const shutdown = async (signal: string, code: number) => {
      if (stopping) {
        logger.warn({ signal }, 'second signal: exiting now');
        process.exit(1);
      }
      stopping = true;
      clearInterval(watchdog);
      const timeoutMs = config.nginx_config.worker_shutdown_timeout * 1000;
      logger.info({ signal, workers: workers.size, timeout_s: config.nginx_config.worker_shutdown_timeout }, 'stopping');
      const exits = [...workers.values()].map((state) => new Promise<void>((done) => {
        if (state.worker.isDead()) return done();
        state.worker.once('exit', () => done());
        state.reason = 'shutdown';
        try {
          state.worker.send({ t: 'shutdown', timeoutMs } satisfies PrimaryMessage);
        } catch {
          state.worker.process.kill('SIGTERM');
        }
        // Workers bound their own drain; this is the backstop.
        setTimeout(() => state.worker.process.kill('SIGKILL'), timeoutMs + 2_000).unref();
      }));
      await Promise.all([Promise.all(exits), control.admin?.close(timeoutMs)]);
      await control.close(0).catch((err: unknown) => logger.error({ err: errorMessage(err) }, 'error closing the store'));
      counters.close();
      logger.info('fngate stopped');
      resolveExit(code);
    };
    process.on('SIGTERM', () => void shutdown('SIGTERM', 0));
    process.on('SIGINT', () => void shutdown('SIGINT', 0));
    void allReady.then((ok) => {
      if (ok) {
        logger.info({
          proxy: config.apisix.node_listen.map((a) => `${a.ip}:${a.port}`),
          admin: control.admin?.bound.map((a) => `${a.ip}:${a.port}`),
          workers: workerCount,
          config_provider: config.deployment.config_provider,
          store: control.store.backend,
          version: VERSION,
        }, 'fngate started');
      } else {
        void shutdown('start-up failure', 1);
      }
    });
  });
  return exitCode;
}
