/**
 * One resumable etcd watch on a key prefix. It keeps `next`, the first
 * revision not yet delivered, and every (re)connection asks etcd for exactly
 * `start_revision = next`, so reconnecting never loses or repeats a change.
 *
 * A connection ends:
 * - after `watch_timeout` seconds: reopened at once (APISIX re-opens its
 *   long-poll the same way; it also bounds how long a silently dead TCP
 *   connection can go unnoticed);
 * - on a network or etcd failure: reopened after a capped, jittered backoff
 *   starting at `resync_delay` (spec/config.md §2), indefinitely;
 * - on compaction of `next` (or the store's revision moving backwards, i.e.
 *   etcd restored from a backup): the watch ends with {@link CompactedError},
 *   as the caller must re-read everything;
 * - on etcd cancelling it for another reason (permission denied): the watch
 *   ends with that error.
 */
import type { Readable } from 'node:stream';
import type { Logger } from '../../log.js';
import { errorMessage } from '../../errors.js';
import { CompactedError, StoreUnavailableError, type WatchEvent, type WatchHandle, type WatchOptions } from '../types.js';
import { Backoff } from './backoff.js';
import type { EtcdClient, EtcdStream } from './client.js';
import { decodeInt, decodeKeyValue, headerRevision, prefixRange, type WireEvent, type WireWatchMessage, type WireWatchResponse } from './codec.js';
import { EtcdServerError } from './errors.js';

export interface EtcdWatchOptions {
  readonly client: EtcdClient;
  readonly prefix: string;
  readonly watch: WatchOptions;
  /** Lifetime of one watch connection before it is reopened. */
  readonly reopenAfterMs: number;
  /** First reconnection delay after a failure (resync_delay). */
  readonly retryBaseMs: number;
  readonly logger: Logger;
  /** Called once when the watch stops for any reason (cancel, close, error). */
  readonly onStop: (watch: EtcdWatch) => void;
}

/** A floor on `watch_timeout`, so a tiny value cannot turn reopening into a busy loop. */
const MIN_LIFETIME_MS = 100;

/** How one connection ended, and so what to do next. */
type ConnectionEnd =
  | { readonly kind: 'reconnect-now' }
  | { readonly kind: 'failed'; readonly error: unknown }
  | { readonly kind: 'fatal'; readonly error: Error };

/**
 * @example
 *   const watch = new EtcdWatch({ client, prefix: '/apisix/', watch: { fromRevision: 5, onBatch }, ... });
 *   watch.start();
 *   watch.cancel();
 */
export class EtcdWatch implements WatchHandle {
  readonly #client: EtcdClient;
  readonly #options: EtcdWatchOptions;
  readonly #range: { readonly key: string; readonly range_end: string };
  readonly #backoff: Backoff;
  readonly #logger: Logger;
  /** First revision not delivered yet; 0 = "from the next revision" until etcd tells us which that is. */
  #next: number;
  #connections = 0;
  #renewedToken = false;
  #stopped = false;
  #controller: AbortController | undefined;
  #retryTimer: NodeJS.Timeout | undefined;

  constructor(options: EtcdWatchOptions) {
    this.#options = options;
    this.#client = options.client;
    this.#logger = options.logger;
    this.#range = prefixRange(options.prefix);
    this.#backoff = new Backoff(options.retryBaseMs);
    this.#next = startRevision(options.watch.fromRevision, options.client.lastRevision);
  }

  start(): void {
    void this.#connect();
  }

  /** Stop delivering; never calls onError. */
  cancel(): void {
    this.#stop();
  }

  async #connect(): Promise<void> {
    this.#retryTimer = undefined;
    if (this.#stopped) return;
    const controller = new AbortController();
    this.#controller = controller;
    let expired = false;
    const lifetime = setTimeout(() => {
      expired = true;
      controller.abort();
    }, Math.max(MIN_LIFETIME_MS, this.#options.reopenAfterMs));
    lifetime.unref();
    let end: ConnectionEnd;
    try {
      const stream = await this.#client.openStream('/v3/watch', { create_request: this.#createRequest() }, controller.signal);
      end = await this.#consume(stream);
    } catch (err) {
      end = { kind: 'failed', error: err };
    } finally {
      clearTimeout(lifetime);
      controller.abort();
    }
    if (this.#stopped) return;
    if (expired && end.kind === 'failed') end = { kind: 'reconnect-now' };
    this.#onConnectionEnd(end);
  }

  #onConnectionEnd(end: ConnectionEnd): void {
    switch (end.kind) {
      case 'reconnect-now':
        void this.#connect();
        return;
      case 'fatal':
        this.#fail(end.error);
        return;
      case 'failed': {
        const { error } = end;
        this.#client.reportFailure(error);
        const delay = this.#backoff.next();
        this.#logger.debug({ err: errorMessage(error), retryInMs: delay, fromRevision: this.#next }, 'etcd watch disconnected');
        this.#retryTimer = setTimeout(() => void this.#connect(), delay);
        this.#retryTimer.unref();
      }
    }
  }

  #createRequest(): object {
    return {
      ...this.#range,
      ...(this.#next > 0 ? { start_revision: String(this.#next) } : {}),
      prev_kv: true,
    };
  }

  /** Reads the newline-delimited JSON responses of one connection until it ends. */
  async #consume(stream: EtcdStream): Promise<ConnectionEnd> {
    const body: Readable = stream.body;
    body.setEncoding('utf8');
    let buffered = '';
    for await (const chunk of body as AsyncIterable<string>) {
      buffered += chunk;
      let newline: number;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        if (line.trim() === '') continue;
        const end = this.#handle(JSON.parse(line) as WireWatchMessage, stream);
        if (end) return end;
        if (this.#stopped) return { kind: 'reconnect-now' };
      }
    }
    return { kind: 'failed', error: new StoreUnavailableError(`etcd at ${stream.endpoint} closed the watch stream`) };
  }

  /** Applies one stream message; returns how the connection ends, or undefined to keep reading. */
  #handle(message: WireWatchMessage, stream: EtcdStream): ConnectionEnd | undefined {
    if (message.error) {
      return { kind: 'failed', error: new StoreUnavailableError(message.error.message ?? 'etcd watch stream failed') };
    }
    const response = message.result;
    if (!response) return undefined;
    const revision = headerRevision(response.header);
    this.#client.noteRevision(revision);
    if (response.canceled) return this.#cancelled(response, stream);
    if (response.created) return this.#created(revision);
    if (response.events && response.events.length > 0) this.#deliver(response.events);
    return undefined;
  }

  #created(revision: number): ConnectionEnd | undefined {
    const reconnected = this.#connections++ > 0;
    this.#client.reportSuccess();
    this.#backoff.reset();
    this.#renewedToken = false;
    if (this.#next === 0) {
      // etcd's start_revision 0 = the revision after the current one, which the header names.
      this.#next = revision + 1;
    } else if (reconnected && revision + 1 < this.#next) {
      // We already delivered changes etcd no longer has: it was restored from an older backup.
      this.#logger.warn({ revision, expected: this.#next - 1 }, 'etcd revision went backwards; a full re-read is needed');
      return { kind: 'fatal', error: new CompactedError(this.#next, revision + 1) };
    }
    return undefined;
  }

  #cancelled(response: WireWatchResponse, stream: EtcdStream): ConnectionEnd {
    const compacted = decodeInt(response.compact_revision);
    if (compacted > 0) return { kind: 'fatal', error: new CompactedError(this.#next, compacted) };
    const reason = response.cancel_reason ?? 'etcd cancelled the watch';
    if (reason.includes('invalid auth token') && this.#renewToken(stream.token)) return { kind: 'reconnect-now' };
    return { kind: 'fatal', error: new EtcdServerError(reason, undefined, stream.endpoint) };
  }

  /** Drops a rejected token so the next connection authenticates; once per successful connection, to avoid a loop. */
  #renewToken(token: string | undefined): boolean {
    if (this.#renewedToken) return false;
    this.#renewedToken = true;
    this.#client.invalidateToken(token);
    return true;
  }

  #deliver(wireEvents: readonly WireEvent[]): void {
    const events: WatchEvent[] = [];
    for (const wire of wireEvents) {
      if (!wire.kv) continue;
      const kv = decodeKeyValue(wire.kv);
      // Never repeat a change (a resumed stream starts exactly at `next`; this is the safety net).
      if (kv.modRevision < this.#next) continue;
      const type = wire.type === 'DELETE' ? 'delete' : 'put';
      events.push(wire.prev_kv ? { type, kv, prevKv: decodeKeyValue(wire.prev_kv) } : { type, kv });
    }
    const last = events.at(-1);
    if (!last) return;
    this.#next = last.kv.modRevision + 1;
    try {
      this.#options.watch.onBatch({ revision: last.kv.modRevision, events });
    } catch (err) {
      this.#logger.error({ err }, 'watch callback threw');
    }
  }

  #fail(error: Error): void {
    if (this.#stopped) return;
    this.#stop();
    const { onError } = this.#options.watch;
    if (!onError) {
      this.#logger.warn({ err: errorMessage(error) }, 'etcd watch ended and has no onError handler');
      return;
    }
    try {
      onError(error);
    } catch (err) {
      this.#logger.error({ err }, 'watch callback threw');
    }
  }

  #stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#controller?.abort();
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    this.#options.onStop(this);
  }
}

/**
 * The first revision to ask for. "From the next revision" (below 1) is fixed
 * now, at the newest revision this client has seen, as the local backends fix
 * it at the call: a change made after `watch()` returns is never missed,
 * however long the stream takes to open. etcd's own 0 ("after whatever is
 * current when the watch is created") is the fallback before any answer.
 */
function startRevision(fromRevision: number, lastSeen: number): number {
  if (fromRevision >= 1) return Math.floor(fromRevision);
  return lastSeen > 0 ? lastSeen + 1 : 0;
}
