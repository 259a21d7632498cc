/**
 * Plugin modules loaded from real files: hot reload of JavaScript and
 * TypeScript, how far a reload reaches, folders with broken files, and the
 * example custom plugin.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import type { Logger } from '../../src/log.js';
import type { PluginContext } from '../../src/pdk/context.js';
import type { PluginDefinition } from '../../src/pdk/plugin.js';
import { loadPluginDirectory, loadPluginFile } from '../../src/plugin/module-loader.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));

let root: string;
let folders = 0;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'fngate-plugin-files-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

async function folder(files: Record<string, string>, type?: 'module' | 'commonjs'): Promise<string> {
  const dir = join(root, `f${++folders}`);
  await mkdir(dir);
  if (type !== undefined) await writeFile(join(dir, 'package.json'), JSON.stringify({ type }));
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  return dir;
}

type Syntax = 'esm' | 'cjs' | 'ts' | 'cts';

/** A plugin named `name` whose rewrite answers 200 with `body`. */
function pluginSource(syntax: Syntax, body: string, name = 'demo'): string {
  const definition = `{ name: '${name}', priority: 1, schema: { type: 'object' }, rewrite: () => [200, body] }`;
  switch (syntax) {
    case 'esm': return `const body = '${body}';\nexport default ${definition};\n`;
    case 'cjs': return `const body = '${body}';\nmodule.exports = ${definition};\n`;
    case 'ts': return `const body: string = '${body}';\nexport default ${definition};\n`;
    case 'cts': return `const body: string = '${body}';\nexport = ${definition};\n`;
  }
}

/** What the plugin's rewrite answers: the version of the code that was loaded. */
function answer(plugin: PluginDefinition): unknown {
  return plugin.rewrite?.({}, undefined as unknown as PluginContext);
}

function memoryLogger(): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  return { logger, lines };
}

describe('fresh loads read the file as it is now', () => {
  const cases: Array<{ file: string; syntax: Syntax; type?: 'module' | 'commonjs' }> = [
    { file: 'demo.mjs', syntax: 'esm' },
    { file: 'demo.js', syntax: 'esm', type: 'module' },
    { file: 'demo.cjs', syntax: 'cjs' },
    { file: 'demo.js', syntax: 'cjs', type: 'commonjs' },
    { file: 'demo.ts', syntax: 'ts', type: 'module' },
    { file: 'demo.ts', syntax: 'ts', type: 'commonjs' },
    { file: 'demo.mts', syntax: 'ts' },
    { file: 'demo.cts', syntax: 'cts' },
  ];
  const SAME_TIME = 1_700_000_000; // seconds: whole, so the file system stores it exactly
  for (const { file, syntax, type } of cases) {
    test(`${file}${type ? ` in a "type": "${type}" package` : ''}`, async () => {
      const dir = await folder({ [file]: pluginSource(syntax, 'v1') }, type);
      const path = join(dir, file);
      await utimes(path, SAME_TIME, SAME_TIME);
      assert.deepEqual(answer(await loadPluginFile(path, { fresh: false })), [200, 'v1']);

      // Same length and, as after `cp -p` or unpacking an archive, the same mtime.
      await writeFile(path, pluginSource(syntax, 'v2'));
      await utimes(path, SAME_TIME, SAME_TIME);
      assert.deepEqual(answer(await loadPluginFile(path, { fresh: false })), [200, 'v1'], 'not fresh: the version loaded last');
      assert.deepEqual(answer(await loadPluginFile(path, { fresh: true })), [200, 'v2']);
      assert.deepEqual(answer(await loadPluginFile(path, { fresh: false })), [200, 'v2'], 'not fresh after a reload: the reloaded version');

      await writeFile(path, pluginSource(syntax, 'v3'));
      assert.deepEqual(answer(await loadPluginFile(path, { fresh: true })), [200, 'v3']);
    });
  }

  test('a failed reload leaves the last good version in place', async () => {
    const dir = await folder({ 'demo.mjs': pluginSource('esm', 'v1') });
    const path = join(dir, 'demo.mjs');
    await loadPluginFile(path, { fresh: true });
    await writeFile(path, 'export default {');
    await assert.rejects(loadPluginFile(path, { fresh: true }), { code: 'PLUGIN_IMPORT_FAILED' });
    assert.deepEqual(answer(await loadPluginFile(path, { fresh: false })), [200, 'v1']);
    await writeFile(path, pluginSource('esm', 'v2'));
    assert.deepEqual(answer(await loadPluginFile(path, { fresh: true })), [200, 'v2'], 'fixed file reloads');
  });
});

describe('a reload reaches the plugin file, not the modules it imports', () => {
  const cases: Array<{ title: string; type?: 'module'; files: (v: string) => Record<string, string>; plugin: string }> = [
    {
      title: 'TypeScript importing a .ts helper',
      type: 'module',
      plugin: 'demo.ts',
      files: (v) => ({
        'demo.ts': `import { greeting } from './helper.js';\nimport type { Shape } from './types.js';\n`
          + `export default { name: 'demo', priority: 1, schema: {}, rewrite: () => [200, \`plugin-${v} \${greeting}\`] } satisfies Shape;\n`,
        'helper.ts': `export const greeting: string = 'helper-${v}';\n`,
        'types.ts': 'export interface Shape { name: string; priority: number }\n',
      }),
    },
    {
      title: 'TypeScript read as CommonJS importing a .ts helper',
      plugin: 'demo.ts',
      files: (v) => ({
        'demo.ts': `import { greeting } from './helper';\n`
          + `export default { name: 'demo', priority: 1, schema: {}, rewrite: () => [200, \`plugin-${v} \${greeting}\`] };\n`,
        'helper.ts': `export const greeting: string = 'helper-${v}';\n`,
      }),
    },
    {
      title: 'ESM importing a helper',
      plugin: 'demo.mjs',
      files: (v) => ({
        'demo.mjs': `import { greeting } from './helper.mjs';\n`
          + `export default { name: 'demo', priority: 1, schema: {}, rewrite: () => [200, \`plugin-${v} \${greeting}\`] };\n`,
        'helper.mjs': `export const greeting = 'helper-${v}';\n`,
      }),
    },
    {
      title: 'CommonJS requiring a helper',
      plugin: 'demo.cjs',
      files: (v) => ({
        'demo.cjs': `const { greeting } = require('./helper.cjs');\n`
          + `module.exports = { name: 'demo', priority: 1, schema: {}, rewrite: () => [200, \`plugin-${v} \${greeting}\`] };\n`,
        'helper.cjs': `exports.greeting = 'helper-${v}';\n`,
      }),
    },
  ];
  for (const c of cases) {
    test(c.title, async () => {
      const dir = await folder(c.files('v1'), c.type);
      const path = join(dir, c.plugin);
      assert.deepEqual(answer(await loadPluginFile(path, { fresh: true })), [200, 'plugin-v1 helper-v1']);
      for (const [name, text] of Object.entries(c.files('v2'))) await writeFile(join(dir, name), text);
      // docs/custom-plugins.md: changed helpers need a restart.
      assert.deepEqual(answer(await loadPluginFile(path, { fresh: true })), [200, 'plugin-v2 helper-v1']);
    });
  }
});

describe('loadPluginDirectory', () => {
  test('loads the good files, reports and skips the broken ones with their file names', async () => {
    const dir = await folder({
      'good.mjs': pluginSource('esm', 'ok', 'good'),
      'typed.ts': pluginSource('ts', 'ok', 'typed'),
      'syntax.mjs': 'export default {\n  name: "syntax"\n  priority: 1,\n};\n',
      'syntax-ts.ts': 'export default {\n  name: "syntax-ts" priority: 1\n};\n',
      'empty.mjs': 'export const unrelated = 1;\n',
      'shape.cjs': `module.exports = { name: 'shape', priority: 1.5, schema: {} };\n`,
      'throws.mjs': `throw new Error('cannot start');\n`,
      // not plugin files: never imported (each would fail if it were)
      '.draft.mjs': 'export default {',
      'good.test.mjs': 'export default {',
      'types.d.ts': 'export default {',
      'notes.md': '# notes',
    });
    const { logger, lines } = memoryLogger();
    const { plugins, errors } = await loadPluginDirectory(dir, { fresh: true, logger });

    assert.deepEqual(plugins.map((p) => p.name), ['good', 'typed']);
    assert.deepEqual(errors.map((e) => e.file), ['empty.mjs', 'shape.cjs', 'syntax-ts.ts', 'syntax.mjs', 'throws.mjs'].map((f) => join(dir, f)));
    for (const { file, message } of errors) assert.ok(message.startsWith(`failed to load plugin file ${file}: `), message);
    const byFile = new Map(errors.map((e) => [e.file.slice(dir.length + 1), e.message]));
    assert.match(byFile.get('empty.mjs') ?? '', /exports no plugin definition/);
    assert.match(byFile.get('shape.cjs') ?? '', /plugin shape: priority must be an integer/);
    assert.match(byFile.get('syntax.mjs') ?? '', /SyntaxError: .*syntax\.mjs:3\)$/);
    assert.match(byFile.get('syntax-ts.ts') ?? '', /syntax-ts\.ts:2:20: ERROR: Expected "}" but found "priority"/);
    assert.match(byFile.get('throws.mjs') ?? '', /cannot start/);

    const logged = lines.filter((l) => l.level === 50);
    assert.deepEqual(logged.map((l) => [l.file, l.msg]), errors.map((e) => [e.file, e.message]), 'each failure is logged as an error');
    assert.equal(logged[0]?.code, 'PLUGIN_EXPORT_MISSING');
  });

  test('a plugin named unlike its file loads, with a warning', async () => {
    const dir = await folder({ 'headers.mjs': pluginSource('esm', 'ok', 'add-headers') });
    const { logger, lines } = memoryLogger();
    const { plugins, errors } = await loadPluginDirectory(dir, { fresh: false, logger });
    assert.deepEqual(plugins.map((p) => p.name), ['add-headers']);
    assert.deepEqual(errors, []);
    const warning = lines.find((l) => l.level === 40);
    assert.equal(warning?.plugin, 'add-headers');
    assert.equal(warning?.msg, 'plugin file headers.mjs defines plugin add-headers: name the file add-headers.mjs');
  });

  test('a second file defining the same plugin name is reported', async () => {
    const dir = await folder({ 'demo.mjs': pluginSource('esm', 'first'), 'demo.ts': pluginSource('ts', 'second') });
    const { plugins, errors } = await loadPluginDirectory(dir, { fresh: false, logger: memoryLogger().logger });
    assert.deepEqual(plugins.map(answer), [[200, 'first']]);
    assert.deepEqual(errors, [{
      file: join(dir, 'demo.ts'),
      message: `failed to load plugin file ${join(dir, 'demo.ts')}: plugin demo is already defined by ${join(dir, 'demo.mjs')}`,
    }]);
  });

  test('a missing folder is reported, not thrown', async () => {
    const dir = join(root, 'not-there');
    const { plugins, errors } = await loadPluginDirectory(dir, { fresh: true, logger: memoryLogger().logger });
    assert.deepEqual(plugins, []);
    assert.equal(errors.length, 1);
    assert.equal(errors[0]?.file, dir);
    assert.match(errors[0]?.message ?? '', /^cannot read plugin folder .*not-there: ENOENT/);
  });
});

describe('examples/custom-plugins', () => {
  test('add-header loads and behaves as its comments say', async () => {
    const { plugins, errors } = await loadPluginDirectory(join(repo, 'examples/custom-plugins'), { fresh: false, logger: memoryLogger().logger });
    assert.deepEqual(errors, []);
    assert.deepEqual(plugins.map((p) => p.name), ['add-header']);
    const plugin = plugins[0]!;

    const conf = { header: 'x-served-by', value: 'edge-1', require_request_header: 'x-tenant' };
    const set = new Map<string, unknown>();
    const context = (requestHeaders: Record<string, string>): PluginContext => ({
      request: { header: (name: string) => requestHeaders[name.toLowerCase()] },
      response: { setHeader: (name: string, value: unknown) => void set.set(name, value) },
    }) as unknown as PluginContext;

    assert.deepEqual(plugin.rewrite?.(conf, context({})), [403, { message: 'missing request header x-tenant' }]);
    assert.equal(plugin.rewrite?.(conf, context({ 'x-tenant': 'a' })), undefined);
    assert.equal(plugin.rewrite?.({ header: 'x-a', value: 'b' }, context({})), undefined, 'no required header configured');
    await plugin.header_filter?.(conf, context({}));
    assert.deepEqual([...set], [['x-served-by', 'edge-1']]);
  });
});

describe('in a process without the tsx preload (as `fngate start` runs)', () => {
  test('TypeScript plugins load and reload through the loader alone', async () => {
    const dir = await folder({
      'demo.ts': `import { prefix } from './prefix.js';\nexport default { name: 'demo', priority: 1, schema: {}, rewrite: () => [200, prefix + '1'] };\n`,
      'prefix.ts': `export const prefix: string = 'v';\n`,
    }, 'module');
    const plugin = join(dir, 'demo.ts');
    // The child imports the loader's TypeScript source through tsx's scoped
    // API, which leaves every other import (the plugins') to the loader.
    const script = join(dir, 'child.mjs');
    await writeFile(script, [
      `import { tsImport } from ${JSON.stringify(import.meta.resolve('tsx/esm/api'))};`,
      `import { writeFileSync } from 'node:fs';`,
      `import { pathToFileURL } from 'node:url';`,
      `const plugin = ${JSON.stringify(plugin)};`,
      `const bare = await import(pathToFileURL(plugin).href).then(() => 'loaded', (err) => err.code);`,
      `const { loadPluginFile } = await tsImport(${JSON.stringify(join(repo, 'src/plugin/module-loader.ts'))}, import.meta.url);`,
      `const first = (await loadPluginFile(plugin, { fresh: false })).rewrite();`,
      `writeFileSync(plugin, "import { prefix } from './prefix.js';\\nexport default { name: 'demo', priority: 1, schema: {}, rewrite: () => [200, prefix + '2'] };\\n");`,
      `const second = (await loadPluginFile(plugin, { fresh: true })).rewrite();`,
      `console.log(JSON.stringify({ bare, first, second }));`,
    ].join('\n'));

    const output = await new Promise<string>((done, fail) => {
      execFile(process.execPath, [script], { env: { ...process.env, NODE_OPTIONS: '' }, timeout: 20_000 }, (err, stdout, stderr) => {
        if (err) fail(new Error(`child failed: ${stderr}`, { cause: err }));
        else done(stdout);
      });
    });
    assert.deepEqual(JSON.parse(output), {
      bare: 'ERR_UNKNOWN_FILE_EXTENSION', // no TypeScript hooks outside the loader
      first: [200, 'v1'],
      second: [200, 'v2'],
    });
  });
});
