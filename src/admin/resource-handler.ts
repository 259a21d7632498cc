/**
 * The generic resource handler (spec/admin-api.md §3–§8): GET (one or a
 * collection), PUT, POST, PATCH and DELETE for every kind in the resource
 * registry, over the config store.
 *
 * Write path, in APISIX's order: `missing configurations` → id rules →
 * forbidden timestamps (not PATCH) → the kind's checker on a deep copy →
 * timestamps → storage transform → compare-and-swap write. Only the body as
 * sent (plus id and timestamps) is stored: schema defaults never are (§5.4).
 *
 * Every write that replaces a value is a compare-and-swap on the
 * `modRevision` read before it (PUT and PATCH; creations require absence),
 * so two administrators racing never silently lose an update: the loser
 * gets `503 value changed before overwritten` and can retry.
 */
import type { Logger } from '../log.js';
import type { PluginCatalog } from '../plugin/catalog.js';
import { validateSchemaOnly } from '../resources/registry.js';
import type { CheckContext, JsonObject, ResourceKind, ResourceName } from '../resources/types.js';
import { StoreReadOnlyError } from '../store/types.js';
import {
  AdminNotFoundError,
  InvalidResourceError,
  KeyNotFoundError,
  MethodNotSupportedError,
  READ_ONLY_MESSAGE,
  ResourceInUseError,
} from './errors.js';
import { applyListQuery, parseListQuery, type ListItem, type QueryArgs } from './list-query.js';
import { isPlainObject } from './json.js';
import { mergePatch, patchSubPath } from './patch.js';
import type { AdminTarget } from './path.js';
import { findReferrer } from './references.js';
import type { AdminReply } from './reply.js';
import type { AdminStoreView } from './store-view.js';
import type { StoredValueTransform } from './transform.js';
import { forbiddenTimestamp, formatGeneratedId, notAnObjectMessage, withIdFirst } from './write-rules.js';

export type ResourceMethod = 'GET' | 'PUT' | 'POST' | 'PATCH' | 'DELETE';

export interface ResourceRequest {
  readonly method: ResourceMethod;
  readonly kind: ResourceKind;
  readonly target: AdminTarget;
  /** Parsed JSON body; undefined when the request had none. */
  readonly body: unknown;
  readonly args: QueryArgs;
  /** Seconds of the lease to attach (`?ttl=`), already validated. */
  readonly ttl: number | undefined;
}

export interface ResourceHandlerOptions {
  readonly view: AdminStoreView;
  readonly plugins: PluginCatalog;
  readonly transform: StoredValueTransform;
  readonly logger: Logger;
  /** Unix seconds for create_time / update_time. */
  readonly now: () => number;
}

/** Fields GET never returns for SSL objects (spec §4.3, §6.9). */
const SSL_SECRET_FIELDS = ['key', 'keys'];

/**
 * @example
 *   const handler = new ResourceHandler({ view, plugins, transform, logger, now: unixSeconds });
 *   const reply = await handler.handle({ method: 'GET', kind, target, body: undefined, args, ttl: undefined });
 */
export class ResourceHandler {
  readonly #view: AdminStoreView;
  readonly #plugins: PluginCatalog;
  readonly #transform: StoredValueTransform;
  readonly #logger: Logger;
  readonly #now: () => number;
  readonly #lookup: NonNullable<CheckContext['lookup']>;
  readonly #list: NonNullable<CheckContext['list']>;

  constructor(options: ResourceHandlerOptions) {
    this.#view = options.view;
    this.#plugins = options.plugins;
    this.#transform = options.transform;
    this.#logger = options.logger;
    this.#now = options.now;
    this.#lookup = (dir, id) => this.#view.lookup(dir, id);
    this.#list = async (dir) => (await this.#view.list(dir)).map(({ id, value }) => ({ id, value }));
  }

  handle(req: ResourceRequest): Promise<AdminReply> {
    switch (req.method) {
      case 'GET':
        return req.target.id === undefined ? this.#getList(req) : this.#getOne(req);
      case 'PUT':
        return this.#put(req);
      case 'POST':
        return this.#post(req);
      case 'PATCH':
        return this.#patch(req);
      case 'DELETE':
        return this.#delete(req);
    }
  }

  async #getOne({ kind, target }: ResourceRequest): Promise<AdminReply> {
    const key = this.#key(kind, target, target.id as string);
    const kv = await this.#view.store.get(key);
    if (kv === undefined) throw new KeyNotFoundError();
    const stored = this.#view.decode(kv);
    const value = stored === undefined ? kv.value : this.#readView(kind.name, stored);
    return { status: 200, body: { key, value, createdIndex: kv.createRevision, modifiedIndex: kv.modRevision } };
  }

  async #getList({ kind, target, args }: ResourceRequest): Promise<AdminReply> {
    const query = parseListQuery(args, kind.name, this.#logger);
    const base = kind.name === 'credentials'
      ? this.#view.credentialsDirKey(target.username as string)
      : this.#view.dirKey(kind.name);
    const { kvs } = await this.#view.store.range(base);
    // Neither objects nor the `init_dir` marker: APISIX's etcd read is a 404.
    if (kvs.length === 0) throw new KeyNotFoundError();
    const items: ListItem[] = [];
    for (const kv of kvs) {
      if (kv.key === base) continue;
      // A consumer's credentials live below it; GET /consumers shows consumers only.
      if (kind.name === 'consumers' && kv.key.indexOf('/', base.length) !== -1) continue;
      const stored = this.#view.decode(kv);
      if (stored === undefined) continue;
      items.push({ key: kv.key, value: this.#readView(kind.name, stored), createdIndex: kv.createRevision, modifiedIndex: kv.modRevision });
    }
    return { status: 200, body: applyListQuery(items, query) };
  }

  async #put(req: ResourceRequest): Promise<AdminReply> {
    const { kind, target, body } = req;
    this.#assertWritable();
    if (body === undefined || body === null) throw new InvalidResourceError('missing configurations');
    const object = isPlainObject(body) ? body : undefined;
    const bodyId = object?.id;

    let value: JsonObject;
    let keyId: string;
    switch (identityOf(kind)) {
      case 'id': {
        // PUT /res/{id}: the URL wins and is stored as a string; PUT /res: the
        // body's id is used with its JSON type (spec §5.2).
        const id = target.id ?? bodyId;
        if (id === undefined || id === null) throw new InvalidResourceError(`missing ${kind.kind} id`);
        if (target.id !== undefined && bodyId !== undefined && String(bodyId) !== target.id) {
          throw new InvalidResourceError(`wrong ${kind.kind} id`);
        }
        if (object === undefined) throw this.#notAnObject(kind, body);
        value = withIdFirst(id, object);
        keyId = String(id);
        break;
      }
      case 'credential': {
        if (target.id === undefined) throw new InvalidResourceError(`missing ${kind.kind} id`);
        if (bodyId !== undefined && String(bodyId) !== target.id) throw new InvalidResourceError(`wrong ${kind.kind} id`);
        if (object === undefined) throw this.#notAnObject(kind, body);
        value = withIdFirst(target.id, object);
        keyId = target.id;
        break;
      }
      case 'username': {
        if (object === undefined) throw this.#notAnObject(kind, body);
        if (target.id !== undefined && object.username !== target.id) {
          // APISIX validates the schema before comparing names, so a body
          // without a valid username reports the schema error first.
          const schemaError = validateSchemaOnly(kind.name, object);
          throw new InvalidResourceError(schemaError === undefined ? 'wrong username' : `invalid configuration: ${schemaError}`);
        }
        value = object;
        keyId = String(object.username);
        break;
      }
      case 'plugin': {
        if (target.id === undefined) throw new InvalidResourceError('missing plugin name');
        if (object === undefined) throw this.#notAnObject(kind, body);
        value = object;
        keyId = target.id;
        break;
      }
    }

    const forbidden = forbiddenTimestamp(value);
    if (forbidden !== undefined) throw new InvalidResourceError(forbidden);
    await this.#check(kind, value, selfIdOf(kind, target, keyId));

    if (kind.name === 'credentials') {
      const consumer = await this.#view.store.get(this.#view.objectKey('consumers', target.username as string));
      if (consumer === undefined) throw new AdminNotFoundError('consumer not found');
    }

    const key = this.#key(kind, target, keyId);
    const prev = await this.#view.store.get(key);
    if (kind.timestamps) {
      // §5.3: a replaced object keeps the create_time it was stored with.
      const prevCreate = prev && this.#view.decode(prev)?.create_time;
      const now = this.#now();
      value.create_time = truthy(prevCreate) ? prevCreate : now;
      value.update_time = now;
    }
    if (kind.name === 'plugin_metadata') value = withIdFirst(keyId, value);

    const stored = await this.#write(kind.name, key, value, prev?.modRevision ?? 0, req.ttl);
    return { status: prev === undefined ? 201 : 200, body: { key, value: stored } };
  }

  async #post(req: ResourceRequest): Promise<AdminReply> {
    const { kind, target, body } = req;
    if (!kind.allowPost) throw new MethodNotSupportedError(`not supported \`POST\` method for ${kind.kind}`);
    this.#assertWritable();
    if (body === undefined || body === null) throw new InvalidResourceError('missing configurations');
    const object = isPlainObject(body) ? body : undefined;
    if (target.id !== undefined || object?.id !== undefined) {
      throw new InvalidResourceError(`wrong ${kind.kind} id, do not need it`);
    }
    if (object === undefined) throw this.#notAnObject(kind, body);
    const forbidden = forbiddenTimestamp(object);
    if (forbidden !== undefined) throw new InvalidResourceError(forbidden);
    await this.#check(kind, object, undefined);

    const id = await this.#generateId();
    const now = this.#now();
    const value = withIdFirst(id, { ...object, create_time: now, update_time: now });
    const key = this.#view.objectKey(kind.name, id);
    const stored = await this.#write(kind.name, key, value, 0, req.ttl);
    return { status: 201, body: { key, value: stored } };
  }

  async #patch(req: ResourceRequest): Promise<AdminReply> {
    const { kind, target, body } = req;
    if (!kind.allowPatch) throw new MethodNotSupportedError(`not supported \`PATCH\` method for ${kind.kind}`);
    this.#assertWritable();
    if (target.id === undefined) throw new InvalidResourceError(`missing ${kind.kind} id`);
    if (body === undefined) throw new InvalidResourceError('missing new configuration');
    const subPath = target.subPath;
    if (subPath === '' && !isPlainObject(body)) throw new InvalidResourceError('invalid configuration');

    const key = this.#key(kind, target, target.id);
    const kv = await this.#view.store.get(key);
    const stored = kv && this.#view.decode(kv);
    if (kv === undefined || stored === undefined) throw new KeyNotFoundError();
    // Merge into the decrypted value so encrypted fields are not encrypted twice (§7).
    const current = this.#transform.forRead(kind.name, stored);
    const merged = subPath === '' ? mergePatch(current, body as JsonObject) : patchSubPath(current, subPath, body);

    if (kind.timestamps) {
      // §5.3: a whole-object patch may set timestamps; a sub-path patch always refreshes update_time.
      const now = this.#now();
      if (!truthy(merged.create_time)) merged.create_time = now;
      if (subPath !== '' || !truthy(merged.update_time) || (body as JsonObject).update_time === undefined) {
        merged.update_time = now;
      }
    }
    if (merged.id !== undefined && String(merged.id) !== target.id) throw new InvalidResourceError(`wrong ${kind.kind} id`);
    merged.id = target.id;
    await this.#check(kind, merged, selfIdOf(kind, target, target.id));

    const written = await this.#write(kind.name, key, merged, kv.modRevision, req.ttl);
    return { status: 200, body: { key, value: written } };
  }

  async #delete(req: ResourceRequest): Promise<AdminReply> {
    const { kind, target, args } = req;
    this.#assertWritable();
    if (target.id === undefined) throw new InvalidResourceError(`missing ${kind.kind} id`);
    // Exactly `true`; any other value keeps the protection (spec §3.1).
    if (args.get('force')?.[0] !== 'true') {
      const referrer = await findReferrer(this.#view, kind.name, target.id);
      if (referrer !== undefined) throw new ResourceInUseError(referrer);
    }
    const key = this.#key(kind, target, target.id);
    if (kind.name === 'consumers') await this.#deleteCredentials(target.id);
    const { prev } = await this.#view.store.delete(key);
    if (prev === undefined) throw new KeyNotFoundError();
    return { status: 200, body: { deleted: '1', key } };
  }

  /** A consumer's credentials go with it (they are keys below the consumer's). */
  async #deleteCredentials(username: string): Promise<void> {
    const { kvs } = await this.#view.store.range(this.#view.credentialsDirKey(username));
    for (const kv of kvs) await this.#view.store.delete(kv.key);
  }

  async #check(kind: ResourceKind, value: JsonObject, selfId: string | undefined): Promise<void> {
    // Without `fillDefaults` a checker validates a copy (resources/types.ts),
    // so the body is stored exactly as sent (§5.4).
    const ctx: CheckContext = { plugins: this.#plugins, fillDefaults: false, lookup: this.#lookup, list: this.#list, selfId };
    const error = await kind.check(value, ctx);
    if (error !== undefined) throw new InvalidResourceError(error);
  }

  async #write(resource: ResourceName, key: string, value: JsonObject, ifModRevision: number, ttl: number | undefined): Promise<JsonObject> {
    const stored = this.#transform.forStorage(resource, value);
    await this.#view.store.put(key, JSON.stringify(stored), ttl === undefined ? { ifModRevision } : { ifModRevision, ttlSeconds: ttl });
    this.#logger.info({ key }, 'admin: resource written');
    return stored;
  }

  /** Rewrites `<prefix>/gen_id` and takes the revision of that write. */
  async #generateId(): Promise<string> {
    const { revision } = await this.#view.store.put(`${this.#view.prefix}/gen_id`, '1');
    return formatGeneratedId(revision);
  }

  #key(kind: ResourceKind, target: AdminTarget, id: string): string {
    return kind.name === 'credentials'
      ? this.#view.credentialKey(target.username as string, id)
      : this.#view.objectKey(kind.name, id);
  }

  #readView(resource: ResourceName, stored: JsonObject): JsonObject {
    const value = this.#transform.forRead(resource, stored);
    if (resource !== 'ssls') return value;
    const visible = { ...value };
    for (const field of SSL_SECRET_FIELDS) delete visible[field];
    return visible;
  }

  #assertWritable(): void {
    if (this.#view.store.readOnly) throw new StoreReadOnlyError(READ_ONLY_MESSAGE);
  }

  /** A JSON body that is not an object: report the schema's type error as the checker would. */
  #notAnObject(kind: ResourceKind, body: unknown): InvalidResourceError {
    return new InvalidResourceError(notAnObjectMessage(kind.name, body));
  }
}

/** Where a kind's identity comes from on PUT (spec §5.2). */
function identityOf(kind: ResourceKind): 'id' | 'username' | 'credential' | 'plugin' {
  if (kind.idProperty === 'username') return 'username';
  if (kind.name === 'credentials') return 'credential';
  if (kind.name === 'plugin_metadata') return 'plugin';
  return 'id';
}

/** The id checkers use to exclude the object itself; credentials are named as the gateway names them. */
function selfIdOf(kind: ResourceKind, target: AdminTarget, id: string): string {
  return kind.name === 'credentials' ? `${target.username as string}/credentials/${id}` : id;
}

/** Lua truthiness of a JSON value (only absent, null and false are false). */
function truthy(value: unknown): boolean {
  return value !== undefined && value !== null && value !== false;
}
