/**
 * What the prometheus plugin collects, as schemas (names, help, labels,
 * buckets) shared by the workers that count and the primary that
 * aggregates, and the compact form in which a worker reports its counts
 * over IPC. Names carry no prefix: the primary adds `metric_prefix` when it
 * renders, so one setting decides every name.
 *
 * Metric names, help texts, label names and label order are APISIX's
 * (`apisix/plugins/prometheus/exporter.lua`), except
 * `serverless_function_duration_seconds`, which is fngate's.
 */
import type { PrometheusAttr } from './attr.js';

export type FamilyType = 'counter' | 'gauge' | 'histogram';

export interface FamilySchema {
  /** Without `metric_prefix`. */
  readonly name: string;
  readonly help: string;
  readonly type: FamilyType;
  readonly labelNames: readonly string[];
  /** Histograms: upper bounds, increasing, without +Inf. */
  readonly buckets?: readonly number[];
  /**
   * How the primary combines the workers' values of one series: `sum`
   * (counts, the default) or `min` (a state every worker must agree on).
   * `min` families describe the present: a worker that is gone no longer
   * contributes to them.
   */
  readonly aggregation?: 'sum' | 'min';
}

/**
 * One series as a worker reports it: label values in the family's
 * `labelNames` order, and its numbers — `[value]` for a counter or gauge; for a
 * histogram the count of each bucket (not cumulative) and of +Inf, then the
 * sum of the observations.
 */
export interface SeriesData {
  readonly labels: readonly string[];
  readonly values: readonly number[];
}

export interface FamilyData {
  readonly name: string;
  readonly series: readonly SeriesData[];
}

/**
 * A worker's client connections, nginx's stub_status counters as far as
 * Node shows them (docs/plugins/prometheus.md). `accepted`, `handled` and
 * `requests` only grow; the others are the state now.
 */
export interface ConnectionCounts {
  readonly accepted: number;
  readonly handled: number;
  readonly active: number;
  readonly reading: number;
  readonly writing: number;
  readonly waiting: number;
  readonly requests: number;
}

/** A worker's answer to a scrape, and its last words before it exits. */
export interface WorkerMetricsReport {
  readonly families: readonly FamilyData[];
  /** Undefined when the worker does not watch its connections. */
  readonly connections: ConnectionCounts | undefined;
}

/** The families workers collect, for one `plugin_attr.prometheus`. */
export interface WorkerFamilies {
  readonly status: FamilySchema;
  readonly latency: FamilySchema;
  readonly bandwidth: FamilySchema;
  readonly functions: FamilySchema;
}

/**
 * @example
 *   const { status } = workerFamilies(readPrometheusAttr(undefined));
 *   status.labelNames; // ['code', 'route', 'matched_uri', 'matched_host', 'service', 'consumer', 'node']
 */
export function workerFamilies(attr: PrometheusAttr): WorkerFamilies {
  const extra = attr.extraLabels;
  const names = (labels: readonly { name: string }[]) => labels.map((l) => l.name);
  return {
    status: {
      name: 'http_status',
      help: 'HTTP status codes per service in APISIX',
      type: 'counter',
      labelNames: ['code', 'route', 'matched_uri', 'matched_host', 'service', 'consumer', 'node', ...names(extra.http_status)],
    },
    latency: {
      name: 'http_latency',
      help: 'HTTP request latency in milliseconds per service in APISIX',
      type: 'histogram',
      labelNames: ['type', 'route', 'service', 'consumer', 'node', ...names(extra.http_latency)],
      buckets: attr.buckets,
    },
    bandwidth: {
      name: 'bandwidth',
      help: 'Total bandwidth in bytes consumed per service in APISIX',
      type: 'counter',
      labelNames: ['type', 'route', 'service', 'consumer', 'node', ...names(extra.bandwidth)],
    },
    functions: {
      name: 'serverless_function_duration_seconds',
      help: 'Duration of serverless function calls (serverless and FaaS plugins) in seconds',
      type: 'histogram',
      labelNames: ['plugin', 'route', 'outcome'],
      // The latency buckets, in the base unit Prometheus recommends for new metrics.
      buckets: attr.buckets.map((ms) => ms / 1000),
    },
  };
}

/**
 * `upstream_status{name, ip, port}`: 1 while a health-checked node is
 * healthy, 0 while it is not, one series per target of every running health
 * checker. Each worker checks on its own; the node reports 1 only when every
 * worker that checks the target says healthy (`min`).
 */
export const upstreamStatusFamily: FamilySchema = {
  name: 'upstream_status',
  help: 'Upstream status from health check',
  type: 'gauge',
  labelNames: ['name', 'ip', 'port'],
  aggregation: 'min',
};

/** How many numbers a series of `schema` carries (see {@link SeriesData}). */
export function valuesPerSeries(schema: FamilySchema): number {
  return schema.type === 'histogram' ? (schema.buckets?.length ?? 0) + 2 : 1;
}
