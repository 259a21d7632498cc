/**
 * MemoryStore behaviour beyond the shared contract (test/store/memory.contract.test.ts):
 * the bounded watch history and the robustness of delivery.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryStore } from './memory.js';
import { CompactedError, StoreUnavailableError, type WatchEvent } from './types.js';

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

describe('MemoryStore watch history', () => {
  test('a watch from before the kept history fails with CompactedError, asynchronously', async () => {
    const store = new MemoryStore({ historyLimit: 5 });
    for (let i = 0; i < 10; i++) await store.put(`/k/${i}`, String(i)); // revisions 2..11; 7..11 kept
    const seen: { error?: Error } = {};
    const handle = store.watch('/k/', { fromRevision: 6, onBatch: () => assert.fail('delivered from a compacted revision'), onError: (err) => (seen.error = err) });
    const reportedSynchronously = seen.error !== undefined;
    assert.equal(reportedSynchronously, false, 'onError ran synchronously');
    await until(() => seen.error !== undefined, 'onError');
    const { error } = seen;
    assert.ok(error instanceof CompactedError);
    assert.equal(error.code, 'STORE_COMPACTED');
    assert.equal(error.requested, 6);
    assert.equal(error.oldest, 7);
    handle.cancel();
    await store.close();
  });

  test('a watch from the oldest kept revision replays everything still kept', async () => {
    const store = new MemoryStore({ historyLimit: 5 });
    for (let i = 0; i < 10; i++) await store.put(`/k/${i}`, String(i));
    const events: WatchEvent[] = [];
    const handle = store.watch('/k/', { fromRevision: 7, onBatch: (b) => events.push(...b.events) });
    await until(() => events.length === 5, 'five replayed events');
    assert.deepEqual(events.map((e) => e.kv.modRevision), [7, 8, 9, 10, 11]);
    handle.cancel();
    await store.close();
  });

  test('fromRevision 0 means "from the next revision"; a future revision waits for it', async () => {
    const store = new MemoryStore();
    await store.put('/k/a', 'a'); // 2
    const fromNow: WatchEvent[] = [];
    const fromFuture: WatchEvent[] = [];
    const h1 = store.watch('/k/', { fromRevision: 0, onBatch: (b) => fromNow.push(...b.events) });
    const h2 = store.watch('/k/', { fromRevision: 4, onBatch: (b) => fromFuture.push(...b.events) });
    await store.put('/k/b', 'b'); // 3
    await store.put('/k/c', 'c'); // 4
    await until(() => fromNow.length === 2 && fromFuture.length === 1, 'events');
    assert.deepEqual(fromNow.map((e) => e.kv.modRevision), [3, 4]);
    assert.deepEqual(fromFuture.map((e) => e.kv.modRevision), [4]);
    h1.cancel();
    h2.cancel();
    await store.close();
  });

  test('a throwing watcher does not stop delivery to the others or to itself later', async () => {
    const store = new MemoryStore();
    let thrown = 0;
    const seen: number[] = [];
    const h1 = store.watch('/', { fromRevision: 2, onBatch: () => { thrown++; throw new Error('consumer bug'); } });
    const h2 = store.watch('/', { fromRevision: 2, onBatch: (b) => seen.push(...b.events.map((e) => e.kv.modRevision)) });
    await store.put('/a', '1');
    await until(() => seen.length === 1 && thrown === 1, 'first delivery');
    await store.put('/a', '2');
    await until(() => seen.length === 2 && thrown === 2, 'second delivery');
    h1.cancel();
    h2.cancel();
    await store.close();
  });

  test('a closed store rejects calls and reports watches as unavailable', async () => {
    const store = new MemoryStore();
    await store.close();
    await assert.rejects(store.get('/a'), StoreUnavailableError);
    await assert.rejects(store.range('/'), StoreUnavailableError);
    let error = undefined as Error | undefined;
    store.watch('/', { fromRevision: 1, onBatch: () => undefined, onError: (err) => (error = err) });
    await until(() => error !== undefined, 'onError');
    assert.ok(error instanceof StoreUnavailableError);
  });
});
