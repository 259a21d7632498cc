/**
 * Admin API paths: the request target as nginx's `$uri` sees it, and the
 * resource / id / sub path split of APISIX's generic handler
 * (spec/admin-api.md §3).
 */

export const ADMIN_PREFIX = '/apisix/admin';

/**
 * Path segments of a request target, after nginx's normalisation: query cut
 * off, percent escapes decoded (so an encoded `/` splits like a real one),
 * repeated slashes merged and `.` / `..` segments resolved.
 * Undefined when the target cannot be a valid `$uri` (bad escape, a NUL,
 * `..` above the root): nginx answers those with 400.
 *
 * @example
 *   pathSegments('/apisix//admin/routes/1?x=1') // ['apisix', 'admin', 'routes', '1']
 */
export function pathSegments(rawPath: string): string[] | undefined {
  let decoded: string;
  try {
    decoded = rawPath.includes('%') ? decodeURIComponent(rawPath) : rawPath;
  } catch {
    return undefined;
  }
  if (!decoded.startsWith('/') || decoded.includes('\0')) return undefined;
  const out: string[] = [];
  for (const segment of decoded.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') {
      if (out.pop() === undefined) return undefined;
      continue;
    }
    out.push(segment);
  }
  return out;
}

/** What the generic handler addresses. */
export interface AdminTarget {
  /** URL segment naming the resource (`routes`, `credentials`, `plugins`, `schema`, or an unknown word). */
  readonly resource: string;
  /** Id from the URL; undefined when absent. */
  readonly id: string | undefined;
  /** Segments after the id joined with `/` (PATCH sub paths); '' when none. */
  readonly subPath: string;
  /** Credentials only: the consumer named in `/consumers/{username}/credentials`. */
  readonly username?: string;
}

/**
 * Split segments below `/apisix/admin` into resource, id and sub path, with
 * APISIX's two special cases: `schema/plugins/{name}` addresses the plugin
 * schema endpoint, and `consumers/{u}/credentials[/{id}]` the credentials.
 *
 * @example
 *   adminTarget(['routes', '1', 'upstream', 'nodes'])
 *   // { resource: 'routes', id: '1', subPath: 'upstream/nodes' }
 */
export function adminTarget(rest: readonly string[]): AdminTarget {
  const [resource = '', id, ...sub] = rest;
  if (resource === 'schema' && id === 'plugins') {
    const [, , name, ...pluginSub] = rest;
    return { resource: 'plugins', id: name, subPath: pluginSub.join('/') };
  }
  if (resource === 'consumers' && id !== undefined && sub[0] === 'credentials') {
    return { resource: 'credentials', id: sub[1], subPath: sub.slice(2).join('/'), username: id };
  }
  return { resource, id, subPath: sub.join('/') };
}
