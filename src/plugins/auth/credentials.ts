/**
 * What the auth plugins (key-auth, jwt-auth, basic-auth) share: finding the consumer or
 * credential that holds a presented key, the anonymous-consumer fallback of
 * APISIX 3.x, and taking a credential out of the request before it is
 * proxied (`hide_credentials`).
 */
import type { ConsumerEntry, PluginContext } from '../../pdk/context.js';
import type { Verdict } from '../../pdk/plugin.js';
import { decodeQueryComponent } from '../../http/args.js';

/**
 * `$env://` / `$secret://` references are resolved by APISIX's secret
 * managers, which fngate does not have. Such a value is never usable as a
 * credential: matching it literally would let a client authenticate by
 * sending the reference text itself (fail closed).
 */
export function isSecretReference(value: string): boolean {
  return value.startsWith('$env://') || value.startsWith('$ENV://') || value.startsWith('$secret://');
}

/** Finds the entry whose conf holds a given value, in one Map lookup per request. */
export type EntryLookup = (entries: readonly ConsumerEntry[], value: string) => ConsumerEntry | undefined;

/**
 * A lookup of consumer entries by the string value of `field`. The index is
 * built once per entries array: `ctx.consumersWith()` returns the same array
 * for as long as the configuration does not change, so the WeakMap drops an
 * index together with the snapshot it was built for.
 *
 * When two entries hold the same value (the Admin API refuses that, but a
 * store written elsewhere may contain it) the first one wins: consumers
 * before credentials, as `consumersWith` orders them.
 *
 * @example
 *   const byKey = createEntryLookup('key');
 *   const entry = byKey(ctx.consumersWith('key-auth'), presentedKey);
 */
export function createEntryLookup(field: string): EntryLookup {
  const indexes = new WeakMap<readonly ConsumerEntry[], Map<string, ConsumerEntry>>();
  return (entries, value) => {
    let index = indexes.get(entries);
    if (!index) {
      index = new Map();
      for (const entry of entries) {
        const held = entry.conf[field];
        if (typeof held === 'string' && !isSecretReference(held) && !index.has(held)) index.set(held, entry);
      }
      indexes.set(entries, index);
    }
    return index.get(value);
  };
}

/**
 * APISIX 3.x: when authentication failed and the route names an
 * `anonymous_consumer`, the request goes on as that consumer. Returns the
 * verdict to answer with (`failure` without a fallback, `missing` when no
 * consumer has that username), or undefined when the request goes on.
 *
 * @example
 *   return orAnonymousConsumer(ctx, 'key-auth', authenticate(c, ctx), c.anonymousConsumer, c.anonymousMissing);
 */
export function orAnonymousConsumer(
  ctx: PluginContext,
  plugin: string,
  failure: Verdict | undefined,
  anonymous: string | undefined,
  missing: Verdict,
): Verdict | undefined {
  if (failure === undefined || anonymous === undefined) return failure;
  const entry = ctx.consumerByName(anonymous);
  if (entry === undefined) {
    ctx.log.error(`${plugin} failed to authenticate the request, code: 401. error: failed to get anonymous consumer ${anonymous}`);
    return missing;
  }
  ctx.attachConsumer(entry);
  return undefined;
}

/**
 * `query` (a raw query string, no `?`) without the arguments named `name`.
 * The other arguments keep their order and their encoding; names are
 * compared decoded, as `arg_<name>` reads them.
 *
 * @example
 *   withoutQueryArg('a=1&apikey=k&b=%20', 'apikey') // 'a=1&b=%20'
 */
export function withoutQueryArg(query: string, name: string): string {
  if (query === '') return query;
  const kept: string[] = [];
  for (const part of query.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    if (decodeQueryComponent(eq === -1 ? part : part.slice(0, eq)) !== name) kept.push(part);
  }
  return kept.join('&');
}

/**
 * Stop a query argument from reaching the upstream: the request-target sent
 * upstream (`upstream_uri`, the client's by default) and `$args` (which later
 * plugins such as proxy-rewrite read) both lose it.
 */
export function hideQueryArg(ctx: PluginContext, name: string): void {
  const target = String(ctx.var.upstream_uri ?? '/');
  const mark = target.indexOf('?');
  if (mark !== -1) {
    const query = withoutQueryArg(target.slice(mark + 1), name);
    ctx.var.upstream_uri = query === '' ? target.slice(0, mark) : `${target.slice(0, mark)}?${query}`;
  }
  const args = ctx.var.args;
  if (typeof args === 'string') ctx.var.args = withoutQueryArg(args, name);
}

/**
 * A Cookie header without the cookies named `name`; undefined when nothing
 * else is left (so the header can be dropped).
 *
 * @example
 *   withoutCookie('a=1; jwt=x.y.z; b=2', 'jwt') // 'a=1; b=2'
 */
export function withoutCookie(header: string, name: string): string | undefined {
  const kept: string[] = [];
  for (const part of header.split(';')) {
    const pair = part.trim();
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    if ((eq === -1 ? pair : pair.slice(0, eq).trim()) !== name) kept.push(pair);
  }
  return kept.length === 0 ? undefined : kept.join('; ');
}
