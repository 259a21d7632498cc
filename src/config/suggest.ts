/**
 * "Did you mean ...?" for misspelt config keys. A typo in config.yaml is an
 * error rather than silently ignored (it is usually a setting the operator
 * believes is active), and the nearest known sibling makes the fix obvious.
 */

/**
 * The candidate closest to `input`, or undefined when none is close enough.
 * Case and `-`/`_` are ignored; an adjacent swap counts as one edit; the
 * allowed distance grows with the length (1 edit per 3 characters, at least 1).
 *
 * @example
 *   closestName('admin_keys', ['admin_key', 'allow_admin']) // 'admin_key'
 *   closestName('enable_admin_cros', ['enable_admin_cors'])  // 'enable_admin_cors'
 */
export function closestName(input: string, candidates: Iterable<string>): string | undefined {
  const wanted = canonical(input);
  const limit = Math.max(1, Math.floor(wanted.length / 3));
  let best: string | undefined;
  let bestDistance = limit + 1;
  for (const candidate of candidates) {
    if (candidate === input) continue;
    const distance = editDistance(wanted, canonical(candidate));
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

function canonical(name: string): string {
  return name.toLowerCase().replaceAll('-', '_');
}

/** Optimal string alignment distance (Levenshtein plus adjacent transpositions). */
function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[] = new Array<number>(rows * cols).fill(0);
  const at = (i: number, j: number): number => d[i * cols + j] ?? 0;
  for (let i = 0; i < rows; i++) d[i * cols] = i;
  for (let j = 0; j < cols; j++) d[j] = j;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let value = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        value = Math.min(value, at(i - 2, j - 2) + 1);
      }
      d[i * cols + j] = value;
    }
  }
  return at(rows - 1, cols - 1);
}
