import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseStandaloneConfig, type ParseOptions } from './document.js';
import { StandaloneConfigError } from './errors.js';

function parse(text: string, overrides: Partial<ParseOptions> = {}): { entries: Record<string, unknown>; warnings: string[] } {
  const warnings: string[] = [];
  const map = parseStandaloneConfig(Buffer.from(text), {
    format: 'yaml',
    prefix: '/apisix',
    env: {},
    onWarning: (message, details) => warnings.push(`${message} ${JSON.stringify(details)}`),
    ...overrides,
  });
  return { entries: Object.fromEntries([...map].map(([k, v]) => [k, JSON.parse(v) as unknown])), warnings };
}

describe('parseStandaloneConfig', () => {
  test('maps every resource list to etcd keys: id, else username, else arr_<position>', () => {
    const { entries, warnings } = parse(`
routes:
  - id: 1
    uri: /hello
    upstream_id: u1
  - uri: /anonymous
upstreams:
  - id: u1
    nodes:
      "127.0.0.1:1980": 1
    type: roundrobin
consumers:
  - username: jack
    plugins:
      key-auth:
        key: jack-key
  - id: jack/credentials/c1
    plugins:
      key-auth:
        key: other
plugin_metadata:
  - id: http-logger
    log_format:
      host: $host
global_rules: []
ssls: {}
services: ~
routes_conf_version: 3
#END
`);
    assert.deepEqual(warnings, []);
    assert.deepEqual(entries, {
      '/apisix/routes/1': { id: 1, uri: '/hello', upstream_id: 'u1' },
      '/apisix/routes/arr_2': { uri: '/anonymous' },
      '/apisix/upstreams/u1': { id: 'u1', nodes: { '127.0.0.1:1980': 1 }, type: 'roundrobin' },
      '/apisix/consumers/jack': { username: 'jack', plugins: { 'key-auth': { key: 'jack-key' } } },
      '/apisix/consumers/jack/credentials/c1': { id: 'jack/credentials/c1', plugins: { 'key-auth': { key: 'other' } } },
      '/apisix/plugin_metadata/http-logger': { id: 'http-logger', log_format: { host: '$host' } },
    });
  });

  test('values are the items\' compact JSON', () => {
    const map = parseStandaloneConfig(Buffer.from('routes:\n  - id: r\n    uri: /a\n    methods: [GET]\n#END'), { format: 'yaml', prefix: '/gw', env: {}, onWarning: () => undefined });
    assert.deepEqual([...map], [['/gw/routes/r', '{"id":"r","uri":"/a","methods":["GET"]}']]);
  });

  test('top-level plugins becomes the single <prefix>/plugins key', () => {
    const { entries } = parse('plugins:\n  - name: key-auth\n  - name: mqtt-proxy\n    stream: true\n#END\n');
    assert.deepEqual(entries, { '/apisix/plugins': [{ name: 'key-auth' }, { name: 'mqtt-proxy', stream: true }] });
  });

  test('YAML needs #END within its last bytes, followed only by whitespace', () => {
    assert.deepEqual(parse('routes: []\n#END').entries, {});
    assert.deepEqual(parse('routes: []\n#END  \n\n').entries, {});
    for (const text of ['routes: []\n', 'routes: []\n#END\n# trailing comment\n', 'routes: []\n#END' + ' '.repeat(10), '#END\nroutes: []\n']) {
      assert.throws(() => parse(text), (err: unknown) => err instanceof StandaloneConfigError && err.message === 'missing valid end flag', JSON.stringify(text));
    }
  });

  test('JSON needs no end flag and has ${{VAR}} resolved after parsing', () => {
    const { entries } = parse('{"routes":[{"id":"${{RID}}","uri":"/${{P:=x}}","priority":"${{PRIO}}"}],"upstreams":[{"id":2,"nodes":{"127.0.0.1:1980":1}}]}', {
      format: 'json',
      env: { RID: 'r1', PRIO: '10' },
    });
    assert.deepEqual(entries, {
      '/apisix/routes/r1': { id: 'r1', uri: '/x', priority: 10 },
      '/apisix/upstreams/2': { id: 2, nodes: { '127.0.0.1:1980': 1 } },
    });
  });

  test('YAML has ${{VAR}} substituted in the raw text before parsing', () => {
    const { entries } = parse('routes:\n  - id: ${{RID}}\n    uri: ${{URI:=/default}}\n    upstream:\n      nodes:\n        "${{NODE}}": 1\n#END\n', { env: { RID: '5', NODE: '10.0.0.1:80' } });
    assert.deepEqual(entries, { '/apisix/routes/5': { id: 5, uri: '/default', upstream: { nodes: { '10.0.0.1:80': 1 } } } });
  });

  test('an unset variable without a default rejects the file', () => {
    assert.throws(() => parse('routes:\n  - uri: ${{MISSING}}\n#END\n'), /can't find environment variable MISSING/);
    assert.throws(() => parse('{"routes":[{"uri":"${{MISSING}}"}]}', { format: 'json' }), /can't find environment variable MISSING/);
  });

  test('a duplicate id is warned about and the first item kept', () => {
    const { entries, warnings } = parse('routes:\n  - id: 1\n    uri: /first\n  - id: "1"\n    uri: /second\n#END\n');
    assert.deepEqual(entries, { '/apisix/routes/1': { id: 1, uri: '/first' } });
    assert.equal(warnings.length, 1);
    assert.match(warnings[0] as string, /duplicate id.*"position":2/);
  });

  test('an unknown top-level key is warned about and ignored', () => {
    const { entries, warnings } = parse('route:\n  - uri: /typo\n#END\n');
    assert.deepEqual(entries, {});
    assert.match(warnings.join(), /unknown top-level key.*"route"/);
  });

  test('an empty document is an empty configuration; broken syntax or shapes are errors', () => {
    assert.deepEqual(parse('#END\n').entries, {});
    assert.throws(() => parse('routes: [\n#END\n'), /invalid YAML/);
    assert.throws(() => parse('{"routes": [', { format: 'json' }), /invalid JSON/);
    assert.throws(() => parse('- a\n- b\n#END\n'), /must be a mapping/);
    assert.throws(() => parse('routes: /not-a-list\n#END\n'), /routes must be a list/);
    assert.throws(() => parse('plugins: key-auth\n#END\n'), /plugins must be a list/);
  });
});
