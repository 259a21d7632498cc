/**
 * The watchdog report, with a real monitor thread and a really stalled
 * event loop: it names the running function and its route, or the last one
 * entered when the stall is elsewhere, and notes when the loop resumes.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '../../../test/helpers/net.js';
import { createVmSandbox } from '../../plugin/user-function.js';
import { Watchdog } from './watchdog.js';

const STALL_MS = 100;

/** Block the event loop for `ms`, as a runaway function does. */
function stall(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end) { /* spin */ }
}

describe('watchdog report', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fngate-watchdog-'));
  const file = join(dir, 'report.log');
  const fd = openSync(file, 'w');
  const watchdog = new Watchdog({ stallMs: STALL_MS, fd, bindings: { name: 'fngate', pid: process.pid, worker: '3' } });
  const sandbox = createVmSandbox({ hooks: watchdog });

  after(async () => {
    await watchdog.close();
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  });

  function reports(): Array<Record<string, unknown>> {
    return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>);
  }

  /** Let the monitor start and see the loop turn before stalling it. */
  async function settle(): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, STALL_MS * 2));
  }

  test('a function that blocks the loop is named, with its route and plugin', async () => {
    const busy = sandbox.compile(`return () => { const end = Date.now() + ${STALL_MS * 4}; while (Date.now() < end) {} }`, { plugin: 'serverless-pre-function', function: 'functions[1]' });
    await settle();
    busy({}, { route_id: 'r-loop' });
    await waitFor(() => reports().some((r) => r.msg === 'event loop resumed'), { what: 'the report and the resumption' });
    const [stalled, resumed] = reports();
    assert.equal(stalled?.level, 50);
    assert.equal(stalled?.msg, 'event loop stalled in a user function');
    assert.deepEqual([stalled?.route, stalled?.plugin, stalled?.function, stalled?.worker, stalled?.pid], ['r-loop', 'serverless-pre-function', 'functions[1]', '3', process.pid]);
    assert.ok((stalled?.stalled_ms as number) >= STALL_MS);
    assert.equal(resumed?.level, 30);
    assert.ok((resumed?.stalled_ms as number) >= STALL_MS * 3, 'the resumption line says how long the loop was stuck');
  });

  test('a stall outside user functions names the last one entered', async () => {
    const quick = sandbox.compile('return () => 1', { plugin: 'serverless-post-function', function: 'phases.log[0]' });
    const before = reports().length;
    await settle();
    quick({}, { route_id: 'r-quick' });
    stall(STALL_MS * 4);
    await waitFor(() => reports().length >= before + 2, { what: 'the second report' });
    const outside = reports()[before];
    assert.equal(outside?.level, 40);
    assert.equal(outside?.msg, 'event loop stalled outside user functions');
    assert.deepEqual(outside?.last_entered, { route: 'r-quick', plugin: 'serverless-post-function', function: 'phases.log[0]' });
  });

  test('recompiling the same function (a route update) reuses its id: nothing grows per update', () => {
    const label = { plugin: 'serverless-pre-function', function: 'functions[0]' };
    assert.equal(watchdog.register(label), watchdog.register({ ...label }));
    assert.notEqual(watchdog.register(label), watchdog.register({ ...label, function: 'functions[1]' }));
  });

  test('a loop that keeps turning produces no report', async () => {
    const before = reports().length;
    await new Promise((resolve) => setTimeout(resolve, STALL_MS * 4));
    assert.equal(reports().length, before);
  });
});
