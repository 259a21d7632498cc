/**
 * A real Admin API on 127.0.0.1:0 over a real store, and a small client.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { createAdminHandler, initStoreDirectories, type AdminDeps } from '../../src/admin/server.js';
import { stringify as stringifyYaml } from 'yaml';
import { parseConfig } from '../../src/config/load.js';
import type { AdminKey, FngateConfig } from '../../src/config/types.js';
import { silentLogger } from '../../src/log.js';
import { noPlugins, type PluginCatalog } from '../../src/plugin/catalog.js';
import { MemoryStore } from '../../src/store/memory.js';
import type { ConfigStore } from '../../src/store/types.js';

export const ADMIN_KEY = 'admin-key-0123456789abcdefghijkl';
export const VIEWER_KEY = 'viewer-key-0123456789abcdefghijk';
export const PREFIX = '/apisix';

export interface AdminOptions {
  readonly adminKeys?: readonly AdminKey[];
  readonly allowAdmin?: readonly string[] | null;
  readonly cors?: boolean;
  readonly serverTokens?: boolean;
  readonly store?: ConfigStore;
  /** Skip creating the `init_dir` markers. */
  readonly bare?: boolean;
  readonly deps?: Partial<AdminDeps>;
}

/** A config.yaml as a user would write it, loaded by the real config loader. */
export function testConfig(options: AdminOptions = {}): FngateConfig {
  const doc = {
    apisix: { enable_server_tokens: options.serverTokens ?? true },
    deployment: {
      admin: {
        admin_key: options.adminKeys ?? [
          { name: 'admin', key: ADMIN_KEY, role: 'admin' },
          { name: 'viewer', key: VIEWER_KEY, role: 'viewer' },
        ],
        allow_admin: options.allowAdmin === undefined ? ['127.0.0.0/24'] : options.allowAdmin,
        enable_admin_cors: options.cors ?? true,
      },
    },
  };
  return parseConfig(stringifyYaml(doc), { env: {} }).config;
}

export interface Reply {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
  /** Parsed body (undefined when empty or not JSON). */
  readonly json: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- assertions read arbitrary shapes
}

export interface CallOptions {
  readonly body?: unknown;
  /** Sent verbatim instead of JSON-encoding `body`. */
  readonly raw?: string | Buffer;
  /** Default: the admin key in X-API-KEY; `null` sends no key. */
  readonly key?: string | null;
  readonly headers?: Record<string, string>;
}

export interface AdminUnderTest {
  readonly url: string;
  readonly store: ConfigStore;
  call(method: string, path: string, options?: CallOptions): Promise<Reply>;
  close(): Promise<void>;
}

export async function startAdmin(options: AdminOptions = {}): Promise<AdminUnderTest> {
  const store = options.store ?? new MemoryStore();
  if (!options.bare) await initStoreDirectories(store, PREFIX);
  const handler = createAdminHandler({
    store,
    config: testConfig(options),
    prefix: PREFIX,
    plugins: noPlugins,
    logger: silentLogger,
    version: '9.9.9',
    ...options.deps,
  });
  const server: Server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;

  return {
    url,
    store,
    async call(method, path, call = {}) {
      const headers: Record<string, string> = { ...call.headers };
      const key = call.key === undefined ? ADMIN_KEY : call.key;
      if (key !== null) headers['x-api-key'] = key;
      let body: string | Buffer | undefined = call.raw;
      if (body === undefined && call.body !== undefined) body = JSON.stringify(call.body);
      const res = await request(url + path, { method: method as 'GET', headers, body });
      const text = await res.body.text();
      let json: unknown;
      try {
        json = text === '' ? undefined : JSON.parse(text);
      } catch {
        json = undefined;
      }
      return { status: res.statusCode, headers: res.headers, text, json };
    },
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      if (!options.store) await store.close();
    },
  };
}

/** A route body that passes every check without plugins. */
export function routeBody(uri = '/hello'): Record<string, unknown> {
  return { uri, upstream: { type: 'roundrobin', nodes: { '127.0.0.1:1980': 1 } } };
}

/** Every key in the store (for "nothing was written" assertions). */
export async function storeSnapshot(store: ConfigStore): Promise<Map<string, string>> {
  const { kvs } = await store.range('');
  return new Map(kvs.map((kv) => [kv.key, kv.value]));
}

/**
 * A plugin catalog with a handful of names, until the plugin registry
 * exists: `key-auth` is an auth plugin, `http-logger` exists but is not
 * installed (plugin_metadata accepts it), every other name is unknown.
 */
export const testPlugins: PluginCatalog = {
  has: (name) => INSTALLED.has(name),
  checkPlugins(plugins) {
    for (const name of Object.keys(plugins)) if (!INSTALLED.has(name)) return `unknown plugin [${name}]`;
    return undefined;
  },
  isAuth: (name) => name === 'key-auth',
  exists: (name) => INSTALLED.has(name) || name === 'http-logger',
  encryptFields: () => [],
  checkMetadata: (_name, value) => (typeof value.log_format === 'number' ? 'invalid configuration: property "log_format" validation failed: wrong type: expected object, got number' : undefined),
};

const INSTALLED = new Set(['key-auth', 'limit-count', 'traffic-split', 'prometheus']);
