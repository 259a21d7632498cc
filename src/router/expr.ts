/**
 * The expression engine of route `vars` and plugins' `_meta.filter`:
 * lua-resty-expr 1.3.2 semantics (spec/plugins.md §6), compiled once into a
 * tree of closures so evaluation is a few calls per comparison.
 *
 * Compile errors throw `ExprError` whose message is lua-resty-expr's text;
 * the Admin API prefixes it (`failed to validate the 'vars' expression: …`).
 * Where lua-resty-expr would raise a Lua runtime error while compiling (an
 * operator that is a boolean, a rule element that is not an array, a
 * variable name that is not a string) fngate refuses the rule with
 * `invalid expression` instead of failing every request later.
 */
import { FngateError } from '../errors.js';
import type { CompiledExpr, VarGetter } from './types.js';
import { compileIpMatcher, InvalidIpError } from './ip.js';
import { luaToNumber } from '../util/lua-number.js';
import { compilePcre, PcreError } from './pcre.js';

/** A rule that lua-resty-expr would refuse; `message` is its exact wording. */
export class ExprError extends FngateError {
  readonly code = 'EXPR_INVALID';
}

export interface CompileExprOptions {
  /**
   * Result when evaluation fails at run time (a variable getter throws, a
   * regex operator meets a boolean or an array). Route `vars` treat a
   * failure as no match (the default, `false`); plugin `_meta.filter` as
   * "run the plugin" (`true`), as APISIX's meta_filter does.
   */
  readonly onError?: boolean;
}

type Evaluator = (vars: VarGetter) => boolean;
type Comparator = (left: unknown) => boolean;

/** Raised inside evaluation and turned into `onError` at the top. */
class EvaluationFailure extends Error {}

const ALWAYS: CompiledExpr = () => true;

const LOGIC_OPS = new Set(['AND', 'OR', '!AND', '!OR']);

const OPERATORS = new Set(['==', '~=', '>', '>=', '<', '<=', '~~', '~*', 'in', 'has', 'ipmatch']);

/** Marks an array slot that does not exist (Lua `nil`), as opposed to JSON `null`. */
const ABSENT = Symbol('absent');

/** `string.upper(v)` for a rule's first element, or undefined where Lua would raise. */
function luaUpper(v: unknown): string | undefined {
  if (typeof v === 'string') return v.toUpperCase();
  if (typeof v === 'number') return String(v);
  return undefined;
}

function logicOpOf(first: unknown): string | undefined {
  const upper = luaUpper(first);
  return upper !== undefined && LOGIC_OPS.has(upper) ? upper : undefined;
}

function slot(arr: readonly unknown[], i: number): unknown {
  return i < arr.length && arr[i] !== undefined ? arr[i] : ABSENT;
}

/** Request values arrive as `undefined` or `null` when absent; both are Lua `nil`. */
function nilToUndefined(v: unknown): unknown {
  return v === null ? undefined : v;
}

/** Subject of a regex match: Lua coerces numbers to strings and raises on anything else that is truthy. */
function regexSubject(left: unknown): string | undefined {
  if (typeof left === 'string') return left;
  if (typeof left === 'number') return String(left);
  if (left === undefined || left === false) return undefined;
  throw new EvaluationFailure('regex operand is not a string');
}

function compileRegexOp(op: string, value: unknown): Comparator {
  if (typeof value !== 'string' && typeof value !== 'number') {
    throw new ExprError(`invalid regex for operator '${op}': expected a string`);
  }
  const pattern = String(value);
  let re: RegExp;
  try {
    re = compilePcre(pattern, op === '~*');
  } catch (err) {
    if (err instanceof PcreError) throw new ExprError(`invalid regex '${pattern}' for operator '${op}': ${err.message}`);
    throw err;
  }
  return (left) => {
    const subject = regexSubject(left);
    return subject !== undefined && re.test(subject);
  };
}

function compileIpmatch(value: unknown): Comparator {
  if (value === ABSENT || value === null || value === false || value === '') throw new ExprError('invalid ip address');
  const list = Array.isArray(value) ? value : [value];
  if (list.length === 0) throw new ExprError('invalid ip address');
  let matcher: (ip: string) => boolean;
  try {
    matcher = compileIpMatcher(list as string[]);
  } catch (err) {
    if (err instanceof InvalidIpError) throw new ExprError(err.message);
    throw err;
  }
  return (left) => typeof left === 'string' && matcher(left);
}

/** Lua's `tonumber(l) <op> tonumber(r)`, false unless both are numbers. */
function compileOrdering(op: string, value: unknown): Comparator {
  const right = luaToNumber(value === ABSENT ? undefined : value);
  if (right === undefined) return () => false;
  switch (op) {
    case '>':
      return (left) => {
        const l = luaToNumber(left);
        return l !== undefined && l > right;
      };
    case '>=':
      return (left) => {
        const l = luaToNumber(left);
        return l !== undefined && l >= right;
      };
    case '<':
      return (left) => {
        const l = luaToNumber(left);
        return l !== undefined && l < right;
      };
    default:
      return (left) => {
        const l = luaToNumber(left);
        return l !== undefined && l <= right;
      };
  }
}

function compileComparator(op: string, rawValue: unknown): Comparator {
  // JSON null on the right is Lua nil (lua-resty-expr maps ngx.null to nil).
  const value = rawValue === ABSENT || rawValue === null ? undefined : rawValue;
  switch (op) {
    case '==':
      if (typeof value === 'number') {
        return (left) => luaToNumber(left) === value;
      }
      return (left) => left === value;
    case '~=':
      if (typeof value === 'number') {
        return (left) => {
          const l = luaToNumber(left);
          return l === undefined || l !== value;
        };
      }
      return (left) => left !== value;
    case '>':
    case '>=':
    case '<':
    case '<=':
      return compileOrdering(op, value);
    case '~~':
    case '~*':
      return compileRegexOp(op, rawValue === ABSENT ? undefined : rawValue);
    case 'in': {
      // Lua `==` between the variable and each element: primitives by value;
      // tables and null elements never equal a request value.
      if (!Array.isArray(value)) return () => false;
      const members = new Set(value.filter((v) => v !== null && typeof v !== 'object'));
      return (left) => members.has(left);
    }
    case 'has':
      // Lua `==` never holds for nil or a table taken from the rule.
      if (value === undefined || typeof value === 'object') return () => false;
      return (left) => Array.isArray(left) && left.includes(value);
    default:
      return compileIpmatch(rawValue);
  }
}

/** `[var, op, value]`, `[var, "!", op, value]` or `[var, value]`. */
function compileComparison(expr: readonly unknown[]): Evaluator {
  let name: unknown;
  let opSlot: unknown;
  let value: unknown;
  let negate = false;
  if (expr.length === 4) {
    if (expr[1] !== '!') throw new ExprError("bad 'not' expression");
    negate = true;
    name = slot(expr, 0);
    opSlot = slot(expr, 2);
    value = slot(expr, 3);
  } else {
    name = slot(expr, 0);
    opSlot = slot(expr, 1);
    value = slot(expr, 2);
  }

  let op: string | undefined;
  if (opSlot !== ABSENT) {
    // string.lower() accepts strings and numbers; anything else raises in Lua.
    if (typeof opSlot === 'string') op = opSlot.toLowerCase();
    else if (typeof opSlot === 'number') op = String(opSlot);
    else throw new ExprError('invalid expression');
  }
  // Two-element form `[var, value]` means equality with the value, which
  // lua-resty-expr has already lower-cased as if it were an operator.
  if (value === ABSENT && (op === undefined || !OPERATORS.has(op))) {
    if (op === undefined) throw new ExprError('invalid expression');
    value = op;
    op = '==';
  }
  if (name === ABSENT || op === undefined) throw new ExprError('invalid expression');
  if (!OPERATORS.has(op)) throw new ExprError(`invalid operator '${op}'`);
  const compare = compileComparator(op, value);
  if (typeof name !== 'string') throw new ExprError('invalid expression');

  const varName = name;
  if (negate) return (vars) => !compare(nilToUndefined(vars(varName)));
  return (vars) => compare(nilToUndefined(vars(varName)));
}

function allOf(children: readonly Evaluator[]): Evaluator {
  if (children.length === 1) return children[0] as Evaluator;
  return (vars) => {
    for (const child of children) if (!child(vars)) return false;
    return true;
  };
}

function anyOf(children: readonly Evaluator[]): Evaluator {
  return (vars) => {
    for (const child of children) if (child(vars)) return true;
    return false;
  };
}

/** A nested rule: implicit AND of arrays, a logical operator, or one comparison. */
function compileRule(rule: unknown): Evaluator {
  if (!Array.isArray(rule)) throw new ExprError('invalid expression');
  if (rule.length === 0) throw new ExprError('rule too short');
  const first: unknown = rule[0];
  if (Array.isArray(first)) return allOf(rule.map(compileRule));
  const logic = logicOpOf(first);
  if (logic === undefined) return compileComparison(rule);
  // lua-resty-expr needs at least two operands after the operator.
  if (rule.length <= 2) throw new ExprError('rule too short');
  const operands = rule.slice(1).map(compileRule);
  switch (logic) {
    case 'AND':
      return allOf(operands);
    case 'OR':
      return anyOf(operands);
    case '!AND': {
      const all = allOf(operands);
      return (vars) => !all(vars);
    }
    default: {
      const any = anyOf(operands);
      return (vars) => !any(vars);
    }
  }
}

/**
 * Compile a lua-resty-expr rule. `[]` (and only that) is always true; a
 * top-level rule must be a list of rules or start with a logical operator.
 * The result never throws: runtime failures yield `options.onError`.
 *
 * @example
 *   const isMobile = compileExpr([['http_user_agent', '~*', 'android|iphone'], ['arg_v', '>=', 2]]);
 *   isMobile((name) => ({ http_user_agent: 'Android 14', arg_v: '3' })[name]); // true
 *   compileExpr(['arg_a', '==', '1']); // throws ExprError('rule should be wrapped inside brackets')
 */
export function compileExpr(rule: unknown, options: CompileExprOptions = {}): CompiledExpr {
  if (rule === undefined || rule === null) throw new ExprError('missing argument rule');
  if (!Array.isArray(rule)) throw new ExprError('rule should be wrapped inside brackets');
  if (rule.length === 0) return ALWAYS;
  const first: unknown = rule[0];
  if (!Array.isArray(first) && logicOpOf(first) === undefined) {
    throw new ExprError('rule should be wrapped inside brackets');
  }
  const evaluate = compileRule(rule);
  const onError = options.onError ?? false;
  return (vars) => {
    try {
      return evaluate(vars);
    } catch {
      return onError;
    }
  };
}
