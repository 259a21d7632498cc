/**
 * The data directory's layout and the filesystem steps that make renames and
 * new files durable.
 *
 *   LOCK                          pid of the process that owns the directory
 *   snapshot                      framed snapshot: state up to a revision
 *   snapshot.tmp                  a snapshot being written (removed at open)
 *   wal-0000000000000001.log      write-ahead log(s), replayed after the snapshot
 */
import { open } from 'node:fs/promises';

export const DIR_MODE = 0o700;
export const FILE_MODE = 0o600;
export const LOCK_FILE = 'LOCK';
export const SNAPSHOT_FILE = 'snapshot';
export const SNAPSHOT_TEMP_FILE = 'snapshot.tmp';

const WAL_NAME = /^wal-(\d{16})\.log$/;

/** @example walFileName(3) // 'wal-0000000000000003.log' */
export function walFileName(seq: number): string {
  return `wal-${String(seq).padStart(16, '0')}.log`;
}

/** Sequence number of a log file name, or undefined for other files. */
export function parseWalFileName(name: string): number | undefined {
  const match = WAL_NAME.exec(name);
  return match ? Number(match[1]) : undefined;
}

/**
 * fsync a directory so that entries created, renamed or removed in it
 * survive a crash (POSIX: a file's own fsync does not cover its name).
 */
export async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** For `.catch()` on unlink and friends: a file that is already gone is fine. */
export function ignoreMissing(err: unknown): void {
  if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
}
