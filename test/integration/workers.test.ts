/**
 * The node's process model: a primary (store + Admin API) supervising
 * data-plane workers. Config changes reach every worker; a crashed worker
 * and a worker whose event loop stalls (watchdog) are replaced.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { adminRequest, startGatewayProcess, type GatewayProcess } from '../helpers/gateway-process.js';
import { startUpstream, waitFor, type TestUpstream } from '../helpers/net.js';

/** Worker pids announced as ready in the primary's log, oldest first. */
function readyWorkers(gw: GatewayProcess): number[] {
  const pids: number[] = [];
  for (const line of gw.output().split('\n')) {
    if (!line.includes('"msg":"worker ready"')) continue;
    const pid = (JSON.parse(line) as { worker?: number }).worker;
    if (typeof pid === 'number') pids.push(pid);
  }
  return pids;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('workers', () => {
  let gw: GatewayProcess;
  let up: TestUpstream;

  before(async () => {
    up = await startUpstream('up');
    gw = await startGatewayProcess({
      config: { nginx_config: { worker_processes: 2 }, fngate: { worker_watchdog_timeout: '1s' } },
    });
    await waitFor(() => readyWorkers(gw).length === 2, { what: 'two workers ready' });
    await adminRequest(gw, 'PUT', '/apisix/admin/routes/1', { uri: '/w', upstream: { nodes: { [up.node]: 1 } } });
  });
  after(async () => {
    await gw.stop();
    gw.cleanup();
    await up.close();
  });

  /** Send requests on fresh connections until every one of them is answered 200. */
  async function servedByAll(path: string, attempts = 20): Promise<boolean> {
    for (let i = 0; i < attempts; i++) {
      const res = await request(`${gw.proxyUrl}${path}`, { reset: true });
      await res.body.dump();
      if (res.statusCode !== 200) return false;
    }
    return true;
  }

  test('a route written through the Admin API is served by every worker', async () => {
    await waitFor(() => servedByAll('/w'), { what: 'route served on all workers' });
    await adminRequest(gw, 'PUT', '/apisix/admin/routes/2', { uri: '/w2', upstream: { nodes: { [up.node]: 1 } } });
    await waitFor(() => servedByAll('/w2'), { what: 'new route served on all workers' });
  });

  test('a worker that dies is replaced', async () => {
    const [victim] = readyWorkers(gw);
    assert.ok(victim);
    process.kill(victim, 'SIGKILL');
    await waitFor(() => readyWorkers(gw).length === 3, { what: 'replacement worker', timeoutMs: 10_000 });
    assert.match(gw.output(), /worker replaced/);
    await waitFor(() => servedByAll('/w'), { what: 'served after the replacement' });
  });

  test('a worker whose event loop stalls is killed by the watchdog and replaced', async () => {
    const before = readyWorkers(gw);
    const victim = before.at(-1);
    assert.ok(victim);
    // A stopped process sends no heartbeat: the same silence as a loop that never yields.
    process.kill(victim, 'SIGSTOP');
    await waitFor(() => !alive(victim), { what: 'watchdog kill', timeoutMs: 10_000 });
    await waitFor(() => readyWorkers(gw).length === before.length + 1, { what: 'replacement after watchdog', timeoutMs: 10_000 });
    assert.match(gw.output(), /event loop stalled/);
    await waitFor(() => servedByAll('/w'), { what: 'served after the watchdog replacement' });
  });
});
