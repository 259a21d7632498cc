/**
 * The ConfigStore contract: etcd v3 semantics that every writable backend
 * (memory, embedded, etcd) must show. It asserts only what a caller can
 * observe through the interface, never backend internals, so the etcd backend
 * runs the same suite against a real etcd.
 *
 * Requirements on `open()`: each call returns a store over a fresh, empty
 * keyspace that nothing else writes to (revisions are asserted exactly).
 * `reopen`, when given, opens a new store over the same data after the suite
 * has closed the first one; the suite closes what `reopen` returns.
 * `cleanup` must tolerate an already closed store.
 *
 * @example
 *   runStoreContract('MemoryStore', async () => {
 *     const store = new MemoryStore();
 *     return { store, cleanup: () => store.close() };
 *   });
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CasConflictError,
  type ConfigStore,
  type WatchBatch,
  type WatchEvent,
  type WatchHandle,
} from '../../src/store/types.js';

export interface StoreUnderTest {
  readonly store: ConfigStore;
  readonly reopen?: () => Promise<ConfigStore>;
  readonly cleanup: () => Promise<void>;
}

export interface StoreCapabilities {
  /** The backend keeps data across instances: the durability part of the contract applies. */
  readonly persistent: boolean;
}

export function runStoreContract(name: string, open: () => Promise<StoreUnderTest>, capabilities: StoreCapabilities): void {
  /** Runs `body` with a fresh store and always cleans up. */
  async function withStore(body: (store: ConfigStore, subject: StoreUnderTest) => Promise<void>): Promise<void> {
    const subject = await open();
    try {
      await body(subject.store, subject);
    } finally {
      await subject.cleanup();
    }
  }

  describe(name, () => {
    describe('revisions and metadata', () => {
      test('a fresh store is empty at revision 1', () =>
        withStore(async (store) => {
          assert.equal(await store.revision(), 1);
          assert.deepEqual(await store.range('/'), { revision: 1, kvs: [] });
          assert.equal(await store.get('/apisix/routes/1'), undefined);
        }));

      test('each put advances the revision by one and stamps create/mod revision and version', () =>
        withStore(async (store) => {
          const first = await store.put('/apisix/routes/1', '{"uri":"/a"}');
          assert.deepEqual(first, { revision: 2 });
          assert.deepEqual(await store.get('/apisix/routes/1'), {
            key: '/apisix/routes/1', value: '{"uri":"/a"}', createRevision: 2, modRevision: 2, version: 1,
          });

          await store.put('/apisix/routes/2', '{}');
          const second = await store.put('/apisix/routes/1', '{"uri":"/b"}');
          assert.equal(second.revision, 4);
          assert.equal(second.prev?.value, '{"uri":"/a"}');
          assert.equal(second.prev?.modRevision, 2);
          assert.deepEqual(await store.get('/apisix/routes/1'), {
            key: '/apisix/routes/1', value: '{"uri":"/b"}', createRevision: 2, modRevision: 4, version: 2,
          });
          assert.equal(await store.revision(), 4);
        }));

      test('delete advances the revision, returns the previous pair, and re-creating starts over', () =>
        withStore(async (store) => {
          await store.put('/apisix/routes/1', 'a');
          await store.put('/apisix/routes/1', 'b');
          const deleted = await store.delete('/apisix/routes/1');
          assert.equal(deleted.revision, 4);
          assert.equal(deleted.prev?.value, 'b');
          assert.equal(deleted.prev?.version, 2);
          assert.equal(await store.get('/apisix/routes/1'), undefined);

          await store.put('/apisix/routes/1', 'c');
          const recreated = await store.get('/apisix/routes/1');
          assert.equal(recreated?.createRevision, 5);
          assert.equal(recreated?.modRevision, 5);
          assert.equal(recreated?.version, 1);
        }));

      test('deleting a missing key changes nothing and does not advance the revision', () =>
        withStore(async (store) => {
          await store.put('/apisix/routes/1', 'a');
          const result = await store.delete('/apisix/routes/404');
          assert.deepEqual(result, { revision: 2 });
          assert.equal(await store.revision(), 2);
        }));
    });

    describe('compare-and-swap', () => {
      test('put with ifModRevision writes on a match and rejects a mismatch without side effects', () =>
        withStore(async (store) => {
          const { revision } = await store.put('/apisix/routes/1', 'a');
          await assert.rejects(store.put('/apisix/routes/1', 'stale', { ifModRevision: revision - 1 }), isCasConflict);
          assert.equal(await store.revision(), revision);
          assert.equal((await store.get('/apisix/routes/1'))?.value, 'a');

          const ok = await store.put('/apisix/routes/1', 'b', { ifModRevision: revision });
          assert.equal(ok.revision, revision + 1);
          assert.equal((await store.get('/apisix/routes/1'))?.value, 'b');
        }));

      test('ifModRevision 0 on put means "only if the key does not exist"', () =>
        withStore(async (store) => {
          const created = await store.put('/apisix/routes/1', 'a', { ifModRevision: 0 });
          assert.equal(created.revision, 2);
          await assert.rejects(store.put('/apisix/routes/1', 'b', { ifModRevision: 0 }), isCasConflict);
          assert.equal((await store.get('/apisix/routes/1'))?.value, 'a');
          assert.equal(await store.revision(), 2);
        }));

      test('delete with ifModRevision removes on a match and keeps the key on a mismatch', () =>
        withStore(async (store) => {
          const { revision } = await store.put('/apisix/routes/1', 'a');
          await assert.rejects(store.delete('/apisix/routes/1', { ifModRevision: revision + 7 }), isCasConflict);
          await assert.rejects(store.delete('/apisix/routes/1', { ifModRevision: 0 }), isCasConflict);
          assert.equal((await store.get('/apisix/routes/1'))?.value, 'a');
          assert.equal(await store.revision(), revision);

          const deleted = await store.delete('/apisix/routes/1', { ifModRevision: revision });
          assert.equal(deleted.revision, revision + 1);
          assert.equal(await store.get('/apisix/routes/1'), undefined);
        }));

      test('delete with ifModRevision 0 on a missing key is a no-op, and a stale revision is a conflict', () =>
        withStore(async (store) => {
          assert.deepEqual(await store.delete('/apisix/routes/1', { ifModRevision: 0 }), { revision: 1 });
          await assert.rejects(store.delete('/apisix/routes/1', { ifModRevision: 1 }), isCasConflict);
        }));

      test('of concurrent creates with ifModRevision 0 on one key exactly one wins', () =>
        withStore(async (store) => {
          const attempts = Array.from({ length: 20 }, (_, i) => store.put('/apisix/routes/race', `writer-${i}`, { ifModRevision: 0 }));
          const outcomes = await Promise.allSettled(attempts);
          const winners = outcomes.filter((o) => o.status === 'fulfilled');
          assert.equal(winners.length, 1);
          for (const o of outcomes) if (o.status === 'rejected') assert.ok(isCasConflict(o.reason));
          const kv = await store.get('/apisix/routes/race');
          assert.equal(kv?.version, 1);
          assert.equal(await store.revision(), 2);
        }));
    });

    describe('range', () => {
      test('returns the keys under a prefix sorted in byte order, with the read revision', () =>
        withStore(async (store) => {
          // Inserted out of order; UTF-8 byte order puts U+FF21 before U+1F600 (JS code-unit order would not).
          for (const id of ['b', '10', '2', 'B', '1', '\u{1F600}', '\uFF21', 'a']) await store.put(`/apisix/routes/${id}`, id);
          const result = await store.range('/apisix/routes/');
          assert.equal(result.revision, 9);
          assert.deepEqual(result.kvs.map((kv) => kv.value), ['1', '10', '2', 'B', 'a', 'b', '\uFF21', '\u{1F600}']);
        }));

      test('keeps prefixes apart: /apisix/routes/ does not see /apisix/routes2/', () =>
        withStore(async (store) => {
          await store.put('/apisix/routes2/1', 'other');
          await store.put('/apisix/routes/1', 'mine');
          await store.put('/apisix/route', 'shorter');
          await store.put('/apisix/services/1', 'service');
          const routes = await store.range('/apisix/routes/');
          assert.deepEqual(routes.kvs.map((kv) => kv.key), ['/apisix/routes/1']);
          const all = await store.range('/apisix/');
          assert.deepEqual(all.kvs.map((kv) => kv.key), ['/apisix/route', '/apisix/routes/1', '/apisix/routes2/1', '/apisix/services/1']);
        }));
    });

    describe('concurrency', () => {
      test('200 concurrent puts each get a distinct revision and none is lost', () =>
        withStore(async (store) => {
          const results = await Promise.all(
            Array.from({ length: 200 }, (_, i) => store.put(`/apisix/routes/${String(i).padStart(3, '0')}`, `v${i}`)),
          );
          const revisions = results.map((r) => r.revision).sort((a, b) => a - b);
          assert.deepEqual(revisions, Array.from({ length: 200 }, (_, i) => i + 2));
          const { kvs, revision } = await store.range('/apisix/routes/');
          assert.equal(revision, 201);
          assert.equal(kvs.length, 200);
          kvs.forEach((kv, i) => {
            assert.equal(kv.value, `v${i}`);
            assert.equal(kv.modRevision, results[i]?.revision);
          });
        }));
    });

    describe('watch', () => {
      test('delivers changes from the next revision in order, never synchronously inside the write', () =>
        withStore(async (store) => {
          const rec = recordWatch(store, '/apisix/', (await store.revision()) + 1);
          try {
            const write = store.put('/apisix/routes/1', 'a');
            assert.equal(rec.batches.length, 0, 'onBatch ran synchronously inside put');
            await write;
            await store.put('/apisix/routes/1', 'b');
            await store.delete('/apisix/routes/1');
            await until(() => rec.events.length === 3, 'three events');
            assert.deepEqual(rec.events.map(describeEvent), ['put /apisix/routes/1=a @2', 'put /apisix/routes/1=b @3', 'delete /apisix/routes/1 @4']);
            for (const batch of rec.batches) assert.equal(batch.revision, batch.events.at(-1)?.kv.modRevision);
            assert.equal(rec.error, undefined);
          } finally {
            rec.handle.cancel();
          }
        }));

      test('from a past revision replays history, then continues live without gaps or duplicates', () =>
        withStore(async (store) => {
          await store.put('/apisix/routes/1', 'a'); // 2
          await store.put('/apisix/routes/2', 'b'); // 3
          await store.delete('/apisix/routes/1'); // 4
          const rec = recordWatch(store, '/apisix/routes/', 3);
          try {
            await store.put('/apisix/routes/3', 'c'); // 5
            await until(() => rec.events.length === 3, 'replayed and live events');
            assert.deepEqual(rec.events.map(describeEvent), ['put /apisix/routes/2=b @3', 'delete /apisix/routes/1 @4', 'put /apisix/routes/3=c @5']);
          } finally {
            rec.handle.cancel();
          }
        }));

      test('on a prefix ignores keys outside it, including a longer sibling prefix', () =>
        withStore(async (store) => {
          const rec = recordWatch(store, '/apisix/routes/', 2);
          try {
            await store.put('/apisix/routes2/1', 'x');
            await store.put('/apisix/services/1', 'x');
            await store.put('/apisix/routes/1', 'mine');
            await store.delete('/apisix/routes2/1');
            await store.put('/apisix/routes/2', 'mine too');
            await until(() => rec.events.length === 2, 'two route events');
            assert.deepEqual(rec.events.map(describeEvent), ['put /apisix/routes/1=mine @4', 'put /apisix/routes/2=mine too @6']);
          } finally {
            rec.handle.cancel();
          }
        }));

      test('delete and overwrite events carry the previous pair', () =>
        withStore(async (store) => {
          const rec = recordWatch(store, '/apisix/', 2);
          try {
            await store.put('/apisix/routes/1', 'a'); // 2
            await store.put('/apisix/routes/1', 'b'); // 3
            await store.delete('/apisix/routes/1'); // 4
            await until(() => rec.events.length === 3, 'three events');
            const [created, updated, deleted] = rec.events;
            assert.equal(created?.prevKv, undefined);
            assert.deepEqual(updated?.prevKv, { key: '/apisix/routes/1', value: 'a', createRevision: 2, modRevision: 2, version: 1 });
            assert.equal(deleted?.type, 'delete');
            assert.equal(deleted?.kv.key, '/apisix/routes/1');
            assert.equal(deleted?.kv.modRevision, 4);
            assert.deepEqual(deleted?.prevKv, { key: '/apisix/routes/1', value: 'b', createRevision: 2, modRevision: 3, version: 2 });
          } finally {
            rec.handle.cancel();
          }
        }));

      test('concurrent writes arrive as ordered batches: every revision once, ascending', () =>
        withStore(async (store) => {
          const rec = recordWatch(store, '/apisix/', 2);
          try {
            await Promise.all(Array.from({ length: 100 }, (_, i) => store.put(`/apisix/upstreams/${i}`, String(i))));
            await until(() => rec.events.length >= 100, '100 events');
            assert.deepEqual(rec.events.map((e) => e.kv.modRevision), Array.from({ length: 100 }, (_, i) => i + 2));
            let last = 1;
            for (const batch of rec.batches) {
              assert.ok(batch.events.length > 0, 'empty batch');
              assert.ok((batch.events[0]?.kv.modRevision ?? 0) > last, 'batches out of order');
              last = batch.revision;
            }
          } finally {
            rec.handle.cancel();
          }
        }));

      test('cancel stops delivery', () =>
        withStore(async (store) => {
          const cancelled = recordWatch(store, '/apisix/', 2);
          const witness = recordWatch(store, '/apisix/', 2);
          try {
            await store.put('/apisix/routes/1', 'before');
            await until(() => cancelled.events.length === 1 && witness.events.length === 1, 'first event on both watches');
            cancelled.handle.cancel();
            await store.put('/apisix/routes/1', 'after');
            // The witness proves the second change was delivered; the cancelled watch must not have it.
            await until(() => witness.events.length === 2, 'second event on the witness');
            assert.equal(cancelled.events.length, 1);
            assert.equal(cancelled.error, undefined);
          } finally {
            witness.handle.cancel();
          }
        }));

      test('close ends watches without onError', () =>
        withStore(async (store) => {
          const rec = recordWatch(store, '/apisix/', 2);
          await store.put('/apisix/routes/1', 'a');
          await until(() => rec.events.length === 1, 'one event');
          await store.close();
          await store.close(); // idempotent
          await new Promise<void>((resolve) => setImmediate(resolve));
          assert.equal(rec.error, undefined);
          await assert.rejects(store.put('/apisix/routes/2', 'b'));
        }));
    });

    describe('leases', () => {
      test('a key written with ttlSeconds disappears with a delete event; a rewrite without ttl keeps its key', { timeout: 15_000 }, () =>
        withStore(async (store) => {
          const rec = recordWatch(store, '/apisix/', 2);
          try {
            await store.put('/apisix/routes/kept', 'leased', { ttlSeconds: 1 }); // 2
            const leased = await store.put('/apisix/routes/ttl', 'short-lived', { ttlSeconds: 2 }); // 3
            await store.put('/apisix/routes/kept', 'permanent'); // 4: drops the lease
            const kv = await store.get('/apisix/routes/ttl');
            assert.equal(typeof kv?.lease, 'number');
            assert.equal((await store.get('/apisix/routes/kept'))?.lease, undefined);

            await until(() => rec.events.some((e) => e.type === 'delete'), 'the expiry delete event', 10_000);
            const deletes = rec.events.filter((e) => e.type === 'delete');
            assert.equal(deletes.length, 1);
            assert.equal(deletes[0]?.kv.key, '/apisix/routes/ttl');
            assert.equal(deletes[0]?.prevKv?.modRevision, leased.revision);
            assert.equal(await store.get('/apisix/routes/ttl'), undefined);
            assert.equal((await store.get('/apisix/routes/kept'))?.value, 'permanent');
          } finally {
            rec.handle.cancel();
          }
        }));
    });

    // Only persistent backends promise anything across instances.
    if (capabilities.persistent) describe('durability', () => {
      test('values, metadata and the revision counter survive a reopen', () =>
        withStore(async (store, subject) => {
          if (!subject.reopen) throw new Error('a persistent backend must provide reopen()');
          await store.put('/apisix/routes/1', 'a');
          await store.put('/apisix/routes/1', 'b');
          await store.put('/apisix/routes/2', 'c');
          await store.delete('/apisix/routes/2');
          const before = await store.range('/apisix/');
          await store.close();

          const reopened = await subject.reopen();
          try {
            assert.deepEqual(await reopened.range('/apisix/'), before);
            assert.equal(await reopened.revision(), 5);
            const next = await reopened.put('/apisix/routes/3', 'd');
            assert.equal(next.revision, 6);
          } finally {
            await reopened.close();
          }
        }));
    });
  });
}

interface WatchRecording {
  readonly batches: WatchBatch[];
  readonly events: WatchEvent[];
  readonly handle: WatchHandle;
  readonly error: Error | undefined;
}

function recordWatch(store: ConfigStore, prefix: string, fromRevision: number): WatchRecording {
  const batches: WatchBatch[] = [];
  const events: WatchEvent[] = [];
  let error: Error | undefined;
  const handle = store.watch(prefix, {
    fromRevision,
    onBatch: (batch) => {
      batches.push(batch);
      events.push(...batch.events);
    },
    onError: (err) => {
      error = err;
    },
  });
  return {
    batches,
    events,
    handle,
    get error() {
      return error;
    },
  };
}

function describeEvent(event: WatchEvent): string {
  return event.type === 'put'
    ? `put ${event.kv.key}=${event.kv.value} @${event.kv.modRevision}`
    : `delete ${event.kv.key} @${event.kv.modRevision}`;
}

function isCasConflict(err: unknown): boolean {
  return err instanceof CasConflictError && err.code === 'STORE_CAS_CONFLICT';
}

/** Polls `condition` until it holds; fails with `what` after `timeoutMs`. */
async function until(condition: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
