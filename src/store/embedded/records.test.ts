import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeChange, decodeSnapshot, encodeChange, encodeSnapshot, MalformedRecordError } from './records.js';

describe('log and snapshot records', () => {
  test('changes round-trip, with and without a lease', () => {
    for (const change of [
      { op: 'put', revision: 2, key: '/apisix/routes/1', value: '{"uri":"/ü"}' },
      { op: 'put', revision: 3, key: '/k', value: '', expiresAt: 1_700_000_000_123 },
      { op: 'delete', revision: 4, key: '/k' },
    ] as const) {
      assert.deepEqual(decodeChange(encodeChange(change)), change);
    }
  });

  test('a change with a wrong shape is malformed', () => {
    for (const bad of ['[]', '{"op":"put","revision":2,"key":"/k"}', '{"op":"put","revision":0,"key":"/k","value":""}', '{"op":"merge","revision":2,"key":"/k"}', '{"op":"delete","revision":2,"key":""}', 'not json']) {
      assert.throws(() => decodeChange(Buffer.from(bad)), MalformedRecordError, bad);
    }
  });

  test('snapshots round-trip keys, metadata, leases and expiries', () => {
    const data = {
      revision: 9,
      walSeq: 3,
      entries: [
        { kv: { key: '/a', value: 'a', createRevision: 2, modRevision: 5, version: 3 } },
        { kv: { key: '/b', value: 'b', createRevision: 9, modRevision: 9, version: 1, lease: 9 }, expiresAt: 42 },
      ],
    };
    assert.deepEqual(decodeSnapshot(encodeSnapshot(data)), data);
  });

  test('a snapshot with an unknown format or a key newer than itself is malformed', () => {
    assert.throws(() => decodeSnapshot(Buffer.from('{"format":2,"revision":1,"walSeq":1,"kvs":[]}')), /unsupported snapshot format/);
    const newer = { format: 1, revision: 3, walSeq: 1, kvs: [{ key: '/a', value: '', createRevision: 4, modRevision: 4, version: 1 }] };
    assert.throws(() => decodeSnapshot(Buffer.from(JSON.stringify(newer))), /newer than the snapshot/);
  });
});
