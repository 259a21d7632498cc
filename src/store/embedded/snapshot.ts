/**
 * Snapshots: the whole keyspace at a revision, as one framed record. Written
 * to a temporary file and renamed into place, so a reader sees either the old
 * snapshot or the complete new one.
 */
import { open, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { StoreCorruptError } from '../types.js';
import { FILE_MODE, SNAPSHOT_FILE, SNAPSHOT_TEMP_FILE } from './files.js';
import { encodeFrame, scanFrames } from './frame.js';
import { decodeSnapshot, encodeSnapshot, MalformedRecordError, type SnapshotData } from './records.js';

/**
 * Reads `<dir>/snapshot`; undefined when there is none yet.
 *
 * @throws StoreCorruptError when it exists but does not decode: unlike a log
 *   tail it was installed whole by rename, so damage is never benign.
 */
export async function readSnapshot(dir: string): Promise<SnapshotData | undefined> {
  const path = join(dir, SNAPSHOT_FILE);
  let buf: Buffer;
  try {
    buf = await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const scan = scanFrames(buf);
  const frame = scan.frames[0];
  if (scan.frames.length !== 1 || scan.damage || frame === undefined) {
    throw new StoreCorruptError(`store snapshot ${path} is corrupt (checksum or length mismatch at byte offset ${scan.damage?.offset ?? 0})`);
  }
  try {
    return decodeSnapshot(frame.payload);
  } catch (err) {
    if (!(err instanceof MalformedRecordError)) throw err;
    throw new StoreCorruptError(`store snapshot ${path} is invalid: ${err.message}`);
  }
}

/**
 * Writes and fsyncs `<dir>/snapshot.tmp`. It takes effect only with
 * {@link installSnapshot}, so the caller can prepare what must exist before
 * the snapshot does (the next log file). Returns the file's size.
 */
export async function writeSnapshotTemp(dir: string, data: SnapshotData): Promise<number> {
  const handle = await open(join(dir, SNAPSHOT_TEMP_FILE), 'w', FILE_MODE);
  try {
    const frame = encodeFrame(encodeSnapshot(data));
    await handle.writeFile(frame);
    await handle.sync();
    return frame.length;
  } finally {
    await handle.close();
  }
}

/**
 * Atomically replaces the snapshot with the temporary one. The rename is
 * durable only after `fsyncDir(dir)`; the caller does that once it has
 * switched to the log the new snapshot names.
 */
export async function installSnapshot(dir: string): Promise<void> {
  await rename(join(dir, SNAPSHOT_TEMP_FILE), join(dir, SNAPSHOT_FILE));
}
