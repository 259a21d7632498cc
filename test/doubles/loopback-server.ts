/**
 * The server part every platform double shares: an HTTP or HTTPS server on
 * a loopback port that numbers its connections (the order they were
 * accepted, from 1; HTTPS counts them once the handshake is done, as that is
 * when requests can see them), so tests can tell reused connections from
 * new ones, and that closes with every connection cut.
 */
import { createServer, type RequestListener, type Server } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { Socket } from 'node:net';

export interface LoopbackServerOptions {
  /** Serve HTTPS with this key pair. */
  readonly tls?: { readonly key: string | Buffer; readonly cert: string | Buffer };
  /** Fixed port (default: any free one). */
  readonly port?: number;
  /** Idle keep-alive time for client connections, ms (default Node's 5 s). */
  readonly keepAliveTimeout?: number;
}

export interface LoopbackServer {
  readonly server: Server;
  readonly port: number;
  /** `http(s)://127.0.0.1:<port>` */
  readonly origin: string;
  /** Connections accepted so far. */
  connections(): number;
  /** Connections open now. */
  openConnections(): number;
  /** The number of the connection a request came on (0 if unknown). */
  connectionOf(socket: Socket): number;
  /** Stop listening and cut every connection. */
  close(): Promise<void>;
}

/**
 * @example
 *   const loopback = await startLoopbackServer((req, res) => res.end('ok'));
 *   // ... loopback.connectionOf(req.socket) inside the listener ...
 *   await loopback.close();
 */
export async function startLoopbackServer(listener: RequestListener, options: LoopbackServerOptions = {}): Promise<LoopbackServer> {
  const server: Server = options.tls === undefined
    ? createServer(listener)
    : createTlsServer({ key: options.tls.key, cert: options.tls.cert }, listener);
  if (options.keepAliveTimeout !== undefined) server.keepAliveTimeout = options.keepAliveTimeout;
  const numbers = new WeakMap<Socket, number>();
  const open = new Set<Socket>();
  let accepted = 0;
  server.on(options.tls === undefined ? 'connection' : 'secureConnection', (socket: Socket) => {
    numbers.set(socket, ++accepted);
    open.add(socket);
    socket.once('close', () => open.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    server,
    port,
    origin: `${options.tls === undefined ? 'http' : 'https'}://127.0.0.1:${port}`,
    connections: () => accepted,
    openConnections: () => open.size,
    connectionOf: (socket) => numbers.get(socket) ?? 0,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
      for (const socket of open) socket.destroy();
    }),
  };
}
