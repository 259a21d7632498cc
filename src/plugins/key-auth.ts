/**
 * key-auth (APISIX 3.x `apisix/plugins/key-auth.lua`): a consumer presents
 * its key in a request header or query argument; the consumer or credential
 * configuring that key is attached to the request (spec/plugins.md §4).
 *
 * Route side: where the key is read (`header`, then `query`), whether it is
 * removed before proxying (`hide_credentials`), the `WWW-Authenticate` realm
 * of the 401, an optional `Bearer` scheme (`bearer_token`), and an
 * `anonymous_consumer` attached when authentication fails.
 * Consumer / credential side: `key`, encrypted at rest.
 */
import { definePlugin, type Verdict } from '../pdk/plugin.js';
import type { PluginContext } from '../pdk/context.js';
import { createEntryLookup, hideQueryArg, orAnonymousConsumer } from './auth/credentials.js';
import { compiledPerConf } from './lib/per-conf.js';

export const KEY_AUTH_PRIORITY = 2500;

/** A route's key-auth configuration, resolved once per configuration object. */
interface CompiledConf {
  /** Lower-case header the key is read from (`Authorization` with `bearer_token`). */
  readonly header: string;
  /** `ctx.var` name of the query argument (`arg_<query>`). */
  readonly argVar: string;
  readonly query: string;
  readonly hideCredentials: boolean;
  readonly bearer: boolean;
  readonly anonymousConsumer: string | undefined;
  /** The 401 verdicts, built once: a request that fails allocates nothing. */
  readonly missing: Verdict;
  readonly invalid: Verdict;
  readonly badBearer: Verdict;
  readonly anonymousMissing: Verdict;
}

const BEARER_PREFIX = 'Bearer ';

function build(conf: Record<string, unknown>): CompiledConf {
  const bearer = conf.bearer_token === true;
  const query = String(conf.query ?? 'apikey');
  // The header names the scheme the client should use and the realm (RFC 9110 §11.6.1).
  const challenge = Object.freeze({ 'www-authenticate': `${bearer ? 'Bearer' : 'apikey'} realm="${String(conf.realm ?? 'key')}"` });
  // Shared by every request of this configuration, so frozen.
  const deny = (message: string): Verdict => Object.freeze([401, Object.freeze({ message }), challenge] as const);
  return {
    header: bearer ? 'authorization' : String(conf.header ?? 'apikey').toLowerCase(),
    argVar: `arg_${query}`,
    query,
    hideCredentials: conf.hide_credentials === true,
    bearer,
    anonymousConsumer: typeof conf.anonymous_consumer === 'string' ? conf.anonymous_consumer : undefined,
    missing: deny('Missing API key in request'),
    invalid: deny('Invalid API key in request'),
    badBearer: deny('Invalid Bearer token format'),
    anonymousMissing: deny('Invalid user authorization'),
  };
}

const compile = compiledPerConf(build);

const byKey = createEntryLookup('key');

/** Identify the consumer, or return the verdict of the failure. */
function authenticate(c: CompiledConf, ctx: PluginContext): Verdict | undefined {
  let key: unknown = ctx.request.header(c.header);
  const fromHeader = key !== undefined;
  // An argument without a value (`?apikey`) reads as `true`: present, but no key.
  if (!fromHeader) key = ctx.var[c.argVar];
  if (key === undefined) return c.missing;
  if (typeof key !== 'string') return c.invalid;

  if (c.bearer && fromHeader) {
    if (!key.startsWith(BEARER_PREFIX)) return c.badBearer;
    key = key.slice(BEARER_PREFIX.length);
  }
  const entry = byKey(ctx.consumersWith('key-auth'), key as string);
  if (!entry) return c.invalid;

  // As in APISIX, a key is hidden only once it proved valid.
  if (c.hideCredentials) {
    if (fromHeader) ctx.request.setHeader(c.header, null);
    else hideQueryArg(ctx, c.query);
  }
  ctx.attachConsumer(entry);
  return undefined;
}

/**
 * @example
 *   // consumer:  { "username": "jack", "plugins": { "key-auth": { "key": "jack-key" } } }
 *   // route:     { "uri": "/api/*", "plugins": { "key-auth": { "hide_credentials": true } }, ... }
 *   // request:   curl -H 'apikey: jack-key' http://127.0.0.1:9080/api/x
 */
export default definePlugin({
  name: 'key-auth',
  version: '0.1',
  priority: KEY_AUTH_PRIORITY,
  type: 'auth',
  schema: {
    type: 'object',
    properties: {
      header: { type: 'string', default: 'apikey' },
      query: { type: 'string', default: 'apikey' },
      realm: { description: 'realm attribute in WWW-Authenticate header', type: 'string', default: 'key' },
      hide_credentials: { type: 'boolean', default: false },
      bearer_token: { type: 'boolean', default: false },
      anonymous_consumer: { type: 'string', minLength: 1 },
    },
  },
  consumerSchema: {
    type: 'object',
    properties: {
      key: { type: 'string' },
    },
    required: ['key'],
  },
  consumerEncryptFields: ['key'],

  rewrite(conf, ctx) {
    const c = compile(conf);
    return orAnonymousConsumer(ctx, 'key-auth', authenticate(c, ctx), c.anonymousConsumer, c.anonymousMissing);
  },
});
