/**
 * Real etcd servers for tests: each on free loopback ports with its own data
 * directory, started in well under a second (short raft timers), stoppable
 * and restartable on the same ports and data to simulate outages. Also a TCP
 * relay that can cut a client off from etcd without stopping it.
 *
 * Tests that need etcd must fail, not skip, when the binary is missing
 * (`apt-get install -y etcd-server`, as .ci/run does).
 *
 * @example
 *   const etcd = await startEtcd();
 *   try {
 *     const store = await openEtcdStore({ config: etcd.config() });
 *     await etcd.restart();
 *   } finally {
 *     await etcd.destroy();
 *   }
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Agent, request } from 'undici';
import type { EtcdConfig } from '../../src/config/types.js';
import { freePort } from './net.js';
import { findBinary, serverProcess } from './server-process.js';

export interface EtcdTlsFiles {
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
  readonly clientCertFile: string;
  readonly clientKeyFile: string;
  /** The only name the server certificate is valid for (not 127.0.0.1): connecting needs SNI. */
  readonly serverName: string;
}

export interface StartEtcdOptions {
  /** Seconds a simple auth token lives (`--auth-token-ttl`, etcd default 300). */
  readonly authTokenTtl?: number;
  /** Serve HTTPS with these files and require client certificates. */
  readonly tls?: EtcdTlsFiles;
}

export interface EtcdServer {
  /** Client URL, `http(s)://127.0.0.1:<port>`. */
  readonly url: string;
  readonly clientPort: number;
  readonly dataDir: string;
  readonly running: boolean;
  /** Start again on the same ports and data (after {@link stop}). */
  start(): Promise<void>;
  /** Stop the process; the data stays. SIGKILL simulates a crash. */
  stop(signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>;
  restart(): Promise<void>;
  /** Stop and delete the data directory. Safe to call twice. */
  destroy(): Promise<void>;
  /**
   * One raw call to etcd's v3 JSON gateway (what APISIX itself sends), for
   * setting up or checking data independently of the store under test.
   * Rejects with etcd's error message on a non-200 answer.
   */
  call<T = Record<string, unknown>>(path: string, body: object, token?: string): Promise<T>;
  /** deployment.etcd pointing at this server, with test-sized timeouts. */
  config(overrides?: Partial<EtcdConfig>): EtcdConfig;
}

/** Absolute path of the etcd binary; throws a clear error when it is not installed. */
export function etcdBinary(): string {
  return findBinary('etcd', 'etcd', 'etcd-server');
}

/** Starts a fresh single-member etcd and waits until it serves requests. */
export async function startEtcd(options: StartEtcdOptions = {}): Promise<EtcdServer> {
  const binary = etcdBinary();
  const dataDir = await mkdtemp(join(tmpdir(), 'fngate-etcd-'));
  const [clientPort, peerPort] = [await freePort(), await freePort()];
  const scheme = options.tls ? 'https' : 'http';
  const url = `${scheme}://127.0.0.1:${clientPort}`;
  const peerUrl = `http://127.0.0.1:${peerPort}`;
  const args = [
    '--name', 'test',
    '--data-dir', dataDir,
    '--listen-client-urls', url,
    '--advertise-client-urls', url,
    '--listen-peer-urls', peerUrl,
    '--initial-advertise-peer-urls', peerUrl,
    '--initial-cluster', `test=${peerUrl}`,
    '--logger', 'zap',
    '--log-level', 'error',
    // Raft timers in milliseconds: a single member elects itself in ~50 ms instead of ~1 s.
    '--heartbeat-interval', '10',
    '--election-timeout', '50',
    ...(options.authTokenTtl === undefined ? [] : ['--auth-token-ttl', String(options.authTokenTtl)]),
    ...(options.tls
      ? ['--cert-file', options.tls.certFile, '--key-file', options.tls.keyFile, '--client-cert-auth', '--trusted-ca-file', options.tls.caFile]
      : []),
  ];
  const dispatcher = options.tls ? await tlsAgent(options.tls) : undefined;

  let destroyed = false;
  const daemon = serverProcess({ binary, args, name: 'etcd', what: `etcd on ${url}`, ready: () => healthy(url, dispatcher) });
  const start = () => daemon.start();
  const stop = (signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM') => daemon.stop(signal);

  const server: EtcdServer = {
    url,
    clientPort,
    dataDir,
    get running() {
      return daemon.running;
    },
    start,
    stop,
    async restart() {
      await stop();
      await start();
    },
    async destroy() {
      if (destroyed) return;
      destroyed = true;
      await stop('SIGKILL');
      await dispatcher?.close();
      await rm(dataDir, { recursive: true, force: true });
    },
    async call<T>(path: string, body: object, token?: string): Promise<T> {
      const res = await request(`${url}${path}`, {
        method: 'POST',
        body: JSON.stringify(body),
        headers: token === undefined ? {} : { authorization: token },
        ...(dispatcher ? { dispatcher } : {}),
      });
      const text = await res.body.text();
      if (res.statusCode !== 200) throw new Error(`etcd ${path} answered ${res.statusCode}: ${text}`);
      return JSON.parse(text) as T;
    },
    config(overrides: Partial<EtcdConfig> = {}): EtcdConfig {
      return {
        host: [url],
        prefix: '/apisix',
        timeout: 5,
        watch_timeout: 50,
        startup_retry: 1,
        resync_delay: 0.05,
        health_check_timeout: 10,
        ...overrides,
      };
    },
  };

  try {
    await start();
  } catch (err) {
    await server.destroy();
    throw err;
  }
  return server;
}

async function healthy(url: string, dispatcher: Agent | undefined): Promise<boolean> {
  try {
    const res = await request(`${url}/health`, { ...(dispatcher ? { dispatcher } : {}), headersTimeout: 1_000, bodyTimeout: 1_000 });
    const text = await res.body.text();
    return res.statusCode === 200 && text.includes('"true"');
  } catch {
    return false;
  }
}

async function tlsAgent(tls: EtcdTlsFiles): Promise<Agent> {
  return new Agent({
    connect: {
      ca: await readFile(tls.caFile),
      cert: await readFile(tls.clientCertFile),
      key: await readFile(tls.clientKeyFile),
      servername: tls.serverName,
    },
  });
}

const execFileAsync = promisify(execFile);

/**
 * A throwaway CA, a server certificate valid only for `etcd.test`, and a
 * client certificate, written with openssl into `dir`.
 */
export async function createEtcdTlsFiles(dir: string): Promise<EtcdTlsFiles> {
  const serverName = 'etcd.test';
  const file = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => execFileAsync('openssl', args);
  await openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=fngate test CA',
    '-keyout', file('ca.key'), '-out', file('ca.crt'));
  for (const [name, ext] of [
    // etcd's JSON gateway dials etcd's own gRPC port presenting the server certificate, so it needs clientAuth too.
    ['server', `subjectAltName=DNS:${serverName}\nextendedKeyUsage=serverAuth,clientAuth`],
    ['client', 'extendedKeyUsage=clientAuth'],
  ] as const) {
    await openssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${name}`, '-keyout', file(`${name}.key`), '-out', file(`${name}.csr`));
    const extFile = file(`${name}.ext`);
    await writeFile(extFile, `${ext}\n`);
    await openssl('x509', '-req', '-in', file(`${name}.csr`), '-CA', file('ca.crt'), '-CAkey', file('ca.key'), '-CAcreateserial',
      '-days', '2', '-extfile', extFile, '-out', file(`${name}.crt`));
  }
  return {
    caFile: file('ca.crt'),
    certFile: file('server.crt'),
    keyFile: file('server.key'),
    clientCertFile: file('client.crt'),
    clientKeyFile: file('client.key'),
    serverName,
  };
}

export interface TcpRelay {
  /** `http://127.0.0.1:<port>`: give this to the client instead of etcd's URL. */
  readonly url: string;
  readonly port: number;
  /** Connections currently relayed. */
  readonly connections: number;
  /** Drop every relayed connection and refuse new ones (a network partition). */
  cut(): void;
  /** Relay new connections again. */
  heal(): void;
  close(): Promise<void>;
}

/** A loopback TCP relay to `targetPort` that a test can cut, to partition a client from etcd that keeps running. */
export async function startTcpRelay(targetPort: number): Promise<TcpRelay> {
  const sockets = new Set<Socket>();
  let relayed = 0;
  let isCut = false;
  const server: Server = createServer((inbound) => {
    if (isCut) {
      inbound.destroy();
      return;
    }
    const outbound = connect(targetPort, '127.0.0.1');
    relayed++;
    inbound.once('close', () => relayed--);
    for (const socket of [inbound, outbound]) {
      sockets.add(socket);
      socket.on('error', () => undefined);
      socket.once('close', () => {
        sockets.delete(socket);
        inbound.destroy();
        outbound.destroy();
      });
    }
    inbound.pipe(outbound);
    outbound.pipe(inbound);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    get connections() {
      return relayed;
    },
    cut() {
      isCut = true;
      for (const socket of sockets) socket.destroy();
    },
    heal() {
      isCut = false;
    },
    close() {
      for (const socket of sockets) socket.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
