/**
 * `least_conn` (spec/routing.md §5.1): the node with the lowest
 * `(active + 1) / weight`, counting attempts this process has in flight.
 * Ties are broken by rotating the scan's starting node, so an idle upstream
 * is walked round-robin rather than always hitting the first node.
 */
import type { Balancer, PickRequest, UpstreamNode } from '../types.js';
import type { NodeLoad } from './load.js';

export class LeastConnBalancer implements Balancer {
  readonly #nodes: readonly UpstreamNode[];
  readonly #load: NodeLoad;
  #cursor = 0;

  /** `nodes` must all have weight > 0; `load` is shared by every group of the upstream. */
  constructor(nodes: readonly UpstreamNode[], load: NodeLoad) {
    this.#nodes = nodes;
    this.#load = load;
  }

  /** @example new LeastConnBalancer(nodes, load).pick(req, undefined) */
  pick(_request: PickRequest, tried: ReadonlySet<UpstreamNode> | undefined): UpstreamNode | undefined {
    const nodes = this.#nodes;
    const n = nodes.length;
    const start = this.#cursor;
    this.#cursor = start + 1 === n ? 0 : start + 1;
    let best: UpstreamNode | undefined;
    let bestScore = Infinity;
    for (let k = 0; k < n; k++) {
      const node = nodes[(start + k) % n]!;
      if (tried !== undefined && tried.has(node)) continue;
      const score = (this.#load.active[node.index]! + 1) / node.weight;
      if (score < bestScore) {
        best = node;
        bestScore = score;
      }
    }
    return best;
  }
}
