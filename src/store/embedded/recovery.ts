/**
 * Rebuilding the state at open: load the snapshot, drop logs it already
 * contains, replay the remaining logs in order (repairing a torn tail), and
 * pick the log to append to.
 */
import { readdir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../../log.js';
import type { StoreCore } from '../core.js';
import { ChangeOutOfOrderError } from '../keyspace.js';
import { StoreCorruptError } from '../types.js';
import { fsyncDir, ignoreMissing, parseWalFileName, SNAPSHOT_FILE, SNAPSHOT_TEMP_FILE, walFileName } from './files.js';
import { readSnapshot } from './snapshot.js';
import { readLog, WalWriter } from './wal.js';

export interface Recovered {
  /** Sequence number of the log being appended to. */
  readonly walSeq: number;
  readonly writer: WalWriter;
  /** Size of the snapshot file (0 without one), for the compaction threshold. */
  readonly snapshotBytes: number;
  readonly replayedRecords: number;
}

/**
 * Loads `dir` into `core` (which must be empty and have leases stopped).
 *
 * @throws StoreCorruptError when the data cannot be trusted.
 */
export async function recover(dir: string, core: StoreCore, logger: Logger): Promise<Recovered> {
  await unlink(join(dir, SNAPSHOT_TEMP_FILE)).catch(ignoreMissing); // an unfinished compaction

  const snapshot = await readSnapshot(dir);
  if (snapshot) core.restore(snapshot.entries, snapshot.revision);
  const firstLiveSeq = snapshot?.walSeq ?? 1;

  const logs = (await readdir(dir))
    .map((name) => ({ name, seq: parseWalFileName(name) }))
    .filter((f): f is { name: string; seq: number } => f.seq !== undefined)
    .sort((a, b) => a.seq - b.seq);

  let replayedRecords = 0;
  for (const { name, seq } of logs) {
    const path = join(dir, name);
    if (seq < firstLiveSeq) {
      // Already inside the snapshot: left behind by a compaction interrupted before its cleanup.
      await unlink(path).catch(ignoreMissing);
      logger.info({ file: path }, 'removed a store log already contained in the snapshot');
      continue;
    }
    for (const { change, offset } of await readLog(path, logger)) {
      try {
        core.apply(change);
      } catch (err) {
        if (!(err instanceof ChangeOutOfOrderError)) throw err;
        throw new StoreCorruptError(`store log ${path} does not follow on at byte offset ${offset}: ${err.message}`);
      }
      replayedRecords++;
    }
  }

  const last = logs.at(-1);
  const walSeq = last && last.seq >= firstLiveSeq ? last.seq : firstLiveSeq;
  const writer = await WalWriter.open(join(dir, walFileName(walSeq)));
  if (!last || last.seq !== walSeq) await fsyncDir(dir); // a new log file: make its name durable
  const snapshotBytes = snapshot ? (await stat(join(dir, SNAPSHOT_FILE))).size : 0;
  return { walSeq, writer, snapshotBytes, replayedRecords };
}
