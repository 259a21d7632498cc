/**
 * One active probe of one target (spec/routing.md §5.3): an HTTP(S) request
 * whose status the checker classifies, or, for `type: tcp`, a connection
 * that opens. Each probe uses its own connection, closed right after (as
 * lua-resty-healthcheck does), never the proxy's keep-alive pools: a probe
 * must see whether a *new* connection works, and must not take a pooled
 * socket from traffic.
 */
import { connect as tcpConnect } from 'node:net';
import { Client } from 'undici';
import { errorMessage } from '../../errors.js';
import { HealthProbeTimeoutError } from './errors.js';
import type { ActiveCheckSettings } from './settings.js';

/** Where a probe goes: a node's host (IPv6 bracketed) and the probe port. */
export interface ProbeTarget {
  readonly host: string;
  readonly port: number;
  /** Host header for HTTP probes; undefined: `host[:port]` of the target. */
  readonly hostHeader: string | undefined;
}

export type ProbeOutcome =
  | { readonly kind: 'response'; readonly status: number }
  | { readonly kind: 'connected' }
  | { readonly kind: 'tcp_failure'; readonly reason: string }
  | { readonly kind: 'timeout' };

const CONNECTED: ProbeOutcome = { kind: 'connected' };
const TIMED_OUT: ProbeOutcome = { kind: 'timeout' };

const TIMEOUT_CODES: ReadonlySet<string> = new Set([
  'HEALTH_PROBE_TIMEOUT',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'ETIMEDOUT',
]);

/**
 * Never rejects: every failure is an outcome.
 *
 * @example
 *   const outcome = await probe({ host: '127.0.0.1', port: 1980, hostHeader: undefined }, settings.active);
 *   if (outcome.kind === 'response') console.log(outcome.status);
 */
export function probe(target: ProbeTarget, settings: ActiveCheckSettings): Promise<ProbeOutcome> {
  return settings.type === 'tcp' ? probeTcp(target, settings.timeoutMs) : probeHttp(target, settings);
}

async function probeHttp(target: ProbeTarget, settings: ActiveCheckSettings): Promise<ProbeOutcome> {
  const timeoutMs = settings.timeoutMs;
  const client = new Client(`${settings.type}://${target.host}:${target.port}`, {
    connectTimeout: timeoutMs,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    connect: {
      rejectUnauthorized: settings.verifyCertificate,
      ...(settings.host !== undefined ? { servername: settings.host } : {}),
    },
  });
  // One deadline for the whole exchange; undici's own timeouts are coarse (~1 s ticks).
  const timer = setTimeout(() => void client.destroy(new HealthProbeTimeoutError(timeoutMs)).catch(ignore), timeoutMs);
  try {
    const headers = target.hostHeader === undefined || hasHost(settings.headers)
      ? [...settings.headers]
      : ['host', target.hostHeader, ...settings.headers];
    const response = await client.request({
      path: settings.httpPath,
      method: settings.httpMethod as 'GET',
      headers,
      body: settings.httpReqBody === '' ? null : settings.httpReqBody,
    });
    // Only the status matters; the connection is thrown away with the body (whose abort is no error here).
    response.body.on('error', ignore).destroy();
    return { kind: 'response', status: response.statusCode };
  } catch (err) {
    return failure(err);
  } finally {
    clearTimeout(timer);
    void client.destroy().catch(ignore);
  }
}

function probeTcp(target: ProbeTarget, timeoutMs: number): Promise<ProbeOutcome> {
  return new Promise<ProbeOutcome>((resolve) => {
    const host = target.host.startsWith('[') ? target.host.slice(1, -1) : target.host;
    const socket = tcpConnect({ host, port: target.port });
    const done = (outcome: ProbeOutcome): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(outcome);
    };
    const timer = setTimeout(done, timeoutMs, TIMED_OUT);
    socket.once('connect', () => done(CONNECTED));
    socket.once('error', (err) => done(failure(err)));
  });
}

function failure(err: unknown): ProbeOutcome {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && TIMEOUT_CODES.has(code)) return TIMED_OUT;
  return { kind: 'tcp_failure', reason: errorMessage(err) };
}

function hasHost(headers: readonly string[]): boolean {
  for (let i = 0; i < headers.length; i += 2) if (headers[i]!.toLowerCase() === 'host') return true;
  return false;
}

function ignore(): void {}
