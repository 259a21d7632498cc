/**
 * Exclusive ownership of a data directory: a `LOCK` file holding the owner's
 * pid, so two gateways never append to the same log. The file is created
 * atomically complete (written under a private name, then hard-linked into
 * place, which fails if it exists), so a reader never sees a half-written pid.
 * A lock whose process is gone (crash, kill -9) is taken over.
 */
import { randomBytes } from 'node:crypto';
import { link, open, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { FngateError } from '../../errors.js';
import type { Logger } from '../../log.js';
import { FILE_MODE, ignoreMissing, LOCK_FILE } from './files.js';

/** Another live process owns the data directory. */
export class StoreLockedError extends FngateError {
  readonly code = 'STORE_LOCKED';
  constructor(readonly dir: string, readonly pid: number) {
    super(
      `data directory ${dir} is locked by running process ${pid}; ` +
        `stop that process, or remove ${join(dir, LOCK_FILE)} if it is not an fngate using this directory`,
    );
  }
}

export interface DirLock {
  /** Removes the lock file if this process still owns it. */
  release(): Promise<void>;
}

/**
 * @example
 *   const lock = await acquireDirLock('/var/lib/fngate', logger);
 *   try { ... } finally { await lock.release(); }
 * @throws StoreLockedError when a live process holds the lock.
 */
export async function acquireDirLock(dir: string, logger: Logger): Promise<DirLock> {
  const path = join(dir, LOCK_FILE);
  // Three tries: a stale lock removed here may be re-taken by a concurrent opener.
  for (let attempt = 0; attempt < 3; attempt++) {
    if (await tryCreateLock(dir, path)) return { release: () => releaseLock(path, logger) };
    const owner = await readOwner(path);
    if (owner === null) continue; // vanished between our attempt and the read: try again
    if (owner !== undefined && isAlive(owner)) throw new StoreLockedError(dir, owner);
    logger.warn({ dir, stalePid: owner }, 'taking over the store lock of a process that is no longer running');
    await unlink(path).catch(ignoreMissing);
  }
  const owner = await readOwner(path);
  throw new StoreLockedError(dir, owner ?? -1);
}

async function tryCreateLock(dir: string, path: string): Promise<boolean> {
  const temp = join(dir, `${LOCK_FILE}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const handle = await open(temp, 'w', FILE_MODE);
  try {
    await handle.writeFile(`${process.pid}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await link(temp, path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    await unlink(temp).catch(ignoreMissing);
  }
}

/** The owner's pid; undefined when unreadable garbage; null when the file is gone. */
async function readOwner(path: string): Promise<number | undefined | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  const pid = Number(text.trim());
  return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
}

/** Signal 0 probes for existence; EPERM means it exists under another user. */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function releaseLock(path: string, logger: Logger): Promise<void> {
  const owner = await readOwner(path);
  if (owner !== process.pid) {
    logger.warn({ file: path, owner }, 'store lock is no longer ours; leaving it in place');
    return;
  }
  await unlink(path).catch(ignoreMissing);
}
