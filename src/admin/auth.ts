/**
 * Admin API token check (spec/admin-api.md §2). fngate always requires a key:
 * the config loader guarantees at least one non-empty `admin_key` entry.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { AdminKey, AdminRole } from '../config/types.js';
import { parseCookies, type ArgValue } from '../http/args.js';
import { AdminAuthError } from './errors.js';

/** Returns the caller's role, or throws {@link AdminAuthError}. */
export type AdminAuthenticator = (req: IncomingMessage, args: ReadonlyMap<string, readonly ArgValue[]>) => AdminRole;

interface HashedKey {
  readonly digest: Buffer;
  readonly role: AdminRole;
}

/**
 * The token, looked up as APISIX does: query argument `api_key`, then the
 * `X-API-KEY` header, then the `x_api_key` cookie. The first one present
 * wins even when empty (it then fails as a wrong key, as in nginx where an
 * empty variable is still set).
 */
export function requestToken(req: IncomingMessage, args: ReadonlyMap<string, readonly ArgValue[]>): string | undefined {
  const fromQuery = args.get('api_key')?.[0];
  if (fromQuery !== undefined) return fromQuery === true ? '' : fromQuery;
  const header = req.headers['x-api-key'];
  if (header !== undefined) return Array.isArray(header) ? header[0] ?? '' : header;
  return parseCookies(req.headers.cookie).get('x_api_key');
}

/**
 * Build the check once from the configured keys.
 *
 * Tokens are compared as SHA-256 digests with `timingSafeEqual`, against
 * every key without stopping early, so neither the length nor the content of
 * a key leaks through response timing.
 *
 * @example
 *   const authenticate = createAdminAuthenticator(config.deployment.admin.admin_key);
 *   const role = authenticate(req, args); // 'admin' | 'viewer', or throws
 */
export function createAdminAuthenticator(keys: readonly AdminKey[]): AdminAuthenticator {
  const hashed: HashedKey[] = keys
    // An empty key can never be presented meaningfully; never let it match.
    .filter((k) => k.key !== '')
    .map((k) => ({ digest: sha256(k.key), role: k.role }));

  return (req, args) => {
    const token = requestToken(req, args);
    if (token === undefined) throw new AdminAuthError('missing apikey');
    const digest = sha256(token);
    let role: AdminRole | undefined;
    for (const key of hashed) {
      if (timingSafeEqual(digest, key.digest) && role === undefined) role = key.role;
    }
    if (role === undefined) throw new AdminAuthError('wrong apikey');
    // Viewers may only read; every other role may use every method.
    if (role === 'viewer' && req.method !== 'GET') throw new AdminAuthError('invalid method for role viewer');
    return role;
  };
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}
