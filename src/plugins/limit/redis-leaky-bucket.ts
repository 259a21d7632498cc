/**
 * limit-req's `policy: redis`: the leaky bucket (leaky-bucket.ts) kept in
 * Redis, shared by every worker of every node using the same server.
 *
 * One script reads, decides and writes atomically, on Redis's own clock
 * (`TIME`), so concurrent requests from several gateways are judged one
 * after another and gateways' clocks need not agree. (APISIX's redis
 * policy reads and writes in separate commands, on each node's clock.) The
 * bucket is a hash `{excess, last}` that expires once fully drained, which
 * is exactly when it becomes equivalent to an absent one.
 */
import { REJECTED, type LeakyBuckets } from './leaky-bucket.js';
import { RedisReplyError, type RedisConnection } from './redis-connection.js';
import { RedisScript } from './redis-script.js';

/**
 * KEYS[1]: bucket; ARGV[1]: rate, requests/s; ARGV[2]: burst, requests.
 * Returns {accepted (1/0), excess as text} (Lua numbers would be truncated to integers).
 */
const INCOMING = new RedisScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local excess = 0
local state = redis.call('HMGET', KEYS[1], 'excess', 'last')
if state[1] and state[2] then
  excess = math.max(tonumber(state[1]) - rate * math.abs(now - tonumber(state[2])) / 1000 + 1, 0)
  if excess > burst then
    return {0, tostring(excess)}
  end
end
redis.call('HSET', KEYS[1], 'excess', tostring(excess), 'last', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil((excess + 1) / rate * 1000))
return {1, tostring(excess)}
`);

/** Key prefix in Redis, as APISIX's (`limit_req:`). */
const KEY_PREFIX = 'limit_req:';

/**
 * @example
 *   const buckets = new RedisLeakyBuckets(redisConnection(target));
 *   const delay = await buckets.incoming('limit-req:route1:ab12:10.0.0.1', 5, 10);
 */
export class RedisLeakyBuckets implements LeakyBuckets {
  constructor(readonly connection: RedisConnection) {}

  incoming(key: string, rate: number, burst: number): Promise<number> {
    return this.connection.call(async (client) => {
      const reply = await INCOMING.run(client, KEY_PREFIX + key, rate, burst);
      const [accepted, excessText] = Array.isArray(reply) ? (reply as unknown[]) : [];
      const excess = typeof excessText === 'string' ? Number(excessText) : Number.NaN;
      if (Number.isNaN(excess)) {
        throw new RedisReplyError(`redis ${this.connection.name} answered the bucket script with ${JSON.stringify(reply)}`);
      }
      return accepted === 1 ? excess / rate : REJECTED;
    });
  }
}
