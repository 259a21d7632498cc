/**
 * Cost of the forward path. Two parts:
 *
 * 1. Micro: building the upstream request headers from `req.rawHeaders` as a
 *    flat list (what buildUpstreamHeaders returns) versus an object; writing
 *    them as a request head (prepareRequest); parsing a typical response head.
 * 2. Throughput: a plain proxied GET through forward() (compileUpstream +
 *    buildUpstreamHeaders + forward + writeHead, on fngate's own HTTP/1.1
 *    client) versus the bare undici `pool.stream()` forwarder that the shared
 *    harness calls node-undici. Upstream, proxy and load generator run in
 *    separate processes; the variants alternate so drift hits both.
 *
 *   node --import tsx bench/forward.bench.ts [seconds-per-run=3] [concurrency=32]
 *
 * Proxy CPU µs/request is the steadier figure on a shared machine. Under tsx,
 * closures assigned to named consts pay a per-creation `__name()` call that
 * the tsc build does not have.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import { compileUpstream } from '../src/upstream/compile.js';
import { forward } from '../src/upstream/forward.js';
import { prepareRequest } from '../src/upstream/h1/request-head.js';
import { ResponseParser } from '../src/upstream/h1/response-parser.js';
import { buildUpstreamHeaders, requestHasBody, type DownstreamInfo } from '../src/upstream/headers.js';
import { PoolManager } from '../src/upstream/pools.js';

const SELF = fileURLToPath(import.meta.url);
const [role = 'main', arg = ''] = process.argv.slice(2);

const RAW_HEADERS = [
  'Host', 'api.example.com:9080',
  'User-Agent', 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36',
  'Accept', 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
  'Accept-Language', 'en-US,en;q=0.5',
  'Accept-Encoding', 'gzip, deflate, br',
  'Connection', 'keep-alive',
  'Cookie', 'session=abc123; theme=dark',
  'Referer', 'https://www.example.com/',
  'Cache-Control', 'no-cache',
  'X-Request-Id', '7f1d2c3b-aaaa-bbbb-cccc-0123456789ab',
  'Authorization', 'Bearer eyJhbGciOiJIUzI1NiJ9.e30.abc',
  'Sec-Fetch-Mode', 'navigate',
];
const DOWNSTREAM: DownstreamInfo = { remoteAddr: '10.0.0.7', scheme: 'http', host: 'api.example.com:9080', serverPort: 9080 };

// ---------------------------------------------------------------------------
// Part 1: header representation
// ---------------------------------------------------------------------------

/** The same rules as buildUpstreamHeaders, producing an object (for comparison only). */
function buildAsObject(raw: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  let xff: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    switch (name) {
      case 'host': case 'connection': case 'keep-alive': case 'te': case 'trailer': case 'transfer-encoding':
      case 'upgrade': case 'proxy-connection': case 'expect': case 'x-real-ip': case 'forwarded':
      case 'x-forwarded-proto': case 'x-forwarded-host': case 'x-forwarded-port':
        break;
      case 'x-forwarded-for':
        xff = xff === undefined ? raw[i + 1]! : `${xff}, ${raw[i + 1]!}`;
        break;
      default:
        out[name] = out[name] === undefined ? raw[i + 1]! : `${out[name]}, ${raw[i + 1]!}`;
    }
  }
  out['x-real-ip'] = DOWNSTREAM.remoteAddr;
  out['x-forwarded-for'] = xff ? `${xff}, ${DOWNSTREAM.remoteAddr}` : DOWNSTREAM.remoteAddr;
  out['x-forwarded-proto'] = 'http';
  out['x-forwarded-host'] = DOWNSTREAM.host;
  out['x-forwarded-port'] = '9080';
  return out;
}

function timePerOp(label: string, iterations: number, fn: () => unknown): number {
  for (let i = 0; i < iterations / 10; i++) fn();
  const start = process.hrtime.bigint();
  let sink: unknown;
  for (let i = 0; i < iterations; i++) sink = fn();
  const ns = Number(process.hrtime.bigint() - start) / iterations;
  if (sink === Symbol.for('never')) console.log(sink);
  console.log(`  ${label.padEnd(52)} ${(ns / 1000).toFixed(3)} µs/op`);
  return ns;
}

function headerRepresentation(): void {
  console.log('Header representation (12 request headers):');
  const flat = buildUpstreamHeaders(RAW_HEADERS, DOWNSTREAM, {});
  timePerOp('build flat list (buildUpstreamHeaders)', 1_000_000, () => buildUpstreamHeaders(RAW_HEADERS, DOWNSTREAM, {}));
  timePerOp('build object (lower-cased keys)', 1_000_000, () => buildAsObject(RAW_HEADERS));
  timePerOp('request head from the flat list (prepareRequest)', 300_000, () => prepareRequest('GET', '/bench?x=1', flat, null, '127.0.0.1:1980', false));
  const response = Buffer.from(`HTTP/1.1 200 OK\r\nServer: nginx\r\nDate: Sat, 21 Nov 2026 14:28:23 GMT\r\nContent-Type: text/plain\r\n`
    + `Content-Length: 1024\r\nConnection: keep-alive\r\n\r\n${'x'.repeat(1024)}`, 'latin1');
  const parser = new ResponseParser({ onHead() {}, onBody() {}, onComplete() {} }, 16 * 1024);
  timePerOp('parse an nginx response (5 headers, 1 KiB body)', 300_000, () => {
    parser.reset(false);
    return parser.execute(response);
  });
}

// ---------------------------------------------------------------------------
// Part 2: throughput, in child processes
// ---------------------------------------------------------------------------

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'host']);
function endToEnd(headers: http.IncomingHttpHeaders | Record<string, string | string[] | undefined>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(headers)) if (v !== undefined && !HOP_BY_HOP.has(k)) out[k] = v;
  return out;
}

/** `GET /__cpu` answers the process's CPU time so far (µs), which is steadier than req/s on a shared machine. */
function listen(handler: http.RequestListener): void {
  const server = http.createServer((req, res) => {
    if (req.url === '/__cpu') {
      const { user, system } = process.cpuUsage();
      res.end(String(user + system));
      return;
    }
    handler(req, res);
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => process.stdout.write(`${(server.address() as AddressInfo).port}\n`));
}

function runUpstream(): void {
  const body = Buffer.from('hello world\n');
  listen((_req, res) => res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length }).end(body));
}

function runBare(upstreamPort: number): void {
  const pool = new Pool(`http://127.0.0.1:${upstreamPort}`, { connections: 64, pipelining: 1, keepAliveTimeout: 60e3 });
  listen((req, res) => {
    const hasBody = requestHasBody(req.rawHeaders);
    pool.stream(
      { path: req.url ?? '/', method: (req.method ?? 'GET') as 'GET', headers: endToEnd(req.headers), body: hasBody ? req : null, opaque: res },
      ({ statusCode, headers, opaque }) => {
        const out = opaque as http.ServerResponse;
        out.writeHead(statusCode, endToEnd(headers));
        return out;
      },
      (err) => {
        if (err && !res.headersSent) res.writeHead(502).end();
      },
    );
  });
}

/** End-to-end client headers only, as the bare forwarder sends (no X-Real-IP / X-Forwarded-*). */
function plainHeaders(raw: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    if (!HOP_BY_HOP.has(raw[i]!.toLowerCase())) out.push(raw[i]!, raw[i + 1]!);
  }
  return out;
}

/**
 * `forward`: the real path (proxy headers included). `forward-plain`: forward()
 * with only the end-to-end client headers, i.e. the bare forwarder's request,
 * to separate forward()'s own cost from the cost of the spec'd proxy headers.
 */
function runForward(upstreamPort: number, plain: boolean): void {
  const pools = new PoolManager();
  const upstream = compileUpstream(
    { nodes: { [`127.0.0.1:${upstreamPort}`]: 1 }, keepalive_pool: { size: 64, idle_timeout: 60, requests: 100_000 } },
    { pools, defaults: { keepalive: 320, keepalive_requests: 1000, keepalive_timeout: 60 } },
  );
  const vars = (): undefined => undefined;
  listen((req, res) => {
    const host = req.headers.host ?? '';
    const remoteAddr = req.socket.remoteAddress ?? '';
    const headers = plain
      ? plainHeaders(req.rawHeaders)
      : buildUpstreamHeaders(req.rawHeaders, { remoteAddr, scheme: 'http', host, serverPort: 9080 }, {});
    forward(upstream, {
      method: req.method ?? 'GET',
      path: req.url ?? '/',
      headers,
      clientHost: host,
      body: requestHasBody(req.rawHeaders) ? req : null,
      vars,
      remoteAddr,
    }, { onResponse: (status, h) => res.writeHead(status, h) }).then((outcome) => {
      if (outcome.kind === 'failed') res.writeHead(outcome.status).end();
    }, () => res.destroy());
  });
}

function startChild(childRole: string, childArg = ''): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', SELF, childRole, childArg], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.stdout!.once('data', (d: Buffer) => resolve({ child, port: Number(d.toString().trim()) }));
    child.once('exit', (code) => reject(new Error(`${childRole} exited with ${code}`)));
  });
}

async function cpuMicros(port: number): Promise<number> {
  const client = new Pool(`http://127.0.0.1:${port}`);
  const { body } = await client.request({ path: '/__cpu', method: 'GET' });
  const value = Number(await body.text());
  await client.close();
  return value;
}

/** Requests per second and the proxy's CPU µs per request. */
async function load(port: number, seconds: number, concurrency: number): Promise<{ rps: number; cpuPerRequest: number }> {
  const cpuBefore = await cpuMicros(port);
  const client = new Pool(`http://127.0.0.1:${port}`, { connections: concurrency, pipelining: 1 });
  const headers: Record<string, string> = {};
  for (let i = 2; i < RAW_HEADERS.length; i += 2) {
    const name = RAW_HEADERS[i]!;
    if (name !== 'Connection') headers[name] = RAW_HEADERS[i + 1]!;
  }
  let done = 0;
  const deadline = performance.now() + seconds * 1000;
  const worker = async (): Promise<void> => {
    while (performance.now() < deadline) {
      const { body, statusCode } = await client.request({ path: '/bench?x=1', method: 'GET', headers });
      await body.dump();
      if (statusCode === 200) done += 1;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  await client.close();
  const cpu = (await cpuMicros(port)) - cpuBefore;
  return { rps: done / seconds, cpuPerRequest: cpu / done };
}

async function main(): Promise<void> {
  const seconds = Number(process.argv[2] ?? 3) || 3;
  const concurrency = Number(process.argv[3] ?? 32) || 32;
  headerRepresentation();

  console.log(`\nThroughput (GET, 12-byte body, ${concurrency} connections, ${seconds} s per run):`);
  const upstream = await startChild('upstream');
  const variants = ['bare', 'forward-plain', 'forward'] as const;
  const rps: Record<string, number[]> = { bare: [], 'forward-plain': [], forward: [] };
  const cpu: Record<string, number[]> = { bare: [], 'forward-plain': [], forward: [] };
  const rounds = 3;
  try {
    for (let round = 0; round < rounds; round++) {
      for (const variant of variants) {
        const proxy = await startChild(variant, String(upstream.port));
        await load(proxy.port, 1, concurrency); // warm-up
        const result = await load(proxy.port, seconds, concurrency);
        rps[variant]!.push(result.rps);
        cpu[variant]!.push(result.cpuPerRequest);
        console.log(`  ${variant.padEnd(13)} round ${round + 1}: ${result.rps.toFixed(0)} req/s, proxy CPU ${result.cpuPerRequest.toFixed(1)} µs/request`);
        proxy.child.kill();
      }
    }
  } finally {
    upstream.child.kill();
  }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const bareRps = median(rps.bare!);
  const bareCpu = median(cpu.bare!);
  for (const variant of variants) {
    const r = median(rps[variant]!);
    const c = median(cpu[variant]!);
    console.log(`  median ${variant.padEnd(13)} ${r.toFixed(0)} req/s (${(r / bareRps).toFixed(3)}× bare), ${c.toFixed(1)} µs CPU/request (${(c / bareCpu).toFixed(3)}×)`);
  }
}

// Exit normally on kill() so `--cpu-prof` profiles of a child get written.
if (role !== 'main') process.on('SIGTERM', () => process.exit(0));

switch (role) {
  case 'upstream': runUpstream(); break;
  case 'bare': runBare(Number(arg)); break;
  case 'forward': runForward(Number(arg), false); break;
  case 'forward-plain': runForward(Number(arg), true); break;
  default: await main();
}
