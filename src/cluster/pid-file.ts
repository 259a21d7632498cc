/**
 * The primary's pid file (`<data_dir>/fngate.pid`), which `fngate stop` and
 * `fngate reload` use to find the running node, as APISIX's CLI uses
 * nginx's pid file.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export function pidFilePath(dataDir: string): string {
  return join(dataDir, 'fngate.pid');
}

export function writePidFile(dataDir: string): void {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  writeFileSync(pidFilePath(dataDir), `${process.pid}\n`, { mode: 0o600 });
}

/** Remove the file, but only if it is still ours (a newer node may have replaced it). */
export function removePidFile(dataDir: string): void {
  if (readPid(dataDir) === process.pid) rmSync(pidFilePath(dataDir), { force: true });
}

/** The pid in the file, or undefined when there is no (valid) file. */
export function readPid(dataDir: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(pidFilePath(dataDir), 'utf8').trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
