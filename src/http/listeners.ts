/**
 * HTTP listeners with a graceful stop: stop accepting, let in-flight requests
 * finish (answering them with `Connection: close` so keep-alive clients move
 * on), and cut what is left after a bounded wait.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from '../log.js';
import type { ListenAddress } from '../config/types.js';
import { errorMessage } from '../errors.js';

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
  /** Number of requests being served now. */
  inFlight(): number;
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
  let active = 0;
  let draining = false;
  let drained: (() => void) | undefined;

  const onRequest: RequestListener = (req, res) => {
    active++;
    if (draining) res.shouldKeepAlive = false;
    res.once('close', () => {
      active--;
      if (draining && active === 0) drained?.();
    });
    options.onRequest(req, res);
  };

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
      const server = createServer({ keepAliveTimeout: options.keepAliveTimeoutMs ?? 60_000 }, onRequest);
      // Large uploads and slow upstreams are bounded by their own timeouts,
      // not by a total request deadline.
      server.requestTimeout = 0;
      server.headersTimeout = options.headersTimeoutMs ?? 60_000;
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

  return {
    servers,
    bound,
    inFlight: () => active,
    close(timeoutMs: number): Promise<void> {
      draining = true;
      return new Promise<void>((resolve) => {
        let done = false;
        const finish = () => {
          if (done) return;
          done = true;
          clearTimeout(timer);
          for (const s of servers) s.closeAllConnections();
          resolve();
        };
        const timer = setTimeout(() => {
          if (active > 0) options.logger.warn({ inFlight: active, listener: options.name }, 'shutdown timeout reached; closing remaining connections');
          finish();
        }, timeoutMs);
        timer.unref();
        drained = finish;
        for (const s of servers) {
          s.close();
          s.closeIdleConnections();
        }
        if (active === 0) finish();
      });
    },
  };
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
