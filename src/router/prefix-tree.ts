/**
 * A compressed prefix (radix) tree answering "which stored keys are prefixes
 * of this text, longest first" — the question lua-resty-radixtree asks rax
 * for prefix routes (spec/routing.md §3.1 step 2).
 *
 * A lookup walks one edge per branching point (not one per character) and
 * allocates nothing; the shorter matches are reached through `shorter`
 * links computed once by `seal()`, because every stored ancestor of a
 * matching node is itself a prefix of the text. Cost therefore depends on
 * the text and on how many keys nest inside each other, never on the total
 * number of keys.
 */

/** A stored key that matched, with a link to the next shorter stored key that is also its prefix. */
export interface PrefixMatch<V> {
  readonly key: string;
  readonly value: V;
  readonly shorter: PrefixMatch<V> | undefined;
}

class PrefixNode<V> implements PrefixMatch<V> {
  /** Edge label from the parent; the empty string only for the root. */
  label: string;
  key: string;
  readonly children = new Map<number, PrefixNode<V>>();
  private slot: V | undefined;
  hasValue = false;
  shorter: PrefixNode<V> | undefined;

  constructor(label: string, key: string) {
    this.label = label;
    this.key = key;
  }

  get value(): V {
    return this.slot as V;
  }

  set(value: V): void {
    this.slot = value;
    this.hasValue = true;
  }
}

function commonPrefixLength(a: string, b: string, bOffset: number): number {
  const max = Math.min(a.length, b.length - bOffset);
  let i = 0;
  while (i < max && a.charCodeAt(i) === b.charCodeAt(bOffset + i)) i++;
  return i;
}

/**
 * @example
 *   const tree = new PrefixTree<string>();
 *   tree.upsert('/blog/', () => 'blog');
 *   tree.upsert('/blog/foo/', () => 'foo');
 *   tree.seal();
 *   for (let m = tree.longestPrefixOf('/blog/foo/bar'); m; m = m.shorter) console.log(m.key);
 *   // '/blog/foo/', then '/blog/'
 */
export class PrefixTree<V> {
  private readonly root = new PrefixNode<V>('', '');
  private sealed = false;
  private count = 0;

  /** Number of stored keys. */
  get size(): number {
    return this.count;
  }

  /** The value stored under `key`, stored first by calling `create` when absent. */
  upsert(key: string, create: () => V): V {
    if (this.sealed) throw new Error('PrefixTree is sealed');
    const node = this.nodeFor(key);
    if (!node.hasValue) {
      node.set(create());
      this.count++;
    }
    return node.value;
  }

  /** Finish building: link every stored node to its nearest stored ancestor. */
  seal(): void {
    this.sealed = true;
    const stack: PrefixNode<V>[] = [this.root];
    for (let node = stack.pop(); node; node = stack.pop()) {
      const inherited = node.hasValue ? node : node.shorter;
      for (const child of node.children.values()) {
        child.shorter = inherited;
        stack.push(child);
      }
    }
  }

  /** The longest stored key that is a prefix of `text` (follow `shorter` for the others), or undefined. */
  longestPrefixOf(text: string): PrefixMatch<V> | undefined {
    let node = this.root;
    let best: PrefixNode<V> | undefined = node.hasValue ? node : undefined;
    let pos = 0;
    const length = text.length;
    while (pos < length) {
      const child = node.children.get(text.charCodeAt(pos));
      if (child === undefined) break;
      const label = child.label;
      if (label.length > 1 && !text.startsWith(label, pos)) break;
      pos += label.length;
      node = child;
      if (node.hasValue) best = node;
    }
    return best;
  }

  /**
   * The same search reading `text` from its end: the longest stored key that
   * is a prefix of `text` reversed. Suffix matching (wildcard hosts) without
   * building a reversed copy of the text per lookup; store the keys reversed.
   */
  longestPrefixOfReversed(text: string): PrefixMatch<V> | undefined {
    let node = this.root;
    let best: PrefixNode<V> | undefined = node.hasValue ? node : undefined;
    let pos = text.length - 1;
    while (pos >= 0) {
      const child = node.children.get(text.charCodeAt(pos));
      if (child === undefined) break;
      const label = child.label;
      const length = label.length;
      if (length > pos + 1) break;
      let j = 1;
      while (j < length && label.charCodeAt(j) === text.charCodeAt(pos - j)) j++;
      if (j < length) break;
      pos -= length;
      node = child;
      if (node.hasValue) best = node;
    }
    return best;
  }

  private nodeFor(key: string): PrefixNode<V> {
    let node = this.root;
    let pos = 0;
    while (pos < key.length) {
      const first = key.charCodeAt(pos);
      const child = node.children.get(first);
      if (child === undefined) {
        const leaf = new PrefixNode<V>(key.slice(pos), key);
        node.children.set(first, leaf);
        return leaf;
      }
      const common = commonPrefixLength(child.label, key, pos);
      if (common === child.label.length) {
        node = child;
        pos += common;
        continue;
      }
      // Split the edge: parent → mid (shared part) → child (rest of its label).
      const mid = new PrefixNode<V>(child.label.slice(0, common), key.slice(0, pos + common));
      child.label = child.label.slice(common);
      mid.children.set(child.label.charCodeAt(0), child);
      node.children.set(first, mid);
      node = mid;
      pos += common;
    }
    return node;
  }
}
