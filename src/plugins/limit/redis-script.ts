/**
 * A Lua script run on Redis with EVALSHA: only the 40-byte digest travels
 * per call. When the server does not know the script (a restart, a
 * `SCRIPT FLUSH`, a fresh replica), EVAL sends it once, which also caches
 * it again on the server.
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

export class RedisScript {
  /** SHA-1 of the source, hex: what EVALSHA names. */
  readonly sha: string;

  /**
   * @example
   *   const incr = new RedisScript("return redis.call('INCRBY', KEYS[1], ARGV[1])");
   *   const count = await incr.run(client, 'visits', 1);
   */
  constructor(readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  /** Run with one key and `args`; Redis's reply as ioredis decodes it. */
  async run(client: Redis, key: string, ...args: ReadonlyArray<string | number>): Promise<unknown> {
    try {
      return await client.evalsha(this.sha, 1, key, ...args);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      return client.eval(this.source, 1, key, ...args);
    }
  }
}
