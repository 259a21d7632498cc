/**
 * Fingerprints of plugin configurations, for the rate limiters' counter
 * keys: APISIX keys counters by the plugin-level `conf_version`, which
 * changes only when that plugin's settings change (not when the rest of the
 * route does), so editing a limit starts afresh and nothing else does.
 */
import { createHash } from 'node:crypto';

/**
 * JSON with object keys sorted, so equal settings give equal text whatever their order.
 *
 * @example
 *   stableJson({ b: 1, a: [true] }); // '{"a":[true],"b":1}'
 */
export function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${stableJson((value as Record<string, unknown>)[k])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/**
 * A short digest of a configuration: the same on every node for the same
 * settings, so counters kept in Redis are shared between nodes.
 *
 * @example
 *   confVersion({ rate: 1, burst: 0, key: 'remote_addr' }); // 16 base64url characters
 */
export function confVersion(conf: object): string {
  return createHash('sha256').update(stableJson(conf)).digest('base64url').slice(0, 16);
}
