/**
 * The duplicate-credential rule of APISIX 3.18 (spec/admin-api.md §6.4): an
 * auth plugin's identifying field may not hold a value another consumer or
 * credential already uses, or authentication would be ambiguous.
 * Best effort, like APISIX: it reads the current view and is skipped when
 * the context has no `list`.
 */
import type { JsonObject } from '../types.js';
import { parseCredentialId } from '../keys.js';
import type { Needs, ReferenceView } from './references.js';

/** Plugin → the field that identifies the consumer. */
const IDENTIFYING_FIELDS: ReadonlyMap<string, string> = new Map([
  ['key-auth', 'key'],
  ['basic-auth', 'username'],
  ['jwt-auth', 'key'],
  ['hmac-auth', 'key_id'],
  ['ldap-auth', 'user_dn'],
  ['ldap-auth-advanced', 'user_dn'],
]);

/** Secret references are resolved at request time; their text says nothing about the value. */
function isSecretReference(value: string): boolean {
  return value.startsWith('$secret://') || value.startsWith('$env://') || value.startsWith('$ENV://');
}

function identifyingValue(plugins: unknown, plugin: string, field: string): string | undefined {
  if (typeof plugins !== 'object' || plugins === null) return undefined;
  const conf = (plugins as JsonObject)[plugin];
  if (typeof conf !== 'object' || conf === null) return undefined;
  const value = (conf as JsonObject)[field];
  return typeof value === 'string' && !isSecretReference(value) ? value : undefined;
}

function identifyingValues(plugins: unknown): Array<[plugin: string, field: string, value: string]> {
  const wanted: Array<[string, string, string]> = [];
  if (typeof plugins !== 'object' || plugins === null) return wanted;
  for (const plugin of Object.keys(plugins)) {
    const field = IDENTIFYING_FIELDS.get(plugin);
    const value = field === undefined ? undefined : identifyingValue(plugins, plugin, field);
    if (field !== undefined && value !== undefined) wanted.push([plugin, field, value]);
  }
  return wanted;
}

/** The rule reads all consumers and credentials, only when `plugins` carries an identifying value. */
export function authKeyNeeds(plugins: unknown): Needs {
  return identifyingValues(plugins).length > 0 ? { lists: ['consumers'] } : {};
}

/**
 * The error for `plugins` (of the consumer or credential `selfId`) reusing
 * another consumer's or credential's key, or undefined.
 *
 * @example
 *   duplicateAuthKey({ 'key-auth': { key: 'k' } }, 'alice', refs);
 *   // 'duplicate key of plugin key-auth found with consumer: bob'
 */
export function duplicateAuthKey(plugins: unknown, selfId: string | undefined, refs: ReferenceView): string | undefined {
  const stored = refs.list('consumers');
  if (!stored) return undefined;
  for (const [plugin, field, value] of identifyingValues(plugins)) {
    for (const entry of stored) {
      if (entry.id === selfId || identifyingValue(entry.value.plugins, plugin, field) !== value) continue;
      const credential = parseCredentialId(entry.id);
      return credential
        ? `duplicate key of plugin ${plugin} found with credential: ${credential.id} of consumer: ${credential.username}`
        : `duplicate key of plugin ${plugin} found with consumer: ${entry.id}`;
    }
  }
  return undefined;
}
