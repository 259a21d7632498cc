/**
 * The primary process of a node: owns the control plane (config store and
 * Admin API), runs `nginx_config.worker_processes` data-plane workers
 * through the supervisor, holds the node's shared counters, and answers
 * signals:
 *
 * - SIGTERM / SIGINT: drain (workers stop accepting and finish in-flight
 *   requests within `worker_shutdown_timeout`), close the store, exit;
 * - SIGHUP (`fngate reload`): re-read config.yaml and replace the workers
 *   one at a time, so no request fails;
 * - `PUT /apisix/admin/plugins/reload`: reload plugins in every worker.
 *
 * It also serves the status endpoint (`apisix.control`, loopback) and
 * writes the pid file `fngate stop` / `fngate reload` use.
 */
import cluster from 'node:cluster';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../log.js';
import type { FngateConfig } from '../config/types.js';
import type { RunningListeners } from '../http/listeners.js';
import { loadConfig } from '../config/load.js';
import { loadRegistry } from '../plugin/load-registry.js';
import { PluginHost } from '../plugin/plugin-host.js';
import { configureServerless, workerNodeFlags } from '../plugins/serverless/settings.js';
import { startControlPlane, type ControlPlane } from '../control-plane.js';
import { errorMessage } from '../errors.js';
import { VERSION } from '../version.js';
import type { PrimaryMessage } from './messages.js';
import { LocalCounters, handleCounterMessage } from './counters.js';
import { LocalLeakyBuckets } from '../plugins/limit/leaky-bucket.js';
import { WorkerSupervisor } from './supervisor.js';
import { StoreMirror } from './store-mirror.js';
import type { ConfigStore } from '../store/types.js';
import { startStatusServer, type NodeStatus } from './status-server.js';
import { removePidFile, writePidFile } from './pid-file.js';
import { createPrometheusExporter } from '../plugins/prometheus/exporter.js';
import { workerV8Flags } from './worker-flags.js';

export interface PrimaryOptions {
  readonly config: FngateConfig;
  readonly logger: Logger;
}

function workerEntry(): { exec: string; execArgv: string[] } {
  // From sources (tsx) the worker is the .ts file and needs the same loader flags.
  const fromSource = import.meta.url.endsWith('.ts');
  const exec = fileURLToPath(new URL(fromSource ? './worker-main.ts' : './worker-main.js', import.meta.url));
  const present = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)];
  return { exec, execArgv: [...process.execArgv, ...workerV8Flags(present)] };
}

/** Parts of a reloaded config.yaml that only a restart applies (they belong to the primary). */
function restartOnlyChanges(before: FngateConfig, after: FngateConfig): string[] {
  const changed: string[] = [];
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  if (!same(before.deployment, after.deployment)) changed.push('deployment');
  if (!same(before.apisix.enable_admin, after.apisix.enable_admin)) changed.push('apisix.enable_admin');
  if (!same(before.apisix.control, after.apisix.control) || before.apisix.enable_control !== after.apisix.enable_control) changed.push('apisix.control');
  if (before.fngate.data_dir !== after.fngate.data_dir) changed.push('fngate.data_dir');
  // Workers are started with sandbox-specific V8 flags chosen at start.
  if (!same(before.fngate.serverless, after.fngate.serverless)) changed.push('fngate.serverless');
  return changed;
}

/**
 * Run the node until it is told to stop; resolves with the exit code.
 *
 * @example
 *   process.exitCode = await runPrimary({ config, logger });
 */
export async function runPrimary(options: PrimaryOptions): Promise<number> {
  const { config, logger } = options;
  const startedAt = new Date().toISOString();
  let control: ControlPlane;
  let plugins: PluginHost;
  let workerStore: ConfigStore;
  try {
    // The Admin API runs user functions' top-level code when it validates them (fngate.serverless).
    await configureServerless(config, { role: 'primary', logger });
    plugins = new PluginHost(await loadRegistry(config, logger, { fresh: false }), logger.child({ module: 'plugins' }));
    control = await startControlPlane({ config, logger, plugins, reloadPlugins: () => reloadPlugins() });
    // Workers read a copy of a remote store kept by the primary, so they never depend on etcd being up.
    workerStore = control.store.backend === 'etcd'
      ? await StoreMirror.start(control.store, `${control.prefix}/`, logger.child({ module: 'mirror' }))
      : control.store;
  } catch (err) {
    logger.fatal({ err: errorMessage(err), code: (err as { code?: string }).code }, 'fngate failed to start');
    return 1;
  }

  // Workers accept connections themselves (like nginx workers), so the
  // primary is never in the request path.
  cluster.schedulingPolicy = cluster.SCHED_NONE;
  const entry = workerEntry();
  // isolated-vm needs --no-node-snapshot in the workers that run functions (fngate.serverless.sandbox).
  cluster.setupPrimary({ ...entry, execArgv: [...entry.execArgv, ...workerNodeFlags(config)], serialization: 'advanced' });

  // The node's shared counters and leaky buckets (limit-count's and limit-req's local policy), used by workers over IPC.
  const nodeCounters = { counters: new LocalCounters(), buckets: new LocalLeakyBuckets() };
  // Prometheus: the workers' metrics, added up when the export server is scraped (plugin_attr.prometheus).
  const prometheus = createPrometheusExporter({
    config,
    configStore: control.store,
    workerStore,
    storePrefix: control.prefix,
    workers: () => Object.values(cluster.workers ?? {}).flatMap((w) => (w ? [w] : [])),
    logger: logger.child({ module: 'prometheus' }),
  });
  if (prometheus) cluster.on('exit', (worker) => prometheus.workerExited(worker.id));
  let reloadSeq = 0;
  const pendingReloads = new Map<number, { left: number; errors: string[]; done: () => void }>();
  const supervisor = new WorkerSupervisor(config, {
    store: workerStore,
    prefix: control.prefix,
    logger,
    watchdogSeconds: config.fngate.worker_watchdog_timeout,
    onMessage(handle, message) {
      if (handleCounterMessage(message, nodeCounters, handle.worker)) return true;
      if (prometheus?.handle(handle.worker, message)) return true;
      if (message.t === 'plugins.reloaded') {
        const pending = pendingReloads.get(message.id);
        if (!pending) return true;
        if (message.error) pending.errors.push(message.error);
        if (--pending.left === 0) pending.done();
        return true;
      }
      return false;
    },
  });

  /**
   * `PUT /apisix/admin/plugins/reload` (spec/plugins.md §7): re-read the
   * plugin settings of config.yaml, load plugin code fresh from disk, and
   * have every worker do the same; resolves when all have.
   */
  async function reloadPlugins(): Promise<void> {
    const current = supervisor.config;
    const reread = current.configPath ? await loadConfig(current.configPath, { logger }) : current;
    const next: FngateConfig = {
      ...current,
      plugins: reread.plugins,
      plugin_attr: reread.plugin_attr,
      fngate: { ...current.fngate, custom_plugin_dirs: reread.fngate.custom_plugin_dirs },
    };
    await plugins.replace(await loadRegistry(next, logger, { fresh: true }), false);
    // Workers started from now on (respawns) get the reloaded settings.
    supervisor.setConfig(next);
    const targets = supervisor.ready();
    if (targets.length === 0) return;
    const id = ++reloadSeq;
    const errors = await new Promise<string[]>((resolve) => {
      const entry = { left: targets.length, errors: [] as string[], done: () => resolve(entry.errors) };
      pendingReloads.set(id, entry);
      for (const target of targets) target.worker.send({ t: 'plugins.reload', id, config: next } satisfies PrimaryMessage);
      // A worker that never answers must not hang the Admin API; the watchdog deals with it.
      setTimeout(() => {
        if (pendingReloads.delete(id)) resolve([...entry.errors, `${entry.left} worker(s) did not confirm the reload in time`]);
      }, 30_000).unref();
    });
    pendingReloads.delete(id);
    logger.info({ plugins: plugins.list('http').length, errors }, 'plugins reloaded');
    if (errors.length > 0) throw new Error(`plugin reload failed on some workers: ${errors.join('; ')}`);
  }

  /** SIGHUP: re-read config.yaml and roll the workers onto it, one at a time. */
  let reloading: Promise<void> | undefined;
  async function reloadNode(): Promise<void> {
    if (!config.configPath) return;
    let next: FngateConfig;
    try {
      const reread = await loadConfig(config.configPath, { logger });
      // Keys the primary resolved at start (the generated admin key) and the
      // sandbox the workers' flags were chosen for stay as they are.
      next = { ...reread, deployment: config.deployment, fngate: { ...reread.fngate, serverless: config.fngate.serverless } };
    } catch (err) {
      logger.error({ err: errorMessage(err) }, 'reload refused: config.yaml is invalid; the node keeps running as it was');
      return;
    }
    const restartOnly = restartOnlyChanges(config, next);
    if (restartOnly.length > 0) logger.warn({ keys: restartOnly }, 'these settings change only with a restart; applying the rest');
    logger.info({ workers: next.nginx_config.worker_processes }, 'reloading: replacing workers one at a time');
    await plugins.replace(await loadRegistry(next, logger, { fresh: true }), false);
    await supervisor.rollingReplace(next);
    logger.info('reload complete');
  }

  function nodeStatus(): NodeStatus {
    const store = control.store as { isConnected?: () => boolean; lastError?: () => string | undefined; lastRevision?: () => number | undefined };
    const connected = store.isConnected?.() ?? true;
    const workers = supervisor.status();
    return {
      version: VERSION,
      config_provider: config.deployment.config_provider,
      store: {
        backend: control.store.backend,
        connected,
        last_error: store.lastError?.(),
        last_revision: store.lastRevision?.() ?? Math.max(0, ...workers.map((w) => w.revision ?? 0)),
      },
      workers: { configured: supervisor.config.nginx_config.worker_processes, ready: workers.filter((w) => w.ready).length, list: workers },
      status: connected ? 'ok' : 'degraded',
      started_at: startedAt,
    };
  }

  let statusServer: RunningListeners | undefined;
  const stopped = new Promise<number>((resolveExit) => {
    let stopping = false;
    const shutdown = async (signal: string, code: number) => {
      if (stopping) {
        logger.warn({ signal }, 'second signal: exiting now');
        process.exit(1);
      }
      stopping = true;
      const timeoutMs = supervisor.config.nginx_config.worker_shutdown_timeout * 1000;
      logger.info({ signal, timeout_s: timeoutMs / 1000 }, 'stopping');
      await Promise.all([supervisor.stop(timeoutMs), control.admin?.close(timeoutMs), statusServer?.close(1_000), prometheus?.close()]);
      if (workerStore !== control.store) await workerStore.close();
      await control.close(0).catch((err: unknown) => logger.error({ err: errorMessage(err) }, 'error closing the store'));
      nodeCounters.counters.close();
      nodeCounters.buckets.close();
      removePidFile(config.fngate.data_dir);
      logger.info('fngate stopped');
      resolveExit(code);
    };
    process.on('SIGTERM', () => void shutdown('SIGTERM', 0));
    process.on('SIGINT', () => void shutdown('SIGINT', 0));
    process.on('SIGHUP', () => {
      if (stopping) return;
      reloading ??= reloadNode()
        .catch((err: unknown) => logger.error({ err: errorMessage(err) }, 'reload failed'))
        .finally(() => { reloading = undefined; });
    });

    void (async () => {
      const ok = await supervisor.start();
      if (supervisor.stopping) return; // told to stop while starting: the shutdown is under way
      if (!ok) {
        void shutdown('start-up failure', 1);
        return;
      }
      if (config.apisix.enable_control) {
        try {
          statusServer = await startStatusServer({ address: config.apisix.control, status: nodeStatus, logger });
        } catch (err) {
          logger.error({ err: errorMessage(err), address: config.apisix.control }, 'status endpoint not available');
        }
      }
      await prometheus?.start();
      writePidFile(config.fngate.data_dir);
      logger.info({
        proxy: config.apisix.node_listen.map((a) => `${a.ip}:${a.port}`),
        admin: control.admin?.bound.map((a) => `${a.ip}:${a.port}`),
        control: statusServer?.bound.map((a) => `${a.ip}:${a.port}`),
        prometheus: prometheus?.bound.map((a) => `${a.ip}:${a.port}`),
        workers: config.nginx_config.worker_processes,
        config_provider: config.deployment.config_provider,
        store: control.store.backend,
        version: VERSION,
      }, 'fngate started');
    })();
  });
  return stopped;
}
