import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { compileExpr, ExprError } from './expr.js';
import type { VarGetter } from './types.js';

/** Variable space backed by a plain object. */
function vars(values: Record<string, unknown>): VarGetter {
  return (name) => values[name];
}

function evalRule(rule: unknown, values: Record<string, unknown>): boolean {
  return compileExpr(rule)(vars(values));
}

function assertCompileError(rule: unknown, message: string): void {
  assert.throws(
    () => compileExpr(rule),
    (err: unknown) => err instanceof ExprError && err.code === 'EXPR_INVALID' && err.message === message,
    `${JSON.stringify(rule)} should fail with ${message}`,
  );
}

describe('rule shapes', () => {
  test('[] is always true', () => {
    assert.equal(evalRule([], {}), true);
  });

  test('a bare expression at top level must be wrapped', () => {
    assertCompileError(['arg_a', '==', '1'], 'rule should be wrapped inside brackets');
    assertCompileError([5, '==', '1'], 'rule should be wrapped inside brackets');
    assertCompileError('arg_a', 'rule should be wrapped inside brackets');
    assertCompileError({ a: 1 }, 'rule should be wrapped inside brackets');
  });

  test('missing rule', () => {
    assertCompileError(undefined, 'missing argument rule');
    assertCompileError(null, 'missing argument rule');
  });

  test('a list of expressions is an implicit AND', () => {
    const rule = [
      ['arg_a', '==', '1'],
      ['arg_b', '==', '2'],
    ];
    assert.equal(evalRule(rule, { arg_a: '1', arg_b: '2' }), true);
    assert.equal(evalRule(rule, { arg_a: '1', arg_b: '3' }), false);
  });

  test('logical operators are case-insensitive and need two operands', () => {
    const or = ['or', ['arg_a', '==', '1'], ['arg_b', '==', '2']];
    assert.equal(evalRule(or, { arg_b: '2' }), true);
    assert.equal(evalRule(or, {}), false);
    assert.equal(evalRule(['Or', ['arg_a', '==', '1'], ['arg_b', '==', '2']], { arg_a: '1' }), true);
    assertCompileError(['AND', ['arg_a', '==', '1']], 'rule too short');
    assertCompileError(['OR'], 'rule too short');
    assertCompileError([['OR', ['arg_a', '==', '1']]], 'rule too short');
  });

  test('!AND and !OR negate the combination', () => {
    const nand = ['!AND', ['arg_a', '==', '1'], ['arg_b', '==', '2']];
    assert.equal(evalRule(nand, { arg_a: '1', arg_b: '2' }), false);
    assert.equal(evalRule(nand, { arg_a: '1', arg_b: '3' }), true);
    const nor = ['!or', ['arg_a', '==', '1'], ['arg_b', '==', '2']];
    assert.equal(evalRule(nor, { arg_a: '0', arg_b: '0' }), true);
    assert.equal(evalRule(nor, { arg_a: '1' }), false);
  });

  test('nested rules combine with expressions', () => {
    const rule = [
      'AND',
      ['arg_version', '==', 'v2'],
      ['OR', ['arg_action', '==', 'signup'], ['arg_action', '==', 'signin']],
    ];
    assert.equal(evalRule(rule, { arg_version: 'v2', arg_action: 'signin' }), true);
    assert.equal(evalRule(rule, { arg_version: 'v2', arg_action: 'other' }), false);
    assert.equal(evalRule(rule, { arg_version: 'v1', arg_action: 'signin' }), false);
    const implicit = [['arg_a', '==', '1'], ['OR', ['arg_b', '==', '1'], ['arg_c', '==', '1']]];
    assert.equal(evalRule(implicit, { arg_a: '1', arg_c: '1' }), true);
  });

  test('evaluation short-circuits', () => {
    const seen: string[] = [];
    const getter: VarGetter = (name) => {
      seen.push(name);
      return '1';
    };
    compileExpr(['OR', ['a', '==', '1'], ['b', '==', '1']])(getter);
    assert.deepEqual(seen, ['a']);
    seen.length = 0;
    compileExpr([['a', '==', '2'], ['b', '==', '1']])(getter);
    assert.deepEqual(seen, ['a']);
  });

  test('an empty nested rule is too short', () => {
    assertCompileError([[]], 'rule too short');
    assertCompileError(['AND', [], ['a', '==', '1']], 'rule too short');
  });

  test('malformed elements are refused', () => {
    assertCompileError([['a', '==', '1'], 'b'], 'invalid expression');
    assertCompileError([['a']], 'invalid expression');
    assertCompileError([['a', true]], 'invalid expression');
    assertCompileError([['a', null]], 'invalid expression');
    assertCompileError([[5, '==', 1]], 'invalid expression');
    assertCompileError([[null, '==', 1]], 'invalid expression');
  });
});

describe('expressions', () => {
  test('[var, value] means equality, with the value lower-cased as lua-resty-expr does', () => {
    assert.equal(evalRule([['arg_a', 'abc']], { arg_a: 'abc' }), true);
    assert.equal(evalRule([['arg_a', 'ABC']], { arg_a: 'abc' }), true);
    assert.equal(evalRule([['arg_a', 'ABC']], { arg_a: 'ABC' }), false);
    // A number is turned into a string, so no numeric coercion happens.
    assert.equal(evalRule([['arg_a', 5]], { arg_a: '5' }), true);
    assert.equal(evalRule([['arg_a', 5]], { arg_a: '5.0' }), false);
  });

  test('[var, op] with a known operator compares with nil', () => {
    assert.equal(evalRule([['arg_a', '==']], {}), true);
    assert.equal(evalRule([['arg_a', '==']], { arg_a: 'x' }), false);
    assert.equal(evalRule([['arg_a', 'in']], { arg_a: 'x' }), false);
  });

  test('negation with "!"', () => {
    assert.equal(evalRule([['arg_a', '!', '==', '1']], { arg_a: '2' }), true);
    assert.equal(evalRule([['arg_a', '!', '==', '1']], { arg_a: '1' }), false);
    assert.equal(evalRule([['arg_a', '!', '~~', '^a']], { arg_a: 'abc' }), false);
    assertCompileError([['arg_a', 'not', '==', '1']], "bad 'not' expression");
    assertCompileError([['arg_a', '==', '1', '2']], "bad 'not' expression");
  });

  test('operators are case-insensitive; unknown ones are named in the error', () => {
    assert.equal(evalRule([['arg_a', 'IN', ['x', 'y']]], { arg_a: 'y' }), true);
    assert.equal(evalRule([['remote_addr', 'IPMatch', '10.0.0.0/8']], { remote_addr: '10.1.1.1' }), true);
    assertCompileError([['arg_a', '=', '1']], "invalid operator '='");
    assertCompileError([['arg_a', '*=', '1']], "invalid operator '*='");
    assertCompileError([['arg_a', 'LIKE', '1']], "invalid operator 'like'");
    assertCompileError([['arg_a', '!', 'Foo', '1']], "invalid operator 'foo'");
  });

  test('extra elements beyond four are ignored, as lua-resty-expr reads three', () => {
    assert.equal(evalRule([['arg_a', '==', '1', 'x', 'y']], { arg_a: '1' }), true);
  });
});

describe('operators', () => {
  test('== with a string is strict equality', () => {
    assert.equal(evalRule([['arg_a', '==', '18']], { arg_a: '18' }), true);
    assert.equal(evalRule([['arg_a', '==', '18']], { arg_a: 18 }), false);
    assert.equal(evalRule([['arg_a', '==', '18']], {}), false);
    assert.equal(evalRule([['arg_flag', '==', true]], { arg_flag: true }), true);
    assert.equal(evalRule([['arg_flag', '==', 'true']], { arg_flag: true }), false);
  });

  test('== with a number converts the variable with tonumber', () => {
    assert.equal(evalRule([['arg_a', '==', 18]], { arg_a: '18' }), true);
    assert.equal(evalRule([['arg_a', '==', 18]], { arg_a: ' 18 ' }), true);
    assert.equal(evalRule([['arg_a', '==', 16]], { arg_a: '0x10' }), true);
    assert.equal(evalRule([['arg_a', '==', 1000]], { arg_a: '1e3' }), true);
    assert.equal(evalRule([['arg_a', '==', 18]], { arg_a: '18px' }), false);
    assert.equal(evalRule([['arg_a', '==', 18]], {}), false);
    assert.equal(evalRule([['arg_a', '==', 1]], { arg_a: true }), false);
  });

  test('== null matches an absent variable (JSON null is Lua nil)', () => {
    assert.equal(evalRule([['arg_a', '==', null]], {}), true);
    assert.equal(evalRule([['arg_a', '==', null]], { arg_a: null }), true);
    assert.equal(evalRule([['arg_a', '==', null]], { arg_a: '' }), false);
  });

  test('~= mirrors ==, and a non-numeric variable differs from any number', () => {
    assert.equal(evalRule([['arg_a', '~=', '1']], { arg_a: '2' }), true);
    assert.equal(evalRule([['arg_a', '~=', '1']], { arg_a: '1' }), false);
    assert.equal(evalRule([['arg_a', '~=', '1']], {}), true);
    assert.equal(evalRule([['arg_a', '~=', 1]], { arg_a: 'abc' }), true);
    assert.equal(evalRule([['arg_a', '~=', 1]], { arg_a: '1.0' }), false);
    assert.equal(evalRule([['arg_a', '~=', 1]], {}), true);
  });

  test('ordering operators convert both sides and are false unless both are numbers', () => {
    const cases: Array<[string, unknown, unknown, boolean]> = [
      ['>', '18', '19', true],
      ['>', '18', '18', false],
      ['>', 18, '18.5', true],
      ['>=', '18', '18', true],
      ['>=', '18', '17.9', false],
      ['<', '18', '9', true],
      ['<', '18', '100', false],
      ['<=', 18, ' 18 ', true],
      ['<=', '0x20', '31', true],
      ['>', '18', 'abc', false],
      ['>', '18', undefined, false],
      ['>', 'abc', '100', false],
      ['<', '1e2', '99', true],
    ];
    for (const [op, right, left, expected] of cases) {
      assert.equal(evalRule([['arg_a', op, right]], { arg_a: left }), expected, `${String(left)} ${op} ${String(right)}`);
    }
  });

  test('~~ is an unanchored regex search, ~* the case-insensitive one', () => {
    assert.equal(evalRule([['arg_a', '~~', 'China.*']], { arg_a: 'in China now' }), true);
    assert.equal(evalRule([['arg_a', '~~', '^China']], { arg_a: 'in China' }), false);
    assert.equal(evalRule([['arg_a', '~~', 'china']], { arg_a: 'China' }), false);
    assert.equal(evalRule([['arg_a', '~*', 'china']], { arg_a: 'CHINA' }), true);
    assert.equal(evalRule([['arg_a', '~~', 'x']], {}), false);
    assert.equal(evalRule([['arg_n', '~~', '^12$']], { arg_n: 12 }), true);
  });

  test('regexes are compiled once at load and bad ones are refused', () => {
    assertCompileError([['arg_a', '~~', '(']], "invalid regex '(' for operator '~~': Unterminated group");
    assertCompileError([['arg_a', '~~', 'a*+']], "invalid regex 'a*+' for operator '~~': Nothing to repeat");
    assertCompileError([['arg_a', '~*']], "invalid regex for operator '~*': expected a string");
    assertCompileError([['arg_a', '~~', ['x']]], "invalid regex for operator '~~': expected a string");
  });

  test('in: strict membership without number coercion', () => {
    assert.equal(evalRule([['arg_a', 'in', ['a', 'b']]], { arg_a: 'b' }), true);
    assert.equal(evalRule([['arg_a', 'in', ['a', 'b']]], { arg_a: 'c' }), false);
    assert.equal(evalRule([['arg_x', 'in', [1, 2]]], { arg_x: '1' }), false);
    assert.equal(evalRule([['arg_x', 'in', [1, 2]]], { arg_x: 1 }), true);
    assert.equal(evalRule([['arg_x', 'in', [null]]], {}), false);
    assert.equal(evalRule([['arg_x', 'in', 'abc']], { arg_x: 'abc' }), false);
    assert.equal(evalRule([['arg_x', 'in', { a: 'abc' }]], { arg_x: 'abc' }), false);
  });

  test('has: the variable is an array containing the value', () => {
    assert.equal(evalRule([['graphql_root_fields', 'has', 'owner']], { graphql_root_fields: ['owner', 'repo'] }), true);
    assert.equal(evalRule([['graphql_root_fields', 'has', 'x']], { graphql_root_fields: ['owner'] }), false);
    assert.equal(evalRule([['graphql_root_fields', 'has', 'owner']], { graphql_root_fields: 'owner' }), false);
    assert.equal(evalRule([['graphql_root_fields', 'has', 'owner']], {}), false);
    assert.equal(evalRule([['post_arg.ids', 'has', 1]], { 'post_arg.ids': [1, 2] }), true);
    assert.equal(evalRule([['post_arg.ids', 'has', 1]], { 'post_arg.ids': ['1'] }), false);
  });

  test('ipmatch: one address or a list, IPv4 and IPv6', () => {
    assert.equal(evalRule([['remote_addr', 'ipmatch', '127.0.0.1']], { remote_addr: '127.0.0.1' }), true);
    assert.equal(evalRule([['remote_addr', 'ipmatch', ['10.0.0.0/8', '::1']]], { remote_addr: '::1' }), true);
    assert.equal(evalRule([['remote_addr', 'ipmatch', ['10.0.0.0/8', '::1']]], { remote_addr: '11.0.0.1' }), false);
    assert.equal(evalRule([['http_x_real_ip', 'ipmatch', '10.0.0.0/8']], {}), false);
    assert.equal(evalRule([['remote_addr', '!', 'ipmatch', '10.0.0.0/8']], { remote_addr: '11.0.0.1' }), true);
  });

  test('ipmatch: empty or invalid addresses fail to compile', () => {
    assertCompileError([['remote_addr', 'ipmatch', '']], 'invalid ip address');
    assertCompileError([['remote_addr', 'ipmatch', []]], 'invalid ip address');
    assertCompileError([['remote_addr', 'ipmatch']], 'invalid ip address');
    assertCompileError([['remote_addr', 'ipmatch', null]], 'invalid ip address');
    assertCompileError([['remote_addr', 'ipmatch', '300.1.1.1']], 'invalid ip address: 300.1.1.1');
    assertCompileError([['remote_addr', 'ipmatch', ['::1', 'nope']]], 'invalid ip address: nope');
  });
});

describe('runtime failures', () => {
  test('a throwing variable getter gives onError (false by default, true for filters)', () => {
    const throwing: VarGetter = () => {
      throw new Error('body too large');
    };
    assert.equal(compileExpr([['post_arg.a', '==', '1']])(throwing), false);
    assert.equal(compileExpr([['post_arg.a', '==', '1']], { onError: true })(throwing), true);
    // A failure is not a boolean result that negation could flip.
    assert.equal(compileExpr([['post_arg.a', '!', '==', '1']])(throwing), false);
  });

  test('a regex against a boolean or an array is a failure, not a mismatch', () => {
    assert.equal(compileExpr([['arg_flag', '~~', 'x']])(vars({ arg_flag: true })), false);
    assert.equal(compileExpr([['arg_flag', '!', '~~', 'x']])(vars({ arg_flag: true })), false);
    assert.equal(compileExpr([['arg_flag', '~~', 'x']], { onError: true })(vars({ arg_flag: ['x'] })), true);
    // false is falsy in Lua: no match, no failure.
    assert.equal(compileExpr([['arg_flag', '~~', 'x']], { onError: true })(vars({ arg_flag: false })), false);
  });
});
