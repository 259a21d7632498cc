/**
 * Passive checks through forward(): real upstreams, the outcome of each
 * attempt reported to the upstream's checker, and the balancer leaving the
 * node out once it counts as unhealthy.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { closedPort, DEFAULTS, startGateway, startUpstream, type Gateway, type Upstream } from '../../../test/upstream/helpers.js';
import { compileUpstream } from '../compile.js';
import { PoolManager } from '../pools.js';
import type { CompiledUpstream, UpstreamConf } from '../types.js';
import { HealthCheckRegistry } from './registry.js';

const pools = new PoolManager({ lingerMs: 0 });
const healthChecks = new HealthCheckRegistry();
const toClose: Array<{ close(): Promise<void> } | CompiledUpstream> = [];
after(async () => {
  for (const item of toClose.reverse()) {
    if ('release' in item) item.release();
    else await item.close();
  }
  await pools.close();
});

/** Active probes far apart, so only traffic counts here. */
const quietActive = { healthy: { interval: 300 }, unhealthy: { interval: 300 } };

async function named(name: string, status: number): Promise<Upstream> {
  const up = await startUpstream((_req, res) => res.writeHead(status, { 'x-node': name }).end());
  toClose.push(up);
  return up;
}

async function gatewayFor(conf: UpstreamConf): Promise<{ upstream: CompiledUpstream; gateway: Gateway }> {
  const upstream = compileUpstream(conf, { pools, defaults: DEFAULTS, healthChecks, key: '/apisix/upstreams/p' });
  toClose.push(upstream);
  const gateway = await startGateway(upstream);
  toClose.push(gateway);
  return { upstream, gateway };
}

async function send(gateway: Gateway): Promise<string> {
  const res = await request(`http://127.0.0.1:${gateway.port}/`);
  await res.body.dump();
  return `${res.statusCode} ${String(res.headers['x-node'] ?? '-')}`;
}

test('failing statuses from traffic mark a node unhealthy; the other node then takes all traffic', async () => {
  const bad = await named('bad', 500);
  const good = await named('good', 200);
  const { upstream, gateway } = await gatewayFor({
    nodes: { [`127.0.0.1:${bad.port}`]: 1, [`127.0.0.1:${good.port}`]: 1 },
    checks: { active: quietActive, passive: { unhealthy: { http_failures: 2 } } },
  });
  const seen: string[] = [];
  for (let i = 0; i < 4; i++) seen.push(await send(gateway));
  assert.deepEqual(seen.filter((s) => s === '500 bad').length, 2, 'two 500s, then the node is out');
  assert.equal(upstream.health?.unhealthyNodes, 1);
  for (let i = 0; i < 4; i++) assert.equal(await send(gateway), '200 good');
});

test('connection failures count as TCP failures: a refused node is no longer tried first', async () => {
  const good = await named('good', 200);
  const refused = await closedPort();
  const { upstream, gateway } = await gatewayFor({
    type: 'roundrobin',
    nodes: [{ host: '127.0.0.1', port: refused, weight: 100 }, { host: '127.0.0.1', port: good.port, weight: 1 }],
    checks: { active: quietActive, passive: { unhealthy: { tcp_failures: 1 } } },
  });
  assert.equal(await send(gateway), '200 good');
  assert.equal(gateway.outcomes.at(-1)?.attempts, 2, 'the first request tried the refused node, then the good one');
  assert.equal(upstream.health?.unhealthyNodes, 1);
  for (let i = 0; i < 3; i++) assert.equal(await send(gateway), '200 good');
  assert.deepEqual(gateway.outcomes.slice(1).map((o) => o.attempts), [1, 1, 1]);
});

test('without checks.passive, traffic does not change health', async () => {
  const bad = await named('bad', 500);
  const { upstream, gateway } = await gatewayFor({
    nodes: { [`127.0.0.1:${bad.port}`]: 1 },
    checks: { active: { ...quietActive, unhealthy: { ...quietActive.unhealthy, http_failures: 1 } } },
  });
  for (let i = 0; i < 3; i++) assert.equal(await send(gateway), '500 bad');
  assert.equal(upstream.health?.unhealthyNodes, 0);
});
