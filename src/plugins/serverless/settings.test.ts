/**
 * `fngate.serverless` at process start: which sandbox each process installs,
 * the worker flags, and the start-up failures with their messages.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../../log.js';
import { stringify } from 'yaml';
import { parseConfig } from '../../config/load.js';
import type { FngateConfig } from '../../config/types.js';
import { checkUserFunction, createVmSandbox, useUserFunctionSandbox } from '../../plugin/user-function.js';
import { configureServerless, workerNodeFlags } from './settings.js';
import { loadIsolatedVm } from './isolated-sandbox.js';
import { ServerlessConfigError } from './errors.js';

function configWith(serverless: Record<string, unknown>): FngateConfig {
  return parseConfig(stringify({ fngate: { serverless } }), { env: {} }).config;
}

describe('serverless settings', () => {
  // Leave the process's default sandbox behind for the other tests of this file's process.
  after(() => useUserFunctionSandbox(createVmSandbox()));

  test('defaults: the vm sandbox, no modules, 100 ms and 32 MB for the isolated mode', () => {
    assert.deepEqual(configWith({}).fngate.serverless, { sandbox: 'vm', allowed_modules: [], timeout_ms: 100, memory_mb: 32 });
  });

  test('config.yaml checks the values', () => {
    assert.throws(() => configWith({ sandbox: 'v8' }), /fngate\.serverless\.sandbox/);
    assert.throws(() => configWith({ memory_mb: 4 }), /fngate\.serverless\.memory_mb/);
    assert.throws(() => configWith({ timeout_ms: 0 }), /fngate\.serverless\.timeout_ms/);
  });

  test('workers get --no-node-snapshot only for the isolated mode', () => {
    assert.deepEqual(workerNodeFlags(configWith({})), []);
    assert.deepEqual(workerNodeFlags(configWith({ sandbox: 'isolated' })), ['--no-node-snapshot']);
  });

  test('vm: allowed modules become require() for functions validated and run in this process', async () => {
    const { sandbox, watchdog } = await configureServerless(configWith({ allowed_modules: ['node:querystring'] }), { role: 'primary', logger: silentLogger });
    assert.equal(sandbox.mode, 'vm');
    assert.equal(watchdog, undefined, 'the primary runs no request, so it has no watchdog');
    assert.equal(checkUserFunction('require("node:querystring"); return () => 1'), undefined);
  });

  test('isolated, in a process without --no-node-snapshot (the primary): validated with the isolate\'s globals only', async () => {
    assert.equal(process.execArgv.includes('--no-node-snapshot'), false, 'this test expects the plain test runner');
    const { sandbox } = await configureServerless(configWith({ sandbox: 'isolated' }), { role: 'primary', logger: silentLogger });
    assert.equal(sandbox.mode, 'vm');
    assert.equal(checkUserFunction('return () => 1'), undefined);
    assert.equal(checkUserFunction('Buffer.from("x"); return () => 1'), 'pcall error: Buffer is not defined');
  });

  test('isolated in a worker without the flag, or with allowed_modules: refused at start', async () => {
    await assert.rejects(
      configureServerless(configWith({ sandbox: 'isolated' }), { role: 'worker', logger: silentLogger }),
      (err: ServerlessConfigError) => err.code === 'SERVERLESS_CONFIG_INVALID' && /needs node's --no-node-snapshot flag/.test(err.message),
    );
    await assert.rejects(
      configureServerless(configWith({ sandbox: 'isolated', allowed_modules: ['node:crypto'] }), { role: 'primary', logger: silentLogger }),
      /allowed_modules cannot be used with sandbox "isolated"/,
    );
  });

  test('isolated-vm that did not build: a clear start-up error', async () => {
    await assert.rejects(loadIsolatedVm('isolated-vm-that-is-not-installed'), (err: ServerlessConfigError) =>
      err instanceof ServerlessConfigError &&
      err.message.startsWith('fngate.serverless.sandbox is "isolated" but the isolated-vm module cannot be loaded (') &&
      err.message.includes('npm install isolated-vm@5.0.4') && err.message.includes('"vm"'));
    assert.equal(typeof (await loadIsolatedVm()).Isolate, 'function', 'the installed module loads');
  });
});
