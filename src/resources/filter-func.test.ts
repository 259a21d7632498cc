import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FilterFuncError, compileFilterFunc } from './filter-func.js';

const vars = (values: Record<string, unknown>) => (name: string) => values[name];

describe('compileFilterFunc', () => {
  test('reads request variables as properties of vars', () => {
    const filter = compileFilterFunc('function (vars) { return vars.arg_name === "json" && vars.http_x_a !== undefined }');
    assert.equal(filter(vars({ arg_name: 'json', http_x_a: '1' })), true);
    assert.equal(filter(vars({ arg_name: 'json' })), false);
    assert.equal(filter(vars({ arg_name: 'xml', http_x_a: '1' })), false);
  });
  test('the result is coerced to a boolean', () => {
    const filter = compileFilterFunc('function (vars) { return vars.arg_k }');
    assert.equal(filter(vars({ arg_k: 'v' })), true);
    assert.equal(filter(vars({ arg_k: '' })), false);
  });
  test('"in" tests a variable for presence', () => {
    const filter = compileFilterFunc('function (vars) { return "arg_k" in vars }');
    assert.equal(filter(vars({ arg_k: '1' })), true);
    assert.equal(filter(vars({})), false);
  });
  test('the view is bound to each call only', () => {
    const filter = compileFilterFunc('function (vars) { globalThis.kept = vars; return true }');
    filter(vars({ arg_a: '1' }));
    const peek = compileFilterFunc('function () { return kept.arg_a === undefined }');
    assert.equal(peek(vars({})), true);
  });
  test('syntax errors: failed to load', () => {
    assert.throws(
      () => compileFilterFunc('function (vars) { return }}'),
      (err: unknown) => err instanceof FilterFuncError && err.message === "failed to load 'filter_func' string: Unexpected token '}'",
    );
  });
  test('sources that are not a function are refused', () => {
    assert.throws(() => compileFilterFunc('function_name'), (err: unknown) => err instanceof FilterFuncError && err.message === "failed to load 'filter_func' string: function_name is not defined");
    assert.throws(() => compileFilterFunc('function_x = 1'), (err: unknown) => err instanceof FilterFuncError && err.message === "'filter_func' should be a function");
  });
  test('user code has no Node globals and cannot generate code from strings', () => {
    const probe = compileFilterFunc('function () { return typeof process === "undefined" && typeof require === "undefined" }');
    assert.equal(probe(vars({})), true);
    const evil = compileFilterFunc('function () { return eval("1") }');
    assert.throws(() => evil(vars({})), /Code generation from strings disallowed/);
  });
  test('errors thrown by user code propagate to the caller', () => {
    const filter = compileFilterFunc('function (vars) { throw new Error("boom") }');
    assert.throws(() => filter(vars({})), /boom/);
  });
});
