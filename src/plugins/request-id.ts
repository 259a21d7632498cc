/**
 * request-id (APISIX `apisix/plugins/request-id.lua`, priority 12015,
 * rewrite + header_filter): every request carries an id in `header_name`
 * (`X-Request-Id`). A client's non-empty id is kept; otherwise one is
 * generated (`uuid` v4, `nanoid`, `range_id` or `ksuid`) and set on the
 * request sent upstream. With `include_in_response` the response gets the
 * id too, unless the upstream already answered with that header.
 *
 * As in APISIX, the id lives in `ctx["request-id-<header_name>"]`;
 * `ctx.var.request_id` stays the gateway's own per-request id (nginx's
 * `$request_id`).
 */
import { randomFillSync, randomUUID } from 'node:crypto';
import { definePlugin } from '../pdk/plugin.js';
import { isValidHeaderName, isValidHeaderValue } from './lib/header-text.js';
import { compiledPerConf } from './lib/per-conf.js';

export type RequestIdAlgorithm = 'uuid' | 'nanoid' | 'range_id' | 'ksuid';

export interface RequestIdConf {
  readonly header_name: string;
  readonly include_in_response: boolean;
  readonly algorithm: RequestIdAlgorithm;
  readonly range_id: { readonly length: number; readonly char_set: string };
}

/** APISIX's default `range_id.char_set`, typo included (`G` twice, no `J`): it is what users get. */
const DEFAULT_CHAR_SET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIGKLMNOPQRSTUVWXYZ0123456789';

// ---- random bytes ------------------------------------------------------------

/** Random bytes drawn in blocks: one `randomFillSync` per many ids, not one per id. */
const pool = Buffer.allocUnsafe(4096);
let poolOffset = pool.length;

function randomBytesFromPool(count: number): Buffer {
  if (count > pool.length) return randomFillSync(Buffer.allocUnsafe(count));
  if (poolOffset + count > pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const bytes = pool.subarray(poolOffset, poolOffset + count);
  poolOffset += count;
  return bytes;
}

/**
 * `length` characters drawn uniformly from `alphabet` (bytes that would
 * bias the draw towards the first characters are skipped).
 *
 * @example randomString('abc', 8) // e.g. 'cabbacab'
 */
export function randomString(alphabet: string, length: number): string {
  const size = alphabet.length;
  // The largest multiple of `size` a byte can reach: bytes above it are rejected.
  const limit = 256 - (256 % size);
  let out = '';
  while (out.length < length) {
    const bytes = randomBytesFromPool(Math.min(256, (length - out.length) * 2));
    for (let i = 0; i < bytes.length && out.length < length; i++) {
      const byte = bytes[i] as number;
      if (byte < limit) out += alphabet[byte % size];
    }
  }
  return out;
}

// ---- the algorithms --------------------------------------------------------------

/** nanoid's URL-safe alphabet and default size (lua `nanoid.safe_simple`). */
const NANOID_ALPHABET = '_-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';
const NANOID_SIZE = 21;

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
/** KSUID's epoch (2014-05-13T16:53:20Z) and textual size. */
const KSUID_EPOCH = 1_400_000_000;
const KSUID_LENGTH = 27;

/**
 * A KSUID (segmentio's format, lua `resty.ksuid`): a 32-bit timestamp in
 * seconds since the KSUID epoch followed by 128 random bits, in base62,
 * left-padded with `0` to 27 characters, so ids sort by creation second.
 *
 * @example ksuid() // e.g. '2zGfL0Bq9xVvYH1yQ6nUe3kRt8a'
 */
export function ksuid(nowMs = Date.now()): string {
  // Five 32-bit words, big-endian: the 20 bytes of the id.
  const words = new Uint32Array(5);
  words[0] = Math.floor(nowMs / 1000) - KSUID_EPOCH;
  const random = randomBytesFromPool(16);
  for (let i = 0; i < 4; i++) words[i + 1] = random.readUInt32BE(i * 4);
  // Long division by 62 over the words, one digit per pass.
  let out = '';
  let nonZero = true;
  while (nonZero) {
    nonZero = false;
    let remainder = 0;
    for (let i = 0; i < 5; i++) {
      const value = remainder * 0x1_0000_0000 + (words[i] as number);
      const quotient = Math.floor(value / 62);
      remainder = value - quotient * 62;
      words[i] = quotient;
      if (quotient !== 0) nonZero = true;
    }
    out = BASE62[remainder] + out;
  }
  return out.padStart(KSUID_LENGTH, '0');
}

function generate(conf: RequestIdConf): string {
  switch (conf.algorithm) {
    case 'nanoid':
      return randomString(NANOID_ALPHABET, NANOID_SIZE);
    case 'range_id':
      return randomString(conf.range_id.char_set, conf.range_id.length);
    case 'ksuid':
      return ksuid();
    default:
      return randomUUID();
  }
}

// ---- the plugin ------------------------------------------------------------------

/** Per configuration: the ctx key of the id (APISIX's name) and the lower-cased header. */
interface Compiled {
  readonly ctxKey: string;
  readonly header: string;
}

const compiled = compiledPerConf((conf: RequestIdConf): Compiled => {
  return { ctxKey: `request-id-${conf.header_name}`, header: conf.header_name.toLowerCase() };
});

/**
 * @example
 *   // route plugins: { "request-id": { "algorithm": "nanoid" } }
 *   // the upstream gets X-Request-Id: V1StGXR8_Z5jdHi6B-myT, and so does the client
 */
export default definePlugin<RequestIdConf>({
  name: 'request-id',
  version: '0.1',
  priority: 12015,
  schema: {
    type: 'object',
    properties: {
      header_name: { type: 'string', default: 'X-Request-Id' },
      include_in_response: { type: 'boolean', default: true },
      algorithm: { type: 'string', enum: ['uuid', 'nanoid', 'range_id', 'ksuid'], default: 'uuid' },
      range_id: {
        type: 'object',
        properties: {
          length: { type: 'integer', minimum: 6, default: 16 },
          // At least 6 characters, so that ids do not repeat too soon.
          char_set: { type: 'string', minLength: 6, default: DEFAULT_CHAR_SET },
        },
        default: { length: 16, char_set: DEFAULT_CHAR_SET },
      },
    },
  },

  check(conf) {
    // APISIX takes any string and fails later in nginx; refused here when it cannot be sent at all.
    if (!isValidHeaderName(conf.header_name)) return 'invalid field character in header';
    if (conf.algorithm === 'range_id' && !isValidHeaderValue(conf.range_id.char_set)) return 'invalid value character in header';
    return undefined;
  },

  rewrite(conf, ctx) {
    const c = compiled(conf);
    let id = ctx.request.header(c.header);
    if (id === undefined || id === '') {
      id = generate(conf);
      ctx.request.setHeader(conf.header_name, id);
    }
    if (conf.include_in_response) ctx[c.ctxKey] = id;
    return undefined;
  },

  header_filter(conf, ctx) {
    if (!conf.include_in_response) return;
    const c = compiled(conf);
    const id = ctx[c.ctxKey];
    // An upstream's own id wins; a request that never reached rewrite has none to add.
    if (typeof id !== 'string') return;
    const current = ctx.response.header(c.header);
    if (current === undefined || current === '') ctx.response.setHeader(conf.header_name, id);
  },
});
