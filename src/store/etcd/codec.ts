/**
 * The wire format of etcd's v3 JSON gateway (grpc-gateway over HTTP/1.1, the
 * API APISIX itself uses; spec/config.md §5): keys and values are base64,
 * int64 fields are decimal strings, and proto3 leaves out fields that hold
 * their zero value (an absent `version` is 0, an absent `value` is '').
 */
import type { KeyValue } from '../types.js';

/** A key-value pair as the gateway sends it. */
export interface WireKeyValue {
  readonly key?: string;
  readonly value?: string;
  readonly create_revision?: string;
  readonly mod_revision?: string;
  readonly version?: string;
  readonly lease?: string;
}

export interface WireHeader {
  readonly revision?: string;
}

export interface WireRangeResponse {
  readonly header?: WireHeader;
  readonly kvs?: readonly WireKeyValue[];
  readonly more?: boolean;
}

export interface WirePutResponse {
  readonly header?: WireHeader;
  readonly prev_kv?: WireKeyValue;
}

export interface WireDeleteResponse {
  readonly header?: WireHeader;
  readonly deleted?: string;
  readonly prev_kvs?: readonly WireKeyValue[];
}

export interface WireTxnResponse {
  readonly header?: WireHeader;
  /** Absent (proto3 zero value) when the compare failed. */
  readonly succeeded?: boolean;
  readonly responses?: readonly {
    readonly response_put?: WirePutResponse;
    readonly response_delete_range?: WireDeleteResponse;
  }[];
}

export interface WireLeaseGrantResponse {
  readonly header?: WireHeader;
  /** int64 lease id, kept as the string etcd sent: ids exceed 2^53. */
  readonly ID?: string;
  readonly TTL?: string;
}

export interface WireAuthResponse {
  readonly header?: WireHeader;
  readonly token?: string;
}

export interface WireEvent {
  /** Absent for PUT (the enum's zero value). */
  readonly type?: 'PUT' | 'DELETE';
  readonly kv?: WireKeyValue;
  readonly prev_kv?: WireKeyValue;
}

export interface WireWatchResponse {
  readonly header?: WireHeader;
  readonly created?: boolean;
  readonly canceled?: boolean;
  readonly cancel_reason?: string;
  readonly compact_revision?: string;
  readonly events?: readonly WireEvent[];
}

/** One line of a `/v3/watch` stream: a response, or a stream-level error. */
export interface WireWatchMessage {
  readonly result?: WireWatchResponse;
  readonly error?: { readonly grpc_code?: number; readonly http_code?: number; readonly message?: string };
}

/** The body of a non-200 gateway answer. */
export interface WireError {
  readonly error?: string;
  readonly message?: string;
  readonly code?: number;
}

/** Text → base64 of its UTF-8 bytes, as the gateway expects keys and values. */
export function encodeText(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}

/** base64 → text; absent means the empty string (proto3 zero value). */
export function decodeText(base64: string | undefined): string {
  return base64 === undefined ? '' : Buffer.from(base64, 'base64').toString('utf8');
}

/** An int64 decimal string → number; absent means 0. Revisions and versions stay far below 2^53. */
export function decodeInt(value: string | undefined): number {
  return value === undefined ? 0 : Number(value);
}

/** The store revision in a response header. */
export function headerRevision(header: WireHeader | undefined): number {
  return decodeInt(header?.revision);
}

/**
 * A gateway pair → {@link KeyValue}. `lease` is left out when the key has none
 * (lease 0), matching the other backends. etcd lease ids are random int64s, so
 * the number is an approximation for display, never an id to send back.
 */
export function decodeKeyValue(wire: WireKeyValue): KeyValue {
  const kv = {
    key: decodeText(wire.key),
    value: decodeText(wire.value),
    createRevision: decodeInt(wire.create_revision),
    modRevision: decodeInt(wire.mod_revision),
    version: decodeInt(wire.version),
  };
  return wire.lease === undefined || wire.lease === '0' ? kv : { ...kv, lease: Number(wire.lease) };
}

/** The single byte 0x00, base64: as `range_end` it means "every key from `key` on". */
export const ALL_KEYS_END = 'AA==';

/**
 * The base64 `[key, range_end)` pair covering every key that starts with
 * `prefix`: the end is the prefix with its last byte below 0xff incremented
 * and the rest dropped (etcd's own `GetPrefixRangeEnd`). An empty prefix, or
 * one of only 0xff bytes, has no such bound: then it is "all keys from here".
 *
 * @example
 *   prefixRange('/apisix/routes/'); // key '/apisix/routes/', range end '/apisix/routes0' (both base64)
 */
export function prefixRange(prefix: string): { readonly key: string; readonly range_end: string } {
  const bytes = Buffer.from(prefix, 'utf8');
  if (bytes.length === 0) return { key: ALL_KEYS_END, range_end: ALL_KEYS_END };
  for (let i = bytes.length - 1; i >= 0; i--) {
    const byte = bytes[i] as number;
    if (byte < 0xff) {
      const end = Buffer.from(bytes.subarray(0, i + 1));
      end[i] = byte + 1;
      return { key: bytes.toString('base64'), range_end: end.toString('base64') };
    }
  }
  return { key: bytes.toString('base64'), range_end: ALL_KEYS_END };
}

/** The smallest key after `key`, base64: where the next page of a range starts. */
export function keyAfter(base64Key: string): string {
  const bytes = Buffer.from(base64Key, 'base64');
  return Buffer.concat([bytes, Buffer.from([0])]).toString('base64');
}
