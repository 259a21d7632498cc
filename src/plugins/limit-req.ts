/**
 * limit-req (priority 1001, access): at most `rate` requests per second per
 * key, with a `burst` of excess requests slowed down to the rate instead of
 * refused — nginx's `limit_req` leaky bucket (limit/leaky-bucket.ts), as
 * APISIX 3.18's `apisix/plugins/limit-req.lua` and `limit-req/init.lua`
 * apply it:
 *
 * - the key is a variable (`key_type: var`) or a `$var` combination; a key
 *   without a value falls back to the client address;
 * - buckets are per configuration (`<conf_type><conf_id>:<conf hash>:<key>`),
 *   so editing the plugin's settings starts afresh;
 * - a request above the rate but within `burst` waits `excess / rate`
 *   seconds (a timer: other requests go on) unless `nodelay`; beyond the
 *   burst it is refused with `rejected_code` (503), with
 *   `{"error_msg": rejected_msg}` when a message is configured;
 * - `rate` / `burst` may be `$var` strings resolved per request, and
 *   `rules` applies several buckets at once, one after the other;
 * - `policy: redis` keeps the buckets in Redis (limit/redis-leaky-bucket.ts),
 *   shared by every worker of every node; a Redis failure answers 500 unless
 *   `allow_degradation`.
 *
 * With `policy: local` the buckets are node-wide, like APISIX's shared
 * dict: `ctx.counters.leakyBucket` (src/cluster/counters.ts), in the worker
 * when the node has one, in the primary otherwise. If the primary does not
 * answer in time, buckets fall back to the worker until it does (limits then
 * hold per worker). `policy: redis` shares them between nodes.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { PluginContext } from '../pdk/context.js';
import type { ConfKind, Verdict } from '../pdk/plugin.js';
import { definePlugin } from '../pdk/plugin.js';
import { FngateError, errorMessage } from '../errors.js';
import { luaToString } from '../resources/lua-text.js';
import { luaToNumber } from '../util/lua-number.js';
import { compileVarTemplate, type VarTemplate } from './lib/var-template.js';
import { confVersion } from './limit/conf-version.js';
import { LocalLeakyBuckets, REJECTED, type LeakyBuckets } from './limit/leaky-bucket.js';
import { redisConnection } from './limit/redis-connection.js';
import { RedisLeakyBuckets } from './limit/redis-leaky-bucket.js';
import { policyConditions, redisTargetOf, REDIS_CLUSTER_POLICY, REDIS_POLICY, type RedisPolicyConf } from './limit/redis-schema.js';
import { isThenable } from '../util/maybe-async.js';
import { compiledPerConf } from './lib/per-conf.js';

export interface LimitReqRule {
  readonly rate: number | string;
  readonly burst: number | string;
  readonly key: string;
}

export interface LimitReqConf {
  readonly rate?: number | string;
  readonly burst?: number | string;
  readonly key?: string;
  readonly key_type: 'var' | 'var_combination';
  readonly rules?: readonly LimitReqRule[];
  readonly policy: 'local' | 'redis' | 'redis-cluster';
  readonly rejected_code: number;
  readonly rejected_msg?: string;
  readonly nodelay: boolean;
  readonly allow_degradation: boolean;
  readonly [field: string]: unknown;
}

const rateSchema = { oneOf: [{ type: 'number', exclusiveMinimum: 0 }, { type: 'string' }] };
const burstSchema = { oneOf: [{ type: 'number', minimum: 0 }, { type: 'string' }] };

const schema = {
  type: 'object',
  properties: {
    rate: rateSchema,
    burst: burstSchema,
    key: { type: 'string' },
    key_type: { type: 'string', enum: ['var', 'var_combination'], default: 'var' },
    rules: {
      type: 'array',
      items: {
        type: 'object',
        properties: { rate: rateSchema, burst: burstSchema, key: { type: 'string' } },
        required: ['rate', 'burst', 'key'],
      },
    },
    policy: { type: 'string', enum: ['redis', 'redis-cluster', 'local'], default: 'local' },
    rejected_code: { type: 'integer', minimum: 200, maximum: 599, default: 503 },
    rejected_msg: { type: 'string', minLength: 1 },
    nodelay: { type: 'boolean', default: false },
    allow_degradation: { type: 'boolean', default: false },
  },
  oneOf: [{ required: ['rate', 'burst', 'key'] }, { required: ['rules'] }],
  ...policyConditions([['redis', REDIS_POLICY], ['redis-cluster', REDIS_CLUSTER_POLICY]]),
};

// ---- compiled configuration ---------------------------------------------------

/** A rate or burst: fixed, or a `$var` string resolved per request. */
type Amount = number | VarTemplate;

interface Rule {
  readonly rate: Amount;
  readonly burst: Amount;
  readonly key: VarTemplate;
}

interface Compiled {
  /** Without `rules`: the one bucket's rate and burst. */
  readonly rate: Amount;
  readonly burst: Amount;
  readonly keyTemplate: VarTemplate | undefined;
  readonly rules: readonly Rule[] | undefined;
  /** APISIX's plugin-level `conf_version`: changes only when this plugin's settings change. */
  readonly version: string;
  readonly rejection: Verdict;
  /** Redis buckets; undefined for `policy: local` (the node's, through `ctx.counters`). */
  readonly buckets: LeakyBuckets | undefined;
}

/** Buckets in this process, for a `ctx.counters` without leaky buckets (a custom embedding or a test). */
let processBuckets: LocalLeakyBuckets | undefined;

/** Count a request against one bucket, wherever the policy keeps it. */
function incoming(c: Compiled, ctx: PluginContext, limit: Limit): number | Promise<number> {
  if (c.buckets !== undefined) return c.buckets.incoming(limit.key, limit.rate, limit.burst);
  const counters = ctx.counters;
  if (counters.leakyBucket !== undefined) return counters.leakyBucket(limit.key, limit.rate, limit.burst);
  return (processBuckets ??= new LocalLeakyBuckets()).incoming(limit.key, limit.rate, limit.burst);
}

function amount(value: number | string): Amount {
  return typeof value === 'number' ? value : compileVarTemplate(value);
}

function compile(conf: LimitReqConf): Compiled {
  return {
    rate: amount(conf.rate ?? 0),
    burst: amount(conf.burst ?? 0),
    keyTemplate: conf.key_type === 'var_combination' && conf.key !== undefined ? compileVarTemplate(conf.key) : undefined,
    rules: conf.rules?.map((rule) => ({ rate: amount(rule.rate), burst: amount(rule.burst), key: compileVarTemplate(rule.key) })),
    version: confVersion(conf),
    rejection: conf.rejected_msg === undefined ? conf.rejected_code : [conf.rejected_code, { error_msg: conf.rejected_msg }],
    buckets: conf.policy === 'redis' ? new RedisLeakyBuckets(redisConnection(redisTargetOf(conf as RedisPolicyConf))) : undefined,
  };
}

const compiled = compiledPerConf(compile);

// ---- request time -----------------------------------------------------------------

/** A `$var` rate or burst that did not resolve to a usable number. */
export class LimitReqResolutionError extends FngateError {
  readonly code = 'LIMIT_REQ_UNRESOLVED';
}

function resolveAmount(value: Amount, ctx: PluginContext, what: 'rate' | 'burst'): number {
  if (typeof value === 'number') return value;
  const text = value.render(ctx.var);
  const n = luaToNumber(text);
  if (n === undefined || !Number.isFinite(n)) throw new LimitReqResolutionError(`resolved value is not a number: ${text}`);
  // The schema's bounds, which a resolved value must meet too: a rate of 0 would never drain.
  if (what === 'rate' ? n <= 0 : n < 0) throw new LimitReqResolutionError(`resolved ${what} is out of range: ${text}`);
  return n;
}

/** One bucket as it applies to this request. */
interface Limit {
  readonly rate: number;
  readonly burst: number;
  readonly key: string;
}

function bucketKey(c: Compiled, ctx: PluginContext, key: string): string {
  return `limit-req:${ctx.conf_type ?? ''}${ctx.conf_id ?? ''}:${c.version}:${key}`;
}

/** The value limited on: the configured variable or combination; the client address when empty. */
function keyOf(conf: LimitReqConf, c: Compiled, ctx: PluginContext): string {
  const vars = ctx.var;
  let key: unknown = c.keyTemplate !== undefined ? c.keyTemplate.renderIfResolved(vars) : vars[conf.key ?? ''];
  if (key === undefined || key === null) key = vars.remote_addr;
  return luaToString(key);
}

/**
 * The rules that apply to this request. As in APISIX, a rule whose key has
 * no value, or whose rate or burst does not resolve, does not apply. Each
 * rule has its own bucket, even when two keys render alike.
 */
function resolveRules(c: Compiled, rules: readonly Rule[], ctx: PluginContext): Limit[] {
  const out: Limit[] = [];
  for (let i = 0; i < rules.length; i++) {
    const rule = rules[i] as Rule;
    const key = rule.key.renderIfResolved(ctx.var);
    if (key === undefined) continue;
    try {
      out.push({ rate: resolveAmount(rule.rate, ctx, 'rate'), burst: resolveAmount(rule.burst, ctx, 'burst'), key: `${bucketKey(c, ctx, key)}:${i + 1}` });
    } catch (err) {
      if (!(err instanceof LimitReqResolutionError)) throw err;
      ctx.log.warn(`limit-req rule ${i + 1} skipped: ${err.message}`);
    }
  }
  return out;
}

function bucketFailed(conf: LimitReqConf, ctx: PluginContext, err: unknown): Verdict {
  ctx.log.error(`failed to limit req: ${errorMessage(err)}`);
  return conf.allow_degradation ? undefined : 500;
}

/** nginx does not bother sleeping below a millisecond (APISIX: `delay >= 0.001`). */
const MIN_DELAY_SECONDS = 0.001;

/**
 * Count the request against limits[i..] in turn: refuse at the first
 * bucket over its burst, wait where a bucket says so. Synchronous while
 * nothing waits (local buckets within the rate).
 */
function applyLimits(conf: LimitReqConf, c: Compiled, ctx: PluginContext, limits: readonly Limit[], i: number): Verdict | Promise<Verdict> {
  const limit = limits[i];
  if (limit === undefined) return undefined;
  let delay: number | Promise<number>;
  try {
    delay = incoming(c, ctx, limit);
  } catch (err) {
    return bucketFailed(conf, ctx, err);
  }
  if (isThenable(delay)) {
    return delay.then((d) => afterIncoming(conf, c, ctx, limits, i, d), (err: unknown) => bucketFailed(conf, ctx, err));
  }
  return afterIncoming(conf, c, ctx, limits, i, delay);
}

function afterIncoming(conf: LimitReqConf, c: Compiled, ctx: PluginContext, limits: readonly Limit[], i: number, delay: number): Verdict | Promise<Verdict> {
  if (delay === REJECTED) return c.rejection;
  if (delay >= MIN_DELAY_SECONDS && !conf.nodelay) {
    return sleep(delay * 1000).then(() => applyLimits(conf, c, ctx, limits, i + 1));
  }
  return applyLimits(conf, c, ctx, limits, i + 1);
}

// ---- configuration checks -------------------------------------------------------

function checkConf(conf: LimitReqConf, kind: ConfKind): string | undefined {
  if (kind === 'metadata') return undefined;
  const keys = new Set<string>();
  for (const rule of conf.rules ?? []) {
    if (keys.has(rule.key)) return `duplicate key '${rule.key}' in rules`;
    keys.add(rule.key);
  }
  if (conf.policy === 'redis-cluster') return 'policy "redis-cluster" is not supported by fngate yet, only "local" and "redis" are';
  return undefined;
}

/**
 * @example
 *   // route plugins: { "limit-req": { "rate": 5, "burst": 10, "key": "remote_addr", "rejected_code": 429 } }
 */
const limitReq = definePlugin<LimitReqConf>({
  name: 'limit-req',
  version: '0.1',
  priority: 1001,
  schema,
  encryptFields: ['redis_password'],

  check: checkConf,

  access(conf, ctx) {
    const c = compiled(conf);
    let limits: Limit[];
    if (c.rules !== undefined) {
      limits = resolveRules(c, c.rules, ctx);
    } else {
      try {
        limits = [{ rate: resolveAmount(c.rate, ctx, 'rate'), burst: resolveAmount(c.burst, ctx, 'burst'), key: bucketKey(c, ctx, keyOf(conf, c, ctx)) }];
      } catch (err) {
        if (!(err instanceof LimitReqResolutionError)) throw err;
        ctx.log.error(`failed to get limit req rules: ${err.message}`);
        return conf.allow_degradation ? undefined : 500;
      }
    }
    return applyLimits(conf, c, ctx, limits, 0);
  },
});

export default limitReq;
