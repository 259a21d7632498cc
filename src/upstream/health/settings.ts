/**
 * An upstream's `checks` object (spec/routing.md §5.3) in the form the health
 * checker uses: defaults filled (the schema validator fills defaults only in
 * objects the user wrote, so `"active": {}` arrives without `healthy`),
 * seconds turned into milliseconds, status lists turned into a lookup table,
 * `req_headers` parsed. Built once per compiled upstream.
 */
import { UpstreamConfigError } from '../errors.js';

export type CheckType = 'http' | 'https' | 'tcp';

/** What a status code means to a check (values of {@link CheckLimits.statuses}). */
export const STATUS_IGNORED = 0;
export const STATUS_HEALTHY = 1;
export const STATUS_UNHEALTHY = 2;

/**
 * Thresholds of one side (active or passive), lua-resty-healthcheck's: a
 * target turns healthy after `successes` successes in a row and unhealthy
 * after `httpFailures` / `tcpFailures` / `timeouts` failures of that kind in
 * a row. 0 disables that counter.
 */
export interface CheckLimits {
  readonly successes: number;
  readonly httpFailures: number;
  readonly tcpFailures: number;
  readonly timeouts: number;
  /** Indexed by status code (0–599): `STATUS_HEALTHY`, `STATUS_UNHEALTHY` or `STATUS_IGNORED`. */
  readonly statuses: Uint8Array;
}

export interface ActiveCheckSettings {
  readonly type: CheckType;
  readonly timeoutMs: number;
  readonly concurrency: number;
  /** `checks.active.host`: Host header and TLS server name of HTTP(S) probes. */
  readonly host: string | undefined;
  /** `checks.active.port`: probes go to this port instead of the node's. */
  readonly port: number | undefined;
  readonly httpPath: string;
  readonly httpMethod: string;
  readonly httpReqBody: string;
  readonly verifyCertificate: boolean;
  /** `req_headers` as a flat `[name, value, ...]` list. */
  readonly headers: readonly string[];
  /** How often healthy targets are probed; 0 = never. */
  readonly healthyIntervalMs: number;
  /** How often unhealthy targets are probed; 0 = never. */
  readonly unhealthyIntervalMs: number;
  readonly limits: CheckLimits;
}

export interface PassiveCheckSettings {
  readonly type: CheckType;
  readonly limits: CheckLimits;
}

export interface HealthCheckSettings {
  readonly active: ActiveCheckSettings;
  /** Undefined: traffic does not count (no `checks.passive`). */
  readonly passive: PassiveCheckSettings | undefined;
}

type Obj = Readonly<Record<string, unknown>>;

/** Defaults of one side's thresholds (spec/routing.md §5.3); the two sides differ only here. */
interface LimitDefaults {
  readonly successes: number;
  readonly httpFailures: number;
  readonly tcpFailures: number;
  readonly timeouts: number;
  readonly healthyStatuses: readonly number[];
  readonly unhealthyStatuses: readonly number[];
}

const ACTIVE_DEFAULTS: LimitDefaults = {
  successes: 2,
  httpFailures: 5,
  tcpFailures: 2,
  timeouts: 3,
  healthyStatuses: [200, 302],
  unhealthyStatuses: [429, 404, 500, 501, 502, 503, 504, 505],
};

const PASSIVE_DEFAULTS: LimitDefaults = {
  successes: 5,
  httpFailures: 5,
  tcpFailures: 2,
  timeouts: 7,
  healthyStatuses: [200, 201, 202, 203, 204, 205, 206, 207, 208, 226, 300, 301, 302, 303, 304, 305, 306, 307, 308],
  unhealthyStatuses: [429, 500, 503],
};

/**
 * @example
 *   const settings = readHealthChecks({ active: { http_path: '/status', healthy: { interval: 2 } } });
 *   settings.active.healthyIntervalMs; // 2000
 *   settings.active.limits.httpFailures; // 5 (the default)
 * @throws UpstreamConfigError for a `req_headers` entry that is not `"Name: value"`
 */
export function readHealthChecks(checks: Obj): HealthCheckSettings {
  const active = object(checks.active);
  const passive = checks.passive === undefined ? undefined : object(checks.passive);
  return {
    active: readActive(active),
    passive: passive === undefined ? undefined : readPassive(passive),
  };
}

function readActive(conf: Obj): ActiveCheckSettings {
  const healthy = object(conf.healthy);
  const unhealthy = object(conf.unhealthy);
  return {
    type: checkType(conf.type),
    timeoutMs: Math.max(1, Math.round(num(conf.timeout, 1) * 1000)),
    concurrency: Math.max(1, Math.floor(num(conf.concurrency, 10))),
    host: typeof conf.host === 'string' && conf.host !== '' ? conf.host : undefined,
    port: typeof conf.port === 'number' ? conf.port : undefined,
    httpPath: typeof conf.http_path === 'string' ? conf.http_path : '/',
    httpMethod: typeof conf.http_method === 'string' ? conf.http_method : 'GET',
    httpReqBody: typeof conf.http_req_body === 'string' ? conf.http_req_body : '',
    verifyCertificate: conf.https_verify_certificate !== false,
    headers: parseHeaders(conf.req_headers),
    healthyIntervalMs: Math.max(0, num(healthy.interval, 1) * 1000),
    unhealthyIntervalMs: Math.max(0, num(unhealthy.interval, 1) * 1000),
    limits: readLimits(healthy, unhealthy, ACTIVE_DEFAULTS),
  };
}

function readPassive(conf: Obj): PassiveCheckSettings {
  return {
    type: checkType(conf.type),
    limits: readLimits(object(conf.healthy), object(conf.unhealthy), PASSIVE_DEFAULTS),
  };
}

function readLimits(healthy: Obj, unhealthy: Obj, defaults: LimitDefaults): CheckLimits {
  return {
    successes: num(healthy.successes, defaults.successes),
    httpFailures: num(unhealthy.http_failures, defaults.httpFailures),
    tcpFailures: num(unhealthy.tcp_failures, defaults.tcpFailures),
    timeouts: num(unhealthy.timeouts, defaults.timeouts),
    statuses: statusTable(
      statusList(healthy.http_statuses, defaults.healthyStatuses),
      statusList(unhealthy.http_statuses, defaults.unhealthyStatuses),
    ),
  };
}

/**
 * A status listed on both sides counts as healthy, as lua-resty-healthcheck
 * looks at the healthy list first.
 */
function statusTable(healthy: readonly number[], unhealthy: readonly number[]): Uint8Array {
  const table = new Uint8Array(600);
  for (const status of unhealthy) if (status >= 0 && status < 600) table[status] = STATUS_UNHEALTHY;
  for (const status of healthy) if (status >= 0 && status < 600) table[status] = STATUS_HEALTHY;
  return table;
}

/** `"Name: value"` strings (lua-resty-healthcheck's `req_headers`) as a flat list. */
function parseHeaders(value: unknown): string[] {
  if (!Array.isArray(value)) return [];
  const out: string[] = [];
  for (const line of value) {
    const text = String(line);
    const colon = text.indexOf(':');
    if (colon <= 0) throw new UpstreamConfigError(`checks.active.req_headers: "${text}" is not "Name: value"`);
    out.push(text.slice(0, colon).trim(), text.slice(colon + 1).trim());
  }
  return out;
}

function checkType(value: unknown): CheckType {
  return value === 'https' || value === 'tcp' ? value : 'http';
}

function object(value: unknown): Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Obj) : {};
}

function num(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : fallback;
}

function statusList(value: unknown, fallback: readonly number[]): readonly number[] {
  return Array.isArray(value) ? value.filter((v): v is number => typeof v === 'number') : fallback;
}
