import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mergePatch, patchSubPath } from './patch.js';
import { InvalidResourceError } from './errors.js';

describe('mergePatch', () => {
  test('merges objects recursively, replaces scalars and arrays', () => {
    const target = { uri: '/a', methods: ['GET'], upstream: { type: 'roundrobin', nodes: { a: 1, b: 1 } } };
    const out = mergePatch(target, { methods: ['POST', 'PUT'], upstream: { nodes: { c: 2 } }, status: 0 });
    assert.deepEqual(out, { uri: '/a', methods: ['POST', 'PUT'], upstream: { type: 'roundrobin', nodes: { a: 1, b: 1, c: 2 } }, status: 0 });
  });

  test('null deletes a key, at any depth', () => {
    assert.deepEqual(mergePatch({ a: 1, n: { x: 1, y: 2 } }, { a: null, n: { y: null } }), { n: { x: 1 } });
  });

  test('an empty object replaces the target value wholesale', () => {
    assert.deepEqual(mergePatch({ plugins: { a: {}, b: {} } }, { plugins: {} }), { plugins: {} });
  });

  test('an object replaces a scalar or an array', () => {
    assert.deepEqual(mergePatch({ a: 1, b: [1] }, { a: { x: 1 }, b: { y: 1 } }), { a: { x: 1 }, b: { y: 1 } });
  });

  test('__proto__ in a patch stays an own property and never reaches a prototype', () => {
    const target: Record<string, unknown> = { a: {} };
    mergePatch(target, JSON.parse('{"__proto__":{"polluted":true},"a":{"__proto__":{"polluted":true}}}') as Record<string, unknown>);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal(Object.getPrototypeOf(target), Object.prototype);
    assert.deepEqual(JSON.parse(JSON.stringify(target)), JSON.parse('{"a":{"__proto__":{"polluted":true}},"__proto__":{"polluted":true}}'));
  });
});

describe('patchSubPath', () => {
  test('replaces the addressed value with any JSON value', () => {
    assert.deepEqual(patchSubPath({ methods: ['GET'] }, 'methods', ['POST', 'DELETE']), { methods: ['POST', 'DELETE'] });
    assert.deepEqual(
      patchSubPath({ upstream: { nodes: { a: 1 }, type: 'roundrobin' } }, 'upstream/nodes', { b: 1 }),
      { upstream: { nodes: { b: 1 }, type: 'roundrobin' } },
    );
    assert.deepEqual(patchSubPath({ desc: 'x' }, 'desc', 'y'), { desc: 'y' });
  });

  test('creates missing intermediate objects', () => {
    assert.deepEqual(patchSubPath({}, 'a/b/c', 1), { a: { b: { c: 1 } } });
  });

  test('an intermediate that is not an object is an invalid sub-path', () => {
    assert.throws(() => patchSubPath({ uri: '/a' }, 'uri/x', 1), (err: unknown) => err instanceof InvalidResourceError && err.message === 'invalid sub-path: /uri');
    assert.throws(() => patchSubPath({ a: { b: [1] } }, 'a/b/0', 1), { message: 'invalid sub-path: /a/b' });
  });

  test('__proto__ segments do not walk into prototypes', () => {
    const target: Record<string, unknown> = {};
    patchSubPath(target, '__proto__/polluted', true);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.deepEqual(JSON.parse(JSON.stringify(target)), JSON.parse('{"__proto__":{"polluted":true}}'));
  });
});
