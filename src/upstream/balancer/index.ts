/**
 * Builds an upstream's balancer from its type and nodes (spec/routing.md
 * §5.1). Nodes of weight 0 are never picked; a lone node is always picked,
 * retries included (APISIX's single-node fast path), except by `least_conn`,
 * which keeps counting connections.
 */
import { UpstreamConfigError } from '../errors.js';
import type { Balancer, BalancerType, PickRequest, UpstreamConf, UpstreamNode } from '../types.js';
import { ConsistentHashBalancer } from './chash.js';
import { EwmaBalancer } from './ewma.js';
import { compileHashKey } from './hash-key.js';
import { LeastConnBalancer } from './least-conn.js';
import { NodeLoad } from './load.js';
import { PriorityBalancer, type PriorityGroup } from './priority.js';
import { RoundRobinBalancer } from './roundrobin.js';

const BALANCER_TYPES: ReadonlySet<string> = new Set(['roundrobin', 'chash', 'least_conn', 'ewma']);

/** @throws UpstreamConfigError for a type fngate does not implement */
export function balancerType(type: string | undefined): BalancerType {
  const value = type ?? 'roundrobin';
  if (!BALANCER_TYPES.has(value)) throw new UpstreamConfigError(`unknown balancer type "${value}"`);
  return value as BalancerType;
}

const NONE: Balancer = { pick: () => undefined };

class SingleNodeBalancer implements Balancer {
  readonly #node: UpstreamNode;
  constructor(node: UpstreamNode) {
    this.#node = node;
  }
  pick(): UpstreamNode {
    return this.#node;
  }
}

class TrackedBalancer implements Balancer {
  readonly #inner: Balancer;
  readonly onStart: Balancer['onStart'];
  readonly onEnd: Balancer['onEnd'];
  constructor(inner: Balancer, load: NodeLoad) {
    this.#inner = inner;
    this.onStart = load.start;
    this.onEnd = load.end;
  }
  pick(request: PickRequest, tried: ReadonlySet<UpstreamNode> | undefined): UpstreamNode | undefined {
    return this.#inner.pick(request, tried);
  }
}

/**
 * @example
 *   const balancer = createBalancer('roundrobin', nodes, conf);
 *   const node = balancer.pick({ vars, remoteAddr }, undefined);
 */
export function createBalancer(
  type: BalancerType,
  nodes: readonly UpstreamNode[],
  conf: Pick<UpstreamConf, 'hash_on' | 'key'>,
): Balancer {
  const selectable = nodes.filter((node) => node.weight > 0);
  if (selectable.length === 0) return NONE;
  if (nodes.length === 1 && type !== 'least_conn') return new SingleNodeBalancer(selectable[0]!);

  const load = type === 'least_conn' || type === 'ewma' ? new NodeLoad(nodes.length, type === 'ewma') : undefined;
  const hashKey = type === 'chash' ? compileHashKey(conf.hash_on, conf.key) : undefined;
  const build = (group: readonly UpstreamNode[]): Balancer => {
    switch (type) {
      case 'chash': return new ConsistentHashBalancer(group, hashKey!);
      case 'least_conn': return new LeastConnBalancer(group, load!);
      case 'ewma': return new EwmaBalancer(group, load!);
      default: return new RoundRobinBalancer(group);
    }
  };

  const byPriority = new Map<number, UpstreamNode[]>();
  for (const node of selectable) {
    const group = byPriority.get(node.priority);
    if (group === undefined) byPriority.set(node.priority, [node]);
    else group.push(node);
  }
  const balancer = byPriority.size === 1
    ? build(selectable)
    : new PriorityBalancer(
      [...byPriority.entries()]
        .sort((a, b) => b[0] - a[0])
        .map(([priority, group]): PriorityGroup => ({ priority, nodes: group, balancer: build(group) })),
    );
  return load === undefined ? balancer : new TrackedBalancer(balancer, load);
}
