/**
 * The CLI as a user meets it: start, check, version, the generated admin
 * key, graceful stop with a request in flight, and restart on the same data.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { request } from 'undici';
import { adminRequest, startGatewayProcess } from '../helpers/gateway-process.js';
import { freePort, startUpstream, waitFor } from '../helpers/net.js';

const run = promisify(execFile);
const CLI = resolve(import.meta.dirname, '../../dist/cli/index.js');

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args]);
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('fngate CLI', () => {
  test('version prints the package version', async () => {
    const pkg = JSON.parse(readFileSync(resolve(import.meta.dirname, '../../package.json'), 'utf8')) as { version: string };
    const out = await cli(['version']);
    assert.equal(out.code, 0);
    assert.equal(out.stdout.trim(), pkg.version);
  });

  test('check accepts the repository config and names the bad key otherwise', async () => {
    const ok = await cli(['check', '-c', resolve(import.meta.dirname, '../../conf/config.yaml')]);
    assert.equal(ok.code, 0, ok.stderr);
    const dir = mkdtempSync(join(tmpdir(), 'fngate-check-'));
    try {
      const bad = join(dir, 'config.yaml');
      writeFileSync(bad, 'deployment:\n  admin:\n    admin_listen:\n      port: 70000\n');
      const out = await cli(['check', '-c', bad]);
      assert.equal(out.code, 1);
      assert.match(out.stderr, /deployment\.admin\.admin_listen\.port/);
      assert.doesNotMatch(out.stderr, /\n\s+at /, 'no stack trace');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('start with a bad config exits non-zero with one clear line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fngate-bad-'));
    try {
      const bad = join(dir, 'config.yaml');
      writeFileSync(bad, 'deployment:\n  role_traditional:\n    config_provider: consul\n');
      const out = await cli(['start', '-c', bad]);
      assert.equal(out.code, 1);
      assert.match(out.stderr, /config_provider/);
      assert.doesNotMatch(out.stderr, /\n\s+at /);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('with no admin key configured, one is generated, printed once, kept 0600 and required', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fngate-key-'));
    const proxyPort = await freePort();
    const adminPort = await freePort();
    const config = [
      'apisix:', `  node_listen: [{ip: 127.0.0.1, port: ${proxyPort}}]`, '  enable_ipv6: false', '  enable_control: false',
      'deployment:', '  admin:', `    admin_listen: {ip: 127.0.0.1, port: ${adminPort}}`,
      'nginx_config:', '  worker_shutdown_timeout: 2s',
    ].join('\n');
    const start = () => startGatewayProcess({ dir, configYaml: `${config}\n`, ports: { proxy: proxyPort, admin: adminPort }, waitFor: 'proxy' });
    try {
      const first = await start();
      const key = readFileSync(join(dir, 'data', 'admin_key'), 'utf8').trim();
      assert.ok(key.length >= 32, 'a strong key');
      assert.equal(statSync(join(dir, 'data', 'admin_key')).mode & 0o777, 0o600);
      await waitFor(() => first.output().includes(key), { what: 'the key printed' });
      const adminUrl = `http://127.0.0.1:${adminPort}`;
      const noKey = await fetch(`${adminUrl}/apisix/admin/routes`);
      assert.equal(noKey.status, 401);
      const withKey = await adminRequest({ adminUrl, key }, 'GET', '/apisix/admin/routes');
      assert.equal(withKey.status, 200);
      const firstCode = await first.stop();
      assert.equal(firstCode, 0, first.output());

      const second = await start();
      assert.equal(readFileSync(join(dir, 'data', 'admin_key'), 'utf8').trim(), key, 'the same key is reused');
      assert.ok(!second.output().includes(key), 'and not printed again');
      assert.equal(await second.stop(), 0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('SIGTERM lets an in-flight request finish, then exits 0; data survives a restart', async () => {
    const slow = await startUpstream('slow', (_req, res) => {
      setTimeout(() => {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end('finished');
      }, 700);
    });
    const gw = await startGatewayProcess();
    try {
      await adminRequest(gw, 'PUT', '/apisix/admin/routes/slow', { uri: '/slow', upstream: { nodes: { [slow.node]: 1 } } });
      await waitFor(async () => (await request(`${gw.proxyUrl}/nope-${Date.now()}`)).statusCode === 404, { what: 'proxy up' });
      await waitFor(async () => {
        const res = await request(`${gw.proxyUrl}/slow`);
        await res.body.dump();
        return res.statusCode === 200;
      }, { what: 'route served', timeoutMs: 5_000 });
      const inFlight = request(`${gw.proxyUrl}/slow`);
      await waitFor(() => slow.received.length >= 2, { what: 'request reached the upstream' });
      const exit = gw.stop();
      const res = await inFlight;
      assert.equal(res.statusCode, 200);
      assert.equal(await res.body.text(), 'finished');
      assert.equal(await exit, 0);

      const again = await startGatewayProcess({ restartOf: gw });
      try {
        const got = await adminRequest(again, 'GET', '/apisix/admin/routes/slow');
        assert.equal(got.status, 200);
        assert.equal((got.json as { value: { uri: string } }).value.uri, '/slow');
      } finally {
        await again.stop();
      }
    } finally {
      gw.cleanup();
      await slow.close();
    }
  });
});
