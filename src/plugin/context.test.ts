import { test } from 'node:test';
import assert from 'node:assert/strict';
import { definePlugin } from '../pdk/plugin.js';
import { PluginHarness } from '../../test/helpers/plugin-harness.js';

const harness = new PluginHarness(definePlugin({ name: 'probe', version: '0.1', priority: 0, schema: { type: 'object' } }));

test('ctx.var reads variables lazily and writes the settable ones', () => {
  const ctx = harness.request('/hello?a=1', { headers: { 'X-Thing': 'yes' } });
  assert.equal(ctx.var.uri, '/hello');
  assert.equal(ctx.var.arg_a, '1');
  assert.equal(ctx.var.http_x_thing, 'yes');
  assert.equal('http_x_thing' in ctx.var, true);
  assert.equal('http_x_missing' in ctx.var, false);
  ctx.var.upstream_uri = '/elsewhere';
  assert.equal(ctx.var.upstream_uri, '/elsewhere');
  // One object per request, however often it is read.
  assert.equal(ctx.var, ctx.var);
});

test('ctx.var exposes no keys of its own, so the request internals stay out of reach', () => {
  const ctx = harness.request('/hello');
  const vars = ctx.var;
  assert.deepEqual(Object.keys(vars), []);
  assert.deepEqual(Reflect.ownKeys(vars), []);
  assert.deepEqual(Object.getOwnPropertySymbols(vars), []);
  assert.equal(JSON.stringify(vars), '{}');
});

test('two requests have separate ctx.var views', () => {
  const a = harness.request('/a');
  const b = harness.request('/b');
  assert.equal(a.var.uri, '/a');
  assert.equal(b.var.uri, '/b');
});
