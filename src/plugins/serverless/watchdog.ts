/**
 * The watchdog report: when a worker's event loop stalls, say which user
 * function was running — route, plugin and function — before the primary's
 * watchdog (`fngate.worker_watchdog_timeout`, src/cluster/primary.ts) kills
 * and replaces the worker.
 *
 * A stalled event loop cannot log anything itself, so the report comes from
 * a small `worker_threads` monitor inside the worker:
 *
 * - before each call the main thread stores the function's id and the
 *   route's number in shared memory (one `Atomics.store`, ~10 ns per call
 *   with the rest), and a timer bumps a heartbeat counter while the loop
 *   turns;
 * - what an id or a route number stands for is sent to the monitor once,
 *   when the function is compiled or the route first seen — never per request;
 * - the monitor polls the heartbeat; when it has not moved for `stallMs` it
 *   writes one JSON log line with `fs.writeSync` (the gateway's log format),
 *   naming the running function, or the last one entered when none is
 *   running (a loop after an `await`, or in the gateway itself).
 *
 * The monitor starts with the first compiled function, so a worker without
 * user functions pays nothing.
 */
import { Worker } from 'node:worker_threads';
import type { CallHooks, FunctionLabel } from '../../plugin/user-function.js';

/** Slots of the shared Int32Array. */
const RUNNING = 0; // id of the function in its synchronous part; -id once it returned (the last one entered)
const ROUTE = 1; // number of the route of that call (0: none)
const BEAT = 2; // bumped by the event loop while it turns
const SLOT_COUNT = 3;

export interface WatchdogOptions {
  /** Report once the event loop has not turned for this many milliseconds. */
  readonly stallMs: number;
  /** File descriptor the report is written to (default 1, where pino writes the gateway's log). */
  readonly fd?: number;
  /** Fields every report line carries (`name`, `pid`, `worker`), as the gateway's log lines do. */
  readonly bindings?: Readonly<Record<string, unknown>>;
}

/** Messages to the monitor thread. */
type MonitorMessage =
  | { readonly t: 'fn'; readonly id: number; readonly plugin: string | undefined; readonly function: string }
  | { readonly t: 'route'; readonly n: number; readonly id: string }
  | { readonly t: 'routes-reset' };

/**
 * Route numbers kept before starting over: route ids that come and go (generated
 * ids, churn) must not grow the maps forever. After a reset a report may, at
 * worst, lack the route of a call that started before it.
 */
const MAX_ROUTES = 65_536;

/**
 * The monitor thread's code. A string run with `eval: true`, so it works the
 * same from the built JavaScript and from the TypeScript sources; it is
 * plain ES2022 with no imports beyond Node's own modules.
 */
const MONITOR_SOURCE = `
'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const { writeSync } = require('node:fs');
const slots = new Int32Array(workerData.buffer);
const functions = new Map();
const routes = new Map();
parentPort.on('message', (m) => {
  if (m.t === 'fn') functions.set(m.id, { plugin: m.plugin, function: m.function });
  else if (m.t === 'route') routes.set(m.n, m.id);
  else if (m.t === 'routes-reset') routes.clear();
});
let beat = Atomics.load(slots, ${BEAT});
let beatAt = Date.now();
let reported = false;
function write(level, fields, msg) {
  const line = JSON.stringify({ level, time: Date.now(), ...workerData.bindings, module: 'serverless-watchdog', ...fields, msg });
  try { writeSync(workerData.fd, line + '\\n'); } catch { /* nowhere left to report */ }
}
setInterval(() => {
  const now = Date.now();
  const current = Atomics.load(slots, ${BEAT});
  if (current !== beat) {
    if (reported) write(30, { stalled_ms: now - beatAt }, 'event loop resumed');
    beat = current;
    beatAt = now;
    reported = false;
    return;
  }
  if (reported || now - beatAt < workerData.stallMs) return;
  reported = true;
  const running = Atomics.load(slots, ${RUNNING});
  const fn = functions.get(Math.abs(running));
  const where = { route: routes.get(Atomics.load(slots, ${ROUTE})), plugin: fn && fn.plugin, function: fn && fn.function };
  if (running > 0) {
    write(50, { stalled_ms: now - beatAt, ...where }, 'event loop stalled in a user function');
  } else {
    write(40, { stalled_ms: now - beatAt, last_entered: fn ? where : undefined }, 'event loop stalled outside user functions');
  }
}, workerData.checkMs);
`;

/**
 * @example
 *   const watchdog = new Watchdog({ stallMs: 5_000, bindings: { name: 'fngate', pid: process.pid } });
 *   const sandbox = createVmSandbox({ hooks: watchdog }); // every compiled function is now marked
 */
export class Watchdog implements CallHooks {
  readonly #slots = new Int32Array(new SharedArrayBuffer(SLOT_COUNT * Int32Array.BYTES_PER_ELEMENT));
  readonly #routes = new Map<string, number>();
  /** One id per label: recompiling the same function of a route (every update) adds nothing. */
  readonly #ids = new Map<string, number>();
  readonly #options: WatchdogOptions;
  #lastRouteId: string | undefined;
  #lastRoute = 0;
  #nextId = 0;
  #monitor: Worker | undefined;
  #heartbeat: NodeJS.Timeout | undefined;

  constructor(options: WatchdogOptions) {
    this.#options = options;
  }

  register(label: FunctionLabel): number {
    const key = `${label.plugin ?? ''}\n${label.function}`;
    let id = this.#ids.get(key);
    if (id === undefined) {
      id = ++this.#nextId;
      this.#ids.set(key, id);
      this.#send({ t: 'fn', id, plugin: label.plugin, function: label.function });
    }
    return id;
  }

  enter(id: number, routeId: string | undefined): void {
    // Consecutive calls are usually for the same route: one string compare, no lookup.
    if (routeId !== this.#lastRouteId) {
      this.#lastRoute = this.#routeNumber(routeId);
      this.#lastRouteId = routeId;
    }
    // One atomic store (~8 ns) per call: it also orders the plain route store before it, and
    // cannot be optimised away even when the function is inlined. Leaving is a plain store: the
    // monitor reads only after a stall of stallMs, long after any store became visible.
    this.#slots[ROUTE] = this.#lastRoute;
    Atomics.store(this.#slots, RUNNING, id);
  }

  leave(id: number): void {
    this.#slots[RUNNING] = -id;
  }

  /** Stop the monitor and the heartbeat (tests, shutdown). */
  async close(): Promise<void> {
    clearInterval(this.#heartbeat);
    this.#heartbeat = undefined;
    const monitor = this.#monitor;
    this.#monitor = undefined;
    await monitor?.terminate();
  }

  #routeNumber(routeId: string | undefined): number {
    if (routeId === undefined) return 0;
    let n = this.#routes.get(routeId);
    if (n === undefined) {
      if (this.#routes.size >= MAX_ROUTES) {
        this.#routes.clear();
        this.#send({ t: 'routes-reset' });
      }
      n = this.#routes.size + 1;
      this.#routes.set(routeId, n);
      this.#send({ t: 'route', n, id: routeId });
    }
    return n;
  }

  #send(message: MonitorMessage): void {
    this.#start().postMessage(message);
  }

  /** Start the monitor and the heartbeat with the first function. */
  #start(): Worker {
    if (this.#monitor) return this.#monitor;
    const checkMs = Math.max(10, Math.min(250, Math.floor(this.#options.stallMs / 4)));
    const monitor = new Worker(MONITOR_SOURCE, {
      eval: true,
      workerData: {
        buffer: this.#slots.buffer,
        stallMs: this.#options.stallMs,
        checkMs,
        fd: this.#options.fd ?? 1,
        bindings: this.#options.bindings ?? {},
      },
      // The monitor needs none of the gateway's loader flags (tsx) or V8 settings.
      execArgv: [],
      env: {},
      stdout: false,
      stderr: false,
    });
    // Neither the monitor nor the heartbeat may keep a worker alive that is meant to exit.
    monitor.unref();
    // A monitor that died only costs the report (messages to it are then dropped); the primary's watchdog still acts.
    monitor.on('error', () => undefined);
    this.#monitor = monitor;
    const slots = this.#slots;
    this.#heartbeat = setInterval(() => Atomics.add(slots, BEAT, 1), checkMs);
    this.#heartbeat.unref();
    return monitor;
  }
}
