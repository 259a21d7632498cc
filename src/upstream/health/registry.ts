/**
 * The live health checkers of a worker process, shared between compiled
 * upstreams that check the same thing.
 *
 * A checker is identified by the upstream's resource key plus everything
 * that decides what it probes and counts (`checks`, the nodes' addresses,
 * the probe Host). Compiling the same upstream again — a route with its own
 * `timeout` compiles a private view of a shared upstream, a plugin reload
 * recompiles everything, an edit changes only `desc` or a weight — gets the
 * running checker back, with its health state, instead of probing twice or
 * starting over. An edit to `checks` or to the nodes makes a new checker,
 * which starts from healthy, as APISIX does for a new upstream version.
 *
 * Leases are counted: the checker stops when the last compiled upstream
 * holding it is released (as PoolManager's pool leases).
 */
import { HealthChecker, type HealthCheckerOptions, type TargetStatus } from './checker.js';

export interface HealthCheckLease {
  readonly checker: HealthChecker;
  /** Give the checker back; idempotent. */
  release(): void;
}

/** One target of one checker, for the `upstream_status` metric. */
export interface UpstreamTargetStatus extends TargetStatus {
  /** The upstream's resource key. */
  readonly name: string;
}

interface Entry {
  readonly checker: HealthChecker;
  refs: number;
}

/**
 * @example
 *   const lease = registry.acquire(fingerprint, { name: '/apisix/upstreams/1', settings, nodes, logger });
 *   // ... the compiled upstream uses lease.checker ...
 *   lease.release(); // the checker stops with its last lease
 */
export class HealthCheckRegistry {
  readonly #entries = new Map<string, Entry>();

  /**
   * The running checker for `identity`, or a new one built (and started)
   * from `options`. `identity` must cover everything `options` decides.
   */
  acquire(identity: string, options: HealthCheckerOptions): HealthCheckLease {
    let entry = this.#entries.get(identity);
    if (entry === undefined) {
      const checker = new HealthChecker(options);
      checker.start();
      entry = { checker, refs: 0 };
      this.#entries.set(identity, entry);
    }
    entry.refs += 1;
    const held = entry;
    let released = false;
    return {
      checker: held.checker,
      release: () => {
        if (released) return;
        released = true;
        held.refs -= 1;
        if (held.refs > 0) return;
        held.checker.stop();
        if (this.#entries.get(identity) === held) this.#entries.delete(identity);
      },
    };
  }

  /** Number of running checkers. */
  get size(): number {
    return this.#entries.size;
  }

  /** Every target of every running checker. */
  statuses(): UpstreamTargetStatus[] {
    const out: UpstreamTargetStatus[] = [];
    for (const { checker } of this.#entries.values()) {
      for (const status of checker.statuses()) out.push({ name: checker.name, ...status });
    }
    return out;
  }
}

/**
 * The process's registry: compiled upstreams use it unless given another,
 * and the prometheus plugin reads it for `upstream_status`. One per process
 * because health state is per worker (see checker.ts).
 */
export const healthCheckRegistry = new HealthCheckRegistry();

/** What makes two checkers the same (see the module comment). */
export function checkerIdentity(name: string, checks: unknown, nodes: readonly { host: string; port: number }[], hostHeader: string | undefined): string {
  return JSON.stringify([name, checks, nodes.map((n) => `${n.host}:${n.port}`), hostHeader ?? null]);
}
