/**
 * PATCH (spec/admin-api.md §8) and compare-and-swap on every update: a
 * concurrent write between the read and the write is never lost.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryStore } from '../../src/store/memory.js';
import type { ConfigStore, KeyValue } from '../../src/store/types.js';
import { routeBody, startAdmin, storeSnapshot, type AdminUnderTest } from './helpers.js';

describe('PATCH', () => {
  let admin: AdminUnderTest;
  let clock = 1_700_000_000;
  before(async () => {
    admin = await startAdmin({ deps: { now: () => clock } });
  });
  after(() => admin.close());

  const upstream = { type: 'roundrobin', nodes: { '127.0.0.1:1980': 1 } };

  test('the examples of the APISIX documentation', async () => {
    clock = 1_700_000_000;
    assert.equal((await admin.call('PUT', '/apisix/admin/upstreams/100', { body: upstream })).status, 201);
    clock = 1_700_000_010;

    // add/overwrite one node weight, keep others
    let res = await admin.call('PATCH', '/apisix/admin/upstreams/100', { body: { nodes: { '127.0.0.1:1981': 10 } } });
    assert.equal(res.status, 200);
    assert.equal(res.headers['x-api-version'], 'v3');
    assert.deepEqual(res.json, {
      key: '/apisix/upstreams/100',
      value: { id: '100', type: 'roundrobin', nodes: { '127.0.0.1:1980': 1, '127.0.0.1:1981': 10 }, create_time: 1_700_000_000, update_time: 1_700_000_010 },
    });

    // delete one node
    res = await admin.call('PATCH', '/apisix/admin/upstreams/100', { body: { nodes: { '127.0.0.1:1980': null } } });
    assert.deepEqual(res.json.value.nodes, { '127.0.0.1:1981': 10 });

    // replace the node map entirely
    res = await admin.call('PATCH', '/apisix/admin/upstreams/100/nodes', { body: { '127.0.0.1:1982': 1 } });
    assert.equal(res.status, 200);
    assert.deepEqual(res.json.value.nodes, { '127.0.0.1:1982': 1 });

    await admin.call('PUT', '/apisix/admin/routes/1', { body: { ...routeBody(), methods: ['GET'] } });
    // replace an array through a sub path
    res = await admin.call('PATCH', '/apisix/admin/routes/1/methods', { body: ['POST', 'DELETE'] });
    assert.equal(res.status, 200);
    assert.deepEqual(res.json.value.methods, ['POST', 'DELETE']);
    // disable a route
    res = await admin.call('PATCH', '/apisix/admin/routes/1', { body: { status: 0 } });
    assert.equal(res.status, 200);
    assert.equal(res.json.value.status, 0);

    const stored = JSON.parse((await admin.store.get('/apisix/routes/1'))?.value ?? '') as Record<string, unknown>;
    assert.deepEqual(stored, res.json.value);
  });

  test('timestamps: create_time kept, update_time refreshed unless a whole-object patch sets it', async () => {
    clock = 1_700_000_000;
    await admin.call('PUT', '/apisix/admin/routes/ts', { body: routeBody() });
    clock = 1_700_000_050;
    let res = await admin.call('PATCH', '/apisix/admin/routes/ts', { body: { desc: 'a' } });
    assert.deepEqual([res.json.value.create_time, res.json.value.update_time], [1_700_000_000, 1_700_000_050]);
    res = await admin.call('PATCH', '/apisix/admin/routes/ts', { body: { desc: 'b', create_time: 1, update_time: 2 } });
    assert.deepEqual([res.json.value.create_time, res.json.value.update_time], [1, 2]);
    clock = 1_700_000_060;
    res = await admin.call('PATCH', '/apisix/admin/routes/ts/desc', { body: 'c' });
    assert.deepEqual([res.json.value.create_time, res.json.value.update_time, res.json.value.desc], [1, 1_700_000_060, 'c']);
  });

  test('errors, and nothing stored after any of them', async () => {
    await admin.call('PUT', '/apisix/admin/routes/p', { body: routeBody() });
    const before = await storeSnapshot(admin.store);
    const cases: Array<[path: string, body: unknown, status: number, json: unknown]> = [
      ['/apisix/admin/routes', { desc: 'x' }, 400, { error_msg: 'missing route id' }],
      ['/apisix/admin/routes/p', undefined, 400, { error_msg: 'missing new configuration' }],
      ['/apisix/admin/routes/p', ['a'], 400, { error_msg: 'invalid configuration' }],
      ['/apisix/admin/routes/p', 'text', 400, { error_msg: 'invalid configuration' }],
      ['/apisix/admin/routes/p/uri/x', 1, 400, { error_msg: 'invalid sub-path: /uri' }],
      ['/apisix/admin/routes/p', { id: 'other' }, 400, { error_msg: 'wrong route id' }],
      ['/apisix/admin/routes/p', { uri: 5 }, 400, { error_msg: 'invalid configuration: property "uri" validation failed: wrong type: expected string, got number' }],
      ['/apisix/admin/routes/p/methods', ['FOO'], 400, { error_msg: 'invalid configuration: property "methods" validation failed: failed to validate item 1: matches none of the enum values' }],
      ['/apisix/admin/routes/none', { desc: 'x' }, 404, { message: 'Key not found' }],
      ['/apisix/admin/consumers/jack', { desc: 'x' }, 405, { error_msg: 'not supported `PATCH` method for consumer' }],
      ['/apisix/admin/plugin_metadata/x', { a: 1 }, 405, { error_msg: 'not supported `PATCH` method for plugin_metadata' }],
    ];
    for (const [path, body, status, json] of cases) {
      const res = await admin.call('PATCH', path, body === undefined ? {} : { body });
      assert.deepEqual([res.status, res.json], [status, json], `PATCH ${path} ${JSON.stringify(body)}`);
    }
    assert.deepEqual(await storeSnapshot(admin.store), before);
  });
});

/**
 * A real store with a hook: once armed, a competing write runs right after
 * the handler has read `key`, before it writes.
 */
function racingStore(inner: ConfigStore, key: string, race: () => Promise<void>): { store: ConfigStore; arm(): void } {
  let armed = false;
  const store: ConfigStore = {
    backend: inner.backend,
    readOnly: false,
    async get(k): Promise<KeyValue | undefined> {
      const kv = await inner.get(k);
      if (armed && k === key) {
        armed = false;
        await race();
      }
      return kv;
    },
    range: (p) => inner.range(p),
    put: (k, v, o) => inner.put(k, v, o),
    delete: (k, o) => inner.delete(k, o),
    watch: (p, o) => inner.watch(p, o),
    revision: () => inner.revision(),
    close: () => inner.close(),
  };
  return { store, arm: () => (armed = true) };
}

describe('compare-and-swap', () => {
  const key = '/apisix/upstreams/1';
  const competing = JSON.stringify({ id: '1', type: 'roundrobin', nodes: { 'competitor:80': 1 } });

  for (const [method, path, body] of [
    ['PATCH', '/apisix/admin/upstreams/1', { nodes: { 'mine:80': 1 } }],
    ['PATCH', '/apisix/admin/upstreams/1/nodes', { 'mine:80': 1 }],
    ['PUT', '/apisix/admin/upstreams/1', { type: 'roundrobin', nodes: { 'mine:80': 1 } }],
  ] as const) {
    test(`${method} ${path}: a write between read and write → 503, the other write survives`, async () => {
      const inner = new MemoryStore();
      const { store, arm } = racingStore(inner, key, async () => {
        await inner.put(key, competing);
      });
      const admin = await startAdmin({ store });
      try {
        assert.equal((await admin.call('PUT', '/apisix/admin/upstreams/1', { body: { type: 'roundrobin', nodes: { 'a:80': 1 } } })).status, 201);
        arm();
        const res = await admin.call(method, path, { body });
        assert.deepEqual([res.status, res.json], [503, { error_msg: 'value changed before overwritten' }]);
        assert.equal((await inner.get(key))?.value, competing);
      } finally {
        await admin.close();
        await inner.close();
      }
    });
  }

  test('PUT creating a key another writer creates meanwhile → 503', async () => {
    const inner = new MemoryStore();
    const { store, arm } = racingStore(inner, key, async () => {
      await inner.put(key, competing);
    });
    const admin = await startAdmin({ store });
    try {
      arm();
      const res = await admin.call('PUT', '/apisix/admin/upstreams/1', { body: { type: 'roundrobin', nodes: { 'mine:80': 1 } } });
      assert.equal(res.status, 503);
      assert.equal((await inner.get(key))?.value, competing);
    } finally {
      await admin.close();
      await inner.close();
    }
  });

  test('concurrent PATCHes: every 200 is in the final value, never a lost update', async () => {
    const admin = await startAdmin();
    try {
      await admin.call('PUT', '/apisix/admin/upstreams/c', { body: { type: 'roundrobin', nodes: { 'base:80': 1 } } });
      const names = Array.from({ length: 12 }, (_, i) => `n${i}:80`);
      const results = await Promise.all(names.map((n) => admin.call('PATCH', '/apisix/admin/upstreams/c', { body: { nodes: { [n]: 1 } } })));
      const applied = names.filter((_, i) => results[i]?.status === 200);
      for (const r of results) assert.ok(r.status === 200 || (r.status === 503 && r.json.error_msg === 'value changed before overwritten'), r.text);
      const final = JSON.parse((await admin.store.get('/apisix/upstreams/c'))?.value ?? '') as { nodes: Record<string, number> };
      assert.deepEqual(Object.keys(final.nodes).sort(), ['base:80', ...applied].sort());
    } finally {
      await admin.close();
    }
  });
});
