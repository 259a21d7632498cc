/**
 * Health-aware node selection (spec/routing.md §5.1): unhealthy nodes are
 * skipped, unless every node is unhealthy, when all are used. Done around
 * any balancer by widening its skip set to `tried ∪ unhealthy` — no balancer
 * needs to know about health. As in APISIX, whose picker then holds the
 * healthy nodes only, a retry that has tried every healthy node finds none
 * (502) rather than falling back to an unhealthy one.
 *
 * Cost: one counter read per pick while every node is healthy. The set of
 * unhealthy nodes is rebuilt only when the checker's version moves; a new
 * set is allocated only on a retry while some node is unhealthy.
 */
import type { Balancer, PickRequest, UpstreamHealth, UpstreamNode } from '../types.js';

class HealthAwareBalancer implements Balancer {
  readonly #inner: Balancer;
  readonly #health: UpstreamHealth;
  readonly #nodes: readonly UpstreamNode[];
  readonly onStart: Balancer['onStart'];
  readonly onEnd: Balancer['onEnd'];
  #unhealthy = new Set<UpstreamNode>();
  #version = -1;

  constructor(inner: Balancer, health: UpstreamHealth, nodes: readonly UpstreamNode[]) {
    this.#inner = inner;
    this.#health = health;
    // Weight-0 nodes are never picked: "every node unhealthy" is about the others.
    this.#nodes = nodes.filter((node) => node.weight > 0);
    this.onStart = inner.onStart;
    this.onEnd = inner.onEnd;
  }

  pick(request: PickRequest, tried: ReadonlySet<UpstreamNode> | undefined): UpstreamNode | undefined {
    const health = this.#health;
    if (health.unhealthyNodes === 0) return this.#inner.pick(request, tried);
    if (this.#version !== health.version) {
      this.#version = health.version;
      this.#unhealthy = new Set(this.#nodes.filter((node) => !health.isHealthy(node)));
    }
    // Every node unhealthy: all are used.
    if (this.#unhealthy.size >= this.#nodes.length) return this.#inner.pick(request, tried);
    let skip: ReadonlySet<UpstreamNode> = this.#unhealthy;
    if (tried !== undefined) {
      const union = new Set(tried);
      for (const node of this.#unhealthy) union.add(node);
      skip = union;
    }
    return this.#inner.pick(request, skip);
  }
}

/**
 * @example
 *   const balancer = withHealth(createBalancer(type, nodes, conf), checker, nodes);
 */
export function withHealth(inner: Balancer, health: UpstreamHealth, nodes: readonly UpstreamNode[]): Balancer {
  return new HealthAwareBalancer(inner, health, nodes);
}
