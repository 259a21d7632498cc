/**
 * The JSON payloads inside frames: one {@link Change} per log record, and the
 * whole keyspace in a snapshot. Decoding checks every field, so a record that
 * passed its checksum but has the wrong shape (a bug, a foreign file) is
 * reported instead of corrupting the state.
 */
import type { Change } from '../change.js';
import type { KeyspaceEntry } from '../keyspace.js';
import type { KeyValue } from '../types.js';

/** Version of the snapshot payload; bump when its shape changes. */
export const SNAPSHOT_FORMAT = 1;

export class MalformedRecordError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MalformedRecordError';
  }
}

export interface SnapshotData {
  readonly revision: number;
  /** Logs with a sequence number below this are fully contained in the snapshot. */
  readonly walSeq: number;
  readonly entries: readonly KeyspaceEntry[];
}

interface SnapshotEntryJson {
  key: string;
  value: string;
  createRevision: number;
  modRevision: number;
  version: number;
  lease?: number;
  expiresAt?: number;
}

/** @example frames.push(encodeFrame(encodeChange(change))) */
export function encodeChange(change: Change): Buffer {
  return Buffer.from(JSON.stringify(change));
}

/** @throws MalformedRecordError */
export function decodeChange(payload: Buffer): Change {
  const record = parseObject(payload, 'log record');
  const revision = positiveInt(record.revision, 'revision');
  const key = nonEmptyString(record.key, 'key');
  if (record.op === 'delete') return { op: 'delete', revision, key };
  if (record.op !== 'put') throw new MalformedRecordError(`unknown op ${JSON.stringify(record.op)}`);
  const value = string(record.value, 'value');
  if (record.expiresAt === undefined) return { op: 'put', revision, key, value };
  return { op: 'put', revision, key, value, expiresAt: finiteNumber(record.expiresAt, 'expiresAt') };
}

/** @example encodeFrame(encodeSnapshot({ revision, walSeq, entries: [...core.entries()] })) */
export function encodeSnapshot(data: SnapshotData): Buffer {
  const kvs: SnapshotEntryJson[] = data.entries.map(({ kv, expiresAt }) => {
    const entry: SnapshotEntryJson = { ...kv };
    if (expiresAt !== undefined) entry.expiresAt = expiresAt;
    return entry;
  });
  return Buffer.from(JSON.stringify({ format: SNAPSHOT_FORMAT, revision: data.revision, walSeq: data.walSeq, kvs }));
}

/** @throws MalformedRecordError */
export function decodeSnapshot(payload: Buffer): SnapshotData {
  const doc = parseObject(payload, 'snapshot');
  if (doc.format !== SNAPSHOT_FORMAT) throw new MalformedRecordError(`unsupported snapshot format ${JSON.stringify(doc.format)}`);
  const revision = positiveInt(doc.revision, 'revision');
  const walSeq = positiveInt(doc.walSeq, 'walSeq');
  if (!Array.isArray(doc.kvs)) throw new MalformedRecordError('kvs must be an array');
  const entries = doc.kvs.map((raw: unknown): KeyspaceEntry => {
    if (!isObject(raw)) throw new MalformedRecordError('snapshot entry must be an object');
    const base = {
      key: nonEmptyString(raw.key, 'key'),
      value: string(raw.value, 'value'),
      createRevision: positiveInt(raw.createRevision, 'createRevision'),
      modRevision: positiveInt(raw.modRevision, 'modRevision'),
      version: positiveInt(raw.version, 'version'),
    };
    if (base.modRevision > revision) throw new MalformedRecordError(`key ${base.key} is newer than the snapshot`);
    const kv: KeyValue = raw.lease === undefined ? base : { ...base, lease: positiveInt(raw.lease, 'lease') };
    return raw.expiresAt === undefined ? { kv } : { kv, expiresAt: finiteNumber(raw.expiresAt, 'expiresAt') };
  });
  return { revision, walSeq, entries };
}

function parseObject(payload: Buffer, what: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(payload.toString('utf8'));
  } catch (err) {
    throw new MalformedRecordError(`${what} is not valid JSON: ${(err as Error).message}`);
  }
  if (!isObject(parsed)) throw new MalformedRecordError(`${what} must be a JSON object`);
  return parsed;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function string(value: unknown, field: string): string {
  if (typeof value !== 'string') throw new MalformedRecordError(`${field} must be a string`);
  return value;
}

function nonEmptyString(value: unknown, field: string): string {
  if (string(value, field).length === 0) throw new MalformedRecordError(`${field} must not be empty`);
  return value as string;
}

function positiveInt(value: unknown, field: string): number {
  if (!Number.isSafeInteger(value) || (value as number) < 1) throw new MalformedRecordError(`${field} must be a positive integer`);
  return value as number;
}

function finiteNumber(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new MalformedRecordError(`${field} must be a number`);
  return value;
}
