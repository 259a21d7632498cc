/**
 * The node's Prometheus endpoint, in the primary: when scraped, it asks
 * every worker for its counts over IPC (`metrics.scrape` → `metrics.report`),
 * adds them up, adds the node's own gauges, and answers in Prometheus' text
 * format on `plugin_attr.prometheus.export_addr` + `export_uri` — APISIX's
 * export server, with APISIX's metric names.
 *
 * Totals never go backwards while the node runs, so Prometheus' `rate()`
 * sees no false counter resets when workers come and go:
 *
 * - a draining worker (reload, stop) sends its final counts (`metrics.final`)
 *   and they are kept as "retired" counts;
 * - a worker that dies without that keeps the counts of its last answer
 *   (those since are lost, as they were never reported);
 * - a worker that does not answer in time contributes its last answer.
 *
 * `upstream_status` describes the present: it comes from the live workers'
 * latest answers only, and a node is 1 only if every worker that checks it
 * says healthy (each worker runs its own health checkers).
 *
 * Node gauges, computed at scrape time: `nginx_http_current_connections`
 * and `http_requests_total` (the workers' connection counts),
 * `node_info{hostname, version}`, and, for the etcd and embedded stores,
 * `etcd_reachable` and `etcd_modify_indexes`.
 */
import { hostname } from 'node:os';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AggregatorRegistry, Gauge, Registry } from 'prom-client';
import type { Logger } from '../../log.js';
import type { FngateConfig, ListenAddress } from '../../config/types.js';
import type { ConfigStore } from '../../store/types.js';
import type { PrimaryMessage, WorkerMessage } from '../../cluster/messages.js';
import { prometheusExportAddress } from '../../config/checks.js';
import { startListeners, type RunningListeners } from '../../http/listeners.js';
import { ERROR_PAGE_CONTENT_TYPE, errorPage } from '../../http/error-page.js';
import { errorMessage } from '../../errors.js';
import { VERSION } from '../../version.js';
import { readPrometheusAttr, type PrometheusAttr } from './attr.js';
import { upstreamStatusFamily, workerFamilies, type ConnectionCounts, type FamilyData, type FamilySchema, type WorkerMetricsReport } from './families.js';
import { MetricSums, toPromJson, type PromMetricJson } from './aggregate.js';

/** How long a scrape waits for the workers' answers before using their previous ones. */
const SCRAPE_TIMEOUT_MS = 2_000;
/** How long `etcd_reachable` waits for the config server. */
const CONFIG_SERVER_TIMEOUT_MS = 1_000;
/** APISIX's `etcd_modify_indexes` keys (one per resource kind). */
const INDEXED_KINDS = ['routes', 'services', 'ssls', 'consumers', 'global_rules', 'upstreams', 'stream_routes', 'protos'] as const;
const CONNECTION_STATES = ['active', 'accepted', 'handled', 'reading', 'writing', 'waiting'] as const;

/** A worker as the exporter talks to it (node:cluster's Worker fits). */
export interface MetricsWorker {
  readonly id: number;
  isConnected(): boolean;
  send(message: PrimaryMessage): unknown;
}

export interface ExporterOptions {
  readonly config: FngateConfig;
  /** The config store itself: asked for its revision to tell whether it is reachable. */
  readonly configStore: ConfigStore;
  /** What the workers read (the etcd mirror, or the store): its keys give `etcd_modify_indexes`. */
  readonly workerStore: ConfigStore;
  /** Key prefix of the store (`/apisix`). */
  readonly storePrefix: string;
  /** The node's live worker processes. */
  readonly workers: () => Iterable<MetricsWorker>;
  readonly logger: Logger;
  readonly scrapeTimeoutMs?: number;
}

interface WorkerState {
  /** The worker's latest answer. */
  last: WorkerMetricsReport | undefined;
  /** Its final counts were folded into the retired ones: it no longer counts as live. */
  retired: boolean;
}

interface PendingScrape {
  readonly waiting: Set<number>;
  readonly done: () => void;
}

/** The cumulative connection counts of retired workers. */
interface RetiredConnections {
  accepted: number;
  handled: number;
  requests: number;
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
    promise.then(
      (value) => { clearTimeout(timer); resolve(value); },
      (err: unknown) => { clearTimeout(timer); reject(err instanceof Error ? err : new Error(String(err))); },
    );
  });
}

/**
 * @example
 *   const exporter = createPrometheusExporter({ config, configStore, workerStore, storePrefix: '/apisix',
 *     workers: () => Object.values(cluster.workers ?? {}).filter((w) => w !== undefined), logger });
 *   // in the worker message handler: if (exporter?.handle(worker, message)) return;
 *   await exporter?.start();
 */
export class PrometheusExporter {
  readonly attr: PrometheusAttr;
  readonly #options: ExporterOptions;
  readonly #schemas: readonly FamilySchema[];
  /** Families that describe the present (`min`): never kept from workers that are gone. */
  readonly #present: ReadonlySet<string>;
  readonly #workers = new Map<number, WorkerState>();
  readonly #retired: MetricSums;
  readonly #retiredConnections: RetiredConnections = { accepted: 0, handled: 0, requests: 0 };
  readonly #scrapes = new Map<number, PendingScrape>();
  readonly #warned = new Set<string>();
  #scrapeSeq = 0;
  #server: RunningListeners | undefined;

  // The node's own gauges (prom-client), set at each scrape.
  readonly #registry = new Registry();
  readonly #connections: Gauge;
  readonly #requests: Gauge;
  readonly #nodeInfo: Gauge;
  readonly #etcdReachable: Gauge | undefined;
  readonly #modifyIndexes: Gauge | undefined;

  constructor(attr: PrometheusAttr, options: ExporterOptions) {
    this.attr = attr;
    this.#options = options;
    const families = workerFamilies(attr);
    this.#schemas = [families.status, families.latency, families.bandwidth, families.functions, upstreamStatusFamily];
    this.#present = new Set(this.#schemas.filter((s) => s.aggregation === 'min').map((s) => s.name));
    this.#retired = new MetricSums(this.#schemas);
    const prefix = attr.metricPrefix;
    const registers = [this.#registry];
    this.#connections = new Gauge({ name: `${prefix}nginx_http_current_connections`, help: 'Number of HTTP connections', labelNames: ['state'], registers });
    this.#requests = new Gauge({ name: `${prefix}http_requests_total`, help: 'The total number of client requests since APISIX started', registers });
    // APISIX reports the config server only for etcd; fngate's embedded store takes etcd's place.
    if (options.config.deployment.config_provider !== 'yaml') {
      this.#etcdReachable = new Gauge({ name: `${prefix}etcd_reachable`, help: 'Config server etcd reachable from APISIX, 0 is unreachable', registers });
      this.#modifyIndexes = new Gauge({ name: `${prefix}etcd_modify_indexes`, help: 'Etcd modify index for APISIX keys', labelNames: ['key'], registers });
    }
    this.#nodeInfo = new Gauge({ name: `${prefix}node_info`, help: 'Info of APISIX node', labelNames: ['hostname', 'version'], registers });
    this.#nodeInfo.set({ hostname: hostname(), version: VERSION }, 1);
  }

  /** Where the export server listens, once started. */
  get bound(): readonly ListenAddress[] {
    return this.#server?.bound ?? [];
  }

  /** The metrics protocol's worker messages; true when `message` was one. */
  handle(worker: MetricsWorker, message: WorkerMessage): boolean {
    switch (message.t) {
      case 'metrics.report': {
        const state = this.#state(worker.id);
        if (!state.retired) state.last = message.report ?? undefined;
        this.#answered(message.id, worker.id);
        return true;
      }
      case 'metrics.final': {
        const state = this.#state(worker.id);
        if (!state.retired) this.#retire(worker.id, state, message.report);
        return true;
      }
      default:
        return false;
    }
  }

  /** A worker process exited: keep what it last reported. */
  workerExited(workerId: number): void {
    const state = this.#workers.get(workerId);
    if (state !== undefined && !state.retired && state.last !== undefined) this.#retire(workerId, state, state.last);
    this.#workers.delete(workerId);
    for (const scrape of this.#scrapes.values()) this.#settle(scrape, workerId);
  }

  /** The node's metrics in Prometheus' text format (0.0.4). */
  async render(): Promise<string> {
    const reports = await this.#scrape();
    const sums = new MetricSums(this.#schemas);
    sums.add(this.#retired.families());
    let connections: ConnectionCounts | undefined;
    for (const report of reports) {
      this.#warnSkipped(sums.add(report.families));
      if (report.connections !== undefined) connections = addConnections(connections, report.connections);
    }
    this.#setConnectionGauges(connections);
    await this.#setConfigServerGauges();

    const bySchema = new Map(this.#schemas.map((s) => [s.name, s]));
    const families: PromMetricJson[] = [];
    for (const family of sums.families()) {
      const schema = bySchema.get(family.name);
      if (schema !== undefined && family.series.length > 0) families.push(toPromJson(schema, family.series, this.attr.metricPrefix));
    }
    const node = await this.#registry.getMetricsAsJSON();
    return AggregatorRegistry.aggregate([families, node]).metrics();
  }

  /** Bind the export server. A failure is logged and the node runs without it (like the status endpoint). */
  async start(): Promise<void> {
    const address = this.attr.exportAddr;
    try {
      this.#server = await startListeners({ name: 'prometheus', addresses: [address], ipv6: false, onRequest: this.#onRequest, logger: this.#options.logger });
    } catch (err) {
      this.#options.logger.error({ err: errorMessage(err), address }, 'Prometheus export server not available');
    }
  }

  async close(timeoutMs = 1_000): Promise<void> {
    for (const scrape of this.#scrapes.values()) scrape.done();
    await this.#server?.close(timeoutMs);
  }

  readonly #onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const path = (req.url ?? '/').split('?')[0];
    // APISIX's export server answers GET on export_uri and 404 to anything else.
    if (path !== this.attr.exportUri || (req.method !== 'GET' && req.method !== 'HEAD')) {
      const page = errorPage(404);
      res.writeHead(404, { 'content-type': ERROR_PAGE_CONTENT_TYPE, 'content-length': Buffer.byteLength(page) }).end(page);
      return;
    }
    this.render().then(
      (text) => {
        res.writeHead(200, { 'content-type': Registry.PROMETHEUS_CONTENT_TYPE, 'content-length': Buffer.byteLength(text) });
        res.end(req.method === 'HEAD' ? undefined : text);
      },
      (err: unknown) => {
        this.#options.logger.error({ err: errorMessage(err) }, 'prometheus: failed to collect metrics');
        const body = '{"message":"An unexpected error occurred"}\n';
        res.writeHead(500, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
      },
    );
  };

  #state(workerId: number): WorkerState {
    let state = this.#workers.get(workerId);
    if (state === undefined) {
      state = { last: undefined, retired: false };
      this.#workers.set(workerId, state);
    }
    return state;
  }

  #retire(workerId: number, state: WorkerState, report: WorkerMetricsReport): void {
    this.#warnSkipped(this.#retired.add(this.#cumulative(report.families)));
    const c = report.connections;
    if (c !== undefined) {
      this.#retiredConnections.accepted += c.accepted;
      this.#retiredConnections.handled += c.handled;
      this.#retiredConnections.requests += c.requests;
    }
    state.retired = true;
    state.last = undefined;
    for (const scrape of this.#scrapes.values()) this.#settle(scrape, workerId);
  }

  #cumulative(families: readonly FamilyData[]): FamilyData[] {
    return families.filter((family) => !this.#present.has(family.name));
  }

  /** Ask every live worker, wait for the answers (bounded), return every live worker's latest. */
  async #scrape(): Promise<WorkerMetricsReport[]> {
    const id = ++this.#scrapeSeq;
    const waiting = new Set<number>();
    for (const worker of this.#options.workers()) {
      if (this.#state(worker.id).retired || !worker.isConnected()) continue;
      try {
        worker.send({ t: 'metrics.scrape', id } satisfies PrimaryMessage);
        waiting.add(worker.id);
      } catch {
        // The channel closed under us: the worker is on its way out; its exit keeps its counts.
      }
    }
    if (waiting.size > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => done(), this.#options.scrapeTimeoutMs ?? SCRAPE_TIMEOUT_MS);
        const done = () => {
          clearTimeout(timer);
          this.#scrapes.delete(id);
          resolve();
        };
        this.#scrapes.set(id, { waiting, done });
      });
    }
    const reports: WorkerMetricsReport[] = [];
    for (const state of this.#workers.values()) if (!state.retired && state.last !== undefined) reports.push(state.last);
    return reports;
  }

  #answered(scrapeId: number, workerId: number): void {
    const scrape = this.#scrapes.get(scrapeId);
    if (scrape !== undefined) this.#settle(scrape, workerId);
  }

  #settle(scrape: PendingScrape, workerId: number): void {
    if (scrape.waiting.delete(workerId) && scrape.waiting.size === 0) scrape.done();
  }

  #warnSkipped(names: readonly string[]): void {
    for (const name of names) {
      if (this.#warned.has(name)) continue;
      this.#warned.add(name);
      this.#options.logger.warn(
        { metric: this.attr.metricPrefix + name },
        'prometheus: a worker reported this metric with other buckets or labels than the node started with (plugin_attr.prometheus changed?); those counts are left out until a restart',
      );
    }
  }

  #setConnectionGauges(connections: ConnectionCounts | undefined): void {
    const retired = this.#retiredConnections;
    const current = connections ?? { accepted: 0, handled: 0, active: 0, reading: 0, writing: 0, waiting: 0, requests: 0 };
    for (const state of CONNECTION_STATES) {
      const cumulative = state === 'accepted' || state === 'handled' ? retired[state] : 0;
      this.#connections.set({ state }, current[state] + cumulative);
    }
    this.#requests.set(current.requests + retired.requests);
  }

  /** `etcd_reachable` (the store answers within 1 s) and `etcd_modify_indexes` (newest revision per kind). */
  async #setConfigServerGauges(): Promise<void> {
    const reachable = this.#etcdReachable;
    const indexes = this.#modifyIndexes;
    if (reachable === undefined || indexes === undefined) return;
    const { configStore, workerStore, storePrefix, logger } = this.#options;
    try {
      const revision = await withTimeout(configStore.revision(), CONFIG_SERVER_TIMEOUT_MS, 'the config store');
      reachable.set(1);
      indexes.set({ key: 'x_etcd_index' }, revision);
    } catch (err) {
      reachable.set(0);
      logger.error({ err: errorMessage(err) }, 'prometheus: failed to reach config server while processing metrics endpoint');
    }
    let max = 0;
    try {
      for (const kind of INDEXED_KINDS) {
        const { kvs } = await workerStore.range(`${storePrefix}/${kind}/`);
        let newest = 0;
        for (const kv of kvs) if (kv.modRevision > newest) newest = kv.modRevision;
        indexes.set({ key: kind }, newest);
        if (newest > max) max = newest;
      }
      indexes.set({ key: 'max_modify_index' }, max);
    } catch (err) {
      logger.error({ err: errorMessage(err) }, 'prometheus: failed to read the modify indexes');
    }
  }
}

function addConnections(a: ConnectionCounts | undefined, b: ConnectionCounts): ConnectionCounts {
  if (a === undefined) return b;
  return {
    accepted: a.accepted + b.accepted,
    handled: a.handled + b.handled,
    active: a.active + b.active,
    reading: a.reading + b.reading,
    writing: a.writing + b.writing,
    waiting: a.waiting + b.waiting,
    requests: a.requests + b.requests,
  };
}

/**
 * The exporter for this node, or undefined when it serves no metrics: the
 * plugin is not installed, or `enable_export_server` is false (APISIX then
 * serves them on the data plane through `public-api`, which fngate does not
 * have; a warning says so). Problems in `plugin_attr.prometheus` are logged
 * and those keys take their defaults.
 */
export function createPrometheusExporter(options: ExporterOptions): PrometheusExporter | undefined {
  const { config, logger } = options;
  const installed = config.plugins === undefined || config.plugins.includes('prometheus');
  if (!installed) return undefined;
  const { attr, problems } = readPrometheusAttr(config.plugin_attr.prometheus);
  for (const problem of problems) logger.error(`${problem.message}; using the default`);
  if (prometheusExportAddress(config) === undefined) {
    logger.warn('plugin_attr.prometheus.enable_export_server is false: fngate serves metrics only on the export server (no public-api plugin), so none are served');
    return undefined;
  }
  return new PrometheusExporter(attr, options);
}
