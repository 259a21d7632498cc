/**
 * `plugin_attr.prometheus` from config.yaml (spec/config.md), read once per
 * process: the primary uses the export settings, workers the metric
 * settings. Keys and defaults are APISIX's (`apisix/plugins/prometheus/
 * exporter.lua`, `conf/config.yaml.example`):
 *
 * | key | default | |
 * |---|---|---|
 * | `export_uri` | `/apisix/prometheus/metrics` | path of the export server |
 * | `export_addr` | `{ip: 127.0.0.1, port: 9091}` | where the export server listens |
 * | `enable_export_server` | `true` | `false`: APISIX serves metrics through `public-api`; fngate does not |
 * | `metric_prefix` | `apisix_` | prepended to every metric name |
 * | `default_buckets` | 1 … 60000 ms | `http_latency` buckets |
 * | `metrics.<name>.extra_labels` | none | `[{label: $var}]` added to `http_status`, `http_latency`, `bandwidth` |
 *
 * `refresh_interval` and `metrics.<name>.expire` are accepted and ignored
 * (fngate aggregates at scrape time and keeps every series).
 */
import { FngateError } from '../../errors.js';

/** APISIX's default latency buckets, in milliseconds (1 ms to 60 s). */
export const DEFAULT_BUCKETS: readonly number[] = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 30000, 60000];

/** The metrics `metrics.<name>.extra_labels` may extend. */
export const EXTENSIBLE_METRICS = ['http_status', 'http_latency', 'bandwidth'] as const;
export type ExtensibleMetric = (typeof EXTENSIBLE_METRICS)[number];

/** One extra label: its name, and the variable (without `$`) whose value it takes. */
export interface ExtraLabel {
  readonly name: string;
  readonly variable: string;
}

export interface PrometheusAttr {
  readonly exportUri: string;
  readonly exportAddr: { readonly ip: string; readonly port: number };
  readonly enableExportServer: boolean;
  readonly metricPrefix: string;
  /** Strictly increasing, finite, in milliseconds. */
  readonly buckets: readonly number[];
  readonly extraLabels: Readonly<Record<ExtensibleMetric, readonly ExtraLabel[]>>;
}

/** A value of `plugin_attr.prometheus` fngate cannot use (the key then takes its default). */
export class PrometheusAttrError extends FngateError {
  readonly code = 'PROMETHEUS_ATTR_INVALID';
}

/** Prometheus' metric name syntax (https://prometheus.io/docs/concepts/data_model/). */
const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
/** Label names; `__` is reserved for Prometheus' own. */
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

const DEFAULTS: PrometheusAttr = {
  exportUri: '/apisix/prometheus/metrics',
  exportAddr: { ip: '127.0.0.1', port: 9091 },
  enableExportServer: true,
  metricPrefix: 'apisix_',
  buckets: DEFAULT_BUCKETS,
  extraLabels: { http_status: [], http_latency: [], bandwidth: [] },
};

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function fail(path: string, message: string): never {
  throw new PrometheusAttrError(`plugin_attr.prometheus.${path}: ${message}`);
}

function readExportUri(value: unknown): string {
  if (value === undefined || value === null) return DEFAULTS.exportUri;
  if (typeof value !== 'string' || !value.startsWith('/')) fail('export_uri', 'expected a path starting with /');
  return value;
}

function readExportAddr(value: unknown): PrometheusAttr['exportAddr'] {
  if (value === undefined || value === null) return DEFAULTS.exportAddr;
  if (!isObject(value) || typeof value.ip !== 'string' || !Number.isInteger(value.port)) fail('export_addr', 'expected {ip, port}');
  return { ip: value.ip, port: value.port as number };
}

function readEnableExportServer(value: unknown): boolean {
  if (value === undefined || value === null) return DEFAULTS.enableExportServer;
  if (typeof value !== 'boolean') fail('enable_export_server', 'expected true or false');
  return value;
}

function readMetricPrefix(value: unknown): string {
  if (value === undefined || value === null) return DEFAULTS.metricPrefix;
  if (typeof value !== 'string' || (value !== '' && !METRIC_NAME.test(value))) {
    fail('metric_prefix', 'expected letters, digits, _ and :, not starting with a digit');
  }
  return value;
}

function readBuckets(value: unknown): readonly number[] {
  if (value === undefined || value === null) return DEFAULTS.buckets;
  if (!Array.isArray(value) || value.length === 0) fail('default_buckets', 'expected a non-empty list of numbers');
  let previous = -Infinity;
  for (const [i, bucket] of value.entries()) {
    if (typeof bucket !== 'number' || !Number.isFinite(bucket)) fail(`default_buckets[${i}]`, 'expected a number');
    if (bucket <= previous) fail(`default_buckets[${i}]`, 'buckets must be in increasing order');
    previous = bucket;
  }
  return value as number[];
}

/** Labels every metric of the family already has: an extra label must not repeat them. */
const BUILT_IN_LABELS: Readonly<Record<ExtensibleMetric, readonly string[]>> = {
  http_status: ['code', 'route', 'matched_uri', 'matched_host', 'service', 'consumer', 'node'],
  http_latency: ['type', 'route', 'service', 'consumer', 'node', 'le'],
  bandwidth: ['type', 'route', 'service', 'consumer', 'node'],
};

function readExtraLabels(metrics: unknown): PrometheusAttr['extraLabels'] {
  const out: Record<ExtensibleMetric, ExtraLabel[]> = { http_status: [], http_latency: [], bandwidth: [] };
  if (metrics === undefined || metrics === null) return out;
  if (!isObject(metrics)) fail('metrics', 'expected a mapping');
  for (const metric of EXTENSIBLE_METRICS) {
    const entry = metrics[metric];
    if (entry === undefined || entry === null) continue;
    if (!isObject(entry)) fail(`metrics.${metric}`, 'expected a mapping');
    const labels = entry.extra_labels;
    if (labels === undefined || labels === null) continue;
    if (!Array.isArray(labels)) fail(`metrics.${metric}.extra_labels`, 'expected a list of {label: $variable}');
    const seen = new Set(BUILT_IN_LABELS[metric]);
    for (const [i, item] of labels.entries()) {
      const path = `metrics.${metric}.extra_labels[${i}]`;
      const pairs = isObject(item) ? Object.entries(item) : [];
      const pair = pairs[0];
      if (pairs.length !== 1 || pair === undefined) fail(path, 'expected one {label: $variable} pair');
      const [name, source] = pair;
      if (!LABEL_NAME.test(name) || name.startsWith('__')) fail(path, `"${name}" is not a valid label name`);
      if (seen.has(name)) fail(path, `label "${name}" is already a label of ${metric}`);
      if (typeof source !== 'string' || !source.startsWith('$') || source.length < 2) fail(path, 'the value must be a variable such as $upstream_addr');
      seen.add(name);
      out[metric].push({ name, variable: source.slice(1) });
    }
  }
  return out;
}

/** `read(value)`, or `fallback` with the problem noted when the value is unusable. */
function orDefault<T>(read: (value: unknown) => T, value: unknown, fallback: T, problems: PrometheusAttrError[]): T {
  try {
    return read(value);
  } catch (err) {
    if (!(err instanceof PrometheusAttrError)) throw err;
    problems.push(err);
    return fallback;
  }
}

/**
 * Read `plugin_attr.prometheus` (defaults filled by the config loader, or
 * absent). A key whose value cannot be used takes its default, and the
 * reason is in `problems` (to be logged): metrics keep flowing either way.
 *
 * @example
 *   const { attr, problems } = readPrometheusAttr(config.plugin_attr.prometheus);
 *   for (const p of problems) logger.error(p.message);
 *   attr.metricPrefix; // 'apisix_'
 */
export function readPrometheusAttr(raw: Readonly<Record<string, unknown>> | undefined): { attr: PrometheusAttr; problems: PrometheusAttrError[] } {
  const a = raw ?? {};
  const problems: PrometheusAttrError[] = [];
  const attr: PrometheusAttr = {
    exportUri: orDefault(readExportUri, a.export_uri, DEFAULTS.exportUri, problems),
    exportAddr: orDefault(readExportAddr, a.export_addr, DEFAULTS.exportAddr, problems),
    enableExportServer: orDefault(readEnableExportServer, a.enable_export_server, DEFAULTS.enableExportServer, problems),
    metricPrefix: orDefault(readMetricPrefix, a.metric_prefix, DEFAULTS.metricPrefix, problems),
    buckets: orDefault(readBuckets, a.default_buckets, DEFAULTS.buckets, problems),
    extraLabels: orDefault(readExtraLabels, a.metrics, DEFAULTS.extraLabels, problems),
  };
  return { attr, problems };
}
