/**
 * Key ordering as etcd defines it: keys are bytes and sort bytewise, which for
 * UTF-8 is code-point order. JavaScript compares UTF-16 code units instead;
 * the two orders agree except for characters above U+FFFF (surrogate pairs,
 * 0xD800–0xDFFF), which must sort after U+E000–U+FFFF. `compareKeys` corrects
 * exactly that case and is otherwise a plain code-unit comparison.
 */

/**
 * Compare two keys in UTF-8 byte order.
 *
 * @example
 *   ['/a/b', '/a/A', '/a/1'].sort(compareKeys); // ['/a/1', '/a/A', '/a/b']
 */
export function compareKeys(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0xd800 && y >= 0xd800) return codePointRank(x) - codePointRank(y);
    return x - y;
  }
  return a.length - b.length;
}

/** Moves surrogates (astral code points) above U+E000–U+FFFF; keeps relative order within each group. */
function codePointRank(unit: number): number {
  return unit >= 0xe000 ? unit - 0x800 : unit + 0x2000;
}

/**
 * A set of keys kept sorted by {@link compareKeys}, so a prefix range is a
 * binary search plus a scan of the matching block. Inserts shift the array
 * (O(n)), which is cheap at configuration sizes and keeps reads allocation-free.
 *
 * @example
 *   const keys = new SortedKeys();
 *   keys.add('/apisix/routes/2'); keys.add('/apisix/routes/1');
 *   [...keys.withPrefix('/apisix/routes/')]; // ['/apisix/routes/1', '/apisix/routes/2']
 */
export class SortedKeys {
  #keys: string[] = [];

  get size(): number {
    return this.#keys.length;
  }

  /** Adds `key` if absent. */
  add(key: string): void {
    const i = this.#lowerBound(key);
    if (this.#keys[i] !== key) this.#keys.splice(i, 0, key);
  }

  /** Removes `key` if present. */
  remove(key: string): void {
    const i = this.#lowerBound(key);
    if (this.#keys[i] === key) this.#keys.splice(i, 1);
  }

  /** Replaces the content with `keys` (any order, no duplicates). */
  reset(keys: Iterable<string>): void {
    this.#keys = [...keys].sort(compareKeys);
  }

  /** Keys starting with `prefix`, in order. In byte order they form one contiguous block. */
  *withPrefix(prefix: string): IterableIterator<string> {
    const keys = this.#keys;
    for (let i = this.#lowerBound(prefix); i < keys.length; i++) {
      const key = keys[i] as string;
      if (!key.startsWith(prefix)) return;
      yield key;
    }
  }

  #lowerBound(key: string): number {
    const keys = this.#keys;
    let lo = 0;
    let hi = keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareKeys(keys[mid] as string, key) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
