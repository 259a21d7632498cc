import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { compileVarTemplate } from './var-template.js';

describe('compileVarTemplate', () => {
  const vars = { uri: '/a', arg_n: 'x', 'post_arg.user': 'ann', flag: true, zero: 0 };

  test('$name, ${name} and ${name ?? fallback}; a variable without value is empty', () => {
    assert.equal(compileVarTemplate('$uri|${ arg_n }|${missing ?? dflt}|$missing|end').render(vars), '/a|x|dflt||end');
  });

  test('names run over letters, digits, _ and .; values are Lua-stringified', () => {
    assert.equal(compileVarTemplate('$post_arg.user-$flag-$zero').render(vars), 'ann-true-0');
  });

  test('a backslash-escaped $ is left as written, backslash included', () => {
    assert.equal(compileVarTemplate('\\$uri $uri').render(vars), '\\$uri /a');
  });

  test('a template without references is static', () => {
    const t = compileVarTemplate('/plain');
    assert.equal(t.dynamic, false);
    assert.equal(t.render(vars), '/plain');
  });

  test('renderIfResolved is undefined only when no variable had a value (a fallback counts)', () => {
    assert.equal(compileVarTemplate('$missing $other').renderIfResolved(vars), undefined);
    assert.equal(compileVarTemplate('$missing $uri').renderIfResolved(vars), ' /a');
    assert.equal(compileVarTemplate('${missing ?? d}').renderIfResolved(vars), 'd');
  });

  test('with captures, $n and ${n} are groups of the match; escape applies to inserted values only', () => {
    const t = compileVarTemplate('?$1/${2}/$3/$uri', { captures: true });
    assert.equal(t.render(vars, (v) => v.toUpperCase(), ['whole', 'a', 'b']), '?A/B///A');
  });
});
