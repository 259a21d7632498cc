import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryStore } from '../store/memory.js';
import { CompactedError, StoreReadOnlyError, type WatchBatch } from '../store/types.js';
import { silentLogger } from '../log.js';
import { RemoteStore } from './remote-store.js';
import { StoreRelay } from './store-relay.js';
import type { PrimaryMessage, WorkerMessage } from './messages.js';

/** A worker's RemoteStore wired to a primary's relay through an asynchronous, cloning "IPC" channel. */
function connect(store: MemoryStore) {
  const worker: { remote?: RemoteStore } = {};
  const relay = new StoreRelay(store, {
    isConnected: () => true,
    send: (m: PrimaryMessage) => setImmediate(() => worker.remote?.receive(structuredClone(m))),
  }, silentLogger);
  const remote = new RemoteStore({ send: (m: WorkerMessage) => setImmediate(() => relay.handle(structuredClone(m))) });
  worker.remote = remote;
  return { remote, relay };
}

test('reads go through the primary and return what the store holds', async () => {
  const store = new MemoryStore({ historyLimit: 3 });
  await store.put('/apisix/routes/1', '{"uri":"/a"}');
  await store.put('/apisix/services/1', '{}');
  const { remote } = connect(store);
  const range = await remote.range('/apisix/routes/');
  assert.deepEqual(range.kvs.map((kv) => kv.key), ['/apisix/routes/1']);
  assert.equal(range.revision, await store.revision());
  assert.equal((await remote.get('/apisix/routes/1'))?.value, '{"uri":"/a"}');
  assert.equal(await remote.get('/apisix/routes/9'), undefined);
  assert.equal(await remote.revision(), await store.revision());
  await assert.rejects(remote.put(), StoreReadOnlyError);
});

test('a watch relays batches in order, and compaction arrives as CompactedError', async () => {
  const store = new MemoryStore({ historyLimit: 3 });
  const { remote } = connect(store);
  const start = (await store.revision()) + 1;
  const batches: WatchBatch[] = [];
  const handle = remote.watch('/apisix/', { fromRevision: start, onBatch: (b) => batches.push(b) });
  await store.put('/apisix/routes/1', 'a');
  await store.put('/apisix/routes/2', 'b');
  await store.delete('/apisix/routes/1');
  const deadline = Date.now() + 2_000;
  while (batches.flatMap((b) => b.events).length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  assert.deepEqual(batches.flatMap((b) => b.events.map((e) => `${e.type} ${e.kv.key}`)), [
    'put /apisix/routes/1', 'put /apisix/routes/2', 'delete /apisix/routes/1',
  ]);
  handle.cancel();

  for (let i = 0; i < 5; i++) await store.put('/apisix/routes/x', String(i));
  const error = await new Promise<Error>((resolve) => {
    remote.watch('/apisix/', { fromRevision: start, onBatch: () => undefined, onError: resolve });
  });
  assert.ok(error instanceof CompactedError, `got ${error.constructor.name}: ${error.message}`);
});
