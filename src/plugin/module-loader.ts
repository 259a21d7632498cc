/**
 * Loading plugin modules from files: built-in folders and the folders of
 * `fngate.custom_plugin_dirs`, in JavaScript (ESM or CommonJS) or TypeScript,
 * and loading them again on `PUT /apisix/admin/plugins/reload`
 * (spec/plugins.md §1, §7; spec/admin-api.md §9.3).
 *
 * Only the loading lives here; the registry (./registry.ts) decides what is
 * installed and swaps the new set in.
 *
 * Reload reaches the plugin file itself, never what it imports: ESM modules
 * cannot be evicted from Node's cache, so a fresh load imports the file under
 * a new URL (`?v=<mtimeMs>-<n>`), and its relative imports still resolve to
 * their cached URLs. APISIX's reload is the same (it clears `package.loaded`
 * of the plugin module only). Every fresh load keeps the previous version
 * in memory: reloads are rare admin operations, not a per-request path.
 */
import { execFile } from 'node:child_process';
import { readdir, realpath, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { basename, extname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { errorMessage, FngateError } from '../errors.js';
import type { Logger } from '../log.js';
import { definePlugin, type PluginDefinition } from '../pdk/plugin.js';

/** File types a plugin may be written in. */
export const PLUGIN_FILE_EXTENSIONS: readonly string[] = ['.js', '.mjs', '.cjs', '.ts', '.mts', '.cts'];

const TYPESCRIPT_EXTENSIONS = new Set(['.ts', '.mts', '.cts']);
/** Files in a plugin folder that are not plugins. */
const NOT_A_PLUGIN = /^\.|\.test\.[^.]+$|\.d\.[cm]?ts$/;

export type PluginLoadErrorCode =
  /** The folder cannot be read. */
  | 'PLUGIN_DIR_UNREADABLE'
  /** Not one of PLUGIN_FILE_EXTENSIONS, or not a file. */
  | 'PLUGIN_FILE_UNSUPPORTED'
  /** Importing threw: missing file, syntax error, an exception at the module's top level. */
  | 'PLUGIN_IMPORT_FAILED'
  /** A `.ts` file but the tsx package is not installed. */
  | 'PLUGIN_TYPESCRIPT_UNAVAILABLE'
  /** The module exports no plugin definition. */
  | 'PLUGIN_EXPORT_MISSING'
  /** The exported definition has the wrong shape (definePlugin refused it). */
  | 'PLUGIN_DEFINITION_INVALID'
  /** Another file of the same folder already defines this plugin name. */
  | 'PLUGIN_NAME_DUPLICATE';

/** A plugin file (or folder) that could not be loaded; the message names it. */
export class PluginLoadError extends FngateError {
  constructor(
    readonly code: PluginLoadErrorCode,
    readonly file: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`${code === 'PLUGIN_DIR_UNREADABLE' ? 'cannot read plugin folder' : 'failed to load plugin file'} ${file}: ${detail}`, options);
  }
}

export interface LoadOptions {
  /**
   * Read the file as it is on disk now, even if this process imported an
   * earlier version. Without it, the version loaded last is returned (or the
   * file is imported if it never was).
   */
  readonly fresh: boolean;
}

/** Module URL last imported per file: what `fresh: false` returns again. */
const lastLoaded = new Map<string, string>();
/** Makes every fresh load a distinct URL, even when the mtime did not move (same-millisecond writes, `cp -p`). */
let loadCounter = 0;

/**
 * Import one plugin file and return its definition, checked with
 * `definePlugin`. The module's default export is the plugin; otherwise a
 * named export `plugin`; for CommonJS, `module.exports` (or its `default`
 * / `plugin` property, as transpiled ESM has).
 *
 * Rejects with a PluginLoadError that names the file.
 *
 * @example
 *   const plugin = await loadPluginFile('/etc/fngate/plugins/add-header.ts', { fresh: false });
 *   // after the file changed, on PUT /apisix/admin/plugins/reload:
 *   const updated = await loadPluginFile('/etc/fngate/plugins/add-header.ts', { fresh: true });
 */
export async function loadPluginFile(file: string, options: LoadOptions): Promise<PluginDefinition> {
  const path = resolve(file);
  const extension = extname(path);
  if (!PLUGIN_FILE_EXTENSIONS.includes(extension)) {
    throw new PluginLoadError('PLUGIN_FILE_UNSUPPORTED', path, `a plugin must be one of ${PLUGIN_FILE_EXTENSIONS.join(', ')}`);
  }
  const isTypeScript = TYPESCRIPT_EXTENSIONS.has(extension);
  const importer = isTypeScript ? await typescriptImporter(path) : nativeImport;

  let url = options.fresh ? undefined : lastLoaded.get(path);
  if (url === undefined) {
    const mtime = await modifiedTime(path);
    url = `${pathToFileURL(path).href}?v=${Math.trunc(mtime)}-${++loadCounter}`;
    // CommonJS modules are cached by file name, whatever the URL's query.
    if (!isTypeScript) await forgetCommonJs(path);
  }

  let namespace: Record<string, unknown>;
  try {
    namespace = await importer(url);
  } catch (err) {
    throw new PluginLoadError('PLUGIN_IMPORT_FAILED', path, await describeImportError(err, path), { cause: err });
  }
  const definition = validDefinition(exportedPlugin(namespace), path);
  lastLoaded.set(path, url);
  return definition;
}

/**
 * The plugin files of a folder, sorted by name, as absolute paths. Not
 * recursive: a plugin's helpers can live in a subfolder. Skips dotfiles,
 * `*.test.*` and `*.d.ts`; follows symbolic links (Kubernetes mounts
 * ConfigMap files as links).
 *
 * @example
 *   await listPluginFiles('/etc/fngate/plugins'); // ['/etc/fngate/plugins/add-header.ts']
 */
export async function listPluginFiles(dir: string): Promise<string[]> {
  const folder = resolve(dir);
  let entries;
  try {
    entries = await readdir(folder, { withFileTypes: true });
  } catch (err) {
    throw new PluginLoadError('PLUGIN_DIR_UNREADABLE', folder, errorMessage(err), { cause: err });
  }
  const files: string[] = [];
  for (const entry of entries) {
    if (NOT_A_PLUGIN.test(entry.name) || !PLUGIN_FILE_EXTENSIONS.includes(extname(entry.name))) continue;
    const path = join(folder, entry.name);
    if (entry.isFile() || (entry.isSymbolicLink() && (await isFile(path)))) files.push(path);
  }
  return files.sort();
}

export interface PluginFileFailure {
  readonly file: string;
  readonly message: string;
}

export interface PluginDirectoryResult {
  readonly plugins: PluginDefinition[];
  /** Files that failed to load; each was logged and skipped. */
  readonly errors: PluginFileFailure[];
}

/**
 * Load every plugin file of a folder. A file that fails to load is logged
 * (error) and reported, and the others still load: APISIX logs and skips a
 * plugin that fails to load (spec/plugins.md §7). An unreadable folder is
 * reported the same way, under the folder's path. A file whose name differs
 * from the plugin's `name` loads, with a warning.
 *
 * @example
 *   const { plugins, errors } = await loadPluginDirectory('/etc/fngate/plugins', { fresh: true, logger });
 */
export async function loadPluginDirectory(
  dir: string,
  options: LoadOptions & { readonly logger: Logger },
): Promise<PluginDirectoryResult> {
  const { logger } = options;
  const plugins: PluginDefinition[] = [];
  const errors: PluginFileFailure[] = [];
  const report = (err: unknown, file: string): void => {
    const message = errorMessage(err);
    logger.error({ file, code: err instanceof FngateError ? err.code : undefined }, message);
    errors.push({ file, message });
  };

  let files: string[];
  try {
    files = await listPluginFiles(dir);
  } catch (err) {
    report(err, resolve(dir));
    return { plugins, errors };
  }

  const fileOfName = new Map<string, string>();
  for (const file of files) {
    let plugin: PluginDefinition;
    try {
      plugin = await loadPluginFile(file, options);
    } catch (err) {
      report(err, file);
      continue;
    }
    const other = fileOfName.get(plugin.name);
    if (other !== undefined) {
      report(new PluginLoadError('PLUGIN_NAME_DUPLICATE', file, `plugin ${plugin.name} is already defined by ${other}`), file);
      continue;
    }
    const stem = basename(file, extname(file));
    if (stem !== plugin.name) {
      // APISIX finds a plugin by its file name; here the module says its name, so this only risks confusing people.
      logger.warn({ file, plugin: plugin.name }, `plugin file ${basename(file)} defines plugin ${plugin.name}: name the file ${plugin.name}${extname(file)}`);
    }
    fileOfName.set(plugin.name, file);
    plugins.push(plugin);
  }
  return { plugins, errors };
}

// ---------------------------------------------------------------------------

type ModuleImporter = (url: string) => Promise<Record<string, unknown>>;

const nativeImport: ModuleImporter = (url) => import(url) as Promise<Record<string, unknown>>;

/** tsx's namespaced importer, set up on the first TypeScript file. */
let typescriptImport: Promise<ModuleImporter> | undefined;

/**
 * Node 20 cannot strip types: TypeScript goes through tsx's namespaced
 * loader. Its hooks handle only imports made through this importer (and
 * what those modules import), so the rest of the process is untouched.
 * One namespace for the whole process: each registration adds a loader hook
 * that is never removed, so none is made per load (tsx's `tsImport` would).
 * Both the ESM and the CommonJS hooks are needed: a `.ts` file outside a
 * `"type": "module"` package is CommonJS and imports its helpers by require.
 * `tsconfig: false`: the gateway's working directory says nothing about a
 * plugin folder.
 */
async function typescriptImporter(file: string): Promise<ModuleImporter> {
  typescriptImport ??= (async () => {
    const [esm, cjs] = await Promise.all([import('tsx/esm/api'), import('tsx/cjs/api')]);
    cjs.register({ namespace: 'fngate-plugins' });
    const scoped = esm.register({ namespace: 'fngate-plugins', tsconfig: false });
    return (url: string) => scoped.import(url, import.meta.url) as Promise<Record<string, unknown>>;
  })();
  try {
    return await typescriptImport;
  } catch (err) {
    throw new PluginLoadError(
      'PLUGIN_TYPESCRIPT_UNAVAILABLE',
      file,
      `TypeScript plugins need the tsx package next to fngate (${errorMessage(err)}); install it or compile the plugin to JavaScript`,
      { cause: err },
    );
  }
}

async function modifiedTime(path: string): Promise<number> {
  try {
    return (await stat(path)).mtimeMs;
  } catch (err) {
    throw new PluginLoadError('PLUGIN_IMPORT_FAILED', path, errorMessage(err), { cause: err });
  }
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false; // a dangling link is not a plugin
  }
}

const requireFromHere = createRequire(import.meta.url);

/** Drop a CommonJS module from the require cache so the next import evaluates the file again. */
async function forgetCommonJs(path: string): Promise<void> {
  delete requireFromHere.cache[path];
  try {
    delete requireFromHere.cache[await realpath(path)];
  } catch {
    // missing file: the import reports it
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

/** The plugin a module exports, or undefined (see loadPluginFile for the rules). */
function exportedPlugin(namespace: Record<string, unknown>): unknown {
  const exported = namespace.default ?? namespace.plugin;
  // CommonJS: `default` is module.exports. Transpiled ESM (and `exports.plugin = …`)
  // put the plugin one level down; a definition itself always has a name.
  if (isObject(exported) && typeof exported.name !== 'string') return exported.default ?? exported.plugin ?? exported;
  return exported;
}

function validDefinition(exported: unknown, path: string): PluginDefinition {
  if (!isObject(exported)) {
    throw new PluginLoadError(
      'PLUGIN_EXPORT_MISSING',
      path,
      'the module exports no plugin definition: use `export default { name, priority, schema, ... }` '
        + '(or `export const plugin = ...`, or `module.exports = ...`)',
    );
  }
  try {
    return definePlugin(exported as unknown as PluginDefinition);
  } catch (err) {
    throw new PluginLoadError('PLUGIN_DEFINITION_INVALID', path, errorMessage(err), { cause: err });
  }
}

/**
 * One line that says what went wrong and where. Node 20 reports an ESM
 * syntax error without its position, so `node --check` is asked for it
 * (only on this failure path). esbuild's "Transform failed with 1 error:"
 * header is dropped: its next line carries file, line and column.
 */
async function describeImportError(err: unknown, path: string): Promise<string> {
  const message = errorMessage(err).replace(/^Transform failed with \d+ errors?:\n/, '').replace(/\n+/g, '; ');
  if (!(err instanceof SyntaxError)) return message;
  const location = sourceLocation(err.stack) ?? (await checkSyntaxLocation(path));
  return location === undefined ? `SyntaxError: ${message}` : `SyntaxError: ${message} (at ${location})`;
}

/** `file:line` from a stack that starts with it, as CommonJS syntax errors do. */
function sourceLocation(stack: string | undefined): string | undefined {
  const first = stack?.split('\n', 1)[0];
  return first !== undefined && /^(?:file:\/\/)?\/.*:\d+$/.test(first) ? first : undefined;
}

function checkSyntaxLocation(path: string): Promise<string | undefined> {
  return new Promise((done) => {
    execFile(process.execPath, ['--check', path], { timeout: 5_000 }, (_error, _stdout, stderr) => {
      done(sourceLocation(stderr));
    });
  });
}
