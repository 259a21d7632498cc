/**
 * The Admin API over the durable embedded store: what it acknowledges
 * survives a restart, and concurrent updates are serialised by
 * compare-and-swap while writes wait for fsync.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openEmbeddedStore } from '../../src/store/embedded/store.js';
import { routeBody, startAdmin } from './helpers.js';

describe('admin over the embedded store', () => {
  test('acknowledged writes, markers and POST ids survive a restart', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fngate-admin-embedded-'));
    try {
      const first = await openEmbeddedStore({ dir });
      const admin = await startAdmin({ store: first });
      assert.equal((await admin.call('PUT', '/apisix/admin/routes/1', { body: routeBody() })).status, 201);
      const posted = await admin.call('POST', '/apisix/admin/routes', { body: routeBody('/p') });
      assert.equal(posted.status, 201);
      await admin.close();
      await first.close();

      const second = await openEmbeddedStore({ dir });
      const again = await startAdmin({ store: second });
      try {
        const list = await again.call('GET', '/apisix/admin/routes');
        assert.deepEqual(list.json.list.map((i: { key: string }) => i.key), [posted.json.key, '/apisix/routes/1'], 'key order');
        assert.deepEqual((await again.call('GET', '/apisix/admin/services')).json, { list: [], total: 0 });
        const next = await again.call('POST', '/apisix/admin/routes', { body: routeBody('/q') });
        assert.ok(Number(next.json.value.id) > Number(posted.json.value.id), 'generated ids never repeat across restarts');
      } finally {
        await again.close();
        await second.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('concurrent PATCHes: every 200 is in the final value, the rest are 503', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fngate-admin-embedded-'));
    const store = await openEmbeddedStore({ dir });
    const admin = await startAdmin({ store });
    try {
      await admin.call('PUT', '/apisix/admin/upstreams/c', { body: { type: 'roundrobin', nodes: { 'base:80': 1 } } });
      const names = Array.from({ length: 12 }, (_, i) => `n${i}:80`);
      const results = await Promise.all(names.map((n) => admin.call('PATCH', '/apisix/admin/upstreams/c', { body: { nodes: { [n]: 1 } } })));
      for (const r of results) {
        assert.ok(r.status === 200 || (r.status === 503 && r.json.error_msg === 'value changed before overwritten'), r.text);
      }
      const applied = names.filter((_, i) => results[i]?.status === 200);
      assert.ok(applied.length >= 1);
      const final = JSON.parse((await store.get('/apisix/upstreams/c'))?.value ?? '') as { nodes: Record<string, number> };
      assert.deepEqual(Object.keys(final.nodes).sort(), ['base:80', ...applied].sort());
    } finally {
      await admin.close();
      await store.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
