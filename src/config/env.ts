/**
 * `${{NAME}}` / `${{NAME:=default}}` substitution in config.yaml
 * (spec/config.md §1.2). APISIX uses the doubled brace because `$var` and
 * `${var}` already mean nginx variables in the same file. Values and keys are
 * both substituted; a value that used a variable and now reads as a number
 * or `true`/`false` takes that type, so `port: ${{PORT}}` stays a number.
 */
import type { ConfigIssue } from './errors.js';
import { formatKeyPath, type PathSegment } from './key-path.js';
import { isRawObject, type RawObject, type RawValue } from './raw.js';
import { retypeSubstituted, substituteVariables } from '../util/env-vars.js';


export interface SubstitutedDocument {
  readonly document: RawObject;
  readonly issues: readonly ConfigIssue[];
}

/**
 * Return a copy of `document` with every variable replaced from `env`.
 * Unset variables without a default are reported (APISIX:
 * `can't find environment variable NAME`), with the key path where they occur.
 *
 * @example
 *   substituteEnv({ apisix: { node_listen: '${{PORT:=9080}}' } }, {}).document
 *   // { apisix: { node_listen: 9080 } }
 */
export function substituteEnv(document: RawObject, env: NodeJS.ProcessEnv): SubstitutedDocument {
  const issues: ConfigIssue[] = [];
  const result = substituteObject(document, env, [], issues);
  return { document: result, issues };
}

function substituteValue(value: RawValue, env: NodeJS.ProcessEnv, path: PathSegment[], issues: ConfigIssue[]): RawValue {
  if (typeof value === 'string') {
    const { text, used, missing } = substituteVariables(value, env);
    reportMissing(missing, path, issues);
    return used ? retypeSubstituted(text) : text;
  }
  if (Array.isArray(value)) return value.map((item, index) => substituteValue(item, env, [...path, index], issues));
  if (isRawObject(value)) return substituteObject(value, env, path, issues);
  return value;
}

function substituteObject(object: RawObject, env: NodeJS.ProcessEnv, path: PathSegment[], issues: ConfigIssue[]): RawObject {
  const result: RawObject = {};
  for (const [rawKey, value] of Object.entries(object)) {
    const { text: key, missing } = substituteVariables(rawKey, env);
    reportMissing(missing, [...path, rawKey], issues);
    result[key] = substituteValue(value, env, [...path, key], issues);
  }
  return result;
}

function reportMissing(names: readonly string[], path: readonly PathSegment[], issues: ConfigIssue[]): void {
  for (const name of names) {
    issues.push({ path: formatKeyPath(path), message: `can't find environment variable ${name}` });
  }
}
