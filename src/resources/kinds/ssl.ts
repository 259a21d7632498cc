/** `/ssls` (spec/admin-api.md §6.9). */
import { validateCertAndKey } from '../checks/tls.js';
import { sslSchema } from '../schema/ssl.js';
import type { JsonObject } from '../types.js';
import { compileValidator } from '../validator.js';
import { defineKind, isObject, type CheckEnv } from './define.js';

const validateSsl = compileValidator(sslSchema);

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

function checkSsl(conf: JsonObject, env: CheckEnv): string | undefined {
  const schemaError = validateSsl(conf);
  if (schemaError !== undefined) return `invalid configuration: ${schemaError}`;
  // At load, keys are stored ciphertext; only keys still in PEM form can be parsed.
  const lenient = env.fillDefaults;
  const pairError = validateCertAndKey(String(conf.cert), String(conf.key), lenient);
  if (pairError !== undefined) return pairError;
  if (conf.type === 'client') return undefined;

  const certs = strings(conf.certs);
  const keys = strings(conf.keys);
  if (certs.length !== keys.length) return 'mismatched number of certs and keys';
  for (let i = 0; i < certs.length; i++) {
    const err = validateCertAndKey(certs[i] as string, keys[i], lenient);
    if (err !== undefined) return `failed to handle cert-key pair[${i + 1}]: ${err}`;
  }
  if (isObject(conf.client) && typeof conf.client.ca === 'string') {
    const err = validateCertAndKey(conf.client.ca, undefined);
    if (err !== undefined) return `failed to validate client_cert: ${err}`;
  }
  return undefined;
}

export const sslKind = defineKind({
  name: 'ssls',
  kind: 'ssl',
  schemaName: 'ssl',
  schema: sslSchema,
  idProperty: 'id',
  allowPost: true,
  allowPatch: true,
  timestamps: true,
  run: checkSsl,
});
