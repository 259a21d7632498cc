/**
 * Pins every built-in plugin's priority to APISIX's number
 * (spec/plugins.md §13) and forbids duplicates: execution order is part of
 * the product, and a plugin added without a pinned priority fails here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { builtinPlugins } from './index.js';

/** APISIX 3.18's priorities (apisix/plugins/<name>.lua). */
const APISIX_PRIORITIES: Readonly<Record<string, number>> = {
  'real-ip': 23000,
  'client-control': 22000,
  'proxy-buffering': 21991,
  'proxy-control': 21990,
  'request-id': 12015,
  'fault-injection': 11000,
  mocking: 10900,
  'serverless-pre-function': 10000,
  cors: 4000,
  'ip-restriction': 3000,
  'ua-restriction': 2999,
  'uri-blocker': 2900,
  'hmac-auth': 2530,
  'basic-auth': 2520,
  'jwt-auth': 2510,
  'key-auth': 2500,
  'consumer-restriction': 2400,
  'forward-auth': 2002,
  'proxy-mirror': 1010,
  'proxy-rewrite': 1008,
  'api-breaker': 1005,
  'limit-conn': 1003,
  'limit-count': 1002,
  'limit-req': 1001,
  gzip: 995,
  'traffic-split': 966,
  redirect: 900,
  'response-rewrite': 899,
  'public-api': 501,
  prometheus: 500,
  echo: 412,
  'http-logger': 410,
  'file-logger': 399,
  'aws-lambda': -1899,
  'azure-functions': -1900,
  openwhisk: -1901,
  openfunction: -1902,
  'serverless-post-function': -2000,
};

test('every built-in plugin runs at its APISIX priority', () => {
  assert.ok(builtinPlugins.length > 0);
  for (const plugin of builtinPlugins) {
    const expected = APISIX_PRIORITIES[plugin.name];
    assert.notEqual(expected, undefined, `${plugin.name} has no pinned priority: add APISIX's number to this table`);
    assert.equal(plugin.priority, expected, `${plugin.name} priority`);
  }
});

test('no two built-in plugins share a name or a priority', () => {
  const names = new Set<string>();
  const priorities = new Map<number, string>();
  for (const plugin of builtinPlugins) {
    assert.ok(!names.has(plugin.name), `duplicate plugin name ${plugin.name}`);
    names.add(plugin.name);
    const other = priorities.get(plugin.priority);
    assert.equal(other, undefined, `${plugin.name} and ${other} share priority ${plugin.priority}`);
    priorities.set(plugin.priority, plugin.name);
  }
  const table = Object.values(APISIX_PRIORITIES);
  assert.equal(new Set(table).size, table.length, 'the pinned table itself has no duplicates');
});
