/**
 * PEM parsing of certificates and private keys (APISIX `apisix/ssl.lua`
 * `validate`), with APISIX's message prefixes and OpenSSL's details.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { errorMessage } from '../../errors.js';

/**
 * Whether a stored key is still PEM text. Keys are AES-encrypted (base64)
 * before storage when they start with `---` (spec/admin-api.md §6.9); the
 * loader sees ciphertext, which only the encryption layer can open.
 */
export function isPemText(value: string): boolean {
  return value.startsWith('---');
}

/**
 * `failed to parse cert: <detail>` / `failed to parse key: <detail>`, or
 * undefined. A key that is not PEM text is skipped when `allowEncryptedKey`.
 *
 * @example
 *   validateCertAndKey('junk', undefined); // 'failed to parse cert: error:0480006C:PEM routines::no start line'
 */
export function validateCertAndKey(cert: string, key: string | undefined, allowEncryptedKey = false): string | undefined {
  try {
    new X509Certificate(cert);
  } catch (err) {
    return `failed to parse cert: ${errorMessage(err)}`;
  }
  if (key === undefined || (allowEncryptedKey && !isPemText(key))) return undefined;
  try {
    createPrivateKey(key);
  } catch (err) {
    return `failed to parse key: ${errorMessage(err)}`;
  }
  return undefined;
}
