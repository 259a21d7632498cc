/**
 * Per-node load seen by this process, for `least_conn` and `ewma`: attempts
 * in flight and an exponentially weighted moving average of the time to
 * response headers. Like APISIX's per-worker state, it is local to the
 * process and lives as long as the compiled upstream.
 */
import type { UpstreamNode } from '../types.js';

/** Time constant of the latency average (APISIX ewma.lua uses 10 s). */
export const EWMA_DECAY_MS = 10_000;
/** A failed attempt counts as at least this slow. */
export const EWMA_FAILURE_PENALTY_MS = 1_000;

export class NodeLoad {
  readonly active: Int32Array;
  /** Latency average in ms; 0 until the first sample. */
  readonly #ewma: Float64Array;
  /** `performance.now()` of the last sample. */
  readonly #stamp: Float64Array;
  readonly #trackLatency: boolean;

  constructor(nodeCount: number, trackLatency: boolean) {
    this.active = new Int32Array(nodeCount);
    this.#ewma = new Float64Array(trackLatency ? nodeCount : 0);
    this.#stamp = new Float64Array(trackLatency ? nodeCount : 0);
    this.#trackLatency = trackLatency;
  }

  readonly start = (node: UpstreamNode): void => {
    this.active[node.index]! += 1;
  };

  readonly end = (node: UpstreamNode, elapsedMs: number, failed: boolean): void => {
    if (this.active[node.index]! > 0) this.active[node.index]! -= 1;
    if (!this.#trackLatency) return;
    const sample = failed ? Math.max(elapsedMs, EWMA_FAILURE_PENALTY_MS) : elapsedMs;
    const now = performance.now();
    const i = node.index;
    if (this.#stamp[i] === 0) {
      this.#ewma[i] = sample;
    } else {
      const w = Math.exp(-(now - this.#stamp[i]!) / EWMA_DECAY_MS);
      this.#ewma[i] = this.#ewma[i]! * w + sample * (1 - w);
    }
    this.#stamp[i] = now;
  };

  /** The latency average decayed to `now`, so a node that was slow long ago gets traffic again. */
  latency(node: UpstreamNode, now: number): number {
    const i = node.index;
    const stamp = this.#stamp[i]!;
    if (stamp === 0) return 0;
    return this.#ewma[i]! * Math.exp(-(now - stamp) / EWMA_DECAY_MS);
  }
}
