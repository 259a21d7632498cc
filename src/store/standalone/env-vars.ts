/**
 * `${{NAME}}` and `${{NAME:=default}}` references in the standalone file
 * (spec/config.md §1, §6.1): substituted in the raw text of YAML before
 * parsing, and in the parsed keys and string values of JSON. The doubled
 * braces keep them apart from nginx-style `$var` / `${var}` in values.
 */
import { StandaloneConfigError } from './errors.js';

/** NAME, then optionally `:=` and a default up to the closing braces (trimmed). */
const REFERENCE = /\$\{\{\s*(\w+)\s*(?::=(.*?))?\s*\}\}/g;

export type Env = Readonly<Record<string, string | undefined>>;

/**
 * Replaces every reference in `text`. An empty variable is used as is (it is
 * set); an unset one falls back to its default.
 *
 * @example
 *   substituteEnvVars('host: ${{HOST:=127.0.0.1}}', {}).text; // 'host: 127.0.0.1'
 * @throws StandaloneConfigError naming the first variable that is unset and has no default.
 */
export function substituteEnvVars(text: string, env: Env): { readonly text: string; readonly substituted: boolean } {
  let substituted = false;
  let missing: string | undefined;
  const out = text.replace(REFERENCE, (_match, name: string, fallback: string | undefined) => {
    const value = env[name] ?? fallback?.trim();
    if (value === undefined) {
      missing ??= name;
      return '';
    }
    substituted = true;
    return value;
  });
  if (missing !== undefined) throw new StandaloneConfigError(`can't find environment variable ${missing}`);
  return { text: out, substituted };
}

/**
 * Substitutes references in the keys and string values of a parsed document,
 * in place. As APISIX does, a string that contained a reference and became a
 * number or `true`/`false` takes that type (so `port: "${{PORT}}"` is a number).
 *
 * @example
 *   resolveEnvVarsInDocument({ port: '${{PORT}}' }, { PORT: '8080' }); // { port: 8080 }
 */
export function resolveEnvVarsInDocument(value: unknown, env: Env): unknown {
  if (typeof value === 'string') {
    const { text, substituted } = substituteEnvVars(value, env);
    return substituted ? retype(text) : text;
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = resolveEnvVarsInDocument(value[i], env);
    return value;
  }
  if (typeof value === 'object' && value !== null) {
    const record = value as Record<string, unknown>;
    for (const key of Object.keys(record)) {
      const resolved = resolveEnvVarsInDocument(record[key], env);
      const newKey = substituteEnvVars(key, env).text;
      if (newKey !== key) delete record[key];
      record[newKey] = resolved;
    }
    return record;
  }
  return value;
}

/** What Lua's tonumber() accepts: decimal with optional exponent, or hexadecimal, blanks around. */
const LUA_NUMBER = /^\s*[-+]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|0[xX][0-9a-fA-F]+)\s*$/;

function retype(text: string): unknown {
  if (text === 'true') return true;
  if (text === 'false') return false;
  if (!LUA_NUMBER.test(text)) return text;
  const literal = text.trim();
  const unsigned = literal.replace(/^[-+]/, '');
  // Number() rejects a signed hexadecimal literal, which Lua accepts.
  const magnitude = /^0[xX]/.test(unsigned) ? Number.parseInt(unsigned.slice(2), 16) : Number(unsigned);
  return literal.startsWith('-') ? -magnitude : magnitude;
}
