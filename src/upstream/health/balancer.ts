/**
 * Health-aware node selection (spec/routing.md §5.1): unhealthy nodes are
 * skipped; when nothing else is left, they are used after all ("if all are
 * unhealthy, all nodes are used"). Done around any balancer by widening its
 * skip set to `tried ∪ unhealthy` and, if that leaves nothing, asking again
 * with `tried` alone — no balancer needs to know about health.
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
    this.#nodes = nodes;
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
    let skip: ReadonlySet<UpstreamNode> = this.#unhealthy;
    if (tried !== undefined) {
      const union = new Set(tried);
      for (const node of this.#unhealthy) union.add(node);
      skip = union;
    }
    return this.#inner.pick(request, skip) ?? this.#inner.pick(request, tried);
  }
}

/**
 * @example
 *   const balancer = withHealth(createBalancer(type, nodes, conf), checker, nodes);
 */
export function withHealth(inner: Balancer, health: UpstreamHealth, nodes: readonly UpstreamNode[]): Balancer {
  return new HealthAwareBalancer(inner, health, nodes);
}
