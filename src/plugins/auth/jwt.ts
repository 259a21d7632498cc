/**
 * JSON Web Tokens (RFC 7519) in their JWS compact form (RFC 7515 §7.1):
 * parsing, signature verification with `node:crypto`, and the `exp` / `nbf`
 * claim checks jwt-auth applies. The algorithms are those of APISIX 3.x's
 * jwt-auth (RFC 7518 §3 plus EdDSA, RFC 8037).
 *
 * Verification keys are built once per consumer configuration
 * ({@link createVerifier}); a request then costs two base64url decodes, two
 * `JSON.parse` calls and one signature check.
 */
import {
  constants,
  createHmac,
  createPrivateKey,
  createPublicKey,
  sign as cryptoSign,
  timingSafeEqual,
  verify as cryptoVerify,
  type KeyObject,
} from 'node:crypto';
import { FngateError } from '../../errors.js';

export const JWT_ALGORITHMS = [
  'HS256', 'HS384', 'HS512',
  'RS256', 'RS384', 'RS512',
  'ES256', 'ES384', 'ES512',
  'PS256', 'PS384', 'PS512',
  'EdDSA',
] as const;

export type JwtAlgorithm = (typeof JWT_ALGORITHMS)[number];

/** The claims jwt-auth can check (`claims_to_verify`). */
export type TimeClaim = 'exp' | 'nbf';

/** A key could not be turned into a verifier or signer (bad PEM, wrong key type). */
export class JwtKeyError extends FngateError {
  readonly code = 'JWT_KEY_INVALID';
}

export interface ParsedJwt {
  readonly header: Readonly<Record<string, unknown>>;
  readonly payload: Readonly<Record<string, unknown>>;
  /** `<header>.<payload>` exactly as received: what the signature covers. */
  readonly signingInput: string;
  readonly signature: Buffer;
}

export type ParseResult = { readonly ok: true; readonly jwt: ParsedJwt } | { readonly ok: false; readonly reason: string };

/** Three base64url segments (RFC 7515 §2 forbids padding); the signature may be empty. */
const COMPACT_JWS = /^([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]*)$/;

function decodeJsonObject(segment: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Split and decode a compact JWS. Nothing is verified here.
 *
 * @example
 *   const parsed = parseJwt(token);
 *   if (parsed.ok) parsed.jwt.payload.key;
 */
export function parseJwt(token: string): ParseResult {
  const m = COMPACT_JWS.exec(token);
  if (!m) return { ok: false, reason: 'invalid jwt string' };
  const header = decodeJsonObject(m[1] as string);
  if (!header) return { ok: false, reason: 'invalid header: not a JSON object' };
  const payload = decodeJsonObject(m[2] as string);
  if (!payload) return { ok: false, reason: 'invalid payload: not a JSON object' };
  return {
    ok: true,
    jwt: {
      header,
      payload,
      signingInput: token.slice(0, (m[1] as string).length + 1 + (m[2] as string).length),
      signature: Buffer.from(m[3] as string, 'base64url'),
    },
  };
}

/** Checks signatures of one algorithm under one key. */
export interface JwtVerifier {
  readonly algorithm: JwtAlgorithm;
  verify(signingInput: string, signature: Buffer): boolean;
}

interface AlgorithmSpec {
  readonly family: 'HS' | 'RS' | 'PS' | 'ES' | 'EdDSA';
  /** Digest name for node:crypto; null for EdDSA (the curve fixes it). */
  readonly hash: string | null;
  /** ES*: the fixed size of the raw `r || s` signature (RFC 7518 §3.4). */
  readonly ecSignatureBytes?: number;
}

const SPECS: Readonly<Record<JwtAlgorithm, AlgorithmSpec>> = {
  HS256: { family: 'HS', hash: 'sha256' },
  HS384: { family: 'HS', hash: 'sha384' },
  HS512: { family: 'HS', hash: 'sha512' },
  RS256: { family: 'RS', hash: 'sha256' },
  RS384: { family: 'RS', hash: 'sha384' },
  RS512: { family: 'RS', hash: 'sha512' },
  PS256: { family: 'PS', hash: 'sha256' },
  PS384: { family: 'PS', hash: 'sha384' },
  PS512: { family: 'PS', hash: 'sha512' },
  ES256: { family: 'ES', hash: 'sha256', ecSignatureBytes: 64 },
  ES384: { family: 'ES', hash: 'sha384', ecSignatureBytes: 96 },
  ES512: { family: 'ES', hash: 'sha512', ecSignatureBytes: 132 },
  EdDSA: { family: 'EdDSA', hash: null },
};

export function isHmacAlgorithm(algorithm: JwtAlgorithm): boolean {
  return SPECS[algorithm].family === 'HS';
}

/** node:crypto options for an asymmetric key of `spec`'s family. */
function asymmetricKeyOptions(spec: AlgorithmSpec, key: KeyObject) {
  switch (spec.family) {
    case 'PS':
      // RFC 7518 §3.5: the salt is as long as the digest.
      return { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST };
    case 'ES':
      // JWS carries ECDSA signatures as raw r||s, not DER (RFC 7518 §3.4).
      return { key, dsaEncoding: 'ieee-p1363' as const };
    default:
      return { key };
  }
}

const EXPECTED_KEY_TYPE: Readonly<Record<AlgorithmSpec['family'], readonly string[]>> = {
  HS: [],
  RS: ['rsa'],
  PS: ['rsa', 'rsa-pss'],
  ES: ['ec'],
  EdDSA: ['ed25519', 'ed448'],
};

function checkKeyType(algorithm: JwtAlgorithm, key: KeyObject): void {
  const allowed = EXPECTED_KEY_TYPE[SPECS[algorithm].family];
  if (!allowed.includes(key.asymmetricKeyType ?? '')) {
    throw new JwtKeyError(`a ${key.asymmetricKeyType ?? 'unknown'} key cannot verify ${algorithm}`);
  }
}

/**
 * A verifier for `algorithm`: `key` is the shared secret for HS* (raw bytes
 * or text), a PEM public key (or certificate) for the others. Throws
 * {@link JwtKeyError} when the key does not parse or does not fit.
 *
 * @example
 *   const verifier = createVerifier('HS256', 'my-secret');
 *   verifier.verify(jwt.signingInput, jwt.signature); // true / false
 */
export function createVerifier(algorithm: JwtAlgorithm, key: string | Buffer): JwtVerifier {
  const spec = SPECS[algorithm];
  if (spec.family === 'HS') {
    const secret = typeof key === 'string' ? Buffer.from(key, 'utf8') : key;
    const hash = spec.hash as string;
    return {
      algorithm,
      verify(signingInput, signature) {
        const expected = createHmac(hash, secret).update(signingInput).digest();
        // Constant time, so the comparison leaks nothing about the expected MAC.
        return expected.length === signature.length && timingSafeEqual(expected, signature);
      },
    };
  }
  let publicKey: KeyObject;
  try {
    publicKey = createPublicKey(key);
  } catch (err) {
    throw new JwtKeyError(`invalid public key: ${(err as Error).message}`, { cause: err });
  }
  checkKeyType(algorithm, publicKey);
  const options = asymmetricKeyOptions(spec, publicKey);
  return {
    algorithm,
    verify(signingInput, signature) {
      if (spec.ecSignatureBytes !== undefined && signature.length !== spec.ecSignatureBytes) return false;
      try {
        return cryptoVerify(spec.hash, Buffer.from(signingInput), options, signature);
      } catch {
        // A malformed signature (e.g. an RSA signature of the wrong length) is simply not valid.
        return false;
      }
    },
  };
}

/**
 * Sign `payload` as a compact JWS; `key` is the shared secret for HS*, a PEM
 * private key for the others. jwt-auth itself only verifies; this exists for
 * tests and tooling.
 *
 * @example
 *   signJwt('HS256', 'my-secret', { key: 'user-key', exp: Math.floor(Date.now() / 1000) + 60 });
 */
export function signJwt(algorithm: JwtAlgorithm, key: string | Buffer, payload: Record<string, unknown>, header: Record<string, unknown> = {}): string {
  const spec = SPECS[algorithm];
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const signingInput = `${encode({ typ: 'JWT', alg: algorithm, ...header })}.${encode(payload)}`;
  let signature: Buffer;
  if (spec.family === 'HS') {
    signature = createHmac(spec.hash as string, key).update(signingInput).digest();
  } else {
    let privateKey: KeyObject;
    try {
      privateKey = createPrivateKey(key);
    } catch (err) {
      throw new JwtKeyError(`invalid private key: ${(err as Error).message}`, { cause: err });
    }
    signature = cryptoSign(spec.hash, Buffer.from(signingInput), asymmetricKeyOptions(spec, privateKey));
  }
  return `${signingInput}.${signature.toString('base64url')}`;
}

/** An HTTP date (RFC 9110 §5.6.7), as APISIX prints claim times in its logs. */
function httpDate(seconds: number): string {
  const date = new Date(seconds * 1000);
  return Number.isNaN(date.getTime()) ? String(seconds) : date.toUTCString();
}

/**
 * Check the time claims in `claims` that the payload carries (absent claims
 * pass, as in APISIX). `graceSeconds` widens both ends for clock skew.
 * Returns the reason of the first failure, or undefined.
 *
 * @example
 *   checkTimeClaims({ exp: 100 }, ['exp', 'nbf'], 0, 200) // "'exp' claim expired at Thu, 01 Jan 1970 00:01:40 GMT"
 */
export function checkTimeClaims(
  payload: Readonly<Record<string, unknown>>,
  claims: readonly TimeClaim[],
  graceSeconds: number,
  nowSeconds: number,
): string | undefined {
  for (const claim of claims) {
    const value = payload[claim];
    if (value === undefined || value === null) continue;
    if (typeof value !== 'number' || !Number.isFinite(value)) return `claim ${claim} is not a number`;
    if (claim === 'exp' && !(value > nowSeconds - graceSeconds)) return `'exp' claim expired at ${httpDate(value)}`;
    // RFC 7519 §4.1.5: acceptable from the `nbf` second on (APISIX only from the next one).
    if (claim === 'nbf' && !(value <= nowSeconds + graceSeconds)) return `'nbf' claim not valid until ${httpDate(value)}`;
  }
  return undefined;
}
