import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveEnvVarsInDocument, substituteEnvVars } from './env-vars.js';
import { StandaloneConfigError } from './errors.js';

describe('substituteEnvVars (raw text)', () => {
  test('replaces set variables, uses defaults only for unset ones, keeps an empty value', () => {
    const env = { HOST: 'upstream.local', EMPTY: '' };
    const { text, substituted } = substituteEnvVars(
      'a: ${{HOST}}:80\nb: ${{ HOST }}\nc: ${{UNSET:= fallback value }}\nd: "${{EMPTY:=x}}"\ne: ${{UNSET:=}}|',
      env,
    );
    assert.equal(substituted, true);
    assert.equal(text, 'a: upstream.local:80\nb: upstream.local\nc: fallback value\nd: ""\ne: |');
  });

  test('leaves nginx-style $var and ${var} alone', () => {
    assert.deepEqual(substituteEnvVars('uri: $uri ${host} $${{', {}), { text: 'uri: $uri ${host} $${{', substituted: false });
  });

  test('an unset variable without default is an error naming it', () => {
    assert.throws(() => substituteEnvVars('a: ${{SET}} b: ${{NOPE}}', { SET: '1' }), (err: unknown) => {
      assert.ok(err instanceof StandaloneConfigError);
      assert.equal(err.message, "can't find environment variable NOPE");
      return true;
    });
  });
});

describe('resolveEnvVarsInDocument (parsed JSON)', () => {
  test('substitutes keys and string values; a substituted number or boolean takes its type', () => {
    const doc = {
      routes: [{ id: '${{ID}}', uri: '/${{PATH}}', enable: '${{ON}}', port: '${{PORT}}', hex: '${{HEX}}', plain: '42', text: 'v${{PORT}}' }],
      '${{KEY}}': 'x',
    };
    const env = { ID: '7', PATH: 'hello', ON: 'true', PORT: '8080', HEX: '-0x10', KEY: 'renamed' };
    assert.deepEqual(resolveEnvVarsInDocument(doc, env), {
      routes: [{ id: 7, uri: '/hello', enable: true, port: 8080, hex: -16, plain: '42', text: 'v8080' }],
      renamed: 'x',
    });
  });
});
