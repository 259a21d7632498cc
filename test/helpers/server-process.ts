/**
 * A real server binary run by a test (etcd, Redis): found on PATH with a
 * clear message when it is not installed, started and stopped again on the
 * same arguments to simulate outages, and never left behind when the test
 * process ends.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { waitFor } from './net.js';

const running = new Set<ChildProcess>();
// A test that crashes must not leave server processes behind.
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** Absolute path of `name` on PATH; throws naming the package to install when it is missing. */
export function findBinary(name: string, what: string, aptPackage: string): string {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // keep looking
    }
  }
  throw new Error(`${name} not found on PATH: these tests need a real ${what} (apt-get install -y ${aptPackage})`);
}

export interface ServerProcessOptions {
  readonly binary: string;
  readonly args: readonly string[];
  /** In error messages: `etcd`, `redis-server`. */
  readonly name: string;
  /** What waiting is for, in a timeout message: `etcd on http://127.0.0.1:2379`. */
  readonly what: string;
  /** True once the server answers. */
  readonly ready: () => Promise<boolean>;
  /** Keep stdout in the output tail too (stderr always is). */
  readonly captureStdout?: boolean;
}

export interface ServerProcess {
  readonly running: boolean;
  /** Spawn and wait until ready; fails with the output tail when the process exits first. */
  start(): Promise<void>;
  /** Send `signal` and wait for the exit (SIGKILL after 5 s). */
  stop(signal: 'SIGTERM' | 'SIGKILL'): Promise<void>;
}

/**
 * @example
 *   const server = serverProcess({ binary, args, name: 'redis-server', what: `redis on :${port}`, ready: ping });
 *   await server.start(); await server.stop('SIGKILL'); await server.start();
 */
export function serverProcess(options: ServerProcessOptions): ServerProcess {
  let child: ChildProcess | undefined;
  let output = '';

  async function start(): Promise<void> {
    if (child) throw new Error(`${options.name} is already running`);
    output = '';
    const proc = spawn(options.binary, options.args, { stdio: ['ignore', options.captureStdout ? 'pipe' : 'ignore', 'pipe'] });
    child = proc;
    running.add(proc);
    const collect = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-4000);
    };
    proc.stdout?.on('data', collect);
    proc.stderr?.on('data', collect);
    let exited = false;
    proc.once('exit', () => {
      exited = true;
      running.delete(proc);
      if (child === proc) child = undefined;
    });
    await waitFor(async () => {
      if (exited) throw new Error(`${options.name} exited during start-up: ${output.trim()}`);
      return options.ready();
    }, { timeoutMs: 10_000, intervalMs: 10, what: options.what });
  }

  async function stop(signal: 'SIGTERM' | 'SIGKILL'): Promise<void> {
    const proc = child;
    if (!proc) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill(signal);
    const timer = setTimeout(() => proc.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  }

  return {
    get running() {
      return child !== undefined;
    },
    start,
    stop,
  };
}
