/**
 * nginx's smooth weighted round robin (ngx_http_upstream_round_robin.c):
 * every pick adds each node's weight to its running score, takes the highest
 * score, and subtracts the total weight from the winner. Weights 5,1,1 give
 * `a a b a c a a`, spreading the heavy node instead of bursting it.
 *
 * On a retry the nodes already tried sit the round out (they neither gain nor
 * are picked), so the retry goes to the best remaining node and the shared
 * sequence stays smooth for other requests.
 */
import type { Balancer, PickRequest, UpstreamNode } from '../types.js';

export class RoundRobinBalancer implements Balancer {
  readonly #nodes: readonly UpstreamNode[];
  readonly #current: Float64Array;

  /** `nodes` must all have weight > 0. */
  constructor(nodes: readonly UpstreamNode[]) {
    this.#nodes = nodes;
    this.#current = new Float64Array(nodes.length);
  }

  /**
   * @example
   *   const rr = new RoundRobinBalancer(nodes); // weights 5, 1, 1
   *   rr.pick(req, undefined); // a, then a, b, a, c, a, a
   */
  pick(_request: PickRequest, tried: ReadonlySet<UpstreamNode> | undefined): UpstreamNode | undefined {
    const nodes = this.#nodes;
    const current = this.#current;
    let best = -1;
    let total = 0;
    for (let i = 0; i < nodes.length; i++) {
      const node = nodes[i]!;
      if (tried !== undefined && tried.has(node)) continue;
      current[i]! += node.weight;
      total += node.weight;
      if (best < 0 || current[i]! > current[best]!) best = i;
    }
    if (best < 0) return undefined;
    current[best]! -= total;
    return nodes[best];
  }
}
