/**
 * The chash key of a request (spec/routing.md §5, `hash_on` + `key`),
 * compiled once per upstream into a function. An empty or missing value
 * falls back to the client address, as APISIX does.
 */
import type { HashOn, PickRequest } from '../types.js';

export type HashKey = (request: PickRequest) => string;

function text(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return value.join(', ');
  return String(value);
}

/**
 * @example
 *   const key = compileHashKey('header', 'X-User');
 *   key({ vars: (n) => (n === 'http_x_user' ? 'alice' : undefined), remoteAddr: '10.0.0.1' }); // 'alice'
 */
export function compileHashKey(hashOn: HashOn | undefined, key: string | undefined): HashKey {
  const byVar = (name: string): HashKey => (request) => text(request.vars(name)) || request.remoteAddr;
  switch (hashOn ?? 'vars') {
    case 'header':
      // nginx `$http_*` names are lower case with `_` for `-`.
      return byVar(`http_${(key ?? '').toLowerCase().replace(/-/g, '_')}`);
    case 'cookie':
      return byVar(`cookie_${key ?? ''}`);
    case 'consumer':
      return byVar('consumer_name');
    case 'vars_combinations':
      return compileTemplate(key ?? '');
    case 'vars':
    default:
      return key ? byVar(key) : (request) => request.remoteAddr;
  }
}

/** `$var` / `${var}` references substituted into literal text (an unset variable is empty). */
function compileTemplate(template: string): HashKey {
  const parts: Array<{ literal: string } | { variable: string }> = [];
  const pattern = /\$(?:\{([A-Za-z0-9_]+)\}|([A-Za-z0-9_]+))/g;
  let last = 0;
  for (const match of template.matchAll(pattern)) {
    if (match.index > last) parts.push({ literal: template.slice(last, match.index) });
    parts.push({ variable: (match[1] ?? match[2])! });
    last = match.index + match[0].length;
  }
  if (last < template.length) parts.push({ literal: template.slice(last) });
  return (request) => {
    let out = '';
    for (const part of parts) out += 'literal' in part ? part.literal : text(request.vars(part.variable));
    return out || request.remoteAddr;
  };
}
