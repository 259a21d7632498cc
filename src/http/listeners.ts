/**
 * HTTP listeners with a graceful stop: stop accepting, let in-flight requests
 * finish (answering them with `Connection: close` so keep-alive clients move
 * on), and cut what is left after a bounded wait.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Server as NetServer } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from '../log.js';
import type { ListenAddress } from '../config/types.js';
import { errorMessage } from '../errors.js';

/** How long idle keep-alive connections may still bring a request once draining started. */
const IDLE_GRACE_MS = 1_000;

export type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;
export type UpgradeListener = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

export interface ListenerOptions {
  readonly addresses: readonly ListenAddress[];
  /** Also listen on `[::]:port` for every `0.0.0.0:port` (APISIX `enable_ipv6`). */
  readonly ipv6: boolean;
  readonly onRequest: RequestListener;
  readonly onUpgrade?: UpgradeListener;
  readonly logger: Logger;
  /** Idle keep-alive timeout for client connections, ms (nginx keepalive_timeout 60 s). */
  readonly keepAliveTimeoutMs?: number;
  /** Time a client may take to send the request head, ms (nginx client_header_timeout 60 s). */
  readonly headersTimeoutMs?: number;
  /** Name used in logs (`proxy`, `admin`). */
  readonly name: string;
}

export interface RunningListeners {
  readonly servers: readonly Server[];
  /** Addresses actually bound (port 0 resolved), for logs and tests. */
  readonly bound: readonly ListenAddress[];
  /** Graceful stop; resolves when every connection is closed or `timeoutMs` passed. */
  close(timeoutMs: number): Promise<void>;
}

/**
 * Bind every address and resolve once all are listening.
 *
 * @example
 *   const proxy = await startListeners({ name: 'proxy', addresses: [{ ip: '0.0.0.0', port: 9080 }],
 *     ipv6: false, onRequest: handle, logger });
 *   await proxy.close(30_000);
 */
export async function startListeners(options: ListenerOptions): Promise<RunningListeners> {
  const targets: Array<{ address: ListenAddress; ipv6Only: boolean; optional: boolean }> = [];
  for (const address of options.addresses) {
    targets.push({ address, ipv6Only: false, optional: false });
    if (options.ipv6 && address.ip === '0.0.0.0') {
      targets.push({ address: { ip: '::', port: address.port }, ipv6Only: true, optional: true });
    }
  }

  const servers: Server[] = [];
  const bound: ListenAddress[] = [];
  try {
    for (const target of targets) {
      // The request listener is the handler itself: nothing runs per request
      // for bookkeeping (a per-request 'close' listener measured ~5% of
      // proxy throughput). Draining swaps the listener instead (see close()).
      const server = createServer({ keepAliveTimeout: options.keepAliveTimeoutMs ?? 60_000 }, options.onRequest);
      // Large uploads and slow upstreams are bounded by their own timeouts,
      // not by a total request deadline.
      server.requestTimeout = 0;
      server.headersTimeout = options.headersTimeoutMs ?? 60_000;
      // A client that half-closes after sending its request (shutdown(SHUT_WR))
      // still gets its answer, as from nginx; Node's default drops the request.
      (server as Server & { httpAllowHalfOpen: boolean }).httpAllowHalfOpen = true;
      if (options.onUpgrade) server.on('upgrade', options.onUpgrade);
      server.on('clientError', (err, socket) => {
        if (socket.writable && !socket.destroyed) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
        else socket.destroy();
        options.logger.debug({ err: errorMessage(err) }, 'client error');
      });
      try {
        await listen(server, target.address, target.ipv6Only);
      } catch (err) {
        if (target.optional) {
          options.logger.warn({ err: errorMessage(err), ip: target.address.ip, port: target.address.port }, 'IPv6 listener not available; continuing with IPv4');
          continue;
        }
        throw err;
      }
      const addr = server.address();
      const port = typeof addr === 'object' && addr ? addr.port : target.address.port;
      bound.push({ ip: target.address.ip, port });
      servers.push(server);
    }
  } catch (err) {
    for (const s of servers) s.close();
    throw err;
  }

  let closing: Promise<void> | undefined;
  return {
    servers,
    bound,
    close(timeoutMs: number): Promise<void> {
      closing ??= drain(servers, options, timeoutMs);
      return closing;
    },
  };
}

/**
 * Stop accepting, let requests in flight finish, then resolve. Responses
 * sent while draining carry `Connection: close`, so keep-alive clients move
 * to another listener (Node keeps serving a busy keep-alive connection after
 * `server.close()` otherwise).
 *
 * Idle keep-alive connections are not cut at once: a client may be sending
 * its next request on one at that very moment, and would see a reset. They
 * get a short grace period in which that request is answered (with
 * `Connection: close`); only then are the still-idle ones closed.
 */
function drain(servers: readonly Server[], options: ListenerOptions, timeoutMs: number): Promise<void> {
  const closeAfterResponse: RequestListener = (req, res) => {
    res.shouldKeepAlive = false;
    options.onRequest(req, res);
  };
  return new Promise<void>((resolve) => {
    let open = servers.length;
    const timer = setTimeout(() => {
      options.logger.warn({ listener: options.name, timeout_ms: timeoutMs }, 'shutdown timeout reached; closing remaining connections');
      for (const s of servers) s.closeAllConnections();
    }, timeoutMs);
    timer.unref();
    if (open === 0) {
      clearTimeout(timer);
      resolve();
      return;
    }
    const idleGrace = setTimeout(() => {
      for (const s of servers) s.closeIdleConnections();
    }, Math.min(IDLE_GRACE_MS, timeoutMs));
    idleGrace.unref();
    for (const s of servers) {
      s.removeAllListeners('request');
      s.on('request', closeAfterResponse);
      // net.Server's close stops accepting without http.Server's immediate
      // closeIdleConnections(); the callback runs once every connection is gone.
      NetServer.prototype.close.call(s, () => {
        if (--open === 0) {
          clearTimeout(timer);
          clearTimeout(idleGrace);
          resolve();
        }
      });
    }
  });
}

function listen(server: Server, address: ListenAddress, ipv6Only: boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once('error', onError);
    server.listen({ host: address.ip, port: address.port, ipv6Only }, () => {
      server.off('error', onError);
      resolve();
    });
  });
}
