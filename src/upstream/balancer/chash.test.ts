import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ConsistentHashBalancer } from './chash.js';
import { compileHashKey } from './hash-key.js';
import type { PickRequest } from '../types.js';
import { makeNodes } from '../../../test/upstream/balancer-fixtures.js';

const byArg: PickRequest['vars'] = () => undefined;
const keyOf = (user: string): PickRequest => ({ vars: (name) => (name === 'arg_user' ? user : undefined), remoteAddr: '10.0.0.1' });
const argUser = compileHashKey('vars', 'arg_user');
const users = Array.from({ length: 30_000 }, (_, i) => `user-${i}`);

function assignments(balancer: ConsistentHashBalancer): Map<string, string> {
  return new Map(users.map((u) => [u, balancer.pick(keyOf(u), undefined)!.host]));
}

describe('consistent hash', () => {
  test('the same key always lands on the same node', () => {
    const ch = new ConsistentHashBalancer(makeNodes([{ name: 'a', weight: 1 }, { name: 'b', weight: 1 }, { name: 'c', weight: 1 }]), argUser);
    for (const u of users.slice(0, 200)) {
      const first = ch.pick(keyOf(u), undefined)!.host;
      for (let i = 0; i < 3; i++) assert.equal(ch.pick(keyOf(u), undefined)!.host, first);
    }
  });

  test('keys spread by weight (1:2)', () => {
    const ch = new ConsistentHashBalancer(makeNodes([{ name: 'a', weight: 1 }, { name: 'b', weight: 2 }]), argUser);
    const share = [...assignments(ch).values()].filter((n) => n === 'a').length / users.length;
    assert.ok(Math.abs(share - 1 / 3) < 0.05, `share of a: ${share}`);
  });

  test('weights are scaled by their GCD: 2:4 maps keys exactly like 1:2', () => {
    const small = assignments(new ConsistentHashBalancer(makeNodes([{ name: 'a', weight: 1 }, { name: 'b', weight: 2 }]), argUser));
    const large = assignments(new ConsistentHashBalancer(makeNodes([{ name: 'a', weight: 2 }, { name: 'b', weight: 4 }]), argUser));
    assert.deepEqual(large, small);
  });

  test('removing a node moves only the keys it owned', () => {
    const three = assignments(new ConsistentHashBalancer(makeNodes([{ name: 'a', weight: 1 }, { name: 'b', weight: 1 }, { name: 'c', weight: 1 }]), argUser));
    const two = assignments(new ConsistentHashBalancer(makeNodes([{ name: 'a', weight: 1 }, { name: 'b', weight: 1 }]), argUser));
    let moved = 0;
    for (const u of users) {
      if (three.get(u) === 'c') moved += 1;
      else assert.equal(two.get(u), three.get(u), `${u} moved although its node stayed`);
    }
    assert.ok(moved > users.length / 4 && moved < users.length / 2.5, `moved ${moved}`);
  });

  test('a retry walks on to a node not tried yet', () => {
    const nodes = makeNodes([{ name: 'a', weight: 1 }, { name: 'b', weight: 1 }, { name: 'c', weight: 1 }]);
    const ch = new ConsistentHashBalancer(nodes, argUser);
    const first = ch.pick(keyOf('u1'), undefined)!;
    const second = ch.pick(keyOf('u1'), new Set([first]))!;
    assert.notEqual(second, first);
    assert.equal(ch.pick(keyOf('u1'), new Set([first]))!, second, 'the walk is deterministic');
    const third = ch.pick(keyOf('u1'), new Set([first, second]))!;
    assert.ok(third !== first && third !== second);
    assert.equal(ch.pick(keyOf('u1'), new Set(nodes)), undefined);
  });
});

describe('chash keys (hash_on)', () => {
  const vars: Record<string, string> = {
    http_x_user: 'alice',
    cookie_session: 's1',
    consumer_name: 'jack',
    uri: '/a',
    arg_x: '1',
  };
  const request: PickRequest = { vars: (name) => vars[name], remoteAddr: '10.0.0.9' };

  test('vars / header / cookie / consumer / vars_combinations', () => {
    assert.equal(compileHashKey('vars', 'uri')(request), '/a');
    assert.equal(compileHashKey('header', 'X-User')(request), 'alice');
    assert.equal(compileHashKey('cookie', 'session')(request), 's1');
    assert.equal(compileHashKey('consumer', undefined)(request), 'jack');
    assert.equal(compileHashKey('vars_combinations', '$uri-${arg_x}:$missing')(request), '/a-1:');
  });

  test('an empty key hashes the client address', () => {
    const none: PickRequest = { vars: byArg, remoteAddr: '10.0.0.9' };
    assert.equal(compileHashKey('vars', 'arg_y')(none), '10.0.0.9');
    assert.equal(compileHashKey('header', 'X-None')(none), '10.0.0.9');
    assert.equal(compileHashKey('vars_combinations', '$a$b')(none), '10.0.0.9');
    assert.equal(compileHashKey('consumer', undefined)(none), '10.0.0.9');
  });
});
