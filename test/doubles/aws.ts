/**
 * "fake-aws": Amazon API Gateway (REST and HTTP APIs), Lambda function URLs
 * and the Lambda Invoke API on 127.0.0.1, for tests of the `aws-lambda`
 * plugin (spec/serverless-platforms.md §4.5). One server per instance, one
 * mode per server:
 *
 * - `rest`: `/{stage}/...` resources with `none` / `apikey` / `iam` /
 *   `apikey+iam` auth; unknown stage, resource or method →
 *   403 `Missing Authentication Token` (REST's "not found"); proxy event 1.0.
 * - `httpapi`: routes under an optional stage (`$default` has no prefix);
 *   unknown → 404 `Not Found`; `none` / `iam`; event 2.0.
 * - `function-url`: every path goes to the one function of `routes[0]`;
 *   `none` / `iam`; event 2.0.
 * - `invoke`: `POST /2015-03-31/functions/{name}/invocations`, always SigV4
 *   (service `lambda`), `X-Amz-Invocation-Type`, function errors as
 *   200 + `X-Amz-Function-Error`, unknown names → 404.
 *
 * IAM auth uses the independent verifier of `aws-sigv4-verifier.ts`, which
 * rebuilds the canonical request from the request as received. Every request
 * is recorded (with the verifier's verdict) so tests can assert what the
 * gateway sent, and fault switches force delays, resets or fixed answers.
 *
 * Texts marked [unconfirmed] in §4.3/§4.4 are reproduced as documented
 * there; tests should not pin them byte for byte.
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { randomBytes, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { MISSING_TOKEN, verifySigV4, type Verification } from './aws-sigv4-verifier.js';
import { startLoopbackServer } from './loopback-server.js';

export type AwsMode = 'rest' | 'httpapi' | 'function-url' | 'invoke';
export type AwsRouteAuth = 'none' | 'apikey' | 'iam' | 'apikey+iam';

export interface AwsRoute {
  /** `GET`, `POST`, ... or `ANY`. */
  readonly method: string;
  /** Resource path: `/fn`, `/items/{id}`, `/proxy/{proxy+}`. */
  readonly path: string;
  readonly auth: AwsRouteAuth;
  /** Name of the function in {@link AwsDoubleConfig.functions}. */
  readonly fn: string;
}

export interface LambdaContext {
  readonly awsRequestId: string;
  readonly functionName: string;
  getRemainingTimeInMillis(): number;
}

// The event shape is AWS's (payload 1.0 or 2.0); functions read what they need.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AwsFunction = (event: any, context: LambdaContext) => unknown;

export interface AwsFunctionSpec {
  readonly handler: AwsFunction;
  /** The function's own timeout (ms, default 3000): longer runs fail like a crash. */
  readonly timeoutMs?: number;
}

/**
 * A forced answer for every request: a fixed status/body, a socket closed
 * or left hanging, or only a delay before the normal handling.
 */
export type AwsFault =
  | { readonly status: number; readonly body?: string; readonly headers?: Readonly<Record<string, string>>; readonly delayMs?: number }
  | { readonly socket: 'close' | 'hang' }
  | { readonly delayMs: number };

export interface AwsDoubleConfig {
  readonly mode: AwsMode;
  /** rest: path prefix (default `default`); httpapi: `$default` (no prefix, the default) or a name. */
  readonly stage?: string;
  readonly routes?: readonly AwsRoute[];
  readonly apiKeys?: readonly string[];
  /** Secret access keys by access key id. */
  readonly credentials?: Readonly<Record<string, string>>;
  /** Expected signing scope (default `us-east-1`, and `execute-api`, or `lambda` for function-url / invoke). */
  readonly region?: string;
  readonly service?: string;
  /** Largest accepted clock skew of a signed request (default 300000 ms). */
  readonly clockSkewMs?: number;
  readonly functions: Readonly<Record<string, AwsFunction | AwsFunctionSpec>>;
  /** API Gateway's integration timeout (default 29000 ms). */
  readonly integrationTimeoutMs?: number;
  /** The double's clock for signature dates (default `Date.now`). */
  readonly now?: () => number;
  /** How many requests are kept (default 100). */
  readonly recordLimit?: number;
  readonly port?: number;
}

export interface AwsRecordedRequest {
  readonly method: string;
  /** Raw request-target (path and query as sent). */
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly rawHeaders: readonly string[];
  readonly body: Buffer;
  /** 1-based index of the TCP connection it came on. */
  readonly connection: number;
  /** The SigV4 verifier's verdict, for requests to IAM routes. */
  readonly verification?: Verification;
}

export interface AwsDouble {
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  readonly port: number;
  readonly requests: readonly AwsRecordedRequest[];
  lastRequest(): AwsRecordedRequest | undefined;
  /** TCP connections accepted so far. */
  connections(): number;
  /** Force (or, with undefined, stop forcing) an answer for every request. */
  setFault(fault: AwsFault | undefined): void;
  clearRequests(): void;
  close(): Promise<void>;
}

const ACCOUNT_ID = '123456789012';
const INTERNAL_ERROR = 'Internal server error';
/** Lambda's longest run (15 min): the Invoke API has no integration timeout of its own. */
const LAMBDA_MAX_RUN_MS = 900_000;

interface Reply {
  readonly status: number;
  readonly headers: Record<string, string | string[]>;
  readonly body: Buffer;
}

function jsonReply(status: number, body: unknown, headers: Record<string, string> = {}): Reply {
  return { status, headers: { 'content-type': 'application/json', ...headers }, body: Buffer.from(JSON.stringify(body)) };
}

/** API Gateway's default gateway responses (§4.3): `{"message": ...}` + `x-amzn-ErrorType`. */
function gatewayError(status: number, message: string, errorType: string): Reply {
  return jsonReply(status, { message }, { 'x-amzn-ErrorType': errorType });
}

// ---------------------------------------------------------------- routing

interface CompiledRoute {
  readonly route: AwsRoute;
  readonly segments: readonly string[];
}

interface RouteMatch {
  readonly route: AwsRoute;
  readonly pathParameters: Record<string, string> | null;
}

function splitPath(path: string): string[] {
  return path.split('/').filter((s) => s !== '');
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** Match a path (after the stage) against resource templates: literals, `{name}`, a final `{name+}`. */
function matchRoute(routes: readonly CompiledRoute[], method: string, path: string): RouteMatch | 'no-method' | undefined {
  const parts = splitPath(path);
  let pathMatched = false;
  for (const { route, segments } of routes) {
    const params: Record<string, string> = {};
    let ok = true;
    for (let i = 0; i < segments.length && ok; i++) {
      const template = segments[i] as string;
      const part = parts[i];
      if (template.startsWith('{') && template.endsWith('+}')) {
        if (i !== segments.length - 1 || part === undefined) ok = false;
        else params[template.slice(1, -2)] = parts.slice(i).map(decodeSegment).join('/') + (path.endsWith('/') ? '/' : '');
        break;
      }
      if (part === undefined) ok = false;
      else if (template.startsWith('{') && template.endsWith('}')) params[template.slice(1, -1)] = decodeSegment(part);
      else if (decodeSegment(part) !== template) ok = false;
    }
    const greedy = segments.at(-1)?.endsWith('+}') === true;
    if (!ok || (!greedy && parts.length !== segments.length)) continue;
    pathMatched = true;
    if (route.method !== 'ANY' && route.method !== method) continue;
    return { route, pathParameters: Object.keys(params).length === 0 ? null : params };
  }
  return pathMatched ? 'no-method' : undefined;
}

// ---------------------------------------------------------------- events

interface Received {
  readonly req: IncomingMessage;
  readonly body: Buffer;
  readonly requestId: string;
  /** Path and query of the request-target. */
  readonly rawPath: string;
  readonly rawQuery: string;
}

function queryPairs(rawQuery: string): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  for (const part of rawQuery.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const decode = (s: string) => decodeSegment(s.replace(/\+/g, ' '));
    pairs.push(eq === -1 ? [decode(part), ''] : [decode(part.slice(0, eq)), decode(part.slice(eq + 1))]);
  }
  return pairs;
}

function headerLines(rawHeaders: readonly string[]): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) out.push([rawHeaders[i] as string, rawHeaders[i + 1] as string]);
  return out;
}

function bodyText(body: Buffer): string | null {
  return body.length === 0 ? null : body.toString('utf8');
}

/** REST API proxy integration event, payload format 1.0 (§4.3). */
function restEvent(r: Received, match: RouteMatch, stage: string, path: string, identity: { apiKey: string | null; accessKey: string | null }) {
  const headers: Record<string, string> = {};
  const multiValueHeaders: Record<string, string[]> = {};
  for (const [name, value] of headerLines(r.req.rawHeaders)) {
    headers[name] = value;
    (multiValueHeaders[name] ??= []).push(value);
  }
  const pairs = queryPairs(r.rawQuery);
  const query: Record<string, string> = {};
  const multiQuery: Record<string, string[]> = {};
  for (const [name, value] of pairs) {
    query[name] = value; // the last value wins
    (multiQuery[name] ??= []).push(value);
  }
  const method = r.req.method ?? 'GET';
  return {
    resource: match.route.path,
    path: decodeSegment(path),
    httpMethod: method,
    headers,
    multiValueHeaders,
    queryStringParameters: pairs.length === 0 ? null : query,
    multiValueQueryStringParameters: pairs.length === 0 ? null : multiQuery,
    pathParameters: match.pathParameters,
    stageVariables: null,
    requestContext: {
      resourcePath: match.route.path,
      httpMethod: method,
      path: decodeSegment(r.rawPath),
      stage,
      requestId: r.requestId,
      apiId: 'fakeapi123',
      accountId: ACCOUNT_ID,
      identity: {
        sourceIp: r.req.socket.remoteAddress ?? null,
        userAgent: r.req.headers['user-agent'] ?? null,
        apiKey: identity.apiKey,
        accessKey: identity.accessKey,
        userArn: identity.accessKey === null ? null : `arn:aws:iam::${ACCOUNT_ID}:user/${identity.accessKey}`,
      },
    },
    body: bodyText(r.body),
    isBase64Encoded: false,
  };
}

/** HTTP API / function URL event, payload format 2.0 (§4.3). */
function v2Event(r: Received, routeKey: string, stage: string, pathParameters: Record<string, string> | null) {
  const headers: Record<string, string> = {};
  const cookies: string[] = [];
  for (const [name, value] of headerLines(r.req.rawHeaders)) {
    const lower = name.toLowerCase();
    if (lower === 'cookie') cookies.push(...value.split(';').map((c) => c.trim()).filter((c) => c !== ''));
    else headers[lower] = headers[lower] === undefined ? value : `${headers[lower]},${value}`;
  }
  const pairs = queryPairs(r.rawQuery);
  const query: Record<string, string> = {};
  for (const [name, value] of pairs) query[name] = query[name] === undefined ? value : `${query[name]},${value}`;
  const now = Date.now();
  return {
    version: '2.0',
    routeKey,
    rawPath: r.rawPath,
    rawQueryString: r.rawQuery,
    ...(cookies.length === 0 ? {} : { cookies }),
    headers,
    ...(pairs.length === 0 ? {} : { queryStringParameters: query }),
    ...(pathParameters === null ? {} : { pathParameters }),
    requestContext: {
      accountId: ACCOUNT_ID,
      apiId: 'fakeapi123',
      domainName: r.req.headers.host ?? '',
      http: {
        method: r.req.method ?? 'GET',
        path: r.rawPath,
        protocol: `HTTP/${r.req.httpVersion}`,
        sourceIp: r.req.socket.remoteAddress ?? '',
        userAgent: r.req.headers['user-agent'] ?? '',
      },
      requestId: r.requestId,
      routeKey,
      stage,
      time: new Date(now).toUTCString(),
      timeEpoch: now,
    },
    ...(r.body.length === 0 ? {} : { body: r.body.toString('utf8') }),
    isBase64Encoded: false,
  };
}

// ---------------------------------------------------------------- results

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A proxy-integration result (`statusCode`, `headers`, `multiValueHeaders`, `body`, `isBase64Encoded`) as a reply, or undefined when malformed. */
function proxyResult(output: unknown): Reply | undefined {
  if (!isRecord(output) || !Number.isInteger(output.statusCode)) return undefined;
  if (output.body !== undefined && output.body !== null && typeof output.body !== 'string') return undefined;
  const headers: Record<string, string | string[]> = {};
  if (output.headers !== undefined) {
    if (!isRecord(output.headers)) return undefined;
    for (const [name, value] of Object.entries(output.headers)) headers[name] = String(value);
  }
  if (output.multiValueHeaders !== undefined) {
    if (!isRecord(output.multiValueHeaders)) return undefined;
    for (const [name, values] of Object.entries(output.multiValueHeaders)) {
      if (!Array.isArray(values)) return undefined;
      headers[name] = values.map(String);
    }
  }
  if (Array.isArray(output.cookies)) headers['set-cookie'] = output.cookies.map(String);
  const text = typeof output.body === 'string' ? output.body : '';
  const body = output.isBase64Encoded === true ? Buffer.from(text, 'base64') : Buffer.from(text);
  return { status: output.statusCode as number, headers, body };
}

type Outcome = { readonly kind: 'ok'; readonly value: unknown } | { readonly kind: 'error'; readonly error: unknown } | { readonly kind: 'function-timeout' } | { readonly kind: 'integration-timeout' };

function functionSpec(fn: AwsFunction | AwsFunctionSpec): AwsFunctionSpec {
  return typeof fn === 'function' ? { handler: fn } : fn;
}

/** Run a function under its own timeout and API Gateway's integration timeout. */
async function invoke(name: string, fn: AwsFunctionSpec, event: unknown, requestId: string, integrationTimeoutMs: number): Promise<Outcome> {
  const timeoutMs = fn.timeoutMs ?? 3000;
  const started = Date.now();
  const context: LambdaContext = {
    awsRequestId: requestId,
    functionName: name,
    getRemainingTimeInMillis: () => Math.max(0, timeoutMs - (Date.now() - started)),
  };
  const abort = new AbortController();
  const run = (async (): Promise<Outcome> => {
    try {
      return { kind: 'ok', value: await fn.handler(event, context) };
    } catch (error) {
      return { kind: 'error', error };
    }
  })();
  // Unref'd: a function that never settles must not keep the test process alive.
  const functionTimer = sleep(timeoutMs, { kind: 'function-timeout' } as Outcome, { signal: abort.signal, ref: false });
  const integrationTimer = sleep(integrationTimeoutMs, { kind: 'integration-timeout' } as Outcome, { signal: abort.signal, ref: false });
  try {
    return await Promise.race([run, functionTimer, integrationTimer]);
  } finally {
    abort.abort();
    functionTimer.catch(() => undefined);
    integrationTimer.catch(() => undefined);
  }
}

function errorPayload(error: unknown): { errorMessage: string; errorType: string; stackTrace: string[] } {
  const err = error instanceof Error ? error : new Error(String(error));
  return { errorMessage: err.message, errorType: err.name, stackTrace: (err.stack ?? '').split('\n').slice(1).map((l) => l.trim()) };
}

// ---------------------------------------------------------------- server

/**
 * Start a fake AWS endpoint.
 *
 * @example
 *   const aws = await startAwsDouble({
 *     mode: 'rest', stage: 'default', apiKeys: ['k1'], credentials: { AKID: 'secret' },
 *     routes: [{ method: 'ANY', path: '/fn', auth: 'iam', fn: 'echo' }],
 *     functions: { echo: async (event) => ({ statusCode: 200, body: JSON.stringify(event) }) },
 *   });
 *   // POST `${aws.url}/default/fn` signed for us-east-1/execute-api ...
 *   await aws.close();
 */
export async function startAwsDouble(config: AwsDoubleConfig): Promise<AwsDouble> {
  const mode = config.mode;
  const stage = config.stage ?? (mode === 'rest' ? 'default' : '$default');
  const routes: CompiledRoute[] = (config.routes ?? []).map((route) => ({ route, segments: splitPath(route.path) }));
  const apiKeys = new Set(config.apiKeys ?? []);
  const verifierOptions = {
    credentials: config.credentials ?? {},
    region: config.region ?? 'us-east-1',
    service: config.service ?? (mode === 'rest' || mode === 'httpapi' ? 'execute-api' : 'lambda'),
    clockSkewMs: config.clockSkewMs ?? 300_000,
    now: config.now ?? Date.now,
  };
  const integrationTimeoutMs = config.integrationTimeoutMs ?? 29_000;
  const recordLimit = config.recordLimit ?? 100;
  const requests: AwsRecordedRequest[] = [];
  let fault: AwsFault | undefined;

  function record(entry: AwsRecordedRequest): void {
    requests.push(entry);
    if (requests.length > recordLimit) requests.shift();
  }

  function verify(r: Received): Verification {
    return verifySigV4({ method: r.req.method ?? 'GET', url: r.req.url ?? '/', rawHeaders: r.req.rawHeaders, body: r.body }, verifierOptions);
  }

  /** Auth of a matched route (§4.5 items 2–3): IAM first, then the API key, as API Gateway orders them. */
  function authorize(r: Received, auth: AwsRouteAuth): { failure?: Reply; verification?: Verification; apiKey: string | null; accessKey: string | null } {
    let verification: Verification | undefined;
    let accessKey: string | null = null;
    if (auth === 'iam' || auth === 'apikey+iam') {
      verification = verify(r);
      if (!verification.ok) return { failure: iamFailure(verification), verification, apiKey: null, accessKey };
      accessKey = verification.accessKey;
    }
    let apiKey: string | null = null;
    if (auth === 'apikey' || auth === 'apikey+iam') {
      const given = r.req.headers['x-api-key'];
      if (typeof given !== 'string' || !apiKeys.has(given)) {
        return { failure: gatewayError(403, 'Forbidden', 'ForbiddenException'), ...(verification ? { verification } : {}), apiKey, accessKey };
      }
      apiKey = given;
    }
    return { ...(verification ? { verification } : {}), apiKey, accessKey };
  }

  function iamFailure(v: Verification & { ok: false }): Reply {
    if (mode === 'function-url' && v.errorType === 'MissingAuthenticationTokenException') {
      // [unconfirmed] function URLs answer unsigned requests with a capitalised key.
      return jsonReply(403, { Message: 'Forbidden' }, { 'x-amzn-ErrorType': 'AccessDeniedException' });
    }
    return gatewayError(403, v.message, v.errorType);
  }

  async function integrate(r: Received, fnName: string, event: unknown, v2: boolean): Promise<Reply> {
    const fn = config.functions[fnName];
    if (fn === undefined) return gatewayError(500, INTERNAL_ERROR, 'InternalServerErrorException');
    const outcome = await invoke(fnName, functionSpec(fn), event, r.requestId, integrationTimeoutMs);
    if (outcome.kind === 'integration-timeout') return gatewayError(504, 'Endpoint request timed out', 'IntegrationTimeout');
    if (outcome.kind !== 'ok') return gatewayError(502, INTERNAL_ERROR, 'InternalServerErrorException');
    if (v2 && !(isRecord(outcome.value) && 'statusCode' in outcome.value)) {
      // Payload 2.0: any JSON value without statusCode is a 200 JSON body.
      return jsonReply(200, outcome.value ?? null);
    }
    return proxyResult(outcome.value) ?? gatewayError(502, INTERNAL_ERROR, 'InternalServerErrorException');
  }

  async function handleRest(r: Received): Promise<{ reply: Reply; verification?: Verification }> {
    const prefix = `/${stage}`;
    const inStage = r.rawPath === prefix || r.rawPath.startsWith(`${prefix}/`);
    const path = inStage ? r.rawPath.slice(prefix.length) || '/' : '';
    const match = inStage ? matchRoute(routes, r.req.method ?? 'GET', path) : undefined;
    if (match === undefined || match === 'no-method') {
      return { reply: gatewayError(403, MISSING_TOKEN, 'MissingAuthenticationTokenException') };
    }
    const auth = authorize(r, match.route.auth);
    const verification = auth.verification ? { verification: auth.verification } : {};
    if (auth.failure) return { reply: auth.failure, ...verification };
    const event = restEvent(r, match, stage, path, { apiKey: auth.apiKey, accessKey: auth.accessKey });
    return { reply: await integrate(r, match.route.fn, event, false), ...verification };
  }

  async function handleHttpApi(r: Received): Promise<{ reply: Reply; verification?: Verification }> {
    const prefix = stage === '$default' ? '' : `/${stage}`;
    const inStage = prefix === '' || r.rawPath === prefix || r.rawPath.startsWith(`${prefix}/`);
    const path = inStage ? r.rawPath.slice(prefix.length) || '/' : '';
    const match = inStage ? matchRoute(routes, r.req.method ?? 'GET', path) : undefined;
    if (match === undefined || match === 'no-method') return { reply: jsonReply(404, { message: 'Not Found' }) };
    const auth = authorize(r, match.route.auth === 'iam' ? 'iam' : 'none'); // HTTP APIs have no API keys
    const verification = auth.verification ? { verification: auth.verification } : {};
    if (auth.failure) return { reply: auth.failure, ...verification };
    const routeKey = `${match.route.method === 'ANY' ? 'ANY' : match.route.method} ${match.route.path}`;
    return { reply: await integrate(r, match.route.fn, v2Event(r, routeKey, stage, match.pathParameters), true), ...verification };
  }

  async function handleFunctionUrl(r: Received): Promise<{ reply: Reply; verification?: Verification }> {
    const route = routes[0]?.route;
    if (route === undefined) return { reply: jsonReply(404, { Message: 'Not Found' }) };
    const auth = authorize(r, route.auth === 'iam' ? 'iam' : 'none');
    const verification = auth.verification ? { verification: auth.verification } : {};
    if (auth.failure) return { reply: auth.failure, ...verification };
    return { reply: await integrate(r, route.fn, v2Event(r, '$default', '$default', null), true), ...verification };
  }

  /** Lambda Invoke API (§4.4). */
  async function handleInvoke(r: Received): Promise<{ reply: Reply; verification?: Verification }> {
    const m = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/.exec(r.rawPath);
    const region = verifierOptions.region;
    if (!m || r.req.method !== 'POST') {
      return { reply: jsonReply(404, { Type: 'User', Message: 'Unknown operation' }, { 'x-amzn-ErrorType': 'UnknownOperationException' }) };
    }
    const verification = verify(r);
    if (!verification.ok) return { reply: gatewayError(403, verification.message, verification.errorType), verification };
    // A name, `name:alias`, or a full or partial ARN: the function name is the part after `function:`.
    const given = decodeSegment(m[1] as string);
    const name = (/(?:^|:)function:([^:]+)/.exec(given)?.[1]) ?? given.split(':')[0] ?? given;
    const fn = config.functions[name];
    if (fn === undefined) {
      return {
        reply: jsonReply(404, { Type: 'User', Message: `Function not found: arn:aws:lambda:${region}:${ACCOUNT_ID}:function:${name}` }, { 'x-amzn-ErrorType': 'ResourceNotFoundException' }),
        verification,
      };
    }
    let payload: unknown = {};
    if (r.body.length > 0) {
      try {
        payload = JSON.parse(r.body.toString('utf8'));
      } catch (err) {
        return {
          reply: jsonReply(400, { Type: 'User', message: `Could not parse request body into json: ${(err as Error).message}` }, { 'x-amzn-ErrorType': 'InvalidRequestContentException' }),
          verification,
        };
      }
    }
    const type = r.req.headers['x-amz-invocation-type'] ?? 'RequestResponse';
    if (type === 'DryRun') return { reply: { status: 204, headers: {}, body: Buffer.alloc(0) }, verification };
    const spec = functionSpec(fn);
    if (type === 'Event') {
      void invoke(name, spec, payload, r.requestId, LAMBDA_MAX_RUN_MS);
      return { reply: { status: 202, headers: {}, body: Buffer.alloc(0) }, verification };
    }
    const outcome = await invoke(name, spec, payload, r.requestId, LAMBDA_MAX_RUN_MS);
    const executed = { 'X-Amz-Executed-Version': '$LATEST' };
    if (outcome.kind === 'ok') {
      const body = outcome.value === undefined ? 'null' : JSON.stringify(outcome.value);
      return { reply: { status: 200, headers: { 'content-type': 'application/json', ...executed }, body: Buffer.from(body) }, verification };
    }
    const error = outcome.kind === 'error'
      ? errorPayload(outcome.error)
      : { errorMessage: `Task timed out after ${((spec.timeoutMs ?? 3000) / 1000).toFixed(2)} seconds`, errorType: 'Sandbox.Timedout', stackTrace: [] };
    return { reply: jsonReply(200, error, { ...executed, 'X-Amz-Function-Error': 'Unhandled' }), verification };
  }

  const handlers: Record<AwsMode, (r: Received) => Promise<{ reply: Reply; verification?: Verification }>> = {
    rest: handleRest,
    httpapi: handleHttpApi,
    'function-url': handleFunctionUrl,
    invoke: handleInvoke,
  };

  async function handle(req: IncomingMessage, res: ServerResponse, body: Buffer, connection: number): Promise<void> {
    const url = req.url ?? '/';
    const mark = url.indexOf('?');
    const r: Received = {
      req, body, requestId: randomUUID(),
      rawPath: mark === -1 ? url : url.slice(0, mark),
      rawQuery: mark === -1 ? '' : url.slice(mark + 1),
    };
    const base = { method: req.method ?? '', url, headers: req.headers, rawHeaders: req.rawHeaders, body, connection };
    const forced = fault;
    if (forced !== undefined) {
      if ('socket' in forced) {
        record(base);
        if (forced.socket === 'close') req.socket.destroy();
        return; // 'hang': never answer; close() ends the socket
      }
      if (forced.delayMs !== undefined) await sleep(forced.delayMs);
      if ('status' in forced) {
        record(base);
        send(res, r, { status: forced.status, headers: { ...forced.headers }, body: Buffer.from(forced.body ?? '') });
        return;
      }
    }
    const { reply, verification } = await handlers[mode](r);
    record(verification ? { ...base, verification } : base);
    send(res, r, reply);
  }

  function send(res: ServerResponse, r: Received, reply: Reply): void {
    if (res.destroyed) return;
    res.statusCode = reply.status;
    for (const [name, value] of Object.entries(reply.headers)) res.setHeader(name, value);
    res.setHeader('x-amzn-RequestId', r.requestId);
    if (mode === 'rest') res.setHeader('x-amz-apigw-id', randomBytes(12).toString('base64url').slice(0, 16));
    res.end(reply.body);
  }

  const server = await startLoopbackServer((req, res) => {
    const connection = server.connectionOf(req.socket);
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      handle(req, res, Buffer.concat(chunks), connection).catch((err: unknown) => {
        if (!res.headersSent) send(res, { req, body: Buffer.alloc(0), requestId: randomUUID(), rawPath: '', rawQuery: '' }, gatewayError(500, String(err), 'InternalFailure'));
      });
    });
  }, config.port !== undefined ? { port: config.port } : {});

  return {
    url: server.origin,
    port: server.port,
    requests,
    lastRequest: () => requests.at(-1),
    connections: server.connections,
    setFault(next) {
      fault = next;
    },
    clearRequests() {
      requests.length = 0;
    },
    close: server.close,
  };
}
