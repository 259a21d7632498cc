/**
 * basic-auth (APISIX 3.x `apisix/plugins/basic-auth.lua`, priority 2520,
 * rewrite, auth): a consumer presents `username:password` in
 * `Authorization: Basic <base64>` (RFC 7617); the consumer or credential
 * configuring that username and password is attached to the request
 * (spec/plugins.md §4).
 *
 * Route side: `hide_credentials` (drop `Authorization` before proxying),
 * `realm` of the `WWW-Authenticate` challenge every 401 carries, and an
 * `anonymous_consumer` attached when authentication fails.
 * Consumer / credential side: `username` and `password` (encrypted at rest).
 */
import { timingSafeEqual } from 'node:crypto';
import { definePlugin, type Verdict } from '../pdk/plugin.js';
import type { PluginContext } from '../pdk/context.js';
import { createEntryLookup, isSecretReference, orAnonymousConsumer } from './auth/credentials.js';
import { isValidHeaderValue } from './lib/header-text.js';
import { compiledPerConf } from './lib/per-conf.js';

export const BASIC_AUTH_PRIORITY = 2520;

export interface BasicAuthConf {
  readonly hide_credentials: boolean;
  readonly realm: string;
  readonly anonymous_consumer?: string;
}

/** Credentials read from an Authorization header, or why they could not be. */
export type BasicCredentials =
  | { readonly ok: true; readonly username: string; readonly password: string }
  | { readonly ok: false; readonly reason: string };

/**
 * APISIX finds the credentials with `ngx.re.match(header, "Basic\\s(.+)")`:
 * the scheme is case-sensitive and may sit anywhere in the value.
 */
const BASIC_SCHEME = /Basic\s(.+)/;
/** The base64 alphabet `ngx.decode_base64` accepts; anything from a `=` on is ignored. */
const BASE64_PREFIX = /^[A-Za-z0-9+/]*/;
/** PCRE's `\s`, which APISIX strips from both parts (so `echo user:pass | base64`, newline included, works). */
const PCRE_SPACE = /[ \t\n\v\f\r]+/g;

/**
 * Parse an `Authorization` value as APISIX's basic-auth does, except that
 * the password is everything after the first `:` (RFC 7617 §2; APISIX keeps
 * only the text up to a second `:`).
 *
 * @example
 *   parseBasicAuthorization('Basic amFjazpzM2NyZXQ=') // { ok: true, username: 'jack', password: 's3cret' }
 *   parseBasicAuthorization('Bearer x')               // { ok: false, reason: 'Invalid authorization header format' }
 */
export function parseBasicAuthorization(header: string): BasicCredentials {
  const m = BASIC_SCHEME.exec(header);
  if (m === null) return { ok: false, reason: 'Invalid authorization header format' };
  const encoded = m[1] as string;
  const valid = (BASE64_PREFIX.exec(encoded) as RegExpExecArray)[0];
  // nginx refuses a character outside the alphabet before any `=`, and a length that leaves one sextet.
  if ((valid.length !== encoded.length && encoded[valid.length] !== '=') || valid.length % 4 === 1) {
    return { ok: false, reason: 'Failed to decode authentication header' };
  }
  const decoded = Buffer.from(valid, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon === -1) return { ok: false, reason: 'Split authorization err: invalid decoded data' };
  return {
    ok: true,
    username: decoded.slice(0, colon).replace(PCRE_SPACE, ''),
    password: decoded.slice(colon + 1).replace(PCRE_SPACE, ''),
  };
}

/** Compare secrets in time independent of where they differ. */
function samePassword(expected: unknown, presented: string): boolean {
  if (typeof expected !== 'string' || isSecretReference(expected)) return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(presented);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** A route's configuration, resolved once per configuration object. */
interface Compiled {
  readonly hideCredentials: boolean;
  readonly anonymousConsumer: string | undefined;
  /** The 401 verdicts, built once and shared (frozen). */
  readonly missing: Verdict;
  readonly invalidHeader: Verdict;
  readonly invalidUser: Verdict;
}

const compiled = compiledPerConf((conf: BasicAuthConf): Compiled => {
  // RFC 9110 §11.6.1: the challenge names the scheme and the protection space.
  const challenge = Object.freeze({ 'www-authenticate': `Basic realm="${conf.realm}"` });
  const deny = (message: string): Verdict => Object.freeze([401, Object.freeze({ message }), challenge] as const);
  return {
    hideCredentials: conf.hide_credentials,
    anonymousConsumer: conf.anonymous_consumer,
    missing: deny('Missing authorization in request'),
    invalidHeader: deny('Invalid authorization in request'),
    invalidUser: deny('Invalid user authorization'),
  };
});

const byUsername = createEntryLookup('username');

/** Identify the consumer, or return the verdict of the failure. */
function authenticate(c: Compiled, ctx: PluginContext): Verdict | undefined {
  const header = ctx.request.header('authorization');
  if (header === undefined) return c.missing;
  const credentials = parseBasicAuthorization(header);
  if (!credentials.ok) {
    // The decoded text is not logged: it holds the password.
    ctx.log.warn(credentials.reason);
    return c.invalidHeader;
  }
  const entry = byUsername(ctx.consumersWith('basic-auth'), credentials.username);
  if (entry === undefined) {
    ctx.log.warn('failed to find user: invalid user');
    return c.invalidUser;
  }
  if (!samePassword(entry.conf.password, credentials.password)) return c.invalidUser;
  ctx.attachConsumer(entry);
  return undefined;
}

/**
 * @example
 *   // consumer:  { "username": "jack", "plugins": { "basic-auth": { "username": "jack", "password": "s3cret" } } }
 *   // route:     { "uri": "/api/*", "plugins": { "basic-auth": { "hide_credentials": true } }, ... }
 *   // request:   curl -u jack:s3cret http://127.0.0.1:9080/api/x
 */
export default definePlugin<BasicAuthConf>({
  name: 'basic-auth',
  version: '0.1',
  priority: BASIC_AUTH_PRIORITY,
  type: 'auth',
  schema: {
    type: 'object',
    title: 'work with route or service object',
    properties: {
      hide_credentials: { type: 'boolean', default: false },
      realm: { description: 'realm attribute in WWW-Authenticate header', type: 'string', default: 'basic' },
      anonymous_consumer: { type: 'string', minLength: 1 },
    },
  },
  consumerSchema: {
    type: 'object',
    title: 'work with consumer object',
    properties: {
      username: { type: 'string' },
      password: { type: 'string' },
    },
    required: ['username', 'password'],
  },
  consumerEncryptFields: ['password'],

  check(conf, kind) {
    // The realm goes into every 401's header: refuse what Node could not send (APISIX does not check).
    if (kind === 'route' && !isValidHeaderValue(conf.realm)) return 'invalid value character in header';
    return undefined;
  },

  rewrite(conf, ctx) {
    const c = compiled(conf);
    const verdict = orAnonymousConsumer(ctx, 'basic-auth', authenticate(c, ctx), c.anonymousConsumer, c.invalidUser);
    if (verdict !== undefined) return verdict;
    // As in APISIX, the header is dropped for the anonymous consumer too.
    if (c.hideCredentials && ctx.request.header('authorization') !== undefined) ctx.request.setHeader('authorization', null);
    return undefined;
  },
});
