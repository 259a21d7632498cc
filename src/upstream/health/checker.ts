/**
 * The health checker of one upstream (spec/routing.md §5.1, §5.3): active
 * probes on timers plus passive reports from real traffic, counted per
 * target by {@link TargetHealth}.
 *
 * - A target is a node's host and probe port (`checks.active.port` replaces
 *   the node's port, so two nodes can share a target, as in APISIX).
 * - Healthy targets are probed every `healthy.interval`, unhealthy ones every
 *   `unhealthy.interval`; an interval of 0 leaves that side unprobed. One
 *   round runs at a time (a slow round delays the next instead of piling
 *   up), at most `concurrency` probes at once. Timers are unref'd: a checker
 *   never keeps a process alive.
 * - Every worker process runs its own checkers (no health state crosses
 *   IPC), so a node with N workers sends N probes per interval. Probes are a
 *   request per interval per worker, small next to traffic, and each worker
 *   then acts on what it saw itself, with no coordination to fail.
 * - A change of a node's health is logged once at `warn`; probes are not.
 */
import type { Logger } from '../../log.js';
import type { UpstreamHealth, UpstreamNode } from '../types.js';
import { probe, type ProbeOutcome, type ProbeTarget } from './probe.js';
import { STATUS_HEALTHY, STATUS_UNHEALTHY, type CheckLimits, type HealthCheckSettings } from './settings.js';
import { TargetHealth, type CheckResult, type TargetState } from './target-health.js';

export interface HealthCheckerOptions {
  /** The upstream's resource key (`/apisix/upstreams/1`, `/apisix/routes/1`, ...), for logs and metrics. */
  readonly name: string;
  readonly settings: HealthCheckSettings;
  /** The upstream's nodes, in `CompiledUpstream.nodes` order (IPv6 hosts bracketed). */
  readonly nodes: readonly { readonly host: string; readonly port: number }[];
  /** Host header of HTTP probes, before `checks.active.host` (`upstream_host` of `pass_host: rewrite`, as APISIX). */
  readonly hostHeader?: string | undefined;
  readonly logger: Logger;
}

/** One target as the `upstream_status` metric reports it. */
export interface TargetStatus {
  readonly ip: string;
  readonly port: number;
  readonly healthy: boolean;
  readonly state: TargetState;
}

type Source = 'active' | 'passive';

interface Target {
  readonly probe: ProbeTarget;
  readonly address: string;
  readonly health: TargetHealth;
  /** Number of upstream nodes behind this target. */
  nodes: number;
}

/**
 * @example
 *   const checker = new HealthChecker({ name: '/apisix/upstreams/1', settings: readHealthChecks(conf.checks),
 *     nodes: [{ host: '127.0.0.1', port: 1980 }], logger });
 *   checker.start();
 *   checker.isHealthy(node); // false once the node failed its probes
 *   checker.stop();
 */
export class HealthChecker implements UpstreamHealth {
  readonly name: string;
  readonly #settings: HealthCheckSettings;
  readonly #logger: Logger;
  readonly #targets: Target[] = [];
  /** Indexed by `UpstreamNode.index`. */
  readonly #targetOfNode: Target[];
  #unhealthyNodes = 0;
  #version = 0;

  #timer: NodeJS.Timeout | undefined;
  #started = false;
  #stopped = false;
  #healthyDueAt = 0;
  #unhealthyDueAt = 0;

  constructor(options: HealthCheckerOptions) {
    this.name = options.name;
    this.#settings = options.settings;
    this.#logger = options.logger;
    const active = options.settings.active;
    const byAddress = new Map<string, Target>();
    this.#targetOfNode = options.nodes.map((node) => {
      const port = active.port ?? node.port;
      const address = `${node.host}:${port}`;
      let target = byAddress.get(address);
      if (target === undefined) {
        target = {
          probe: { host: node.host, port, hostHeader: options.hostHeader ?? active.host },
          address,
          health: new TargetHealth(),
          nodes: 0,
        };
        byAddress.set(address, target);
        this.#targets.push(target);
      }
      target.nodes += 1;
      return target;
    });
  }

  // UpstreamHealth -------------------------------------------------------------

  get unhealthyNodes(): number {
    return this.#unhealthyNodes;
  }

  get version(): number {
    return this.#version;
  }

  isHealthy(node: UpstreamNode): boolean {
    return this.#targetOfNode[node.index]?.health.healthy ?? true;
  }

  reportStatus(node: UpstreamNode, status: number): void {
    const passive = this.#settings.passive;
    const target = this.#targetOfNode[node.index];
    if (passive === undefined || target === undefined) return;
    // A `tcp` passive check only asks whether the connection worked.
    if (passive.type === 'tcp') this.#record(target, 'success', passive.limits, 'passive', '');
    else this.#recordStatus(target, status, passive.limits, 'passive');
  }

  reportTcpFailure(node: UpstreamNode): void {
    const passive = this.#settings.passive;
    const target = this.#targetOfNode[node.index];
    if (passive !== undefined && target !== undefined) this.#record(target, 'tcp_failure', passive.limits, 'passive', '');
  }

  reportTimeout(node: UpstreamNode): void {
    const passive = this.#settings.passive;
    const target = this.#targetOfNode[node.index];
    if (passive !== undefined && target !== undefined) this.#record(target, 'timeout', passive.limits, 'passive', '');
  }

  // Lifecycle -----------------------------------------------------------------

  /** Start probing; the first round runs one interval from now. Idempotent. */
  start(): void {
    if (this.#started || this.#stopped) return;
    this.#started = true;
    const now = performance.now();
    this.#healthyDueAt = now + this.#settings.active.healthyIntervalMs;
    this.#unhealthyDueAt = now + this.#settings.active.unhealthyIntervalMs;
    this.#schedule();
  }

  /** Stop probing for good; a round in flight finishes without effect. Idempotent. */
  stop(): void {
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Every target's health now (for the `upstream_status` metric). */
  statuses(): TargetStatus[] {
    return this.#targets.map((t) => ({ ip: t.probe.host, port: t.probe.port, healthy: t.health.healthy, state: t.health.state }));
  }

  // Active probing ------------------------------------------------------------

  #schedule(): void {
    if (this.#stopped) return;
    const { healthyIntervalMs, unhealthyIntervalMs } = this.#settings.active;
    let due = Infinity;
    if (healthyIntervalMs > 0) due = this.#healthyDueAt;
    if (unhealthyIntervalMs > 0) due = Math.min(due, this.#unhealthyDueAt);
    if (due === Infinity) return;
    this.#timer = setTimeout(this.#onTimer, Math.max(0, due - performance.now()));
    this.#timer.unref();
  }

  readonly #onTimer = (): void => {
    this.#timer = undefined;
    this.#runDue().then(
      () => this.#schedule(),
      (err: unknown) => {
        this.#logger.error({ upstream: this.name, err }, 'health check round failed');
        this.#schedule();
      },
    );
  };

  /** Probe the targets whose side is due; both sides' next times count from now. */
  async #runDue(): Promise<void> {
    const { healthyIntervalMs, unhealthyIntervalMs } = this.#settings.active;
    // Timers may fire a hair before the due time as measured by performance.now().
    const now = performance.now() + 1;
    const healthyDue = healthyIntervalMs > 0 && now >= this.#healthyDueAt;
    const unhealthyDue = unhealthyIntervalMs > 0 && now >= this.#unhealthyDueAt;
    if (healthyDue) this.#healthyDueAt = now + healthyIntervalMs;
    if (unhealthyDue) this.#unhealthyDueAt = now + unhealthyIntervalMs;
    const due = this.#targets.filter((t) => (t.health.healthy ? healthyDue : unhealthyDue));
    let next = 0;
    const lane = async (): Promise<void> => {
      while (next < due.length && !this.#stopped) {
        const target = due[next++]!;
        const outcome = await probe(target.probe, this.#settings.active);
        if (!this.#stopped) this.#recordProbe(target, outcome);
      }
    };
    const lanes: Promise<void>[] = [];
    for (let i = 0; i < Math.min(this.#settings.active.concurrency, due.length); i++) lanes.push(lane());
    await Promise.all(lanes);
  }

  #recordProbe(target: Target, outcome: ProbeOutcome): void {
    const limits = this.#settings.active.limits;
    switch (outcome.kind) {
      case 'response': this.#recordStatus(target, outcome.status, limits, 'active'); break;
      case 'connected': this.#record(target, 'success', limits, 'active', ''); break;
      case 'tcp_failure': this.#record(target, 'tcp_failure', limits, 'active', outcome.reason); break;
      case 'timeout': this.#record(target, 'timeout', limits, 'active', ''); break;
    }
  }

  // Counting ------------------------------------------------------------------

  #recordStatus(target: Target, status: number, limits: CheckLimits, source: Source): void {
    const kind = limits.statuses[status];
    if (kind === STATUS_HEALTHY) this.#record(target, 'success', limits, source, String(status));
    else if (kind === STATUS_UNHEALTHY) this.#record(target, 'http_failure', limits, source, String(status));
  }

  /** `detail`: the status or error behind the result, for the log line of a change. */
  #record(target: Target, result: CheckResult, limits: CheckLimits, source: Source, detail: string): void {
    const limit = result === 'success' ? limits.successes
      : result === 'http_failure' ? limits.httpFailures
        : result === 'tcp_failure' ? limits.tcpFailures
          : limits.timeouts;
    if (!target.health.record(result, limit)) return;
    const healthy = target.health.healthy;
    this.#unhealthyNodes += healthy ? -target.nodes : target.nodes;
    this.#version += 1;
    this.#logger.warn(
      { upstream: this.name, node: target.address, check: source, reason: reason(result, limit, detail) },
      healthy ? 'upstream node is healthy again' : 'upstream node is unhealthy; no traffic while other nodes are healthy',
    );
  }
}

const RESULT_WORDS: Readonly<Record<CheckResult, string>> = {
  success: 'successes',
  http_failure: 'HTTP failures',
  tcp_failure: 'TCP failures',
  timeout: 'timeouts',
};

function reason(result: CheckResult, limit: number, detail: string): string {
  const text = `${limit} ${RESULT_WORDS[result]} in a row`;
  if (detail === '') return text;
  return result === 'tcp_failure' ? `${text} (${detail})` : `${text} (last status ${detail})`;
}
