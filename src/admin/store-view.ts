/**
 * The Admin API's reads of the config store: etcd keys under the configured
 * prefix (spec/config.md §5.1), JSON values, `init_dir` markers told apart
 * from objects, and decrypted views for checks.
 */
import type { Logger } from '../log.js';
import { INIT_DIR_VALUE, directoryKey, resourceKey } from '../resources/keys.js';
import type { JsonObject, ResourceName } from '../resources/types.js';
import type { ConfigStore, KeyValue } from '../store/types.js';
import { isPlainObject } from './json.js';
import type { StoredValueTransform } from './transform.js';

/** A stored object with its id (the key suffix below its directory). */
export interface StoredObject {
  readonly id: string;
  readonly kv: KeyValue;
  readonly value: JsonObject;
}

/**
 * @example
 *   const view = new AdminStoreView(store, '/apisix', identityTransform, logger);
 *   view.objectKey('routes', '1');                 // '/apisix/routes/1'
 *   await view.lookup('upstreams', '1');           // the stored upstream, or undefined
 */
export class AdminStoreView {
  constructor(
    readonly store: ConfigStore,
    readonly prefix: string,
    private readonly transform: StoredValueTransform,
    private readonly logger: Logger,
  ) {}

  /** `<prefix>/<dir>/` — also the key of the directory's marker. */
  dirKey(dir: string): string {
    return directoryKey(this.prefix, dir);
  }

  /** Key of one object: `<prefix>/<dir>/<id>`. */
  objectKey(dir: string, id: string): string {
    return this.dirKey(dir) + id;
  }

  /** Common prefix of a consumer's credentials: `<prefix>/consumers/<username>/credentials/`. */
  credentialsDirKey(username: string): string {
    return `${this.objectKey('consumers', username)}/credentials/`;
  }

  /** Key of a consumer's credential: `<prefix>/consumers/<username>/credentials/<id>`. */
  credentialKey(username: string, id: string): string {
    return resourceKey(this.prefix, 'credentials', `${username}/credentials/${id}`);
  }

  /** Decode a stored value; undefined (logged) when it is not a JSON object. */
  decode(kv: KeyValue): JsonObject | undefined {
    if (kv.value === INIT_DIR_VALUE) return undefined;
    try {
      const value: unknown = JSON.parse(kv.value);
      if (isPlainObject(value)) return value;
    } catch {
      // fall through
    }
    this.logger.warn({ key: kv.key }, 'stored value is not a JSON object; ignored');
    return undefined;
  }

  /**
   * Objects of a directory in key order (marker excluded), each as the
   * Admin API shows it (decrypted). Under `consumers` this includes the
   * credentials, with ids `<username>/credentials/<id>` as the gateway names them.
   */
  async list(dir: string): Promise<StoredObject[]> {
    const base = this.dirKey(dir);
    const { kvs } = await this.store.range(base);
    const out: StoredObject[] = [];
    for (const kv of kvs) {
      if (kv.key === base) continue;
      const value = this.decode(kv);
      if (value === undefined) continue;
      const id = kv.key.slice(base.length);
      out.push({ id, kv, value: this.transform.forRead(resourceOfKey(dir, id), value) });
    }
    return out;
  }

  /** One object (decrypted), or undefined when absent or not an object. */
  async lookup(dir: string, id: string): Promise<JsonObject | undefined> {
    const kv = await this.store.get(this.objectKey(dir, id));
    const value = kv && this.decode(kv);
    return value && this.transform.forRead(resourceOfKey(dir, id), value);
  }
}

/** Which resource a key below `dir` holds: consumers' sub-keys are credentials. */
function resourceOfKey(dir: string, id: string): ResourceName {
  return dir === 'consumers' && id.includes('/credentials/') ? 'credentials' : (dir as ResourceName);
}
