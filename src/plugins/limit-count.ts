/**
 * limit-count (priority 1002, access): at most `count` requests per
 * `time_window` seconds per key, counted exactly across the node's workers
 * (`ctx.counters`, APISIX's `local` policy). Follows APISIX 3.18's
 * `apisix/plugins/limit-count/init.lua`:
 *
 * - the key is a variable (`key_type: var`, default `remote_addr`), a
 *   `$var` combination, or a constant; a key without a value falls back to
 *   the client address;
 * - counters are per configuration: `<conf_type><conf_id>:<conf hash>:<key>`,
 *   so two routes never share one unless they name the same `group`
 *   (`<group>:<key>`), and editing the plugin's settings starts afresh;
 * - `count` / `time_window` may be `$var` strings resolved per request, and
 *   `rules` applies several limits at once, each with prefixed headers;
 * - `X-RateLimit-Limit/-Remaining/-Reset` (names configurable through
 *   plugin metadata) go on the proxied response and on the rejection;
 * - a rejection answers `rejected_code` (503), with
 *   `{"error_msg": rejected_msg}` when a message is configured.
 *
 * `policy: redis` counts in one Redis server instead (limit/redis-counters.ts):
 * one atomic script per request, so every node pointing at the server shares
 * the totals exactly; a Redis failure answers 500 unless `allow_degradation`.
 *
 * Not supported yet, refused when a configuration is written:
 * `redis-cluster`, `redis-sentinel` and `window_type: sliding`. Their fields
 * are in the schema, so APISIX configurations validate and the refusal
 * names the reason.
 */
import type { PluginContext, SharedCounters } from '../pdk/context.js';
import type { ConfKind, Verdict } from '../pdk/plugin.js';
import { definePlugin } from '../pdk/plugin.js';
import { FngateError, errorMessage } from '../errors.js';
import { luaToString } from '../resources/lua-text.js';
import { luaToNumber } from '../util/lua-number.js';
import { compileVarTemplate, type VarTemplate } from './lib/var-template.js';
import { confVersion, stableJson } from './limit/conf-version.js';
import { redisConnection } from './limit/redis-connection.js';
import { RedisCounters } from './limit/redis-counters.js';
import { policyConditions, redisTargetOf, REDIS_CLUSTER_POLICY, REDIS_POLICY, type PolicySchema, type RedisPolicyConf } from './limit/redis-schema.js';
import { isThenable } from '../util/maybe-async.js';
import { compiledPerConf } from './lib/per-conf.js';

export interface LimitCountRule {
  readonly count: number | string;
  readonly time_window: number | string;
  readonly key: string;
  readonly header_prefix?: string;
}

export interface LimitCountConf {
  readonly count?: number | string;
  readonly time_window?: number | string;
  readonly window_type: 'fixed' | 'sliding';
  readonly rules?: readonly LimitCountRule[];
  readonly group?: string;
  readonly key: string;
  readonly key_type: 'var' | 'var_combination' | 'constant';
  readonly rejected_code: number;
  readonly rejected_msg?: string;
  readonly policy: 'local' | 'redis' | 'redis-cluster' | 'redis-sentinel';
  readonly allow_degradation: boolean;
  readonly show_limit_quota_header: boolean;
  readonly sync_interval: number;
  readonly [field: string]: unknown;
}

/** `sync_interval` value meaning "no delayed synchronisation". */
const NO_DELAYED_SYNC = -1;

const positiveIntegerOrString = { oneOf: [{ type: 'integer', exclusiveMinimum: 0 }, { type: 'string' }] };

/** `policy: redis-sentinel` (limit-count only): validated, not served by fngate yet. */
const REDIS_SENTINEL_POLICY: PolicySchema = {
  properties: {
    redis_sentinels: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        properties: { host: { type: 'string', minLength: 2 }, port: { type: 'integer', minimum: 1, maximum: 65535 } },
        required: ['host', 'port'],
        additionalProperties: false,
      },
    },
    redis_master_name: { type: 'string', minLength: 1 },
    redis_role: { type: 'string', enum: ['master', 'slave'], default: 'master' },
    redis_connect_timeout: { type: 'integer', minimum: 1, default: 1000 },
    redis_read_timeout: { type: 'integer', minimum: 1, default: 1000 },
    redis_keepalive_timeout: { type: 'integer', minimum: 1, default: 60000 },
    redis_database: { type: 'integer', minimum: 0, default: 0 },
    redis_username: { type: 'string', minLength: 1 },
    redis_password: { type: 'string', minLength: 0 },
    sentinel_username: { type: 'string', minLength: 1 },
    sentinel_password: { type: 'string', minLength: 0 },
  },
  required: ['redis_sentinels', 'redis_master_name'],
};

/** Extra fields of the Redis policies (APISIX's `apisix/utils/redis-schema.lua` and the sentinel addition). */
const policyProperties: Readonly<Record<string, PolicySchema>> = {
  redis: REDIS_POLICY,
  'redis-cluster': REDIS_CLUSTER_POLICY,
  'redis-sentinel': REDIS_SENTINEL_POLICY,
};

const schemaProperties: Record<string, unknown> = {
  count: positiveIntegerOrString,
  time_window: positiveIntegerOrString,
  window_type: { type: 'string', enum: ['fixed', 'sliding'], default: 'fixed' },
  rules: {
    type: 'array',
    items: {
      type: 'object',
      properties: {
        count: positiveIntegerOrString,
        time_window: positiveIntegerOrString,
        key: { type: 'string' },
        header_prefix: { type: 'string', description: 'prefix for rate limit headers' },
      },
      required: ['count', 'time_window', 'key'],
    },
  },
  group: { type: 'string' },
  key: { type: 'string', default: 'remote_addr' },
  key_type: { type: 'string', enum: ['var', 'var_combination', 'constant'], default: 'var' },
  rejected_code: { type: 'integer', minimum: 200, maximum: 599, default: 503 },
  rejected_msg: { type: 'string', minLength: 1 },
  policy: { type: 'string', enum: ['local', 'redis', 'redis-cluster', 'redis-sentinel'], default: 'local' },
  allow_degradation: { type: 'boolean', default: false },
  show_limit_quota_header: { type: 'boolean', default: true },
  sync_interval: { type: 'number', default: NO_DELAYED_SYNC },
};

const schema = {
  type: 'object',
  properties: schemaProperties,
  oneOf: [{ required: ['count', 'time_window'] }, { required: ['rules'] }],
  ...policyConditions(Object.entries(policyProperties)),
};

const DEFAULT_HEADERS = {
  limit_header: 'X-RateLimit-Limit',
  remaining_header: 'X-RateLimit-Remaining',
  reset_header: 'X-RateLimit-Reset',
} as const;

const metadataSchema = {
  type: 'object',
  properties: {
    limit_header: { type: 'string', default: DEFAULT_HEADERS.limit_header },
    remaining_header: { type: 'string', default: DEFAULT_HEADERS.remaining_header },
    reset_header: { type: 'string', default: DEFAULT_HEADERS.reset_header },
  },
};

type HeaderNames = { readonly limit_header: string; readonly remaining_header: string; readonly reset_header: string };

// ---- compiled configuration ---------------------------------------------------

/** A count or window: fixed, or a `$var` string resolved per request. */
type Amount = number | VarTemplate;

interface Limit {
  readonly count: Amount;
  readonly timeWindow: Amount;
  /** Rules only: the key (a `$var` combination) and the header prefix. */
  readonly key?: VarTemplate;
  readonly headerPrefix?: string;
}

interface Compiled {
  /** Without `rules`: the one limit. */
  readonly single: Limit | undefined;
  readonly rules: readonly Limit[] | undefined;
  readonly keyTemplate: VarTemplate | undefined;
  /** APISIX's plugin-level `conf_version`: changes only when this plugin's settings change. */
  readonly version: string;
  readonly rejection: Verdict;
  /** `policy: redis`: the server's counters; otherwise the node's (`ctx.counters`). */
  readonly counters: SharedCounters | undefined;
  /** The last counter-key prefix built, and for which configuration identity (it changes only after a consumer merge). */
  prefix: CounterKeys | undefined;
}

/**
 * Full counter keys by counted value, for one configuration identity. A
 * client's address is the same string object on every request of its
 * connection, so a hit returns the same key string too, whose hash V8 has
 * cached: no concatenation and no re-hashing per request.
 */
interface CounterKeys {
  readonly confType: string;
  readonly confId: string;
  readonly text: string;
  readonly keys: Map<string, string>;
}

/** Enough for the busy clients of one route; beyond it the cache starts afresh (a miss only costs a concatenation). */
const MAX_CACHED_KEYS = 4_096;

function amount(value: number | string): Amount {
  return typeof value === 'number' ? value : compileVarTemplate(value);
}

function compile(conf: LimitCountConf): Compiled {
  const rules = conf.rules?.map((rule, i) => ({
    count: amount(rule.count),
    timeWindow: amount(rule.time_window),
    key: compileVarTemplate(rule.key),
    headerPrefix: rule.header_prefix ?? String(i + 1),
  }));
  return {
    single: rules === undefined ? { count: amount(conf.count ?? 0), timeWindow: amount(conf.time_window ?? 0) } : undefined,
    rules,
    keyTemplate: conf.key_type === 'var_combination' ? compileVarTemplate(conf.key) : undefined,
    version: confVersion(conf),
    rejection: conf.rejected_msg === undefined ? conf.rejected_code : [conf.rejected_code, { error_msg: conf.rejected_msg }],
    counters: conf.policy === 'redis' ? new RedisCounters(redisConnection(redisTargetOf(conf as RedisPolicyConf))) : undefined,
    prefix: undefined,
  };
}

const compiled = compiledPerConf(compile);

// ---- request time -----------------------------------------------------------------

/** A limit failed to resolve for this request (bad `$var` value): 500 unless degradation is allowed. */
export class LimitResolutionError extends FngateError {
  readonly code = 'LIMIT_COUNT_UNRESOLVED';
}

/** APISIX 3.18's run-time rule for `count` / `time_window`: a positive integer within 2^53 - 1. */
function resolveAmount(value: Amount, ctx: PluginContext): number {
  if (typeof value === 'number') return value;
  const text = value.render(ctx.var);
  const n = luaToNumber(text);
  if (n === undefined || Number.isNaN(n)) throw new LimitResolutionError('resolved value is not a number');
  if (n <= 0) throw new LimitResolutionError(`resolved value must be a positive number, got: ${text}`);
  if (!Number.isInteger(n)) throw new LimitResolutionError(`resolved value must be an integer, got: ${text}`);
  if (n > Number.MAX_SAFE_INTEGER) throw new LimitResolutionError(`resolved value exceeds safe integer range (2^53-1), got: ${text}`);
  return n;
}

/** The value counted on: the configured variable, combination or constant; the client address when empty. */
function keyOf(conf: LimitCountConf, c: Compiled, ctx: PluginContext): string {
  const vars = ctx.var;
  let key: unknown;
  if (conf.key_type === 'constant') key = conf.key;
  else if (c.keyTemplate !== undefined) key = c.keyTemplate.renderIfResolved(vars);
  else key = vars[conf.key];
  if (key === undefined || key === null) key = vars.remote_addr;
  return luaToString(key);
}

function counterKey(conf: LimitCountConf, c: Compiled, ctx: PluginContext, key: string): string {
  if (conf.group !== undefined) return `limit-count:${conf.group}:${key}`;
  const confType = ctx.conf_type ?? '';
  const confId = ctx.conf_id ?? '';
  let prefix = c.prefix;
  if (prefix === undefined || prefix.confType !== confType || prefix.confId !== confId) {
    c.prefix = prefix = { confType, confId, text: `limit-count:${confType}${confId}:${c.version}:`, keys: new Map() };
  }
  let full = prefix.keys.get(key);
  if (full === undefined) {
    if (prefix.keys.size >= MAX_CACHED_KEYS) prefix.keys.clear();
    full = prefix.text + key;
    prefix.keys.set(key, full);
  }
  return full;
}

/** Header names per metadata object, per rule prefix ({@link NO_PREFIX} without rules). */
const namesByMetadata = new WeakMap<object, Map<string | symbol, HeaderNames>>();
const NO_PREFIX = Symbol('no prefix');

/**
 * Header names from plugin metadata; rules put their prefix before
 * `RateLimit-` (`X-1-RateLimit-Limit`). Lower-cased once here, as the
 * response's header map keys them, rather than on every request.
 */
function headerNames(ctx: PluginContext, prefix: string | undefined): HeaderNames {
  const base = (ctx.pluginMetadata('limit-count') as HeaderNames | undefined) ?? DEFAULT_HEADERS;
  let byPrefix = namesByMetadata.get(base);
  if (byPrefix === undefined) namesByMetadata.set(base, (byPrefix = new Map()));
  const slot = prefix ?? NO_PREFIX;
  let names = byPrefix.get(slot);
  if (names === undefined) {
    const name = (header: string) => (prefix === undefined ? header : header.replace('RateLimit-', `${prefix}-RateLimit-`)).toLowerCase();
    names = { limit_header: name(base.limit_header), remaining_header: name(base.remaining_header), reset_header: name(base.reset_header) };
    byPrefix.set(slot, names);
  }
  return names;
}

/** One limit as it applies to this request. */
interface Resolved {
  readonly limit: number;
  readonly window: number;
  readonly key: string;
  readonly headerPrefix: string | undefined;
}

/** The rules that apply to this request (a rule whose key has no value does not). */
function resolveRules(conf: LimitCountConf, c: Compiled, rules: readonly Limit[], ctx: PluginContext): Resolved[] {
  const out: Resolved[] = [];
  for (const rule of rules) {
    const key = rule.key?.renderIfResolved(ctx.var);
    if (key === undefined) continue;
    out.push({ limit: resolveAmount(rule.count, ctx), window: resolveAmount(rule.timeWindow, ctx), key: counterKey(conf, c, ctx, key), headerPrefix: rule.headerPrefix });
  }
  return out;
}

/** What the counter said: set the headers, and reject when over the limit. */
function judge(conf: LimitCountConf, c: Compiled, ctx: PluginContext, limit: number, headerPrefix: string | undefined, result: { count: number; ttl: number }): Verdict {
  const remaining = limit - result.count;
  if (conf.show_limit_quota_header) {
    const names = headerNames(ctx, headerPrefix);
    const response = ctx.response;
    response.setHeader(names.limit_header, limit);
    response.setHeader(names.remaining_header, remaining < 0 ? 0 : remaining);
    response.setHeader(names.reset_header, result.ttl);
  }
  return remaining < 0 ? c.rejection : undefined;
}

function counterFailed(conf: LimitCountConf, ctx: PluginContext, err: unknown): Verdict {
  ctx.log.error(`failed to limit count: ${errorMessage(err)}`);
  return conf.allow_degradation ? undefined : [500, { error_msg: 'failed to limit count' }];
}

/**
 * Count this request against one limit: synchronous when the counters are
 * (one worker), a promise when they live in the primary or in Redis. `next`
 * runs after an accepted count (the following rule).
 */
function countOne(
  conf: LimitCountConf,
  c: Compiled,
  ctx: PluginContext,
  limit: number,
  window: number,
  key: string,
  headerPrefix: string | undefined,
  next?: () => Verdict | Promise<Verdict>,
): Verdict | Promise<Verdict> {
  let result: ReturnType<SharedCounters['incr']>;
  try {
    result = (c.counters ?? ctx.counters).incr(key, 1, window);
  } catch (err) {
    return counterFailed(conf, ctx, err);
  }
  if (isThenable(result)) {
    return result.then(
      (r) => judge(conf, c, ctx, limit, headerPrefix, r) ?? next?.(),
      (err: unknown) => counterFailed(conf, ctx, err),
    );
  }
  return judge(conf, c, ctx, limit, headerPrefix, result) ?? next?.();
}

/** Count against each rule in turn; the first rejection ends the request. */
function countRules(conf: LimitCountConf, c: Compiled, ctx: PluginContext, rules: readonly Resolved[], i: number): Verdict | Promise<Verdict> {
  const rule = rules[i];
  if (rule === undefined) return undefined;
  const next = i + 1 < rules.length ? () => countRules(conf, c, ctx, rules, i + 1) : undefined;
  return countOne(conf, c, ctx, rule.limit, rule.window, rule.key, rule.headerPrefix, next);
}

// ---- configuration checks -------------------------------------------------------

/** Fields compared between members of a group (APISIX compares the schema's properties only). */
function groupFields(conf: LimitCountConf): string[] {
  return [...Object.keys(schemaProperties), ...Object.keys(policyProperties[conf.policy]?.properties ?? {})];
}

/**
 * The first configuration seen for each group, in APISIX's per-process
 * plugin cache (8 groups, least recently used evicted, no expiry since the
 * entries carry no version).
 */
const GROUP_MEMORY = 8;
const groupConfs = new Map<string, string>();

function groupFingerprint(conf: LimitCountConf): string {
  const picked: Record<string, unknown> = {};
  for (const field of groupFields(conf)) picked[field] = conf[field];
  return stableJson(picked);
}

function checkGroup(conf: LimitCountConf & { group: string }): string | undefined {
  const fingerprint = groupFingerprint(conf);
  const previous = groupConfs.get(conf.group);
  if (previous === undefined) {
    if (groupConfs.size >= GROUP_MEMORY) groupConfs.delete(groupConfs.keys().next().value as string);
    groupConfs.set(conf.group, fingerprint);
    return undefined;
  }
  // Refresh recency, as an LRU cache hit does.
  groupConfs.delete(conf.group);
  groupConfs.set(conf.group, previous);
  return previous === fingerprint ? undefined : 'group conf mismatched';
}

function checkConf(conf: LimitCountConf, kind: ConfKind): string | undefined {
  if (kind === 'metadata') return undefined;
  if (conf.rules !== undefined && (conf.count !== undefined || conf.time_window !== undefined)) {
    return 'count/time_window and rules cannot be specified at the same time';
  }
  if (conf.group !== undefined && conf.rules !== undefined) return 'group and rules cannot be specified at the same time';
  if (conf.policy !== 'local' && conf.sync_interval !== NO_DELAYED_SYNC) {
    if (conf.sync_interval < 0.1) return 'sync_interval should not be smaller than 0.1';
    if (typeof conf.time_window === 'number' && conf.sync_interval >= conf.time_window) return 'sync_interval should be smaller than time_window';
  }
  const keys = new Set<string>();
  for (const rule of conf.rules ?? []) {
    if (keys.has(rule.key)) return `duplicate key '${rule.key}' in rules`;
    keys.add(rule.key);
  }
  if (conf.policy !== 'local' && conf.policy !== 'redis') return `policy "${conf.policy}" is not supported by fngate yet, only "local" and "redis" are`;
  if (conf.window_type !== 'fixed') return `window_type "${conf.window_type}" is not supported by fngate yet, only "fixed" is`;
  // Last, so that only configurations that are otherwise accepted become a group's reference.
  if (conf.group !== undefined) return checkGroup(conf as LimitCountConf & { group: string });
  return undefined;
}

/** Forget the configurations remembered per group (tests). */
export function resetLimitCountGroups(): void {
  groupConfs.clear();
}

/**
 * @example
 *   // route plugins: { "limit-count": { "count": 100, "time_window": 60, "key": "http_x_api_key", "rejected_code": 429 } }
 */
const limitCount = definePlugin<LimitCountConf>({
  name: 'limit-count',
  version: '0.5',
  priority: 1002,
  schema,
  metadataSchema,
  encryptFields: ['redis_password', 'sentinel_password'],

  check: checkConf,

  access(conf, ctx) {
    const c = compiled(conf);
    try {
      if (c.single !== undefined) {
        const key = counterKey(conf, c, ctx, keyOf(conf, c, ctx));
        return countOne(conf, c, ctx, resolveAmount(c.single.count, ctx), resolveAmount(c.single.timeWindow, ctx), key, undefined);
      }
      return countRules(conf, c, ctx, resolveRules(conf, c, c.rules ?? [], ctx), 0);
    } catch (err) {
      if (!(err instanceof LimitResolutionError)) throw err;
      ctx.log.error(`failed to get rate limit rules: ${err.message}`);
      return conf.allow_degradation ? undefined : 500;
    }
  },
});

// Defaults are filled by the schema before any phase runs, so the registry's
// untyped conf always has this shape; phase parameters are contravariant, hence the cast.
export default limitCount;
