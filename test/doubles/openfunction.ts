/**
 * fake-openfunction (spec/serverless-platforms.md §2.4): OpenFunction sync
 * functions are plain HTTP servers, so the double is the three Go functions
 * APISIX CI runs (§2.3), byte for byte, one server per function as in CI —
 * plus an optional OpenFunction-gateway mode that dispatches by host
 * (`{name}.{namespace}.{domain}`) or by path prefix (`/{namespace}/{name}`,
 * never stripped, §2.1), and the same functions on the real
 * `@google-cloud/functions-framework` runtime (§2.5).
 *
 * No auth checks anywhere: OpenFunction adds none (§2.1).
 */
import type { Server } from 'node:http';
import { http as registerHttpFunction } from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { startHttpDouble, type HttpDouble, type RecordedRequest, type Reply } from './http-double.js';

/** The APISIX CI functions (ports 30583, 30584, 30585 there). */
export type CiFunction = 'test-header' | 'test-uri' | 'test-body';

/** Go's net/http content sniffing result for these texts. */
const GO_TEXT = 'text/plain; charset=utf-8';

/** chi's / net/http's NotFound (`http.Error(w, "404 page not found", 404)`). */
export const GO_NOT_FOUND: Reply = Object.freeze({
  status: 404,
  headers: [['Content-Type', GO_TEXT], ['X-Content-Type-Options', 'nosniff']] as const,
  body: '404 page not found\n',
});

/** The Go functions-framework's answer to a panic: 500, `X-OpenFunction-Status: crash`. */
export function crashReply(message = 'runtime error: invalid memory address or nil pointer dereference'): Reply {
  return { status: 500, headers: [['Content-Type', GO_TEXT], ['X-OpenFunction-Status', 'crash']], body: `Function panic: ${message}\n` };
}

const text = (body: string): Reply => ({ status: 200, headers: [['Content-Type', GO_TEXT]], body });

/** Every `Authorization` line as received (Go keeps each one; Node's parser keeps only the first). */
function authorizationValues(request: RecordedRequest): string[] {
  const values: string[] = [];
  for (let i = 0; i + 1 < request.rawHeaders.length; i += 2) {
    if ((request.rawHeaders[i] as string).toLowerCase() === 'authorization') values.push(request.rawHeaders[i + 1] as string);
  }
  return values;
}

/** Go's `r.URL.Path`: the decoded path. */
function decodedPath(request: RecordedRequest): string {
  try {
    return decodeURIComponent(request.path);
  } catch {
    return request.path;
  }
}

/**
 * The answer of one CI function (spec §2.3):
 * - test-header: `[` + Authorization values joined with a space + `]` (Go's `%v` of a []string);
 * - test-uri: `Hello, <path without leading />!\n`, 404 when that is empty or has a `/`;
 * - test-body: `Hello, <raw body>!\n` for any path and method.
 *
 * @example ciFunction('test-uri', request) // { status: 200, ..., body: 'Hello, function-sample!\n' }
 */
export function ciFunction(name: CiFunction, request: RecordedRequest): Reply {
  switch (name) {
    case 'test-header':
      return text(`[${authorizationValues(request).join(' ')}]`);
    case 'test-uri': {
      const greeting = decodedPath(request).replace(/^\//, '');
      if (greeting === '' || greeting.includes('/')) return GO_NOT_FOUND;
      return text(`Hello, ${greeting}!\n`);
    }
    case 'test-body':
      return text(`Hello, ${request.body.toString('latin1')}!\n`);
  }
}

/** A `faults.status` answer: a 500 is the framework's crash answer, anything else an empty text body. */
function faultReply(status: number): Reply {
  return status === 500 ? crashReply() : { status, headers: [['Content-Type', GO_TEXT]], body: '' };
}

export interface OpenFunctionDoubleOptions {
  /** Serve HTTPS with this certificate. */
  readonly tls?: { readonly cert: string; readonly key: string };
}

/**
 * One CI function on its own port, as APISIX CI publishes them.
 *
 * @example
 *   const fn = await startOpenFunctionDouble('test-uri');
 *   // function_uri: `${fn.origin}/function-sample` → 'Hello, function-sample!\n'
 */
export function startOpenFunctionDouble(name: CiFunction, options: OpenFunctionDoubleOptions = {}): Promise<HttpDouble> {
  return startHttpDouble((request) => ciFunction(name, request), { faultReply, ...(options.tls ? { tls: options.tls } : {}) });
}

export interface OpenFunctionGatewayOptions {
  /** `host`: `{name}.{namespace}.{domain}` (the default gateway); `path`: `/{namespace}/{name}` prefix. */
  readonly mode: 'host' | 'path';
  /** Default gateway domain `ofn.io`. */
  readonly domain?: string;
  /** Functions by `namespace/name`, e.g. `{ 'default/function-sample': 'test-uri' }`. */
  readonly functions: Readonly<Record<string, CiFunction>>;
}

/**
 * The OpenFunction gateway in front of several functions. An unknown host
 * or prefix gets Envoy's 404 with an empty body (spec §2.4 item 4; the
 * exact text is unconfirmed, so tests assert only the status).
 *
 * @example
 *   const gw = await startOpenFunctionGateway({ mode: 'path', functions: { 'default/function-sample': 'test-body' } });
 */
export function startOpenFunctionGateway(options: OpenFunctionGatewayOptions): Promise<HttpDouble> {
  const domain = options.domain ?? 'ofn.io';
  const byHost = new Map<string, CiFunction>();
  const byPrefix = new Map<string, CiFunction>();
  for (const [key, fn] of Object.entries(options.functions)) {
    const [namespace, name] = key.split('/') as [string, string];
    byHost.set(`${name}.${namespace}.${domain}`, fn);
    byPrefix.set(`/${namespace}/${name}`, fn);
  }
  return startHttpDouble((request) => {
    let fn: CiFunction | undefined;
    if (options.mode === 'host') {
      fn = byHost.get((request.headers.host ?? '').replace(/:\d+$/, '').toLowerCase());
    } else {
      const [, namespace, name] = request.path.split('/', 3);
      fn = byPrefix.get(`/${namespace}/${name}`);
    }
    return fn === undefined ? { status: 404, body: '' } : ciFunction(fn, request);
  }, { faultReply });
}

/** A function served by the real functions-framework runtime. */
export interface FrameworkFunction {
  readonly server: Server;
  readonly port: number;
  readonly origin: string;
  close(): Promise<void>;
}

let frameworkRegistered = false;

async function readAll(stream: AsyncIterable<Buffer>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** The CI functions written against the functions-framework (Express) API, registered once per process. */
function registerFrameworkFunctions(): void {
  if (frameworkRegistered) return;
  frameworkRegistered = true;
  registerHttpFunction('test-uri', (req, res) => {
    const greeting = req.path.replace(/^\//, '');
    if (greeting === '' || greeting.includes('/')) {
      res.status(404).set('X-Content-Type-Options', 'nosniff').type('text/plain').send('404 page not found\n');
      return;
    }
    res.type('text/plain').send(`Hello, ${greeting}!\n`);
  });
  registerHttpFunction('test-body', async (req, res) => {
    // The framework's body parsers keep `rawBody` only for requests with a Content-Type;
    // otherwise the body is still unread on the request stream.
    const raw = (req as { rawBody?: Buffer }).rawBody ?? await readAll(req);
    res.type('text/plain').send(`Hello, ${raw.toString('latin1')}!\n`);
  });
  registerHttpFunction('test-header', (req, res) => {
    const values: string[] = [];
    for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
      if ((req.rawHeaders[i] as string).toLowerCase() === 'authorization') values.push(req.rawHeaders[i + 1] as string);
    }
    res.type('text/plain').send(`[${values.join(' ')}]`);
  });
}

/**
 * One CI function on `@google-cloud/functions-framework` 5 — the runtime
 * the OpenFunction Node framework derives from — through its test server,
 * listening on 127.0.0.1 only (its CLI would bind every interface).
 *
 * @example
 *   const fn = await startFrameworkFunction('test-uri');
 */
export async function startFrameworkFunction(name: CiFunction): Promise<FrameworkFunction> {
  registerFrameworkFunctions();
  const server = getTestServer(name);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    server,
    port,
    origin: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
