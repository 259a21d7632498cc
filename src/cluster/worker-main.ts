/**
 * Entry point of a data-plane worker process (forked by the primary).
 *
 * Waits for its configuration, follows the config store through the
 * primary, serves proxy traffic, beats for the watchdog, and drains when
 * told to stop (by the primary, or by SIGTERM/SIGINT sent to the whole
 * process group). If the primary disappears, the worker exits.
 */
import { createLogger, type Logger } from '../log.js';
import { noPlugins } from '../plugin/catalog.js';
import { startDataPlane, type DataPlane } from '../data-plane.js';
import { errorMessage } from '../errors.js';
import { RemoteStore, type IpcChannel } from './remote-store.js';
import { HEARTBEAT_INTERVAL_MS, isPrimaryMessage, type PrimaryMessage, type WorkerMessage } from './messages.js';

const channel: IpcChannel = { send: (m: WorkerMessage) => process.send?.(m) };
const store = new RemoteStore(channel);
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
  await store.close();
  process.exit(code);
}

async function start(message: Extract<PrimaryMessage, { t: 'config' }>): Promise<void> {
  const { config, prefix } = message;
  logger = createLogger({ level: config.fngate.log_level }).child({ worker: process.env.FNGATE_WORKER_SLOT });
  try {
    dataPlane = await startDataPlane({ config, store, prefix, plugins: noPlugins, logger });
  } catch (err) {
    logger.fatal({ err: errorMessage(err), code: (err as { code?: string }).code }, 'worker failed to start');
    process.exit(1);
  }
  // The heartbeat proves the event loop turns; the primary's watchdog acts on silence.
  setInterval(() => channel.send({ t: 'heartbeat' }), HEARTBEAT_INTERVAL_MS);
  channel.send({ t: 'ready', proxy: dataPlane.proxy.bound });
  const timeoutMs = config.nginx_config.worker_shutdown_timeout * 1000;
  process.on('SIGTERM', () => void stop(timeoutMs, 0));
  process.on('SIGINT', () => void stop(timeoutMs, 0));
}

process.on('message', (message: unknown) => {
  if (!isPrimaryMessage(message)) return;
  switch (message.t) {
    case 'config':
      if (!dataPlane && !logger) void start(message);
      return;
    case 'shutdown':
      void stop(message.timeoutMs, 0);
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
