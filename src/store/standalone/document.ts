/**
 * Turns the standalone file (spec/config.md §6.1) into the etcd-style keys
 * the rest of fngate reads (§5.1), so the loader and the watch path are the
 * same as with etcd:
 *
 *   routes: [{id: 1, ...}]          -> <prefix>/routes/1
 *   consumers: [{username: jack}]   -> <prefix>/consumers/jack
 *   consumers: [{id: jack/credentials/c1, ...}] -> <prefix>/consumers/jack/credentials/c1
 *   upstreams: [{...no id...}]      -> <prefix>/upstreams/arr_1   (1-based position)
 *   plugins: [{name: key-auth}]     -> <prefix>/plugins           (one key, JSON array)
 *
 * Values are the items' compact JSON, unvalidated: checking items is the
 * loader's job, as it is for values read from etcd.
 */
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { errorMessage } from '../../errors.js';
import { resolveEnvVarsInDocument, substituteEnvVars, type Env } from './env-vars.js';
import { StandaloneConfigError } from './errors.js';

export type StandaloneFormat = 'yaml' | 'json';

/** Top-level lists that map to one key per item. */
export const RESOURCE_DIRECTORIES = [
  'routes',
  'services',
  'upstreams',
  'consumers',
  'consumer_groups',
  'plugin_configs',
  'global_rules',
  'plugin_metadata',
  'ssls',
  'protos',
  'stream_routes',
  'secrets',
] as const;

const KNOWN_TOP_LEVEL = new Set<string>([...RESOURCE_DIRECTORIES, 'plugins']);

/** YAML must end with this flag so a half-written file is never loaded (APISIX checks the last 10 bytes). */
const END_FLAG = /#END\s*$/;
const END_FLAG_WINDOW_BYTES = 10;

export interface ParseOptions {
  readonly format: StandaloneFormat;
  /** Key prefix, e.g. `/apisix`. */
  readonly prefix: string;
  readonly env: Env;
  /** Reports a problem that does not reject the file (a duplicate id). */
  readonly onWarning: (message: string, details: Record<string, unknown>) => void;
}

/**
 * Parses the file content into key → value pairs.
 *
 * @example
 *   parseStandaloneConfig(Buffer.from('routes:\n  - id: 1\n    uri: /a\n#END\n'), { format: 'yaml', prefix: '/apisix', env: process.env, onWarning })
 *   // Map { '/apisix/routes/1' => '{"id":1,"uri":"/a"}' }
 * @throws StandaloneConfigError when the file must not be used.
 */
export function parseStandaloneConfig(content: Buffer, options: ParseOptions): Map<string, string> {
  const document = options.format === 'yaml' ? parseYamlDocument(content, options.env) : parseJsonDocument(content, options.env);
  if (document === null || document === undefined) return new Map();
  if (!isPlainObject(document)) throw new StandaloneConfigError('the document must be a mapping of resource lists');
  return toEntries(document, options);
}

function parseYamlDocument(content: Buffer, env: Env): unknown {
  const tail = content.subarray(Math.max(0, content.length - END_FLAG_WINDOW_BYTES)).toString('latin1');
  if (!END_FLAG.test(tail)) throw new StandaloneConfigError('missing valid end flag');
  const { text } = substituteEnvVars(content.toString('utf8'), env);
  try {
    return parseYaml(text, { merge: true });
  } catch (err) {
    if (err instanceof YAMLParseError) throw new StandaloneConfigError(`invalid YAML: ${err.message}`, { cause: err });
    throw err;
  }
}

function parseJsonDocument(content: Buffer, env: Env): unknown {
  let document: unknown;
  try {
    document = JSON.parse(content.toString('utf8'));
  } catch (err) {
    throw new StandaloneConfigError(`invalid JSON: ${errorMessage(err)}`, { cause: err });
  }
  return resolveEnvVarsInDocument(document, env);
}

function toEntries(document: Record<string, unknown>, options: ParseOptions): Map<string, string> {
  const entries = new Map<string, string>();
  for (const directory of RESOURCE_DIRECTORIES) {
    const items = listOf(document[directory], directory);
    items.forEach((item, index) => {
      const id = itemId(item, index);
      const key = `${options.prefix}/${directory}/${id}`;
      if (entries.has(key)) {
        options.onWarning('duplicate id in the standalone config; keeping the first item', { directory, id, position: index + 1 });
        return;
      }
      entries.set(key, JSON.stringify(item));
    });
  }
  for (const key of Object.keys(document)) {
    if (!KNOWN_TOP_LEVEL.has(key) && !key.endsWith('_conf_version')) {
      options.onWarning('unknown top-level key in the standalone config is ignored', { key });
    }
  }
  const plugins = document.plugins;
  if (plugins !== undefined && plugins !== null) {
    if (!Array.isArray(plugins) && !isEmptyObject(plugins)) throw new StandaloneConfigError('plugins must be a list');
    entries.set(`${options.prefix}/plugins`, JSON.stringify(Array.isArray(plugins) ? plugins : []));
  }
  return entries;
}

/** A missing list or `{}` (an empty table in APISIX's Lua) is empty; anything else must be a list. */
function listOf(value: unknown, directory: string): readonly unknown[] {
  if (value === undefined || value === null || isEmptyObject(value)) return [];
  if (!Array.isArray(value)) throw new StandaloneConfigError(`${directory} must be a list`);
  return value;
}

/** `id`, else `username` (consumers), else `arr_<1-based position>`. */
function itemId(item: unknown, index: number): string {
  if (isPlainObject(item)) {
    const { id, username } = item;
    if ((typeof id === 'string' && id !== '') || (typeof id === 'number' && Number.isFinite(id))) return String(id);
    if (typeof username === 'string' && username !== '') return username;
  }
  return `arr_${index + 1}`;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isEmptyObject(value: unknown): boolean {
  return isPlainObject(value) && Object.keys(value).length === 0;
}
