/**
 * A worker's client connections, for `nginx_http_current_connections{state}`
 * and `http_requests_total` — nginx's stub_status counters, mapped to what
 * Node can observe on the proxy listeners:
 *
 * | state | nginx | fngate |
 * |---|---|---|
 * | `accepted` | connections accepted | `connection` events |
 * | `handled` | accepted and not dropped for lack of resources | = `accepted` (Node drops none by itself) |
 * | `active` | open client connections | open sockets |
 * | `writing` | connections with a request being served | sockets with a response in progress |
 * | `reading` | connections reading a request head | always 0: Node does not show a head in transit |
 * | `waiting` | idle keep-alive connections | `active − writing` (includes those reading) |
 * | total requests | requests received | `request` events |
 *
 * Cost: one listener call per connection and per request, no allocation
 * per request.
 */
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import type { ConnectionCounts } from './families.js';

/** Node's ServerResponse sets `_httpMessage` on its socket while a response is in progress. */
type HttpSocket = Socket & { _httpMessage?: unknown };

export class ConnectionStats {
  #accepted = 0;
  #requests = 0;
  readonly #open = new Set<HttpSocket>();
  readonly #watched = new WeakSet<Server>();
  // Listeners are created once per instance, never per connection or request.
  readonly #onConnection = (socket: HttpSocket): void => {
    this.#accepted++;
    this.#open.add(socket);
    socket.on('close', this.#onClose);
  };
  readonly #onRequest = (): void => {
    this.#requests++;
  };
  /** A plain function: EventEmitter calls it with the closing socket as `this`. */
  readonly #onClose: (this: HttpSocket) => void;

  constructor() {
    const open = this.#open;
    this.#onClose = function onSocketClose(this: HttpSocket) {
      open.delete(this);
    };
  }

  /** Count the connections and requests of these servers (each once). */
  watch(servers: readonly Server[]): void {
    for (const server of servers) {
      if (this.#watched.has(server)) continue;
      this.#watched.add(server);
      server.on('connection', this.#onConnection);
      server.on('request', this.#onRequest);
    }
  }

  counts(): ConnectionCounts {
    let writing = 0;
    for (const socket of this.#open) if (socket._httpMessage) writing++;
    const active = this.#open.size;
    return {
      accepted: this.#accepted,
      handled: this.#accepted,
      active,
      reading: 0,
      writing,
      waiting: active - writing,
      requests: this.#requests,
    };
  }
}
