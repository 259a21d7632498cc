/**
 * prometheus (priority 500, log phase, `run_policy: prefer_route`): counts
 * every request of the routes and global rules that configure it —
 * `http_status`, `http_latency` and `bandwidth`, labelled as APISIX does —
 * in each data-plane worker, cheaply (no allocation per request once a
 * series exists). The primary aggregates the workers' counts when Prometheus
 * scrapes its export server (`plugin_attr.prometheus.export_addr` +
 * `export_uri`) and adds the node's own gauges.
 *
 * Installing the plugin also turns on fngate's function metric
 * (`serverless_function_duration_seconds`) and the connection gauges.
 * docs/plugins/prometheus.md is the user's reference.
 *
 * @example
 *   "plugins": { "prometheus": { "prefer_name": true } }
 */
import { definePlugin } from '../pdk/plugin.js';
import { readPrometheusAttr } from './prometheus/attr.js';
import { recordRequest, startWorkerMetrics, stopWorkerMetrics } from './prometheus/worker-metrics.js';

export interface PrometheusConf {
  /** Label routes and services by name instead of id (falling back to the id). */
  readonly prefer_name: boolean;
}

export default definePlugin<PrometheusConf>({
  name: 'prometheus',
  version: '0.2',
  priority: 500,
  runPolicy: 'prefer_route',
  schema: {
    type: 'object',
    properties: {
      prefer_name: { type: 'boolean', default: false },
    },
  },
  init({ attr, log }) {
    const settings = readPrometheusAttr(attr);
    // A key that cannot be used takes its default: the node keeps counting.
    for (const problem of settings.problems) log.error(`${problem.message}; using the default`);
    startWorkerMetrics(settings.attr);
  },
  destroy() {
    stopWorkerMetrics();
  },
  log(conf, ctx) {
    recordRequest(ctx, conf.prefer_name);
  },
});
