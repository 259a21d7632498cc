import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PoolManager, PoolManagerClosedError } from './pools.js';

const origin = { scheme: 'http', host: '127.0.0.1', port: 1980 } as const;
const settings = { size: 4, idleTimeoutMs: 60_000, maxRequests: 1000, connectTimeoutMs: 1000 };

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 3000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('PoolManager', () => {
  test('one pool per origin and settings, closed after the last release and the linger time', async () => {
    const pools = new PoolManager({ lingerMs: 30 });
    const a = pools.acquire(origin, settings);
    const b = pools.acquire(origin, settings);
    const other = pools.acquire(origin, { ...settings, size: 8 });
    assert.equal(a.pool, b.pool);
    assert.notEqual(a.pool, other.pool);
    assert.equal(pools.size, 2);
    a.release();
    a.release(); // idempotent: b still holds it
    await new Promise((r) => setTimeout(r, 60));
    assert.equal(b.pool.closed, false);
    b.release();
    await until(() => pools.size === 1, 'the released pool to close');
    assert.equal(b.pool.closed, true);
    await pools.close();
    assert.equal(other.pool.closed, true);
  });

  test('re-acquiring during the linger time keeps the same warm pool', async () => {
    const pools = new PoolManager({ lingerMs: 50 });
    const first = pools.acquire(origin, settings);
    first.release();
    const second = pools.acquire(origin, settings);
    assert.equal(second.pool, first.pool);
    await new Promise((r) => setTimeout(r, 80));
    assert.equal(second.pool.closed, false);
    await pools.close();
  });

  test('a closed manager refuses new leases', async () => {
    const pools = new PoolManager();
    await pools.close();
    assert.throws(() => pools.acquire(origin, settings), PoolManagerClosedError);
  });
});
