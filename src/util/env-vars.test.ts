import { test } from 'node:test';
import assert from 'node:assert/strict';
import { retypeSubstituted, substituteVariables } from './env-vars.js';

test('references are replaced from the environment, then from their default', () => {
  const env = { HOST: 'h', EMPTY: '' };
  assert.deepEqual(substituteVariables('${{HOST}}:${{PORT:= 9080 }}/${{EMPTY:=x}}', env), { text: 'h:9080/', used: true, missing: [] });
  assert.deepEqual(substituteVariables('a ${{NOPE}} b ${{ALSO}}', {}), { text: 'a  b ', used: false, missing: ['NOPE', 'ALSO'] });
  assert.deepEqual(substituteVariables('$host ${var}', {}), { text: '$host ${var}', used: false, missing: [] });
});

test('substituted values take the type Lua would read', () => {
  assert.equal(retypeSubstituted('8080'), 8080);
  assert.equal(retypeSubstituted(' 0x10 '), 16);
  assert.equal(retypeSubstituted('true'), true);
  assert.equal(retypeSubstituted('false'), false);
  assert.equal(retypeSubstituted('inf'), 'inf');
  assert.equal(retypeSubstituted('9080s'), '9080s');
});
