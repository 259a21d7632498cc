/**
 * jwt-auth (APISIX 3.x `apisix/plugins/jwt-auth.lua`): a client presents a
 * JSON Web Token in a header, query argument or cookie; the token names its
 * consumer in a claim (`key` by default), is verified with that consumer's
 * secret or public key, and its `exp` / `nbf` claims are checked.
 *
 * The order of the checks, and so which 401 message a client sees, is
 * APISIX's: token present → well-formed → key claim → consumer exists →
 * signature → time claims.
 *
 * Two deliberate differences from APISIX, both closing holes:
 * - the token's `alg` must be the consumer's `algorithm` (APISIX takes the
 *   token's word for it, so an HS256 token "signed" with an RS256
 *   consumer's public key would pass: the classic algorithm confusion);
 * - an HS* consumer needs a `secret` for every HS algorithm (APISIX makes up
 *   a random one for HS384, which each worker would make up differently).
 */
import { definePlugin, type ConfKind, type Verdict } from '../pdk/plugin.js';
import type { PluginContext } from '../pdk/context.js';
import { createEntryLookup, hideQueryArg, isSecretReference, orAnonymousConsumer, withoutCookie } from './auth/credentials.js';
import {
  JWT_ALGORITHMS,
  JwtKeyError,
  checkTimeClaims,
  createVerifier,
  isHmacAlgorithm,
  parseJwt,
  type JwtAlgorithm,
  type JwtVerifier,
  type TimeClaim,
} from './auth/jwt.js';
import { compiledPerConf } from './lib/per-conf.js';

export const JWT_AUTH_PRIORITY = 2510;

/** A route's jwt-auth configuration, resolved once per configuration object. */
interface CompiledConf {
  readonly header: string;
  readonly query: string;
  readonly argVar: string;
  readonly cookie: string;
  readonly cookieVar: string;
  readonly hideCredentials: boolean;
  readonly keyClaim: string;
  readonly storeInCtx: boolean;
  readonly claims: readonly TimeClaim[];
  readonly anonymousConsumer: string | undefined;
  readonly missing: Verdict;
  readonly invalidToken: Verdict;
  readonly missingKey: Verdict;
  readonly unknownKey: Verdict;
  readonly notVerified: Verdict;
  readonly anonymousMissing: Verdict;
}

function build(conf: Record<string, unknown>): CompiledConf {
  const challenge = Object.freeze({ 'www-authenticate': `Bearer realm="${String(conf.realm ?? 'jwt')}"` });
  // Shared by every request of this configuration, so frozen.
  const deny = (message: string): Verdict => Object.freeze([401, Object.freeze({ message }), challenge] as const);
  const query = String(conf.query ?? 'jwt');
  const cookie = String(conf.cookie ?? 'jwt');
  return {
    header: String(conf.header ?? 'authorization').toLowerCase(),
    query,
    argVar: `arg_${query}`,
    cookie,
    cookieVar: `cookie_${cookie}`,
    hideCredentials: conf.hide_credentials === true,
    keyClaim: String(conf.key_claim_name ?? 'key'),
    storeInCtx: conf.store_in_ctx === true,
    claims: Array.isArray(conf.claims_to_verify) ? (conf.claims_to_verify as TimeClaim[]) : ['exp', 'nbf'],
    anonymousConsumer: typeof conf.anonymous_consumer === 'string' ? conf.anonymous_consumer : undefined,
    missing: deny('Missing JWT token in request'),
    invalidToken: deny('JWT token invalid'),
    missingKey: deny('missing user key in JWT token'),
    unknownKey: deny('Invalid user key in JWT token'),
    notVerified: deny('failed to verify jwt'),
    anonymousMissing: deny('Invalid user authorization'),
  };
}

const compile = compiledPerConf(build);

/**
 * The consumer side's verifier, built once per consumer configuration (a
 * failure too, so a broken key is reported, not re-parsed, per request).
 */
const verifierFor = compiledPerConf(buildVerifier);

function buildVerifier(conf: Readonly<Record<string, unknown>>): JwtVerifier | JwtKeyError {
  const algorithm = (conf.algorithm ?? 'HS256') as JwtAlgorithm;
  if (!JWT_ALGORITHMS.includes(algorithm)) return new JwtKeyError(`unsupported algorithm ${String(algorithm)}`);
  const material = isHmacAlgorithm(algorithm) ? conf.secret : conf.public_key;
  if (typeof material !== 'string') return new JwtKeyError(`no ${isHmacAlgorithm(algorithm) ? 'secret' : 'public_key'} configured`);
  if (isSecretReference(material)) return new JwtKeyError('secret references ($env://, $secret://) are not supported');
  try {
    const key = isHmacAlgorithm(algorithm) && conf.base64_secret === true ? Buffer.from(material, 'base64') : material;
    return createVerifier(algorithm, key);
  } catch (err) {
    return err instanceof JwtKeyError ? err : new JwtKeyError(String(err), { cause: err });
  }
}

/** The token from the header (with or without `Bearer `), else the query argument, else the cookie. */
function fetchToken(c: CompiledConf, ctx: PluginContext): unknown {
  const header = ctx.request.header(c.header);
  if (header !== undefined) {
    if (c.hideCredentials) ctx.request.setHeader(c.header, null);
    return header.startsWith('Bearer ') || header.startsWith('bearer ') ? header.slice(7) : header;
  }
  const arg = ctx.var[c.argVar];
  if (arg !== undefined) {
    if (c.hideCredentials) hideQueryArg(ctx, c.query);
    return arg;
  }
  const cookie = ctx.var[c.cookieVar];
  if (cookie !== undefined && c.hideCredentials) {
    const rest = withoutCookie(ctx.request.header('cookie') ?? '', c.cookie);
    ctx.request.setHeader('cookie', rest ?? null);
  }
  return cookie;
}

const byKey = createEntryLookup('key');

/** Identify and verify, or return the verdict of the failure. */
function authenticate(c: CompiledConf, ctx: PluginContext): Verdict | undefined {
  const token = fetchToken(c, ctx);
  if (token === undefined) return c.missing;
  // A bare `?jwt` argument reads as `true`: present but not a token.
  const parsed = typeof token === 'string' ? parseJwt(token) : { ok: false as const, reason: 'not a string' };
  if (!parsed.ok) {
    ctx.log.warn(`JWT token invalid: ${parsed.reason}`);
    return c.invalidToken;
  }
  const { jwt } = parsed;

  const userKey = jwt.payload[c.keyClaim];
  if (userKey === undefined || userKey === null || userKey === false) return c.missingKey;
  const entry = typeof userKey === 'string' ? byKey(ctx.consumersWith('jwt-auth'), userKey) : undefined;
  if (!entry) {
    ctx.log.warn('failed to find consumer: invalid user key');
    return c.unknownKey;
  }

  const verifier = verifierFor(entry.conf);
  if (verifier instanceof JwtKeyError) {
    ctx.log.error(`failed to verify jwt: consumer ${entry.consumer.username}: ${verifier.message}`);
    return c.notVerified;
  }
  if (jwt.header.alg !== verifier.algorithm) {
    ctx.log.warn(`failed to verify jwt: token algorithm ${String(jwt.header.alg)} is not the consumer's ${verifier.algorithm}`);
    return c.notVerified;
  }
  if (!verifier.verify(jwt.signingInput, jwt.signature)) {
    ctx.log.warn('failed to verify jwt: signature mismatch');
    return c.notVerified;
  }
  const grace = typeof entry.conf.lifetime_grace_period === 'number' ? entry.conf.lifetime_grace_period : 0;
  const claimError = checkTimeClaims(jwt.payload, c.claims, grace, Math.floor(Date.now() / 1000));
  if (claimError !== undefined) {
    ctx.log.warn(`failed to verify jwt: ${claimError}`);
    return c.notVerified;
  }

  if (c.storeInCtx) ctx.jwt_auth_payload = jwt.payload;
  ctx.attachConsumer(entry);
  return undefined;
}

/** `ngx.decode_base64` accepts the standard alphabet with optional padding. */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}(?:==)?|[A-Za-z0-9+/]{3}=?)?$/;

/** What the consumer schema cannot say (APISIX's `check_schema` for TYPE_CONSUMER). */
function checkConsumer(conf: Record<string, unknown>): string | undefined {
  const algorithm = conf.algorithm as JwtAlgorithm;
  if (isHmacAlgorithm(algorithm)) {
    if (conf.secret === undefined) {
      return algorithm === 'HS384'
        ? 'property "secret" is required when "algorithm" is "HS384"'
        : 'property "secret" is required when "algorithm" is "HS256" or "HS512"';
    }
    if (conf.base64_secret === true && !BASE64.test(String(conf.secret))) {
      return 'base64_secret required but the secret is not in base64 format';
    }
    return undefined;
  }
  return conf.public_key === undefined ? 'missing valid public key' : undefined;
}

/**
 * @example
 *   // consumer:  { "username": "jack", "plugins": { "jwt-auth": { "key": "jack-key", "secret": "s3cret" } } }
 *   // route:     { "uri": "/api/*", "plugins": { "jwt-auth": {} }, ... }
 *   // request:   curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:9080/api/x
 */
export default definePlugin({
  name: 'jwt-auth',
  version: '0.1',
  priority: JWT_AUTH_PRIORITY,
  type: 'auth',
  schema: {
    type: 'object',
    properties: {
      header: { type: 'string', default: 'authorization' },
      query: { type: 'string', default: 'jwt' },
      cookie: { type: 'string', default: 'jwt' },
      hide_credentials: { type: 'boolean', default: false },
      key_claim_name: { type: 'string', default: 'key', minLength: 1 },
      store_in_ctx: { type: 'boolean', default: false },
      realm: { description: 'realm attribute in WWW-Authenticate header', type: 'string', default: 'jwt' },
      anonymous_consumer: { type: 'string', minLength: 1 },
      claims_to_verify: {
        type: 'array',
        items: { type: 'string', enum: ['exp', 'nbf'] },
        uniqueItems: true,
        default: ['exp', 'nbf'],
      },
    },
  },
  // No additionalProperties: false, as in APISIX, so older fields such as
  // `private_key` still load (and are ignored).
  consumerSchema: {
    type: 'object',
    properties: {
      key: { type: 'string', minLength: 1 },
      secret: { type: 'string', minLength: 1 },
      public_key: { type: 'string' },
      algorithm: { type: 'string', enum: [...JWT_ALGORITHMS], default: 'HS256' },
      exp: { type: 'integer', minimum: 1, default: 86400 },
      base64_secret: { type: 'boolean', default: false },
      lifetime_grace_period: { type: 'integer', minimum: 0, default: 0 },
    },
    required: ['key'],
  },
  consumerEncryptFields: ['secret'],

  check(conf: Record<string, unknown>, kind: ConfKind) {
    return kind === 'consumer' ? checkConsumer(conf) : undefined;
  },

  rewrite(conf, ctx) {
    const c = compile(conf);
    return orAnonymousConsumer(ctx, 'jwt-auth', authenticate(c, ctx), c.anonymousConsumer, c.anonymousMissing);
  },
});
