/**
 * `fngate check -c <file>`: load and validate the static config exactly as
 * `start` would, without opening the store or binding ports.
 */
import { resolve } from 'node:path';
import { loadConfig } from '../config/load.js';
import { errorMessage } from '../errors.js';

/** Returns the process exit code. */
export async function runCheck(file: string): Promise<number> {
  const path = resolve(file);
  try {
    await loadConfig(path);
    console.log(`configuration file ${path} is valid`);
    return 0;
  } catch (err) {
    console.error(`fngate: ${errorMessage(err)}`);
    return 1;
  }
}
