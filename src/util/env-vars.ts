/**
 * `${{NAME}}` / `${{NAME:=default}}` references, shared by config.yaml and
 * the standalone apisix.yaml/json (spec/config.md §1, §6.1). The doubled
 * braces keep them apart from nginx-style `$var` / `${var}` in the same files.
 */
import { luaToNumber } from './lua-number.js';

/** NAME, then optionally `:=` and a default up to the closing braces (trimmed). */
const REFERENCE = /\$\{\{\s*(\w+)\s*(?::=(.*?))?\s*\}\}/g;

export type Env = Readonly<Record<string, string | undefined>>;

export interface Substitution {
  readonly text: string;
  /** Whether any reference was replaced (enables type conversion of values). */
  readonly used: boolean;
  /** Unset variables without a default, in order of appearance. */
  readonly missing: readonly string[];
}

/**
 * Replace every reference in `text`. A set but empty variable is used as is;
 * an unset one falls back to its default, or is reported in `missing`.
 *
 * @example
 *   substituteVariables('port: ${{PORT:=9080}}', {}) // { text: 'port: 9080', used: true, missing: [] }
 */
export function substituteVariables(text: string, env: Env): Substitution {
  if (!text.includes('${{')) return { text, used: false, missing: [] };
  let used = false;
  const missing: string[] = [];
  const replaced = text.replace(REFERENCE, (_match, name: string, fallback: string | undefined) => {
    const value = env[name] ?? fallback?.trim();
    if (value === undefined) {
      missing.push(name);
      return '';
    }
    used = true;
    return value;
  });
  return { text: replaced, used, missing };
}

/**
 * The type a substituted value takes, as APISIX converts it: `true`/`false`
 * become booleans and what Lua's `tonumber` reads as a finite number becomes
 * a number (so `port: ${{PORT}}` stays a number); anything else stays text.
 *
 * @example retypeSubstituted('8080') // 8080
 */
export function retypeSubstituted(text: string): string | number | boolean {
  if (text === 'true') return true;
  if (text === 'false') return false;
  const n = luaToNumber(text);
  return n !== undefined && Number.isFinite(n) ? n : text;
}
