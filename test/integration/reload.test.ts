/**
 * Zero downtime: bounded load through `fngate reload` (workers replaced one
 * at a time, including a change of worker count) and through 50 route
 * updates, with 0 failed requests; the status endpoint; `fngate stop`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Pool, request } from 'undici';
import { parse, stringify } from 'yaml';
import { adminRequest, startGatewayProcess } from '../helpers/gateway-process.js';
import { freePort, startUpstream, waitFor } from '../helpers/net.js';

const run = promisify(execFile);
const CLI = resolve(import.meta.dirname, '../../dist/cli/index.js');

interface LoadResult { ok: number; failed: number; errors: string[] }

/** `concurrency` keep-alive loops against `url` until `stop()`; counts anything but 200 as a failure. */
function startLoad(origin: string, path: string, concurrency: number) {
  const pool = new Pool(origin, { connections: concurrency });
  const result: LoadResult = { ok: 0, failed: 0, errors: [] };
  let running = true;
  const loops = Array.from({ length: concurrency }, async () => {
    while (running) {
      try {
        const res = await pool.request({ path, method: 'GET' });
        await res.body.dump();
        if (res.statusCode === 200) result.ok++;
        else {
          result.failed++;
          result.errors.push(`status ${res.statusCode}`);
        }
      } catch (err) {
        result.failed++;
        result.errors.push((err as Error).message);
      }
    }
  });
  return {
    result,
    async stop(): Promise<LoadResult> {
      running = false;
      await Promise.all(loops);
      await pool.close();
      return result;
    },
  };
}

test('0 failed requests through a rolling reload and 50 route updates; status and stop', async () => {
  const [a, b] = await Promise.all([startUpstream('a'), startUpstream('b')]);
  const controlPort = await freePort();
  const gw = await startGatewayProcess({
    config: {
      apisix: { enable_control: true, control: { ip: '127.0.0.1', port: controlPort } },
      nginx_config: { worker_processes: 2, worker_shutdown_timeout: '10s' },
    },
  });
  try {
    await adminRequest(gw, 'PUT', '/apisix/admin/routes/z', { uri: '/z', upstream: { nodes: { [a.node]: 1 } } });
    await waitFor(async () => (await request(`${gw.proxyUrl}/z`)).statusCode === 200, { what: 'route served' });

    const load = startLoad(gw.proxyUrl, '/z', 8);
    await new Promise((r) => setTimeout(r, 700));

    // 1. A rolling reload through the CLI, with a change of worker count.
    const config = parse(readFileSync(gw.configPath, 'utf8')) as { nginx_config: Record<string, unknown> };
    config.nginx_config.worker_processes = 3;
    writeFileSync(gw.configPath, stringify(config));
    const reload = await run(process.execPath, [CLI, 'reload', '-c', gw.configPath]);
    assert.match(reload.stdout, /reload signal sent/);
    await waitFor(() => /reload complete/.test(gw.output()), { what: 'reload complete', timeoutMs: 20_000 });

    // 2. Fifty route updates while the load runs.
    for (let i = 0; i < 50; i++) {
      const res = await adminRequest(gw, 'PUT', '/apisix/admin/routes/z', { uri: '/z', upstream: { nodes: { [(i % 2 ? a : b).node]: 1 } } });
      assert.equal(res.status, 200);
      await new Promise((r) => setTimeout(r, 40));
    }
    await new Promise((r) => setTimeout(r, 700));
    const result = await load.stop();

    assert.equal(result.failed, 0, `failures: ${result.errors.slice(0, 5).join('; ')}`);
    assert.ok(result.ok > 500, `the load ran (${result.ok} requests)`);

    const status = (await (await request(`http://127.0.0.1:${controlPort}/v1/status`)).body.json()) as {
      workers: { configured: number; ready: number; list: Array<{ revision?: number }> };
      store: { backend: string; connected: boolean };
      status: string;
    };
    assert.equal(status.workers.configured, 3);
    assert.equal(status.workers.ready, 3);
    assert.equal(status.store.backend, 'embedded');
    assert.equal(status.status, 'ok');
    const ready = await request(`http://127.0.0.1:${controlPort}/status/ready`);
    assert.equal(ready.statusCode, 200);
    await ready.body.dump();

    const stop = await run(process.execPath, [CLI, 'stop', '-c', gw.configPath]);
    assert.match(stop.stdout, /fngate stopped/);
    assert.notEqual(gw.child.exitCode, null, 'the node exited');
    assert.equal(gw.child.exitCode, 0);
  } finally {
    await gw.stop();
    gw.cleanup();
    await Promise.all([a.close(), b.close()]);
  }
});
