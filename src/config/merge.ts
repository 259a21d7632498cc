/**
 * Deep merge of the user's config.yaml over the defaults, with APISIX's rules
 * (spec/config.md §1.3, `apisix/cli/file.lua`):
 * - mappings merge key by key, recursively;
 * - a list replaces the default list entirely (`plugins`, `admin_key`, ...);
 * - YAML null (`~` or an empty value) deletes the key;
 * - a scalar whose type differs from the default's is an error, except where
 *   APISIX allows several forms (below).
 */
import type { ConfigIssue } from './errors.js';
import { formatArrowPath, type PathSegment } from './key-path.js';
import { isRawObject, luaTypeName, type RawObject, type RawValue } from './raw.js';

/**
 * Whether a scalar of another type than the default may replace it.
 * `nginx_config` takes numbers or strings anywhere (`worker_processes: 4` over
 * `auto`); `node_listen` may be a bare port; `keyring` may be a single key.
 */
function acceptsOtherScalarType(path: readonly PathSegment[], value: RawValue): boolean {
  const [top, second, third] = path;
  if (top === 'nginx_config') return typeof value === 'number' || typeof value === 'string';
  if (top !== 'apisix') return false;
  if (second === 'node_listen' && path.length === 2) return typeof value === 'number';
  return second === 'data_encryption' && third === 'keyring' && path.length === 3 && typeof value === 'string';
}

/**
 * Merge `user` into `base` in place and return the issues found (none = merged).
 * `base` must be a private copy (see `defaultDocument()`); values from `user`
 * are taken by reference.
 *
 * @example
 *   const doc = defaultDocument();
 *   const issues = mergeDocument(doc, { deployment: { admin: { allow_admin: null } } });
 *   // doc.deployment.admin has no allow_admin key any more
 */
export function mergeDocument(base: RawObject, user: RawObject): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  mergeInto(base, user, [], issues);
  return issues;
}

function mergeInto(base: RawObject, user: RawObject, path: PathSegment[], issues: ConfigIssue[]): void {
  for (const [key, value] of Object.entries(user)) {
    const keyPath = [...path, key];
    const current = Object.hasOwn(base, key) ? base[key] : undefined;

    if (value === null) {
      delete base[key];
    } else if (Array.isArray(value)) {
      base[key] = value;
    } else if (isRawObject(value)) {
      if (current === undefined || isRawObject(current)) {
        const target: RawObject = current ?? {};
        base[key] = target;
        mergeInto(target, value, keyPath, issues);
      } else if (Array.isArray(current)) {
        // A mapping where the default is a list: let the schema explain what is expected.
        base[key] = stripNulls(value);
      } else {
        issues.push(typeMismatch(keyPath, current, value));
      }
    } else if (current === undefined || current === null || luaTypeName(current) === luaTypeName(value)) {
      base[key] = value;
    } else if (acceptsOtherScalarType(keyPath, value)) {
      base[key] = value;
    } else {
      issues.push(typeMismatch(keyPath, current, value));
    }
  }
}

/** A mapping taken whole still loses its null keys, as a merge into an empty mapping would. */
function stripNulls(object: RawObject): RawObject {
  const target: RawObject = {};
  mergeInto(target, object, [], []);
  return target;
}

function typeMismatch(path: readonly PathSegment[], expected: RawValue, got: RawValue): ConfigIssue {
  // APISIX's message already names the path; repeating it in front would only add noise.
  return {
    message: `failed to merge, path[${formatArrowPath(path)}] expect: ${luaTypeName(expected)}, but got: ${luaTypeName(got)}`,
  };
}
