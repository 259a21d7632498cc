/**
 * Entry point of a data-plane worker process (forked by the primary).
 *
 * Waits for its configuration, follows the config store through the
 * primary, serves proxy traffic, beats for the watchdog, and drains when
 * told to stop (by the primary, or by SIGTERM/SIGINT sent to the whole
 * process group). If the primary disappears, the worker exits.
 */
import { createLogger, type Logger } from '../log.js';
import { loadRegistry } from '../plugin/load-registry.js';
import { PluginHost } from '../plugin/plugin-host.js';
import { configureServerless } from '../plugins/serverless/settings.js';
import { startDataPlane, type DataPlane } from '../data-plane.js';
import { errorMessage } from '../errors.js';
import { RemoteStore, type IpcChannel } from './remote-store.js';
import { createSharedCounters, type CounterChannel, type WorkerCounters } from './counters.js';
import { HEARTBEAT_INTERVAL_MS, isPrimaryMessage, type PrimaryMessage, type WorkerMessage } from './messages.js';
import { sendFinalReport, watchProxyConnections, workerMetricsReport } from '../plugins/prometheus/worker-metrics.js';

const channel: IpcChannel = { send: (m: WorkerMessage) => process.send?.(m) };
const store = new RemoteStore(channel);
// Counters shared by the node's workers (limit-count local policy), held by the primary.
const counterChannel: CounterChannel = { send: (m: WorkerMessage) => process.send?.(m), isConnected: () => process.connected };
let counters: WorkerCounters | undefined;
let logger: Logger | undefined;
let dataPlane: DataPlane | undefined;
let stopping = false;

async function stop(timeoutMs: number, code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  try {
    await dataPlane?.close(timeoutMs);
  } catch (err) {
    logger?.error({ err: errorMessage(err) }, 'error while draining');
  }
  // Prometheus: the counts of the requests this worker served stay in the node's totals.
  await sendFinalReport((m, done) => process.send?.(m, undefined, undefined, done), process.connected);
  await store.close();
  counters?.close();
  process.exit(code);
}

async function start(message: Extract<PrimaryMessage, { t: 'config' }>): Promise<void> {
  const { config, prefix } = message;
  logger = createLogger({ level: config.fngate.log_level }).child({ worker: process.env.FNGATE_WORKER_SLOT });
  try {
    // User functions' sandbox and watchdog report (fngate.serverless), before any configuration compiles.
    await configureServerless(config, { role: 'worker', logger, logBindings: { name: 'fngate', pid: process.pid, worker: process.env.FNGATE_WORKER_SLOT } });
    const host = new PluginHost(await loadRegistry(config, logger, { fresh: false }), logger.child({ module: 'plugins' }));
    await host.activate(config.plugin_attr);
    counters = createSharedCounters(config.nginx_config.worker_processes, counterChannel, { logger: logger.child({ module: 'counters' }) });
    dataPlane = await startDataPlane({ config, store, prefix, plugins: host, counters, logger });
    // Prometheus: connection gauges and the request total of the proxy listeners.
    if (host.has('prometheus')) watchProxyConnections(dataPlane.proxy.servers);
  } catch (err) {
    logger.fatal({ err: errorMessage(err), code: (err as { code?: string }).code }, 'worker failed to start');
    process.exit(1);
  }
  // The heartbeat proves the event loop turns; the primary's watchdog acts on silence.
  // Sent only while connected: once the primary is gone, Node would raise ERR_IPC_CHANNEL_CLOSED.
  setInterval(() => {
    if (process.connected) channel.send({ t: 'heartbeat', revision: dataPlane?.source().current().revision });
  }, HEARTBEAT_INTERVAL_MS);
  channel.send({ t: 'ready', proxy: dataPlane.proxy.bound });
  const timeoutMs = config.nginx_config.worker_shutdown_timeout * 1000;
  process.on('SIGTERM', () => void stop(timeoutMs, 0));
  process.on('SIGINT', () => void stop(timeoutMs, 0));
}

/** Hot plugin reload: new registry (fresh modules), full re-read of the store. */
async function reloadPlugins(id: number, config: Extract<PrimaryMessage, { t: 'plugins.reload' }>['config']): Promise<void> {
  try {
    if (!dataPlane || !logger) throw new Error('worker not started');
    const registry = await loadRegistry(config, logger, { fresh: true });
    await dataPlane.reloadPlugins(registry, config.plugin_attr);
    channel.send({ t: 'plugins.reloaded', id });
  } catch (err) {
    logger?.error({ err: errorMessage(err) }, 'plugin reload failed');
    channel.send({ t: 'plugins.reloaded', id, error: errorMessage(err) });
  }
}

process.on('message', (message: unknown) => {
  if (!isPrimaryMessage(message)) return;
  switch (message.t) {
    case 'config':
      if (!dataPlane && !logger) void start(message);
      return;
    case 'plugins.reload':
      void reloadPlugins(message.id, message.config);
      return;
    case 'shutdown':
      void stop(message.timeoutMs, 0);
      return;
    case 'counter.result':
    case 'counter.error':
      counters?.receive(message);
      return;
    case 'metrics.scrape':
      channel.send({ t: 'metrics.report', id: message.id, report: workerMetricsReport() ?? null });
      return;
    default:
      store.receive(message);
  }
});

// Before the config arrives, a signal simply ends the process.
process.on('SIGTERM', () => { if (!dataPlane) process.exit(0); });
process.on('SIGINT', () => { if (!dataPlane) process.exit(0); });
// The primary is gone: nobody can supervise or update this worker any more.
process.on('disconnect', () => void stop(1_000, 1));
channel.send({ t: 'hello' });
