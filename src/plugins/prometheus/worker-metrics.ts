/**
 * The prometheus plugin's state in a data-plane worker: what it counts,
 * whether it counts, and the report the primary asks for (over IPC:
 * `metrics.scrape` → `metrics.report`; `metrics.final` when the worker
 * drains, so its counts outlive it), which also carries the health of the
 * worker's checked upstream nodes (`upstream_status`).
 *
 * Module state on purpose: built-in plugin modules are loaded once per
 * process, so counts survive a plugin reload (`destroy()` then `init()`),
 * as APISIX keeps its metrics across one.
 */
import type { Server } from 'node:http';
import type { PluginContext } from '../../pdk/context.js';
import type { PrometheusAttr } from './attr.js';
import { upstreamStatusFamily, type FamilyData, type SeriesData, type WorkerMetricsReport } from './families.js';
import { healthCheckRegistry } from '../../upstream/health/registry.js';
import { ConnectionStats } from './connections.js';
import { RequestMetrics } from './request-metrics.js';
import { functionMetricsSeries, startFunctionMetrics, stopFunctionMetrics } from './function-metrics.js';

let requests: RequestMetrics | undefined;
/** The layout `requests` was built for; a different one starts the counts afresh. */
let layout = '';
let recording = false;
let connections: ConnectionStats | undefined;

function layoutOf(attr: PrometheusAttr): string {
  return JSON.stringify([attr.buckets, attr.extraLabels]);
}

/**
 * Count from now on (the plugin's `init`). Counts so far are kept unless the
 * buckets or extra labels changed.
 */
export function startWorkerMetrics(attr: PrometheusAttr): void {
  const next = layoutOf(attr);
  if (requests === undefined || next !== layout) {
    requests = new RequestMetrics(attr);
    layout = next;
  }
  startFunctionMetrics(requests.families.functions.buckets ?? []);
  recording = true;
}

/** Stop counting (the plugin's `destroy`); the counts stay reported. */
export function stopWorkerMetrics(): void {
  recording = false;
  stopFunctionMetrics();
}

/** The log phase: count one request (a no-op before `startWorkerMetrics`). */
export function recordRequest(ctx: PluginContext, preferName: boolean): void {
  if (recording) (requests as RequestMetrics).record(ctx, preferName);
}

/**
 * Count the connections and requests of the proxy listeners (worker start,
 * when the plugin is installed).
 */
export function watchProxyConnections(servers: readonly Server[]): void {
  (connections ??= new ConnectionStats()).watch(servers);
}

/** What this worker counted; undefined when it counts nothing. */
export function workerMetricsReport(): WorkerMetricsReport | undefined {
  if (requests === undefined && connections === undefined) return undefined;
  const families: FamilyData[] = requests?.report() ?? [];
  const functions = functionMetricsSeries();
  if (requests !== undefined && functions !== undefined) families.push({ name: requests.families.functions.name, series: functions });
  const upstreams = upstreamStatusSeries();
  if (upstreams.length > 0) families.push({ name: upstreamStatusFamily.name, series: upstreams });
  return { families, connections: connections?.counts() };
}

/** This worker's health checkers, read when scraped (APISIX also reads them at scrape time). */
function upstreamStatusSeries(): SeriesData[] {
  return healthCheckRegistry.statuses().map((s) => ({ labels: [s.name, s.ip, String(s.port)], values: [s.healthy ? 1 : 0] }));
}

/**
 * Hand the final report to the primary before the worker exits (after it
 * drained, so every request it served is in). Resolves once sent, or after
 * `timeoutMs` if the channel is stuck.
 *
 * @example
 *   await sendFinalReport((message, done) => process.send?.(message, undefined, undefined, done), process.connected);
 */
export function sendFinalReport(
  send: (message: { readonly t: 'metrics.final'; readonly report: WorkerMetricsReport }, done: (err: Error | null) => void) => unknown,
  connected: boolean,
  timeoutMs = 1_000,
): Promise<void> {
  const report = workerMetricsReport();
  if (report === undefined || !connected) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, timeoutMs);
    try {
      send({ t: 'metrics.final', report }, () => {
        clearTimeout(timer);
        resolve();
      });
    } catch {
      clearTimeout(timer);
      resolve();
    }
  });
}
