/**
 * Start the real gateway as a child process on free loopback ports, with a
 * config written to a temp dir, and talk to it. Integration tests use this so
 * they exercise exactly what `fngate start` runs.
 *
 * The built CLI (`dist/cli/index.js`, made by `npm test`) is used by default;
 * `FNGATE_TEST_FROM_SRC=1` runs the TypeScript sources through tsx instead.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { stringify } from 'yaml';
import { freePort, waitFor } from './net.js';

const ROOT = resolve(import.meta.dirname, '../..');

export interface GatewayProcessOptions {
  /** Merged into the generated config.yaml (APISIX keys). */
  readonly config?: Record<string, unknown>;
  /**
   * Use this config.yaml text as is instead of generating one; it must
   * listen on `ports.proxy` / `ports.admin`. `key` is then unknown ('').
   */
  readonly configYaml?: string;
  readonly ports?: { readonly proxy: number; readonly admin: number };
  /** Start again on the same directory, config file, ports and key (after stop/kill). */
  readonly restartOf?: GatewayProcess;
  /** Extra files to write into the temp dir before starting (name → content). */
  readonly files?: Record<string, string>;
  /** Reuse an existing directory (kept by cleanup()). */
  readonly dir?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Wait for the Admin API (default) or only for the proxy port. */
  readonly waitFor?: 'admin' | 'proxy';
}

export interface GatewayProcess {
  readonly dir: string;
  readonly configPath: string;
  readonly proxyPort: number;
  readonly adminPort: number;
  readonly proxyUrl: string;
  readonly adminUrl: string;
  readonly key: string;
  readonly child: ChildProcess;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
  /** SIGTERM and wait for exit; resolves with the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL and wait for exit. */
  kill(): Promise<void>;
  /** Remove the temp dir (after stop/kill). */
  cleanup(): void;
}

function cliCommand(): string[] {
  // tsx is resolved here, not from the gateway's (temporary) working directory.
  if (process.env.FNGATE_TEST_FROM_SRC === '1') return ['--import', import.meta.resolve('tsx'), join(ROOT, 'src/cli/index.ts')];
  const built = join(ROOT, 'dist/cli/index.js');
  if (!existsSync(built)) throw new Error('dist/cli/index.js is missing: run `npm run build` (npm test does) or set FNGATE_TEST_FROM_SRC=1');
  return [built];
}

function deepMerge(base: Record<string, unknown>, extra: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(extra)) {
    const b = out[k];
    if (v && typeof v === 'object' && !Array.isArray(v) && b && typeof b === 'object' && !Array.isArray(b)) {
      out[k] = deepMerge(b as Record<string, unknown>, v as Record<string, unknown>);
    } else {
      out[k] = v;
    }
  }
  return out;
}

/**
 * @example
 *   const gw = await startGatewayProcess();
 *   await adminRequest(gw, 'PUT', '/apisix/admin/routes/1', { uri: '/hello', upstream: {...} });
 *   await gw.stop(); gw.cleanup();
 */
export async function startGatewayProcess(options: GatewayProcessOptions = {}): Promise<GatewayProcess> {
  const previous = options.restartOf;
  const dir = previous?.dir ?? options.dir ?? mkdtempSync(join(tmpdir(), 'fngate-it-'));
  const proxyPort = previous?.proxyPort ?? options.ports?.proxy ?? await freePort();
  const adminPort = previous?.adminPort ?? options.ports?.admin ?? await freePort();
  const key = previous?.key ?? (options.configYaml !== undefined ? '' : `test-${randomBytes(12).toString('hex')}`);
  const base: Record<string, unknown> = {
    apisix: { node_listen: [{ ip: '127.0.0.1', port: proxyPort }], enable_ipv6: false, enable_control: false },
    deployment: {
      admin: {
        admin_key: [{ name: 'admin', key, role: 'admin' }],
        admin_listen: { ip: '127.0.0.1', port: adminPort },
      },
    },
    nginx_config: { worker_processes: 1, worker_shutdown_timeout: '5s' },
    fngate: { log_level: 'info' },
    // Tests run gateways side by side: none takes the default 127.0.0.1:9091 unless it asks to.
    plugin_attr: { prometheus: { enable_export_server: false } },
  };
  const configPath = join(dir, 'config.yaml');
  if (options.configYaml !== undefined) writeFileSync(configPath, options.configYaml);
  else if (!previous) writeFileSync(configPath, stringify(deepMerge(base, options.config ?? {})));
  for (const [name, content] of Object.entries(options.files ?? {})) writeFileSync(join(dir, name), content);

  const child = spawn(process.execPath, [...cliCommand(), 'start', '-c', configPath], {
    cwd: dir,
    env: { ...process.env, NODE_ENV: 'test', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => { output += d.toString(); });
  child.stderr?.on('data', (d: Buffer) => { output += d.toString(); });
  const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));

  const gw: GatewayProcess = {
    dir,
    configPath,
    proxyPort,
    adminPort,
    proxyUrl: `http://127.0.0.1:${proxyPort}`,
    adminUrl: `http://127.0.0.1:${adminPort}`,
    key,
    child,
    output: () => output,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
    cleanup() {
      if (!options.dir && !previous) rmSync(dir, { recursive: true, force: true });
    },
  };

  // Ready when the workers serve the proxy port and (unless told otherwise) the Admin API answers.
  const urls = options.waitFor === 'proxy' ? [gw.proxyUrl] : [gw.proxyUrl, `${gw.adminUrl}/apisix/admin`];
  try {
    await waitFor(async () => {
      if (child.exitCode !== null) throw new Error(`gateway exited with ${child.exitCode}:\n${output}`);
      try {
        for (const url of urls) {
          const res = await fetch(url, { method: 'HEAD' });
          if (res.status >= 500) return false;
        }
        return true;
      } catch {
        return false;
      }
    }, { timeoutMs: 15_000, what: `gateway at ${urls.join(' and ')}` });
  } catch (err) {
    await gw.kill();
    throw new Error(`${(err as Error).message}\n--- gateway output ---\n${output}`);
  }
  return gw;
}

export interface JsonResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  /** Parsed body, or undefined when it is not JSON. */
  readonly json: unknown;
}

/** Call the Admin API with the gateway's key. */
export async function adminRequest(
  gw: Pick<GatewayProcess, 'adminUrl' | 'key'>,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<JsonResponse> {
  const res = await fetch(`${gw.adminUrl}${path}`, {
    method,
    headers: { 'x-api-key': gw.key, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  return readResponse(res);
}

export async function readResponse(res: Response): Promise<JsonResponse> {
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}
