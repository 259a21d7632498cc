/**
 * Values rendered the way APISIX (LuaJIT + lua-cjson + api7/jsonschema)
 * prints them inside error messages, so that fngate's messages are
 * byte-for-byte the ones APISIX users and tests expect.
 */

/**
 * Lua's `type()` of a decoded JSON value: objects and arrays are both
 * `table`, JSON `null` decodes to `cjson.null`, a light userdata.
 *
 * @example
 *   luaType([1]);   // 'table'
 *   luaType(null);  // 'userdata'
 */
export function luaType(value: unknown): string {
  if (value === undefined) return 'nil';
  if (value === null) return 'userdata';
  switch (typeof value) {
    case 'string':
      return 'string';
    case 'number':
      return 'number';
    case 'boolean':
      return 'boolean';
    case 'function':
      return 'function';
    default:
      return 'table';
  }
}

/**
 * `tostring(n)` in LuaJIT, i.e. C's `%.14g`: at most 14 significant digits,
 * trailing zeros dropped, exponent form (two-digit minimum) below 1e-4 or
 * from 1e14 up. (Exact decimal ties round half up here, to even in C; only
 * 15+ digit values can tie.)
 *
 * @example
 *   luaNumber(0);      // '0'
 *   luaNumber(0.1 + 0.2); // '0.3'
 *   luaNumber(1e15);   // '1e+15'
 */
export function luaNumber(n: number): string {
  if (Number.isNaN(n)) return 'nan';
  if (n === Infinity) return 'inf';
  if (n === -Infinity) return '-inf';
  if (n === 0) return Object.is(n, -0) ? '-0' : '0';
  const [mantissa = '0', exponentText = '0'] = n.toExponential(13).split('e');
  const exponent = Number(exponentText);
  if (exponent < -4 || exponent >= 14) {
    const digits = Math.abs(exponent) < 10 ? `0${Math.abs(exponent)}` : String(Math.abs(exponent));
    return `${stripZeros(mantissa)}e${exponent < 0 ? '-' : '+'}${digits}`;
  }
  return stripZeros(n.toFixed(13 - exponent));
}

function stripZeros(s: string): string {
  if (!s.includes('.')) return s;
  return s.replace(/\.?0+$/, '');
}

/**
 * `string.format('%q', s)` in LuaJIT: double quotes around, and `"`, `\`
 * and newlines escaped with a backslash; `\r` and NUL as escapes.
 *
 * @example
 *   luaQuote('^\\S+$'); // '"^\\\\S+$"'
 */
export function luaQuote(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s[i] as string;
    if (c === '"' || c === '\\' || c === '\n') out += `\\${c}`;
    else if (c === '\r') out += '\\r';
    else if (c === '\0') out += /[0-9]/.test(s[i + 1] ?? '') ? '\\000' : '\\0';
    else out += c;
  }
  return `${out}"`;
}

/**
 * `tostring(v)` for the scalar ids and values that appear in messages.
 *
 * @example
 *   luaToString(1);    // '1'
 *   luaToString('r1'); // 'r1'
 */
export function luaToString(value: unknown): string {
  if (typeof value === 'number') return luaNumber(value);
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean') return String(value);
  if (value === null) return 'userdata: NULL';
  if (value === undefined) return 'nil';
  return 'table';
}
