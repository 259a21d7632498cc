import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { compileUpstream } from './compile.js';
import { UpstreamConfigError } from './errors.js';
import { PoolManager } from './pools.js';
import type { UpstreamConf } from './types.js';

const defaults = { keepalive: 320, keepalive_requests: 1000, keepalive_timeout: 60 };
const pools = new PoolManager({ lingerMs: 0 });
after(() => pools.close());

const compile = (conf: UpstreamConf, extra: Partial<Parameters<typeof compileUpstream>[1]> = {}) =>
  compileUpstream(conf, { pools, defaults, ...extra });

describe('compileUpstream', () => {
  test('map form: ports default by scheme, IPv6 stays bracketed, Host for pass_host node', () => {
    const up = compile({ nodes: { '127.0.0.1:1980': 1, 'example.com': 2, '[::1]:8080': 3, '[::2]': 1 } });
    assert.deepEqual(up.nodes.map((n) => [n.host, n.port, n.weight, n.address, n.hostHeader]), [
      ['127.0.0.1', 1980, 1, '127.0.0.1:1980', '127.0.0.1:1980'],
      ['example.com', 80, 2, 'example.com:80', 'example.com'],
      ['[::1]', 8080, 3, '[::1]:8080', '[::1]:8080'],
      ['[::2]', 80, 1, '[::2]:80', '[::2]'],
    ]);
    const tls = compile({ scheme: 'https', nodes: [{ host: 'example.com', weight: 1 }, { host: 'example.com', port: 8443, weight: 1, priority: 2, metadata: { zone: 'a' } }] });
    assert.deepEqual(tls.nodes.map((n) => [n.port, n.hostHeader, n.priority, n.metadata]), [
      [443, 'example.com', 0, undefined],
      [8443, 'example.com:8443', 2, { zone: 'a' }],
    ]);
    up.release();
    tls.release();
  });

  test('defaults: roundrobin, pass_host pass, retries = nodes − 1, 60 s timeouts, no retry_timeout', () => {
    const up = compile({ nodes: { '127.0.0.1:1': 1, '127.0.0.1:2': 1, '127.0.0.1:3': 1 } });
    assert.equal(up.type, 'roundrobin');
    assert.equal(up.passHost, 'pass');
    assert.equal(up.retries, 2);
    assert.equal(up.retryTimeoutMs, 0);
    assert.deepEqual(up.timeouts, { connectMs: 60_000, sendMs: 60_000, readMs: 60_000 });
    up.release();
    const explicit = compile({ nodes: { '127.0.0.1:1': 1 }, retries: 0, retry_timeout: 1.5, timeout: { connect: 0.5, send: 2, read: 3 } });
    assert.equal(explicit.retries, 0);
    assert.equal(explicit.retryTimeoutMs, 1500);
    assert.deepEqual(explicit.timeouts, { connectMs: 500, sendMs: 2000, readMs: 3000 });
    explicit.release();
  });

  test('a route timeout replaces the upstream timeout', () => {
    const up = compile({ nodes: { '127.0.0.1:1': 1 }, timeout: { connect: 1, send: 1, read: 1 } }, { routeTimeout: { connect: 4, send: 5, read: 6 } });
    assert.deepEqual(up.timeouts, { connectMs: 4000, sendMs: 5000, readMs: 6000 });
    up.release();
  });

  test('upstreams with the same node and pool settings share one pool', () => {
    const a = compile({ nodes: { '127.0.0.1:1980': 1 } });
    const b = compile({ nodes: [{ host: '127.0.0.1', port: 1980, weight: 5 }] });
    const c = compile({ nodes: { '127.0.0.1:1980': 1 }, keepalive_pool: { size: 2, idle_timeout: 60, requests: 1000 } });
    assert.equal(a.nodes[0]!.pool, b.nodes[0]!.pool);
    assert.notEqual(a.nodes[0]!.pool, c.nodes[0]!.pool);
    assert.equal(pools.size, 2);
    const pool = c.nodes[0]!.pool;
    c.release();
    c.release(); // idempotent
    assert.equal(pools.size, 1);
    assert.equal(pool.closed, true);
    a.release();
    assert.equal(pools.size, 1, 'b still holds the shared pool');
    b.release();
    assert.equal(pools.size, 0);
  });

  test('pass_host rewrite keeps upstream_host; other modes ignore it', () => {
    const up = compile({ nodes: { '127.0.0.1:1': 1 }, pass_host: 'rewrite', upstream_host: 'internal.example' });
    assert.equal(up.upstreamHost, 'internal.example');
    up.release();
    const node = compile({ nodes: { '127.0.0.1:1': 1 }, pass_host: 'node', upstream_host: 'ignored.example' });
    assert.equal(node.upstreamHost, undefined);
    node.release();
  });

  test('rejects what it cannot serve, without leaking pools', () => {
    const before = pools.size;
    const cases: UpstreamConf[] = [
      { scheme: 'grpc', nodes: { '127.0.0.1:1': 1 } },
      { type: 'magic', nodes: { '127.0.0.1:1': 1 } },
      { pass_host: 'rewrite', nodes: { '127.0.0.1:1': 1 } },
      { nodes: { '::1:80': 1 } },
      { nodes: { '127.0.0.1:99999': 1 } },
      { nodes: [{ host: '::1', weight: 1 }] },
      { nodes: { '127.0.0.1:1': -1 } },
    ];
    for (const conf of cases) {
      assert.throws(() => compile(conf), UpstreamConfigError, JSON.stringify(conf));
    }
    assert.equal(pools.size, before);
  });

  test('no nodes compiles to an upstream with none', () => {
    const up = compile({ nodes: {} });
    assert.equal(up.nodes.length, 0);
    assert.equal(up.retries, 0);
    up.release();
  });
});
