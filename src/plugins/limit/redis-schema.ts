/**
 * The Redis fields of the rate-limiting plugins' schemas (APISIX's
 * `apisix/utils/redis-schema.lua`), the `if policy == ... then ...`
 * chain that applies them, and the conversion of a configuration into a
 * {@link RedisTarget}.
 */
import type { RedisTarget } from './redis-connection.js';

export interface PolicySchema {
  readonly properties: Record<string, unknown>;
  readonly required: string[];
}

/** `policy: redis`: one server. */
export const REDIS_POLICY: PolicySchema = {
  properties: {
    redis_host: { type: 'string', minLength: 2 },
    redis_port: { type: 'integer', minimum: 1, default: 6379 },
    redis_username: { type: 'string', minLength: 1 },
    redis_password: { type: 'string', minLength: 0 },
    redis_database: { type: 'integer', minimum: 0, default: 0 },
    redis_timeout: { type: 'integer', minimum: 1, default: 1000 },
    redis_ssl: { type: 'boolean', default: false },
    redis_ssl_verify: { type: 'boolean', default: false },
    redis_keepalive_timeout: { type: 'integer', minimum: 1000, default: 10000 },
    redis_keepalive_pool: { type: 'integer', minimum: 1, default: 100 },
  },
  required: ['redis_host'],
};

/** `policy: redis-cluster`: validated, not served by fngate yet. */
export const REDIS_CLUSTER_POLICY: PolicySchema = {
  properties: {
    redis_cluster_nodes: { type: 'array', minItems: 1, items: { type: 'string', minLength: 2, maxLength: 100 } },
    redis_password: { type: 'string', minLength: 0 },
    redis_timeout: { type: 'integer', minimum: 1, default: 1000 },
    redis_cluster_name: { type: 'string' },
    redis_cluster_ssl: { type: 'boolean', default: false },
    redis_cluster_ssl_verify: { type: 'boolean', default: false },
    redis_keepalive_timeout: { type: 'integer', minimum: 1000, default: 10000 },
    redis_keepalive_pool: { type: 'integer', minimum: 1, default: 100 },
  },
  required: ['redis_cluster_nodes', 'redis_cluster_name'],
};

/**
 * `if policy == a then A else if policy == b then B ...`, as APISIX nests
 * them. `required: ['policy']` in each `if` stands in for the default:
 * api7/jsonschema fills `policy: local` before evaluating `if`, while Ajv
 * evaluates `if` first, where an absent policy would match vacuously.
 *
 * @example
 *   const schema = { type: 'object', properties, ...policyConditions([['redis', REDIS_POLICY]]) };
 */
export function policyConditions(branches: ReadonlyArray<readonly [policy: string, schema: PolicySchema]>): Record<string, unknown> {
  let chain: Record<string, unknown> | undefined;
  for (let i = branches.length - 1; i >= 0; i--) {
    const [policy, then] = branches[i] as readonly [string, PolicySchema];
    chain = {
      if: { properties: { policy: { enum: [policy] } }, required: ['policy'] },
      then,
      ...(chain ? { else: chain } : {}),
    };
  }
  return chain ?? {};
}

/** The `redis_*` fields of a configuration with `policy: redis`, defaults filled. */
export interface RedisPolicyConf {
  readonly redis_host?: string;
  readonly redis_port?: number;
  readonly redis_username?: string;
  readonly redis_password?: string;
  readonly redis_database?: number;
  readonly redis_timeout?: number;
  readonly redis_ssl?: boolean;
  readonly redis_ssl_verify?: boolean;
  readonly redis_keepalive_timeout?: number;
}

/**
 * Where a `policy: redis` configuration counts.
 *
 * @example
 *   redisTargetOf({ redis_host: '10.0.0.5', redis_password: 's3cret' }); // port 6379, database 0, 1 s timeout
 */
export function redisTargetOf(conf: RedisPolicyConf): RedisTarget {
  return {
    host: conf.redis_host ?? '127.0.0.1',
    port: conf.redis_port ?? 6379,
    ...(conf.redis_username !== undefined ? { username: conf.redis_username } : {}),
    ...(conf.redis_password !== undefined ? { password: conf.redis_password } : {}),
    database: conf.redis_database ?? 0,
    timeoutMs: conf.redis_timeout ?? 1000,
    tls: conf.redis_ssl ?? false,
    tlsVerify: conf.redis_ssl_verify ?? false,
    idleMs: conf.redis_keepalive_timeout ?? 10_000,
  };
}
