/**
 * limit-count's `policy: redis`: fixed-window counters kept in Redis, so
 * that every worker of every node pointing at the same server counts
 * against one total.
 *
 * One script does the whole increment atomically (Redis runs a script
 * without interleaving other commands): a key without a TTL starts a new
 * window (`SET key delta EX window`), otherwise the key is incremented and
 * its remaining time read. Two gateways can therefore never both start a
 * window, and no increment is lost between reading and writing.
 *
 * The counters have the same contract as the node-local ones
 * (`SharedCounters`): the count after the increment, and whole seconds
 * left in the window (rounded up, as `X-RateLimit-Reset`).
 */
import type { SharedCounters } from '../../pdk/context.js';
import { RedisReplyError, type RedisConnection } from './redis-connection.js';
import { RedisScript } from './redis-script.js';

/** KEYS[1]: counter; ARGV[1]: window, s; ARGV[2]: delta. Returns {count, seconds left}. */
const INCREMENT = new RedisScript(`
local pttl = redis.call('PTTL', KEYS[1])
if pttl < 0 then
  redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[1])
  return {tonumber(ARGV[2]), tonumber(ARGV[1])}
end
return {redis.call('INCRBY', KEYS[1], ARGV[2]), math.ceil(pttl / 1000)}
`);

/** Key prefix in Redis, APISIX's (`plugin-<name>`) before the counter key. */
const KEY_PREFIX = 'plugin-';

/**
 * Counters in one Redis server. Rejects with the connection's errors
 * (`RedisUnavailableError`, `RedisReplyError`).
 *
 * @example
 *   const counters = new RedisCounters(redisConnection(target));
 *   const { count, ttl } = await counters.incr('limit-count:route1:ab12:10.0.0.1', 1, 60);
 */
export class RedisCounters implements SharedCounters {
  constructor(readonly connection: RedisConnection) {}

  incr(key: string, delta: number, windowSeconds: number): Promise<{ count: number; ttl: number }> {
    return this.connection.call(async (client) => {
      const reply = await INCREMENT.run(client, KEY_PREFIX + key, windowSeconds, delta);
      if (!Array.isArray(reply) || typeof reply[0] !== 'number' || typeof reply[1] !== 'number') {
        throw new RedisReplyError(`redis ${this.connection.name} answered the counter script with ${JSON.stringify(reply)}`);
      }
      return { count: reply[0], ttl: reply[1] };
    });
  }
}
