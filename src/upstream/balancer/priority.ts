/**
 * Priority groups (spec/routing.md §5.1): nodes are grouped by `priority`
 * and the highest group serves; a lower group is used only once every node
 * of the higher groups has been tried in this request.
 */
import type { Balancer, PickRequest, UpstreamNode } from '../types.js';

export interface PriorityGroup {
  readonly priority: number;
  readonly nodes: readonly UpstreamNode[];
  readonly balancer: Balancer;
}

export class PriorityBalancer implements Balancer {
  readonly #groups: readonly PriorityGroup[];

  /** `groups` sorted by descending priority. */
  constructor(groups: readonly PriorityGroup[]) {
    this.#groups = groups;
  }

  /** @example new PriorityBalancer([{ priority: 1, nodes, balancer }, ...]).pick(req, tried) */
  pick(request: PickRequest, tried: ReadonlySet<UpstreamNode> | undefined): UpstreamNode | undefined {
    for (const group of this.#groups) {
      if (tried !== undefined && group.nodes.every((node) => tried.has(node))) continue;
      const node = group.balancer.pick(request, tried);
      if (node !== undefined) return node;
    }
    return undefined;
  }
}
