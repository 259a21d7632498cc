/**
 * fngate's version, read once from package.json (one level above both
 * `src/` and `dist/`, so it works from sources and from the build).
 */
import { readFileSync } from 'node:fs';

function readVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : '0.0.0';
  } catch {
    return '0.0.0';
  }
}

export const VERSION = readVersion();

/** `Server` header value (`apisix.enable_server_tokens: false` hides the version). */
export function serverHeader(withVersion: boolean): string {
  return withVersion ? `fngate/${VERSION}` : 'fngate';
}
