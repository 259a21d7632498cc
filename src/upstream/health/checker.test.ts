/**
 * The checker against real loopback servers: active HTTP and TCP probes,
 * timeouts, passive reports, and its lifecycle.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { freePort, waitFor } from '../../../test/helpers/net.js';
import type { Logger } from '../../log.js';
import type { UpstreamNode } from '../types.js';
import { HealthChecker } from './checker.js';
import { readHealthChecks, type HealthCheckSettings } from './settings.js';

/**
 * `checks` read as the compiler reads them, with both probe intervals set to
 * `intervalMs`: the internal form allows what the schema's 1 s minimum does
 * not, which keeps these tests fast.
 */
function fastSettings(checks: Record<string, unknown>, intervalMs = 30): HealthCheckSettings {
  const settings = readHealthChecks(checks);
  return { ...settings, active: { ...settings.active, healthyIntervalMs: intervalMs, unhealthyIntervalMs: intervalMs } };
}

/** A logger that keeps its lines (warn and above). */
function captureLog(): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: 'warn' }, sink), lines };
}

/** Enough of an UpstreamNode for the checker, which only reads `index`. */
function nodeAt(index: number): UpstreamNode {
  return { index } as UpstreamNode;
}

interface Probed {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

/** An HTTP server answering `status` (changeable) and keeping what it received. */
async function statusServer(initial: number): Promise<{ server: Server; port: number; status: number; received: Probed[] }> {
  const state = { server: undefined as unknown as Server, port: 0, status: initial, received: [] as Probed[] };
  state.server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => { body += c.toString(); });
    req.on('end', () => {
      state.received.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      res.writeHead(state.status).end();
    });
  });
  await new Promise<void>((resolve) => state.server.listen(0, '127.0.0.1', resolve));
  state.port = (state.server.address() as AddressInfo).port;
  return state;
}

function close(server: Server | TcpServer): Promise<void> {
  if ('closeAllConnections' in server) server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

describe('HealthChecker', () => {
  const cleanup: Array<() => unknown> = [];
  after(async () => {
    for (const fn of cleanup.reverse()) await fn();
  });

  test('active HTTP probes take a failing node out and bring it back once it recovers; changes are logged once', async () => {
    const up = await statusServer(200);
    cleanup.push(() => close(up.server));
    const { logger, lines } = captureLog();
    const checker = new HealthChecker({
      name: '/apisix/upstreams/1',
      settings: fastSettings({
        active: {
          http_path: '/status?full=1',
          http_method: 'POST',
          http_req_body: 'ping',
          host: 'probe.example',
          req_headers: ['X-Probe: yes'],
          healthy: { successes: 2 },
          unhealthy: { http_failures: 2 },
        },
      }),
      nodes: [{ host: '127.0.0.1', port: up.port }],
      logger,
    });
    cleanup.push(() => checker.stop());
    checker.start();
    const node = nodeAt(0);

    await waitFor(() => up.received.length >= 2, { what: 'two probes' });
    assert.equal(checker.isHealthy(node), true);
    const probe = up.received[0]!;
    assert.equal(probe.method, 'POST');
    assert.equal(probe.url, '/status?full=1');
    assert.equal(probe.headers.host, 'probe.example');
    assert.equal(probe.headers['x-probe'], 'yes');
    assert.equal(probe.body, 'ping');

    up.status = 500;
    await waitFor(() => !checker.isHealthy(node), { what: 'the node to turn unhealthy' });
    assert.equal(checker.unhealthyNodes, 1);
    assert.deepEqual(checker.statuses(), [{ ip: '127.0.0.1', port: up.port, healthy: false, state: 'unhealthy' }]);

    up.status = 200;
    await waitFor(() => checker.isHealthy(node), { what: 'the node to recover' });
    assert.equal(checker.unhealthyNodes, 0);
    assert.deepEqual(lines.map((l) => [l.msg, l.node, l.upstream, l.check, l.reason]), [
      ['upstream node is unhealthy; no traffic while other nodes are healthy', `127.0.0.1:${up.port}`, '/apisix/upstreams/1', 'active', '2 HTTP failures in a row (last status 500)'],
      ['upstream node is healthy again', `127.0.0.1:${up.port}`, '/apisix/upstreams/1', 'active', '2 successes in a row (last status 200)'],
    ]);
  });

  test('tcp probes: a closed port is a TCP failure, a listening one a success; checks.active.port replaces the node port', async () => {
    const port = await freePort();
    const checker = new HealthChecker({
      name: '/apisix/routes/r',
      settings: fastSettings({ active: { type: 'tcp', port, healthy: { successes: 1 }, unhealthy: { tcp_failures: 2 } } }),
      // Two nodes, one probe target: both follow it.
      nodes: [{ host: '127.0.0.1', port: 1 }, { host: '127.0.0.1', port: 2 }],
      logger: captureLog().logger,
    });
    cleanup.push(() => checker.stop());
    checker.start();
    await waitFor(() => checker.unhealthyNodes === 2, { what: 'both nodes unhealthy' });
    assert.equal(checker.statuses().length, 1);
    assert.equal(checker.statuses()[0]!.port, port);

    let accepted = 0;
    const listener = createTcpServer((socket: Socket) => {
      accepted++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => listener.listen(port, '127.0.0.1', resolve));
    cleanup.push(() => close(listener));
    await waitFor(() => checker.unhealthyNodes === 0, { what: 'the target to recover' });
    assert.ok(accepted >= 1);
  });

  test('a probe without an answer within checks.active.timeout counts as a timeout', async () => {
    // Reads (so it sees the prober hang up) and never answers.
    const silent = createTcpServer((socket) => socket.resume());
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    cleanup.push(() => close(silent));
    const { logger, lines } = captureLog();
    const checker = new HealthChecker({
      name: 'u',
      settings: fastSettings({ active: { timeout: 0.05, unhealthy: { timeouts: 2 } } }),
      nodes: [{ host: '127.0.0.1', port: (silent.address() as AddressInfo).port }],
      logger,
    });
    cleanup.push(() => checker.stop());
    checker.start();
    await waitFor(() => checker.unhealthyNodes === 1, { what: 'the node to time out' });
    assert.equal(lines[0]?.reason, '2 timeouts in a row');
  });

  test('passive reports count only with checks.passive, with the passive limits', () => {
    const node = nodeAt(0);
    const activeOnly = new HealthChecker({ name: 'u', settings: fastSettings({ active: {} }), nodes: [{ host: '127.0.0.1', port: 1 }], logger: captureLog().logger });
    for (let i = 0; i < 10; i++) activeOnly.reportTcpFailure(node);
    assert.equal(activeOnly.isHealthy(node), true);

    const checker = new HealthChecker({
      name: 'u',
      settings: fastSettings({ active: {}, passive: { healthy: { successes: 2 }, unhealthy: { http_failures: 3, timeouts: 2 } } }),
      nodes: [{ host: '127.0.0.1', port: 1 }],
      logger: captureLog().logger,
    });
    checker.reportStatus(node, 500);
    checker.reportStatus(node, 404); // in neither passive list: not counted
    checker.reportStatus(node, 503);
    assert.equal(checker.isHealthy(node), true);
    checker.reportStatus(node, 429);
    assert.equal(checker.isHealthy(node), false);
    const version = checker.version;
    checker.reportStatus(node, 200);
    checker.reportStatus(node, 204);
    assert.equal(checker.isHealthy(node), true);
    assert.ok(checker.version > version);
    checker.reportTimeout(node);
    checker.reportTimeout(node);
    assert.equal(checker.isHealthy(node), false);
  });

  test('probes of one checker never exceed `concurrency` and stop with stop()', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    let probes = 0;
    const ports: number[] = [];
    for (let i = 0; i < 4; i++) {
      const slow = createServer((_req, res) => {
        probes++;
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        setTimeout(() => {
          inFlight--;
          res.writeHead(200).end();
        }, 20);
      });
      await new Promise<void>((resolve) => slow.listen(0, '127.0.0.1', resolve));
      cleanup.push(() => close(slow));
      ports.push((slow.address() as AddressInfo).port);
    }
    const checker = new HealthChecker({
      name: 'u',
      settings: fastSettings({ active: { concurrency: 2 } }, 10),
      nodes: ports.map((port) => ({ host: '127.0.0.1', port })),
      logger: captureLog().logger,
    });
    checker.start();
    await waitFor(() => probes >= 12, { what: 'three rounds of probes' });
    checker.stop();
    const seen = probes;
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.ok(maxInFlight <= 2, `at most 2 probes at once, saw ${maxInFlight}`);
    assert.ok(probes <= seen + 2, 'no round starts after stop()');
  });
});
