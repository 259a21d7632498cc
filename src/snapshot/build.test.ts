import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KeyValue } from '../store/types.js';
import type { JsonObject } from '../resources/types.js';
import type { CompiledUpstream } from '../upstream/types.js';
import type { PluginCatalog } from '../plugin/catalog.js';
import { silentLogger } from '../log.js';
import { ConfigState } from './config-state.js';
import { SnapshotBuilder } from './build.js';
import { EMPTY_CHAIN } from '../plugin/chain.js';

let revision = 1;
function kv(key: string, value: JsonObject): KeyValue {
  revision++;
  return { key, value: JSON.stringify(value), createRevision: revision, modRevision: revision, version: 1 };
}

/** A stand-in compiled upstream that records what it was built from and whether it was released. */
interface FakeUpstream { conf: JsonObject; timeout: JsonObject | undefined; key: string; released: number }

/** Plugins a, b and c exist and accept any config (the merge is what is under test). */
const abc: PluginCatalog = {
  has: (name) => ['a', 'b', 'c'].includes(name),
  exists: (name) => ['a', 'b', 'c'].includes(name),
  isAuth: () => false,
  checkPlugins: (plugins) => {
    const unknown = Object.keys(plugins).find((n) => !['a', 'b', 'c'].includes(n));
    return unknown === undefined ? undefined : `unknown plugin [${unknown}]`;
  },
  checkMetadata: () => undefined,
  encryptFields: () => [],
};

function setup() {
  const compiled: FakeUpstream[] = [];
  const builder = new SnapshotBuilder({
    routerKind: 'radixtree_host_uri',
    logger: silentLogger,
    // The chain compiler is the plugin registry's; here only the merge is under test.
    compileChain: () => EMPTY_CHAIN,
    compileUpstream: (conf, timeout, key) => {
      const up: FakeUpstream = { conf, timeout, key, released: 0 };
      compiled.push(up);
      return { release: () => { up.released++; }, conf } as unknown as CompiledUpstream;
    },
  });
  const state = new ConfigState({ prefix: '/apisix', plugins: abc, logger: silentLogger, strictPlugins: false });
  const build = () => builder.build(state, state.takeChanged());
  return { compiled, builder, state, build };
}

const node = { nodes: { '127.0.0.1:1980': 1 } };

test('one changed route is recompiled; the others are reused as they were', () => {
  const { compiled, state, build } = setup();
  state.reset([
    kv('/apisix/routes/1', { uri: '/a', upstream: node }),
    kv('/apisix/routes/2', { uri: '/b', upstream: node }),
  ], revision);
  const first = build();
  assert.equal(compiled.length, 2);

  state.apply({ type: 'put', kv: kv('/apisix/routes/2', { uri: '/b2', upstream: node }) });
  const second = build();
  assert.equal(compiled.length, 3, 'only route 2 compiled again');
  assert.equal(second.routes.get('1'), first.routes.get('1'));
  assert.notEqual(second.routes.get('2'), first.routes.get('2'));
  assert.equal(compiled[1]?.released, 1, "route 2's old upstream is released");
  assert.equal(second.router.match({ path: '/b2', method: 'GET', host: 'x', remoteAddr: '1.1.1.1', vars: () => undefined })?.value, '2');
});

test('a shared upstream that did not change is reused and stays held; each upstream is named by its key', () => {
  const { compiled, state, build } = setup();
  state.reset([
    kv('/apisix/upstreams/u1', node),
    kv('/apisix/routes/1', { uri: '/a', upstream_id: 'u1' }),
    kv('/apisix/services/s1', { upstream: node }),
    kv('/apisix/routes/2', { uri: '/b', service_id: 's1' }),
    kv('/apisix/routes/3', { uri: '/c', upstream: node }),
    kv('/apisix/routes/4', { uri: '/d', upstream_id: 'u1', timeout: { connect: 1, send: 1, read: 1 } }),
  ], revision);
  build();
  // Health checks name an upstream by its resource key; an inline one by its route's or service's.
  assert.deepEqual(compiled.map((u) => u.key).sort(), ['/apisix/routes/3', '/apisix/services/s1', '/apisix/upstreams/u1', '/apisix/upstreams/u1']);
  const shared = compiled.find((u) => u.key === '/apisix/upstreams/u1' && u.timeout === undefined)!;

  state.apply({ type: 'put', kv: kv('/apisix/routes/1', { uri: '/a2', upstream_id: 'u1' }) });
  build();
  assert.equal(compiled.filter((u) => u.key === '/apisix/upstreams/u1' && u.timeout === undefined).length, 1, 'not compiled again');
  assert.equal(shared.released, 0, 'still in use: not released');

  state.apply({ type: 'put', kv: kv('/apisix/upstreams/u1', { nodes: { '127.0.0.1:1981': 1 } }) });
  build();
  assert.equal(shared.released, 1, 'released once replaced');
});

test('a change that cannot affect routes keeps the router and the compiled routes', () => {
  const { state, build } = setup();
  state.reset([kv('/apisix/routes/1', { uri: '/a', upstream: node })], revision);
  const first = build();
  state.apply({ type: 'put', kv: kv('/apisix/consumers/jack', { username: 'jack' }) });
  const second = build();
  assert.equal(second.router, first.router);
  assert.equal(second.routes, first.routes);
  assert.equal(second.consumers.get('jack')?.value.username, 'jack');
});

test('service and plugin config merge: route wins per plugin name, hosts and upstream come from the service', () => {
  const { state, build } = setup();
  state.reset([
    kv('/apisix/services/s1', { hosts: ['Svc.Example.com'], upstream: node, plugins: { a: { from: 'service' }, b: { from: 'service' } } }),
    kv('/apisix/plugin_configs/p1', { plugins: { b: { from: 'plugin_config' }, c: { from: 'plugin_config' } } }),
    kv('/apisix/routes/1', { uri: '/a', service_id: 's1', plugin_config_id: 'p1', plugins: { c: { from: 'route' } } }),
  ], revision);
  const snapshot = build();
  const route = snapshot.routes.get('1');
  assert.ok(route);
  assert.deepEqual(route.plugins, { a: { from: 'service' }, b: { from: 'plugin_config' }, c: { from: 'route' } });
  assert.equal(route.confType, 'route&service');
  assert.equal(route.target.kind, 'upstream');
  const hit = snapshot.router.match({ path: '/a', method: 'GET', host: 'svc.example.com', remoteAddr: '1.1.1.1', vars: () => undefined });
  assert.equal(hit?.value, '1');
  assert.equal(snapshot.router.match({ path: '/a', method: 'GET', host: 'other', remoteAddr: '1.1.1.1', vars: () => undefined }), undefined);
});

test('missing references resolve to the statuses APISIX answers', () => {
  const { state, build } = setup();
  state.reset([
    kv('/apisix/routes/no-svc', { uri: '/1', service_id: 'gone' }),
    kv('/apisix/routes/no-pc', { uri: '/2', plugin_config_id: 'gone', upstream: node }),
    kv('/apisix/routes/no-up', { uri: '/3', upstream_id: 'gone' }),
    kv('/apisix/routes/none', { uri: '/4', plugins: {} }),
  ], revision);
  const snapshot = build();
  assert.equal(snapshot.routes.get('no-svc')?.fatal?.status, 404);
  assert.equal(snapshot.routes.get('no-pc')?.fatal?.status, 503);
  const noUp = snapshot.routes.get('no-up')?.target;
  assert.equal(noUp?.kind === 'unavailable' && noUp.status, 502);
  const none = snapshot.routes.get('none')?.target;
  assert.equal(none?.kind === 'unavailable' && none.status, 503);
});

test('a route timeout gets its own compiled view of a shared upstream', () => {
  const { compiled, state, build } = setup();
  const timeout = { connect: 1, send: 2, read: 3 };
  state.reset([
    kv('/apisix/upstreams/u1', node),
    kv('/apisix/routes/plain', { uri: '/p', upstream_id: 'u1' }),
    kv('/apisix/routes/timed', { uri: '/t', upstream_id: 'u1', timeout }),
  ], revision);
  const snapshot = build();
  const plain = snapshot.routes.get('plain')?.target;
  const timed = snapshot.routes.get('timed')?.target;
  assert.equal(plain?.kind === 'upstream' && plain.upstream, snapshot.upstreams.get('u1'));
  assert.notEqual(timed?.kind === 'upstream' && timed.upstream, snapshot.upstreams.get('u1'));
  assert.deepEqual(compiled.at(-1)?.timeout, timeout);
});
