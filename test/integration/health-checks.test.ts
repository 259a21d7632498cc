/**
 * Upstream health checks through the real gateway (spec/routing.md §5.1,
 * §5.3): active HTTP and TCP probes take failing nodes out of rotation and
 * bring them back, all-unhealthy upstreams keep serving on every node,
 * passive checks learn from traffic, and `apisix_upstream_status` shows each
 * node's state on the primary's export server. Intervals are the schema's
 * minimum (1 s), so each wait below is one or two probe rounds.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createTcpServer, type Server as TcpServer } from 'node:net';
import { request } from 'undici';
import { adminRequest, startGatewayProcess, type GatewayProcess } from '../helpers/gateway-process.js';
import { freePort, startUpstream, waitFor, type TestUpstream } from '../helpers/net.js';

/** A node whose health endpoint (`/health`) answers `health`; every other path answers 200 with its name. */
interface Node {
  readonly up: TestUpstream;
  health: number;
  /** Status for traffic (paths other than /health). */
  traffic: number;
}

async function startNode(name: string): Promise<Node> {
  const node: Node = { up: undefined as unknown as TestUpstream, health: 200, traffic: 200 };
  (node as { up: TestUpstream }).up = await startUpstream(name, (req, res) => {
    const status = req.url === '/health' ? node.health : node.traffic;
    res.writeHead(status, { 'x-node': name }).end(name);
  });
  return node;
}

describe('upstream health checks', () => {
  let gw: GatewayProcess;
  let metricsUrl: string;
  const nodes: Node[] = [];
  const servers: TcpServer[] = [];

  async function node(name: string): Promise<Node> {
    const n = await startNode(name);
    nodes.push(n);
    return n;
  }

  async function put(path: string, body: unknown): Promise<void> {
    const res = await adminRequest(gw, 'PUT', `/apisix/admin/${path}`, body);
    assert.ok(res.status === 200 || res.status === 201, `${path}: ${res.status} ${res.text}`);
  }

  /** `apisix_upstream_status` samples by `name|ip|port`. */
  async function upstreamStatus(): Promise<Map<string, number>> {
    const res = await request(metricsUrl);
    const text = await res.body.text();
    const out = new Map<string, number>();
    for (const match of text.matchAll(/^apisix_upstream_status\{name="([^"]*)",ip="([^"]*)",port="(\d+)"\} (\d+)$/gm)) {
      out.set(`${match[1]}|${match[2]}|${match[3]}`, Number(match[4]));
    }
    return out;
  }

  async function waitForStatus(expected: Record<string, number>, what: string): Promise<void> {
    let last = new Map<string, number>();
    await waitFor(async () => {
      last = await upstreamStatus();
      return Object.entries(expected).every(([key, value]) => last.get(key) === value);
    }, { what: `${what} (last: ${JSON.stringify([...last])})`, timeoutMs: 8_000, intervalMs: 100 });
  }

  /** `n` requests to `path`; the nodes that answered them, with their counts. */
  async function send(path: string, n: number): Promise<Map<string, number>> {
    const seen = new Map<string, number>();
    for (let i = 0; i < n; i++) {
      const res = await request(`${gw.proxyUrl}${path}`);
      const name = `${res.statusCode} ${String(res.headers['x-node'] ?? '-')}`;
      await res.body.dump();
      seen.set(name, (seen.get(name) ?? 0) + 1);
    }
    return seen;
  }

  before(async () => {
    const metricsPort = await freePort();
    metricsUrl = `http://127.0.0.1:${metricsPort}/apisix/prometheus/metrics`;
    gw = await startGatewayProcess({
      config: {
        plugin_attr: { prometheus: { enable_export_server: true, export_addr: { ip: '127.0.0.1', port: metricsPort } } },
      },
    });
    await waitFor(async () => (await request(metricsUrl).then(async (res) => { await res.body.dump(); return res.statusCode; })) === 200, { what: 'the export server' });
  });

  after(async () => {
    await gw?.stop();
    gw?.cleanup();
    for (const n of nodes) await n.up.close();
    for (const s of servers) await new Promise((resolve) => s.close(resolve));
  });

  test('active HTTP checks take a failing node out and bring it back when it recovers', async () => {
    const a = await node('a');
    const b = await node('b');
    a.health = 500;
    await put('upstreams/active', {
      nodes: { [a.up.node]: 1, [b.up.node]: 1 },
      checks: { active: { http_path: '/health', healthy: { interval: 1, successes: 1 }, unhealthy: { interval: 1, http_failures: 1 } } },
    });
    await put('routes/active', { uri: '/active', upstream_id: 'active' });
    const name = '/apisix/upstreams/active';
    await waitForStatus({ [`${name}|127.0.0.1|${a.up.port}`]: 0, [`${name}|127.0.0.1|${b.up.port}`]: 1 }, 'node a unhealthy');
    assert.deepEqual([...await send('/active', 6)], [['200 b', 6]]);
    assert.ok(a.up.received.every((r) => r.url === '/health'), 'node a got probes only');

    a.health = 200;
    await waitForStatus({ [`${name}|127.0.0.1|${a.up.port}`]: 1 }, 'node a healthy again');
    const seen = await send('/active', 6);
    assert.deepEqual([seen.get('200 a'), seen.get('200 b')], [3, 3]);
  });

  test('when every node is unhealthy, traffic still goes to all of them', async () => {
    const c = await node('c');
    const d = await node('d');
    c.health = 503;
    d.health = 503;
    await put('routes/all-down', {
      uri: '/all-down',
      upstream: {
        nodes: { [c.up.node]: 1, [d.up.node]: 1 },
        checks: { active: { http_path: '/health', unhealthy: { interval: 1, http_failures: 1 } } },
      },
    });
    const name = '/apisix/routes/all-down';
    await waitForStatus({ [`${name}|127.0.0.1|${c.up.port}`]: 0, [`${name}|127.0.0.1|${d.up.port}`]: 0 }, 'both nodes unhealthy');
    const seen = await send('/all-down', 6);
    assert.deepEqual([seen.get('200 c'), seen.get('200 d')], [3, 3]);
  });

  test('passive checks mark a node unhealthy from the statuses of real traffic', async () => {
    const e = await node('e');
    const f = await node('f');
    e.traffic = 500;
    await put('routes/passive', {
      uri: '/passive',
      upstream: {
        nodes: { [e.up.node]: 1, [f.up.node]: 1 },
        checks: {
          // Probes far apart: only traffic decides here.
          active: { http_path: '/health', healthy: { interval: 300 }, unhealthy: { interval: 300 } },
          passive: { unhealthy: { http_statuses: [500], http_failures: 2 } },
        },
      },
    });
    const name = '/apisix/routes/passive';
    await waitForStatus({ [`${name}|127.0.0.1|${e.up.port}`]: 1 }, 'the passive upstream to be checked');
    const first = await send('/passive', 4);
    assert.deepEqual([first.get('500 e'), first.get('200 f')], [2, 2]);
    await waitForStatus({ [`${name}|127.0.0.1|${e.up.port}`]: 0, [`${name}|127.0.0.1|${f.up.port}`]: 1 }, 'node e unhealthy');
    assert.deepEqual([...await send('/passive', 4)], [['200 f', 4]]);
  });

  test('tcp checks: a port that refuses connections is unhealthy; an upstream without checks has no series', async () => {
    const g = await node('g');
    const closed = await freePort();
    await put('upstreams/tcp', {
      nodes: { [g.up.node]: 1, [`127.0.0.1:${closed}`]: 1 },
      checks: { active: { type: 'tcp', healthy: { interval: 1, successes: 1 }, unhealthy: { interval: 1, tcp_failures: 1 } } },
    });
    await put('upstreams/plain', { nodes: { [g.up.node]: 1 } });
    const name = '/apisix/upstreams/tcp';
    await waitForStatus({ [`${name}|127.0.0.1|${g.up.port}`]: 1, [`${name}|127.0.0.1|${closed}`]: 0 }, 'the closed port unhealthy');

    // Something starts listening there: healthy after one successful connect.
    const listener = createTcpServer((socket) => socket.destroy());
    servers.push(listener);
    await new Promise<void>((resolve) => listener.listen(closed, '127.0.0.1', resolve));
    await waitForStatus({ [`${name}|127.0.0.1|${closed}`]: 1 }, 'the port healthy once it accepts');
    assert.ok(![...(await upstreamStatus()).keys()].some((key) => key.startsWith('/apisix/upstreams/plain|')));
  });
});
