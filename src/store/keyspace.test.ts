import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ChangeOutOfOrderError, Keyspace } from './keyspace.js';
import { CasConflictError } from './types.js';

describe('Keyspace', () => {
  test('staging evaluates a sequence of writes against each other without touching the state', () => {
    const ks = new Keyspace();
    ks.apply(ks.stage().put('/k', 'committed', undefined, 0).change); // revision 2

    const staging = ks.stage();
    const first = staging.put('/k', 'one', { ifModRevision: 2 }, 0);
    assert.deepEqual(first.result.revision, 3);
    // The second write sees the first: the CAS must name revision 3, and the previous value is 'one'.
    assert.throws(() => staging.put('/k', 'stale', { ifModRevision: 2 }, 0), CasConflictError);
    const second = staging.put('/k', 'two', { ifModRevision: 3 }, 0);
    assert.equal(second.result.prev?.value, 'one');
    const removed = staging.delete('/k', undefined);
    assert.equal(removed.result.revision, 5);
    assert.deepEqual(staging.delete('/k', undefined).result, { revision: 5 }, 'deleting a staged-away key is a no-op');
    const recreated = staging.put('/k', 'three', { ifModRevision: 0 }, 0);

    assert.equal(ks.revision, 2, 'staging applied something');
    assert.equal(ks.get('/k')?.value, 'committed');

    for (const change of [first.change, second.change, removed.change, recreated.change]) ks.apply(change as NonNullable<typeof change>);
    assert.deepEqual(ks.get('/k'), { key: '/k', value: 'three', createRevision: 6, modRevision: 6, version: 1 });
  });

  test('a TTL becomes an absolute expiry and the lease id is the revision', () => {
    const ks = new Keyspace();
    const { change } = ks.stage().put('/k', 'v', { ttlSeconds: 1.5 }, 10_000);
    assert.equal(change.expiresAt, 11_500);
    ks.apply(change);
    assert.equal(ks.get('/k')?.lease, 2);
    assert.equal(ks.expiresAt('/k'), 11_500);
    ks.apply(ks.stage().put('/k', 'v2', undefined, 0).change);
    assert.equal(ks.get('/k')?.lease, undefined);
    assert.equal(ks.expiresAt('/k'), undefined, 'a put without ttl drops the lease');
  });

  test('rejects bad arguments before using a revision', () => {
    const ks = new Keyspace();
    const staging = ks.stage();
    assert.throws(() => staging.put('/k', 'v', { ttlSeconds: 0 }, 0), RangeError);
    assert.throws(() => staging.put('/k', 'v', { ttlSeconds: Number.NaN }, 0), RangeError);
    assert.throws(() => staging.put('', 'v', undefined, 0), RangeError);
    assert.equal(staging.put('/k', 'v', undefined, 0).result.revision, 2);
  });

  test('apply refuses a change that does not follow (a log gap, a delete of a missing key)', () => {
    const ks = new Keyspace();
    assert.throws(() => ks.apply({ op: 'put', revision: 3, key: '/k', value: 'v' }), ChangeOutOfOrderError);
    assert.throws(() => ks.apply({ op: 'delete', revision: 2, key: '/k' }), ChangeOutOfOrderError);
    assert.equal(ks.revision, 1);
  });

  test('delete produces an etcd tombstone event with the previous pair', () => {
    const ks = new Keyspace();
    ks.apply({ op: 'put', revision: 2, key: '/k', value: 'v' });
    const event = ks.apply({ op: 'delete', revision: 3, key: '/k' });
    assert.deepEqual(event, {
      type: 'delete',
      kv: { key: '/k', value: '', createRevision: 0, modRevision: 3, version: 0 },
      prevKv: { key: '/k', value: 'v', createRevision: 2, modRevision: 2, version: 1 },
    });
  });

  test('restore replaces the state and entries() lists it in key order with expiries', () => {
    const ks = new Keyspace();
    ks.apply({ op: 'put', revision: 2, key: '/gone', value: 'x' });
    ks.restore(
      [
        { kv: { key: '/b', value: 'b', createRevision: 5, modRevision: 7, version: 2 } },
        { kv: { key: '/a', value: 'a', createRevision: 9, modRevision: 9, version: 1, lease: 9 }, expiresAt: 123 },
      ],
      10,
    );
    assert.equal(ks.revision, 10);
    assert.equal(ks.get('/gone'), undefined);
    assert.deepEqual([...ks.entries()].map((e) => [e.kv.key, e.expiresAt]), [['/a', 123], ['/b', undefined]]);
    assert.deepEqual(ks.range('/').map((kv) => kv.key), ['/a', '/b']);
  });
});
