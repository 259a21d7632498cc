/**
 * `fngate stop` and `fngate reload`: find the running node through its pid
 * file and signal it (SIGTERM: drain and exit; SIGHUP: re-read config.yaml
 * and replace workers one at a time).
 */
import { resolve } from 'node:path';
import { loadConfig } from '../config/load.js';
import { errorMessage } from '../errors.js';
import { isAlive, pidFilePath, readPid } from '../cluster/pid-file.js';

async function runningPid(file: string): Promise<{ pid: number; waitSeconds: number } | string> {
  let config;
  try {
    config = await loadConfig(resolve(file));
  } catch (err) {
    return errorMessage(err);
  }
  const pid = readPid(config.fngate.data_dir);
  if (pid === undefined || !isAlive(pid)) return `fngate is not running (no live process in ${pidFilePath(config.fngate.data_dir)})`;
  return { pid, waitSeconds: config.nginx_config.worker_shutdown_timeout + 5 };
}

/** SIGTERM, then wait (bounded) until the node has exited. Returns the exit code. */
export async function runStop(file: string): Promise<number> {
  const found = await runningPid(file);
  if (typeof found === 'string') {
    console.error(`fngate: ${found}`);
    return 1;
  }
  process.kill(found.pid, 'SIGTERM');
  const deadline = Date.now() + found.waitSeconds * 1000;
  while (isAlive(found.pid)) {
    if (Date.now() > deadline) {
      console.error(`fngate: process ${found.pid} did not exit within ${found.waitSeconds} s`);
      return 1;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  console.log(`fngate stopped (pid ${found.pid})`);
  return 0;
}

/** SIGHUP: the node re-reads config.yaml and replaces its workers one at a time. */
export async function runReload(file: string): Promise<number> {
  const found = await runningPid(file);
  if (typeof found === 'string') {
    console.error(`fngate: ${found}`);
    return 1;
  }
  process.kill(found.pid, 'SIGHUP');
  console.log(`fngate: reload signal sent to pid ${found.pid}`);
  return 0;
}
