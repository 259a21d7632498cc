/**
 * Consistent hashing (spec/routing.md §5.1): each node owns
 * `160 × weight / gcd(weights)` points on a 32-bit ring; a request goes to
 * the first point at or after the CRC-32 of its key. Adding or removing a
 * node only moves the keys that land on that node's points. On a retry the
 * walk continues clockwise past points of nodes already tried.
 */
import { crc32 } from 'node:zlib';
import type { Balancer, PickRequest, UpstreamNode } from '../types.js';
import type { HashKey } from './hash-key.js';

/** Virtual points per unit of (GCD-reduced) weight, as lua-resty-chash. */
export const POINTS_PER_WEIGHT = 160;

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

export class ConsistentHashBalancer implements Balancer {
  readonly #nodes: readonly UpstreamNode[];
  readonly #key: HashKey;
  /** Sorted point hashes. */
  readonly #points: Uint32Array;
  /** Index into #nodes of the owner of each point. */
  readonly #owners: Uint32Array;

  /** `nodes` must all have weight > 0. */
  constructor(nodes: readonly UpstreamNode[], key: HashKey) {
    this.#nodes = nodes;
    this.#key = key;
    const divisor = nodes.reduce((g, n) => gcd(g, n.weight), 0) || 1;
    const entries: Array<[hash: number, owner: number]> = [];
    nodes.forEach((node, owner) => {
      const count = POINTS_PER_WEIGHT * (node.weight / divisor);
      // The point names depend on the node's address only, so a node keeps its points when others change.
      for (let i = 0; i < count; i++) entries.push([crc32(`${node.address}#${i}`), owner]);
    });
    entries.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    this.#points = Uint32Array.from(entries, (e) => e[0]);
    this.#owners = Uint32Array.from(entries, (e) => e[1]);
  }

  /**
   * @example
   *   const ch = new ConsistentHashBalancer(nodes, compileHashKey('vars', 'arg_user'));
   *   ch.pick(req, undefined); // same node for the same ?user= every time
   */
  pick(request: PickRequest, tried: ReadonlySet<UpstreamNode> | undefined): UpstreamNode | undefined {
    const points = this.#points;
    const n = points.length;
    if (n === 0) return undefined;
    const hash = crc32(this.#key(request));
    // First point >= hash (binary search), wrapping past the end to 0.
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (points[mid]! < hash) lo = mid + 1;
      else hi = mid;
    }
    const start = lo === n ? 0 : lo;
    if (tried === undefined) return this.#nodes[this.#owners[start]!];
    for (let step = 0; step < n; step++) {
      const node = this.#nodes[this.#owners[(start + step) % n]!]!;
      if (!tried.has(node)) return node;
    }
    return undefined;
  }
}
