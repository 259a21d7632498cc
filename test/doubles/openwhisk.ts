/**
 * "fake-whisk": an Apache OpenWhisk controller on 127.0.0.1 that answers the
 * action-invoke API the way the real controller does, for tests of the
 * `openwhisk` plugin (spec/serverless-platforms.md §1.6). Status codes, error
 * texts, body shapes and the order of the checks follow §1.2 and §1.3; the
 * official `openwhisk` npm client talks to it (test/doubles/openwhisk.test.ts).
 *
 * Routes:
 * - `GET  /api/v1`                                         API info (no auth);
 * - `POST /api/v1/namespaces/{ns}/actions/[{pkg}/]{name}`  invoke;
 * - `GET  /api/v1/namespaces/{ns}/activations/{id}`        a finished activation record;
 * - anything else: 404 `The requested resource could not be found.`
 *   (after authentication under `/api/v1/namespaces/`).
 *
 * Not modelled: creating/reading/deleting entities, web actions, throttling
 * (429), kind entitlements, package bindings and package default parameters.
 */
import type { IncomingHttpHeaders, IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { randomBytes, randomInt } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { startLoopbackServer } from './loopback-server.js';

/** An action's code: returns its result, or throws (a developer error). */
export type WhiskAction = (params: Record<string, unknown>) => unknown;

export interface WhiskActionSpec {
  readonly fn: WhiskAction;
  /** Simulated run time before `fn` is called (ms). */
  readonly delayMs?: number;
  /** The action's own time limit (ms, default 60000): longer runs are a developer error. */
  readonly limitMs?: number;
  /** Default parameters, overridden by the request body. */
  readonly params?: Record<string, unknown>;
  /** Final parameters: always applied; a body that names one is rejected with 400. */
  readonly final?: Record<string, unknown>;
  /** `kind` annotation of the activation record (default `nodejs:20`). */
  readonly kind?: string;
}

/**
 * A forced answer: a fixed status and body, or the socket closed without an
 * answer, or no answer at all (the socket stays open until the double closes).
 */
export type WhiskFault =
  | { readonly status: number; readonly body?: string; readonly headers?: Readonly<Record<string, string>>; readonly delayMs?: number }
  | { readonly socket: 'close' | 'hang' };

export interface WhiskKey {
  readonly secret: string;
  /** The namespace `_` stands for, and the only one the key may use (besides public packages). */
  readonly namespace: string;
  /** `subject` of activation records (default: the namespace). */
  readonly subject?: string;
}

export interface WhiskDoubleConfig {
  /** API keys by uuid (the part of `uuid:secret` before the colon). */
  readonly keys: Readonly<Record<string, WhiskKey>>;
  /** Actions by path: `ns/name` or `ns/pkg/name`. A package exists when it holds an action. */
  readonly actions: Readonly<Record<string, WhiskAction | WhiskActionSpec>>;
  /** Packages (`ns/pkg`) that keys of other namespaces may invoke. */
  readonly publicPackages?: readonly string[];
  /** The controller's longest blocking wait and the upper bound of `timeout` (default 60000 ms). */
  readonly maxWaitMs?: number;
  /** Largest accepted request body (default 1048576 bytes). */
  readonly maxPayloadBytes?: number;
  /**
   * Faults by action path (`ns/name`, `ns/pkg/name`, `_` already resolved)
   * or `*` for every invoke. A fault answers once the caller is
   * authenticated and the names are well formed, before any other check.
   */
  readonly force?: Readonly<Record<string, WhiskFault>>;
  /** How many requests {@link WhiskDouble.requests} keeps (default 100). */
  readonly recordLimit?: number;
  /** Port to listen on (default: an ephemeral one). */
  readonly port?: number;
  /** Serve HTTPS with this certificate (e.g. test/doubles/self-signed-cert.ts). */
  readonly tls?: { readonly key: string; readonly cert: string };
}

/** A request as the double received it. */
export interface RecordedRequest {
  readonly method: string;
  /** The raw request target, query included. */
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly rawHeaders: readonly string[];
  readonly body: Buffer;
  /** Index of the TCP connection it arrived on (1-based), to tell reuse from new connections. */
  readonly connection: number;
}

export interface ActivationRecord {
  readonly namespace: string;
  readonly name: string;
  readonly subject: string;
  readonly activationId: string;
  readonly start: number;
  readonly end: number;
  readonly duration: number;
  readonly response: { readonly result: unknown; readonly size: number; readonly success: boolean; readonly status: ActivationStatus };
  readonly logs: readonly string[];
  readonly version: string;
  readonly publish: boolean;
  readonly annotations: ReadonlyArray<{ readonly key: string; readonly value: unknown }>;
}

export type ActivationStatus = 'success' | 'application error' | 'action developer error' | 'whisk internal error';

export interface WhiskDouble {
  /** `http(s)://127.0.0.1:<port>`: the `api_host`. */
  readonly url: string;
  readonly port: number;
  /** The last requests received, oldest first. */
  readonly requests: readonly RecordedRequest[];
  lastRequest(): RecordedRequest | undefined;
  /** TCP connections accepted so far. */
  connections(): number;
  /** A finished activation's record. */
  activation(id: string): ActivationRecord | undefined;
  /** Replace (or, with undefined, remove) the fault of an action path or `*`. */
  setFault(path: string, fault: WhiskFault | undefined): void;
  /** Forget recorded requests. */
  clearRequests(): void;
  /** Stop listening, cut open connections and abandon running activations. */
  close(): Promise<void>;
}

/** Thrown by an action to produce a `whisk internal error` (500). */
export class WhiskInternalError extends Error {}

/** Exact controller texts (spec/serverless-platforms.md §1.3). */
export const WHISK_MESSAGES = {
  authRequired: 'The resource requires authentication, which was not supplied with the request',
  authInvalid: 'The supplied authentication is invalid',
  notAuthorized: (path: string) => `The supplied authentication is not authorized to access '${path}'.`,
  notFound: 'The requested resource does not exist.',
  noRoute: 'The requested resource could not be found.',
  badBoolean: (name: string, value: string) => `The query parameter '${name}' was malformed:\n'${value}' is not a valid Boolean value`,
  badTimeout: (max: number) => `The query parameter 'timeout' was malformed:\nTimeout must be number of milliseconds up to ${max}.`,
  malformed: (detail: string) => `The request content was malformed:\n${detail}`,
  finalParams: 'Request defines parameters that are not allowed (e.g., reserved properties).',
  tooLarge: (size: number, max: number) => `Request larger than allowed: ${size} > ${max} bytes.`,
  illegalName: 'The name of the entity contains illegal characters.',
  illegalNamespace: 'The namespace contains illegal characters.',
  nameTooLong: (length: number) => `Name segement longer than allowed: ${length} > 256.`,
  timeLimit: (ms: number) => `The action exceeded its time limits of ${ms} milliseconds.`,
  notJson: (text: string) => `The action did not produce a valid JSON or JSON Array response: ${text}`,
  internal: 'There was an internal server error.',
} as const;

/** OpenWhisk's entity-name rule (EntityName.REGEX), `\w` being ASCII only. */
const NAME_PATTERN = /^(?:\w|\w[\w@ .-]*[\w@.-]+)$/;
const NAME_MAX_LENGTH = 256;
const DEFAULT_LIMIT_MS = 60_000;
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

const CORS_HEADERS: Readonly<Record<string, string>> = {
  'access-control-allow-origin': '*',
  'access-control-allow-methods': 'GET, DELETE, POST, PUT, HEAD',
  'access-control-allow-headers': 'Authorization, Origin, X-Requested-With, Content-Type, Accept, User-Agent',
};
const CHALLENGE = 'Basic realm="OpenWhisk secure realm"';

const API_INFO = {
  description: 'OpenWhisk API',
  api_version: '1.0.0',
  api_version_path: 'v1',
  build: '2026-08-05T00:00:00Z',
  buildno: 'fake-whisk',
  swagger_paths: { ui: '/docs', 'api-docs': '/api-docs' },
};

/** A check failed: the controller answers `{"error","code"}` with this status. */
class Rejection {
  constructor(
    readonly status: number,
    readonly message: string,
    /** False for answers the HTTP layer produces (no CORS headers there, §1.3). */
    readonly insideRoute = true,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {}
}

interface Exchange {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly body: Buffer;
  readonly tid: string;
  readonly url: URL;
}

interface Outcome {
  readonly result: unknown;
  readonly status: ActivationStatus;
  readonly timedOut: boolean;
}

function transactionId(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  if (typeof given === 'string' && given !== '' && !given.startsWith('sid_')) return given;
  let id = '';
  for (let i = 0; i < 32; i++) id += ALNUM[randomInt(ALNUM.length)];
  return id;
}

/** Pekko's boolean words, case-insensitive (§1.2 "Invoke query parameters"). */
function parseBoolean(name: string, value: string | null, fallback: boolean): boolean {
  if (value === null) return fallback;
  const word = value.toLowerCase();
  if (word === 'true' || word === 'yes' || word === 'on' || word === '1') return true;
  if (word === 'false' || word === 'no' || word === 'off' || word === '0') return false;
  throw new Rejection(400, WHISK_MESSAGES.badBoolean(name, value), false);
}

function parseTimeout(value: string | null, maxWaitMs: number): number {
  if (value === null) return maxWaitMs;
  const n = /^-?\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!(n > 0 && n <= maxWaitMs)) throw new Rejection(400, WHISK_MESSAGES.badTimeout(maxWaitMs), false);
  return n;
}

function checkName(segment: string, isNamespace: boolean): void {
  if (segment.length > NAME_MAX_LENGTH) throw new Rejection(400, WHISK_MESSAGES.nameTooLong(segment.length));
  if (!NAME_PATTERN.test(segment)) {
    throw new Rejection(400, isNamespace ? WHISK_MESSAGES.illegalNamespace : WHISK_MESSAGES.illegalName);
  }
}

/** The caller's key, from `Authorization: Basic base64(uuid:secret)` (§1.2 check 1). */
function authenticate(req: IncomingMessage, keys: Readonly<Record<string, WhiskKey>>): WhiskKey {
  const header = req.headers.authorization;
  if (header === undefined) throw new Rejection(401, WHISK_MESSAGES.authRequired, false, { 'www-authenticate': CHALLENGE });
  const invalid = new Rejection(401, WHISK_MESSAGES.authInvalid, false, { 'www-authenticate': CHALLENGE });
  const match = /^basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!match) throw invalid;
  const decoded = Buffer.from(match[1] as string, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) throw invalid;
  const key = Object.hasOwn(keys, decoded.slice(0, colon)) ? keys[decoded.slice(0, colon)] : undefined;
  if (key === undefined || key.secret !== decoded.slice(colon + 1)) throw invalid;
  return key;
}

/** The body as the action's parameters: empty means `{}`; anything but a JSON object is malformed. */
function parseParameters(body: Buffer): Record<string, unknown> {
  if (body.length === 0) return {};
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new Rejection(400, WHISK_MESSAGES.malformed((err as Error).message), false);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Rejection(400, WHISK_MESSAGES.malformed(`Object expected in field 'args'`), false);
  }
  return value as Record<string, unknown>;
}

function activationId(): string {
  return randomBytes(16).toString('hex');
}

function decodeSegments(pathname: string): string[] | undefined {
  try {
    return pathname.split('/').map((s) => decodeURIComponent(s));
  } catch {
    return undefined;
  }
}

/**
 * Start a fake OpenWhisk controller.
 *
 * @example
 *   const whisk = await startWhiskDouble({
 *     keys: { [GUEST.uuid]: { secret: GUEST.secret, namespace: 'guest' } },
 *     actions: { 'guest/hello': (p) => ({ hello: p.name ?? 'world' }) },
 *   });
 *   // POST `${whisk.url}/api/v1/namespaces/_/actions/hello?blocking=true&result=true`
 *   await whisk.close();
 */
export async function startWhiskDouble(config: WhiskDoubleConfig): Promise<WhiskDouble> {
  const maxWaitMs = config.maxWaitMs ?? 60_000;
  const maxPayloadBytes = config.maxPayloadBytes ?? 1_048_576;
  const recordLimit = config.recordLimit ?? 100;
  const faults = new Map<string, WhiskFault>(Object.entries(config.force ?? {}));
  const actions = new Map<string, WhiskActionSpec>(
    Object.entries(config.actions).map(([path, action]) => [path, typeof action === 'function' ? { fn: action } : action]),
  );
  const packages = new Set<string>(config.publicPackages ?? []);
  for (const path of actions.keys()) {
    const parts = path.split('/');
    if (parts.length === 3) packages.add(`${parts[0]}/${parts[1]}`);
  }
  const publicPackages = new Set(config.publicPackages ?? []);
  const records = new Map<string, ActivationRecord>();
  const warm = new Set<string>();
  const requests: RecordedRequest[] = [];
  const stopping = new AbortController();

  function send(ex: Exchange, status: number, payload: unknown, headers: Readonly<Record<string, string>> = {}, cors = true): void {
    if (ex.res.destroyed) return;
    const text = JSON.stringify(payload);
    ex.res.writeHead(status, {
      ...(cors ? CORS_HEADERS : {}),
      ...headers,
      'x-request-id': ex.tid,
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(text),
    });
    ex.res.end(text);
  }

  function reject(ex: Exchange, rejection: Rejection): void {
    send(ex, rejection.status, { error: rejection.message, code: ex.tid }, rejection.headers, rejection.insideRoute);
  }

  async function applyFault(ex: Exchange, fault: WhiskFault): Promise<void> {
    if ('socket' in fault) {
      // 'hang' leaves the request unanswered; close() cuts it.
      if (fault.socket === 'close') ex.req.socket.destroy();
      return;
    }
    if (fault.delayMs !== undefined) await sleep(fault.delayMs, undefined, { signal: stopping.signal }).catch(() => undefined);
    if (ex.res.destroyed) return;
    const body = fault.body ?? '';
    ex.res.writeHead(fault.status, {
      'x-request-id': ex.tid,
      'content-type': 'application/json',
      ...fault.headers,
      'content-length': Buffer.byteLength(body),
    });
    ex.res.end(body);
  }

  /** Run the action's code as the invoker would, classifying the outcome (§1.3, §1.6 item 8). */
  async function run(spec: WhiskActionSpec, params: Record<string, unknown>): Promise<Outcome> {
    const limitMs = spec.limitMs ?? DEFAULT_LIMIT_MS;
    const work = (async (): Promise<Outcome> => {
      if (spec.delayMs !== undefined) await sleep(spec.delayMs, undefined, { signal: stopping.signal });
      try {
        const value = (await spec.fn(params)) ?? {};
        if (Array.isArray(value)) return { result: value, status: 'success', timedOut: false };
        if (typeof value !== 'object') {
          return { result: { error: WHISK_MESSAGES.notJson(JSON.stringify(value)) }, status: 'action developer error', timedOut: false };
        }
        const failed = Object.hasOwn(value, 'error');
        return { result: value, status: failed ? 'application error' : 'success', timedOut: false };
      } catch (err) {
        if (err instanceof WhiskInternalError) return { result: { error: WHISK_MESSAGES.internal }, status: 'whisk internal error', timedOut: false };
        return { result: { error: err instanceof Error ? err.message : String(err) }, status: 'action developer error', timedOut: false };
      }
    })();
    const limit = new AbortController();
    const overrun = sleep(limitMs, undefined, { signal: AbortSignal.any([limit.signal, stopping.signal]) }).then(
      (): Outcome => ({ result: { error: WHISK_MESSAGES.timeLimit(limitMs) }, status: 'action developer error', timedOut: true }),
    );
    try {
      return await Promise.race([work, overrun]);
    } finally {
      limit.abort();
      overrun.catch(() => undefined);
      work.catch(() => undefined);
    }
  }

  function record(
    id: string, key: WhiskKey, actionNs: string, pkg: string | undefined, name: string, spec: WhiskActionSpec,
    received: number, start: number, outcome: Outcome, cold: boolean,
  ): ActivationRecord {
    const end = Date.now();
    const path = pkg === undefined ? `${actionNs}/${name}` : `${actionNs}/${pkg}/${name}`;
    const annotations: Array<{ key: string; value: unknown }> = [
      { key: 'path', value: path },
      { key: 'waitTime', value: start - received },
      { key: 'kind', value: spec.kind ?? 'nodejs:20' },
      { key: 'timeout', value: outcome.timedOut },
      { key: 'limits', value: { concurrency: 1, logs: 10, memory: 256, timeout: spec.limitMs ?? DEFAULT_LIMIT_MS } },
    ];
    if (cold) annotations.push({ key: 'initTime', value: 0 });
    return {
      namespace: key.namespace,
      name,
      subject: key.subject ?? key.namespace,
      activationId: id,
      start,
      end,
      duration: end - start,
      response: {
        result: outcome.result,
        size: Buffer.byteLength(JSON.stringify(outcome.result)),
        success: outcome.status === 'success',
        status: outcome.status,
      },
      logs: [],
      version: '0.0.1',
      publish: false,
      annotations,
    };
  }

  /** POST …/actions/[pkg/]name: checks in the order of §1.2, then the activation. */
  async function invoke(ex: Exchange, key: WhiskKey, segments: readonly string[]): Promise<void> {
    const [nsSegment, ...names] = segments as [string, ...string[]];
    // 2. names are well formed
    checkName(nsSegment, true);
    for (const segment of names) checkName(segment, false);
    const ns = nsSegment === '_' ? key.namespace : nsSegment;
    const pkg = names.length === 2 ? names[0] : undefined;
    const name = names[names.length - 1] as string;
    const path = pkg === undefined ? `${ns}/${name}` : `${ns}/${pkg}/${name}`;

    const fault = faults.get(path) ?? faults.get('*');
    if (fault !== undefined) return applyFault(ex, fault);

    // 3. entitlement: own namespace, or a public package of another one
    if (ns !== key.namespace && !(pkg !== undefined && publicPackages.has(`${ns}/${pkg}`))) {
      throw new Rejection(403, WHISK_MESSAGES.notAuthorized(path));
    }
    // 4. the package exists
    if (pkg !== undefined && !packages.has(`${ns}/${pkg}`)) throw new Rejection(404, WHISK_MESSAGES.notFound);
    // 5. payload size
    if (ex.body.length > maxPayloadBytes) throw new Rejection(413, WHISK_MESSAGES.tooLarge(ex.body.length, maxPayloadBytes));
    // 6. query, then body (they wrap the action lookup: a bad one wins over an unknown action)
    const query = ex.url.searchParams;
    const blocking = parseBoolean('blocking', query.get('blocking'), false);
    const resultOnly = parseBoolean('result', query.get('result'), false);
    const waitMs = parseTimeout(query.get('timeout'), maxWaitMs);
    const body = parseParameters(ex.body);
    // 7. the action exists and the body does not override final parameters
    const spec = actions.get(path);
    if (spec === undefined) throw new Rejection(404, WHISK_MESSAGES.notFound);
    if (spec.final !== undefined && Object.keys(body).some((k) => Object.hasOwn(spec.final as object, k))) {
      throw new Rejection(400, WHISK_MESSAGES.finalParams);
    }
    // 8. invoke
    const id = activationId();
    const idHeader = { 'x-openwhisk-activation-id': id };
    const received = Date.now();
    const cold = !warm.has(path);
    warm.add(path);
    const done = run(spec, { ...spec.params, ...body, ...spec.final }).then((outcome) => {
      const rec = record(id, key, ns, pkg, name, spec, received, received, outcome, cold);
      records.set(id, rec);
      return rec;
    });
    done.catch(() => undefined); // abandoned by close()
    if (!blocking) return send(ex, 202, { activationId: id }, idHeader);

    const wait = new AbortController();
    const ranOut = sleep(waitMs, undefined, { signal: AbortSignal.any([wait.signal, stopping.signal]) }).then(() => undefined);
    let rec: ActivationRecord | undefined;
    try {
      rec = await Promise.race([done, ranOut]);
    } finally {
      wait.abort();
      ranOut.catch(() => undefined);
    }
    // §1.3: a blocking call whose wait runs out is answered 202, the action keeps running.
    if (rec === undefined) return send(ex, 202, { activationId: id }, idHeader);
    const status = rec.response.status === 'success' ? 200 : rec.response.status === 'whisk internal error' ? 500 : 502;
    // An array result is the body whether or not `result` was asked for (§1.3).
    const payload = resultOnly || Array.isArray(rec.response.result) ? rec.response.result : rec;
    send(ex, status, payload, idHeader);
  }

  function getActivation(ex: Exchange, key: WhiskKey, nsSegment: string, id: string): void {
    checkName(nsSegment, true);
    const ns = nsSegment === '_' ? key.namespace : nsSegment;
    if (ns !== key.namespace) throw new Rejection(403, WHISK_MESSAGES.notAuthorized(ns));
    const rec = records.get(id);
    if (rec === undefined || rec.namespace !== ns) throw new Rejection(404, WHISK_MESSAGES.notFound);
    send(ex, 200, rec);
  }

  async function route(ex: Exchange): Promise<void> {
    const { req } = ex;
    const segments = decodeSegments(ex.url.pathname);
    if (req.method === 'GET' && (ex.url.pathname === '/api/v1' || ex.url.pathname === '/api/v1/')) return send(ex, 200, API_INFO);
    if (segments === undefined || segments[1] !== 'api' || segments[2] !== 'v1' || segments[3] !== 'namespaces' || segments.length < 5) {
      throw new Rejection(404, WHISK_MESSAGES.noRoute, false);
    }
    // Everything under /namespaces needs a valid key before anything else.
    const key = authenticate(req, config.keys);
    const [, , , , ns, collection, ...rest] = segments as [string, string, string, string, string, string | undefined, ...string[]];
    const named = rest.length > 0 && rest.every((s) => s !== '');
    if (req.method === 'POST' && collection === 'actions' && named && rest.length <= 2) return invoke(ex, key, [ns, ...rest]);
    if (req.method === 'GET' && collection === 'activations' && named && rest.length === 1) return getActivation(ex, key, ns, rest[0] as string);
    throw new Rejection(404, WHISK_MESSAGES.noRoute, false);
  }

  const onRequest: RequestListener = (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      requests.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        rawHeaders: req.rawHeaders,
        body,
        connection: server.connectionOf(req.socket),
      });
      if (requests.length > recordLimit) requests.shift();
      const ex: Exchange = { req, res, body, tid: transactionId(req), url: new URL(req.url ?? '/', 'http://whisk') };
      route(ex).catch((err: unknown) => {
        if (err instanceof Rejection) reject(ex, err);
        else if (!stopping.signal.aborted) reject(ex, new Rejection(500, WHISK_MESSAGES.internal));
      });
    });
  };
  const server = await startLoopbackServer(onRequest, {
    ...(config.tls !== undefined ? { tls: config.tls } : {}),
    ...(config.port !== undefined ? { port: config.port } : {}),
    // Keep idle connections as long as a gateway pool may (its keepalive_timeout defaults to 60 s).
    keepAliveTimeout: 65_000,
  });

  return {
    url: server.origin,
    port: server.port,
    requests,
    lastRequest: () => requests[requests.length - 1],
    connections: server.connections,
    activation: (id) => records.get(id),
    setFault(path, fault) {
      if (fault === undefined) faults.delete(path);
      else faults.set(path, fault);
    },
    clearRequests() {
      requests.length = 0;
    },
    close() {
      stopping.abort();
      return server.close();
    },
  };
}

/**
 * The standalone distribution's documented guest key (APISIX CI uses it,
 * spec/serverless-platforms.md §1.4).
 */
const GUEST_UUID = '23bc46b1-71f6-4ed5-8c54-816aa4f8c502';
const GUEST_SECRET = '123zO3xZCLrMN6v2BKK1dXYFpXlPkccOFqm12CdAsMgRU4VrNZ9lyGVCGuMDGIwP';
export const GUEST = {
  uuid: GUEST_UUID,
  secret: GUEST_SECRET,
  /** `uuid:secret`, the plugin's `service_token`. */
  token: `${GUEST_UUID}:${GUEST_SECRET}`,
  namespace: 'guest',
} as const;

/** The actions APISIX's CI creates in namespace `guest` (§1.4), plus a key for them. */
export function apisixCiFixture(): Pick<WhiskDoubleConfig, 'keys' | 'actions'> {
  return {
    keys: { [GUEST.uuid]: { secret: GUEST.secret, namespace: GUEST.namespace } },
    actions: {
      'guest/test': () => ({ hello: 'test' }),
      'guest/test-params': (args) => ({ hello: args.name ?? 'test' }),
      'guest/pkg/testpkg': () => ({ hello: 'world' }),
      'guest/test-statuscode': () => ({ statusCode: 407 }),
      'guest/test-headers': () => ({ headers: { test: 'header' } }),
      'guest/test-body': () => ({ body: { test: 'body' } }),
    },
  };
}
