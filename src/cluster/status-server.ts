/**
 * The node's status endpoint, in the style of APISIX's control API
 * (`apisix.enable_control`, `apisix.control` = 127.0.0.1:9090 by default,
 * loopback only): what a load balancer or an operator asks a node.
 *
 *   GET /v1/status       config source, store connectivity, last revision,
 *                        workers and the revision each one serves
 *   GET /status          200 while the process runs (APISIX `apisix.status`)
 *   GET /status/ready    200 when every worker serves a loaded config, else 503
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../log.js';
import type { ListenAddress } from '../config/types.js';
import { startListeners, type RunningListeners } from '../http/listeners.js';

export interface WorkerStatus {
  readonly pid: number | undefined;
  readonly slot: number;
  readonly ready: boolean;
  /** Store revision of the snapshot the worker serves. */
  readonly revision: number | undefined;
}

export interface NodeStatus {
  readonly version: string;
  readonly config_provider: string;
  readonly store: {
    readonly backend: string;
    /** False while the store (etcd) is unreachable: workers keep serving their last good config. */
    readonly connected: boolean;
    readonly last_error?: string | undefined;
    /** Newest store revision the node has seen. */
    readonly last_revision?: number | undefined;
  };
  readonly workers: {
    readonly configured: number;
    readonly ready: number;
    readonly list: readonly WorkerStatus[];
  };
  /** `ok`, or `degraded` while the store is unreachable. */
  readonly status: 'ok' | 'degraded';
  readonly started_at: string;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/**
 * @example
 *   const control = await startStatusServer({ address: config.apisix.control, status: () => nodeStatus(), logger });
 */
export async function startStatusServer(options: {
  readonly address: ListenAddress;
  readonly status: () => NodeStatus;
  readonly logger: Logger;
}): Promise<RunningListeners> {
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(res, 405, { error_msg: 'method not allowed' });
      return;
    }
    const path = (req.url ?? '/').split('?')[0];
    switch (path) {
      case '/v1/status':
        send(res, 200, options.status());
        return;
      case '/status':
        send(res, 200, {});
        return;
      case '/status/ready': {
        const status = options.status();
        const ready = status.workers.ready === status.workers.configured;
        send(res, ready ? 200 : 503, ready ? {} : { error: 'workers not ready', ready: status.workers.ready, configured: status.workers.configured });
        return;
      }
      default:
        send(res, 404, { error_msg: 'not found' });
    }
  };
  return startListeners({ name: 'control', addresses: [options.address], ipv6: false, onRequest, logger: options.logger });
}
