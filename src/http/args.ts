/**
 * Query-string and cookie parsing with nginx/ngx_lua semantics, done lazily
 * (only when a variable such as `arg_name` or `cookie_name` is read).
 *
 * ngx.req.get_uri_args: `+` and percent escapes are decoded, a bare `?flag`
 * yields the boolean `true`, `?flag=` yields `""`, repeated names collect
 * their values; `arg_<name>` then reads the first value.
 */

export type ArgValue = string | true;

/** Decode one query component; malformed escapes are kept literally, as nginx does. */
export function decodeQueryComponent(s: string): string {
  const plus = s.includes('+') ? s.replace(/\+/g, ' ') : s;
  if (!plus.includes('%')) return plus;
  try {
    return decodeURIComponent(plus);
  } catch {
    return plus.replace(/%([0-9a-fA-F]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)));
  }
}

/**
 * Parse a raw query string (without the leading `?`).
 *
 * @example
 *   parseQuery('a=1&a=2&flag&e=') // Map { a => ['1','2'], flag => [true], e => [''] }
 */
export function parseQuery(query: string): Map<string, ArgValue[]> {
  const out = new Map<string, ArgValue[]>();
  if (query === '') return out;
  for (const part of query.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const name = decodeQueryComponent(eq === -1 ? part : part.slice(0, eq));
    if (name === '') continue;
    const value: ArgValue = eq === -1 ? true : decodeQueryComponent(part.slice(eq + 1));
    const list = out.get(name);
    if (list) list.push(value);
    else out.set(name, [value]);
  }
  return out;
}

/**
 * Parse a Cookie header into name → first value (names are case-sensitive,
 * as nginx's `$cookie_<name>`).
 */
export function parseCookies(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  if (!header) return out;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq === -1) continue;
    const name = part.slice(0, eq).trim();
    if (name === '' || out.has(name)) continue;
    let value = part.slice(eq + 1).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    out.set(name, value);
  }
  return out;
}
