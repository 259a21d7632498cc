import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import {
  JWT_ALGORITHMS,
  JwtKeyError,
  checkTimeClaims,
  createVerifier,
  parseJwt,
  signJwt,
  type JwtAlgorithm,
} from './jwt.js';

const pem = (key: KeyObject) => key.export({ type: key.type === 'private' ? 'pkcs8' : 'spki', format: 'pem' }).toString();

// One key pair per key type, made once (RSA generation is the slow part).
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
const p521 = generateKeyPairSync('ec', { namedCurve: 'P-521' });
const ed = generateKeyPairSync('ed25519');

const KEYS: Record<JwtAlgorithm, { sign: string; verify: string }> = {
  HS256: { sign: 'secret-256', verify: 'secret-256' },
  HS384: { sign: 'secret-384', verify: 'secret-384' },
  HS512: { sign: 'secret-512', verify: 'secret-512' },
  RS256: { sign: pem(rsa.privateKey), verify: pem(rsa.publicKey) },
  RS384: { sign: pem(rsa.privateKey), verify: pem(rsa.publicKey) },
  RS512: { sign: pem(rsa.privateKey), verify: pem(rsa.publicKey) },
  PS256: { sign: pem(rsa.privateKey), verify: pem(rsa.publicKey) },
  PS384: { sign: pem(rsa.privateKey), verify: pem(rsa.publicKey) },
  PS512: { sign: pem(rsa.privateKey), verify: pem(rsa.publicKey) },
  ES256: { sign: pem(p256.privateKey), verify: pem(p256.publicKey) },
  ES384: { sign: pem(p384.privateKey), verify: pem(p384.publicKey) },
  ES512: { sign: pem(p521.privateKey), verify: pem(p521.publicKey) },
  EdDSA: { sign: pem(ed.privateKey), verify: pem(ed.publicKey) },
};

function parsed(token: string) {
  const result = parseJwt(token);
  assert.ok(result.ok, `parses: ${token}`);
  return result.jwt;
}

describe('parseJwt', () => {
  test('decodes header and payload and keeps the signing input as received', () => {
    // The example token of RFC 7519 §3.1 (its payload has a line break inside the JSON).
    const token = 'eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';
    const jwt = parsed(token);
    assert.deepEqual(jwt.header, { typ: 'JWT', alg: 'HS256' });
    assert.equal(jwt.payload.iss, 'joe');
    assert.equal(jwt.signingInput, token.slice(0, token.lastIndexOf('.')));
    assert.equal(jwt.signature.length, 32);
  });

  test('rejects what is not a compact JWS with JSON objects', () => {
    const obj = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const cases: Array<[string, RegExp]> = [
      ['', /invalid jwt string/],
      ['abc', /invalid jwt string/],
      ['a.b', /invalid jwt string/],
      ['a.b.c.d.e', /invalid jwt string/],
      [`${obj({ alg: 'HS256' })}.${obj({ key: 'k' })}.sig=`, /invalid jwt string/],
      [`${obj({ alg: 'HS256' })}.${obj({ key: 'k' })}.si+g`, /invalid jwt string/],
      [`bm90IGpzb24.${obj({ key: 'k' })}.sig`, /invalid header/],
      [`${obj(['alg'])}.${obj({ key: 'k' })}.sig`, /invalid header/],
      [`${obj({ alg: 'HS256' })}.${obj('text')}.sig`, /invalid payload/],
      [`${obj({ alg: 'HS256' })}.${obj(null)}.sig`, /invalid payload/],
    ];
    for (const [token, reason] of cases) {
      const result = parseJwt(token);
      assert.equal(result.ok, false, token);
      assert.match((result as { reason: string }).reason, reason, token);
    }
  });

  test('an empty signature parses (and then verifies with nothing)', () => {
    const token = signJwt('HS256', 's', { key: 'k' });
    const unsigned = token.slice(0, token.lastIndexOf('.') + 1);
    const jwt = parsed(unsigned);
    assert.equal(jwt.signature.length, 0);
    assert.equal(createVerifier('HS256', 's').verify(jwt.signingInput, jwt.signature), false);
  });
});

describe('signatures', () => {
  for (const algorithm of JWT_ALGORITHMS) {
    test(`${algorithm}: a signed token verifies; changed payload, signature or key does not`, () => {
      const keys = KEYS[algorithm];
      const token = signJwt(algorithm, keys.sign, { key: 'user', n: 1 });
      const jwt = parsed(token);
      assert.equal(jwt.header.alg, algorithm);
      const verifier = createVerifier(algorithm, keys.verify);
      assert.equal(verifier.algorithm, algorithm);
      assert.equal(verifier.verify(jwt.signingInput, jwt.signature), true);

      const forged = parsed(token.replace(/\.[^.]+\./, `.${Buffer.from('{"key":"admin","n":1}').toString('base64url')}.`));
      assert.equal(verifier.verify(forged.signingInput, forged.signature), false, 'payload changed');

      const flipped = Buffer.from(jwt.signature);
      flipped[0] = (flipped[0] as number) ^ 1;
      assert.equal(verifier.verify(jwt.signingInput, flipped), false, 'signature changed');
      assert.equal(verifier.verify(jwt.signingInput, jwt.signature.subarray(1)), false, 'signature truncated');
    });
  }

  test('HMAC secrets given as bytes (base64_secret) verify tokens signed with the same bytes', () => {
    const bytes = Buffer.from('c2VjcmV0LWJ5dGVz', 'base64');
    const jwt = parsed(signJwt('HS256', bytes, { key: 'k' }));
    assert.equal(createVerifier('HS256', bytes).verify(jwt.signingInput, jwt.signature), true);
    assert.equal(createVerifier('HS256', 'c2VjcmV0LWJ5dGVz').verify(jwt.signingInput, jwt.signature), false);
  });

  test('a key of the wrong type or not a key at all is refused when the verifier is built', () => {
    assert.throws(() => createVerifier('RS256', pem(p256.publicKey)), (err: unknown) => err instanceof JwtKeyError && /ec key cannot verify RS256/.test(err.message));
    assert.throws(() => createVerifier('ES256', pem(rsa.publicKey)), JwtKeyError);
    assert.throws(() => createVerifier('EdDSA', pem(rsa.publicKey)), JwtKeyError);
    assert.throws(() => createVerifier('RS256', 'not a pem'), (err: unknown) => err instanceof JwtKeyError && err.code === 'JWT_KEY_INVALID');
    assert.throws(() => signJwt('RS256', 'not a pem', {}), JwtKeyError);
  });

  test('the verifier of a public key does not accept an HMAC made with that key text', () => {
    // Algorithm confusion: the token claims HS256 and uses the public PEM as the secret.
    const publicPem = KEYS.RS256.verify;
    const jwt = parsed(signJwt('HS256', publicPem, { key: 'k' }));
    assert.equal(createVerifier('RS256', publicPem).verify(jwt.signingInput, jwt.signature), false);
  });
});

describe('checkTimeClaims', () => {
  const now = 1_700_000_000;

  test('exp: valid strictly before it, expired at and after it, with the grace period added', () => {
    assert.equal(checkTimeClaims({ exp: now + 1 }, ['exp'], 0, now), undefined);
    assert.equal(checkTimeClaims({ exp: now }, ['exp'], 0, now), "'exp' claim expired at Tue, 14 Nov 2023 22:13:20 GMT");
    assert.equal(checkTimeClaims({ exp: now - 5 }, ['exp'], 5, now), "'exp' claim expired at Tue, 14 Nov 2023 22:13:15 GMT");
    assert.equal(checkTimeClaims({ exp: now - 5 }, ['exp'], 6, now), undefined);
  });

  test('nbf: valid from its second on, earlier only within the grace period', () => {
    assert.equal(checkTimeClaims({ nbf: now }, ['nbf'], 0, now), undefined);
    assert.equal(checkTimeClaims({ nbf: now + 1 }, ['nbf'], 0, now), "'nbf' claim not valid until Tue, 14 Nov 2023 22:13:21 GMT");
    assert.equal(checkTimeClaims({ nbf: now + 10 }, ['nbf'], 10, now), undefined);
  });

  test('only the listed claims are checked; absent ones pass; non-numbers fail', () => {
    assert.equal(checkTimeClaims({ exp: 1, nbf: now + 100 }, [], 0, now), undefined);
    assert.equal(checkTimeClaims({ exp: 1 }, ['nbf'], 0, now), undefined);
    assert.equal(checkTimeClaims({}, ['exp', 'nbf'], 0, now), undefined);
    assert.equal(checkTimeClaims({ exp: String(now + 100) }, ['exp'], 0, now), 'claim exp is not a number');
    assert.equal(checkTimeClaims({ nbf: true }, ['nbf'], 0, now), 'claim nbf is not a number');
  });
});
