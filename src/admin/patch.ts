/**
 * PATCH semantics (spec/admin-api.md §8.3): a recursive merge of a whole
 * object, or the replacement of one value addressed by a sub path.
 */
import type { JsonObject } from '../resources/types.js';
import { InvalidResourceError } from './errors.js';
import { isPlainObject } from './json.js';

/**
 * Merge `patch` into `target` (mutating and returning `target`):
 * - both sides objects → merge recursively;
 * - JSON `null` → delete the key;
 * - arrays and scalars → replace;
 * - an **empty object `{}` replaces** the target value wholesale instead of
 *   merging (a no-op merge would be useless). This is what APISIX does, by
 *   accident of LuaJIT treating `{}` as an array; fngate keeps it so that
 *   `{"plugins":{}}` clears the plugins for an APISIX user as it did before.
 *
 * @example
 *   mergePatch({ nodes: { a: 1, b: 1 } }, { nodes: { b: null, c: 2 } })
 *   // { nodes: { a: 1, c: 2 } }
 */
export function mergePatch(target: JsonObject, patch: JsonObject): JsonObject {
  for (const [name, value] of Object.entries(patch)) {
    if (value === null) {
      delete target[name];
      continue;
    }
    const current = ownValue(target, name);
    if (isPlainObject(value) && isPlainObject(current) && Object.keys(value).length > 0) {
      mergePatch(current, value);
    } else {
      setOwn(target, name, value);
    }
  }
  return target;
}

/**
 * Replace the value at `subPath` (`/`-separated) inside `target` with
 * `value`, creating missing intermediate objects (mutates `target`).
 * Only plain objects can be walked through: an intermediate that is a
 * scalar or an array fails with `invalid sub-path: /<segments so far>`.
 *
 * @example
 *   patchSubPath({ upstream: { nodes: { a: 1 } } }, 'upstream/nodes', { b: 1 })
 *   // { upstream: { nodes: { b: 1 } } }
 */
export function patchSubPath(target: JsonObject, subPath: string, value: unknown): JsonObject {
  const segments = subPath.split('/');
  let node: JsonObject = target;
  for (let i = 0; i < segments.length - 1; i++) {
    const name = segments[i] as string;
    let next = ownValue(node, name);
    if (next === undefined) setOwn(node, name, (next = {}));
    if (!isPlainObject(next)) {
      throw new InvalidResourceError(`invalid sub-path: /${segments.slice(0, i + 1).join('/')}`);
    }
    node = next;
  }
  setOwn(node, segments[segments.length - 1] as string, value);
  return target;
}

// Names come from users (`__proto__` is a valid JSON key): read and write own
// properties only, so a patch can never reach or replace a prototype.
function ownValue(obj: JsonObject, name: string): unknown {
  return Object.hasOwn(obj, name) ? obj[name] : undefined;
}

function setOwn(obj: JsonObject, name: string, value: unknown): void {
  Object.defineProperty(obj, name, { value, writable: true, enumerable: true, configurable: true });
}
