import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { substituteEnv } from './env.js';

describe('substituteEnv', () => {
  test('replaces ${{NAME}} in values, inside longer strings too', () => {
    const { document, issues } = substituteEnv(
      { etcd: { host: ['http://${{ETCD_HOST}}:2379'], prefix: '${{ PREFIX }}' } },
      { ETCD_HOST: 'etcd.local', PREFIX: '/gw' },
    );
    assert.deepEqual(issues, []);
    assert.deepEqual(document, { etcd: { host: ['http://etcd.local:2379'], prefix: '/gw' } });
  });

  test('uses the default of ${{NAME:=default}} only when the variable is unset', () => {
    const { document } = substituteEnv({ a: '${{UNSET:=fallback}}', b: '${{SET:=fallback}}', c: '${{EMPTY:=x}}' }, { SET: 'v', EMPTY: '' });
    assert.deepEqual(document, { a: 'fallback', b: 'v', c: '' });
  });

  test('substitutes keys as well as values', () => {
    const { document } = substituteEnv({ plugin_attr: { '${{PLUGIN}}': { x: 1 } } }, { PLUGIN: 'prometheus' });
    assert.deepEqual(document, { plugin_attr: { prometheus: { x: 1 } } });
  });

  test('a substituted value that reads as a number or boolean takes that type', () => {
    const { document } = substituteEnv(
      { port: '${{PORT}}', hex: '${{HEX}}', on: '${{ON}}', off: '${{OFF:=false}}', text: 'port-${{PORT}}', ratio: '${{RATIO}}' },
      { PORT: '9080', HEX: '0x10', ON: 'true', RATIO: '0.5' },
    );
    assert.deepEqual(document, { port: 9080, hex: 16, on: true, off: false, text: 'port-9080', ratio: 0.5 });
  });

  test('a literal number-like string without a variable stays a string', () => {
    const { document } = substituteEnv({ key: '1234', flag: 'true' }, {});
    assert.deepEqual(document, { key: '1234', flag: 'true' });
  });

  test('an unset variable without default is reported with its key path', () => {
    const { issues } = substituteEnv({ deployment: { etcd: { host: ['${{ETCD_URL}}'] } }, '${{KEYVAR}}': 1 }, {});
    assert.deepEqual(issues, [
      { path: 'deployment.etcd.host[0]', message: "can't find environment variable ETCD_URL" },
      { path: '["${{KEYVAR}}"]', message: "can't find environment variable KEYVAR" },
    ]);
  });

  test('does not change the input document', () => {
    const input = { a: '${{X}}' };
    substituteEnv(input, { X: '1' });
    assert.deepEqual(input, { a: '${{X}}' });
  });
});
