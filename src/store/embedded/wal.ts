/**
 * The write-ahead log: appending framed changes with one fdatasync per batch,
 * and reading a log back at open, repairing a torn tail.
 */
import { open, readFile, type FileHandle } from 'node:fs/promises';
import type { Logger } from '../../log.js';
import type { Change } from '../change.js';
import { StoreCorruptError } from '../types.js';
import { FILE_MODE } from './files.js';
import { scanFrames } from './frame.js';
import { decodeChange, MalformedRecordError } from './records.js';

/**
 * Appends to one log file. Not safe for concurrent `append` calls: the store
 * serialises them (group commit).
 *
 * @example
 *   const wal = await WalWriter.open(path);
 *   await wal.append([encodeFrame(encodeChange(change))]); // durable on return
 */
export class WalWriter {
  readonly path: string;
  readonly #handle: FileHandle;
  #size: number;

  private constructor(path: string, handle: FileHandle, size: number) {
    this.path = path;
    this.#handle = handle;
    this.#size = size;
  }

  /** Opens (creating if needed, mode 0600) for appending. */
  static async open(path: string): Promise<WalWriter> {
    const handle = await open(path, 'a', FILE_MODE);
    try {
      const { size } = await handle.stat();
      return new WalWriter(path, handle, size);
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  /** Bytes in the file. */
  get size(): number {
    return this.#size;
  }

  /**
   * Writes the frames in one write and waits for fdatasync: once this
   * resolves they survive a process kill or power loss. fdatasync is enough
   * for an append: it also flushes the file size.
   */
  async append(frames: readonly Buffer[]): Promise<void> {
    const data = frames.length === 1 ? (frames[0] as Buffer) : Buffer.concat(frames);
    let written = 0;
    while (written < data.length) {
      const { bytesWritten } = await this.#handle.write(data, written, data.length - written);
      written += bytesWritten;
    }
    this.#size += data.length;
    await this.#handle.datasync();
  }

  async close(): Promise<void> {
    await this.#handle.close();
  }
}

export interface RecoveredChange {
  readonly change: Change;
  /** Byte offset of the record, for error messages. */
  readonly offset: number;
}

/**
 * Reads a log file. A damaged record with nothing valid after it is a write
 * cut short by a crash: it was never acknowledged, so it is truncated away
 * (with a warning) and the log stays appendable. A damaged record followed by
 * valid ones is real corruption and fails with {@link StoreCorruptError}.
 *
 * @example
 *   for (const { change } of await readLog(path, logger)) core.apply(change);
 */
export async function readLog(path: string, logger: Logger): Promise<RecoveredChange[]> {
  const buf = await readFile(path);
  const scan = scanFrames(buf);
  if (scan.damage) {
    const { offset, validFrameAfter } = scan.damage;
    if (validFrameAfter) {
      throw new StoreCorruptError(
        `store log ${path} is corrupt at byte offset ${offset}: a damaged record is followed by valid ones; ` +
          'refusing to open so no acknowledged write is skipped (restore the data directory from a backup)',
      );
    }
    logger.warn({ file: path, offset, droppedBytes: buf.length - offset }, 'store log ends with an incomplete record (crash during a write); truncating it');
    await truncateFile(path, offset);
  }
  return scan.frames.map(({ offset, payload }) => {
    try {
      return { change: decodeChange(payload), offset };
    } catch (err) {
      if (!(err instanceof MalformedRecordError)) throw err;
      throw new StoreCorruptError(`store log ${path} has an invalid record at byte offset ${offset}: ${err.message}`);
    }
  });
}

async function truncateFile(path: string, length: number): Promise<void> {
  const handle = await open(path, 'r+');
  try {
    await handle.truncate(length);
    await handle.sync();
  } finally {
    await handle.close();
  }
}
