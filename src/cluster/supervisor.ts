/**
 * The primary's worker pool: forks data-plane workers (node:cluster),
 * replaces those that exit or whose event loop stalls (watchdog), replaces
 * all of them one at a time on a reload, and drains them on stop.
 */
import cluster, { type Worker } from 'node:cluster';
import type { Logger } from '../log.js';
import type { FngateConfig } from '../config/types.js';
import type { ConfigStore } from '../store/types.js';
import { isWorkerMessage, type PrimaryMessage, type WorkerMessage } from './messages.js';
import { StoreRelay } from './store-relay.js';
import type { WorkerStatus } from './status-server.js';

export interface WorkerHandle {
  readonly worker: Worker;
  readonly slot: number;
  readonly relay: StoreRelay;
  /** The configuration this worker was started with. */
  readonly config: FngateConfig;
  lastHeartbeat: number;
  ready: boolean;
  /** Revision of the snapshot the worker reported serving. */
  revision: number | undefined;
  /** Set when the primary ended the worker on purpose (watchdog, reload, stop): its exit is expected. */
  reason: string | undefined;
}

export interface SupervisorOptions {
  readonly store: ConfigStore;
  readonly prefix: string;
  readonly logger: Logger;
  /** Seconds a worker's event loop may stay silent before it is killed. */
  readonly watchdogSeconds: number;
  /** Worker messages that are not the supervisor's own (counters, plugin reload answers). */
  readonly onMessage: (handle: WorkerHandle, message: WorkerMessage) => boolean;
}

/** How long a new worker may take to become ready during a rolling reload. */
const READY_TIMEOUT_MS = 30_000;

export class WorkerSupervisor {
  readonly #options: SupervisorOptions;
  readonly #workers = new Map<number, WorkerHandle>();
  /** The configuration new and respawned workers get. */
  #config: FngateConfig;
  #stopping = false;
  #respawnDelayMs = 100;
  #watchdog: NodeJS.Timeout | undefined;
  /** Resolvers waiting for a worker id to become ready (or to fail to). */
  readonly #readyWaiters = new Map<number, (ready: boolean) => void>();

  constructor(config: FngateConfig, options: SupervisorOptions) {
    this.#config = config;
    this.#options = options;
  }

  get config(): FngateConfig {
    return this.#config;
  }

  /** True once `stop()` was called. */
  get stopping(): boolean {
    return this.#stopping;
  }

  /** Fork the configured number of workers; resolves false if one fails during start-up. */
  async start(): Promise<boolean> {
    this.#startWatchdog();
    const count = this.#config.nginx_config.worker_processes;
    const results = await Promise.all(Array.from({ length: count }, (_, slot) => this.#forkAndWait(slot, this.#config)));
    return results.every(Boolean);
  }

  /** Workers for the status endpoint. */
  status(): WorkerStatus[] {
    return [...this.#workers.values()]
      .filter((h) => h.reason === undefined)
      .sort((a, b) => a.slot - b.slot)
      .map((h) => ({ pid: h.worker.process.pid, slot: h.slot, ready: h.ready, revision: h.revision }));
  }

  /** Live, ready workers. */
  ready(): WorkerHandle[] {
    return [...this.#workers.values()].filter((h) => h.ready && h.reason === undefined && h.worker.isConnected());
  }

  /** Change the configuration respawned workers get, without replacing the running ones. */
  setConfig(config: FngateConfig): void {
    this.#config = config;
  }

  /**
   * Zero-downtime reload: for each slot, start a worker with `config`, wait
   * until it serves, then drain the old one. The listening socket stays open
   * throughout (node:cluster shares it), so no connection is refused. A new
   * worker that does not become ready aborts the reload and keeps the rest.
   */
  async rollingReplace(config: FngateConfig): Promise<void> {
    this.#config = config;
    const old = [...this.#workers.values()].filter((h) => h.reason === undefined).sort((a, b) => a.slot - b.slot);
    const count = config.nginx_config.worker_processes;
    for (let slot = 0; slot < Math.max(count, old.length); slot++) {
      if (this.#stopping) return;
      const previous = old.find((h) => h.slot === slot);
      if (slot < count) {
        const ok = await this.#forkAndWait(slot, config);
        if (!ok) throw new Error(`reload aborted: the new worker for slot ${slot} did not become ready`);
      }
      if (previous) await this.#drain(previous, 'reload');
    }
  }

  /** Drain every worker within `timeoutMs` (plus a short backstop), then resolve. */
  async stop(timeoutMs: number): Promise<void> {
    this.#stopping = true;
    if (this.#watchdog) clearInterval(this.#watchdog);
    await Promise.all([...this.#workers.values()].map((h) => this.#drain(h, 'shutdown', timeoutMs)));
  }

  #fork(slot: number, config: FngateConfig): WorkerHandle {
    const worker = cluster.fork({ FNGATE_WORKER_SLOT: String(slot) });
    const handle: WorkerHandle = {
      worker,
      slot,
      config,
      relay: new StoreRelay(this.#options.store, { isConnected: () => worker.isConnected(), send: (m: PrimaryMessage) => worker.send(m) }, this.#options.logger),
      lastHeartbeat: Date.now(),
      ready: false,
      revision: undefined,
      reason: undefined,
    };
    this.#workers.set(worker.id, handle);
    worker.on('message', (message: unknown) => {
      if (isWorkerMessage(message)) this.#onMessage(handle, message);
    });
    worker.on('exit', (code, signal) => this.#onExit(handle, code, signal));
    return handle;
  }

  #forkAndWait(slot: number, config: FngateConfig): Promise<boolean> {
    const handle = this.#fork(slot, config);
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        this.#readyWaiters.delete(handle.worker.id);
        this.#options.logger.error({ slot, pid: handle.worker.process.pid }, 'worker did not become ready in time');
        handle.reason = 'not ready in time';
        handle.worker.process.kill('SIGKILL');
        resolve(false);
      }, READY_TIMEOUT_MS);
      timer.unref();
      this.#readyWaiters.set(handle.worker.id, (ready) => {
        clearTimeout(timer);
        resolve(ready);
      });
    });
  }

  #onMessage(handle: WorkerHandle, message: WorkerMessage): void {
    handle.lastHeartbeat = Date.now();
    if (handle.relay.handle(message)) return;
    switch (message.t) {
      case 'hello':
        // Asked for, not pushed on 'online': an ES module worker may not be listening yet then.
        handle.worker.send({ t: 'config', config: handle.config, prefix: this.#options.prefix } satisfies PrimaryMessage);
        return;
      case 'ready':
        handle.ready = true;
        this.#respawnDelayMs = 100;
        this.#options.logger.info({ worker: handle.worker.process.pid, slot: handle.slot }, 'worker ready');
        this.#readyWaiters.get(handle.worker.id)?.(true);
        this.#readyWaiters.delete(handle.worker.id);
        return;
      case 'heartbeat':
        if (message.revision !== undefined) handle.revision = message.revision;
        return;
      default:
        this.#options.onMessage(handle, message);
    }
  }

  #onExit(handle: WorkerHandle, code: number | null, signal: string | null): void {
    this.#workers.delete(handle.worker.id);
    handle.relay.close();
    const waiter = this.#readyWaiters.get(handle.worker.id);
    if (waiter) {
      this.#readyWaiters.delete(handle.worker.id);
      // A worker that cannot start (port in use, bad data-plane config) will not start on a retry either.
      if (!this.#stopping) this.#options.logger.fatal({ worker: handle.worker.process.pid, code, signal }, 'worker failed during start-up');
      waiter(false);
      return;
    }
    if (this.#stopping || handle.reason === 'reload' || handle.reason === 'shutdown') return;
    const cause = handle.reason ?? `exited unexpectedly (code ${code ?? 'none'}, signal ${signal ?? 'none'})`;
    this.#options.logger.error({ worker: handle.worker.process.pid, slot: handle.slot, cause }, 'worker replaced');
    const delay = this.#respawnDelayMs;
    this.#respawnDelayMs = Math.min(this.#respawnDelayMs * 2, 5_000);
    setTimeout(() => {
      if (!this.#stopping) this.#fork(handle.slot, this.#config);
    }, delay).unref();
  }

  /** Ask a worker to drain and exit; SIGKILL after the timeout as a backstop. */
  #drain(handle: WorkerHandle, reason: 'reload' | 'shutdown', timeoutMs = handle.config.nginx_config.worker_shutdown_timeout * 1000): Promise<void> {
    return new Promise<void>((done) => {
      if (handle.worker.isDead()) {
        done();
        return;
      }
      handle.reason = reason;
      handle.worker.once('exit', () => done());
      try {
        handle.worker.send({ t: 'shutdown', timeoutMs } satisfies PrimaryMessage);
      } catch {
        handle.worker.process.kill('SIGTERM');
      }
      setTimeout(() => handle.worker.process.kill('SIGKILL'), timeoutMs + 2_000).unref();
    });
  }

  /** A worker stuck in a loop cannot answer anything: kill it; `#onExit` replaces it. */
  #startWatchdog(): void {
    const watchdogMs = this.#options.watchdogSeconds * 1000;
    this.#watchdog = setInterval(() => {
      const now = Date.now();
      for (const handle of this.#workers.values()) {
        if (handle.reason !== undefined || !handle.ready) continue;
        const silentMs = now - handle.lastHeartbeat;
        if (silentMs <= watchdogMs) continue;
        handle.reason = `event loop stalled for ${Math.round(silentMs)} ms (watchdog timeout ${watchdogMs} ms)`;
        this.#options.logger.error(
          { worker: handle.worker.process.pid, slot: handle.slot, silent_ms: silentMs },
          'worker watchdog: event loop stalled; killing the worker',
        );
        handle.worker.process.kill('SIGKILL');
      }
    }, Math.min(1_000, Math.max(100, watchdogMs / 4)));
    this.#watchdog.unref();
  }
}
