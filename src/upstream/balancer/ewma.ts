/**
 * `ewma` (spec/routing.md §5.1), kept simple and deterministic: the node
 * with the lowest `(latency + 1 ms) × (active + 1)`, where latency is the
 * exponentially weighted moving average of its time to response headers
 * (time constant 10 s, decayed to the present so old slowness is forgotten;
 * a failure counts as at least 1 s) and active its attempts in flight. A node
 * without samples has latency 0, so new nodes are tried first. Weights only decide
 * membership (weight 0 is never picked). Ties rotate like `least_conn`.
 * APISIX samples two random nodes instead of scanning all; a full scan is
 * cheap at upstream sizes and makes the choice reproducible.
 */
import type { Balancer, PickRequest, UpstreamNode } from '../types.js';
import type { NodeLoad } from './load.js';

export class EwmaBalancer implements Balancer {
  readonly #nodes: readonly UpstreamNode[];
  readonly #load: NodeLoad;
  #cursor = 0;

  constructor(nodes: readonly UpstreamNode[], load: NodeLoad) {
    this.#nodes = nodes;
    this.#load = load;
  }

  /** @example new EwmaBalancer(nodes, new NodeLoad(nodes.length, true)).pick(req, undefined) */
  pick(_request: PickRequest, tried: ReadonlySet<UpstreamNode> | undefined): UpstreamNode | undefined {
    const nodes = this.#nodes;
    const n = nodes.length;
    const start = this.#cursor;
    this.#cursor = start + 1 === n ? 0 : start + 1;
    const now = performance.now();
    let best: UpstreamNode | undefined;
    let bestScore = Infinity;
    for (let k = 0; k < n; k++) {
      const node = nodes[(start + k) % n]!;
      if (tried !== undefined && tried.has(node)) continue;
      const score = (this.#load.latency(node, now) + 1) * (this.#load.active[node.index]! + 1);
      if (score < bestScore) {
        best = node;
        bestScore = score;
      }
    }
    return best;
  }
}
