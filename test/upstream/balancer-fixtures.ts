/**
 * Node fixtures for balancer unit tests: balancers only read identity,
 * weight, priority and index, so no pool is attached.
 */
import type { H1Pool } from '../../src/upstream/h1/pool.js';
import type { PickRequest, UpstreamNode } from '../../src/upstream/types.js';

export function makeNodes(specs: ReadonlyArray<{ name: string; weight: number; priority?: number }>): UpstreamNode[] {
  return specs.map((spec, index) => ({
    index,
    host: spec.name,
    port: 80,
    weight: spec.weight,
    priority: spec.priority ?? 0,
    metadata: undefined,
    address: `${spec.name}:80`,
    hostHeader: spec.name,
    pool: null as unknown as H1Pool,
  }));
}

export const noVars: PickRequest = { vars: () => undefined, remoteAddr: '10.0.0.1' };

/** Names of `count` successive picks. */
export function sequence(pick: () => UpstreamNode | undefined, count: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < count; i++) out.push(pick()?.host ?? '-');
  return out;
}
