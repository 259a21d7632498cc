/**
 * Standalone mode (`config_provider: yaml`): routes come from apisix.yaml
 * and follow the file without a restart (spec/config.md §6.1).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { adminRequest, startGatewayProcess } from '../helpers/gateway-process.js';
import { startUpstream, waitFor } from '../helpers/net.js';

function standalone(routes: string): string {
  return `routes:\n${routes}\n#END\n`;
}

test('routes are read from apisix.yaml and reloaded when it changes', async () => {
  const [a, b] = await Promise.all([startUpstream('a'), startUpstream('b')]);
  const gw = await startGatewayProcess({
    config: { deployment: { role_traditional: { config_provider: 'yaml' } } },
    files: {
      'apisix.yaml': standalone(`  - id: 1\n    uri: /hello\n    upstream:\n      nodes:\n        "${a.node}": 1\n      type: roundrobin`),
    },
  });
  const get = async (path: string) => {
    const res = await request(`${gw.proxyUrl}${path}`);
    return { status: res.statusCode, body: await res.body.text() };
  };
  try {
    await waitFor(async () => (await get('/hello')).body.includes('"name":"a"'), { what: 'route from apisix.yaml' });

    // Atomic replace (write + rename), as editors and config management do.
    const file = join(gw.dir, 'apisix.yaml');
    writeFileSync(`${file}.tmp`, standalone(`  - id: 1\n    uri: /hello\n    upstream:\n      nodes:\n        "${b.node}": 1\n  - id: 2\n    uri: /second\n    upstream:\n      nodes:\n        "${a.node}": 1`));
    renameSync(`${file}.tmp`, file);
    await waitFor(async () => (await get('/hello')).body.includes('"name":"b"'), { what: 'reloaded route', timeoutMs: 5_000 });
    assert.equal((await get('/second')).status, 200);

    // A file without the #END marker is ignored; the previous config keeps serving.
    writeFileSync(file, `routes:\n  - id: 9\n    uri: /half\n`);
    await new Promise((r) => setTimeout(r, 1_500));
    assert.equal((await get('/hello')).status, 200);
    assert.equal((await get('/half')).status, 404);

    // Reads work, writes are refused: the file is the source of truth.
    const put = await adminRequest(gw, 'PUT', '/apisix/admin/routes/5', { uri: '/x', upstream: { nodes: { [a.node]: 1 } } });
    assert.equal(put.status, 400);
    assert.match(put.text, /yaml/);
  } finally {
    await gw.stop();
    gw.cleanup();
    await Promise.all([a.close(), b.close()]);
  }
});
