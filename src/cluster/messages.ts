/**
 * Messages between the primary process and its data-plane workers, over
 * node:cluster's IPC channel (structured-clone serialization). One union per
 * direction; every message has a `t` tag.
 */
import type { FngateConfig } from '../config/types.js';
import type { KeyValue, RangeResult, WatchBatch } from '../store/types.js';
import type { WorkerMetricsReport } from '../plugins/prometheus/families.js';

/** How often workers send a heartbeat to the primary's watchdog, ms. */
export const HEARTBEAT_INTERVAL_MS = 500;

/** An error crossing the channel: enough to rebuild the typed store errors. */
export interface WireError {
  readonly code?: string;
  readonly message: string;
  /** CompactedError details. */
  readonly requested?: number;
  readonly oldest?: number;
}

export type StoreCall =
  | { readonly op: 'get'; readonly key: string }
  | { readonly op: 'range'; readonly prefix: string }
  | { readonly op: 'revision' };

export type StoreCallResult = KeyValue | undefined | RangeResult | number;

/** Worker → primary. */
export type WorkerMessage =
  /** Sent once the worker listens for messages: the primary answers with `config`. */
  | { readonly t: 'hello' }
  /** Listening and serving. */
  | { readonly t: 'ready'; readonly proxy: ReadonlyArray<{ ip: string; port: number }> }
  /** Event-loop heartbeat for the watchdog, with the revision of the snapshot being served. */
  | { readonly t: 'heartbeat'; readonly revision?: number }
  | { readonly t: 'store.call'; readonly id: number; readonly call: StoreCall }
  | { readonly t: 'store.watch'; readonly watchId: number; readonly prefix: string; readonly fromRevision: number }
  | { readonly t: 'store.unwatch'; readonly watchId: number }
  /** Answer to `plugins.reload`. */
  | { readonly t: 'plugins.reloaded'; readonly id: number; readonly error?: string }
  /**
   * Shared counters (src/cluster/counters.ts): the increments one worker made
   * in one event-loop turn, as parallel arrays; answered by one
   * `counter.result` (or `counter.error`) with the same `batch`. `kinds`
   * marks leaky-bucket requests (1) among fixed-window increments (0, or no
   * `kinds` at all): for those, `deltas` carries the rate and `windows` the
   * burst, and the answer's count is the wait in seconds (-1: refused).
   */
  | {
    readonly t: 'counter.incr';
    readonly batch: number;
    readonly keys: readonly string[];
    readonly deltas: readonly number[];
    readonly windows: readonly number[];
    readonly kinds?: readonly number[];
  }
  /** Prometheus (src/plugins/prometheus/exporter.ts): answer to `metrics.scrape`; null when the worker counts nothing. */
  | { readonly t: 'metrics.report'; readonly id: number; readonly report: WorkerMetricsReport | null }
  /** Prometheus: a draining worker's counts, sent just before it exits, so the node's totals keep them. */
  | { readonly t: 'metrics.final'; readonly report: WorkerMetricsReport };

/** Primary → worker. */
export type PrimaryMessage =
  /** First message: the resolved configuration to serve with. */
  | { readonly t: 'config'; readonly config: FngateConfig; readonly prefix: string }
  /** Hot plugin reload with the re-read configuration (spec/plugins.md §7). */
  | { readonly t: 'plugins.reload'; readonly id: number; readonly config: FngateConfig }
  /** Drain and exit within `timeoutMs`. */
  | { readonly t: 'shutdown'; readonly timeoutMs: number }
  | { readonly t: 'store.result'; readonly id: number; readonly ok: true; readonly value: StoreCallResult }
  | { readonly t: 'store.result'; readonly id: number; readonly ok: false; readonly error: WireError }
  | { readonly t: 'store.batch'; readonly watchId: number; readonly batch: WatchBatch }
  | { readonly t: 'store.watchError'; readonly watchId: number; readonly error: WireError }
  /** Shared counters: count and seconds left of each increment of `counter.incr`, in order. */
  | { readonly t: 'counter.result'; readonly batch: number; readonly counts: readonly number[]; readonly ttls: readonly number[] }
  /** Shared counters: the batch was refused as a whole (nothing was counted). */
  | { readonly t: 'counter.error'; readonly batch: number; readonly error: WireError }
  /** Prometheus: report this worker's metrics (answered by `metrics.report` with the same `id`). */
  | { readonly t: 'metrics.scrape'; readonly id: number };

export function isWorkerMessage(m: unknown): m is WorkerMessage {
  return typeof m === 'object' && m !== null && typeof (m as { t?: unknown }).t === 'string';
}

export function isPrimaryMessage(m: unknown): m is PrimaryMessage {
  return typeof m === 'object' && m !== null && typeof (m as { t?: unknown }).t === 'string';
}

export function toWireError(err: unknown): WireError {
  if (err instanceof Error) {
    const e = err as Error & { code?: unknown; requested?: unknown; oldest?: unknown };
    return {
      message: e.message,
      ...(typeof e.code === 'string' ? { code: e.code } : {}),
      ...(typeof e.requested === 'number' ? { requested: e.requested } : {}),
      ...(typeof e.oldest === 'number' ? { oldest: e.oldest } : {}),
    };
  }
  return { message: String(err) };
}
