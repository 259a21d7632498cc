/**
 * nginx's time and size notations, as APISIX users write them in
 * `nginx_config` (`keepalive_timeout: 60s`, `client_max_body_size: 1m`).
 * The runtime gets plain seconds and bytes so nothing re-parses per request.
 * Syntax: nginx "Configuration file measurement units"
 * (https://nginx.org/en/docs/syntax.html).
 */

const TIME_UNIT_SECONDS: Readonly<Record<string, number>> = {
  ms: 0.001,
  s: 1,
  m: 60,
  h: 3600,
  d: 86_400,
  w: 604_800,
  M: 2_592_000, // 30 days
  y: 31_536_000, // 365 days
};

/** One or more `<number><unit>` parts, e.g. `90s`, `1h 30m`; a bare number means seconds. */
export const DURATION_PATTERN = '^\\s*(?:\\d+(?:ms|s|m|h|d|w|M|y)?\\s*)+$';
/** A number with an optional `k`, `m` or `g` suffix (any case); a bare number means bytes. */
export const SIZE_PATTERN = '^\\s*\\d+[kKmMgG]?\\s*$';

const DURATION_PART = /(\d+)(ms|s|m|h|d|w|M|y)?/g;
const DURATION = new RegExp(DURATION_PATTERN);
const SIZE = new RegExp(SIZE_PATTERN);

/**
 * Seconds for an nginx duration, or undefined when it is not one.
 * A number is already seconds.
 *
 * @example
 *   parseDuration('1m')   // 60
 *   parseDuration('1h 30m') // 5400
 *   parseDuration('500ms') // 0.5
 */
export function parseDuration(value: string | number): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value : undefined;
  if (!DURATION.test(value)) return undefined;
  let seconds = 0;
  for (const [, amount, unit] of value.matchAll(DURATION_PART)) {
    seconds += Number(amount) * (TIME_UNIT_SECONDS[unit ?? 's'] ?? 1);
  }
  return seconds;
}

/**
 * Bytes for an nginx size, or undefined when it is not one.
 * A number is already bytes; `0` keeps its nginx meaning (unlimited) for the caller.
 *
 * @example
 *   parseSize('1m') // 1048576
 *   parseSize(0)    // 0
 */
export function parseSize(value: string | number): number | undefined {
  if (typeof value === 'number') return Number.isInteger(value) && value >= 0 ? value : undefined;
  if (!SIZE.test(value)) return undefined;
  const text = value.trim();
  const suffix = text.at(-1)?.toLowerCase();
  const multiplier = suffix === 'k' ? 1024 : suffix === 'm' ? 1024 ** 2 : suffix === 'g' ? 1024 ** 3 : 1;
  return Number.parseInt(text, 10) * multiplier;
}
