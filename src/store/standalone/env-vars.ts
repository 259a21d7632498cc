/**
 * Env references in the standalone file (spec/config.md §6.1): substituted
 * in the raw text of YAML before parsing, and in the parsed keys and string
 * values of JSON. The reference syntax and type conversion are shared with
 * config.yaml (src/util/env-vars.ts); this module only adds the failure mode
 * of the standalone file (an unset variable rejects the file).
 */
import { retypeSubstituted, substituteVariables, type Env } from '../../util/env-vars.js';
import { StandaloneConfigError } from './errors.js';

export type { Env };

/**
 * Replaces every reference in `text`.
 *
 * @example
 *   substituteEnvVars('host: ${{HOST:=127.0.0.1}}', {}).text; // 'host: 127.0.0.1'
 * @throws StandaloneConfigError naming the first variable that is unset and has no default.
 */
export function substituteEnvVars(text: string, env: Env): { readonly text: string; readonly substituted: boolean } {
  const { text: out, used, missing } = substituteVariables(text, env);
  if (missing.length > 0) throw new StandaloneConfigError(`can't find environment variable ${missing[0]}`);
  return { text: out, substituted: used };
}

/**
 * Substitutes references in the keys and string values of a parsed document,
 * in place. A string that contained a reference and became a number or
 * `true`/`false` takes that type (so `port: "${{PORT}}"` is a number).
 *
 * @example
 *   resolveEnvVarsInDocument({ port: '${{PORT}}' }, { PORT: '8080' }); // { port: 8080 }
 */
export function resolveEnvVarsInDocument(value: unknown, env: Env): unknown {
  if (typeof value === 'string') {
    const { text, substituted } = substituteEnvVars(value, env);
    return substituted ? retypeSubstituted(text) : text;
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
