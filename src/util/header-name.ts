/**
 * Case-insensitive equality of a header name against a lower-case name made
 * of `a-z` and `-`, without allocating: OR-ing 0x20 lower-cases ASCII
 * letters and leaves `-` alone, and no other header-name byte maps onto
 * those characters.
 *
 * @example sameHeaderName('Content-Length', 'content-length') // true
 */
export function sameHeaderName(name: string, lower: string): boolean {
  if (name.length !== lower.length) return false;
  for (let i = 0; i < name.length; i++) {
    if ((name.charCodeAt(i) | 0x20) !== lower.charCodeAt(i)) return false;
  }
  return true;
}
