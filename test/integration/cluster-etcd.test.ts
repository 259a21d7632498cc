/**
 * Nodes sharing config through a real etcd (issue "Scale out"): a write on
 * one node is served by the other; with etcd down both keep serving their
 * last good config and say so; when etcd returns they catch up; a node
 * started while etcd is down waits for it.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { adminRequest, startGatewayProcess, type GatewayProcess } from '../helpers/gateway-process.js';
import { freePort, startUpstream, waitFor, type TestUpstream } from '../helpers/net.js';
import { startEtcd, type EtcdServer } from '../helpers/etcd.js';

function etcdConfig(etcd: EtcdServer, controlPort: number) {
  return {
    apisix: { enable_control: true, control: { ip: '127.0.0.1', port: controlPort } },
    deployment: {
      role_traditional: { config_provider: 'etcd' },
      etcd: { host: [etcd.url], prefix: '/apisix', timeout: 2, resync_delay: 1 },
    },
    nginx_config: { worker_processes: 2 },
  };
}

async function status(port: number): Promise<{ status: string; store: { connected: boolean; last_revision?: number }; workers: { ready: number } }> {
  const res = await request(`http://127.0.0.1:${port}/v1/status`);
  return (await res.body.json()) as never;
}

async function serves(gw: GatewayProcess, path: string, name: string): Promise<boolean> {
  const res = await request(`${gw.proxyUrl}${path}`, { reset: true });
  const body = await res.body.text();
  return res.statusCode === 200 && body.includes(`"name":"${name}"`);
}

describe('two nodes on one etcd', () => {
  let etcd: EtcdServer;
  let a: GatewayProcess;
  let b: GatewayProcess;
  let aControl: number;
  let bControl: number;
  let up1: TestUpstream;
  let up2: TestUpstream;

  before(async () => {
    etcd = await startEtcd();
    [up1, up2] = await Promise.all([startUpstream('one'), startUpstream('two')]);
    aControl = await freePort();
    bControl = await freePort();
    a = await startGatewayProcess({ config: etcdConfig(etcd, aControl) });
    b = await startGatewayProcess({ config: etcdConfig(etcd, bControl) });
  });
  after(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    a?.cleanup();
    b?.cleanup();
    await Promise.all([up1.close(), up2.close(), etcd.destroy()]);
  });

  test('a write on one node is served by the other, and both use APISIX keys', async () => {
    const put = await adminRequest(a, 'PUT', '/apisix/admin/routes/1', { uri: '/shared', upstream: { nodes: { [up1.node]: 1 } } });
    assert.equal(put.status, 201);
    await waitFor(() => serves(b, '/shared', 'one'), { what: 'node B serves the route written on node A' });
    const raw = await etcd.call<{ kvs?: Array<{ key: string; value: string }> }>('/v3/kv/range', { key: Buffer.from('/apisix/routes/1').toString('base64') });
    const value = JSON.parse(Buffer.from(raw.kvs?.[0]?.value ?? '', 'base64').toString()) as { uri: string };
    assert.equal(value.uri, '/shared', 'stored at APISIX\'s key with APISIX\'s value');
    // Node B's Admin API sees it too (both read the same store).
    assert.equal((await adminRequest(b, 'GET', '/apisix/admin/routes/1')).status, 200);
  });

  test('an update on node B reaches node A', async () => {
    await adminRequest(b, 'PATCH', '/apisix/admin/routes/1/upstream/nodes', { [up2.node]: 1 });
    await waitFor(() => serves(a, '/shared', 'two'), { what: 'node A serves the update from node B' });
    const s = await status(aControl);
    assert.equal(s.status, 'ok');
    assert.equal(s.store.connected, true);
    assert.equal(s.workers.ready, 2);
  });

  test('with etcd down both nodes keep serving and report it; after it returns they catch up', async () => {
    await etcd.stop();
    await waitFor(async () => (await status(aControl)).status === 'degraded', { what: 'node A reports the outage', timeoutMs: 10_000 });
    for (let i = 0; i < 10; i++) {
      assert.ok(await serves(a, '/shared', 'two'), 'node A still serves its last good config');
      assert.ok(await serves(b, '/shared', 'two'), 'node B still serves its last good config');
    }
    const refused = await adminRequest(a, 'PUT', '/apisix/admin/routes/2', { uri: '/later', upstream: { nodes: { [up1.node]: 1 } } });
    assert.equal(refused.status, 503, 'writes fail clearly while etcd is down');
    assert.match(a.output(), /etcd|unavailable|unreachable/i);

    await etcd.start();
    await waitFor(async () => (await status(aControl)).status === 'ok', { what: 'node A reconnects', timeoutMs: 15_000 });
    assert.equal((await adminRequest(a, 'PUT', '/apisix/admin/routes/2', { uri: '/later', upstream: { nodes: { [up1.node]: 1 } } })).status, 201);
    await waitFor(() => serves(b, '/later', 'one'), { what: 'node B catches up after the outage', timeoutMs: 15_000 });
  });
});

test('a node started while etcd is down waits for it, then serves', async () => {
  const etcd = await startEtcd();
  await etcd.stop();
  const up = await startUpstream('late');
  const control = await freePort();
  const launched = startGatewayProcess({ config: etcdConfig(etcd, control), waitFor: 'proxy' });
  try {
    // It must not exit: give it a moment of failed attempts, then bring etcd up.
    await new Promise((r) => setTimeout(r, 1_500));
    await etcd.start();
    const gw = await launched;
    try {
      assert.match(gw.output(), /etcd is not reachable; fngate waits for it and retries/);
      assert.equal((await adminRequest(gw, 'PUT', '/apisix/admin/routes/1', { uri: '/late', upstream: { nodes: { [up.node]: 1 } } })).status, 201);
      await waitFor(() => serves(gw, '/late', 'late'), { what: 'the late node serves' });
    } finally {
      await gw.stop();
      gw.cleanup();
    }
  } finally {
    await up.close();
    await etcd.destroy();
  }
});
