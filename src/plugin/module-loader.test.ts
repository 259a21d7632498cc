import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listPluginFiles, loadPluginFile, PluginLoadError, type PluginLoadErrorCode } from './module-loader.js';

let root: string;
let folders = 0;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'fngate-module-loader-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A new folder with the given files; `type` writes a package.json saying how `.js`/`.ts` files are read. */
async function folder(files: Record<string, string>, type?: 'module' | 'commonjs'): Promise<string> {
  const dir = join(root, `f${++folders}`);
  await mkdir(dir);
  if (type !== undefined) await writeFile(join(dir, 'package.json'), JSON.stringify({ type }));
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  return dir;
}

const BODY = `{ name: 'demo', priority: 7, schema: { type: 'object' }, access: () => 418 }`;

describe('loadPluginFile: where the plugin is exported', () => {
  const cases: Array<{ title: string; file: string; text: string; type?: 'module' | 'commonjs' }> = [
    { title: 'ESM default export', file: 'demo.mjs', text: `export default ${BODY};` },
    { title: 'ESM named export `plugin`', file: 'demo.mjs', text: `export const plugin = ${BODY};` },
    { title: 'ESM .js in a "type": "module" package', file: 'demo.js', text: `export default ${BODY};`, type: 'module' },
    { title: 'CommonJS module.exports', file: 'demo.cjs', text: `module.exports = ${BODY};` },
    { title: 'CommonJS .js in a "type": "commonjs" package', file: 'demo.js', text: `module.exports = ${BODY};`, type: 'commonjs' },
    { title: 'CommonJS exports.plugin', file: 'demo.cjs', text: `exports.plugin = ${BODY};` },
    { title: 'transpiled ESM (exports.default)', file: 'demo.cjs', text: `Object.defineProperty(exports, '__esModule', { value: true });\nexports.default = ${BODY};` },
    { title: 'TypeScript in a "type": "module" package', file: 'demo.ts', text: `const p: { name: string } & Record<string, unknown> = ${BODY};\nexport default p;`, type: 'module' },
    { title: 'TypeScript read as CommonJS', file: 'demo.ts', text: `interface X { name: string }\nexport default ${BODY} satisfies X;`, type: 'commonjs' },
    { title: 'TypeScript .mts with `plugin`', file: 'demo.mts', text: `export const plugin = ${BODY} as const;` },
    { title: 'TypeScript .cts', file: 'demo.cts', text: `const p: object = ${BODY};\nexport = p;` },
  ];
  for (const c of cases) {
    test(c.title, async () => {
      const dir = await folder({ [c.file]: c.text }, c.type);
      const plugin = await loadPluginFile(join(dir, c.file), { fresh: false });
      assert.equal(plugin.name, 'demo');
      assert.equal(plugin.priority, 7);
      assert.equal(plugin.access?.({}, noContext()), 418);
    });
  }
});

describe('loadPluginFile: failures name the file and carry a code', () => {
  async function rejects(files: Record<string, string>, file: string, code: PluginLoadErrorCode, detail: RegExp): Promise<void> {
    const dir = await folder(files);
    const path = join(dir, file);
    await assert.rejects(loadPluginFile(path, { fresh: false }), (err: unknown) => {
      assert.ok(err instanceof PluginLoadError, String(err));
      assert.equal(err.code, code);
      assert.equal(err.file, path);
      assert.ok(err.message.startsWith(`failed to load plugin file ${path}: `), err.message);
      assert.match(err.message, detail);
      return true;
    });
  }

  test('an extension that is not JavaScript or TypeScript', () =>
    rejects({ 'demo.json': '{}' }, 'demo.json', 'PLUGIN_FILE_UNSUPPORTED', /one of \.js, \.mjs, \.cjs, \.ts, \.mts, \.cts/));

  test('a missing file', () => rejects({}, 'gone.mjs', 'PLUGIN_IMPORT_FAILED', /ENOENT/));

  test('a module without a plugin', () =>
    rejects({ 'x.mjs': 'export const answer = 42;' }, 'x.mjs', 'PLUGIN_EXPORT_MISSING', /exports no plugin definition/));

  test('a definition of the wrong shape, named by the plugin', () =>
    rejects({ 'x.mjs': `export default { name: 'x', priority: 'high', schema: {} };` }, 'x.mjs', 'PLUGIN_DEFINITION_INVALID',
      /plugin x: priority must be an integer/));

  test('a schema that declares _meta', () =>
    rejects({ 'x.cjs': `module.exports = { name: 'x', priority: 1, schema: { properties: { _meta: {} } } };` }, 'x.cjs',
      'PLUGIN_DEFINITION_INVALID', /must not define _meta/));

  test('a module that throws while it is evaluated', () =>
    rejects({ 'x.mjs': `throw new Error('no database');\nexport default {};` }, 'x.mjs', 'PLUGIN_IMPORT_FAILED', /no database/));

  test('an ESM syntax error, with the line (Node 20 gives none)', () =>
    rejects({ 'x.mjs': `export default {\n  name: 'x',\n  priority 1,\n};\n` }, 'x.mjs', 'PLUGIN_IMPORT_FAILED',
      /SyntaxError: Unexpected number \(at .*x\.mjs:3\)$/));

  test('a CommonJS syntax error, with the line', () =>
    rejects({ 'x.cjs': `module.exports = {\n  name: 'x',\n  priority 1,\n};\n` }, 'x.cjs', 'PLUGIN_IMPORT_FAILED',
      /SyntaxError: Unexpected number \(at .*x\.cjs:3\)$/));

  test('a TypeScript syntax error, with line and column on one line', () =>
    rejects({ 'x.ts': `const a: number = 1;\nexport default {\n  priority 1,\n};\n` }, 'x.ts', 'PLUGIN_IMPORT_FAILED',
      /x\.ts:3:11: ERROR: Expected "}" but found "1"$/));
});

describe('listPluginFiles', () => {
  test('lists plugin files by name and skips tests, declarations, dotfiles and other files', async () => {
    const dir = await folder({
      'b.ts': '', 'a.mjs': '', 'c.cjs': '', 'd.js': '', 'e.mts': '', 'f.cts': '',
      'a.test.ts': '', 'b.test.mjs': '', 'types.d.ts': '', 'types.d.mts': '', '.hidden.js': '',
      'README.md': '', 'conf.json': '',
    });
    await mkdir(join(dir, 'lib.js')); // a folder with a plugin-like name
    assert.deepEqual(await listPluginFiles(dir), ['a.mjs', 'b.ts', 'c.cjs', 'd.js', 'e.mts', 'f.cts'].map((f) => join(dir, f)));
  });

  test('follows links to files and skips dangling ones', async () => {
    const target = await folder({ 'real.mjs': '' });
    const dir = await folder({});
    await symlink(join(target, 'real.mjs'), join(dir, 'linked.mjs'));
    await symlink(join(target, 'missing.mjs'), join(dir, 'dangling.mjs'));
    assert.deepEqual(await listPluginFiles(dir), [join(dir, 'linked.mjs')]);
  });

  test('a missing folder is a PluginLoadError naming it', async () => {
    const dir = join(root, 'no-such-folder');
    await assert.rejects(listPluginFiles(dir), { code: 'PLUGIN_DIR_UNREADABLE', file: dir, message: new RegExp(`^cannot read plugin folder ${dir}: ENOENT`) });
  });
});

/** Phase functions of these test plugins ignore their context. */
function noContext(): never {
  return undefined as never;
}
