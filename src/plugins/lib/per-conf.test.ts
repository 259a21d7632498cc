import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compiledPerConf } from './per-conf.js';

test('compiles once per configuration object, again for another object', () => {
  let calls = 0;
  const compiled = compiledPerConf((conf: { n: number }) => ({ doubled: conf.n * 2, call: ++calls }));
  const a = { n: 1 };
  const b = { n: 1 };
  assert.equal(compiled(a), compiled(a));
  assert.deepEqual(compiled(a), { doubled: 2, call: 1 });
  assert.deepEqual(compiled(b), { doubled: 2, call: 2 }, 'an equal but distinct object is another configuration version');
  assert.equal(calls, 2);
});

test('a falsy compiled value is cached too; a throw caches nothing', () => {
  let calls = 0;
  const zero = compiledPerConf(() => (calls++, 0));
  const conf = {};
  assert.equal(zero(conf), 0);
  assert.equal(zero(conf), 0);
  assert.equal(calls, 1);
  let attempts = 0;
  const failing = compiledPerConf(() => {
    attempts++;
    throw new Error('bad');
  });
  assert.throws(() => failing(conf), /bad/);
  assert.throws(() => failing(conf), /bad/);
  assert.equal(attempts, 2);
});
