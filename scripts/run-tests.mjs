#!/usr/bin/env node
// Runs every test file with node:test. Node 20 does not expand globs, so the
// files are listed here: unit tests sit beside their module (src/**/*.test.ts),
// the rest live under test/ (*.test.ts).
//   node scripts/run-tests.mjs            all tests
//   node scripts/run-tests.mjs --unit     only src/**/*.test.ts
//   node scripts/run-tests.mjs <file...>  the named files
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawn } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
const args = process.argv.slice(2);

function walk(dir, out) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'fixtures') continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.test.ts')) out.push(relative(root, p));
  }
  return out;
}

let files;
const explicit = args.filter((a) => !a.startsWith('--'));
if (explicit.length) files = explicit;
else if (args.includes('--unit')) files = walk(join(root, 'src'), []);
else files = [...walk(join(root, 'src'), []), ...walk(join(root, 'test'), [])];
files.sort();

const concurrency = process.env.FNGATE_TEST_CONCURRENCY ?? '2';
const child = spawn(process.execPath, [
  '--import', 'tsx',
  '--test', `--test-concurrency=${concurrency}`,
  '--test-reporter=spec',
  ...files,
], { cwd: root, stdio: 'inherit', env: { ...process.env, FNGATE_TEST: '1' } });
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
